//! UC005: the enable symlinks of the manifest exist and point at the unit, and
//! the unit is not masked or shadowed in /etc.

use super::{systemctl, Ctx, Unit};
use crate::manifest::{Enablement, Link, Manifest, Scope};
use crate::report::{Finding, Severity};
use crate::root::{basename, split_parent};

pub const CODE: &str = "UC005";

pub fn check(ctx: &Ctx, m: &Manifest, units: &[Unit], out: &mut Vec<Finding>) {
    let before = out.len();
    let mut used = vec![false; m.links.len()];
    for u in units {
        let e = u.entry;
        if e.enablement == Enablement::None {
            continue;
        }
        let name = Some(e.name.as_str());
        check_etc_override(ctx, e.scope, &e.name, &e.path, out);
        let mut any = false;
        for (i, l) in m.links.iter().enumerate() {
            if l.target == e.path || basename(&l.path) == e.name {
                used[i] = true;
                any = true;
                check_link(ctx, l, e.scope, &e.name, name, out);
            }
        }
        if !any {
            out.push(Finding::new(
                CODE,
                Severity::Info,
                name,
                String::from("the manifest lists no enable symlink for this unit"),
            ));
        }
    }
    for (i, l) in m.links.iter().enumerate() {
        if !used[i] {
            let scope = if l.path.contains("/systemd/user/") {
                Scope::User
            } else {
                Scope::System
            };
            check_link(ctx, l, scope, basename(&l.path), None, out);
        }
    }
    if out.len() == before {
        out.push(Finding::new(
            CODE,
            Severity::Ok,
            None,
            String::from("no unit of this package is enabled at install time"),
        ));
    }
}

fn check_link(
    ctx: &Ctx,
    l: &Link,
    scope: Scope,
    unit_name: &str,
    unit: Option<&str>,
    out: &mut Vec<Finding>,
) {
    let reenable = format!("{} reenable {}", systemctl(scope), unit_name);
    let target = match ctx.root.read_link(&l.path) {
        Ok(t) => t,
        Err(true) => {
            out.push(
                Finding::new(
                    CODE,
                    Severity::Warning,
                    unit,
                    format!(
                        "not enabled: {} is missing (disabled by the admin, or enabling failed in the postinst)",
                        l.path
                    ),
                )
                .fix(format!("{} enable {}", systemctl(scope), unit_name)),
            );
            return;
        }
        Err(false) => {
            out.push(
                Finding::new(
                    CODE,
                    Severity::Warning,
                    unit,
                    format!("{} is not a symlink", l.path),
                )
                .fix(format!("remove it, then {}", reenable)),
            );
            return;
        }
    };
    if target == "/dev/null" {
        out.push(
            Finding::new(
                CODE,
                Severity::Warning,
                unit,
                format!("{} links to /dev/null (masked)", l.path),
            )
            .fix(format!("{} unmask {}", systemctl(scope), unit_name)),
        );
        return;
    }
    let absolute = if target.starts_with('/') {
        target.clone()
    } else {
        format!("{}/{}", split_parent(&l.path).0, target)
    };
    let got = ctx.root.resolve(&absolute);
    let want = ctx.root.resolve(&l.target);
    match got {
        None => out.push(
            Finding::new(
                CODE,
                Severity::Error,
                unit,
                format!(
                    "{} is dangling: its target {} does not exist",
                    l.path, target
                ),
            )
            .fix(format!("reinstall the package, then {}", reenable)),
        ),
        Some(g) if Some(&g) == want.as_ref() => out.push(Finding::new(
            CODE,
            Severity::Ok,
            unit,
            format!("enabled: {} -> {}", l.path, target),
        )),
        Some(_) => out.push(
            Finding::new(
                CODE,
                Severity::Error,
                unit,
                format!("{} points at {}, not at {}", l.path, target, l.target),
            )
            .fix(reenable),
        ),
    }
}

