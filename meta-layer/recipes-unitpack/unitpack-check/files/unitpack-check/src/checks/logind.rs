//! UC002: logind manages /run/user: systemd-logind is installed, pam_systemd is in
//! the PAM session stack, and at runtime /run/user (and /run/user/UID) exist.

use super::{Ctx, Unit};
use crate::manifest::Scope;
use crate::report::{Finding, Severity};
use crate::root::{owner_uid, Root};

pub const CODE: &str = "UC002";

const LOGIND: &[&str] = &[
    "/lib/systemd/systemd-logind",
    "/usr/lib/systemd/systemd-logind",
];
/// Where a login's session stack starts on Debian/Ubuntu, Arch-likes and Yocto.
const PAM_ENTRY: &[&str] = &["common-session", "system-login", "login", "system-auth"];

pub fn check(ctx: &Ctx, units: &[Unit], out: &mut Vec<Finding>) {
    let needed = units
        .iter()
        .any(|u| u.entry.scope == Scope::User || u.text.contains("/run/user"));
    if !needed {
        out.push(Finding::new(
            CODE,
            Severity::Ok,
            None,
            String::from("not needed: no user units and no unit uses /run/user"),
        ));
        return;
    }
    let before = out.len();
    let root = ctx.root;

    if !LOGIND.iter().any(|p| root.exists(p)) {
        out.push(
            Finding::new(
                CODE,
                Severity::Error,
                None,
                String::from(
                    "systemd-logind is not installed: no /run/user/UID is created and no user manager starts",
                ),
            )
            .fix(String::from(
                "install systemd with logind (Yocto: PACKAGECONFIG logind in the systemd recipe)",
            )),
        );
    }
    if !pam_systemd_configured(root) {
        out.push(
            Finding::new(
                CODE,
                Severity::Error,
                None,
                String::from(
                    "pam_systemd.so is not in the PAM session stack (/etc/pam.d/common-session, system-login, login): logins open no logind session, so /run/user/UID never exists",
                ),
            )
            .fix(String::from(
                "install libpam-systemd (Debian/Ubuntu), or add `session optional pam_systemd.so` to the session stack (Yocto: DISTRO_FEATURES pam)",
            )),
        );
    }

    if !ctx.systemd_running {
        out.push(Finding::new(
            CODE,
            Severity::Info,
            None,
            String::from("runtime part skipped (/run/user, /run/user/UID): systemd is not running"),
        ));
    } else if !root.is_dir("/run/user") {
        out.push(
            Finding::new(
                CODE,
                Severity::Warning,
                None,
                String::from("/run/user does not exist: logind has not run or no session was opened since boot"),
            )
            .fix(String::from(
                "check `systemctl status systemd-logind`; log in once, or `loginctl enable-linger USER`",
            )),
        );
    } else if let Some(uid) = ctx.uid {
        check_uid_dir(root, uid, out);
    }

    if out[before..].iter().all(|f| f.severity <= Severity::Info) {
        out.push(Finding::new(
            CODE,
            Severity::Ok,
            None,
            String::from("systemd-logind is installed and pam_systemd is in the PAM session stack"),
        ));
    }
}

fn check_uid_dir(root: &Root, uid: u32, out: &mut Vec<Finding>) {
    let dir = format!("/run/user/{}", uid);
    match root.metadata(&dir) {
        None => out.push(
            Finding::new(
                CODE,
                Severity::Warning,
                None,
                format!("{} does not exist: uid {} has no logind session now", dir, uid),
            )
            .fix(String::from(
                "log in as that user (sudo/su open no session), or `loginctl enable-linger USER` to keep the user manager from boot",
            )),
        ),
        Some(m) if owner_uid(&m) != uid => out.push(
            Finding::new(
                CODE,
                Severity::Error,
                None,
                format!("{} is owned by uid {}, not {}", dir, owner_uid(&m), uid),
            )
            .fix(format!("remove the stray {} (only logind should create it) and log in again", dir)),
        ),
        Some(_) => out.push(Finding::new(
            CODE,
            Severity::Ok,
            None,
            format!("{} exists and is owned by uid {}", dir, uid),
        )),
    }
}

/// Is `pam_systemd.so` a `session` module in a login's PAM stack? Follows
/// Debian's `@include` and the `session include|substack FILE` form.
pub fn pam_systemd_configured(root: &Root) -> bool {
    let mut seen: Vec<String> = Vec::new();
    PAM_ENTRY
        .iter()
        .any(|f| pam_file_has(root, f, &mut seen, 0))
}

