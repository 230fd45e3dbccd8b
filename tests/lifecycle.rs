//! The maintainer scripts under a real dpkg, in a Debian 12 chroot made by debootstrap
//! (tests/support/make-root). No systemd runs there, as in an image build: the scripts
//! must enable units offline. Needs root; run with
//! `cargo test --test lifecycle -- --ignored` (.ci/run does).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const USER_LINK: &str = "etc/systemd/user/default.target.wants/my_pulseaudio.service";
const USER_UNIT: &str = "/usr/lib/systemd/user/my_pulseaudio.service";
const PATH_LINK: &str = "etc/systemd/system/multi-user.target.wants/my_pulseaudio.path";
const PATH_UNIT: &str = "/lib/systemd/system/my_pulseaudio.path";
const VENDOR_LINKS: &[&str] = &[
    "etc/systemd/user/default.target.wants/pulseaudio.service",
    "etc/systemd/user/sockets.target.wants/pulseaudio.socket",
];

struct Root {
    path: PathBuf,
}

impl Root {
    fn new(name: &str) -> Root {
        let out = Command::new(repo().join("tests/support/make-root"))
            .args([name, "amd64", "dbus-user-session"])
            .output()
            .expect("tests/support/make-root runs (needs debootstrap, root)");
        assert!(
            out.status.success(),
            "make-root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let root = Root { path };
        let helper = helper_deb();
        root.put(&helper, "helper.deb");
        root.ok(&["dpkg", "-i", "/tmp/helper.deb"]);
        root
    }

    fn put(&self, file: &Path, name: &str) {
        std::fs::copy(file, self.path.join("tmp").join(name)).unwrap();
    }

    fn chroot(&self, args: &[&str]) -> std::process::Output {
        Command::new("chroot")
            .arg(&self.path)
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.chroot(args);
        assert!(
            out.status.success(),
            "chroot {args:?} failed ({:?}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    fn link(&self, rel: &str) -> Option<String> {
        std::fs::read_link(self.path.join(rel))
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }

    fn exists(&self, rel: &str) -> bool {
        self.path.join(rel).symlink_metadata().is_ok()
    }

    /// Every path below the root with its type and link target, minus what dpkg and
    /// the system change on their own (dpkg's database, logs, caches).
    fn listing(&self) -> Vec<String> {
        let out = Command::new("find")
            .arg(".")
            .args([
                "(",
                "-path",
                "./var/lib/dpkg",
                "-o",
                "-path",
                "./var/log",
                "-o",
                "-path",
                "./var/cache",
                "-o",
                "-path",
                "./proc",
                "-o",
                "-path",
                "./sys",
                "-o",
                "-path",
                "./dev",
                "-o",
                "-path",
                "./run",
                "-o",
                "-path",
                "./tmp",
                ")",
                "-prune",
                "-o",
                "-printf",
                "%p %y %l\n",
            ])
            .current_dir(&self.path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
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

/// The seed recipe built as version `version` (the recipe text with its version
/// replaced), copied into the root's /tmp as NAME.deb.
fn seed_version(root: &Root, recipe: &str, version: &str, name: &str) {
    let text = std::fs::read_to_string(seed(recipe))
        .unwrap()
        .replace("version: \"1.0.0\"", &format!("version: \"{version}\""));
    let (dir, path) = recipe_dir(&text, &[]);
    let deb = build(&path, &dir.path().join("out"));
    root.put(&deb, &format!("{name}.deb"));
}

fn diff(before: &[String], after: &[String]) -> String {
    let b: std::collections::BTreeSet<_> = before.iter().collect();
    let a: std::collections::BTreeSet<_> = after.iter().collect();
    let gone: Vec<_> = b.difference(&a).collect();
    let new: Vec<_> = a.difference(&b).collect();
    format!("gone: {gone:?}\nnew: {new:?}")
}

#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn user_unit_lifecycle() {
    let root = Root::new("lifecycle-user");
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    seed_version(&root, "pulseaudio-user.yaml", "1.0.1", "v2");
    // Debian 12's pulseaudio enables its own user units: the seed takes them over.
    let vendor_before: Vec<_> = VENDOR_LINKS.iter().map(|l| root.link(l)).collect();
    assert!(
        vendor_before.iter().all(Option::is_some),
        "precondition: {vendor_before:?}"
    );
    let before = root.listing();

    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "install enables for all users"
    );
    assert_eq!(
        root.ok(&[
            "systemctl",
            "--global",
            "is-enabled",
            "my_pulseaudio.service"
        ])
        .trim(),
        "enabled"
    );
    for l in VENDOR_LINKS {
        assert!(!root.exists(l), "{l} still enabled after the take-over");
    }

    root.ok(&["dpkg", "-r", "my-pulseaudio-user"]);
    assert!(!root.exists(USER_LINK), "remove disables");
    let vendor_after: Vec<_> = VENDOR_LINKS.iter().map(|l| root.link(l)).collect();
    assert_eq!(
        vendor_after, vendor_before,
        "remove restores the vendor units exactly"
    );

    root.ok(&["dpkg", "-P", "my-pulseaudio-user"]);
    assert!(!root.exists("var/lib/unitpack"), "purge removes the state");
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge leaves no trace:\n{}",
        diff(&before, &after)
    );

    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "reinstall after purge enables again"
    );

    // The admin's choice survives upgrades.
    root.ok(&["systemctl", "--global", "disable", "my_pulseaudio.service"]);
    assert!(!root.exists(USER_LINK));
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(USER_LINK),
        "upgrade re-enabled a unit the admin disabled"
    );
    assert_eq!(
        root.ok(&["dpkg-query", "-W", "-f", "${Version}", "my-pulseaudio-user"]),
        "1.0.1-1"
    );

