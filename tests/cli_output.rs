//! What the command line prints for CI and terminals: `build --format json`, quiet
//! output when not on a terminal, and no panic when stdout is closed early.

mod common;

use common::{repo, sha256, unitpack};
use std::process::{Command, Stdio};

#[test]
fn build_json_lists_every_package_with_its_real_size_and_sha256() {
    let out = tempfile::tempdir().unwrap();
    let o = unitpack()
        .args(["build", "--format", "json", "-o"])
        .arg(out.path())
        .arg(repo().join("recipes"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Not a terminal: no progress on stderr.
    assert!(!String::from_utf8_lossy(&o.stderr).contains('\r'));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let files: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert_eq!(list.len(), files.len());
    assert!(list.len() >= 2);
    for item in &list {
        let file = std::path::Path::new(item["file"].as_str().unwrap());
        assert_eq!(item["sha256"].as_str().unwrap(), sha256(file));
        assert_eq!(
            item["size"].as_u64().unwrap(),
            std::fs::metadata(file).unwrap().len()
        );
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(&format!("{}_", item["package"].as_str().unwrap())));
        assert!(name.ends_with(&format!("_{}.deb", item["architecture"].as_str().unwrap())));
    }
}

/// `unitpack profiles | head -n 1` and friends: a reader that goes away early is not
/// an error of unitpack's.
#[test]
fn closed_stdout_never_panics() {
    let bin = assert_cmd::cargo::cargo_bin("unitpack");
    for args in [
        vec!["profiles"],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["render", "recipes/pulseaudio-user.yaml"],
    ] {
        let mut child = Command::new(&bin)
            .args(&args)
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before unitpack writes
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(o.status.code().is_some(), "{args:?} died of a signal");
    }
}
