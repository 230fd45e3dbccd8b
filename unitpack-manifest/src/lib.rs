//! The manifest a unitpack package installs at /usr/share/unitpack/PACKAGE/manifest:
//! written by unitpack ([`Manifest::to_text`]), read on the target by unitpack-check
//! ([`parse`]). Std only: it is part of the helper's static build.
//!
//! One record per line, fields separated by a single TAB; `#` comments and blank
//! lines are ignored, and so are unknown record kinds and extra trailing fields
//! (forward compatibility within format 1). Records, in the order the writer puts
//! them:
//!
//! ```text
//! format            N                      (required; newer than FORMAT is refused)
//! package           NAME                   (required)
//! profile           NAME
//! strict            0|1
//! user-bus-package  NAME
//! unit              SCOPE ENABLEMENT NAME PATH   (one per unit)
//! link              PATH TARGET                  (one per enable link)
//! dropin            SCOPE UNIT PATH              (one per drop-in)
//! takeover          SCOPE NAME                   (one per unit taken over)
//! ```
//!
//! SCOPE is `user` or `system`; ENABLEMENT is `global`, `none`, `enable` or
//! `enable-and-start`; paths are absolute.

use std::fmt;

/// Where packages install their manifests.
pub const MANIFEST_DIR: &str = "/usr/share/unitpack";

/// The helper's package name: the package every unit package relates to, and whose
/// recipe the Yocto layer ships.
pub const HELPER_PACKAGE: &str = "unitpack-check";
/// The newest format this crate reads and the one it writes.
pub const FORMAT: u32 = 1;
/// The first line [`Manifest::to_text`] writes.
pub const HEADER: &str = "# unitpack manifest: read by unitpack-check; generated, do not edit";

/// Where the manifest of `package` is installed.
pub fn manifest_path(package: &str) -> String {
    format!("{}/{}/manifest", MANIFEST_DIR, package)
}

/// Where a unit runs: the user manager of each user, or PID 1. The one definition,
/// shared by unitpack and the helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    User,
    System,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::System => "system",
        }
    }

    /// `user` or `system`.
    pub fn from_name(s: &str) -> Option<Scope> {
        Scope::parse(s).ok()
    }

    fn parse(s: &str) -> Result<Scope, String> {
        match s {
            "user" => Ok(Scope::User),
            "system" => Ok(Scope::System),
            other => Err(format!(
                "unknown scope `{}` (expected user or system)",
                other
            )),
        }
    }
}

/// How a package turns a unit on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Enablement {
    /// User units: `systemctl --global enable` (for every user).
    Global,
    /// Ship the unit, enable nothing.
    None,
    /// System units: enable at install.
    Enable,
    /// System units: enable at install and start when systemd is running.
    EnableAndStart,
}

impl Enablement {
    pub fn as_str(self) -> &'static str {
        match self {
            Enablement::Global => "global",
            Enablement::None => "none",
            Enablement::Enable => "enable",
            Enablement::EnableAndStart => "enable-and-start",
        }
    }

    /// Global is for user units; enable and enable-and-start for system units.
    pub fn allowed_in(self, scope: Scope) -> bool {
        match self {
            Enablement::None => true,
            Enablement::Global => scope == Scope::User,
            Enablement::Enable | Enablement::EnableAndStart => scope == Scope::System,
        }
    }

    pub fn enables(self) -> bool {
        self != Enablement::None
    }

    fn parse(s: &str) -> Result<Enablement, String> {
        match s {
            "global" => Ok(Enablement::Global),
            "none" => Ok(Enablement::None),
            "enable" => Ok(Enablement::Enable),
            "enable-and-start" => Ok(Enablement::EnableAndStart),
            other => Err(format!(
                "unknown enablement `{}` (expected global, none, enable or enable-and-start)",
                other
            )),
        }
    }
}

/// A `unit` record: a unit the package ships.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitEntry {
    pub scope: Scope,
    pub enablement: Enablement,
    pub name: String,
    pub path: String,
}

/// A `link` record: an enable link the package makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub path: String,
    pub target: String,
}

/// A `dropin` record: a drop-in the package installs for a unit (its own or
/// another package's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropIn {
    pub scope: Scope,
    pub unit: String,
    pub path: String,
}

