//! UC006: another enabled unit of the same scope runs the same program (e.g.
//! Debian's own pulseaudio.service/pulseaudio.socket, enabled for all users):
//! two daemons race and one exits with "Daemon already running". Units the
//! manifest takes over must be disabled.

use super::{find_unit, main_program, systemctl, unit_dirs, Ctx, Unit, UnitLookup};
use crate::manifest::{Enablement, Manifest, Scope};
use crate::report::{Finding, Severity};
use crate::root::Root;
use crate::unitfile::UnitFile;

pub const CODE: &str = "UC006";

pub struct Enabled {
    pub name: String,
    /// The first link that enables it.
    pub link: String,
    /// What it runs (see `program_of`).
    pub program: Option<String>,
}

/// Enabled units of a scope: every link in a `*.wants/` or `*.requires/`
/// directory of the scope's unit directories, sorted by name.
pub fn enabled_units(root: &Root, scope: Scope) -> Vec<Enabled> {
    let mut found: Vec<Enabled> = Vec::new();
    for dir in unit_dirs(scope) {
        for sub in root.list_dir(dir) {
            if !(sub.ends_with(".wants") || sub.ends_with(".requires")) {
                continue;
            }
            let subdir = format!("{}/{}", dir, sub);
            for name in root.list_dir(&subdir) {
                if !found.iter().any(|e| e.name == name) {
                    let link = format!("{}/{}", subdir, name);
                    let program = program_of(root, scope, &name, &link);
                    found.push(Enabled {
                        name,
                        link,
                        program,
                    });
                }
            }
        }
    }
    crate::root::sort_by_key(&mut found, |e| e.name.as_str());
    found
}

/// The program (basename) an enabled unit ends up running; a socket runs the
/// service it activates.
fn program_of(root: &Root, scope: Scope, name: &str, link: &str) -> Option<String> {
    if let Some(stem) = name.strip_suffix(".socket") {
        let socket = read_unit(root, scope, name, link);
        let service = match socket
            .as_ref()
            .and_then(|f| f.values("Socket", "Service").last().copied())
        {
            Some(s) => s.to_string(),
            None => {
                let accept = socket
                    .as_ref()
                    .and_then(|f| f.values("Socket", "Accept").last().copied())
                    .map(|v| matches!(v, "yes" | "true" | "1" | "on"))
                    .unwrap_or(false);
                format!("{}{}.service", stem, if accept { "@" } else { "" })
            }
        };
        let file = read_unit(root, scope, &service, "")?;
        return main_program(&file);
    }
    main_program(&read_unit(root, scope, name, link)?)
}

fn read_unit(root: &Root, scope: Scope, name: &str, link: &str) -> Option<UnitFile> {
    if !link.is_empty() {
        if let Ok(text) = root.read_to_string(link) {
            if !text.is_empty() {
                return Some(UnitFile::parse(&text));
            }
        }
    }
    match find_unit(root, scope, name) {
        UnitLookup::Found(path) => root.read_to_string(&path).ok().map(|t| UnitFile::parse(&t)),
        _ => None,
    }
}

/// `foo@a.service` is an instance of the template `foo@.service`.
fn instance_of(template: &str, name: &str) -> bool {
    match template.split_once("@.") {
        Some((stem, kind)) => {
            name.len() > template.len()
                && name.starts_with(stem)
                && name[stem.len()..].starts_with('@')
                && name.ends_with(&format!(".{}", kind))
        }
        None => false,
    }
}

/// `foo.service` also covers `foo.socket`, which activates it.
fn covered_names(name: &str) -> Vec<String> {
    let mut v = vec![name.to_string()];
    if let Some(stem) = name.strip_suffix(".service") {
        v.push(format!("{}.socket", stem));
    }
    v
}

