//! What std's start-up (`lang_start`) would do and the helper relies on: the helper
//! brings its own C `main` (see `#![no_main]` in main.rs) because std's start-up
//! also probes the main thread's stack for its overflow guard, with glibc's
//! pthread_getattr_np, which parses /proc/self/maps with sscanf: that links static
//! glibc's scanf and strtod, about 53 KB of the 800 KB the armhf binary may take.

// Only the C `main` uses this, and test builds have std's.
#![cfg_attr(test, allow(dead_code))]

use std::ffi::{c_char, c_int, CStr};
use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, IntoRawFd};

extern "C" {
    // libc's signal(2); std links libc anyway. BSD semantics in glibc and musl.
    // `handler` is a function pointer or SIG_IGN.
    pub fn signal(signum: c_int, handler: usize) -> usize;
}

const SIGPIPE: c_int = 13;
const SIG_IGN: usize = 1;

/// Descriptors 0-2 open (on /dev/null when closed), so that a file the helper opens
/// never becomes its stdout or stderr; SIGPIPE ignored, so a closed pipe is a write
/// error as in any Rust program. std does both in its start-up.
pub fn init() {
    // open(2) returns the lowest free descriptor: keep /dev/null while that is 0-2.
    // (std's File sets O_CLOEXEC; the one child the helper runs, systemctl, gets all
    // three standard descriptors set explicitly.)
    while let Ok(null) = OpenOptions::new().read(true).write(true).open("/dev/null") {
        if null.as_raw_fd() > 2 {
            break;
        }
        let _ = null.into_raw_fd();
    }
    // SAFETY: ignoring a signal installs no handler.
    unsafe {
        signal(SIGPIPE, SIG_IGN);
    }
}

/// The arguments after the program name, from C's argv: std only records them
/// itself on glibc (with musl, as a Yocto image may have, only in its start-up).
/// An error naming the first one that is not UTF-8.
///
/// # Safety
/// `argv` holds `argc` valid NUL-terminated strings, as C's `main` gets them.
pub unsafe fn args(argc: c_int, argv: *const *const c_char) -> Result<Vec<String>, String> {
    (1..usize::try_from(argc).unwrap_or(0))
        .map(|i| match CStr::from_ptr(*argv.add(i)).to_str() {
            Ok(a) => Ok(String::from(a)),
            Err(_) => Err(format!("argument {i} is not UTF-8")),
        })
        .collect()
}
