//! The closed sets of words and the limits of recipe fields, defined once: the JSON
//! Schema (`schema.rs`, through `#[schemars(extend(...))]`) and the validator both read
//! these tables, so `unitpack schema` and `unitpack build` cannot drift apart
//! (tests/schema_agreement.rs runs both over every recipe of the tests).

use super::model::{HelperRelation, OnUpgrade};
use crate::profile::Compression;
use crate::unit::{Enablement, Scope};

/// The words a field takes and what each means, in the order the schema lists them.
pub struct Words<T: 'static>(pub &'static [(&'static str, T)]);

impl<T: Copy> Words<T> {
    /// The meaning of `word`, if it is one of the set.
    pub fn parse(&self, word: &str) -> Option<T> {
        self.0.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
    }

    /// The words, for the schema's `enum` and for error messages.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|(w, _)| *w).collect()
    }
}

/// `scope:` of units, drop-ins and `enable_units:`.
pub const SCOPE: Words<Scope> = Words(&[("user", Scope::User), ("system", Scope::System)]);

const ENABLEMENTS: &[(&str, Enablement)] = &[
    ("global", Enablement::Global),
    ("enable", Enablement::Enable),
    ("enable-and-start", Enablement::EnableAndStart),
    ("none", Enablement::None),
];

/// `enable:` of a unit of the recipe.
pub const ENABLE: Words<Enablement> = Words(ENABLEMENTS);

/// `enable:` of `enable_units:` (enabling is the point of the entry: no `none`).
pub const ENABLE_OTHER: Words<Enablement> = Words(ENABLEMENTS.split_at(3).0);

/// `compression:` (which of them a target's dpkg reads is the profile's business).
pub const COMPRESSION: Words<Compression> =
    Words(&[("xz", Compression::Xz), ("gzip", Compression::Gzip)]);

/// `helper:`.
pub const HELPER: Words<HelperRelation> = Words(&[
    ("depends", HelperRelation::Depends),
    ("recommends", HelperRelation::Recommends),
    ("none", HelperRelation::None),
]);

/// `on_upgrade:`.
pub const ON_UPGRADE: Words<OnUpgrade> = Words(&[
    ("restart", OnUpgrade::Restart),
    ("no-restart", OnUpgrade::NoRestart),
    ("no-stop", OnUpgrade::NoStop),
]);

/// `follow:`.
pub const FOLLOW: Words<()> = Words(&[(crate::follow::SEAT, ())]);

/// `package.summary`: the Description synopsis, in characters (JSON Schema's
/// `maxLength` counts characters too).
pub const SUMMARY_MAX_CHARS: usize = 80;

/// `package.description`, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 64 * 1024;

/// `package.epoch`: dpkg's limit, 2^31 - 1.
pub const EPOCH_MAX: u32 = i32::MAX as u32;

/// `package.name`, as a JSON Schema pattern: Debian Policy 5.6.1's alphabet, from the
/// same character classes as the validator's check (`names::check_debian_package_name`).
pub fn package_name_pattern() -> String {
    crate::names::debian_name_pattern()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_their_names_and_nothing_else() {
        for word in SCOPE.names() {
            assert!(SCOPE.parse(word).is_some());
        }
        assert_eq!(
            ENABLE_OTHER.names(),
            ["global", "enable", "enable-and-start"]
        );
        assert_eq!(ENABLE.parse("none"), Some(Enablement::None));
        assert_eq!(ENABLE_OTHER.parse("none"), None);
        assert_eq!(SCOPE.parse("User"), None);
        // Profiles name their compressions in the same words.
        for (word, c) in COMPRESSION.0 {
            assert_eq!(c.name(), *word);
        }
    }
}
