//! Every shell script of the repository passes shellcheck (sourced files followed with
//! -x): the project's own scripts, the e2e harness, the benches. The maintainer scripts
//! are checked as rendered, per recipe, in tests/build.rs; the generated layer by
//! oelint-adv. Under CI a missing shellcheck fails; elsewhere the test says it skipped.

mod common;

use common::repo;
use std::path::PathBuf;
use std::process::Command;

/// Tracked files that are shell: a `#!…sh` line, or a `.sh` name. Templates and the
/// generated layer are left to the tests that render them.
fn shell_scripts() -> Vec<PathBuf> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git ls-files failed");
    let mut scripts = Vec::new();
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        if name.starts_with("templates/") || name.starts_with("meta-layer/") {
            continue;
        }
        let path = repo().join(&name);
        let Ok(text) = std::fs::read(&path) else {
            continue; // removed in the work tree
        };
        let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
        let first = String::from_utf8_lossy(first);
        let shebang = first.starts_with("#!")
            && ["/sh", "bash", "dash", " sh"]
                .iter()
                .any(|s| first.contains(s));
        if shebang || name.ends_with(".sh") {
            scripts.push(PathBuf::from(name));
        }
    }
    scripts
}

#[test]
fn every_shell_script_passes_shellcheck() {
    if !common::available(
        "shellcheck",
        "shellcheck is missing (scripts/setup installs it)",
    ) {
        return;
    }
    let scripts = shell_scripts();
    assert!(
        scripts.len() >= 15,
        "only {} scripts found: {scripts:?}",
        scripts.len()
    );
    for must in [
        "scripts/setup",
        "scripts/test",
        "tests/e2e/run-e2e",
        "tests/e2e/lib.sh",
        ".ci/run",
    ] {
        assert!(
            scripts.contains(&PathBuf::from(must)),
            "{must} was not found as a script"
        );
    }
    let mut failures = Vec::new();
    for script in &scripts {
        let text = std::fs::read_to_string(repo().join(script)).unwrap_or_default();
        // A file with neither a #! line nor a `shellcheck shell=` directive is a snippet
        // spliced into a maintainer script: POSIX sh.
        let dialect: &[&str] = if text.starts_with("#!") || text.contains("shellcheck shell=") {
            &[]
        } else {
            &["-s", "sh"]
        };
        let out = Command::new("shellcheck")
            .args(["-x", "-P", "SCRIPTDIR", "-f", "gcc"])
            .args(dialect)
            .arg(script)
            .current_dir(repo())
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    assert!(failures.is_empty(), "shellcheck:\n{}", failures.join(""));
    eprintln!("{} scripts pass shellcheck", scripts.len());
}
