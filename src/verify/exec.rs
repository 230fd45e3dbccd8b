//! Running programs with a time bound, and Ctrl-C: every command is a
//! `std::process::Command` with its arguments (no shell), killed when its time is up or
//! when the user interrupts the run, so that the run always reaches its clean-up.

use crate::error::{Error, Result};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM only set a flag: the run stops at its next step and
/// takes its container, mounts and cgroup down before it exits.
pub fn catch_interrupts() {
    // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The run was interrupted: stop here (the caller's clean-up runs on the way out).
pub fn check_interrupt() -> Result<()> {
    if interrupted() {
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// What a finished command said.
#[derive(Debug, Clone)]
pub struct Output {
    /// `None` when it was killed (time up or interrupted).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout, trimmed.
    pub fn text(&self) -> &str {
        self.stdout.trim()
    }

    /// Both streams, for a report.
    pub fn both(&self) -> String {
        let mut s = self.stdout.trim_end().to_string();
        if !self.stderr.trim().is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(self.stderr.trim_end());
        }
        if self.code.is_none() {
            s.push_str("\n(killed: no answer in time)");
        }
        s
    }
}

/// Run `cmd` to its end, or kill it after `limit` (or on Ctrl-C).
pub fn run(mut cmd: Command, limit: Duration) -> Result<Output> {
    cmd.stdin(Stdio::null());
    run_with_stdin(cmd, limit)
}

/// [`run`], with the standard input `cmd` was given (a pipe from another command).
pub fn run_with_stdin(mut cmd: Command, limit: Duration) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("running {program}"), e))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let end = Instant::now() + limit;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() >= end || interrupted() => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::io(format!("waiting for {program}"), e)),
        }
    };
    // A command cut short by Ctrl-C says nothing about the target: stop the run.
    check_interrupt()?;
    let stdout = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Ok(Output {
        code,
        stdout,
        stderr,
    })
}

/// Retry `probe` every `every` until it holds or `limit` passed; true when it held.
pub fn until(limit: Duration, every: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if probe() {
            return true;
        }
        if Instant::now() >= end || interrupted() {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// The program is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(program);
            std::fs::metadata(&p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}
