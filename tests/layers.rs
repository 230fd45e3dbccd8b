//! Imports only point down: every `crate::MODULE` path in `src/` names a module of a
//! lower layer than the file's own top-level module. The layers (bottom first) are the
//! map a newcomer reads in `src/lib.rs`; a new module gets a row here.

use std::collections::BTreeSet;
use std::path::Path;

/// Layer of each top-level module of the library.
const LAYERS: &[(&str, u32)] = &[
    // Shared vocabulary: codes, names, dates, errors, the input layer, unit names.
    ("codes", 0),
    ("date", 0),
    ("license", 0),
    ("names", 0),
    ("error", 1),
    ("console", 2),
    ("input", 2),
    ("unit", 2),
    ("elf", 3),
    ("follow", 3),
    ("profile", 3),
    // What authors write, validated.
    ("recipe", 4),
    // Read from the model: the plan of each package, and lint.
    ("lint", 5),
    ("plan", 5),
    // Shared by the formats.
    ("archive", 6),
    ("format", 6),
    // The formats and the repository.
    ("deb", 7),
    ("repo", 7),
    ("yocto", 7),
    // What drives them.
    ("pipeline", 8),
    ("scaffold", 8),
    // Boots what the pipeline builds.
    ("verify", 9),
];

/// Names re-exported at the crate root, by the module they come from.
const ROOT_REEXPORTS: &[(&str, &str)] = &[("Error", "error"), ("Result", "error")];

fn layer(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The first path segment of every `crate::` path in `code`, `crate::{a, b::c}`
/// included.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `unitpack_manifest::…` or `some_crate::…` are other crates.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The first segment of each item at depth 1: `{lint::{self, x}, Error}`.
            let mut depth = 1;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        item_start = false;
                        let ident: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if ident != "self" {
                            out.push(ident);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(ident);
        }
    }
    out
}

/// The file's code without comments and without its `#[cfg(test)]` module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut upward = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_str().unwrap();
        let top = top.strip_suffix(".rs").unwrap_or(top);
        if matches!(top, "lib" | "main") {
            continue;
        }
        let Some(own) = layer(top) else {
            unknown.insert(format!("{top} (src/{})", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for target in crate_paths(&code_of(&text)) {
            let target = ROOT_REEXPORTS
                .iter()
                .find(|(name, _)| *name == target)
                .map_or(target.as_str(), |(_, module)| module);
            if target == top {
                continue;
            }
            match layer(target) {
                Some(l) if l < own => {}
                Some(l) => {
                    upward.insert(format!(
                        "src/{}: {top} (layer {own}) imports crate::{target} (layer {l})",
                        rel.display()
                    ));
                }
                None => {
                    unknown.insert(format!("{target} (named in src/{})", rel.display()));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules without a layer (add them to LAYERS in tests/layers.rs): {unknown:#?}"
    );
    assert!(
        upward.is_empty(),
        "imports that point up or sideways: {upward:#?}"
    );
}

#[test]
fn the_parser_finds_grouped_and_plain_paths() {
    let code = "use crate::{lint::{self, x}, Error};\nlet a = crate::plan::Plan::new();\nunitpack_crate::x";
    assert_eq!(crate_paths(code), ["lint", "Error", "plan"]);
}