    // Removed while disabled: a reinstall keeps it disabled.
    root.ok(&["dpkg", "-r", "my-pulseaudio-user"]);
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(USER_LINK),
        "reinstall re-enabled a unit the admin had disabled"
    );

    // Removed while enabled: a reinstall enables it again.
    root.ok(&["systemctl", "--global", "enable", "my_pulseaudio.service"]);
    root.ok(&["dpkg", "-r", "my-pulseaudio-user"]);
    assert!(!root.exists(USER_LINK));
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "reinstall after remove restores enablement"
    );

    root.ok(&["dpkg", "-P", "my-pulseaudio-user"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "second purge leaves no trace:\n{}",
        diff(&before, &after)
    );
}

#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn system_path_unit_lifecycle() {
    let root = Root::new("lifecycle-system");
    seed_version(&root, "pulseaudio-root-path.yaml", "1.0.0", "v1");
    seed_version(&root, "pulseaudio-root-path.yaml", "1.0.1", "v2");
    let before = root.listing();

    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(PATH_LINK).as_deref(),
        Some(PATH_UNIT),
        "install enables the path unit"
    );
    assert!(
        !root.exists("etc/systemd/system/multi-user.target.wants/my_pulseaudio.service"),
        "the service is path-activated, not enabled"
    );

    root.ok(&["dpkg", "-r", "my-pulseaudio-root-path"]);
    assert!(!root.exists(PATH_LINK), "remove disables");
    root.ok(&["dpkg", "-P", "my-pulseaudio-root-path"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge leaves no trace:\n{}",
        diff(&before, &after)
    );

    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(PATH_LINK).as_deref(),
        Some(PATH_UNIT),
        "reinstall after purge enables again"
    );
    root.ok(&["systemctl", "disable", "my_pulseaudio.path"]);
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(PATH_LINK),
        "upgrade re-enabled a unit the admin disabled"
    );

    root.ok(&["dpkg", "-P", "my-pulseaudio-root-path"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge after upgrade leaves no trace:\n{}",
        diff(&before, &after)
    );
}

