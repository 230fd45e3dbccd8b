//! Every Yocto release pinned in scripts/vendor/SOURCES (yocto-RELEASE.tar.xz, the
//! releases CI runs bitbake on) is supported everywhere it must be: the layer's
//! LAYERSERIES_COMPAT (from profiles/yocto-RELEASE.yaml) and the release table of
//! docs/yocto.md. Where a vendor directory is at hand (UNITPACK_VENDOR or
//! ../shared/vendor), a release tarball there that SOURCES does not pin fails too.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Releases with a tarball in the vendor directory; None when there is no vendor
/// directory (a clone elsewhere: SOURCES is the source of truth, this is a cross-check).
fn vendor_releases() -> Option<(PathBuf, BTreeSet<String>)> {
    let dir = std::env::var_os("UNITPACK_VENDOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/vendor"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no {}: cross-check skipped", dir.display());
        return None;
    };
    let releases: BTreeSet<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| {
            n.strip_prefix("yocto-")?
                .strip_suffix(".tar.xz")
                .map(str::to_string)
        })
        .collect();
    Some((dir, releases))
}

/// Release names of the first column of docs/yocto.md's table under "## Releases".
fn docs_releases() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("docs/yocto.md")).unwrap();
    let section = text
        .split("\n## Releases\n")
        .nth(1)
        .expect("docs/yocto.md has a \"## Releases\" section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| release"))
        .filter_map(|l| l.split('|').nth(1))
        .map(|c| {
            c.trim()
                .trim_matches('`')
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|r| !r.is_empty())
        .collect()
}

fn layer_series() -> BTreeSet<String> {
    let conf = std::fs::read_to_string(repo().join("meta-layer/conf/layer.conf")).unwrap();
    let line = conf
        .lines()
        .find_map(|l| l.strip_prefix("LAYERSERIES_COMPAT_unitpack = "))
        .expect("layer.conf sets LAYERSERIES_COMPAT_unitpack");
    line.trim_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The yocto-RELEASE.tar.xz tarballs of scripts/vendor/SOURCES.
fn script_releases() -> BTreeSet<String> {
    std::fs::read_to_string(repo().join("scripts/vendor/SOURCES"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|f| f.strip_prefix("yocto-")?.strip_suffix(".tar.xz"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_vendored_release_is_declared_documented_and_run() {
    let series = layer_series();
    let generated: BTreeSet<String> = unitpack::yocto::series()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        series, generated,
        "meta-layer/conf/layer.conf is stale: run `cargo run -- yocto`"
    );
    let docs = docs_releases();
    let script = script_releases();
    // The layer's releases are documented and run by CI, and nothing else is.
    assert_eq!(
        docs, series,
        "docs/yocto.md's release table vs LAYERSERIES_COMPAT_unitpack"
    );
    assert_eq!(
        script, series,
        "scripts/vendor/SOURCES's yocto-RELEASE tarballs vs LAYERSERIES_COMPAT_unitpack"
    );
    let Some((dir, vendor)) = vendor_releases() else {
        return;
    };
    let missing: Vec<_> = vendor.difference(&series).collect();
    assert!(
        missing.is_empty(),
        "releases in {} missing from scripts/vendor/SOURCES, LAYERSERIES_COMPAT_unitpack (add profiles/yocto-RELEASE.yaml) and docs/yocto.md: {missing:?}",
        dir.display()
    );
}
