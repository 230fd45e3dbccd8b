//! Every path a package installs (units, assets and the files unitpack generates) and
//! the places an asset must not go. One check serves a single package when its recipe
//! loads and all the packages of a build together: a path installed twice, or a file
//! where another path needs a directory, makes dpkg fail or misbehave at install.

use crate::profile::Profile;
use std::collections::BTreeMap;

/// One installed file and the recipe field it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub path: String,
    pub field: String,
}

/// The files unitpack writes into every package besides units and assets; must match
/// what `deb::files` and `plan::payload` produce (a test compares them).
pub fn generated(package: &str, has_revision: bool) -> Vec<String> {
    let changelog = if has_revision {
        "changelog.Debian.gz"
    } else {
        "changelog.gz"
    };
    vec![
        unitpack_manifest::manifest_path(package),
        format!("/usr/share/doc/{package}/copyright"),
        format!("/usr/share/doc/{package}/{changelog}"),
        format!("/usr/share/lintian/overrides/{package}"),
    ]
}

/// Directories whose content belongs to unitpack, dpkg, systemd's unit and enable
/// links, or to the running system: an asset there would collide with a generated file
/// or a link the scripts make, or never be a file on disk at all.
const RESERVED: &[(&str, &str)] = &[
    ("/usr/share/unitpack", "unitpack's manifests"),
    ("/var/lib/unitpack", "the maintainer scripts' state"),
    ("/usr/share/doc", "the documentation unitpack generates"),
    (
        "/usr/share/lintian/overrides",
        "the lintian overrides unitpack generates",
    ),
    ("/var/lib/dpkg", "dpkg's database"),
    (
        "/etc/systemd/system",
        "systemd's unit directories (ship units in `units:`)",
    ),
    (
        "/etc/systemd/user",
        "systemd's unit directories (ship units in `units:`)",
    ),
    (
        "/lib/systemd/system",
        "systemd's unit directories (ship units in `units:`)",
    ),
    (
        "/lib/systemd/user",
        "systemd's unit directories (ship units in `units:`)",
    ),
    (
        "/usr/lib/systemd/system",
        "systemd's unit directories (ship units in `units:`)",
    ),
    (
        "/usr/lib/systemd/user",
        "systemd's unit directories (ship units in `units:`)",
    ),
    ("/run", "a file system that exists only at run time"),
    ("/var/run", "a file system that exists only at run time"),
    ("/tmp", "a file system that exists only at run time"),
    ("/dev", "a file system that exists only at run time"),
    ("/proc", "a file system that exists only at run time"),
    ("/sys", "a file system that exists only at run time"),
];

/// Directories of every Debian or Yocto system, which a file must not replace.
const SYSTEM_DIRS: &[&str] = &[
    "/etc/default",
    "/etc/init.d",
    "/etc/systemd",
    "/etc/xdg",
    "/lib/systemd",
    "/usr/bin",
    "/usr/games",
    "/usr/include",
    "/usr/lib",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/spool",
    "/var/tmp",
];

fn under(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Why an asset may not be installed at `dest` (an absolute, normalized path).
pub fn reserved(dest: &str, profile: &Profile) -> Option<String> {
    let profile_dirs = [
        profile.unit_dir(crate::unit::Scope::User),
        profile.unit_dir(crate::unit::Scope::System),
        profile.enable_dir(crate::unit::Scope::User),
        profile.enable_dir(crate::unit::Scope::System),
    ];
    if let Some(dir) = profile_dirs.iter().find(|d| under(dest, d)) {
        return Some(format!(
            "{dest} is in {dir}, one of systemd's unit directories (ship units in `units:`)"
        ));
    }
    if let Some((dir, why)) = RESERVED.iter().find(|(d, _)| under(dest, d)) {
        return Some(format!("{dest} is in {dir}: {why}"));
    }
    if dest.matches('/').count() < 2 || SYSTEM_DIRS.contains(&dest) {
        return Some(format!(
            "{dest} is a directory of the system; a file cannot replace it"
        ));
    }
    None
}

/// A conflict between two entries of a file list: reported on the later one (`at`),
/// naming the earlier one (`other`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    pub at: usize,
    pub other: usize,
    pub message: String,
}

/// Conflicts among `files`: a path installed twice, or a file where another path
/// needs a directory.
pub fn conflicts(files: &[Installed]) -> Vec<Conflict> {
    let mut by_path: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if let Some(&first) = by_path.get(f.path.as_str()) {
            out.push(Conflict {
                at: i,
                other: first,
                message: format!(
                    "{} is installed twice (also by {})",
                    f.path, files[first].field
                ),
            });
        } else {
            by_path.insert(&f.path, i);
        }
    }
    for (i, f) in files.iter().enumerate() {
        let mut dir = f.path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            if let Some(&j) = by_path.get(parent) {
                // Reported at the later of the two recipe items.
                let (at, other, message) = if i > j {
                    (
                        i,
                        j,
                        format!(
                            "{} needs {parent} to be a directory, but {} installs a file there",
                            f.path, files[j].field
                        ),
                    )
                } else {
                    (
                        j,
                        i,
                        format!(
                            "{parent} is a file, but {} needs it to be a directory (for {})",
                            f.field, f.path
                        ),
                    )
                };
                out.push(Conflict { at, other, message });
            }
            dir = parent;
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str, field: &str) -> Installed {
        Installed {
            path: path.into(),
            field: field.into(),
        }
    }

    #[test]
    fn twice_and_file_as_directory() {
        let files = [
            at("/etc/a", "assets[0]"),
            at("/etc/a/b", "assets[1]"),
            at("/opt/x", "assets[2]"),
            at("/opt/x", "assets[3]"),
            at("/opt/y/z", "assets[4]"),
        ];
        let c = conflicts(&files);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c[0].message.contains("needs /etc/a to be a directory"));
        assert!(c[1].message.contains("installed twice (also by assets[2])"));
    }

    #[test]
    fn reserved_places() {
        let p = crate::profile::find("ubuntu-xenial").unwrap();
        for bad in [
            "/usr/share/unitpack/other/manifest",
            "/usr/share/doc/x/README",
            "/usr/share/lintian/overrides/x",
            "/var/lib/dpkg/info/x.postinst",
            "/etc/systemd/user/default.target.wants/x.service",
            "/lib/systemd/system/x.service",
            "/usr/lib/systemd/user/x.service",
            "/etc",
            "/x",
            "/usr/bin",
            "/run/x",
        ] {
            assert!(reserved(bad, p).is_some(), "{bad}");
        }
        for ok in [
            "/etc/xdg/pulse/x.conf",
            "/usr/bin/x",
            "/opt/x/y",
            "/etc/x.conf",
        ] {
            assert!(reserved(ok, p).is_none(), "{ok}");
        }
    }
}
