//! piuparts, Debian's install/upgrade/purge tester (bookworm's 1.1.7), on a package built
//! by unitpack: a user unit enabled globally and a system service (`pp-demo`), version
//! 1.0 and 2.0 (whose service gains `Alias=`). piuparts installs the package in a chroot
//! unpacked from a base tarball, removes and purges it, and fails when the tree after
//! purge differs from the one before, when a maintainer script fails, or when a
//! process is left running. Its upgrade test installs 1.0 with apt from a local
//! repository (`--extra-repo`, bind-mounted) and upgrades to the 2.0 file.
//!
//! The base tarball is the debootstrap cache of tests/support/make-root (`--tgz`: the
//! same tarball gzipped, made once); piuparts reaches only Debian's mirror, for its
//! `apt-get update`. The scripts in tests/piuparts/ (`--scriptsdir`) check in the chroot
//! that the units are enabled before the removal and that their links outlast the
//! removal, so a package that enables nothing cannot pass. Needs root; run with
//! `cargo test --test piuparts -- --ignored` (scripts/test does).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const MIRROR: &str = "http://deb.debian.org/debian";

/// The recipe of pp-demo as VERSION: 2.0's system service gains `Alias=`.
fn recipe(version: &str) -> String {
    let alias = if version == "2.0" {
        "        Alias: pp-demo-alias.service\n"
    } else {
        ""
    };
    format!(
        r#"package:
  name: pp-demo
  version: "{version}"
  maintainer: Jane Doe <jane@example.org>
  summary: Package of the piuparts test
  description: A user unit enabled globally and a system service.
  license: MIT
target: ubuntu-xenial
units:
  - name: pp-demo-user.service
    scope: user
    enable: global
    sections:
      Unit:
        Description: piuparts test user service
      Service:
        ExecStart: /bin/sleep infinity
      Install:
        WantedBy: default.target
  - name: pp-demo.service
    scope: system
    enable: enable-and-start
    sections:
      Unit:
        Description: piuparts test system service
      Service:
        ExecStart: /bin/sleep infinity
      Install:
        WantedBy: multi-user.target
{alias}"#
    )
}

fn helper_deb() -> PathBuf {
    if let Ok(p) = std::env::var("UNITPACK_HELPER_DEB") {
        return PathBuf::from(p);
    }
    let dir = repo().join("target/unitpack-check");
    let found = std::fs::read_dir(&dir).ok().and_then(|d| {
        d.filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with("_amd64.deb"))
    });
    found.unwrap_or_else(|| {
        panic!(
            "no helper package in {}: run scripts/cross-build first",
            dir.display()
        )
    })
}

/// pp-demo as VERSION, built into DIR.
fn pp_demo(version: &str, dir: &Path) -> PathBuf {
    let (src, path) = recipe_dir(&recipe(version), &[]);
    let deb = build(&path, &src.path().join("out"));
    let dest = dir.join(deb.file_name().unwrap());
    std::fs::copy(&deb, &dest).unwrap();
    dest
}

/// The gzipped debootstrap cache of make-root (Debian 12 with systemd and
/// dbus-user-session, the lifecycle tier's), made once.
fn base_tgz() -> PathBuf {
    let out = Command::new(repo().join("tests/support/make-root"))
        .args(["--tgz", "amd64", "dbus-user-session"])
        .output()
        .expect("tests/support/make-root runs (needs debootstrap, root)");
    assert!(
        out.status.success(),
        "make-root --tgz: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs piuparts with OPTIONS on pp-demo 2.0, with 1.0 and the helper in a local apt
/// repository; panics unless it passes with every test in EXPECT run (its "PASS: ..."
/// lines) and the check scripts ran EXPECT_CHECKS times each.
fn piuparts(options: &[&str], expect: &[&str], expect_checks: usize) {
    let work = tempfile::tempdir().unwrap();
    let apt = work.path().join("repo");
    std::fs::create_dir(&apt).unwrap();
    pp_demo("1.0", &apt);
    std::fs::copy(helper_deb(), apt.join("unitpack-check.deb")).unwrap();
    let index = Command::new("apt-ftparchive")
        .args(["packages", "."])
        .current_dir(&apt)
        .output()
        .unwrap_or_else(|e| panic!("apt-ftparchive (apt-utils, scripts/setup) is needed: {e}"));
    assert!(index.status.success(), "apt-ftparchive: {index:?}");
    std::fs::write(apt.join("Packages"), &index.stdout).unwrap();
    let v2 = pp_demo("2.0", work.path());
    let base = base_tgz();
    let started = std::time::Instant::now();
    let out = Command::new("piuparts")
        .arg("--basetgz")
        .arg(&base)
        .args(["--distribution", "bookworm"])
        .args(["--mirror", &format!("{MIRROR} main")])
        .arg("--bindmount")
        .arg(&apt)
        .arg("--extra-repo")
        .arg(format!("deb [trusted=yes] file://{} ./", apt.display()))
        .arg("--scriptsdir")
        .arg(repo().join("tests/piuparts"))
        .args(options)
        .arg(&v2)
        .output()
        .unwrap_or_else(|e| panic!("piuparts is needed (scripts/setup installs it): {e}"));
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = log.lines().rev().take(80).collect();
    // piuparts' verdicts with the indented lines that follow them (the files a purge
    // left, a script's output), and what the check scripts said.
    let mut findings: Vec<&str> = Vec::new();
    let mut in_finding = false;
    for line in log.lines() {
        if line.starts_with("  ") {
            if in_finding || line.contains("unitpack-piuparts") {
                findings.push(line);
            }
            continue;
        }
        in_finding = line.contains("FAIL") || line.contains("ERROR: Command failed");
        if in_finding {
            findings.push(line);
        }
    }
    let report = format!(
        "piuparts {options:?} ({:?}):\n{}\n...\n{}",
        out.status,
        findings.join("\n"),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    assert!(out.status.success(), "{report}");
    for pass in expect {
        assert!(
            log.contains(&format!("INFO: PASS: {pass}")),
            "piuparts did not run the test {pass:?}:\n{report}"
        );
    }
    for check in [
        "unitpack-piuparts: pre_remove: units enabled",
        "unitpack-piuparts: post_remove: links kept",
    ] {
        assert_eq!(
            log.matches(check).count(),
            expect_checks,
            "{check:?} seen a different number of times:\n{report}"
        );
    }
    eprintln!(
        "piuparts {options:?} passed in {} s",
        started.elapsed().as_secs()
    );
}

/// Install and purge 2.0; install 1.0 from apt, upgrade to 2.0, purge.
#[test]
#[ignore = "needs root, piuparts and debootstrap; run by scripts/test"]
fn install_purge_and_upgrade() {
    piuparts(
        &[],
        &[
            "Installation and purging test.",
            "Installation, upgrade and purging tests.",
        ],
        2,
    );
}

/// `--install-remove-install`: install 2.0, remove, install, reinstall, purge; install
/// 1.0 from apt, remove it, install 2.0 over its kept configuration, purge.
#[test]
#[ignore = "needs root, piuparts and debootstrap; run by scripts/test"]
fn install_remove_install_and_upgrade_over_removed() {
    piuparts(
        &["--install-remove-install"],
        &[
            "Installation and purging test.",
            "Installation, upgrade and purging tests.",
        ],
        2,
    );
}
