//! `unitpack new`: a recipe to start from, either a small user service or one made from
//! unit files the author already has (`--from`). Scope and enablement are read from the
//! units themselves; the result is checked by the same loader and lint as any recipe.

use crate::error::{Error, InputError, Result};
use crate::unit::{self, Scope, Section, UnitName};
use serde_yaml::{Mapping, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where `unitpack`'s own package installs the recipe schema (for editors).
pub const INSTALLED_SCHEMA: &str = "/usr/share/unitpack/recipe.schema.json";

pub struct NewRecipe<'a> {
    /// The Debian package name.
    pub package: &'a str,
    /// Unit files to take in; empty: a small user service named after the package.
    pub from: &'a [PathBuf],
    /// Scope of every unit taken in, overriding what is read from them.
    pub scope: Option<Scope>,
    /// Target profile name.
    pub target: &'a str,
}

/// The recipe's text.
pub fn render(new: &NewRecipe) -> Result<String> {
    crate::recipe::check_package_name(new.package)
        .map_err(|message| InputError::new(Path::new("<command line>"), None, "NAME", message))?;
    let mut units = Vec::new();
    if new.from.is_empty() {
        units.push(starter_unit(new.package));
    }
    let mut read = Vec::new();
    for path in new.from {
        read.push(read_unit(path)?);
    }
    let scopes = match new.scope {
        Some(scope) => vec![scope; read.len()],
        None => guess_scopes(&read),
    };
    for ((name, sections), scope) in read.iter().zip(scopes) {
        units.push(unit_value(name, sections, scope));
    }

    let mut package = Mapping::new();
    package.insert("name".into(), new.package.into());
    package.insert("version".into(), "0.1.0".into());
    package.insert("maintainer".into(), maintainer().into());
    package.insert(
        "summary".into(),
        format!("systemd units of {}", new.package).into(),
    );
    // Without one the package's extended description is empty, which lintian reports
    // as an error (`extended-description-is-empty`) in the docs/ci.md pipeline.
    let names: Vec<String> = units
        .iter()
        .filter_map(|u| u.get("name").and_then(Value::as_str).map(String::from))
        .collect();
    package.insert(
        "description".into(),
        format!(
            "The systemd units of {}: {}. Say here what the package does for its users.",
            new.package,
            names.join(", ")
        )
        .into(),
    );
    package.insert("license".into(), "MIT".into());
    let mut recipe = Mapping::new();
    recipe.insert("package".into(), Value::Mapping(package));
    recipe.insert("target".into(), new.target.into());
    recipe.insert("units".into(), Value::Sequence(units));
    let body = serde_yaml::to_string(&Value::Mapping(recipe)).map_err(|e| Error::Internal {
        what: "writing the recipe as YAML".into(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "# yaml-language-server: $schema={INSTALLED_SCHEMA}\n\
         # A unitpack recipe: `unitpack lint` checks it, `unitpack build` makes the .deb.\n\
         # The recipe format: `unitpack schema`, and docs/recipe.md.\n{body}"
    ))
}

/// Write `text` to `path`, refusing to replace anything that is there.
pub fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::from(InputError::new(
                    path,
                    None,
                    "",
                    "already exists; unitpack new never overwrites a file",
                ))
            } else {
                Error::io(format!("creating {}", path.display()), e)
            }
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn maintainer() -> String {
    let name = std::env::var("DEBFULLNAME").unwrap_or_default();
    let email = std::env::var("DEBEMAIL").unwrap_or_default();
    if name.trim().is_empty() || email.trim().is_empty() {
        "Your Name <you@example.org>".into()
    } else {
        format!("{} <{}>", name.trim(), email.trim())
    }
}

/// A user service named after the package, enabled for every user.
fn starter_unit(package: &str) -> Value {
    let stem: String = package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut sections = Mapping::new();
    sections.insert(
        "Unit".into(),
        pairs(&[("Description", &format!("{package} for every user"))]),
    );
    sections.insert(
        "Service".into(),
        pairs(&[("ExecStart", &format!("/usr/bin/{stem}"))]),
    );
    sections.insert("Install".into(), pairs(&[("WantedBy", "default.target")]));
    let mut unit = Mapping::new();
    unit.insert("name".into(), format!("{stem}.service").into());
    unit.insert("scope".into(), "user".into());
    unit.insert("enable".into(), "global".into());
    unit.insert("sections".into(), Value::Mapping(sections));
    Value::Mapping(unit)
}

fn pairs(items: &[(&str, &str)]) -> Value {
    let mut m = Mapping::new();
    for (k, v) in items {
        m.insert((*k).into(), (*v).into());
    }
    Value::Mapping(m)
}

/// A unit file named on the command line: its name and sections.
fn read_unit(path: &Path) -> Result<(UnitName, Vec<Section>)> {
    let bad = |message: String| Error::from(InputError::new(path, None, "", message));
    // Named on the command line, read as any unit file is: no symlink followed, no
    // FIFO waited on, at most `input::MAX_UNIT_FILE` bytes.
    let text = crate::input::read_text(path, crate::input::MAX_UNIT_FILE).map_err(bad)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("the file name is not UTF-8".into()))?;
    let name = UnitName::parse(file_name).map_err(|m| bad(format!("not a unit name: {m}")))?;
    let sections = unit::parse(&text).map_err(|(line, message)| {
        Error::from(InputError::new(
            path,
            Some(crate::error::Location { line, column: 1 }),
            "",
            message,
        ))
    })?;
    Ok((name, sections))
}