/// A `takeover` record: another package's unit this package disables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Takeover {
    pub scope: Scope,
    pub name: String,
}

/// A manifest, its records in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    pub package: String,
    pub profile: Option<String>,
    pub strict: bool,
    pub user_bus_package: Option<String>,
    pub units: Vec<UnitEntry>,
    pub links: Vec<Link>,
    pub dropins: Vec<DropIn>,
    pub takeovers: Vec<Takeover>,
}

impl Default for Manifest {
    /// Format [`FORMAT`], no package name, no records.
    fn default() -> Manifest {
        Manifest {
            format: FORMAT,
            package: String::new(),
            profile: None,
            strict: false,
            user_bus_package: None,
            units: Vec::new(),
            links: Vec::new(),
            dropins: Vec::new(),
            takeovers: Vec::new(),
        }
    }
}

impl Manifest {
    /// The manifest's text: [`HEADER`], then one line per record in the order of the
    /// module documentation (`profile` and `user-bus-package` when set). Every field
    /// must be non-empty and free of TAB and line breaks, and paths absolute, for
    /// [`parse`] to read it back; the writer's values are validated names and paths.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(256);
        let mut record = |fields: &[&str]| {
            for (i, f) in fields.iter().enumerate() {
                debug_assert!(
                    i == 0 || (!f.is_empty() && !f.contains(['\t', '\n', '\r'])),
                    "manifest field {:?} cannot be read back",
                    f
                );
                if i > 0 {
                    out.push('\t');
                }
                out.push_str(f);
            }
            out.push('\n');
        };
        record(&[HEADER]);
        record(&["format", &self.format.to_string()]);
        record(&["package", &self.package]);
        if let Some(p) = &self.profile {
            record(&["profile", p]);
        }
        record(&["strict", if self.strict { "1" } else { "0" }]);
        if let Some(p) = &self.user_bus_package {
            record(&["user-bus-package", p]);
        }
        for u in &self.units {
            record(&[
                "unit",
                u.scope.as_str(),
                u.enablement.as_str(),
                &u.name,
                &u.path,
            ]);
        }
        for l in &self.links {
            record(&["link", &l.path, &l.target]);
        }
        for d in &self.dropins {
            record(&["dropin", d.scope.as_str(), &d.unit, &d.path]);
        }
        for t in &self.takeovers {
            record(&["takeover", t.scope.as_str(), &t.name]);
        }
        out
    }
}

/// Why a manifest could not be read, with its file and line.
#[derive(Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub file: String,
    /// 0 when the problem is not on one line (e.g. a missing record).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ManifestError {}

