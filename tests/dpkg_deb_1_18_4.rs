//! dpkg-deb 1.18.4 (the board's, built by scripts/vendor/dpkg-1.18.4) reads every kind of
//! package the test suite builds exactly as Debian 12's dpkg-deb does: the seed recipes,
//! the end-to-end recipes, the lifecycle variants, a package with paths over 100 bytes
//! (GNU long names), one with conffiles and modes, a gzip-compressed one, and the helper
//! packages made by cargo-deb. Compared: --info, --contents, --fsys-tarfile,
//! --ctrl-tarfile, -x and -e; 1.18.4 must also print no warning.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// Files beside a recipe: (path, content).
type Files<'a> = &'a [(&'a str, &'a str)];

/// Every package to compare, with a name for messages. The temporary directories
/// live as long as the list.
fn packages() -> (Vec<tempfile::TempDir>, Vec<(String, PathBuf)>) {
    let mut dirs = Vec::new();
    let mut debs = Vec::new();
    let mut recipes: Vec<PathBuf> = Vec::new();
    for dir in ["recipes", "tests/e2e/recipes"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        found.sort();
        assert!(!found.is_empty(), "no recipes in {dir}");
        recipes.extend(found);
    }
    for recipe in recipes {
        let out = tempfile::tempdir().unwrap();
        let deb = build(&recipe, out.path());
        debs.push((
            recipe.strip_prefix(repo()).unwrap().display().to_string(),
            deb,
        ));
        dirs.push(out);
    }

    let long = "a".repeat(120);
    let variants: &[(&str, String, Files)] = &[
        ("minimal", MINIMAL.to_string(), &[]),
        ("gzip", format!("{MINIMAL}compression: gzip\n"), &[]),
        (
            "long paths",
            format!(
                "{MINIMAL}assets:\n  - source: files\n    dest: /usr/share/demo-units/{long}\n"
            ),
            &[("files/f.txt", "hello\n"), ("files/sub/g.txt", "g\n")],
        ),
        (
            "conffiles and modes",
            format!(
                "{MINIMAL}assets:\n  - source: conf\n    dest: /etc/demo\n  - source: bin/tool\n    dest: /usr/lib/demo/tool\n    mode: \"0755\"\n"
            ),
            &[
                ("conf/a.conf", "a=1\n"),
                ("conf/sub/b.conf", "b=2\n"),
                ("bin/tool", "#!/bin/sh\n"),
            ],
        ),
        (
            "gzip with long paths",
            format!(
                "{MINIMAL}compression: gzip\nassets:\n  - source: files\n    dest: /usr/share/demo-units/{long}/{long}\n"
            ),
            &[("files/f.txt", "hello\n")],
        ),
    ];
    for (name, text, files) in variants {
        let (dir, recipe) = recipe_dir(text, files);
        let deb = build(&recipe, &dir.path().join("out"));
        debs.push((name.to_string(), deb));
        dirs.push(dir);
    }

    let helpers = repo().join("target/unitpack-check");
    let mut helper_debs: Vec<PathBuf> = std::fs::read_dir(&helpers)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    helper_debs.retain(|p| p.extension().is_some_and(|e| e == "deb"));
    helper_debs.sort();
    if helper_debs.is_empty() {
        unavailable("no helper package in target/unitpack-check (scripts/cross-build makes them)");
    }
    for deb in helper_debs {
        debs.push((deb.file_name().unwrap().to_string_lossy().into_owned(), deb));
    }
    (dirs, debs)
}

/// Run a dpkg-deb; its stdout and stderr.
fn dpkg_deb(program: &Path, args: &[&str]) -> (Vec<u8>, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every path under DIR with its type, mode, size, link target and content digest.
fn tree(dir: &Path) -> String {
    let listing = std::process::Command::new("find")
        .args([".", "-printf", "%p %y %m %s %l\n"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(listing.status.success());
    let mut lines: Vec<String> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let path = dir.join(line.split(' ').next().unwrap());
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() => format!("{line} {}", sha256(&path)),
                _ => line.to_string(),
            }
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn dpkg_deb_1_18_4_reads_every_package_like_debian() {
    let Some(prefix) = dpkg_1_18_4() else {
        return;
    };
    let old = prefix.join("bin/dpkg-deb");
    let new = PathBuf::from("dpkg-deb");
    let (_dirs, debs) = packages();
    let work = tempfile::tempdir().unwrap();
    let long_name = |contents: &str| {
        contents
            .lines()
            .any(|l| l.split_whitespace().last().is_some_and(|p| p.len() > 100))
    };
    for (n, (name, deb)) in debs.iter().enumerate() {
        let deb = deb.to_str().unwrap();
        if name.contains("long paths") {
            let contents = stdout("dpkg-deb", &["--contents", deb]);
            assert!(
                long_name(&contents),
                "{name} has no path over 100 bytes:\n{contents}"
            );
        }
        if name.contains("gzip") {
            assert!(stdout("ar", &["t", deb]).contains("data.tar.gz"), "{name}");
        }
        for args in [
            vec!["--info", deb],
            vec!["--contents", deb],
            vec!["--fsys-tarfile", deb],
            vec!["--ctrl-tarfile", deb],
            vec!["--field", deb],
        ] {
            let (mut theirs, warnings) = dpkg_deb(&old, &args);
            assert_eq!(warnings, "", "{name}: dpkg-deb 1.18.4 {args:?} warns");
            // The one wording that changed since 1.18.4: "new debian package".
            if args[0] == "--info" {
                theirs = String::from_utf8(theirs)
                    .unwrap()
                    .replacen(" new debian package,", " new Debian package,", 1)
                    .into_bytes();
            }
            let (ours, _) = dpkg_deb(&new, &args);
            assert!(
                theirs == ours,
                "{name}: dpkg-deb 1.18.4 {args:?} differs from Debian's:\n{}\n---\n{}",
                String::from_utf8_lossy(&theirs),
                String::from_utf8_lossy(&ours)
            );
        }
        for action in ["-x", "-e"] {
            let mut trees = Vec::new();
            for (which, program) in [("old", &old), ("new", &new)] {
                let dir = work.path().join(format!("{n}{action}{which}"));
                let (_, warnings) = dpkg_deb(program, &[action, deb, dir.to_str().unwrap()]);
                if which == "old" {
                    assert_eq!(warnings, "", "{name}: dpkg-deb 1.18.4 {action} warns");
                }
                trees.push(tree(&dir));
            }
            assert_eq!(
                trees[0], trees[1],
                "{name}: dpkg-deb 1.18.4 {action} extracts differently"
            );
            assert!(
                trees[0].lines().count() > 1,
                "{name}: {action} extracted nothing"
            );
        }
    }
}
