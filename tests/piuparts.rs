//! piuparts, Debian's install/upgrade/purge tester (bookworm's 1.1.7), on a package built
//! by unitpack: a user unit enabled globally and a system service (`pp-demo`), version
//! 1.0 and 2.0 (whose service gains `Alias=`). piuparts installs the package in a chroot
//! unpacked from a base tarball, removes and purges it, and fails when the tree after
//! purge differs from the one before, when a maintainer script fails, or when a
//! process is left running. Its upgrade test installs 1.0 with apt from a local
//! repository (`--extra-repo`, bind-mounted) and upgrades to the 2.0 file. The unitpack
//! packages of the differential test against debhelper (tests/common/diff.rs) get the
//! same install/purge and 1.0 → 2.0 upgrade test, all six in one run.
//!
//! The base tarball is the debootstrap cache of tests/support/make-root (`--tgz`: the
//! same tarball gzipped, made once); piuparts reaches only Debian's mirror, for its
//! `apt-get update`. The scripts in tests/piuparts/ (`--scriptsdir`) check in the chroot
//! that the units are enabled before the removal and that their links outlast the
//! removal, so a package that enables nothing cannot pass; for the differential cases
//! the test writes such scripts from the cases. Needs root; run with
//! `cargo test --test piuparts -- --ignored` (scripts/test does).

mod common;

use common::diff::{unitpack_deb, DiffCase, DIFF_CASES};
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

/// Runs piuparts with OPTIONS and the check scripts of SCRIPTS on the packages V2 (tested
/// together), with V1 (their previous versions) and the helper in a local apt repository;
/// panics unless it passes with every test in EXPECT run (its "PASS: ..." lines) and the
/// check scripts ran EXPECT_CHECKS times each.
fn piuparts(
    v1: &[PathBuf],
    v2: &[PathBuf],
    scripts: &Path,
    options: &[&str],
    expect: &[&str],
    expect_checks: usize,
) {
    let work = tempfile::tempdir().unwrap();
    let apt = work.path().join("repo");
    std::fs::create_dir(&apt).unwrap();
    for deb in v1 {
        std::fs::copy(deb, apt.join(deb.file_name().unwrap())).unwrap();
    }
    std::fs::copy(helper_deb(), apt.join("unitpack-check.deb")).unwrap();
    let index = Command::new("apt-ftparchive")
        .args(["packages", "."])
        .current_dir(&apt)
        .output()
        .unwrap_or_else(|e| panic!("apt-ftparchive (apt-utils, scripts/setup) is needed: {e}"));
    assert!(index.status.success(), "apt-ftparchive: {index:?}");
    std::fs::write(apt.join("Packages"), &index.stdout).unwrap();
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
        .arg(scripts)
        .args(options)
        .args(v2)
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
        "piuparts {options:?} {v2:?} ({:?}):\n{}\n...\n{}",
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
        "piuparts {options:?} on {} package(s) passed in {} s",
        v2.len(),
        started.elapsed().as_secs()
    );
}

/// Install and purge 2.0; install 1.0 from apt, upgrade to 2.0, purge.
#[test]
#[ignore = "needs root, piuparts and debootstrap; run by scripts/test"]
fn install_purge_and_upgrade() {
    let work = tempfile::tempdir().unwrap();
    piuparts(
        &[pp_demo("1.0", work.path())],
        &[pp_demo("2.0", work.path())],
        &repo().join("tests/piuparts"),
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
    let work = tempfile::tempdir().unwrap();
    piuparts(
        &[pp_demo("1.0", work.path())],
        &[pp_demo("2.0", work.path())],
        &repo().join("tests/piuparts"),
        &["--install-remove-install"],
        &[
            "Installation and purging test.",
            "Installation, upgrade and purging tests.",
        ],
        2,
    );
}

/// The check scripts (`--scriptsdir`) for the packages of CASES, version 2 installed
/// before the removal: each package's enabled units are linked, its disabled units and
/// the units only version 1 shipped (renamed away) are not, and removal keeps the links
/// and the state that purge must then take.
fn case_scripts(cases: &[&DiffCase], dir: &Path) {
    let head = |hook: &str| {
        format!(
            "#!/bin/sh\nset -eu\nfail() {{\n\techo \"unitpack-piuparts: {hook}: $*\" >&2\n\texit 1\n}}\n\
             linked() {{\n\t[ -n \"$(find /etc/systemd -type l -lname \"*/$1\" -print)\" ]\n}}\n"
        )
    };
    let mut pre = head("pre_remove");
    let mut post = head("post_remove");
    for case in cases {
        let p = case.package;
        pre += &format!(
            "[ \"$(dpkg-query -W -f '${{Version}}' {p})\" = 2.0 ] || fail \"{p} 2.0 is not installed\"\n\
             [ -d /var/lib/unitpack/{p} ] || fail \"/var/lib/unitpack/{p} missing\"\n"
        );
        post += &format!(
            "[ \"$(dpkg-query -W -f '${{Status}}' {p})\" = \"deinstall ok config-files\" ] ||\n\
             \tfail \"{p} is not removed with its configuration kept\"\n\
             [ -d /var/lib/unitpack/{p} ] || fail \"/var/lib/unitpack/{p} gone on remove\"\n"
        );
        for u in case.units {
            let n = u.name;
            if u.enabled && u.v2.is_some() {
                pre += &format!("linked {n} || fail \"{p}: {n} is not enabled\"\n");
                post += &format!("linked {n} || fail \"{p}: the links of {n} gone on remove\"\n");
            } else {
                pre += &format!("! linked {n} || fail \"{p}: {n} is linked\"\n");
            }
        }
    }
    pre += "echo \"unitpack-piuparts: pre_remove: units enabled\"\n";
    post += "echo \"unitpack-piuparts: post_remove: links kept\"\n";
    for (name, text) in [("pre_remove_unitpack", pre), ("post_remove_unitpack", post)] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
    }
}

/// The unitpack packages of the differential test against debhelper (tests/common/diff.rs),
/// all cases in one run (their names and files do not collide): install and purge
/// version 2; install version 1 from apt, upgrade to 2, purge.
#[test]
#[ignore = "needs root, piuparts and debootstrap; run by scripts/test"]
fn differential_cases_install_purge_and_upgrade() {
    let cases: Vec<&DiffCase> = DIFF_CASES.iter().collect();
    let scripts = tempfile::tempdir().unwrap();
    case_scripts(&cases, scripts.path());
    let v1: Vec<PathBuf> = cases.iter().map(|c| unitpack_deb(c, 1)).collect();
    let v2: Vec<PathBuf> = cases.iter().map(|c| unitpack_deb(c, 2)).collect();
    piuparts(
        &v1,
        &v2,
        scripts.path(),
        &[],
        &[
            "Installation and purging test.",
            "Installation, upgrade and purging tests.",
        ],
        2,
    );
}
