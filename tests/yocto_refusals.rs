//! Bad input to `unitpack yocto`: exit 2, file:line and field named, and nothing
//! written (nor an existing layer touched).

mod common;

use common::repo;
use common::yocto::*;
use std::path::Path;

/// Run on a broken recipe: exit 2, the messages in stderr, no layer and no
/// temporary directory next to where it would have been, and an existing layer
/// left untouched.
fn assert_rejected(text: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), text);
    let out_parent = tmp.path().join("out");
    std::fs::create_dir(&out_parent).unwrap();
    let out = out_parent.join("layer");
    let o = generate(&[&recipe], &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{e:?} not in: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(&out_parent).unwrap().count(),
        0,
        "something was written: {stderr}"
    );

    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("old"), "kept").unwrap();
    assert_eq!(generate(&[&recipe], &out).status.code(), Some(2));
    assert_eq!(tree(&out).keys().collect::<Vec<_>>(), ["old"]);
    assert_eq!(std::fs::read_dir(&out_parent).unwrap().count(), 1);
}

#[test]
fn version_with_a_hyphen_is_not_a_bitbake_version() {
    // Valid for Debian (with a revision), not for PV.
    let text = GOOD.replace(
        "  version: \"1.0\"\n",
        "  version: \"1.0-rc1\"\n  revision: \"1\"\n",
    );
    assert_rejected(
        &text,
        &["thing.yaml:3:", "package.version", "1.0-rc1", "PV"],
    );
}

#[test]
fn class_variant_suffix_is_not_a_recipe_name() {
    let text = GOOD.replace("name: my-thing", "name: my-thing-native");
    assert_rejected(&text, &["thing.yaml:2:", "package.name", "my-thing-native"]);
}

#[test]
fn upper_case_or_underscore_names_are_refused() {
    assert_rejected(
        &GOOD.replace("name: my-thing", "name: My_Thing"),
        &["thing.yaml:2:", "package.name"],
    );
}

#[test]
fn text_that_bitbake_would_expand_is_refused() {
    let text = GOOD.replace("summary: a thing", "summary: costs ${HOME}");
    assert_rejected(&text, &["thing.yaml:5:", "package.summary", "expand"]);
    let text = GOOD.replace("summary: a thing", "summary: 'a \\ thing'");
    assert_rejected(&text, &["thing.yaml:5:", "package.summary"]);
}

#[test]
fn unknown_dependency_needs_a_mapping() {
    let text = GOOD.replace("    - dbus\n", "    - dbus\n    - libfoo-bin (>= 2)\n");
    assert_rejected(
        &text,
        &[
            "thing.yaml:9:",
            "package.depends[1]",
            "libfoo-bin",
            "yocto:",
        ],
    );
}

#[test]
fn bad_package_mapping_is_refused_with_its_position() {
    let text = format!("{GOOD}yocto:\n  packages:\n    dbus: Not_A_Name\n");
    assert_rejected(
        &text,
        &["thing.yaml:19:", "yocto.packages.dbus", "Not_A_Name"],
    );
    let text = format!("{GOOD}yocto:\n  pkgs: {{}}\n");
    assert_rejected(&text, &["thing.yaml:", "unknown field"]);
}

#[test]
fn an_elf_asset_in_an_all_package_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = with_elf_asset(tmp.path(), Path::new("/bin/true"), "all");
    let out = tmp.path().join("layer");
    let o = generate(&[&recipe], &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for e in [
        &format!("{}:7:3: package.architecture", recipe.display()),
        "package.architecture",
        "bin/tool is an ELF binary",
    ] {
        assert!(stderr.contains(e), "{e:?} not in: {stderr}");
    }
    assert!(!out.exists());
}

/// The helper crate named by `--helper` is read like any input: a symlink is not
/// followed, and the refusal is bad input (exit 2) naming the file, with no layer
/// written.
#[test]
fn a_symlink_in_the_helper_crate_is_refused_as_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let helper = tmp.path().join("unitpack-check");
    std::fs::create_dir_all(&helper).unwrap();
    std::os::unix::fs::symlink(
        repo().join("unitpack-check/Cargo.toml"),
        helper.join("Cargo.toml"),
    )
    .unwrap();
    let out = tmp.path().join("layer");
    let o = unitpack()
        .arg("yocto")
        .arg("-o")
        .arg(&out)
        .arg("--helper")
        .arg(&helper)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Cargo.toml") && stderr.contains("--helper"),
        "{stderr}"
    );
    assert!(!out.exists());
}
