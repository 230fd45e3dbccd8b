//! The manifest a unitpack package installs at /usr/share/unitpack/PACKAGE/manifest.
//!
//! One record per line, fields separated by a single TAB; `#` comments and blank
//! lines are ignored, and so are unknown record kinds and extra trailing fields
//! (forward compatibility within format 1).

use std::fmt;

pub const MANIFEST_DIR: &str = "/usr/share/unitpack";
pub const FORMAT: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enablement {
    Global,
    None,
    Enable,
    EnableAndStart,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitEntry {
    pub scope: Scope,
    pub enablement: Enablement,
    pub name: String,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub path: String,
    pub target: String,
}

/// A drop-in the package installs for a unit (its own or another package's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropIn {
    pub scope: Scope,
    pub unit: String,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Takeover {
    pub scope: Scope,
    pub name: String,
}

#[derive(Clone, Debug, Default)]
pub struct Manifest {
    pub package: String,
    pub profile: Option<String>,
    pub strict: bool,
    pub user_bus_package: Option<String>,
    pub units: Vec<UnitEntry>,
    pub links: Vec<Link>,
    pub takeovers: Vec<Takeover>,
    pub dropins: Vec<DropIn>,
}

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

pub fn manifest_path(package: &str) -> String {
    format!("{}/{}/manifest", MANIFEST_DIR, package)
}

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
                let scope = parse_scope(fields[1]).map_err(|e| err(n, e))?;
                let enablement = match fields[2] {
                    "global" => Enablement::Global,
                    "none" => Enablement::None,
                    "enable" => Enablement::Enable,
                    "enable-and-start" => Enablement::EnableAndStart,
                    other => {
                        return Err(err(
                            n,
                            format!(
                                "unknown enablement `{}` (expected global, none, enable or enable-and-start)",
                                other
                            ),
                        ))
                    }
                };
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
                let scope = parse_scope(fields[1]).map_err(|e| err(n, e))?;
                m.takeovers.push(Takeover {
                    scope,
                    name: fields[2].to_string(),
                });
            }
            "dropin" => {
                let scope = parse_scope(fields[1]).map_err(|e| err(n, e))?;
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
    crate::root::sort_by_key(&mut m.units, |u| u.name.as_str());
    Ok(m)
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    match s {
        "user" => Ok(Scope::User),
        "system" => Ok(Scope::System),
        other => Err(format!(
            "unknown scope `{}` (expected user or system)",
            other
        )),
    }
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
    fn units_are_sorted_and_crlf_tolerated() {
        let text = "format\t1\r\npackage\tp\r\nunit\tuser\tnone\tz.service\t/z\r\nunit\tsystem\tenable\ta.service\t/a\r\n";
        let m = parse(text, "/m").unwrap();
        let names: Vec<&str> = m.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["a.service", "z.service"]);
        assert_eq!(m.units[1].path, "/z");
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
}
