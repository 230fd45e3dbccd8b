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

#[cfg(test)]
mod tests {
    use super::*;

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
