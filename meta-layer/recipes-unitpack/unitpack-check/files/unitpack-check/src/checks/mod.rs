//! The checks. Each one appends findings with its own stable code; every check
//! reports at least one finding (`ok` when nothing is wrong) so the doctor
//! report shows all of them.
//!
//! | code  | check |
//! |-------|-------|
//! | UC000 | the package's manifest is readable and well-formed |
//! | UC001 | systemd is PID 1 (`/run/systemd/system`); else runtime checks are skipped |
//! | UC002 | logind: systemd-logind present, pam_systemd in the PAM session stack, /run/user(/UID) |
//! | UC003 | a D-Bus dependency is satisfiable in the unit's own scope (user or system bus) |
//! | UC004 | every Exec*= program exists and is executable |
//! | UC005 | the enable symlinks exist and point at the unit; the unit is not masked |
//! | UC006 | no other enabled unit of the same scope runs the same program; takeover units disabled |
//! | UC007 | the unit file listed in the manifest is installed |

pub mod conflicts;
pub mod dbus;
pub mod exec;
pub mod links;
pub mod logind;
pub mod systemd;

use crate::manifest::{Manifest, Scope, UnitEntry};
use crate::report::{Finding, Severity};
use crate::root::{Root, Skipped, Unreadable};
use crate::unitfile::UnitFile;
use std::cell::OnceCell;

pub const USER_UNIT_DIRS: &[&str] = &[
    "/etc/systemd/user",
    "/usr/local/lib/systemd/user",
    "/usr/lib/systemd/user",
    "/lib/systemd/user",
];

pub const SYSTEM_UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

pub fn unit_dirs(scope: Scope) -> &'static [&'static str] {
    match scope {
        Scope::User => USER_UNIT_DIRS,
        Scope::System => SYSTEM_UNIT_DIRS,
    }
}

/// `systemctl --global` for user units, plain `systemctl` for system units.
pub fn systemctl(scope: Scope) -> &'static str {
    match scope {
        Scope::User => "systemctl --global",
        Scope::System => "systemctl",
    }
}

pub struct Ctx<'a> {
    pub root: &'a Root,
    pub systemd_running: bool,
    /// UID whose /run/user/UID UC002 checks (`--uid`).
    pub uid: Option<u32>,
    /// Enabled units of the user and system scopes, scanned once per run,
    /// with the range of the root's skip records that scan made.
    enabled: [OnceCell<EnabledScan>; 2],
}

/// The enabled units of a scope and the range of skip records the scan made.
type EnabledScan = (Vec<conflicts::Enabled>, (usize, usize));

impl<'a> Ctx<'a> {
    pub fn new(root: &'a Root, systemd_running: bool, uid: Option<u32>) -> Ctx<'a> {
        Ctx {
            root,
            systemd_running,
            uid,
            enabled: [OnceCell::new(), OnceCell::new()],
        }
    }

    pub fn enabled(&self, scope: Scope) -> &[conflicts::Enabled] {
        &self.enabled_scan(scope).0
    }

    fn enabled_scan(&self, scope: Scope) -> &EnabledScan {
        let i = match scope {
            Scope::User => 0,
            Scope::System => 1,
        };
        self.enabled[i].get_or_init(|| {
            let start = self.root.skipped_len();
            let found = conflicts::enabled_units(self.root, scope);
            (found, (start, self.root.skipped_len()))
        })
    }

    /// What the scan of `scope`'s enabled units skipped, if it ran.
    fn scan_skipped(&self, scope: Scope) -> Vec<Skipped> {
        let i = match scope {
            Scope::User => 0,
            Scope::System => 1,
        };
        match self.enabled[i].get() {
            Some((_, (start, end))) => self.root.skipped_since(*start, *end),
            None => Vec::new(),
        }
    }
}

/// A manifest unit with its file, if it could be read.
pub struct Unit<'m> {
    pub entry: &'m UnitEntry,
    pub file: Option<UnitFile>,
    pub text: String,
    /// Why `file` is `None`.
    pub unreadable: Option<Unreadable>,
}

pub enum UnitLookup {
    Found(String),
    Masked(String),
    Missing,
}

/// Looks `name` up in the scope's unit directories, in systemd's priority
/// order; a link to /dev/null or an empty file is a mask, as for systemd.
pub fn find_unit(root: &Root, scope: Scope, name: &str) -> UnitLookup {
    let template = template_name(name);
    for candidate in [Some(name), template.as_deref()].into_iter().flatten() {
        for dir in unit_dirs(scope) {
            let path = format!("{}/{}", dir, candidate);
            if let Ok(target) = root.read_link(&path) {
                if target == "/dev/null" {
                    return UnitLookup::Masked(path);
                }
            }
            if let Some(resolved) = root.resolve(&path) {
                if resolved == "/dev/null" {
                    return UnitLookup::Masked(path);
                }
                match root.metadata(&path) {
                    Some(m) if m.is_file() && m.len() == 0 => return UnitLookup::Masked(path),
                    Some(m) if m.is_file() => return UnitLookup::Found(path),
                    _ => {}
                }
            }
        }
    }
    UnitLookup::Missing
}

