//! `on_upgrade:` of a started system unit: what the old prerm and the new postinst of
//! an upgrade do to it (debhelper's `--restart-after-upgrade` default,
//! `--no-restart-after-upgrade`, `--no-stop-on-upgrade`), and the scripts run under
//! dash with systemd "running" (a stub systemctl/deb-systemd-invoke that logs).

mod common;

use common::*;

fn scripts(policy: Option<&str>) -> Vec<(String, String)> {
    let line = policy.map_or(String::new(), |p| format!("    on_upgrade: {p}\n"));
    let text = format!(
        "package:\n  name: daemon\n  version: \"1.0\"\n  maintainer: Jane Doe <jane@example.org>\n  summary: s\n  license: MIT\ntarget: ubuntu-xenial\nunits:\n  - name: d.service\n    scope: system\n    enable: enable-and-start\n{line}    sections:\n      Service:\n        ExecStart: /bin/sleep infinity\n      Install:\n        WantedBy: multi-user.target\n"
    );
    let (_dir, recipe) = recipe_dir(&text, &[]);
    let recipe = unitpack::recipe::load(&recipe, None).unwrap();
    let plan = unitpack::plan::Plan::new(&recipe).unwrap();
    unitpack::deb::scripts::render(&plan)
        .into_iter()
        .map(|s| (s.name.to_string(), s.text))
        .collect()
}

/// The invoke calls of SCRIPT ARGS, with `[ -d /run/systemd/system ]` made true by
/// running the script's text with that test pointed at a directory that exists.
fn invokes(scripts: &[(String, String)], script: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = scripts.iter().find(|(n, _)| n == script).unwrap();
    let running = dir.path().join("run-systemd-system");
    std::fs::create_dir(&running).unwrap();
    let state = dir.path().join("state");
    let text = text
        .replace("/run/systemd/system", running.to_str().unwrap())
        .replace(
            "'/var/lib/unitpack/daemon'",
            &format!("'{}'", state.display()),
        )
        .replace(
            "/etc/systemd/system",
            &dir.path().join("etc").display().to_string(),
        );
    let path = dir.path().join(script);
    std::fs::write(&path, text).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("log");
    for tool in ["systemctl", "deb-systemd-invoke"] {
        std::fs::write(
            bin.join(tool),
            format!("#!/bin/sh\necho \"{tool} $*\" >> '{}'\n", log.display()),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(bin.join(tool))
            .status()
            .unwrap();
    }
    let out = std::process::Command::new("dash")
        .arg(&path)
        .args(args)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env_remove("DPKG_ROOT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("deb-systemd-invoke"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn restart_is_the_default() {
    let s = scripts(None);
    assert_eq!(invokes(&s, "prerm", &["upgrade", "1.1"]), "");
    assert_eq!(
        invokes(&s, "postinst", &["configure", "1.0"]),
        "deb-systemd-invoke restart d.service"
    );
    assert_eq!(
        invokes(&s, "postinst", &["configure", ""]),
        "deb-systemd-invoke start d.service"
    );
    assert_eq!(
        invokes(&s, "prerm", &["remove"]),
        "deb-systemd-invoke stop d.service"
    );
    assert_eq!(s, scripts(Some("restart")));
}

#[test]
fn no_restart_stops_before_and_starts_after() {
    let s = scripts(Some("no-restart"));
    assert_eq!(
        invokes(&s, "prerm", &["upgrade", "1.1"]),
        "deb-systemd-invoke stop d.service"
    );
    assert_eq!(
        invokes(&s, "postinst", &["configure", "1.0"]),
        "deb-systemd-invoke start d.service"
    );
    assert_eq!(
        invokes(&s, "prerm", &["remove"]),
        "deb-systemd-invoke stop d.service"
    );
}

#[test]
fn no_stop_leaves_it_running() {
    let s = scripts(Some("no-stop"));
    assert_eq!(invokes(&s, "prerm", &["upgrade", "1.1"]), "");
    assert_eq!(
        invokes(&s, "postinst", &["configure", "1.0"]),
        "deb-systemd-invoke start d.service"
    );
    assert_eq!(
        invokes(&s, "prerm", &["remove"]),
        "deb-systemd-invoke stop d.service"
    );
}

#[test]
fn unknown_policy_is_refused_with_the_field() {
    let text = MINIMAL.replace(
        "    scope: user\n",
        "    scope: user\n    on_upgrade: sometimes\n",
    );
    let (_dir, recipe) = recipe_dir(&text, &[]);
    let err = unitpack::recipe::load(&recipe, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("units[0].on_upgrade") && err.contains("sometimes"),
        "{err}"
    );
}
