//! Package names as Debian and OpenEmbedded accept them. At the bottom of the crate:
//! the recipe's validator checks a name against every format before any format runs.

/// Debian Policy 5.6.1's alphabet, which OpenEmbedded's package names share: the
/// characters a name may start with, and those of the rest, as inclusive ranges. The
/// check below and the recipe schema's pattern ([`debian_name_pattern`]) are both made
/// from them.
const NAME_FIRST: &[(char, char)] = &[('a', 'z'), ('0', '9')];
const NAME_REST: &[(char, char)] = &[('a', 'z'), ('0', '9'), ('+', '+'), ('.', '.'), ('-', '-')];

fn in_class(class: &[(char, char)], c: char) -> bool {
    class.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Lower case letters, digits, `+ - .`; at least two characters, starting with an
/// alphanumeric.
fn debian_alphabet(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| in_class(NAME_FIRST, c))
        && name.len() >= 2
        && chars.all(|c| in_class(NAME_REST, c))
}

/// The same alphabet as a regular expression (JSON Schema `pattern`).
pub fn debian_name_pattern() -> String {
    // A `-` of its own is literal last in a class, which is where the tables keep it.
    let class = |ranges: &[(char, char)]| -> String {
        ranges
            .iter()
            .map(|&(lo, hi)| match (lo, hi) {
                (lo, hi) if lo == hi => lo.to_string(),
                (lo, hi) => format!("{lo}-{hi}"),
            })
            .collect()
    };
    format!("^[{}][{}]+$", class(NAME_FIRST), class(NAME_REST))
}

/// A Debian package name (Policy 5.6.1).
pub fn check_debian_package_name(name: &str) -> Result<(), String> {
    let ok = debian_alphabet(name);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid Debian package name (at least 2 characters of a-z, 0-9, '+', '-', '.', starting with a letter or digit)"
        ))
    }
}

/// A recipe/package name OpenEmbedded can use: Debian's alphabet (lower case, digits,
/// `+ - .`), no `_` (it separates name and version in the file name), and none of the
/// suffixes and prefixes that bitbake gives a meaning (class variants).
pub fn check_oe_package_name(name: &str) -> Result<(), String> {
    let ok = debian_alphabet(name);
    if !ok {
        return Err(format!(
            "{name:?} is not a valid OpenEmbedded package name (at least 2 characters of a-z, 0-9, '+', '-', '.', starting with a letter or digit; no '_' or upper case)"
        ));
    }
    const SUFFIXES: &[&str] = &[
        "-native",
        "-cross",
        "-crosssdk",
        "-cross-canadian",
        "-initial",
    ];
    if let Some(s) = SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return Err(format!(
            "{name:?} ends in {s:?}, which bitbake reserves for a class variant of a recipe"
        ));
    }
    if name.starts_with("nativesdk-") {
        return Err(format!(
            "{name:?} starts with \"nativesdk-\", which bitbake reserves for SDK variants"
        ));
    }
    Ok(())
}

/// Debian name → OpenEmbedded name, for the relations a recipe writes in Debian's names:
/// the Yocto layer maps them, and lint reads them so under a Yocto profile. Packages
/// that keep their name are listed too: being in the table means someone checked that
/// OE has it.
pub const DEBIAN_TO_OE: &[(&str, &str)] = &[
    ("bash", "bash"),
    ("coreutils", "coreutils"),
    ("dbus", "dbus"),
    // OE's dbus is built with PACKAGECONFIG user-session by default and ships the user
    // bus units (dbus.socket for the user manager) in the dbus package itself.
    ("dbus-user-session", "dbus"),
    // pam_systemd is in OE's systemd package.
    ("libpam-systemd", "systemd"),
    // OE's `pulseaudio` is an empty placeholder; the daemon is in pulseaudio-server.
    ("pulseaudio", "pulseaudio-server"),
    ("systemd", "systemd"),
    ("util-linux", "util-linux"),
];

/// The OpenEmbedded package a Debian name in a recipe's relations stands for.
pub fn oe_package(debian: &str) -> Option<&'static str> {
    DEBIAN_TO_OE
        .iter()
        .find(|(d, _)| *d == debian)
        .map(|(_, oe)| *oe)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern is the check's alphabet: a lone `-` only last in its class (where it
    /// is literal), and every character of printable ASCII judged alike by both.
    #[test]
    fn pattern_and_check_share_the_alphabet() {
        assert_eq!(debian_name_pattern(), "^[a-z0-9][a-z0-9+.-]+$");
        for class in [NAME_FIRST, NAME_REST] {
            let dash = class.iter().position(|&r| r == ('-', '-'));
            assert!(dash.is_none_or(|i| i == class.len() - 1), "{class:?}");
        }
        let pattern = debian_name_pattern();
        let (first, rest) = pattern
            .strip_prefix("^[")
            .and_then(|p| p.strip_suffix("]+$"))
            .and_then(|p| p.split_once("]["))
            .unwrap();
        let matches = |class: &str, c: char| {
            let b: Vec<char> = class.chars().collect();
            let mut i = 0;
            while i < b.len() {
                if i + 2 < b.len() && b[i + 1] == '-' {
                    if (b[i]..=b[i + 2]).contains(&c) {
                        return true;
                    }
                    i += 3;
                } else {
                    if b[i] == c {
                        return true;
                    }
                    i += 1;
                }
            }
            false
        };
        for c in ' '..='~' {
            let name = format!("{c}a");
            assert_eq!(debian_alphabet(&name), matches(first, c), "{name:?}");
            let name = format!("a{c}");
            assert_eq!(debian_alphabet(&name), matches(rest, c), "{name:?}");
        }
    }
}