/// `foo@bar.service` → `foo@.service`.
fn template_name(name: &str) -> Option<String> {
    let at = name.find('@')?;
    let dot = name.rfind('.')?;
    if dot <= at + 1 {
        return None;
    }
    Some(format!("{}{}", &name[..=at], &name[dot..]))
}

pub fn load_units<'m>(root: &Root, m: &'m Manifest) -> Vec<Unit<'m>> {
    m.units
        .iter()
        .map(|entry| match root.read_to_string(&entry.path) {
            Ok(text) => Unit {
                entry,
                file: Some(UnitFile::parse(&text)),
                text,
                unreadable: None,
            },
            Err(e) => Unit {
                entry,
                file: None,
                text: String::new(),
                unreadable: Some(e),
            },
        })
        .collect()
}

pub fn run_package(ctx: &Ctx, m: &Manifest) -> Vec<Finding> {
    let start = ctx.root.skipped_len();
    let units = load_units(ctx.root, m);
    // In code order, so the report needs no sorting.
    let mut out = Vec::new();
    systemd::check(ctx, &mut out);
    logind::check(ctx, &units, &mut out);
    dbus::check(ctx, m, &units, &mut out);
    exec::check(ctx, &units, &mut out);
    links::check(ctx, m, &units, &mut out);
    conflicts::check(ctx, m, &units, &mut out);
    check_unit_files(ctx.root, m, &units, &mut out);
    let mut skipped = ctx.root.skipped_since(start, ctx.root.skipped_len());
    for scope in [Scope::User, Scope::System] {
        if m.units.iter().any(|u| u.scope == scope) || m.takeovers.iter().any(|t| t.scope == scope)
        {
            skipped.extend(ctx.scan_skipped(scope));
        }
    }
    report_skipped(skipped, &mut out);
    out
}

