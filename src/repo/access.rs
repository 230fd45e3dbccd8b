//! A repository's own files, read back: each below the repository, checked on the way
//! without following a symlink, and bounded (through [`crate::input`]).

use super::deb822;
use crate::error::{Error, InputError, Result};
use crate::input::{self, Kind, ReadError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// `root/rel` when it exists, checked without following any symlink; a symlink or a
/// file of the wrong kind on the way is bad input.
pub fn inside(root: &Path, rel: &Path, last: Kind) -> Result<Option<PathBuf>> {
    input::walk_below(root, rel, last).map_err(|m| InputError::new(root, None, "repo", m).into())
}

/// [`inside`] for many paths in one run: the directories in `known` are not looked
/// at again.
pub fn inside_known(
    root: &Path,
    rel: &Path,
    last: Kind,
    known: &mut HashSet<PathBuf>,
) -> Result<Option<PathBuf>> {
    input::walk_below_known(root, rel, last, known)
        .map_err(|m| InputError::new(root, None, "repo", m).into())
}

/// An existing repository file, bounded and never through a symlink or a FIFO.
pub fn read_repo_text(root: &Path, rel: &Path, limit: u64) -> Result<Option<(PathBuf, String)>> {
    let Some(path) = inside(root, rel, Kind::File)? else {
        return Ok(None);
    };
    let bytes = match input::read_file_bounded(&path, limit) {
        Ok(b) => b,
        Err(ReadError::Missing) => return Ok(None),
        Err(ReadError::Io(e)) => return Err(Error::io(format!("reading {}", path.display()), e)),
        Err(e) => return Err(InputError::new(&path, None, "", e.to_string()).into()),
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| InputError::new(&path, None, "", "is not UTF-8 text"))?;
    Ok(Some((path, text)))
}

/// A compressed index this run replaces, or nothing if it cannot be read as a plain
/// file below the repository: its pieces are only ever reused after being checked,
/// so a missing or odd file costs time, not correctness.
pub fn previous_bytes(root: &Path, rel: &Path) -> Option<Vec<u8>> {
    let path = input::walk_below(root, rel, Kind::File).ok()??;
    input::read_file_bounded(&path, input::MAX_PACKAGES_INDEX).ok()
}

pub fn syntax(path: &Path, e: deb822::SyntaxError) -> Error {
    let location = e
        .line
        .map(|line| crate::error::Location { line, column: 1 });
    InputError::new(path, location, e.field, e.message).into()
}
