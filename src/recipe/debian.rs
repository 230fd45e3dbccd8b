//! Checks of Debian control-field values (package names, versions, relations).
//! Each returns a message for the user, never panics.

pub use crate::names::check_debian_package_name as check_package_name;

/// Upstream part of a version (Policy 5.6.12). `with_revision` allows hyphens.
pub fn check_upstream_version(v: &str, with_revision: bool) -> Result<(), String> {
    if !v.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("version {v:?} must start with a digit"));
    }
    if let Some(bad) = v.chars().find(|&c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~') || (c == '-' && with_revision))
    }) {
        return Err(format!(
            "version {v:?} contains {bad:?}; allowed are letters, digits and '.+~'{}",
            if with_revision {
                " and '-'"
            } else {
                " (a hyphen needs a revision)"
            }
        ));
    }
    Ok(())
}

pub fn check_revision(r: &str) -> Result<(), String> {
    if r.is_empty()
        || r.chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~')))
    {
        return Err(format!(
            "revision {r:?} may only contain letters, digits and '.+~'"
        ));
    }
    Ok(())
}

/// A version inside a relation, `[epoch:]upstream[-revision]`.
fn check_full_version(v: &str) -> Result<(), String> {
    let rest = match v.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.chars().all(|c| c.is_ascii_digit()) => {
            rest
        }
        Some(_) => return Err(format!("version {v:?} has a bad epoch")),
        None => v,
    };
    match rest.rsplit_once('-') {
        Some((up, rev)) => check_upstream_version(up, true).and(check_revision(rev)),
        None => check_upstream_version(rest, false),
    }
}

/// Characters no text field may hold: control characters (NUL, CR, TAB, VT, ESC, …,
/// which end or corrupt a control-file line or hide text), Unicode line and paragraph
/// separators, bidirectional overrides and the BOM (they make text read differently
/// from what it is).
pub fn forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}'
        )
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Longest one-line text field (maintainer, copyright, homepage, a relation).
pub const MAX_LINE: usize = 1000;

/// One line of text for a control file, changelog, copyright file or `.bb`: not empty,
/// no [`forbidden_char`], at most [`MAX_LINE`] bytes.
pub fn check_line(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = text.chars().find(|&c| forbidden_char(c)) {
        return Err(format!(
            "must be a single line without control characters or Unicode separators (found {c:?})"
        ));
    }
    if text.len() > MAX_LINE {
        return Err(format!("must be at most {MAX_LINE} bytes"));
    }
    Ok(())
}

/// One relation field entry, `pkg [(op ver)] [| alt …]`, optionally `pkg:any`, parsed and written again from its parts (`a (>= 1) | b`): what reaches
/// the control file is made from checked names, operators and versions, never the
/// author's bytes, so no whitespace or line break of the input survives.
pub fn normalize_relation(rel: &str) -> Result<String, String> {
    if rel.trim().is_empty() {
        return Err("empty relation".into());
    }
    check_line(rel).map_err(|e| format!("relation {rel:?} {e}"))?;
    let mut alternatives = Vec::new();
    if rel.contains(',') {
        return Err(format!(
            "{rel:?}: write one relation per list item instead of joining with ','"
        ));
    }
    for alt in rel.split('|') {
        let alt = alt.trim();
        let (name, constraint) = match alt.split_once('(') {
            Some((n, c)) => (n.trim(), Some(c)),
            None => (alt, None),
        };
        let bare = name.strip_suffix(":any").unwrap_or(name);
        check_package_name(bare).map_err(|e| format!("in relation {rel:?}: {e}"))?;
        let mut out = name.to_string();
        if let Some(c) = constraint {
            let c = c
                .strip_suffix(')')
                .ok_or_else(|| format!("in relation {rel:?}: missing ')'"))?
                .trim();
            let op = ["<<", "<=", ">=", ">>", "="]
                .into_iter()
                .find(|op| c.starts_with(op))
                .ok_or_else(|| {
                    format!("in relation {rel:?}: operator must be one of << <= = >= >>")
                })?;
            let version = c[op.len()..].trim();
            check_full_version(version).map_err(|e| format!("in relation {rel:?}: {e}"))?;
            out.push_str(&format!(" ({op} {version})"));
        }
        alternatives.push(out);
    }
    Ok(alternatives.join(" | "))
}

/// `Name <address>` as Policy 5.6.2 wants it.
pub fn check_maintainer(m: &str) -> Result<(), String> {
    check_line(m).map_err(|e| format!("maintainer {m:?} {e}"))?;
    let ok = match (m.find('<'), m.rfind('>')) {
        (Some(lt), Some(gt)) => {
            lt > 0 && gt == m.len() - 1 && m[lt + 1..gt].contains('@') && !m[..lt].trim().is_empty()
        }
        _ => false,
    };
    if ok && !m.contains(',') {
        Ok(())
    } else {
        Err(format!(
            "maintainer {m:?} must look like \"Full Name <address@example.org>\""
        ))
    }
}

pub const PRIORITIES: &[&str] = &["required", "important", "standard", "optional", "extra"];

pub fn check_section(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '/'))
    {
        Ok(())
    } else {
        Err(format!(
            "section {s:?} must be lower-case letters, digits, '-' and '/' (e.g. \"sound\")"
        ))
    }
}

pub fn check_architecture(a: &str) -> Result<(), String> {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Ok(())
    } else {
        Err(format!(
            "architecture {a:?} is not a Debian architecture name (e.g. all, armhf, amd64)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_package_name("my-pulseaudio-user").is_ok());
        assert!(check_package_name("libc6.1+x").is_ok());
        for bad in ["A", "a", "Foo", "-x", "x_y", "x y", "x;rm"] {
            assert!(check_package_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_and_relations() {
        assert!(check_upstream_version("1.0.0~rc1+git2", false).is_ok());
        assert!(check_upstream_version("1.0-2", false).is_err());
        assert!(check_upstream_version("v1", false).is_err());
        assert!(check_revision("1ubuntu1").is_ok());
        assert!(check_revision("1-2").is_err());
        for ok in [
            "pulseaudio",
            "dbus (>= 1.10)",
            "aa | bb (<< 2:1.0-1)",
            "python3:any",
        ] {
            assert!(normalize_relation(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a, b", "Pulse", "a (~ 1)", "a (>= 1", "a (>= x)", "a $(x)",
        ] {
            assert!(normalize_relation(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn maintainer() {
        assert!(check_maintainer("Jane Doe <jane@example.org>").is_ok());
        for bad in [
            "jane@example.org",
            "<jane@example.org>",
            "Jane <jane>",
            "J <a@b> x",
            "J\r <a@b>",
            "J\t <a@b>",
            "J\u{1b}[31m <a@b>",
            "J\0 <a@b>",
        ] {
            assert!(check_maintainer(bad).is_err(), "{bad}");
        }
    }
}
