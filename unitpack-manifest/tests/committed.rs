//! The manifests committed in the repository (the layer's and the insta snapshots of
//! `unitpack`'s writer) read back and write out to the same bytes.

use std::fs;
use std::path::{Path, PathBuf};
use unitpack_manifest::{parse, Manifest};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Files named `manifest` below `dir`.
fn manifests_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {}", dir.display(), e))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            manifests_below(&p, out);
        } else if p.file_name().is_some_and(|n| n == "manifest") {
            out.push(p);
        }
    }
}

/// parse(text) writes `text` back, and the struct read survives a second round.
fn round_trip(text: &str, file: &str) {
    let m: Manifest = parse(text, file).unwrap_or_else(|e| panic!("{}", e));
    assert_eq!(m.to_text(), text, "{} does not write back the same", file);
    assert_eq!(parse(&m.to_text(), file).unwrap(), m, "{}", file);
}

#[test]
fn committed_layer_manifests_round_trip() {
    let mut files = Vec::new();
    manifests_below(&repo().join("meta-layer"), &mut files);
    assert!(files.len() >= 3, "layer manifests found: {:?}", files);
    for f in &files {
        // The layer's manifests carry placeholders that do_install fills in per release
        // (tests/yocto_layer.rs checks every release): filled in here as on scarthgap.
        let text = fs::read_to_string(f)
            .unwrap()
            .replace("@UNITPACK_PROFILE@", "yocto-scarthgap")
            .replace("@SYSTEMD_SYSTEM_UNITDIR@", "/usr/lib/systemd/system")
            .replace("@SYSTEMD_USER_UNITDIR@", "/usr/lib/systemd/user");
        assert!(
            !text.contains("@SYSTEMD_") && !text.contains("@UNITPACK_"),
            "{}: a placeholder left",
            f.display()
        );
        round_trip(&text, &f.display().to_string());
    }
}

#[test]
fn snapshot_manifests_round_trip() {
    let dir = repo().join("tests/snapshots");
    let mut n = 0;
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains("manifest") || !name.ends_with(".snap") {
            continue;
        }
        let snap = fs::read_to_string(&p).unwrap();
        // insta's header (`---`, metadata, `---`), then the value; insta drops the
        // value's final newline, which the manifest always has.
        let body = snap
            .strip_prefix("---\n")
            .and_then(|s| s.split_once("\n---\n"))
            .map(|(_, body)| body)
            .unwrap_or_else(|| panic!("{} has no insta header", p.display()));
        let text = format!("{}\n", body.trim_end_matches('\n'));
        round_trip(&text, &p.display().to_string());
        n += 1;
    }
    assert!(n >= 2, "manifest snapshots found: {}", n);
}
