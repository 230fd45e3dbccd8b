//! Seeds: every recipe of the repository (`recipes/`, `tests/lint/`,
//! `tests/hostile/`, with the files beside them), and the minimal recipe of
//! `tests/common/mod.rs` with each edit `tests/bad_input.rs` makes to it.

use crate::case::{Case, Fixture};
use crate::yaml::Node;
use std::fs;
use std::path::Path;

const MAX_FIXTURE_BYTES: u64 = 64 * 1024;

pub fn load(repo: &Path) -> Vec<Case> {
    let mut seeds = Vec::new();
    for dir in ["recipes", "tests/lint", "tests/hostile"] {
        let mut files = Vec::new();
        yaml_files(&repo.join(dir), 0, &mut files);
        files.sort();
        for file in files {
            let text = match fs::read_to_string(&file) {
                Ok(t) => t,
                Err(_) => continue,
            };
            let base = file.parent().unwrap();
            let mut fixtures = Vec::new();
            collect_fixtures(base, base, 0, &mut fixtures);
            let name = file
                .strip_prefix(repo)
                .unwrap_or(&file)
                .display()
                .to_string();
            seeds.push(case(&text, fixtures, &name));
        }
    }
    let common = fs::read_to_string(repo.join("tests/common/mod.rs")).unwrap_or_default();
    if let Some(minimal) = raw_string_after(&common, "pub const MINIMAL: &str = r#\"") {
        seeds.push(case(&minimal, Vec::new(), "tests/common MINIMAL"));
        let bad = fs::read_to_string(repo.join("tests/bad_input.rs")).unwrap_or_default();
        for (i, (from, to)) in replace_calls(&bad).into_iter().enumerate() {
            if minimal.contains(&from) {
                let text = minimal.replacen(&from, &to, 1);
                seeds.push(case(
                    &text,
                    Vec::new(),
                    &format!("tests/bad_input.rs edit {i}"),
                ));
            }
        }
    }
    seeds
}

fn case(text: &str, fixtures: Vec<Fixture>, name: &str) -> Case {
    let tree = serde_yaml::from_str::<serde_yaml::Value>(text)
        .ok()
        .map(|v| Node::from_value(&v))
        .filter(|n| matches!(n, Node::Map(_)));
    Case {
        text: text.to_string(),
        tree,
        fixtures,
        recipe_name: String::from("recipe.yaml"),
        foreign_layer: false,
        history: vec![format!("seed {name}")],
    }
}

fn yaml_files(dir: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && depth < 3 {
            yaml_files(&p, depth + 1, out);
        } else if ft.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

/// The small regular files and directories beside a seed (no YAML, no links).
fn collect_fixtures(base: &Path, dir: &Path, depth: usize, out: &mut Vec<Fixture>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap().display().to_string();
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() && depth < 2 {
            out.push(Fixture::Dir { path: rel });
            collect_fixtures(base, &p, depth + 1, out);
        } else if meta.is_file()
            && meta.len() <= MAX_FIXTURE_BYTES
            && !p.extension().is_some_and(|x| x == "yaml" || x == "yml")
        {
            use std::os::unix::fs::PermissionsExt;
            out.push(Fixture::File {
                path: rel,
                bytes: fs::read(&p).unwrap_or_default(),
                exec: meta.permissions().mode() & 0o111 != 0,
            });
        }
    }
}

fn raw_string_after(src: &str, marker: &str) -> Option<String> {
    let start = src.find(marker)? + marker.len();
    let end = src[start..].find("\"#")?;
    Some(src[start..start + end].to_string())
}

/// `replace("from", "to")` calls whose arguments are both plain string literals.
pub fn replace_calls(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("replace(") {
        rest = &rest[i + "replace(".len()..];
        let Some((from, after)) = literal(rest.trim_start()) else {
            continue;
        };
        let after = after.trim_start();
        let Some(after) = after.strip_prefix(',') else {
            continue;
        };
        let Some((to, after)) = literal(after.trim_start()) else {
            continue;
        };
        if after.trim_start().starts_with(')') {
            out.push((from, to));
        }
    }
    out
}

/// A Rust string literal at the start of `s`: its value and what follows.
fn literal(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[i + 2..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                '0' => value.push('\0'),
                '\\' => value.push('\\'),
                '"' => value.push('"'),
                '\'' => value.push('\''),
                _ => return None,
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_replace_calls() {
        let src = r#"let t = replace("  a: b\n", "  a: \"c\"\n"); replace(x, "y"); MINIMAL.replace("q", "r")"#;
        assert_eq!(
            super::replace_calls(src),
            [
                (String::from("  a: b\n"), String::from("  a: \"c\"\n")),
                (String::from("q"), String::from("r"))
            ]
        );
    }
}
