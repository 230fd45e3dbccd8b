//! `unitpack new NAME --from PACKAGE.deb` (or the directory `dpkg-deb -R` unpacks it
//! into, with its `DEBIAN/`): a Debian package's units with what the package decides
//! for them, which a flat directory of unit files cannot show:
//! - scope: the directory the package installs the unit to;
//! - enablement: `deb-systemd-helper [--user] enable` in the postinst's debhelper blocks
//!   (not the `debian-installed` form `dh_installsystemd --no-enable` writes, which only
//!   keeps an admin's choice), `systemctl [--global] enable` lines, the units those name
//!   in `Also=`, and the enable links the package ships (`*.wants/`, `*.requires/`);
//! - start: `deb-systemd-invoke start|restart` of an enabled unit (it starts nothing
//!   disabled or static), else `enable` only (`--no-start`).
//!
//! Read through the input layer: a `.deb` by `repo::debfile` (bounded, never unpacked
//! to disk), a directory by `input` (no symlink followed).

use crate::error::{Error, InputError, Result};
use crate::repo::debfile::{self, DataKind};
use crate::unit::{self, Scope, Section, UnitName};
use std::collections::BTreeSet;
use std::path::Path;

/// Where packages install units, and the manager that reads each.
const UNIT_DIRS: &[(&str, Scope)] = &[
    ("lib/systemd/system", Scope::System),
    ("usr/lib/systemd/system", Scope::System),
    ("etc/systemd/system", Scope::System),
    ("usr/lib/systemd/user", Scope::User),
    ("usr/share/systemd/user", Scope::User),
    ("etc/systemd/user", Scope::User),
];

