//! Runs a command in its own process group under rlimits and a wall-clock
//! timeout, and measures its peak RSS with wait4.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Limits {
    pub timeout: Duration,
    /// RLIMIT_AS: a runaway allocation fails instead of swapping the machine.
    pub address_space: u64,
    /// RLIMIT_FSIZE: no file written may exceed it.
    pub file_size: u64,
}

pub struct Outcome {
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    pub peak_rss_kib: u64,
    pub stderr: Vec<u8>,
}

pub fn run(cmd: &mut Command, scratch: &Path, limits: &Limits) -> std::io::Result<Outcome> {
    let out_path = scratch.join("stdout");
    let err_path = scratch.join("stderr");
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&out_path)?)
        .stderr(fs::File::create(&err_path)?);
    let (as_limit, fsize, cpu) = (
        limits.address_space,
        limits.file_size,
        limits.timeout.as_secs() + 2,
    );
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setpgid(0, 0);
            for (res, v) in [
                (libc::RLIMIT_AS, as_limit),
                (libc::RLIMIT_FSIZE, fsize),
                (libc::RLIMIT_CPU, cpu),
                (libc::RLIMIT_CORE, 0),
            ] {
                let lim = libc::rlimit {
                    rlim_cur: v,
                    rlim_max: v,
                };
                libc::setrlimit(res, &lim);
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    let mut pause = Duration::from_millis(1);
    loop {
        // SAFETY: pid is our child; status and usage are valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if start.elapsed() > limits.timeout && !timed_out {
            timed_out = true;
            // SAFETY: signalling our own process group.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    // The group may hold leftovers (a tool the CLI started): none may survive.
    // SAFETY: as above.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let elapsed = start.elapsed();
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok(Outcome {
        code,
        signal,
        timed_out,
        elapsed,
        peak_rss_kib: usage.ru_maxrss.max(0) as u64,
        stderr: read_capped(&err_path),
    })
}

fn read_capped(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut v = Vec::new();
    if let Ok(f) = fs::File::open(p) {
        let _ = f.take(1 << 20).read_to_end(&mut v);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_apply_and_hangs_are_killed() {
        let scratch =
            std::env::temp_dir().join(format!("unitpack-fuzz-run-{}", std::process::id()));
        fs::create_dir_all(&scratch).unwrap();
        let limits = Limits {
            timeout: Duration::from_secs(1),
            address_space: 1 << 30,
            file_size: 1 << 20,
        };
        let mut sh = Command::new("sh");
        sh.args(["-c", "ulimit -v; ulimit -f; echo $$ $(ps -o pgid= $$) >&2"]);
        let o = run(&mut sh, &scratch, &limits).unwrap();
        assert_eq!(o.code, Some(0));
        let out = fs::read_to_string(scratch.join("stdout")).unwrap();
        assert_eq!(out, "1048576\n2048\n");
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let o = run(&mut sleep, &scratch, &limits).unwrap();
        assert!(
            o.timed_out && o.signal == Some(libc::SIGKILL) && o.elapsed < Duration::from_secs(5)
        );
        let _ = fs::remove_dir_all(&scratch);
    }
}