fn pam_file_has(root: &Root, name: &str, seen: &mut Vec<String>, depth: u32) -> bool {
    if depth > 16 || name.contains('/') || seen.iter().any(|s| s == name) {
        return false;
    }
    seen.push(name.to_string());
    let text = match root.read_to_string(&format!("/etc/pam.d/{}", name)) {
        Ok(t) => t,
        Err(_) => return false,
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        let first = match words.next() {
            Some(w) => w,
            None => continue,
        };
        if first == "@include" {
            if let Some(inc) = words.next() {
                if pam_file_has(root, inc, seen, depth + 1) {
                    return true;
                }
            }
            continue;
        }
        if first.trim_start_matches('-') != "session" {
            continue;
        }
        let rest: Vec<&str> = words.collect();
        if rest.len() >= 2 && (rest[0] == "include" || rest[0] == "substack") {
            if pam_file_has(root, rest[1], seen, depth + 1) {
                return true;
            }
            continue;
        }
        // The control field may be `[a=b c=d]`, so look at every word.
        if rest.iter().any(|w| w.ends_with("pam_systemd.so")) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::design_a;
    use crate::checks::load_units;
    use crate::testutil::FakeRoot;

    fn run(
        fr: &FakeRoot,
        m: &crate::manifest::Manifest,
        running: bool,
        uid: Option<u32>,
    ) -> Vec<Finding> {
        let root = fr.root();
        let units = load_units(&root, m);
        let mut out = Vec::new();
        check(&Ctx::new(&root, running, uid), &units, &mut out);
        out
    }

    fn worst(out: &[Finding]) -> Severity {
        out.iter().map(|f| f.severity).max().unwrap()
    }

    #[test]
    fn pam_includes_are_followed() {
        let fr = FakeRoot::new();
        let root = fr.root();
        assert!(!pam_systemd_configured(&root));
        fr.write(
            "/etc/pam.d/login",
            "auth required pam_unix.so\n@include common-session\n",
        );
        fr.write(
            "/etc/pam.d/common-session",
            "session required pam_unix.so\n# session optional pam_systemd.so\n",
        );
        assert!(
            !pam_systemd_configured(&root),
            "a commented line does not count"
        );
        fr.write(
            "/etc/pam.d/common-session",
            "session required pam_unix.so\n@include extra\n",
        );
        fr.write(
            "/etc/pam.d/extra",
            "-session [success=ok default=ignore] pam_systemd.so\n",
        );
        assert!(pam_systemd_configured(&root));
    }

    #[test]
    fn pam_substack_and_cycles() {
        let fr = FakeRoot::new();
        fr.write(
            "/etc/pam.d/system-login",
            "session include system-login\nsession substack sub\n",
        );
        fr.write("/etc/pam.d/sub", "auth optional pam_systemd.so\n");
        assert!(
            !pam_systemd_configured(&fr.root()),
            "an auth line is not the session stack"
        );
        fr.write(
            "/etc/pam.d/sub",
            "session optional /lib/security/pam_systemd.so\n",
        );
        assert!(pam_systemd_configured(&fr.root()));
    }

    #[test]
    fn healthy_root_is_ok() {
        let (fr, m) = design_a();
        let out = run(&fr, &m, false, None);
        assert_eq!(worst(&out), Severity::Info, "{:?}", out);
        assert!(out
            .iter()
            .any(|f| f.verdict.contains("runtime part skipped")));
        assert!(out.iter().any(|f| f.severity == Severity::Ok));
    }

    #[test]
    fn missing_logind_and_pam_are_errors() {
        let (fr, m) = design_a();
        std::fs::remove_file(fr.path("/lib/systemd/systemd-logind")).unwrap();
        std::fs::remove_file(fr.path("/etc/pam.d/common-session")).unwrap();
        let out = run(&fr, &m, false, None);
        let errors: Vec<&Finding> = out
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert_eq!(errors.len(), 2, "{:?}", out);
        assert!(errors[0].verdict.contains("systemd-logind"));
        assert!(errors[1].fix.as_deref().unwrap().contains("libpam-systemd"));
        assert!(!out.iter().any(|f| f.severity == Severity::Ok));
    }

    #[test]
    fn runtime_run_user_and_uid_dir() {
        let (fr, m) = design_a();
        let out = run(&fr, &m, true, None);
        assert_eq!(worst(&out), Severity::Warning);
        assert!(out
            .iter()
            .any(|f| f.verdict.starts_with("/run/user does not exist")));

        let me = crate::root::caller_uid().unwrap();
        fr.mkdir("/run/user");
        let out = run(&fr, &m, true, Some(me));
        assert!(out.iter().any(|f| f.severity == Severity::Warning
            && f.verdict
                == format!(
                    "/run/user/{} does not exist: uid {} has no logind session now",
                    me, me
                )));

        fr.mkdir(&format!("/run/user/{}", me));
        let out = run(&fr, &m, true, Some(me));
        assert_eq!(worst(&out), Severity::Ok, "{:?}", out);

        let other = me + 1;
        fr.mkdir(&format!("/run/user/{}", other));
        let out = run(&fr, &m, true, Some(other));
        assert_eq!(worst(&out), Severity::Error);
        assert!(out.iter().any(|f| f
            .verdict
            .contains(&format!("is owned by uid {}, not {}", me, other))));
    }

    #[test]
    fn system_only_package_does_not_need_logind() {
        let fr = FakeRoot::new();
        fr.write(
            "/lib/systemd/system/a.service",
            "[Service]\nExecStart=/bin/true\n",
        );
        let m = crate::manifest::parse(
            "format\t1\npackage\tp\nunit\tsystem\tenable\ta.service\t/lib/systemd/system/a.service\n",
            "/m",
        )
        .unwrap();
        let out = run(&fr, &m, true, None);
        assert_eq!(out.len(), 1);
        assert!(out[0].verdict.starts_with("not needed"));

        // Design B: a system path unit waiting for /run/user/0 does need it.
        fr.write(
            "/lib/systemd/system/a.service",
            "[Path]\nPathExists=/run/user/0\n",
        );
        let out = run(&fr, &m, true, None);
        assert_eq!(worst(&out), Severity::Error);
    }
}
