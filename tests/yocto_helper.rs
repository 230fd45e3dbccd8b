//! The helper's recipe in the Yocto layer: `unitpack-check` from an archive the layer
//! itself holds, reproducible and buildable offline, with or without a checkout.

mod common;

use assert_cmd::Command;
use common::repo;
use common::yocto::*;

/// The helper's version, from its Cargo.toml.
fn helper_version() -> String {
    std::fs::read_to_string(repo().join("unitpack-check/Cargo.toml"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("version = \"")
                .map(|v| v.trim_end_matches('"').to_string())
        })
        .unwrap()
}

/// The entries of a .tar.gz: path → contents (directories with `None`), in order.
fn tar_gz(data: &[u8]) -> Vec<(String, Option<Vec<u8>>)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header();
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
        assert_eq!(
            h.mtime().unwrap(),
            1_704_067_200,
            "SOURCE_DATE_EPOCH's default"
        );
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let data = match e.header().entry_type() {
            tar::EntryType::Directory => None,
            tar::EntryType::Regular => {
                let mut v = Vec::new();
                e.read_to_end(&mut v).unwrap();
                Some(v)
            }
            other => panic!("{path}: entry type {other:?}"),
        };
        out.push((path, data));
    }
    out
}

/// The helper's recipe fetches one archive from the layer itself (`file://`), which
/// `unitpack yocto` writes reproducibly; the archive holds what the build needs (no
/// tests, no target/) and builds offline with its own lock file.
#[test]
fn helper_recipe_fetches_a_reproducible_archive_from_the_layer_that_builds_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer");
    generate_ok(&[], &out);
    let version = helper_version();
    let name = format!("unitpack-check-{version}.tar.gz");
    let dir = out.join("recipes-unitpack/unitpack-check");
    assert_eq!(
        tree(&dir).into_keys().collect::<Vec<_>>(),
        [
            format!("files/{name}"),
            format!("unitpack-check_{version}.bb")
        ],
        "the helper's recipe directory holds the recipe and the archive"
    );
    let bb = Bb::parse(
        &std::fs::read_to_string(dir.join(format!("unitpack-check_{version}.bb"))).unwrap(),
    );
    assert_eq!(bb.inherits, ["cargo"]);
    // From the layer: nothing to download, nothing at a placeholder address.
    assert_eq!(
        bb.get("SRC_URI"),
        Some("file://unitpack-check-${PV}.tar.gz")
    );
    assert_eq!(bb.get("SRC_URI[sha256sum]"), None);
    let bb_text_all =
        std::fs::read_to_string(dir.join(format!("unitpack-check_{version}.bb"))).unwrap();
    assert!(!bb_text_all.contains("example."), "{bb_text_all}");
    assert_eq!(
        bb.get("S"),
        Some("${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}/unitpack-check-${PV}")
    );

    // rust-version 1.75 is beyond kirkstone's Rust 1.59: the recipe skips itself there
    // (the layer keeps kirkstone for the unit recipes).
    let bb_text =
        std::fs::read_to_string(dir.join(format!("unitpack-check_{version}.bb"))).unwrap();
    let original = std::fs::read_to_string(repo().join("unitpack-check/Cargo.toml")).unwrap();
    assert!(original.contains("rust-version = \"1.75\""));
    // conf/layer.conf empties UNITPACK_HELPER on kirkstone (unless told the Rust is
    // newer), and the recipe skips itself when it is empty; tests/yocto_bitbake.rs
    // sees both through bitbake.
    assert!(
        bb_text.contains("if not d.getVar(\"UNITPACK_HELPER\"):")
            && bb_text.contains("raise bb.parse.SkipRecipe(\"unitpack-check needs Rust 1.75"),
        "{bb_text}"
    );
    let conf =
        Bb::parse(&std::fs::read_to_string(tmp.path().join("layer/conf/layer.conf")).unwrap());
    assert_eq!(conf.get("UNITPACK_CHECK_ON_KIRKSTONE"), Some("0"));
    assert_eq!(
        conf.get("UNITPACK_HELPER"),
        Some("${@'' if 'kirkstone' in (d.getVar('LAYERSERIES_CORENAMES') or '').split() and d.getVar('UNITPACK_CHECK_ON_KIRKSTONE') != '1' else 'unitpack-check'}")
    );

    // Nothing is written beside the layer.
    assert!(!tmp.path().join("downloads").exists());
    let archive = std::fs::read(dir.join("files").join(&name)).unwrap();
    // gzip without a timestamp.
    assert_eq!(&archive[4..8], &[0, 0, 0, 0]);

    // Reproducible: a second run, elsewhere, gives the same bytes.
    let other = tmp.path().join("elsewhere");
    let o = unitpack()
        .arg("yocto")
        .arg("-o")
        .arg(other.join("layer2"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(tree(&other.join("layer2")), tree(&out));

    // What it holds: one top directory, sorted, no test-only file, no build output.
    let entries = tar_gz(&archive);
    let top = format!("./unitpack-check-{version}/");
    let paths: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    assert_eq!(paths, sorted);
    assert_eq!(paths[0], top);
    for p in &paths {
        assert!(p.starts_with(&top), "{p}");
        let rel = &p[top.len()..];
        assert!(
            !rel.contains("testutil")
                && !rel.split('/').any(|c| c == "tests" || c == "target")
                && !rel.ends_with(".orig")
                && !rel.ends_with('~'),
            "{p} should not be in the archive"
        );
    }
    let file = |rel: &str| {
        entries
            .iter()
            .find(|(p, _)| *p == format!("{top}{rel}"))
            .and_then(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{rel} missing from the archive"))
    };
    for krate in ["unitpack-check", "unitpack-manifest"] {
        assert_eq!(
            file(&format!("{krate}/Cargo.toml")),
            std::fs::read(repo().join(krate).join("Cargo.toml")).unwrap()
        );
        for (rel, data) in tree(&repo().join(krate).join("src")) {
            if rel.ends_with("testutil.rs") {
                continue;
            }
            assert_eq!(
                file(&format!("{krate}/src/{rel}")),
                data,
                "{krate}/src/{rel}"
            );
        }
    }
    let lock = String::from_utf8(file("Cargo.lock")).unwrap();
    assert!(lock.lines().any(|l| l == "version = 3"), "{lock}");
    // LIC_FILES_CHKSUM points into the archive.
    let lic = bb.get("LIC_FILES_CHKSUM").unwrap();
    assert!(lic.contains("file://unitpack-check/LICENSE;md5="), "{lic}");

    // Builds offline with the lock as shipped.
    let build = tmp.path().join("build");
    for (path, data) in &entries {
        let p = build.join(path);
        match data {
            None => std::fs::create_dir_all(p).unwrap(),
            Some(d) => std::fs::write(p, d).unwrap(),
        }
    }
    let o = std::process::Command::new(env!("CARGO"))
        .args(["build", "--offline", "--locked", "--quiet"])
        .current_dir(build.join(&top))
        .env("CARGO_TARGET_DIR", tmp.path().join("target"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("target/debug/unitpack-check").is_file());
}

/// SOURCE_DATE_EPOCH dates the archive's entries.
#[test]
fn source_date_epoch_dates_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |epoch: Option<&str>, dir: &str| {
        let mut cmd = unitpack();
        if let Some(e) = epoch {
            cmd.env("SOURCE_DATE_EPOCH", e);
        }
        let o = cmd
            .arg("yocto")
            .arg("-o")
            .arg(tmp.path().join(dir).join("layer"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let name = format!("unitpack-check-{}.tar.gz", helper_version());
        std::fs::read(
            tmp.path()
                .join(dir)
                .join("layer/recipes-unitpack/unitpack-check/files")
                .join(name),
        )
        .unwrap()
    };
    let default = run(None, "a");
    assert_eq!(run(Some("1704067200"), "b"), default);
    assert_ne!(run(Some("1600000000"), "c"), default);
}

/// Outside a checkout of unitpack (no `unitpack-check/` in the working directory),
/// `yocto` uses the helper's sources built into the binary: the same archive, byte for
/// byte, as from the checkout.
#[test]
fn yocto_works_outside_the_checkout_with_the_built_in_helper() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("recipes/pulseaudio-user.yaml"),
        tmp.path().join("pulseaudio-user.yaml"),
    )
    .unwrap();
    let o = Command::cargo_bin("unitpack")
        .unwrap()
        .current_dir(tmp.path())
        .env_remove("SOURCE_DATE_EPOCH")
        .args(["yocto", "pulseaudio-user.yaml", "-o", "layer"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from_checkout = tmp.path().join("checkout");
    let o = unitpack()
        .arg("yocto")
        .arg(repo().join("recipes/pulseaudio-user.yaml"))
        .arg("-o")
        .arg(from_checkout.join("layer"))
        .arg("--helper")
        .arg(repo().join("unitpack-check"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The archive is in the layer: the trees compare it too.
    assert_eq!(
        tree(&tmp.path().join("layer")),
        tree(&from_checkout.join("layer"))
    );
}