/// Every argument dpkg may pass, called directly: the scripts accept them, change
/// nothing they should not, are idempotent, and reject unknown ones.
#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn scripts_handle_every_dpkg_argument() {
    let root = Root::new("lifecycle-args");
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    let info = "/var/lib/dpkg/info/my-pulseaudio-user";
    let calls: &[&[&str]] = &[
        &["postinst", "configure", "1.0.0-1"],
        &["postinst", "configure", "1.0.0-1"],
        &["postinst", "abort-upgrade", "1.0.1-1"],
        &[
            "postinst",
            "abort-deconfigure",
            "in-favour",
            "other",
            "1.0",
            "removing",
            "x",
            "1.0",
        ],
        &["postinst", "triggered", "some-trigger"],
        &["prerm", "upgrade", "1.0.1-1"],
        &["prerm", "failed-upgrade", "1.0.0-1", "1.0.1-1"],
        &["prerm", "deconfigure", "in-favour", "other", "1.0"],
        &["postrm", "upgrade", "1.0.1-1"],
        &["postrm", "failed-upgrade", "1.0.0-1", "1.0.1-1"],
        &["postrm", "abort-upgrade", "1.0.0-1"],
        &["postrm", "abort-install"],
        &["postrm", "disappear", "other", "1.0"],
    ];
    for call in calls {
        let script = format!("{info}.{}", call[0]);
        let mut args = vec!["sh", script.as_str()];
        args.extend(&call[1..]);
        root.ok(&args);
        assert_eq!(
            root.link(USER_LINK).as_deref(),
            Some(USER_UNIT),
            "after {call:?}"
        );
    }
    // remove twice (idempotent), then abort-remove restores what remove undid.
    root.ok(&["sh", &format!("{info}.prerm"), "remove"]);
    root.ok(&["sh", &format!("{info}.prerm"), "remove"]);
    assert!(!root.exists(USER_LINK));
    root.ok(&["sh", &format!("{info}.postinst"), "abort-remove"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "abort-remove re-enables"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let out = root.chroot(&["sh", &format!("{info}.{script}"), "bogus-argument"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{script} must reject unknown arguments"
        );
    }
}

/// The real helper in the chroot: `unitpack-check doctor` reports the missing user bus
/// while dbus-user-session is absent, and passes once it is installed.
#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn doctor_reports_the_missing_user_bus() {
    let out = Command::new(repo().join("tests/support/make-root"))
        .args(["lifecycle-doctor", "amd64"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make-root: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = Root {
        path: PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()),
    };
    assert!(
        !root.exists("usr/lib/systemd/user/dbus.socket"),
        "precondition: no user bus"
    );
    root.put(&helper_deb(), "helper.deb");
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    // The seed depends on dbus-user-session: force it in to see what the helper says.
    let install = root.ok(&[
        "dpkg",
        "--force-depends",
        "-i",
        "/tmp/helper.deb",
        "/tmp/v1.deb",
    ]);
    assert!(
        install.contains("UC003"),
        "postinst should warn about the user bus:\n{install}"
    );

    // The seed Wants= (not Requires=) the bus, since PulseAudio runs without it: a
    // warning, not an error.
    let doctor = root.chroot(&["unitpack-check", "doctor"]);
    let report = String::from_utf8_lossy(&doctor.stdout).into_owned()
        + &String::from_utf8_lossy(&doctor.stderr);
    assert!(
        report
            .lines()
            .any(|l| l.contains("UC003 warning") && l.contains("install dbus-user-session")),
        "doctor must report the missing user bus:\n{report}"
    );

    root.ok(&[
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "dbus-user-session",
    ]);
    let doctor = root.chroot(&["unitpack-check", "doctor"]);
    let report = String::from_utf8_lossy(&doctor.stdout).into_owned()
        + &String::from_utf8_lossy(&doctor.stderr);
    assert_eq!(
        doctor.status.code(),
        Some(0),
        "doctor must pass with dbus-user-session:\n{report}"
    );
    assert!(report.lines().any(|l| l.contains("UC003 ok")), "{report}");
    assert!(
        !report
            .lines()
            .any(|l| l.contains("UC003 warning") || l.contains("UC003 error")),
        "{report}"
    );
}

/// A backup timer with its oneshot service and a socket-activated echo service: the
/// system units of issue 16, whose enablement was lost on remove + reinstall.
const TIMER_SOCKET_RECIPE: &str = "tests/e2e/recipes/timer-socket.yaml";
const TIMER_LINK: &str = "etc/systemd/system/timers.target.wants/backup.timer";
const TIMER_UNIT: &str = "/lib/systemd/system/backup.timer";
const SOCKET_LINK: &str = "etc/systemd/system/sockets.target.wants/echo.socket";
const SOCKET_UNIT: &str = "/lib/systemd/system/echo.socket";

/// A recipe of the repository built as `version`, copied into the root's /tmp as NAME.deb.
fn recipe_version(root: &Root, recipe: &str, version: &str, name: &str) {
    let text = std::fs::read_to_string(repo().join(recipe)).unwrap();
    let text = text.replace("version: \"1.0.0\"", &format!("version: \"{version}\""));
    let (dir, path) = recipe_dir(&text, &[]);
    // The files the recipe names beside it (script snippets), copied along.
    let beside = repo().join(recipe).parent().unwrap().to_path_buf();
    let copy = Command::new("cp")
        .arg("-r")
        .arg(beside.join("."))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copy.success());
    std::fs::write(&path, &text).unwrap();
    let deb = build(&path, &dir.path().join("out"));
    root.put(&deb, &format!("{name}.deb"));
}

