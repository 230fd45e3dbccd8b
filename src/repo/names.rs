//! The names that become paths and words of a repository: package names, versions,
//! architectures, suites and components, pool file names and hashes. Whatever their
//! origin (the command line, an uploaded `.deb`, an index read back), they pass here
//! before a path is built from them.

/// A suite or component: a path component and a word of `Release`.
pub fn word(value: &str, what: &str) -> Result<(), String> {
    let ok = value.len() <= 100
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a {what} name (up to 100 letters, digits, `.`, `_`, `-`, \
             starting with a letter or digit)"
        ))
    }
}

/// A Debian architecture (`amd64`, `armhf`, `linux-any` is not one: no wildcards).
pub fn architecture(arch: &str) -> Result<(), String> {
    let ok = arch.len() <= 64
        && arch.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && arch
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !matches!(arch, "all" | "any" | "source");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{arch:?} is not a Debian architecture name such as amd64 or armhf"
        ))
    }
}

/// A package's architecture: a Debian architecture or `all`.
pub fn package_architecture(arch: &str) -> Result<(), String> {
    if arch == "all" {
        Ok(())
    } else {
        architecture(arch)
    }
}

/// Policy 5.6.1 (and 5.6.7 for Source): at least two characters, lower-case letters,
/// digits, `+`, `-`, `.`, starting with a letter or digit.
pub fn package(name: &str) -> Result<(), String> {
    let ok = (2..=200).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a package name (Policy 5.6.1)"))
    }
}

/// Policy 5.6.12: `[epoch:]upstream[-revision]`, the epoch a number, the upstream
/// version starting with a digit (`A-Za-z0-9.+~-` and, with an epoch, `:`), the
/// revision `A-Za-z0-9+.~`.
pub fn version(v: &str) -> Result<(), String> {
    let bad = || Err(format!("{v:?} is not a Debian version (Policy 5.6.12)"));
    if v.is_empty() || v.len() > 200 {
        return bad();
    }
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) => (Some(e), r),
        None => (None, v),
    };
    if epoch.is_some_and(|e| e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit())) {
        return bad();
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    let upstream_ok = upstream.starts_with(|c: char| c.is_ascii_digit())
        && upstream.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || ".+~".contains(c)
                || (c == '-' && revision.is_some())
                || (c == ':' && epoch.is_some())
        });
    let revision_ok = revision.is_none_or(|r| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.~".contains(c))
    });
    if upstream_ok && revision_ok {
        Ok(())
    } else {
        bad()
    }
}

/// Lower-case hex of `len` digits.
pub fn hex_digest(value: &str, len: usize) -> Result<(), String> {
    if value.len() == len
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(format!("{value:?} is not {len} lower-case hex digits"))
    }
}

/// A `Filename:` read back from an index: `pool/COMPONENT/…` with plain components
/// (no `..`, no empty or dot component) ending in `.deb`.
pub fn pool_filename(path: &str) -> Result<(), String> {
    let parts: Vec<&str> = path.split('/').collect();
    let ok = parts.len() >= 3
        && parts[0] == "pool"
        && path.ends_with(".deb")
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.~_-%".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{path:?} is not a pool path (pool/COMPONENT/…/NAME.deb, plain components)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_policy_has_them() {
        for good in ["1", "1.0-1", "1:2.3~rc1-0ubuntu1+b2", "2:1-2-3", "0.1.0"] {
            assert!(version(good).is_ok(), "{good}");
        }
        for bad in [
            "", "a1", "1.0-", ":1", "x:1", "1:", "1_0", "1.0/2", "1 0", "1-a:b",
        ] {
            assert!(version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pool_paths_stay_in_the_pool() {
        assert!(pool_filename("pool/main/a/a/a_1_all.deb").is_ok());
        for bad in [
            "pool/../../etc/x.deb",
            "pool/main/./x.deb",
            "/pool/main/x.deb",
            "pool//x.deb",
            "dists/x.deb",
            "pool/main/x",
        ] {
            assert!(pool_filename(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn words_and_architectures() {
        assert!(word("main", "component").is_ok());
        for bad in ["", "../x", "a b", ".x", "a/b"] {
            assert!(word(bad, "component").is_err(), "{bad}");
        }
        assert!(architecture("armhf").is_ok());
        assert!(architecture("all").is_err());
        assert!(package_architecture("all").is_ok());
        assert!(package("a").is_err());
        assert!(package("unitpack-check").is_ok());
    }
}
