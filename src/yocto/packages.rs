//! Debian package names in a recipe's relations → OpenEmbedded package names.
//!
//! A wrong name in RDEPENDS only shows up when an image fails in do_rootfs, so a name
//! neither in this table nor in the recipe's `yocto.packages` is an error here. Checked
//! against poky (scarthgap, walnascar) and openembedded-core (whinlatter).

use crate::error::InputError;
use crate::plan::Plan;
use crate::recipe::spans::item;

use crate::names::DEBIAN_TO_OE;

/// The kinds of relation that reach a bitbake recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Depends,
    Recommends,
    Conflicts,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::Depends => "package.depends",
            Kind::Recommends => "package.recommends",
            Kind::Conflicts => "package.conflicts",
        }
    }
}

/// OE names for one kind of relation of `recipe`, sorted and without duplicates.
///
/// Version constraints are dropped (Debian versions say nothing about OE's); of
/// alternatives (`a | b`) the first that maps is used, since RDEPENDS has no
/// alternatives. A conflict with a package OE does not know is dropped: it cannot be
/// installed together with this one anyway. `own` are the packages of the layer,
/// which keep their names.
pub fn map(plan: &Plan, kind: Kind, own: &[&str]) -> Result<Vec<String>, Vec<InputError>> {
    let relations = &plan.package().relations;
    let relations = match kind {
        Kind::Depends => &relations.depends,
        Kind::Recommends => &relations.recommends,
        Kind::Conflicts => &relations.conflicts,
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, relation) in relations.iter().enumerate() {
        let names: Vec<&str> = relation.split('|').map(bare_name).collect();
        let mapped = names
            .iter()
            .map(|n| lookup(plan, n, own))
            .find(Option::is_some)
            .flatten();
        match mapped {
            Some(Some(oe)) => out.push(oe),
            Some(None) => {}
            None if kind == Kind::Conflicts => {}
            None => {
                let field = item(kind.field(), i);
                errors.push(plan.refuse(
                    &field,
                    format!(
                        "no OpenEmbedded package is known for {relation:?}; add `yocto: {{packages: {{{}: OE-PACKAGE}}}}` to the recipe (or `~` to leave it out of the layer)",
                        names[0]
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `Some(Some(oe))`: mapped; `Some(None)`: dropped on purpose; `None`: unknown.
fn lookup(plan: &Plan, debian: &str, own: &[&str]) -> Option<Option<String>> {
    if let Some((_, oe)) = plan.yocto_packages().iter().find(|(d, _)| d == debian) {
        return Some(oe.clone());
    }
    if own.contains(&debian) {
        return Some(Some(debian.to_string()));
    }
    DEBIAN_TO_OE
        .iter()
        .find(|(d, _)| *d == debian)
        .map(|(_, oe)| Some(oe.to_string()))
}

/// `pulseaudio (>= 8) [amd64]` → `pulseaudio`; `foo:any` → `foo`.
fn bare_name(alternative: &str) -> &str {
    let name = alternative
        .trim()
        .split([' ', '(', '['])
        .next()
        .unwrap_or("");
    name.split(':').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names() {
        assert_eq!(bare_name(" pulseaudio (>= 8)"), "pulseaudio");
        assert_eq!(bare_name("foo:any"), "foo");
        assert_eq!(bare_name("bar [amd64]"), "bar");
    }

    #[test]
    fn table_is_sorted_valid_and_unique() {
        let keys: Vec<_> = DEBIAN_TO_OE.iter().map(|(d, _)| *d).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted);
        for (_, oe) in DEBIAN_TO_OE {
            super::super::check_package_name(oe).unwrap();
        }
    }
}