/// Install, remove, reinstall, an admin's disable across an upgrade and a removal,
/// purge: the timer and the socket are enabled exactly when they should be.
fn timer_and_socket_lifecycle(root: &Root) {
    recipe_version(root, TIMER_SOCKET_RECIPE, "1.0.0", "v1");
    recipe_version(root, TIMER_SOCKET_RECIPE, "1.0.1", "v2");
    let before = root.listing();
    let enabled = |root: &Root, what: &str| {
        assert_eq!(root.link(TIMER_LINK).as_deref(), Some(TIMER_UNIT), "{what}");
        assert_eq!(
            root.link(SOCKET_LINK).as_deref(),
            Some(SOCKET_UNIT),
            "{what}"
        );
    };

    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    enabled(root, "install enables the timer and the socket");

    root.ok(&["dpkg", "-r", "timer-socket"]);
    assert!(
        !root.exists(TIMER_LINK) && !root.exists(SOCKET_LINK),
        "remove disables"
    );
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    enabled(root, "reinstall after a remove while enabled enables again");
    for unit in ["backup.timer", "echo.socket"] {
        assert_eq!(
            root.ok(&["systemctl", "is-enabled", unit]).trim(),
            "enabled"
        );
    }

    // Twice: the second round starts from the state the first reinstall left.
    root.ok(&["dpkg", "-r", "timer-socket"]);
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    enabled(root, "second reinstall after remove");

    // The admin's disable survives an upgrade, and a remove + reinstall.
    root.ok(&["systemctl", "disable", "backup.timer"]);
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(TIMER_LINK),
        "upgrade re-enabled the admin's disabled timer"
    );
    assert_eq!(
        root.link(SOCKET_LINK).as_deref(),
        Some(SOCKET_UNIT),
        "upgrade kept the socket"
    );
    root.ok(&["dpkg", "-r", "timer-socket"]);
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(TIMER_LINK),
        "reinstall re-enabled the admin's disabled timer"
    );
    assert_eq!(
        root.link(SOCKET_LINK).as_deref(),
        Some(SOCKET_UNIT),
        "reinstall lost the socket"
    );

    root.ok(&["dpkg", "-P", "timer-socket"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge leaves no trace:\n{}",
        diff(&before, &after)
    );
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    enabled(root, "install after purge enables both again");
    root.ok(&["dpkg", "-P", "timer-socket"]);
}

#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn timer_and_socket_survive_reinstall() {
    let root = Root::new("lifecycle-timer-socket");
    assert!(
        root.exists("usr/bin/deb-systemd-helper"),
        "precondition: Debian 12's init-system-helpers"
    );
    timer_and_socket_lifecycle(&root);
}