/// A unit as a structured recipe unit: its sections and directives, with the
/// enablement that its scope and `[Install]` imply.
fn unit_value(name: &UnitName, sections: &[Section], scope: Scope) -> Value {
    let enable = match (unit::installs(sections), scope) {
        (false, _) => "none",
        (true, Scope::User) => "global",
        (true, Scope::System) => "enable-and-start",
    };

    let mut yaml_sections = Mapping::new();
    for section in sections {
        let mut directives = Mapping::new();
        for d in &section.directives {
            let key = Value::from(d.key.as_str());
            match directives.get_mut(&key) {
                None => {
                    directives.insert(key, d.value.as_str().into());
                }
                Some(Value::Sequence(list)) => list.push(d.value.as_str().into()),
                Some(first) => {
                    let earlier = first.clone();
                    *first = Value::Sequence(vec![earlier, d.value.as_str().into()]);
                }
            }
        }
        yaml_sections.insert(section.name.as_str().into(), Value::Mapping(directives));
    }
    let mut unit = Mapping::new();
    unit.insert("name".into(), name.as_str().into());
    unit.insert("scope".into(), scope.as_str().into());
    unit.insert("enable".into(), enable.into());
    unit.insert("sections".into(), Value::Mapping(yaml_sections));
    Value::Mapping(unit)
}

/// Targets only the user manager has: a unit tied to one runs in a user's session.
const USER_TARGETS: &[&str] = &[
    "default.target",
    "graphical-session.target",
    "graphical-session-pre.target",
    "xdg-desktop-autostart.target",
];

/// Targets and units only the system manager has.
const SYSTEM_ONLY: &[&str] = &[
    "multi-user.target",
    "graphical.target",
    "sysinit.target",
    "local-fs.target",
    "remote-fs.target",
    "network.target",
    "network-online.target",
    "network-pre.target",
    "nss-lookup.target",
    "time-sync.target",
    "getty.target",
    "rescue.target",
    "emergency.target",
    "cryptsetup.target",
    "systemd-journald.socket",
    "systemd-udevd.service",
    "systemd-tmpfiles-setup-dev.service",
    "syslog.socket",
];

/// What a unit's own text says about the manager it is written for: above zero the
/// user manager, below it the system's. Its file's path is no evidence (a flat
/// directory of copies has none), only what systemd reads:
/// - `[Install]` into a target of one manager only (`default.target` is the user
///   manager's; the system's is an alias it enables nothing into), dependencies on
///   such targets or units;
/// - `User=`, `Group=`, `DynamicUser=`: only the system manager switches users;
/// - sockets under `%t/` (the user's runtime directory; system sockets name `/run`),
///   `ConditionUser=!root`, `XDG_RUNTIME_DIR`, a `--user` or `--session` daemon.
fn scope_evidence(sections: &[Section]) -> i32 {
    let mut score = 0;
    for s in sections {
        for d in &s.directives {
            let words = || d.value.split_whitespace();
            match (s.name.as_str(), d.key.as_str()) {
                ("Install", "WantedBy" | "RequiredBy" | "UpheldBy") => {
                    for w in words() {
                        if USER_TARGETS.contains(&w) {
                            score += 3;
                        } else if SYSTEM_ONLY.contains(&w) {
                            score -= 3;
                        }
                    }
                }
                (
                    "Unit",
                    "PartOf" | "BindsTo" | "After" | "Before" | "Wants" | "Requires" | "Requisite",
                ) => {
                    for w in words() {
                        if USER_TARGETS[1..].contains(&w)
                            || (w == "default.target" && d.key != "After")
                        {
                            score += 2;
                        } else if SYSTEM_ONLY.contains(&w) {
                            score -= 2;
                        }
                    }
                }
                ("Unit", "ConditionUser") if d.value.trim() == "!root" => score += 2,
                ("Service", "User" | "Group" | "DynamicUser") => score -= 3,
                ("Socket", k) if k.starts_with("Listen") && d.value.starts_with("%t/") => {
                    score += 2
                }
                ("Service", "Environment") if d.value.contains("XDG_RUNTIME_DIR") => score += 1,
                ("Service", k)
                    if k.starts_with("Exec")
                        && words().any(|w| w == "--user" || w == "--session") =>
                {
                    score += 1
                }
                _ => {}
            }
        }
    }
    score
}

/// The scope of each unit of a `new --from` set, from the units' own text: the
/// evidence of units that belong together (one names the other in `Also=`,
/// `Requires=`, `BindsTo=`, `Sockets=`, `Service=`, `Unit=`, or they share a name
/// before the suffix, as `foo.socket` and `foo.service`) is summed, so a socket
/// without a word of its own follows its service; without evidence, the system's.
pub fn guess_scopes(units: &[(UnitName, Vec<Section>)]) -> Vec<Scope> {
    let n = units.len();
    let stem = |u: &UnitName| {
        let s = u.as_str();
        s[..s.rfind('.').unwrap_or(s.len())].to_string()
    };
    // Union-find over the set.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let other = units[j].0.as_str();
            let named = units[i].1.iter().any(|s| {
                s.directives.iter().any(|d| {
                    matches!(
                        d.key.as_str(),
                        "Also" | "Requires" | "BindsTo" | "Sockets" | "Service" | "Unit"
                    ) && d.value.split_whitespace().any(|w| w == other)
                })
            });
            if named || stem(&units[i].0) == stem(&units[j].0) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut group_score = vec![0; n];
    for (i, (_, sections)) in units.iter().enumerate() {
        let r = root(&mut parent, i);
        group_score[r] += scope_evidence(sections);
    }
    (0..n)
        .map(|i| {
            if group_score[root(&mut parent, i)] > 0 {
                Scope::User
            } else {
                Scope::System
            }
        })
        .collect()
}
