//! The validated recipe: what every output reads (through the plan).

use super::layout;
use super::spans::SpanIndex;
use crate::error::Location;
use crate::profile::{Compression, Profile};
use crate::unit::{Enablement, Scope, Section, Unit, UnitName};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Recipe {
    /// The recipe file, as given.
    pub path: PathBuf,
    pub package: Package,
    pub profile: &'static Profile,
    pub strict: bool,
    pub compression: Compression,
    pub helper: HelperRelation,
    pub units: Vec<Unit>,
    /// User units with `follow: seat`; each has its follower among `units`.
    pub follow_seat: Vec<UnitName>,
    pub assets: Vec<Asset>,
    pub dropins: Vec<DropIn>,
    /// Units of other packages that this package enables.
    pub other_units: Vec<OtherUnit>,
    pub yocto: YoctoSettings,
    /// Lint settings of the units, by unit recipe path (`units[0]`).
    pub unit_lint: BTreeMap<String, UnitLint>,
    /// The recipe-wide `allow:` list (every unit and drop-in).
    pub allow: Vec<Allow>,
    /// The author's maintainer-script snippets.
    pub snippets: Vec<Snippet>,
    /// `on_upgrade:` of the units that set it, by unit recipe path (`units[0]`).
    pub on_upgrade: BTreeMap<String, OnUpgrade>,
    pub spans: SpanIndex,
}

/// What a package upgrade does to a started system unit (`on_upgrade:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnUpgrade {
    /// Restarted by the new postinst (debhelper's default since compat 10).
    #[default]
    Restart,
    /// Stopped by the old prerm, started by the new postinst
    /// (`--no-restart-after-upgrade`).
    NoRestart,
    /// Left running; the postinst starts it if it is not (`--no-stop-on-upgrade`).
    NoStop,
}

/// How a package relates to the helper package `unitpack-check`, which its postinst
/// runs when it is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperRelation {
    Depends,
    Recommends,
    None,
}

/// A unit's `allow:` list and `foreground:` flag.
#[derive(Debug, Clone, Default)]
pub struct UnitLint {
    pub allow: Vec<Allow>,
    pub foreground: Option<bool>,
}

/// A lint code that a unit may trigger, and why.
#[derive(Debug, Clone)]
pub struct Allow {
    pub code: String,
    pub reason: String,
    pub location: Option<Location>,
}

/// The recipe's `yocto:` block.
#[derive(Debug, Clone, Default)]
pub struct YoctoSettings {
    /// Debian package name → OpenEmbedded package name, or None to leave it out; in
    /// the order written.
    pub packages: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: Version,
    pub maintainer: String,
    pub summary: String,
    /// Extended description, as paragraphs of text (no Debian formatting yet).
    pub description: String,
    pub license: String,
    /// Copyright notice for debian/copyright; None: the year of the build and the
    /// maintainer.
    pub copyright: Option<String>,
    pub homepage: Option<String>,
    pub section: String,
    pub priority: String,
    pub architecture: String,
    pub relations: Relations,
}

#[derive(Debug, Clone, Default)]
pub struct Relations {
    pub depends: Vec<String>,
    pub recommends: Vec<String>,
    pub suggests: Vec<String>,
    pub conflicts: Vec<String>,
    pub breaks: Vec<String>,
    pub replaces: Vec<String>,
    pub provides: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub epoch: Option<u32>,
    pub upstream: String,
    pub revision: Option<String>,
}

impl Version {
    /// `[epoch:]upstream[-revision]`, as in the control file.
    pub fn full(&self) -> String {
        let mut s = String::new();
        if let Some(e) = self.epoch {
            s.push_str(&format!("{e}:"));
        }
        s.push_str(&self.upstream);
        if let Some(r) = &self.revision {
            s.push('-');
            s.push_str(r);
        }
        s
    }