/// Read the manifest `text` of `file` (named in errors). Records keep their order.
pub fn parse(text: &str, file: &str) -> Result<Manifest, ManifestError> {
    let err = |line: usize, message: String| ManifestError {
        file: file.to_string(),
        line,
        message,
    };
    let mut m = Manifest::default();
    let mut format_seen = false;
    let mut package_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let kind = fields[0];
        let need = match kind {
            "format" | "package" | "profile" | "strict" | "user-bus-package" => 2,
            "unit" => 5,
            "link" | "takeover" => 3,
            "dropin" => 4,
            _ => continue,
        };
        if fields.len() < need {
            return Err(err(
                n,
                format!(
                    "`{}` record needs {} TAB-separated fields, found {}",
                    kind,
                    need - 1,
                    fields.len() - 1
                ),
            ));
        }
        for f in &fields[1..need] {
            if f.is_empty() {
                return Err(err(n, format!("`{}` record has an empty field", kind)));
            }
        }
        match kind {
            "format" => {
                let v: u32 = fields[1]
                    .parse()
                    .map_err(|_| err(n, format!("format `{}` is not a number", fields[1])))?;
                if v > FORMAT {
                    return Err(err(
                        n,
                        format!(
                            "manifest format {} is newer than this unitpack-check understands ({}): upgrade unitpack-check",
                            v, FORMAT
                        ),
                    ));
                }
                m.format = v;
                format_seen = true;
            }
            "package" => {
                m.package = fields[1].to_string();
                package_seen = true;
            }
            "profile" => m.profile = Some(fields[1].to_string()),
            "strict" => {
                m.strict = match fields[1] {
                    "0" => false,
                    "1" => true,
                    other => return Err(err(n, format!("strict must be 0 or 1, not `{}`", other))),
                }
            }
            "user-bus-package" => m.user_bus_package = Some(fields[1].to_string()),
            "unit" => {
                let scope = Scope::parse(fields[1]).map_err(|e| err(n, e))?;
                let enablement = Enablement::parse(fields[2]).map_err(|e| err(n, e))?;
                let name = fields[3];
                if name.contains('/') {
                    return Err(err(n, format!("unit name `{}` contains a slash", name)));
                }
                let path = absolute(fields[4]).map_err(|e| err(n, e))?;
                m.units.push(UnitEntry {
                    scope,
                    enablement,
                    name: name.to_string(),
                    path,
                });
            }
            "link" => {
                let path = absolute(fields[1]).map_err(|e| err(n, e))?;
                let target = absolute(fields[2]).map_err(|e| err(n, e))?;
                m.links.push(Link { path, target });
            }
            "takeover" => {
                let scope = Scope::parse(fields[1]).map_err(|e| err(n, e))?;
                m.takeovers.push(Takeover {
                    scope,
                    name: fields[2].to_string(),
                });
            }
            "dropin" => {
                let scope = Scope::parse(fields[1]).map_err(|e| err(n, e))?;
                let path = absolute(fields[3]).map_err(|e| err(n, e))?;
                m.dropins.push(DropIn {
                    scope,
                    unit: fields[2].to_string(),
                    path,
                });
            }
            _ => unreachable!("kinds filtered above"),
        }
    }
    if !format_seen {
        return Err(err(0, String::from("no `format` record")));
    }
    if !package_seen {
        return Err(err(0, String::from("no `package` record")));
    }
    Ok(m)
}