/// A file of the same name in /etc/systemd/{user,system} wins over the packaged unit.
fn check_etc_override(ctx: &Ctx, scope: Scope, name: &str, path: &str, out: &mut Vec<Finding>) {
    let etc = format!("/etc/systemd/{}/{}", scope.as_str(), name);
    if etc == path {
        return;
    }
    let masked = match ctx.root.read_link(&etc) {
        Ok(t) => t == "/dev/null" || ctx.root.resolve(&etc).as_deref() == Some("/dev/null"),
        Err(true) => return,
        Err(false) => ctx
            .root
            .metadata(&etc)
            .map(|m| m.len() == 0)
            .unwrap_or(false),
    };
    if masked {
        out.push(
            Finding::new(
                CODE,
                Severity::Warning,
                Some(name),
                format!("masked by {}", etc),
            )
            .fix(format!("{} unmask {}", systemctl(scope), name)),
        );
    } else if ctx.root.resolve(&etc) != ctx.root.resolve(path) {
        out.push(
            Finding::new(
                CODE,
                Severity::Warning,
                Some(name),
                format!("{} overrides the packaged {}", etc, path),
            )
            .fix(format!("remove {} if it is a stale copy", etc)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::design_a;
    use crate::checks::load_units;
    use std::fs;

    const LINK: &str = "/etc/systemd/user/default.target.wants/my_pulseaudio.service";

    fn run(fr: &crate::testutil::FakeRoot, m: &Manifest) -> Vec<Finding> {
        let root = fr.root();
        let units = load_units(&root, m);
        let mut out = Vec::new();
        check(&Ctx::new(&root, false, None), m, &units, &mut out);
        out
    }

    #[test]
    fn enabled_link_is_ok() {
        let (fr, m) = design_a();
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Ok);
        assert_eq!(out[0].unit.as_deref(), Some("my_pulseaudio.service"));
    }

    #[test]
    fn relative_link_to_same_file_is_ok() {
        let (fr, m) = design_a();
        fs::remove_file(fr.path(LINK)).unwrap();
        fr.symlink(
            LINK,
            "../../../../usr/lib/systemd/user/my_pulseaudio.service",
        );
        assert_eq!(run(&fr, &m)[0].severity, Severity::Ok);
    }

    #[test]
    fn disabled_is_a_warning() {
        let (fr, m) = design_a();
        fs::remove_file(fr.path(LINK)).unwrap();
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(
            out[0].fix.as_deref(),
            Some("systemctl --global enable my_pulseaudio.service")
        );
    }

    #[test]
    fn wrong_or_dangling_target_is_an_error() {
        let (fr, m) = design_a();
        fs::remove_file(fr.path(LINK)).unwrap();
        fr.write("/usr/lib/systemd/user/other.service", "[Service]\n");
        fr.symlink(LINK, "/usr/lib/systemd/user/other.service");
        let out = run(&fr, &m);
        assert_eq!(out[0].severity, Severity::Error);
        assert!(out[0]
            .verdict
            .contains("points at /usr/lib/systemd/user/other.service, not at"));

        fs::remove_file(fr.path(LINK)).unwrap();
        fr.symlink(LINK, "/usr/lib/systemd/user/gone.service");
        let out = run(&fr, &m);
        assert_eq!(out[0].severity, Severity::Error);
        assert!(out[0].verdict.contains("is dangling"));
    }

    #[test]
    fn masked_in_etc_is_a_warning() {
        let (fr, m) = design_a();
        fr.symlink("/etc/systemd/user/my_pulseaudio.service", "/dev/null");
        let out = run(&fr, &m);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].verdict,
            "masked by /etc/systemd/user/my_pulseaudio.service"
        );
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[1].severity, Severity::Ok);
    }

    #[test]
    fn unit_not_enabled_skips_links() {
        let (fr, mut m) = design_a();
        m.units[0].enablement = Enablement::None;
        m.links.clear();
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].verdict,
            "no unit of this package is enabled at install time"
        );
    }
}