    /// The version in file names: without the epoch (dpkg-deb's convention).
    pub fn for_filename(&self) -> String {
        match &self.revision {
            Some(r) => format!("{}-{}", self.upstream, r),
            None => self.upstream.clone(),
        }
    }
}

/// A drop-in: `UNIT.d/NAME` in the scope's vendor unit directory, changing a unit
/// that this package or another ships.
#[derive(Debug, Clone)]
pub struct DropIn {
    pub unit: UnitName,
    pub scope: Scope,
    /// File name, ending in `.conf`.
    pub name: String,
    pub sections: Vec<Section>,
    /// The file as installed.
    pub text: String,
    /// try-restart the unit when the drop-in comes or goes (system scope).
    pub restart: bool,
    /// Dotted recipe path (`dropins[0]`), to locate diagnostics.
    pub recipe_path: String,
}

/// A unit another package ships, enabled (and maybe started) by this package.
#[derive(Debug, Clone)]
pub struct OtherUnit {
    pub unit: UnitName,
    pub scope: Scope,
    pub enable: Enablement,
}

/// The author's code for one maintainer script, from a file beside the recipe.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// `postinst`, `prerm` or `postrm`.
    pub script: &'static str,
    pub source: PathBuf,
    pub text: String,
    /// The recipe field (`scripts.postinst`).
    pub field: String,
}

/// One file to install from the recipe's directory.
#[derive(Debug, Clone)]
pub struct Asset {
    pub source: PathBuf,
    /// Absolute, normalized destination.
    pub dest: String,
    pub mode: u32,
    pub conffile: bool,
    /// The recipe item it comes from (`assets[0]`), for errors.
    pub field: String,
    /// Its ELF facts when it is machine code, read once when the recipe loads.
    pub elf: Option<crate::elf::Elf>,
}

impl Recipe {
    pub fn units_in(&self, scope: Scope) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(move |u| u.scope == scope)
    }

    /// Installed path of a unit's file.
    pub fn unit_path(&self, unit: &Unit) -> String {
        format!("{}/{}", self.profile.unit_dir(unit.scope), unit.name)
    }

    /// Installed path of a drop-in.
    pub fn dropin_path(&self, d: &DropIn) -> String {
        dropin_path(self.profile, d)
    }

    pub fn enable_links(&self, unit: &Unit) -> Vec<(String, String)> {
        unit.enable_links(
            self.profile.unit_dir(unit.scope),
            self.profile.enable_dir(unit.scope),
        )
    }

    pub fn locate(&self, path: &str) -> Option<Location> {
        self.spans.locate(path)
    }

    /// Every file the package installs, generated ones included, with the field each
    /// comes from.
    pub fn installed(&self) -> Vec<layout::Installed> {
        installed(
            self.profile,
            &self.package,
            &self.units,
            &self.assets,
            &self.dropins,
        )
    }
}

pub(super) fn installed(
    profile: &Profile,
    package: &Package,
    units: &[Unit],
    assets: &[Asset],
    dropins: &[DropIn],
) -> Vec<layout::Installed> {
    let mut out: Vec<layout::Installed> =
        layout::generated(&package.name, package.version.revision.is_some())
            .into_iter()
            .map(|path| layout::Installed {
                path,
                field: "package.name".into(),
            })
            .collect();
    out.extend(units.iter().map(|u| layout::Installed {
        path: format!("{}/{}", profile.unit_dir(u.scope), u.name),
        field: u.recipe_path.clone(),
    }));
    out.extend(assets.iter().map(|a| layout::Installed {
        path: a.dest.clone(),
        field: a.field.clone(),
    }));
    out.extend(dropins.iter().map(|d| layout::Installed {
        path: dropin_path(profile, d),
        field: d.recipe_path.clone(),
    }));
    out
}

pub(super) fn dropin_path(profile: &Profile, d: &DropIn) -> String {
    format!("{}/{}.d/{}", profile.unit_dir(d.scope), d.unit, d.name)
}
