//! Package names as Debian and OpenEmbedded accept them. At the bottom of the crate:
//! the recipe's validator checks a name against every format before any format runs.

/// Debian Policy 5.6.1's alphabet, which OpenEmbedded's package names share: lower
/// case letters, digits, `+ - .`; at least two characters, starting with an alphanumeric.
fn debian_alphabet(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
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
