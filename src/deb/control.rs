//! The control file of a binary package.

use crate::recipe::Package;

/// Fold free text into an extended Description: lines start with a space, blank lines
/// become ` .`, long lines are wrapped at 79 columns; indented lines (verbatim text)
/// are kept as they are.
pub fn extended_description(text: &str) -> String {
    let mut out = String::new();
    let mut blank_pending = false;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_pending = true;
            continue;
        }
        if blank_pending && !out.is_empty() {
            out.push_str(" .\n");
        }
        blank_pending = false;
        if line.starts_with([' ', '\t']) {
            out.push(' ');
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut current = String::new();
        for word in line.split_whitespace() {
            if !current.is_empty() && current.len() + 1 + word.len() > 78 {
                out.push_str(&format!(" {current}\n"));
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        if !current.is_empty() {
            out.push_str(&format!(" {current}\n"));
        }
    }
    out
}

pub fn control(
    package: &Package,
    depends: &[String],
    recommends: &[String],
    installed_size_kib: u64,
) -> String {
    let r = &package.relations;
    let mut fields: Vec<(&str, String)> = vec![
        ("Package", package.name.clone()),
        ("Version", package.version.full()),
        ("Architecture", package.architecture.clone()),
        ("Maintainer", package.maintainer.clone()),
        ("Installed-Size", installed_size_kib.to_string()),
    ];
    for (name, list) in [
        ("Depends", depends),
        ("Recommends", recommends),
        ("Suggests", r.suggests.as_slice()),
        ("Breaks", r.breaks.as_slice()),
        ("Conflicts", r.conflicts.as_slice()),
        ("Replaces", r.replaces.as_slice()),
        ("Provides", r.provides.as_slice()),
    ] {
        if !list.is_empty() {
            fields.push((name, list.join(", ")));
        }
    }
    fields.push(("Section", package.section.clone()));
    fields.push(("Priority", package.priority.clone()));
    if let Some(h) = &package.homepage {
        fields.push(("Homepage", h.clone()));
    }
    let mut out = String::new();
    for (k, v) in fields {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push_str(&format!("Description: {}\n", package.summary));
    out.push_str(&extended_description(&package.description));
    out
}

/// Fields `control` writes, in order.
const FIELDS: &[&str] = &[
    "Package",
    "Version",
    "Architecture",
    "Maintainer",
    "Installed-Size",
    "Depends",
    "Recommends",
    "Suggests",
    "Breaks",
    "Conflicts",
    "Replaces",
    "Provides",
    "Section",
    "Priority",
    "Homepage",
    "Description",
];

/// Check a control file as written: every line a `Field: value` of a field `control`
/// writes, each once, or a continuation line of the Description; no empty line (it
/// would end the paragraph) and no control character or Unicode separator anywhere.
/// On failure: the field at fault and why.
pub fn check(text: &str) -> Result<(), (String, String)> {
    let Some(body) = text.strip_suffix('\n') else {
        return Err((
            "Description".into(),
            "the file does not end with a newline".into(),
        ));
    };
    let mut seen: Vec<&str> = Vec::new();
    for line in body.split('\n') {
        let current = seen.last().copied().unwrap_or("Package");
        if let Some(c) = line.chars().find(|&c| crate::recipe::forbidden_char(c)) {
            return Err((current.into(), format!("a value contains {c:?}")));
        }
        if line.is_empty() {
            return Err((current.into(), "a value contains an empty line".into()));
        }
        if line.starts_with(' ') {
            if current != "Description" || line.trim().is_empty() {
                return Err((
                    current.into(),
                    format!("unexpected continuation line {line:?}"),
                ));
            }
            continue;
        }
        let (name, value) = line
            .split_once(": ")
            .ok_or_else(|| (current.to_string(), format!("line {line:?} is not a field")))?;
        let Some(&name) = FIELDS.iter().find(|f| **f == name) else {
            return Err((
                current.into(),
                format!("line {line:?} is not a field unitpack writes"),
            ));
        };
        if seen.contains(&name) {
            return Err((name.into(), format!("field {name} appears twice")));
        }
        if value.trim().is_empty() || value.trim() != value {
            return Err((name.into(), format!("{name} has an empty or padded value")));
        }
        seen.push(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_smuggled_fields() {
        let good = "Package: a\nVersion: 1\nDescription: x\n y\n .\n z\n";
        assert!(check(good).is_ok());
        for bad in [
            "Package: a\nPre-Depends: evil\nDescription: x\n",
            "Package: a\nPackage: b\nDescription: x\n",
            "Package: a\r\nDescription: x\n",
            "Package: a\nMaintainer: J\u{1b} <a@b>\nDescription: x\n",
            "Package: a\nDescription: x\n\nPackage: b\n",
            "Package: a\nDescription: x",
            "Package: a\n y\nDescription: x\n",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn folding() {
        let text = "First paragraph that is rather long and goes on and on until it must be wrapped at the margin.\n\nSecond.\n  verbatim  line\n";
        let d = extended_description(text);
        assert_eq!(
            d,
            " First paragraph that is rather long and goes on and on until it must be\n wrapped at the margin.\n .\n Second.\n   verbatim  line\n"
        );
        assert!(d.lines().all(|l| l.len() <= 80));
        assert_eq!(extended_description(""), "");
    }
}