pub fn check(ctx: &Ctx, m: &Manifest, units: &[Unit], out: &mut Vec<Finding>) {
    let before = out.len();
    let lookup = |scope: Scope, name: &str| {
        ctx.enabled(scope)
            .iter()
            .find(|e| e.name == name)
            .map(|e| &e.link)
    };

    let mut taken: Vec<(Scope, String)> = Vec::new();
    for t in &m.takeovers {
        let mut still: Vec<String> = Vec::new();
        let mut links: Vec<&str> = Vec::new();
        for n in covered_names(&t.name) {
            if let Some(link) = lookup(t.scope, &n) {
                still.push(n.clone());
                links.push(link.as_str());
            }
            taken.push((t.scope, n));
        }
        if still.is_empty() {
            out.push(Finding::new(
                CODE,
                Severity::Ok,
                Some(&t.name),
                format!("taken-over {} unit is disabled", t.scope.as_str()),
            ));
        } else {
            out.push(
                Finding::new(
                    CODE,
                    Severity::Warning,
                    Some(&t.name),
                    format!(
                        "taken-over unit is still enabled ({}): it races this package's unit for the same daemon",
                        links.join(", ")
                    ),
                )
                .fix(format!("{} disable {}", systemctl(t.scope), still.join(" "))),
            );
        }
    }

    let own: Vec<&str> = units.iter().map(|u| u.entry.name.as_str()).collect();
    for u in units {
        let e = u.entry;
        if e.enablement == Enablement::None {
            continue;
        }
        let prog = match u.file.as_ref().and_then(main_program) {
            Some(p) => p,
            None => continue,
        };
        let mut rivals: Vec<&str> = Vec::new();
        let mut links: Vec<&str> = Vec::new();
        for other in ctx.enabled(e.scope) {
            let name = &other.name;
            let is_own = own
                .iter()
                .any(|o| *o == name.as_str() || instance_of(o, name));
            if is_own || taken.iter().any(|(s, n)| *s == e.scope && n == name) {
                continue;
            }
            if other.program.as_deref() == Some(prog.as_str()) {
                rivals.push(name);
                links.push(&other.link);
            }
        }
        if rivals.is_empty() {
            out.push(Finding::new(
                CODE,
                Severity::Ok,
                Some(&e.name),
                format!("no other enabled {} unit runs {}", e.scope.as_str(), prog),
            ));
        } else {
            out.push(
                Finding::new(
                    CODE,
                    Severity::Warning,
                    Some(&e.name),
                    format!(
                        "{} is also started by enabled {} ({}): two daemons race and one exits (PulseAudio logs \"Daemon already running\")",
                        prog,
                        rivals.join(", "),
                        links.join(", ")
                    ),
                )
                .fix(format!(
                    "{} disable {}, or declare takes_over in the recipe",
                    systemctl(e.scope),
                    rivals.join(" ")
                )),
            );
        }
    }
    if out.len() == before {
        out.push(Finding::new(
            CODE,
            Severity::Ok,
            None,
            String::from("no enabled unit to compare"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::design_a;
    use crate::checks::load_units;
    use crate::testutil::FakeRoot;

    fn run(fr: &FakeRoot, m: &Manifest) -> Vec<Finding> {
        let root = fr.root();
        let units = load_units(&root, m);
        let mut out = Vec::new();
        check(&Ctx::new(&root, false, None), m, &units, &mut out);
        out
    }

    /// What Debian 12's pulseaudio package enables for all users.
    fn debian_pulseaudio(fr: &FakeRoot) {
        fr.write(
            "/usr/lib/systemd/user/pulseaudio.service",
            "[Unit]\nDescription=Sound Service\nRequires=pulseaudio.socket\n[Service]\nExecStart=/usr/bin/pulseaudio --daemonize=no --log-target=journal\n",
        );
        fr.write(
            "/usr/lib/systemd/user/pulseaudio.socket",
            "[Unit]\nDescription=Sound System\n[Socket]\nListenStream=%t/pulse/native\n",
        );
        fr.symlink(
            "/etc/systemd/user/default.target.wants/pulseaudio.service",
            "/usr/lib/systemd/user/pulseaudio.service",
        );
        fr.symlink(
            "/etc/systemd/user/sockets.target.wants/pulseaudio.socket",
            "/usr/lib/systemd/user/pulseaudio.socket",
        );
    }

    #[test]
    fn instances_of_own_templates_are_not_rivals() {
        assert!(instance_of("worker@.service", "worker@a.service"));
        assert!(!instance_of("worker@.service", "worker@.service"));
        assert!(!instance_of("worker@.service", "workers@a.service"));
        assert!(!instance_of("worker@.service", "worker@a.socket"));
        assert!(!instance_of("worker.service", "worker.service"));
    }

    #[test]
    fn alone_is_ok() {
        let (fr, m) = design_a();
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Ok);
        assert_eq!(out[0].verdict, "no other enabled user unit runs pulseaudio");
    }

    #[test]
    fn debian_pulseaudio_service_and_socket_conflict() {
        let (fr, m) = design_a();
        debian_pulseaudio(&fr);
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1, "{:?}", out);
        let f = &out[0];
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.verdict.starts_with(
            "pulseaudio is also started by enabled pulseaudio.service, pulseaudio.socket"
        ));
        assert!(f.verdict.contains("Daemon already running"));
        assert_eq!(
            f.fix.as_deref(),
            Some("systemctl --global disable pulseaudio.service pulseaudio.socket, or declare takes_over in the recipe")
        );
    }

    #[test]
    fn socket_alone_activates_the_service() {
        let (fr, m) = design_a();
        debian_pulseaudio(&fr);
        std::fs::remove_file(fr.path("/etc/systemd/user/default.target.wants/pulseaudio.service"))
            .unwrap();
        let out = run(&fr, &m);
        assert!(out[0]
            .verdict
            .starts_with("pulseaudio is also started by enabled pulseaudio.socket ("));
    }

    #[test]
    fn other_scope_and_other_programs_do_not_conflict() {
        let (fr, m) = design_a();
        fr.write(
            "/lib/systemd/system/pulseaudio.service",
            "[Service]\nExecStart=/usr/bin/pulseaudio --system\n",
        );
        fr.symlink(
            "/etc/systemd/system/multi-user.target.wants/pulseaudio.service",
            "/lib/systemd/system/pulseaudio.service",
        );
        fr.write(
            "/usr/lib/systemd/user/other.service",
            "[Service]\nExecStart=/usr/bin/other\n",
        );
        fr.symlink(
            "/etc/systemd/user/default.target.wants/other.service",
            "/usr/lib/systemd/user/other.service",
        );
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Ok);
    }

    #[test]
    fn takeover_still_enabled_warns_once() {
        let (fr, mut m) = design_a();
        debian_pulseaudio(&fr);
        m.takeovers.push(unitpack_manifest::Takeover {
            scope: Scope::User,
            name: "pulseaudio.service".into(),
        });
        let out = run(&fr, &m);
        assert_eq!(out.len(), 2, "{:?}", out);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[0].unit.as_deref(), Some("pulseaudio.service"));
        assert_eq!(
            out[0].fix.as_deref(),
            Some("systemctl --global disable pulseaudio.service pulseaudio.socket")
        );
        assert_eq!(
            out[1].severity,
            Severity::Ok,
            "the rival is reported by the takeover finding only"
        );

        std::fs::remove_file(fr.path("/etc/systemd/user/default.target.wants/pulseaudio.service"))
            .unwrap();
        std::fs::remove_file(fr.path("/etc/systemd/user/sockets.target.wants/pulseaudio.socket"))
            .unwrap();
        let out = run(&fr, &m);
        assert!(out.iter().all(|f| f.severity == Severity::Ok), "{:?}", out);
    }

    #[test]
    fn enabled_units_lists_wants_and_requires() {
        let fr = FakeRoot::new();
        fr.symlink(
            "/etc/systemd/system/multi-user.target.wants/a.service",
            "/lib/systemd/system/a.service",
        );
        fr.symlink(
            "/lib/systemd/system/sysinit.target.requires/b.service",
            "../b.service",
        );
        fr.symlink("/etc/systemd/system/a.service", "/dev/null");
        let names: Vec<String> = enabled_units(&fr.root(), Scope::System)
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a.service", "b.service"]);
    }
}
