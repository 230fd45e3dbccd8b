//! The lintian overrides a package ships match what it contains: lintian (bookworm)
//! reports neither a tag nor an unused override, for a package whose scripts call
//! systemctl and for one that ships only files.

mod common;

use common::{build, recipe_dir, MINIMAL};
use std::process::Command;

fn lintian(deb: &std::path::Path) -> Option<String> {
    let o = Command::new("lintian")
        .args([
            "--fail-on",
            "error,warning",
            "--display-level",
            ">=info",
            "--show-overrides",
        ])
        .arg(deb)
        .output();
    let Ok(o) = o else {
        common::unavailable("lintian missing (scripts/setup installs it)");
        return None;
    };
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    ))
}

fn overrides(deb: &std::path::Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("dpkg-deb --fsys-tarfile \"$1\" | tar -xO --wildcards './usr/share/lintian/overrides/*'")
        .arg("sh")
        .arg(deb)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn systemctl_override_only_where_the_scripts_call_systemctl() {
    let out = tempfile::tempdir().unwrap();
    let (_dir, with_units) = recipe_dir(MINIMAL, &[]);
    let deb = build(&with_units, out.path());
    assert!(overrides(&deb).contains("maintainer-script-calls-systemctl"));
    if let Some(report) = lintian(&deb) {
        assert!(
            !report.contains("unused-override") && !report.contains("mismatched-override"),
            "{report}"
        );
    }

    let files_only = MINIMAL[..MINIMAL.find("units:").unwrap()].to_string()
        + "assets:\n  - source: hello.conf\n    dest: /etc/demo/hello.conf\n";
    let (_dir, recipe) = recipe_dir(&files_only, &[("hello.conf", "hello\n")]);
    let out = tempfile::tempdir().unwrap();
    let deb = build(&recipe, out.path());
    assert!(
        !overrides(&deb).contains("maintainer-script-calls-systemctl"),
        "{}",
        overrides(&deb)
    );
    if let Some(report) = lintian(&deb) {
        assert!(!report.contains("unused-override"), "{report}");
    }
}

/// The override's reason (no `deb-systemd-helper --user` before init-system-helpers
/// 1.52) holds for xenial and bionic only: a package for a later target does not
/// carry it, even though its scripts call systemctl.
#[test]
fn systemctl_override_only_for_targets_without_deb_systemd_helper_user() {
    for (target, expected) in [
        ("ubuntu-xenial", true),
        ("ubuntu-bionic", true),
        ("ubuntu-focal", false),
        ("debian-bookworm", false),
    ] {
        let text = MINIMAL.replace("target: ubuntu-xenial", &format!("target: {target}"));
        let (_dir, recipe) = recipe_dir(&text, &[]);
        let out = tempfile::tempdir().unwrap();
        let deb = build(&recipe, out.path());
        let shipped = overrides(&deb);
        assert_eq!(
            shipped.contains("maintainer-script-calls-systemctl"),
            expected,
            "{target}:\n{shipped}"
        );
        assert!(
            shipped.contains("initial-upload-closes-no-bugs"),
            "{target}"
        );
    }
}
