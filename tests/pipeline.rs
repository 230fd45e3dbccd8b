//! Every output goes through one pipeline (`src/pipeline.rs`): `unitpack yocto` refuses
//! what `unitpack build` refuses, with the same message, and writes nothing.

mod common;

use common::*;
use std::path::PathBuf;

/// The recipes of the lint corpus (`tests/lint/*.yaml`): triggers of every rule, with
/// errors and without, and their near misses.
fn lint_corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/lint"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() > 50, "lint corpus not found");
    files
}

#[test]
fn yocto_refuses_what_build_refuses_with_the_same_message() {
    let mut refused = 0;
    for recipe in lint_corpus() {
        let out = tempfile::tempdir().unwrap();
        let build = run_build(&recipe, &out.path().join("debs"));
        if build.status.success() {
            continue;
        }
        refused += 1;
        assert_eq!(build.status.code(), Some(2), "{}", recipe.display());
        let layer = out.path().join("layer");
        let yocto = unitpack()
            .arg("yocto")
            .arg(&recipe)
            .arg("-o")
            .arg(&layer)
            .output()
            .unwrap();
        assert_eq!(
            yocto.status.code(),
            Some(2),
            "{}: build refused it, yocto did not:\n{}",
            recipe.display(),
            String::from_utf8_lossy(&yocto.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&yocto.stderr),
            String::from_utf8_lossy(&build.stderr),
            "{}: not the same message",
            recipe.display()
        );
        assert!(
            !layer.exists(),
            "{}: yocto wrote something",
            recipe.display()
        );
    }
    // The corpus has a trigger with an error for each error rule.
    assert!(refused >= 10, "only {refused} recipes refused by build");
}

#[test]
fn yocto_refuses_script_snippets_instead_of_dropping_them() {
    let out = tempfile::tempdir().unwrap();
    let layer = out.path().join("layer");
    let yocto = unitpack()
        .args(["yocto", "tests/e2e/recipes/dropins.yaml", "-o"])
        .arg(&layer)
        .output()
        .unwrap();
    assert_eq!(yocto.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&yocto.stderr);
    for script in ["postinst", "prerm", "postrm"] {
        assert!(
            stderr.contains("dropins.yaml:")
                && stderr.contains(&format!("scripts.{script}: the Yocto layer does not run")),
            "{stderr}"
        );
    }
    assert!(!layer.exists());
}