/// One unit of the package and the package's decision for it.
pub struct PackageUnit {
    pub name: UnitName,
    pub sections: Vec<Section>,
    pub scope: Scope,
    /// The recipe's `enable:` value.
    pub enable: &'static str,
    /// A template's instances enabled by links the package ships.
    pub instances: Vec<String>,
    /// Targets whose `.wants/` (or `.requires/`) holds a link the package ships and the
    /// unit's `[Install]` does not make: added to it, so `systemctl enable` makes them.
    pub added_install: Vec<(&'static str, String)>,
}

/// What `new --from` takes from a package.
pub struct Package {
    /// The package's name and version (for the recipe's header).
    pub name: String,
    pub version: String,
    /// The synopsis and extended description of its `Description:`.
    pub summary: Option<String>,
    pub description: Option<String>,
    /// Its `Depends:` as written (of its programs, not its units).
    pub depends: Option<String>,
    pub units: Vec<PackageUnit>,
    /// Notes on what was left out (aliases, masks).
    pub skipped: Vec<String>,
}

/// An unpacked view of a package: control files and unit directory entries.
struct Tree {
    control: String,
    postinst: String,
    /// (directory, name, scope, kind): `kind` the unit's text, or `None` for a symlink.
    units: Vec<(String, String, Scope, Option<String>)>,
    /// Names of the links in `*.wants/` and `*.requires/`: (directory kind, target, link name).
    links: Vec<(&'static str, String, String)>,
}

/// Whether `path` is a package for `new --from`: a `.deb` file, or a directory with a
/// `DEBIAN/` directory in it.
pub fn is_package(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => path.extension().is_some_and(|e| e == "deb"),
        Ok(m) if m.is_dir() => {
            std::fs::symlink_metadata(path.join("DEBIAN")).is_ok_and(|m| m.is_dir())
        }
        _ => false,
    }
}

/// Read the package at `path` and decide each of its units.
pub fn read(path: &Path) -> Result<Package> {
    let tree = if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        tree_of_dir(path)?
    } else {
        tree_of_deb(path)?
    };
    let bad = |message: String| Error::from(InputError::new(path, None, "--from", message));
    let control = crate::repo::debfile::control_stanza(&tree.control)
        .map_err(|m| bad(format!("DEBIAN/control: {m}")))?;
    let field = |k: &str| {
        control
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let name = field("Package").unwrap_or_default();
    let version = field("Version").unwrap_or_default();
    let (summary, description) = match field("Description") {
        Some(d) => split_description(&d),
        None => (None, None),
    };

    let mut skipped = Vec::new();
    let mut read: Vec<(UnitName, Vec<Section>, Scope)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (dir, file, scope, text) in &tree.units {
        let Some(text) = text else {
            skipped.push(format!(
                "{dir}/{file} is a symlink (an alias or a mask), not a unit file"
            ));
            continue;
        };
        let where_ = format!("{}: {dir}/{file}", path.display());
        let name = UnitName::parse(file)
            .map_err(|m| bad(format!("{dir}/{file}: not a unit name: {m}")))?;
        // The first directory of the search path wins, as systemd reads them.
        if !seen.insert((*scope == Scope::User, file.clone())) {
            skipped.push(format!("{dir}/{file}: a second copy of {file}"));
            continue;
        }
        let sections = unit::parse(text)
            .map_err(|(line, message)| bad(format!("{where_} line {line}: {message}")))?;
        read.push((name, sections, *scope));
    }
    if read.is_empty() {
        return Err(bad(format!(
            "the package installs no unit file (looked in {})",
            UNIT_DIRS
                .iter()
                .map(|(d, _)| format!("/{d}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    let script = postinst(&tree.postinst);
    let own_links = |sections: &[Section]| {
        sections
            .iter()
            .filter(|s| s.name == "Install")
            .flat_map(|s| &s.directives)
            .any(|d| {
                matches!(d.key.as_str(), "WantedBy" | "RequiredBy" | "Alias")
                    && !d.value.trim().is_empty()
            })
    };
    let installs = |sections: &[Section]| unit::installs(sections);
    // Enabling a unit enables what its `Also=` names (deb-systemd-helper and systemctl
    // both do), when that has links to make.
    let mut enabled: BTreeSet<String> = script
        .enabled
        .iter()
        .filter(|n| {
            read.iter()
                .find(|(u, _, _)| u.as_str() == *n)
                .is_none_or(|(_, s, _)| installs(s))
        })
        .cloned()
        .collect();
    let mut todo: Vec<String> = enabled.iter().cloned().collect();
    while let Some(n) = todo.pop() {
        let Some((_, sections, _)) = read.iter().find(|(u, _, _)| u.as_str() == n) else {
            continue;
        };
        for also in sections
            .iter()
            .filter(|s| s.name == "Install")
            .flat_map(|s| &s.directives)
            .filter(|d| d.key == "Also")
            .flat_map(|d| d.value.split_whitespace())
        {
            let links = read
                .iter()
                .any(|(u, s, _)| u.as_str() == also && own_links(s));
            if links && enabled.insert(also.to_string()) {
                todo.push(also.to_string());
            }
        }
    }

    let mut units = Vec::new();
    for (name, sections, scope) in read {
        let n = name.as_str().to_string();
        let stem = n[..n.rfind('.').unwrap_or(n.len())].to_string();
        let suffix = &n[n.rfind('.').unwrap_or(n.len())..];
        let mut instances = Vec::new();
        let mut added_install = Vec::new();
        let mut linked = false;
        for (kind, target, link) in &tree.links {
            let instance = stem
                .strip_suffix('@')
                .and_then(|t| {
                    link.strip_prefix(t)?
                        .strip_prefix('@')?
                        .strip_suffix(suffix)
                })
                .filter(|i| !i.is_empty());
            if *link != n && instance.is_none() {
                continue;
            }
            linked = true;
            if let Some(i) = instance {
                if !instances.iter().any(|x| x == i) {
                    instances.push(i.to_string());
                }
            }
            let key = if *kind == "requires" {
                "RequiredBy"
            } else {
                "WantedBy"
            };
            let has = sections
                .iter()
                .filter(|s| s.name == "Install")
                .flat_map(|s| &s.directives)
                .filter(|d| d.key == key)
                .any(|d| d.value.split_whitespace().any(|w| w == target));
            if !has && !added_install.iter().any(|(k, t)| k == &key && t == target) {
                added_install.push((key, target.clone()));
            }
        }
        let is_template = stem.ends_with('@');
        let default_instance = sections
            .iter()
            .filter(|s| s.name == "Install")
            .flat_map(|s| &s.directives)
            .filter(|d| d.key == "DefaultInstance")
            .map(|d| d.value.trim().to_string())
            .next_back()
            .filter(|v| !v.is_empty());
        let by_script = enabled.contains(&n);
        // A template enabled by its postinst enables its DefaultInstance=; one without
        // it links nothing.
        if is_template && by_script && instances.is_empty() {
            if let Some(i) = &default_instance {
                instances.push(i.clone());
            }
        }
        let on = linked || (by_script && (!is_template || !instances.is_empty()));
        // deb-systemd-invoke starts only what `systemctl is-enabled` calls enabled: a
        // unit enabled only by a shipped link, with no [Install] links of its own, is
        // "static" to it and not started (dbus.service).
        let started = script.started.contains(&n) && own_links(&sections);
        let enable = match (on, scope) {
            (false, _) => "none",
            (true, Scope::User) => "global",
            (true, Scope::System) if started => "enable-and-start",
            (true, Scope::System) => "enable",
        };
        if enable == "none" {
            instances.clear();
            added_install.clear();
        }
        units.push(PackageUnit {
            name,
            sections,
            scope,
            enable,
            instances,
            added_install,
        });
    }
    Ok(Package {
        name,
        version,
        summary,
        description,
        depends: field("Depends"),
        units,
        skipped,
    })
}

/// Synopsis and extended description of a `Description:` field (as deb-control(5)
/// writes them: continuation lines indented by one space, ` .` a blank line).
fn split_description(field: &str) -> (Option<String>, Option<String>) {
    let mut lines = field.lines();
    let summary = lines
        .next()
        .map(|l| l.trim().to_string())
        .filter(|s| !s.is_empty());
    let body: Vec<String> = lines
        .map(|l| {
            let l = l.strip_prefix(' ').unwrap_or(l);
            if l.trim() == "." {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect();
    let body = body.join("\n").trim_matches('\n').to_string();
    (summary, (!body.trim().is_empty()).then_some(body))
}

/// What a postinst does to units on a fresh install.
#[derive(Default)]
struct Script {
    enabled: BTreeSet<String>,
    started: BTreeSet<String>,
}

/// The unit names of a shell command line: quoted (`'a.service'`) or bare words with a
/// unit suffix.
fn unit_words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || c == '\'' || c == '"')
        .filter(|w| UnitName::parse(w).is_ok())
        .map(String::from)
        .collect()
}

/// Read the postinst block by block as debhelper writes them (`# Automatically added
/// by` … `# End automatically added section`), and the maintainer's own lines.
fn postinst(text: &str) -> Script {
    let mut script = Script::default();
    let mut blocks: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("# Automatically added by") {
            blocks.push(Vec::new());
        }
        blocks.last_mut().expect("never empty").push(line);
        if line.starts_with("# End automatically added section") {
            blocks.push(Vec::new());
        }
    }
    for block in blocks {
        // `dh_installsystemd --no-enable`: enable runs only when the unit was installed
        // before (`debian-installed`), to keep what the admin chose.
        let keeps_only = block.iter().any(|l| {
            l.contains("deb-systemd-helper")
                && l.split_whitespace().any(|w| w == "debian-installed")
        });
        for line in block.iter().filter(|l| !l.starts_with('#')) {
            let command = line.trim_start_matches(['!', ' ']);
            let mut words = command.split_whitespace();
            let tool = words.next().unwrap_or("");
            let verbs: Vec<&str> = words.filter(|w| !w.starts_with('-')).collect();
            let verb = verbs.first().copied().unwrap_or("");
            match tool {
                "deb-systemd-helper" | "systemctl" if verb == "enable" && !keeps_only => {
                    script.enabled.extend(unit_words(line));
                }
                "deb-systemd-invoke" if matches!(verb, "start" | "restart" | "$_dh_action") => {
                    script.started.extend(unit_words(line));
                }
                _ => {}
            }
        }
    }
    script
}

fn tree_of_deb(path: &Path) -> Result<Tree> {
    let in_unit_dir = |p: &str| {
        UNIT_DIRS.iter().any(|(d, _)| {
            p.strip_prefix(d)
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|r| !r.contains('/'))
        })
    };
    let unpacked = debfile::unpack(path, &in_unit_dir, crate::input::MAX_UNIT_FILE)?;
    let text = |bytes: &[u8], what: &str| {
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            Error::from(InputError::new(
                path,
                None,
                "--from",
                format!("{what} is not UTF-8 text"),
            ))
        })
    };
    let control_file = |name: &str| {
        unpacked
            .control
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    };
    let control = text(
        control_file("control").ok_or_else(|| {
            Error::from(InputError::new(
                path,
                None,
                "--from",
                "the package has no control file",
            ))
        })?,
        "DEBIAN/control",
    )?;
    let postinst = text(
        control_file("postinst").unwrap_or_default(),
        "DEBIAN/postinst",
    )?;
    let mut tree = Tree {
        control,
        postinst,
        units: Vec::new(),
        links: Vec::new(),
    };
    for entry in &unpacked.data {
        let Some((dir, scope)) = UNIT_DIRS.iter().find(|(d, _)| {
            entry
                .path
                .strip_prefix(d)
                .is_some_and(|r| r.starts_with('/'))
        }) else {
            continue;
        };
        let rest = &entry.path[dir.len() + 1..];
        match (rest.split_once('/'), &entry.kind) {
            (None, DataKind::File(Some(bytes))) if UnitName::parse(rest).is_ok() => {
                tree.units.push((
                    dir.to_string(),
                    rest.to_string(),
                    *scope,
                    Some(text(bytes, &entry.path)?),
                ));
            }
            (None, DataKind::Symlink) if UnitName::parse(rest).is_ok() => {
                tree.units
                    .push((dir.to_string(), rest.to_string(), *scope, None));
            }
            (Some((sub, link)), DataKind::Symlink | DataKind::File(_)) if !link.contains('/') => {
                if let Some(l) = link_dir(sub) {
                    tree.links.push((l.0, l.1.to_string(), link.to_string()));
                }
            }
            _ => {}
        }
    }
    Ok(tree)
}

/// `multi-user.target.wants` → ("wants", "multi-user.target").
fn link_dir(sub: &str) -> Option<(&'static str, &str)> {
    if let Some(t) = sub.strip_suffix(".wants") {
        Some(("wants", t))
    } else {
        sub.strip_suffix(".requires").map(|t| ("requires", t))
    }
}

fn tree_of_dir(root: &Path) -> Result<Tree> {
    let bad = |message: String| Error::from(InputError::new(root, None, "--from", message));
    let control_path = root.join("DEBIAN/control");
    let control =
        crate::input::read_text(&control_path, crate::input::MAX_DEB_CONTROL).map_err(bad)?;
    let postinst_path = root.join("DEBIAN/postinst");
    let postinst = match crate::input::walk_below(
        root,
        Path::new("DEBIAN/postinst"),
        crate::input::Kind::File,
    ) {
        Ok(Some(_)) => {
            crate::input::read_text(&postinst_path, crate::input::MAX_DEB_CONTROL).map_err(bad)?
        }
        Ok(None) => String::new(),
        Err(m) => return Err(bad(m)),
    };
    let mut tree = Tree {
        control,
        postinst,
        units: Vec::new(),
        links: Vec::new(),
    };
    for (dir, scope) in UNIT_DIRS {
        let Some(full) =
            crate::input::walk_below(root, Path::new(dir), crate::input::Kind::Dir).map_err(bad)?
        else {
            continue;
        };
        for (name, kind) in crate::input::entries_in(&full).map_err(bad)? {
            match kind {
                crate::input::EntryKind::File if UnitName::parse(&name).is_ok() => {
                    let text =
                        crate::input::read_text(&full.join(&name), crate::input::MAX_UNIT_FILE)
                            .map_err(bad)?;
                    tree.units.push((dir.to_string(), name, *scope, Some(text)));
                }
                crate::input::EntryKind::Symlink if UnitName::parse(&name).is_ok() => {
                    tree.units.push((dir.to_string(), name, *scope, None));
                }
                crate::input::EntryKind::Dir => {
                    if let Some((kind, target)) = link_dir(&name) {
                        for (link, _) in crate::input::entries_in(&full.join(&name)).map_err(bad)? {
                            tree.links.push((kind, target.to_string(), link));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(tree)
}
