//! The documentation stays true: every relative link of the README, CONTRIBUTING.md,
//! benches/README.md and docs/ resolves (file and `#heading`), the field table of
//! docs/recipe.md lists exactly the fields of the recipe's JSON Schema, and the README's
//! 30-second example, run as written, prints what the README shows.

mod common;

use common::repo;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The Markdown files the user documentation is made of.
fn documents() -> Vec<PathBuf> {
    let root = repo();
    let mut files: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "benches/README.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    assert!(files.len() >= 10, "only {} documents found", files.len());
    files
}

/// The text outside fenced code blocks, with inline code spans blanked (a link
/// written inside backticks is an example, not a link).
fn prose(markdown: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if fenced {
            out.push('\n');
            continue;
        }
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            }
            out.push(if in_code || c == '`' { ' ' } else { c });
        }
        out.push('\n');
    }
    out
}

/// The targets of the `[text](target)` links of `markdown`.
fn links(markdown: &str) -> Vec<String> {
    let text = prose(markdown);
    let mut found = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            found.push(rest[..end].to_string());
        }
    }
    found
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    prose(&markdown.replace('`', ""))
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let name = file.strip_prefix(repo()).unwrap().display().to_string();
            if !target.exists() {
                broken.push(format!("{name}: {link} (no such file)"));
                continue;
            }
            if let Some(fragment) = fragment {
                let is_markdown = target.extension().is_some_and(|e| e == "md");
                let known = is_markdown
                    && anchors(&std::fs::read_to_string(&target).unwrap()).contains(fragment);
                if !known {
                    broken.push(format!("{name}: {link} (no such heading)"));
                }
            }
        }
    }
    assert!(checked >= 50, "only {checked} links checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(
        slug(" The helper package unitpack-check"),
        "the-helper-package-unitpack-check"
    );
    assert_eq!(
        slug("Which design: A, B, or follow: seat"),
        "which-design-a-b-or-follow-seat"
    );
    assert_eq!(slug("Guarantees of the .deb"), "guarantees-of-the-deb");
}

/// Every field path of the schema (`units[].name`), with whether it is required.
fn schema_fields() -> BTreeSet<(String, bool)> {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/recipe.schema.json")).unwrap(),
    )
    .unwrap();
    let defs = schema["$defs"].as_object().unwrap();

    fn is_array(v: &serde_json::Value) -> bool {
        let ty = &v["type"];
        ty == "array"
            || ty
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "array"))
            || ["anyOf", "oneOf"].iter().any(|k| {
                v[*k]
                    .as_array()
                    .is_some_and(|alts| alts.iter().any(is_array))
            })
    }
    fn reference(v: &serde_json::Value) -> Option<String> {
        if let Some(r) = v["$ref"].as_str() {
            return Some(r.rsplit('/').next().unwrap().to_string());
        }
        for k in ["anyOf", "oneOf", "allOf"] {
            if let Some(found) = v[k].as_array().and_then(|a| a.iter().find_map(reference)) {
                return Some(found);
            }
        }
        v.get("items").and_then(reference)
    }
    fn walk(
        prefix: &str,
        object: &serde_json::Value,
        defs: &serde_json::Map<String, serde_json::Value>,
        out: &mut BTreeSet<(String, bool)>,
    ) {
        let required: Vec<&str> = object["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|s| s.as_str()).collect())
            .unwrap_or_default();
        for (name, value) in object["properties"].as_object().into_iter().flatten() {
            let path = format!("{prefix}{name}{}", if is_array(value) { "[]" } else { "" });
            out.insert((path.clone(), required.contains(&name.as_str())));
            if let Some(def) = reference(value).and_then(|r| defs.get(&r)) {
                walk(&format!("{path}."), def, defs, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", &schema, defs, &mut out);
    out
}

/// The rows of docs/recipe.md's "## Fields" table: field path and whether its second
/// column says `required`.
fn documented_fields() -> BTreeSet<(String, bool)> {
    let doc = std::fs::read_to_string(repo().join("docs/recipe.md")).unwrap();
    let table = doc
        .split("\n## Fields\n")
        .nth(1)
        .expect("docs/recipe.md has a section \"Fields\"")
        .split("\n## ")
        .next()
        .unwrap();
    table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|row| {
            let (field, rest) = row.split_once("` |").expect("a field cell");
            let second = rest.split(" | ").next().unwrap().trim();
            (field.to_string(), second == "required")
        })
        .collect()
}

#[test]
fn recipe_reference_lists_every_schema_field() {
    let schema = schema_fields();
    let documented = documented_fields();
    assert!(schema.len() >= 60, "only {} schema fields", schema.len());
    let missing: Vec<_> = schema.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&schema).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/recipe.md's field table differs from docs/recipe.schema.json \
         (field, required):\nmissing or different in the docs: {missing:?}\n\
         not in the schema: {extra:?}"
    );
}

/// The README's "In 30 seconds" section: the recipe, and the console block's commands
/// with the output the README shows for each.
fn thirty_seconds() -> (String, Vec<(String, String)>) {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("\n## In 30 seconds\n")
        .nth(1)
        .expect("README has a section \"In 30 seconds\"")
        .split("\n## ")
        .next()
        .unwrap();
    let block = |lang: &str| {
        section
            .split(&format!("```{lang}\n"))
            .nth(1)
            .and_then(|s| s.split("\n```").next())
            .unwrap_or_else(|| panic!("a ```{lang} block in \"In 30 seconds\""))
            .to_string()
    };
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in block("console").lines() {
        match line.strip_prefix("$ ") {
            Some(command) => steps.push((command.to_string(), String::new())),
            None => {
                let (_, output) = steps.last_mut().expect("output after a command");
                output.push_str(line);
                output.push('\n');
            }
        }
    }
    assert!(
        steps.len() >= 2,
        "the console block has {} commands",
        steps.len()
    );
    (block("yaml") + "\n", steps)
}

/// Run as written: the recipe under the name the README gives it, each command through
/// sh in that directory with this build's unitpack first on PATH.
#[test]
fn readme_example_runs_as_shown() {
    let (recipe, steps) = thirty_seconds();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("my-pulseaudio-user.yaml"), &recipe).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("unitpack");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (command, expected) in &steps {
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("SOURCE_DATE_EPOCH", common::EPOCH)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README command {command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            &String::from_utf8(out.stdout).unwrap(),
            expected,
            "README command {command:?} prints something else"
        );
    }
    // The control field the README quotes.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let quoted = readme
        .split("`Depends: ")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .expect("the README quotes the example's Depends");
    let deb = dir.path().join("out/my-pulseaudio-user_1.0.0-1_all.deb");
    let depends = common::stdout("dpkg-deb", &["-f", deb.to_str().unwrap(), "Depends"]);
    assert_eq!(depends.trim(), quoted);
}

#[test]
fn readme_stays_short() {
    let lines = std::fs::read_to_string(repo().join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= 150,
        "README.md has {lines} lines; move detail to docs/"
    );
}
