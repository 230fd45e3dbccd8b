//! Target profiles: what a target distribution's systemd and dpkg accept.
//!
//! Profiles are data (`profiles/*.yaml`, embedded at build time). Renderers ask the
//! profile for paths and capabilities instead of testing a target's name.

use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    Xz,
    Gzip,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Compression::Xz => "xz",
            Compression::Gzip => "gz",
        }
    }
}

/// Which distribution family a profile targets: Debian and Ubuntu take `.deb` packages
/// from `unitpack build`, Yocto releases take the layer from `unitpack yocto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Debian,
    Ubuntu,
    Yocto,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub family: Family,
    /// systemd release of the target (e.g. 229).
    pub systemd: u32,
    pub system_unit_dir: String,
    pub user_unit_dir: String,
    /// What `unitpack build` needs to know of the target's packaging tools.
    pub deb: DebTarget,
    /// Package that provides a user-scope D-Bus (`dbus.socket` for the user manager).
    pub user_bus_package: String,
    /// Units that the target's own packages ship and enable, when installed.
    pub vendor_units: Vec<VendorUnit>,
}

/// The target's dpkg and init-system-helpers, for the `.deb` writer and its scripts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebTarget {
    /// Compressions the target's dpkg reads, in order of preference.
    pub compressions: Vec<Compression>,
    pub default_compression: Compression,
    /// `deb-systemd-helper --user` exists (init-system-helpers >= 1.52).
    pub deb_systemd_helper_user: bool,
}

/// A unit of the target distribution that starts a daemon a recipe may start too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorUnit {
    pub unit: String,
    #[serde(deserialize_with = "scope_by_name")]
    pub scope: crate::unit::Scope,
    /// Program file names that compete with it (for the same socket, device or PID file).
    pub programs: Vec<String>,
}

/// (name, YAML): the name is the file's, and the `name:` inside it (checked by a test).
/// Debian and Ubuntu releases; the Yocto ones follow ([`YOCTO_SOURCES`]).
const DEB_SOURCES: &[(&str, &str)] = &[
    (
        "ubuntu-xenial",
        include_str!("../profiles/ubuntu-xenial.yaml"),
    ),
    (
        "ubuntu-bionic",
        include_str!("../profiles/ubuntu-bionic.yaml"),
    ),
    (
        "ubuntu-focal",
        include_str!("../profiles/ubuntu-focal.yaml"),
    ),
    (
        "ubuntu-jammy",
        include_str!("../profiles/ubuntu-jammy.yaml"),
    ),
    (
        "ubuntu-noble",
        include_str!("../profiles/ubuntu-noble.yaml"),
    ),
    (
        "debian-buster",
        include_str!("../profiles/debian-buster.yaml"),
    ),
    (
        "debian-bullseye",
        include_str!("../profiles/debian-bullseye.yaml"),
    ),
    (
        "debian-bookworm",
        include_str!("../profiles/debian-bookworm.yaml"),
    ),
    (
        "debian-trixie",
        include_str!("../profiles/debian-trixie.yaml"),
    ),
];

/// Every `profiles/yocto-*.yaml`, listed by build.rs in name order, which is release
/// order (Yocto's code names are alphabetical from kirkstone on), so the oldest is
/// first (the layer is rendered for it, see yocto::layer_profile). A Yocto release is
/// added by its profile file alone.
const YOCTO_SOURCES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/yocto_profiles.rs"));

const COUNT: usize = DEB_SOURCES.len() + YOCTO_SOURCES.len();

fn sources() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    DEB_SOURCES.iter().chain(YOCTO_SOURCES)
}

/// The default profile of a recipe that names none.
pub const DEFAULT_PROFILE: &str = "ubuntu-xenial";

pub fn all() -> &'static [Profile] {
    static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();
    PROFILES.get_or_init(|| sources().map(|(_, src)| parse(src)).collect())
}

fn parse(src: &str) -> Profile {
    serde_yaml::from_str(src).expect("embedded profile is valid YAML")
}

/// The profile called `name`; only that one is parsed (parsing all of them is a
/// sixth of a small build).
pub fn find(name: &str) -> Option<&'static Profile> {
    static PARSED: [OnceLock<Profile>; COUNT] = [const { OnceLock::new() }; COUNT];
    let (i, (_, src)) = sources().enumerate().find(|(_, (n, _))| *n == name)?;
    Some(PARSED[i].get_or_init(|| parse(src)))
}

pub fn names() -> Vec<&'static str> {
    all().iter().map(|p| p.name.as_str()).collect()
}

impl Profile {
    pub fn unit_dir(&self, scope: crate::unit::Scope) -> &str {
        match scope {
            crate::unit::Scope::User => &self.user_unit_dir,
            crate::unit::Scope::System => &self.system_unit_dir,
        }
    }

    /// Where enable symlinks of a scope live (`systemctl [--global] enable`).
    pub fn enable_dir(&self, scope: crate::unit::Scope) -> &'static str {
        match scope {
            crate::unit::Scope::User => "/etc/systemd/user",
            crate::unit::Scope::System => "/etc/systemd/system",
        }
    }

    pub fn supports(&self, compression: Compression) -> bool {
        self.deb.compressions.contains(&compression)
    }
}

/// A scope in profile data, by its name (`user`, `system`).
fn scope_by_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<crate::unit::Scope, D::Error> {
    let name = String::deserialize(d)?;
    crate::unit::Scope::from_name(&name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown scope {name:?} (user or system)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profiles_parse_and_are_unique() {
        let names = names();
        assert!(names.contains(&"ubuntu-xenial"));
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for ((file, _), p) in sources().zip(all()) {
            assert_eq!(*file, p.name);
            assert_eq!(find(file).unwrap().name, p.name);
            assert!(p.supports(p.deb.default_compression), "{}", p.name);
        }
    }

    #[test]
    fn xenial_facts() {
        let p = find("ubuntu-xenial").unwrap();
        assert_eq!(p.systemd, 229);
        assert!(!p.deb.deb_systemd_helper_user);
        assert_eq!(p.user_unit_dir, "/usr/lib/systemd/user");
    }
}
