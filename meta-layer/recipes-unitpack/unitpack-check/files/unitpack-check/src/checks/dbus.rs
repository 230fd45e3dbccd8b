//! UC003: a unit's D-Bus dependency exists in the unit's own scope. The system
//! bus unit does not count for a user unit: that needs the user-scope
//! dbus.service/dbus.socket (Debian/Ubuntu package dbus-user-session).

use super::{find_unit, Ctx, Unit, UnitLookup};
use crate::manifest::{Manifest, Scope};
use crate::report::{Finding, Severity};

pub const CODE: &str = "UC003";

const BUS_UNITS: &[&str] = &["dbus.service", "dbus.socket"];
/// Dependency keys, strongest first.
const DEP_KEYS: &[(&str, Strength)] = &[
    ("Requires", Strength::Hard),
    ("Requisite", Strength::Hard),
    ("BindsTo", Strength::Hard),
    ("Wants", Strength::Soft),
    ("After", Strength::Soft),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strength {
    Hard,
    Soft,
}

pub fn check(ctx: &Ctx, m: &Manifest, units: &[Unit], out: &mut Vec<Finding>) {
    let before = out.len();
    for u in units {
        let file = match &u.file {
            Some(f) => f,
            None => continue,
        };
        for bus in BUS_UNITS {
            // The strongest key that names this bus unit.
            let dep = DEP_KEYS
                .iter()
                .find(|(key, _)| file.list("Unit", key).contains(bus));
            let (key, strength) = match dep {
                Some(d) => *d,
                None => continue,
            };
            let scope = u.entry.scope;
            let missing = match find_unit(ctx.root, scope, bus) {
                UnitLookup::Found(path) => {
                    out.push(Finding::new(
                        CODE,
                        Severity::Ok,
                        Some(&u.entry.name),
                        format!("{} found in the {} scope at {}", bus, scope.as_str(), path),
                    ));
                    continue;
                }
                UnitLookup::Masked(path) => format!("is masked ({})", path),
                UnitLookup::Missing => String::from("does not exist"),
            };
            let (severity, consequence) = match strength {
                Strength::Hard => (
                    Severity::Error,
                    "the unit fails to start (\"Unit dbus.service not found\")",
                ),
                Strength::Soft => (Severity::Warning, "the unit starts without a bus"),
            };
            let verdict = match scope {
                Scope::User => format!(
                    "user unit has {}={}, but a user-scope {} {} (the system bus unit does not count in the user scope): {}",
                    key, bus, bus, missing, consequence
                ),
                Scope::System => format!(
                    "system unit has {}={}, but the system {} {}: {}",
                    key, bus, bus, missing, consequence
                ),
            };
            let fix = match scope {
                Scope::User => match &m.user_bus_package {
                    Some(p) => format!("install {}", p),
                    None => String::from(
                        "install the package with the user bus units (dbus-user-session on Debian/Ubuntu)",
                    ),
                },
                Scope::System => String::from("install dbus"),
            };
            out.push(Finding::new(CODE, severity, Some(&u.entry.name), verdict).fix(fix));
        }
    }
    if out.len() == before {
        out.push(Finding::new(
            CODE,
            Severity::Ok,
            None,
            String::from("no unit depends on D-Bus"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{design_a, PA_UNIT};
    use crate::checks::load_units;

    fn run(fr: &crate::testutil::FakeRoot, m: &Manifest) -> Vec<Finding> {
        let root = fr.root();
        let units = load_units(&root, m);
        let mut out = Vec::new();
        check(&Ctx::new(&root, false, None), m, &units, &mut out);
        out
    }

    #[test]
    fn user_bus_present() {
        let (fr, m) = design_a();
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Ok);
        assert!(out[0]
            .verdict
            .contains("/usr/lib/systemd/user/dbus.service"));
    }

    #[test]
    fn system_bus_does_not_count_for_user_unit() {
        let (fr, m) = design_a();
        std::fs::remove_file(fr.path("/usr/lib/systemd/user/dbus.service")).unwrap();
        std::fs::remove_file(fr.path("/usr/lib/systemd/user/dbus.socket")).unwrap();
        // the system bus is still in /lib/systemd/system
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].unit.as_deref(), Some("my_pulseaudio.service"));
        assert!(out[0].verdict.contains("Requires=dbus.service"));
        assert_eq!(out[0].fix.as_deref(), Some("install dbus-user-session"));
    }

    #[test]
    fn wants_only_is_a_warning_and_masks_count_as_missing() {
        let (fr, mut m) = design_a();
        fr.write(
            "/usr/lib/systemd/user/my_pulseaudio.service",
            &PA_UNIT.replace("Requires=dbus.service", "Wants=dbus.socket"),
        );
        fr.symlink("/etc/systemd/user/dbus.socket", "/dev/null");
        m.user_bus_package = None;
        let out = run(&fr, &m);
        let sev: Vec<Severity> = out.iter().map(|f| f.severity).collect();
        // After=dbus.service (found) and Wants=dbus.socket (masked)
        assert_eq!(sev, [Severity::Ok, Severity::Warning], "{:?}", out);
        assert!(out[1]
            .verdict
            .contains("is masked (/etc/systemd/user/dbus.socket)"));
        assert!(out[1].fix.as_deref().unwrap().contains("dbus-user-session"));
    }

    #[test]
    fn system_unit_needs_system_bus() {
        let fr = crate::testutil::FakeRoot::new();
        fr.write(
            "/lib/systemd/system/s.service",
            "[Unit]\nBindsTo=dbus.service\n[Service]\nExecStart=/bin/true\n",
        );
        fr.write("/usr/lib/systemd/user/dbus.service", "[Service]\n");
        let m = crate::manifest::parse(
            "format\t1\npackage\tp\nunit\tsystem\tenable\ts.service\t/lib/systemd/system/s.service\n",
            "/m",
        )
        .unwrap();
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].fix.as_deref(), Some("install dbus"));
        fr.write("/usr/lib/systemd/system/dbus.service", "[Service]\n");
        assert_eq!(run(&fr, &m)[0].severity, Severity::Ok);
    }

    #[test]
    fn no_dbus_dependency() {
        let (fr, m) = design_a();
        fr.write(
            "/usr/lib/systemd/user/my_pulseaudio.service",
            "[Service]\nExecStart=/usr/bin/pulseaudio\n",
        );
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].verdict, "no unit depends on D-Bus");
    }
}