fn absolute(s: &str) -> Result<String, String> {
    if s.starts_with('/') {
        Ok(s.to_string())
    } else {
        Err(format!("path `{}` is not absolute", s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "format\t1\npackage\tmy-pulseaudio-user\nprofile\tubuntu-xenial\nstrict\t0\n\
user-bus-package\tdbus-user-session\n\
# a comment\n\n\
unit\tuser\tglobal\tmy_pulseaudio.service\t/usr/lib/systemd/user/my_pulseaudio.service\n\
link\t/etc/systemd/user/default.target.wants/my_pulseaudio.service\t/usr/lib/systemd/user/my_pulseaudio.service\n\
takeover\tuser\tpulseaudio.service\n\
future-record\twhatever\tfields\n";

    #[test]
    fn parses_the_documented_example() {
        let m = parse(EXAMPLE, "/m").unwrap();
        assert_eq!(m.format, 1);
        assert_eq!(m.package, "my-pulseaudio-user");
        assert_eq!(m.profile.as_deref(), Some("ubuntu-xenial"));
        assert!(!m.strict);
        assert_eq!(m.user_bus_package.as_deref(), Some("dbus-user-session"));
        assert_eq!(
            m.units,
            vec![UnitEntry {
                scope: Scope::User,
                enablement: Enablement::Global,
                name: "my_pulseaudio.service".into(),
                path: "/usr/lib/systemd/user/my_pulseaudio.service".into(),
            }]
        );
        assert_eq!(m.links.len(), 1);
        assert_eq!(
            m.takeovers,
            vec![Takeover {
                scope: Scope::User,
                name: "pulseaudio.service".into()
            }]
        );
    }

    #[test]
    fn short_record_names_file_and_line() {
        let text = "format\t1\npackage\tp\nunit\tuser\tglobal\tx.service\n";
        let e = parse(text, "/usr/share/unitpack/p/manifest").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e
            .to_string()
            .starts_with("/usr/share/unitpack/p/manifest:3: `unit` record needs 4"));
    }

    #[test]
    fn spaces_are_not_separators() {
        let e = parse("format 1\n", "/m").unwrap_err();
        // "format 1" is an unknown kind, so the format record is missing.
        assert_eq!(e.message, "no `format` record");
        assert_eq!(e.to_string(), "/m: no `format` record");
    }

    #[test]
    fn rejects_bad_values() {
        let bad = [
            (
                "format\t1\npackage\tp\nstrict\tyes\n",
                3,
                "strict must be 0 or 1",
            ),
            ("format\t2\n", 1, "newer than"),
            ("format\tx\n", 1, "not a number"),
            (
                "format\t1\npackage\tp\nunit\tsession\tnone\ta.service\t/a\n",
                3,
                "unknown scope",
            ),
            (
                "format\t1\npackage\tp\nunit\tuser\tmaybe\ta.service\t/a\n",
                3,
                "unknown enablement",
            ),
            (
                "format\t1\npackage\tp\nunit\tuser\tnone\ta/b.service\t/a\n",
                3,
                "contains a slash",
            ),
            (
                "format\t1\npackage\tp\nunit\tuser\tnone\ta.service\trel/a\n",
                3,
                "not absolute",
            ),
            ("format\t1\npackage\tp\nlink\t/a\t\n", 3, "empty field"),
            ("format\t1\n", 0, "no `package`"),
        ];
        for (text, line, msg) in bad {
            let e = parse(text, "/m").unwrap_err();
            assert_eq!(e.line, line, "{:?}", text);
            assert!(e.message.contains(msg), "{:?} -> {}", text, e.message);
        }
    }

    #[test]
    fn records_keep_their_order_and_crlf_is_tolerated() {
        let text = "format\t1\r\npackage\tp\r\nunit\tuser\tnone\tz.service\t/z\r\nunit\tsystem\tenable\ta.service\t/a\r\n";
        let m = parse(text, "/m").unwrap();
        let names: Vec<&str> = m.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["z.service", "a.service"]);
        assert_eq!(m.units[0].path, "/z");
    }

    #[test]
    fn dropin_records() {
        let text = "format\t1\npackage\tp\ndropin\tsystem\tdbus.service\t/lib/systemd/system/dbus.service.d/p.conf\n";
        let m = parse(text, "/m").unwrap();
        assert_eq!(
            m.dropins,
            [DropIn {
                scope: Scope::System,
                unit: "dbus.service".into(),
                path: "/lib/systemd/system/dbus.service.d/p.conf".into(),
            }]
        );
        assert!(parse(
            "format\t1\npackage\tp\ndropin\tsystem\tx.service\trel\n",
            "/m"
        )
        .is_err());
    }

    /// Every record kind and value, written and read back.
    #[test]
    fn every_record_round_trips() {
        let m = Manifest {
            format: FORMAT,
            package: "p".into(),
            profile: Some("yocto-kirkstone".into()),
            strict: true,
            user_bus_package: Some("dbus".into()),
            units: [
                Enablement::Global,
                Enablement::None,
                Enablement::Enable,
                Enablement::EnableAndStart,
            ]
            .iter()
            .enumerate()
            .map(|(i, &enablement)| UnitEntry {
                scope: if i % 2 == 0 {
                    Scope::User
                } else {
                    Scope::System
                },
                enablement,
                name: format!("u{}.service", i),
                path: format!("/lib/systemd/system/u{}.service", i),
            })
            .collect(),
            links: vec![Link {
                path: "/etc/systemd/system/multi-user.target.wants/u3.service".into(),
                target: "/lib/systemd/system/u3.service".into(),
            }],
            dropins: vec![DropIn {
                scope: Scope::System,
                unit: "dbus.service".into(),
                path: "/lib/systemd/system/dbus.service.d/p.conf".into(),
            }],
            takeovers: vec![Takeover {
                scope: Scope::User,
                name: "pulseaudio.socket".into(),
            }],
        };
        let text = m.to_text();
        assert!(text.starts_with(&format!("{}\nformat\t1\npackage\tp\n", HEADER)));
        assert_eq!(parse(&text, "/m").unwrap(), m);
        assert_eq!(parse(&text, "/m").unwrap().to_text(), text);
        // Optional records left out are left out of the text.
        let bare = Manifest {
            package: "q".into(),
            ..Manifest::default()
        };
        assert_eq!(
            bare.to_text(),
            format!("{}\nformat\t1\npackage\tq\nstrict\t0\n", HEADER)
        );
        assert_eq!(parse(&bare.to_text(), "/m").unwrap(), bare);
    }

    #[test]
    fn manifest_path_is_below_the_directory() {
        assert_eq!(manifest_path("p"), "/usr/share/unitpack/p/manifest");
    }
}