/// The same without init-system-helpers' tools (a minimal image, or a system without
/// them): the scripts fall back to systemctl.
#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn timer_and_socket_survive_reinstall_without_deb_systemd_helper() {
    let root = Root::new("lifecycle-timer-socket-nohelper");
    for tool in ["deb-systemd-helper", "deb-systemd-invoke"] {
        root.ok(&[
            "dpkg-divert",
            "--local",
            "--rename",
            "--divert",
            &format!("/usr/bin/{tool}.hidden"),
            &format!("/usr/bin/{tool}"),
        ]);
    }
    assert!(!root.exists("usr/bin/deb-systemd-helper"));
    timer_and_socket_lifecycle(&root);
}

/// Template units enabled by instance: the system template's listed instances and the
/// user template's DefaultInstance=, linked to the template as `systemctl enable foo@a`
/// links them; disabled on removal, enabled again on reinstall, gone after purge.
#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn template_instances_enabled_and_removed() {
    let root = Root::new("lifecycle-instances");
    recipe_version(&root, "tests/e2e/recipes/instances.yaml", "1.0.0", "v1");
    recipe_version(&root, "tests/e2e/recipes/instances.yaml", "1.0.1", "v2");
    let links = [
        (
            "etc/systemd/system/multi-user.target.wants/worker@a.service",
            "/lib/systemd/system/worker@.service",
        ),
        (
            "etc/systemd/system/multi-user.target.wants/worker@b.service",
            "/lib/systemd/system/worker@.service",
        ),
        (
            "etc/systemd/user/default.target.wants/hello@world.service",
            "/usr/lib/systemd/user/hello@.service",
        ),
    ];
    let all_enabled = |what: &str| {
        for (link, target) in links {
            assert_eq!(root.link(link).as_deref(), Some(target), "{what}: {link}");
        }
    };
    let before = root.listing();

    let install = root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    all_enabled("install");
    assert!(
        !install.contains("missing the instance name") && !install.contains("UC00"),
        "install output:\n{install}"
    );
    for unit in ["worker@a.service", "worker@b.service"] {
        assert_eq!(
            root.ok(&["systemctl", "is-enabled", unit]).trim(),
            "enabled"
        );
    }
    assert_eq!(
        root.ok(&["systemctl", "--global", "is-enabled", "hello@world.service"])
            .trim(),
        "enabled"
    );
    assert!(
        !root.exists("etc/systemd/system/multi-user.target.wants/worker@.service"),
        "the template itself is not linked"
    );

    let remove = root.ok(&["dpkg", "-r", "instances"]);
    for (link, _) in links {
        assert!(!root.exists(link), "remove disables {link}");
    }
    assert!(!remove.contains("missing the instance name"), "{remove}");
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    all_enabled("reinstall after remove");

    // The admin's disable of one instance survives an upgrade.
    root.ok(&["systemctl", "disable", "worker@b.service"]);
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert!(!root.exists(links[1].0), "upgrade re-enabled worker@b");
    assert_eq!(root.link(links[0].0).as_deref(), Some(links[0].1));

    root.ok(&["dpkg", "-P", "instances"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge leaves no trace:\n{}",
        diff(&before, &after)
    );
}

