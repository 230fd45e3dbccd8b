//! Checks of the recipe as written, turning the raw schema into the model. Every
//! problem found is collected (all of them are reported at once), each pinned to its
//! field and position.

mod assets;
mod package;
mod units;

use super::model::installed;
use super::schema::RawYocto;
use super::spans::{child, item, SpanIndex};
use super::vocabulary::{COMPRESSION, HELPER};
use super::{debian, layout, Asset, DropIn, HelperRelation, Package, YoctoSettings};
use crate::error::InputError;
use crate::profile::{self, Compression, Profile};
use crate::unit::Unit;
#[cfg(test)]
pub(super) use assets::check_dest;
use std::collections::BTreeSet;
use std::path::Path;

pub(super) struct Validator<'a> {
    pub(super) file: &'a Path,
    pub(super) spans: &'a SpanIndex,
    pub(super) errors: Vec<InputError>,
}

impl Validator<'_> {
    pub(in crate::recipe) fn error(&mut self, field: &str, message: impl Into<String>) {
        let location = self.spans.locate(field);
        self.errors
            .push(InputError::new(self.file, location, field, message));
    }

    /// An error that is also the lint rule `code`.
    pub(in crate::recipe) fn error_code(
        &mut self,
        field: &str,
        code: crate::codes::Code,
        message: impl Into<String>,
    ) {
        let location = self.spans.locate(field);
        self.errors
            .push(InputError::new(self.file, location, field, message).with_code(code));
    }

    pub(in crate::recipe) fn check(
        &mut self,
        field: &str,
        result: std::result::Result<(), String>,
    ) -> bool {
        match result {
            Ok(()) => true,
            Err(m) => {
                self.error(field, m);
                false
            }
        }
    }

    /// A one-line text value (see `debian::check_line`).
    pub(in crate::recipe) fn one_line(&mut self, field: &str, value: &str) -> bool {
        self.check(field, debian::check_line(value))
    }

    pub(in crate::recipe) fn target_profile(
        &mut self,
        name: Option<&str>,
    ) -> Option<&'static Profile> {
        let name = name.unwrap_or(profile::DEFAULT_PROFILE);
        let found = profile::find(name);
        if found.is_none() {
            self.error(
                "target",
                format!(
                    "unknown target profile {name:?}; known: {}",
                    profile::names().join(", ")
                ),
            );
        }
        found
    }

    /// The compression of the `.deb`: the recipe's, if the target's dpkg reads it.
    pub(in crate::recipe) fn compression(
        &mut self,
        name: Option<&str>,
        profile: Option<&Profile>,
    ) -> Option<Compression> {
        let p = profile?;
        let Some(name) = name else {
            return Some(p.deb.default_compression);
        };
        let found = COMPRESSION
            .parse(name)
            .filter(|c| p.deb.compressions.contains(c));
        if found.is_none() {
            let known: Vec<_> = p.deb.compressions.iter().map(|c| c.name()).collect();
            self.error(
                "compression",
                format!(
                    "{name:?} is not readable by {}'s dpkg; use one of: {}",
                    p.name,
                    known.join(", ")
                ),
            );
        }
        found
    }

    /// `helper:`, or by default a dependency when the package has units to check.
    pub(in crate::recipe) fn helper_relation(
        &mut self,
        raw: Option<&str>,
        nothing_to_check: bool,
    ) -> HelperRelation {
        match raw {
            None if nothing_to_check => HelperRelation::None,
            None => HelperRelation::Depends,
            Some(s) => HELPER.parse(s).unwrap_or_else(|| {
                self.error(
                    "helper",
                    format!(
                        "{s:?} is not a relation to unitpack-check; use one of: {}",
                        HELPER.names().join(", ")
                    ),
                );
                HelperRelation::None
            }),
        }
    }

    pub(in crate::recipe) fn yocto(&mut self, raw: &RawYocto) -> YoctoSettings {
        let mut packages = Vec::new();
        for (debian, oe) in &raw.packages {
            let field = child("yocto.packages", debian);
            let key_ok = self.check(&field, debian::check_package_name(debian));
            let value_ok = match oe {
                Some(oe) => self.check(&field, crate::names::check_oe_package_name(oe)),
                None => true,
            };
            if key_ok && value_ok {
                packages.push((debian.clone(), oe.clone()));
            }
        }
        YoctoSettings { packages }
    }

    /// Unit names are unique in their scope, counting aliases (an alias link would
    /// shadow a unit file or another alias), and no unit takes over one of the package.
    pub(in crate::recipe) fn unique_units(&mut self, units: &[Unit]) {
        let mut seen = BTreeSet::new();
        for u in units {
            if !seen.insert((u.scope, u.name.clone())) {
                self.error(
                    &u.recipe_path,
                    format!("{} {} is declared twice", u.scope.as_str(), u.name),
                );
            }
        }
        for u in units {
            for alias in &u.install.alias {
                if !seen.insert((u.scope, alias.clone())) {
                    self.error(
                        &child(&u.recipe_path, "sections.Install.Alias"),
                        format!(
                            "Alias={alias} is the name of another unit or alias of this package"
                        ),
                    );
                }
            }
        }
        for u in units {
            for (i, t) in u.takes_over.iter().enumerate() {
                if seen.contains(&(u.scope, t.clone())) {
                    self.error(
                        &item(&child(&u.recipe_path, "takes_over"), i),
                        format!(
                            "{t} is a unit (or alias) of this package; it cannot be taken over"
                        ),
                    );
                }
            }
        }
    }

    /// The package's complete file list, generated files included: nothing twice, no
    /// file where a directory is needed, no asset in a place reserved for unitpack,
    /// dpkg or systemd.
    pub(in crate::recipe) fn no_collisions(
        &mut self,
        profile: &Profile,
        package: &Package,
        units: &[Unit],
        assets: &[Asset],
        dropins: &[DropIn],
    ) {
        let mut reported = BTreeSet::new();
        for a in assets {
            if let Some(why) = layout::reserved(&a.dest, profile) {
                if reported.insert(a.field.clone()) {
                    self.error(&child(&a.field, "dest"), why);
                }
            }
        }
        let files = installed(profile, package, units, assets, dropins);
        for layout::Conflict { at, message: m, .. } in layout::conflicts(&files) {
            let field = &files[at].field;
            let field = if field.starts_with("assets[") {
                child(field, "dest")
            } else {
                field.clone()
            };
            self.error(&field, m);
        }
    }
}

/// Longest file name (one path component) of Linux file systems.
const MAX_FILE_NAME: usize = 255;
/// Longest path the kernel accepts, less the terminating NUL.
const MAX_PATH: usize = 4095;