/// UC008: one warning per file the helper refused to read, so a FIFO or
/// /dev/zero in a unit directory is visible instead of hanging dpkg.
fn report_skipped(skipped: Vec<Skipped>, out: &mut Vec<Finding>) {
    let mut seen: Vec<Skipped> = Vec::new();
    for s in skipped {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    crate::root::sort_by_key(&mut seen, |s| s.path.as_str());
    if seen.is_empty() {
        out.push(Finding::new(
            "UC008",
            Severity::Ok,
            None,
            String::from("no file had to be skipped"),
        ));
    }
    for s in seen {
        out.push(
            Finding::new(
                "UC008",
                Severity::Warning,
                None,
                format!("skipped {}: {}", s.path, s.reason),
            )
            .fix(String::from(
                "replace it with a regular unit file or link, or remove it",
            )),
        );
    }
}

fn check_unit_files(root: &Root, m: &Manifest, units: &[Unit], out: &mut Vec<Finding>) {
    for d in &m.dropins {
        let (severity, verdict) = if root.read_to_string(&d.path).is_ok() {
            (
                Severity::Ok,
                format!("{} drop-in installed at {}", d.scope.as_str(), d.path),
            )
        } else {
            (
                Severity::Error,
                format!("{} drop-in {} is missing", d.scope.as_str(), d.path),
            )
        };
        out.push(Finding::new("UC007", severity, Some(&d.unit), verdict));
    }
    if units.is_empty() && m.dropins.is_empty() {
        out.push(Finding::new(
            "UC007",
            Severity::Warning,
            None,
            String::from("the manifest lists no units"),
        ));
    }
    for u in units {
        let e = u.entry;
        if u.file.is_some() {
            out.push(Finding::new(
                "UC007",
                Severity::Ok,
                Some(&e.name),
                format!("{} unit installed at {}", e.scope.as_str(), e.path),
            ));
        } else {
            let why = match &u.unreadable {
                Some(Unreadable::Missing) | None => String::from("is missing"),
                Some(r) => r.to_string(),
            };
            out.push(
                Finding::new(
                    "UC007",
                    Severity::Error,
                    Some(&e.name),
                    format!("unit file {} {}", e.path, why),
                )
                .fix(String::from(
                    "reinstall the package (dpkg -V lists changed files)",
                )),
            );
        }
    }
}

/// The basename of the program the first `ExecStart=` runs.
pub fn main_program(f: &UnitFile) -> Option<String> {
    let first = *f.values("Service", "ExecStart").first()?;
    let prog = crate::unitfile::exec_program(first)?.program;
    Some(crate::root::basename(prog).to_string())
}

#[cfg(test)]
pub mod fixtures {
    use crate::manifest::{self, Manifest};
    use crate::testutil::FakeRoot;

    pub const PA_UNIT: &str = "[Unit]\nDescription=User Pulseaudio service\nAfter=dbus.service\n\
        Requires=dbus.service\n\n[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/%U\n\
        ExecStart=/usr/bin/pulseaudio\n\n[Install]\nWantedBy=default.target\n";

    pub const PA_MANIFEST: &str = "format\t1\npackage\tmy-pulseaudio-user\nprofile\tubuntu-xenial\nstrict\t0\n\
        user-bus-package\tdbus-user-session\n\
        unit\tuser\tglobal\tmy_pulseaudio.service\t/usr/lib/systemd/user/my_pulseaudio.service\n\
        link\t/etc/systemd/user/default.target.wants/my_pulseaudio.service\t/usr/lib/systemd/user/my_pulseaudio.service\n";

    /// Design A installed and enabled on an otherwise healthy Debian-like root.
    pub fn design_a() -> (FakeRoot, Manifest) {
        let fr = FakeRoot::new();
        fr.write(
            "/usr/share/unitpack/my-pulseaudio-user/manifest",
            PA_MANIFEST,
        );
        fr.write("/usr/lib/systemd/user/my_pulseaudio.service", PA_UNIT);
        fr.symlink(
            "/etc/systemd/user/default.target.wants/my_pulseaudio.service",
            "/usr/lib/systemd/user/my_pulseaudio.service",
        );
        fr.write_exec("/usr/bin/pulseaudio");
        fr.write(
            "/usr/lib/systemd/user/dbus.service",
            "[Service]\nExecStart=/usr/bin/dbus-daemon --session\n",
        );
        fr.write(
            "/usr/lib/systemd/user/dbus.socket",
            "[Socket]\nListenStream=%t/bus\n",
        );
        fr.write(
            "/lib/systemd/system/dbus.service",
            "[Service]\nExecStart=/usr/bin/dbus-daemon --system\n",
        );
        fr.write_exec("/lib/systemd/systemd-logind");
        fr.write(
            "/etc/pam.d/common-session",
            "session\toptional\tpam_systemd.so\n",
        );
        let m = manifest::parse(PA_MANIFEST, "/m").unwrap();
        (fr, m)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn healthy_design_a_has_no_problems() {
        let (fr, m) = design_a();
        let root = fr.root();
        let ctx = Ctx::new(&root, false, None);
        let findings = run_package(&ctx, &m);
        let bad: Vec<String> = findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| f.line())
            .collect();
        assert!(bad.is_empty(), "{:?}", bad);
        let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
        for code in [
            "UC001", "UC002", "UC003", "UC004", "UC005", "UC006", "UC007",
        ] {
            assert!(codes.contains(&code), "{} missing from {:?}", code, codes);
        }
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted);
    }

    #[test]
    fn missing_unit_file_is_an_error() {
        let (fr, m) = design_a();
        std::fs::remove_file(fr.path("/usr/lib/systemd/user/my_pulseaudio.service")).unwrap();
        let mut out = Vec::new();
        check_unit_files(&fr.root(), &m, &load_units(&fr.root(), &m), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Error);
        assert!(out[0]
            .verdict
            .contains("/usr/lib/systemd/user/my_pulseaudio.service"));
    }

    #[test]
    fn find_unit_priority_mask_and_template() {
        let fr = FakeRoot::new();
        fr.write("/usr/lib/systemd/user/a.service", "[Unit]\n");
        fr.symlink("/etc/systemd/user/b.service", "/dev/null");
        fr.write("/usr/lib/systemd/user/b.service", "[Unit]\n");
        fr.write("/lib/systemd/system/getty@.service", "[Unit]\n");
        fr.write("/etc/systemd/system/empty.service", "");
        let root = fr.root();
        assert!(
            matches!(find_unit(&root, Scope::User, "a.service"), UnitLookup::Found(p) if p == "/usr/lib/systemd/user/a.service")
        );
        assert!(matches!(
            find_unit(&root, Scope::User, "b.service"),
            UnitLookup::Masked(_)
        ));
        assert!(matches!(
            find_unit(&root, Scope::System, "a.service"),
            UnitLookup::Missing
        ));
        assert!(matches!(
            find_unit(&root, Scope::System, "getty@tty1.service"),
            UnitLookup::Found(_)
        ));
        assert!(matches!(
            find_unit(&root, Scope::System, "empty.service"),
            UnitLookup::Masked(_)
        ));
    }

    use crate::testutil::FakeRoot;
}
