//! What bitbake accepts: package names and versions (they become the `NAME_VERSION.bb`
//! file name, split on `_`) and text inside a double-quoted value, which bitbake
//! cannot escape.

pub use crate::names::check_oe_package_name as check_package_name;

/// A version usable as PV: it must survive the file name (no `_`), opkg/rpm/dpkg
/// version syntax (no `-`, which separates the release; no `:`, which marks an epoch).
pub fn check_version(version: &str) -> Result<(), String> {
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("version {version:?} must start with a digit"));
    }
    if let Some(bad) = version
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~')))
    {
        return Err(format!(
            "version {version:?} contains {bad:?}, which OpenEmbedded's PV cannot hold (it would split the recipe file name or the package version); use letters, digits and '.+~', e.g. 1.0~rc1"
        ));
    }
    Ok(())
}

/// Free text for a double-quoted value (SUMMARY, DESCRIPTION): whitespace runs and
/// newlines become one space and `"` becomes `'` (bitbake has no escape for either);
/// `\` and `${` are refused because bitbake would treat them as a line continuation
/// or an expansion.
pub fn text(value: &str) -> Result<String, String> {
    if value.contains('\\') {
        return Err(
            "contains '\\', which bitbake would read as an escape or line continuation".into(),
        );
    }
    if value.contains("${") {
        return Err("contains \"${\", which bitbake would expand as a variable".into());
    }
    Ok(value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('"', "'"))
}

/// A URL for HOMEPAGE: already http(s) without spaces; additionally nothing bitbake
/// interprets.
pub fn url(value: &str) -> Result<String, String> {
    if value.contains(['"', '\\', '\'']) || value.contains("${") {
        return Err(format!(
            "{value:?} contains a quote, '\\' or \"${{\", which cannot appear in a bitbake value"
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["my-pulseaudio-user", "unitpack-check", "gtk+3", "a.b"] {
            assert!(check_package_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "My-Pkg",
            "my_pkg",
            "a",
            "-a",
            "foo-native",
            "nativesdk-foo",
            "a b",
            "a\"b",
        ] {
            assert!(check_package_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions() {
        for ok in ["1.0.0", "1.0~rc1", "2+git1", "1.0A"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in ["1.0-rc1", "1_0", "1:0", "v1", "1.0 ", ""] {
            assert!(check_version(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_values() {
        assert_eq!(text("a \"b\"\n\nc").unwrap(), "a 'b' c");
        assert!(text("${PN}").is_err());
        assert!(text("a\\").is_err());
        assert!(text("costs $5").is_ok());
        assert!(url("https://x.org/a\"b").is_err());
    }
}
