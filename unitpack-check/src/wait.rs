//! `wait-runtime-dir`: an `ExecStartPre=` guard that waits for /run/user/UID
//! and fails with a message that names the likely cause.

use crate::root::{owner_uid, Root};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// Waits up to `timeout` for /run/user/`uid` to exist and be owned by `uid`.
pub fn wait(root: &Root, uid: u32, timeout: Duration) -> Result<(), String> {
    let dir = format!("/run/user/{}", uid);
    let start = Instant::now();
    loop {
        let owner = root
            .metadata(&dir)
            .filter(|m| m.is_dir())
            .map(|m| owner_uid(&m));
        if owner == Some(uid) {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(match owner {
                Some(other) => format!(
                    "{} is owned by uid {}, not {}: it was not made by logind for this user; remove it and log in again",
                    dir, other, uid
                ),
                None => format!(
                    "{} does not exist (waited {} ms): uid {} has no logind session. Likely causes: pam_systemd is not in the PAM session stack (install libpam-systemd), the service was started via sudo/su (they open no session), or nobody is logged in; to keep a user manager and {} from boot run `loginctl enable-linger USER`",
                    dir,
                    timeout.as_millis(),
                    uid,
                    dir
                ),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// Parses `S` or `S.fff` seconds to a duration (no float parsing needed).
pub fn parse_timeout(s: &str) -> Option<Duration> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() || frac.len() > 3 {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ms: u64 = 0;
    for (i, c) in frac.chars().enumerate() {
        let d = c.to_digit(10)? as u64;
        ms += d * [100, 10, 1][i];
    }
    Some(Duration::from_secs(secs) + Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_timeout(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timeout("1.0001"), None);
        assert_eq!(parse_timeout("-1"), None);
        assert_eq!(parse_timeout("x"), None);
        assert_eq!(parse_timeout(""), None);
    }

    #[test]
    fn present_dir_returns_at_once() {
        let fr = FakeRoot::new();
        let me = crate::root::caller_uid().unwrap();
        fr.mkdir(&format!("/run/user/{}", me));
        let t = Instant::now();
        assert_eq!(wait(&fr.root(), me, Duration::from_secs(5)), Ok(()));
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn missing_dir_times_out_with_causes() {
        let fr = FakeRoot::new();
        let e = wait(&fr.root(), 4321, Duration::from_millis(250)).unwrap_err();
        assert!(
            e.starts_with("/run/user/4321 does not exist (waited 250 ms)"),
            "{}",
            e
        );
        assert!(e.contains("sudo/su"));
        assert!(e.contains("loginctl enable-linger"));
    }

    #[test]
    fn wrong_owner_is_reported() {
        let fr = FakeRoot::new();
        let me = crate::root::caller_uid().unwrap();
        fr.mkdir(&format!("/run/user/{}", me + 1));
        let e = wait(&fr.root(), me + 1, Duration::from_millis(0)).unwrap_err();
        assert!(
            e.contains(&format!("is owned by uid {}, not {}", me, me + 1)),
            "{}",
            e
        );
    }

    #[test]
    fn appears_while_waiting() {
        let fr = FakeRoot::new();
        let me = crate::root::caller_uid().unwrap();
        let dir = fr.path(&format!("/run/user/{}", me));
        let maker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::create_dir_all(dir).unwrap();
        });
        assert_eq!(wait(&fr.root(), me, Duration::from_secs(5)), Ok(()));
        maker.join().unwrap();
    }
}