/// Drop-ins for units of other packages (Debian's systemd-journald.service and
/// pulseaudio's user unit) land in the vendor unit directories, the helper finds
/// them, and removal and purge take them away without a trace.
#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn dropins_installed_and_removed_cleanly() {
    let root = Root::new("lifecycle-dropins");
    recipe_version(&root, "tests/e2e/recipes/dropins.yaml", "1.0.0", "v1");
    let system = "lib/systemd/system/systemd-journald.service.d/distro-dropins.conf";
    let user = "usr/lib/systemd/user/pulseaudio.service.d/50-unitpack-e2e.conf";
    let before = root.listing();

    let install = root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert!(
        !install.contains("UC007"),
        "the helper found no drop-in problem:\n{install}"
    );
    let text = std::fs::read_to_string(root.path.join(system)).unwrap();
    assert!(
        text.contains("[Service]\nEnvironment=UNITPACK_DROPIN=journald\n"),
        "{text}"
    );
    assert!(root.exists(user));
    let doctor = root.ok(&["unitpack-check", "doctor"]);
    assert!(
        doctor.contains("UC007 ok") && doctor.contains("drop-in installed at /lib/systemd/system/systemd-journald.service.d/distro-dropins.conf"),
        "{doctor}"
    );
    // systemd's own view, offline: systemd-delta lists the unit as extended by it.
    let delta = root.ok(&["systemd-delta", "--no-pager", "--type=extended"]);
    assert!(
        delta.lines().any(|l| l.contains("[EXTENDED]")
            && l.contains("/systemd-journald.service")
            && l.contains("systemd-journald.service.d/distro-dropins.conf")),
        "{delta}"
    );

    // The recipe's own snippets ran with dpkg's arguments.
    let log = root.path.join("var/lib/distro-dropins/log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(read_log(), "postinst configure \n");

    root.ok(&["dpkg", "-r", "distro-dropins"]);
    assert_eq!(
        read_log(),
        "postinst configure \nprerm remove\npostrm remove\n"
    );
    assert!(
        !root.exists(system) && !root.exists(user),
        "remove takes the drop-ins away"
    );
    assert!(
        !root.exists("lib/systemd/system/systemd-journald.service.d"),
        "and their directories"
    );
    root.ok(&["dpkg", "-P", "distro-dropins"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge leaves no trace:\n{}",
        diff(&before, &after)
    );
}

/// Units that other packages ship: enabled by this package when they are not enabled
/// yet, disabled on removal only if this package enabled them, enabled again on
/// reinstall, and the admin's disable stands.
#[test]
#[ignore = "needs root and debootstrap; run by .ci/run"]
fn units_of_other_packages_enabled_and_given_back() {
    let root = Root::new("lifecycle-other-units");
    recipe_version(&root, "tests/e2e/recipes/other-units.yaml", "1.0.0", "v1");
    recipe_version(&root, "tests/e2e/recipes/other-units.yaml", "1.0.1", "v2");
    let unit = "systemd-time-wait-sync.service";
    let state = |root: &Root| {
        let out = root.chroot(&["systemctl", "is-enabled", unit]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let socket = "etc/systemd/user/sockets.target.wants/pulseaudio.socket";
    let socket_before = root.link(socket);
    assert!(
        socket_before.is_some(),
        "precondition: Debian enables pulseaudio.socket"
    );
    assert_eq!(state(&root), "disabled", "precondition");
    let before = root.listing();

    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(state(&root), "enabled", "install enables it");
    root.ok(&["dpkg", "-r", "other-units"]);
    assert_eq!(state(&root), "disabled", "remove gives it back disabled");
    assert_eq!(
        root.link(socket),
        socket_before,
        "an already enabled unit is not ours"
    );
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(
        state(&root),
        "enabled",
        "reinstall after remove enables it again"
    );

    root.ok(&["systemctl", "disable", unit]);
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert_eq!(
        state(&root),
        "disabled",
        "upgrade re-enabled the admin's disabled unit"
    );
    root.ok(&["dpkg", "-r", "other-units"]);
    root.ok(&["dpkg", "-i", "/tmp/v2.deb"]);
    assert_eq!(
        state(&root),
        "disabled",
        "reinstall re-enabled the admin's disabled unit"
    );
    assert_eq!(root.link(socket), socket_before);

    root.ok(&["dpkg", "-P", "other-units"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge leaves no trace:\n{}",
        diff(&before, &after)
    );
    root.ok(&["dpkg", "-i", "/tmp/v1.deb"]);
    assert_eq!(
        state(&root),
        "enabled",
        "install after purge enables it again"
    );
    root.ok(&["dpkg", "-P", "other-units"]);
    assert_eq!(state(&root), "disabled", "purge gives it back disabled");
}
