//! The standard output of the CLI's commands.

use crate::error::{Error, Result};
use std::io::Write;

/// Write `bytes` to stdout; a closed standard output (`… | head -1`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("writing to stdout", e))
        }
        _ => Ok(()),
    }
}
