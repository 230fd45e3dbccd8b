//! UC001: is systemd PID 1? ("systemd is running" means /run/systemd/system exists.)

use super::Ctx;
use crate::report::{Finding, Severity};

pub const CODE: &str = "UC001";

pub fn is_running(root: &crate::root::Root) -> bool {
    root.is_dir("/run/systemd/system")
}

pub fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    if ctx.systemd_running {
        out.push(Finding::new(
            CODE,
            Severity::Ok,
            None,
            String::from("systemd is PID 1 (/run/systemd/system exists)"),
        ));
    } else {
        out.push(
            Finding::new(
                CODE,
                Severity::Info,
                None,
                String::from(
                    "systemd is not running here (no /run/systemd/system: chroot or image build); runtime checks skipped",
                ),
            )
            .fix(String::from("run `unitpack-check doctor` again on the booted system")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    #[test]
    fn detects_running_systemd() {
        let fr = FakeRoot::new();
        assert!(!is_running(&fr.root()));
        fr.write("/run/systemd/system-not-a-dir", "");
        fr.write("/run/systemd/system", "");
        assert!(
            !is_running(&fr.root()),
            "a file is not the marker directory"
        );
        std::fs::remove_file(fr.path("/run/systemd/system")).unwrap();
        fr.mkdir("/run/systemd/system");
        assert!(is_running(&fr.root()));
    }

    #[test]
    fn verdicts() {
        let fr = FakeRoot::new();
        let root = fr.root();
        for (running, sev) in [(true, Severity::Ok), (false, Severity::Info)] {
            let mut out = Vec::new();
            check(&Ctx::new(&root, running, None), &mut out);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].severity, sev);
            assert_eq!(out[0].code, CODE);
        }
    }
}
