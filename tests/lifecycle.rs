//! The maintainer scripts under a real dpkg, in a Debian 12 chroot made by debootstrap
//! (tests/support/make-root; each test's root an overlay of its own on the cache
//! unpacked once, see `Root::bare`). No systemd runs there, as in an image build: the scripts
//! must enable units offline. Every test runs twice (`lifecycle_tests!`): under Debian
//! 12's dpkg inside the chroot, and under the board's dpkg 1.18.4 (Ubuntu 16.04), built
//! from source by scripts/vendor/dpkg-1.18.4 and run from the host on the root. Needs
//! root; run with `cargo test --test lifecycle -- --ignored` (scripts/test does).
//!
//! A new test is a `fn NAME(dpkg: &Dpkg)` named in the `lifecycle_tests!` list; it makes
//! its root with `Root::new(name, dpkg)` and calls dpkg through `root.dpkg(..)` /
//! `root.dpkg_fails(..)` / `root.status(..)`, never as `root.ok(&["dpkg", ..])`, so that
//! it runs under both.

mod common;

use common::diff::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const USER_LINK: &str = "etc/systemd/user/default.target.wants/my_pulseaudio.service";
const USER_UNIT: &str = "/usr/lib/systemd/user/my_pulseaudio.service";
const SYSTEM_LINK: &str = "etc/systemd/system/user@0.service.wants/my_pulseaudio.service";
const SYSTEM_UNIT: &str = "/lib/systemd/system/my_pulseaudio.service";
const VENDOR_LINKS: &[&str] = &[
    "etc/systemd/user/default.target.wants/pulseaudio.service",
    "etc/systemd/user/sockets.target.wants/pulseaudio.socket",
];

/// The dpkg a test runs under.
#[derive(Clone)]
enum Dpkg {
    /// Debian 12's own, run inside the chroot.
    Debian12,
    /// The board's 1.18.4 (install prefix of scripts/vendor/dpkg-1.18.4), run from the
    /// host as `dpkg --root=R --admindir=R/var/lib/dpkg`: it runs the maintainer scripts
    /// chrooted into R, as on the board. Its PATH must lead to its own dpkg-deb (dpkg
    /// execs it by name) and to ldconfig (dpkg checks for it); 1.18.4 knows no
    /// DPKG_ROOT and needs no --force option for this.
    Upstream1184(PathBuf),
}

impl Dpkg {
    fn slug(&self) -> &'static str {
        match self {
            Dpkg::Debian12 => "debian12",
            Dpkg::Upstream1184(_) => "dpkg1184",
        }
    }
}

/// Makes every lifecycle test run under both dpkgs: for each `NAME`, an ordinary
/// `fn NAME(dpkg: &Dpkg)` below, a module with the tests `NAME::debian_12` and
/// `NAME::dpkg_1_18_4` that call it (the bodies stay outside the macro, where rustfmt
/// formats them).
macro_rules! lifecycle_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[test]
            #[ignore = "needs root and debootstrap; run by scripts/test"]
            fn debian_12() {
                super::$name(&Dpkg::Debian12)
            }

            #[test]
            #[ignore = "needs root and debootstrap; run by scripts/test"]
            fn dpkg_1_18_4() {
                if let Some(prefix) = crate::common::dpkg_1_18_4() {
                    super::$name(&Dpkg::Upstream1184(prefix))
                }
            }
        }
    )*};
}

lifecycle_tests!(
    user_unit_lifecycle,
    system_unit_lifecycle,
    abort_install_leaves_nothing,
    abort_upgrade_keeps_the_old_version,
    abort_remove_restores_the_package,
    abort_deconfigure_restores_the_package,
    scripts_handle_every_dpkg_argument,
    doctor_reports_the_missing_user_bus,
    timer_and_socket_survive_reinstall,
    timer_and_socket_survive_reinstall_without_deb_systemd_helper,
    template_instances_enabled_and_removed,
    dropins_installed_and_removed_cleanly,
    units_of_other_packages_enabled_and_given_back,
    debhelper_state_model,
    tmpfiles_and_sysusers_applied_on_configure,
    presets_honoured_on_first_install,
    differential_against_debhelper,
    differential_against_debhelper_with_presets,
    renamed_unit_links_removed_on_upgrade
);

struct Root {
    /// The overlay mount: what the test sees.
    path: PathBuf,
    /// Holds the mount point and its upper and work layers.
    dir: PathBuf,
    dpkg: Dpkg,
}

impl Root {
    /// A fresh Debian 12 root (with EXTRA packages) named NAME-DPKG, nothing installed:
    /// an overlay mount whose lower layer is the debootstrap cache unpacked once
    /// (`make-root --base`, read-only) and whose upper layer is this root's alone, so
    /// that no other test sees what it changes. Unpacking the 0.5 GiB cache for each
    /// root was most of this tier's time.
    fn bare(name: &str, dpkg: &Dpkg, extra: &[&str]) -> Root {
        let out = Command::new(repo().join("tests/support/make-root"))
            .args(["--base", "amd64"])
            .args((!extra.is_empty()).then(|| extra.join(",")))
            .output()
            .expect("tests/support/make-root runs (needs debootstrap, root)");
        assert!(
            out.status.success(),
            "make-root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lower = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let dir = repo()
            .join("target/roots")
            .join(format!("{name}-{}", dpkg.slug()));
        let path = dir.join("root");
        // An earlier run's root, left by a killed run: unmounted (nothing when it is
        // not mounted) and removed.
        let _ = Command::new("umount")
            .args(["-R", "-q"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status();
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        for sub in ["upper", "work", "root"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // mount(8) splits its options at commas and lowerdir at colons.
        for p in [&lower, &dir] {
            let s = p.to_string_lossy();
            assert!(
                !s.contains([',', ':']),
                "{s}: a path with ',' or ':' cannot be an overlay layer"
            );
        }
        let out = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o"])
            .arg(format!(
                "lowerdir={},upperdir={},workdir={}",
                lower.display(),
                dir.join("upper").display(),
                dir.join("work").display()
            ))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "overlay mount of {} (target/ must be on a file system overlayfs takes as upper layer, e.g. ext4): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Root {
            path,
            dir,
            dpkg: dpkg.clone(),
        }
    }

    /// A fresh root with dbus-user-session and the helper package installed.
    fn new(name: &str, dpkg: &Dpkg) -> Root {
        let root = Root::bare(name, dpkg, &["dbus-user-session"]);
        root.put(&helper_deb(), "helper.deb");
        root.dpkg(&["-i", "/tmp/helper.deb"]);
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

    /// PROGRAM (dpkg or dpkg-query) of the test's dpkg on this root. Arguments that
    /// are absolute paths name files inside the root.
    fn dpkg_command(&self, program: &str, args: &[&str]) -> std::process::Output {
        match &self.dpkg {
            Dpkg::Debian12 => {
                let mut all = vec![program];
                all.extend(args);
                self.chroot(&all)
            }
            Dpkg::Upstream1184(prefix) => {
                let mut cmd = Command::new(prefix.join("bin").join(program));
                if program == "dpkg" {
                    cmd.arg(format!("--root={}", self.path.display()));
                }
                cmd.arg(format!("--admindir={}/var/lib/dpkg", self.path.display()));
                for arg in args {
                    match arg.strip_prefix('/') {
                        Some(inside) => cmd.arg(self.path.join(inside)),
                        None => cmd.arg(arg),
                    };
                }
                cmd.env("DEBIAN_FRONTEND", "noninteractive")
                    .env(
                        "PATH",
                        format!("{}/bin:/usr/sbin:/usr/bin:/sbin:/bin", prefix.display()),
                    )
                    .output()
                    .unwrap()
            }
        }
    }

    /// dpkg ARGS, which must succeed; its output.
    fn dpkg(&self, args: &[&str]) -> String {
        let out = self.dpkg_command("dpkg", args);
        assert!(
            out.status.success(),
            "{} dpkg {args:?} failed ({:?}):\n{}{}",
            self.dpkg.slug(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// dpkg ARGS, which must fail; its output.
    fn dpkg_fails(&self, args: &[&str]) -> String {
        let out = self.dpkg_command("dpkg", args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{} dpkg {args:?} should have failed:\n{text}",
            self.dpkg.slug()
        );
        text
    }

    /// dpkg's record of PACKAGE: "STATUS VERSION", or "" when dpkg does not know it.
    fn status(&self, package: &str) -> String {
        let out = self.dpkg_command("dpkg-query", &["-W", "-f", "${Status} ${Version}", package]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
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

    /// Asserts that the root's listing is `before` again; the message says `what` should
    /// have held and what is gone and new.
    #[track_caller]
    fn assert_listing(&self, before: &[String], what: &str) {
        let after = self.listing();
        assert_eq!(before, after, "{what}:\n{}", diff(before, &after));
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
    /// Unmounts the root, also after a failed test (a mount left behind would outlive
    /// the run); after a pass, removes it, after a failure keeps its upper layer: what
    /// the test changed in the root.
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg("-R")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if std::thread::panicking() {
            eprintln!(
                "{}: what the failed test changed in the root is in {}",
                self.path.display(),
                self.dir.join("upper").display()
            );
        } else if unmounted {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            panic!("{}: umount failed", self.path.display());
        }
    }
}

/// The seed recipe built as version `version` (the recipe text with its version
/// replaced), copied into the root's /tmp as NAME.deb.
fn seed_version(root: &Root, recipe: &str, version: &str, name: &str) {
    seed_deb(root, recipe, version, "", name);
}

/// The seed recipe as version `version` that also ships /usr/bin/pactl, a file of
/// Debian's pulseaudio-utils (installed in the root): dpkg refuses to unpack it, after
/// the maintainer scripts that precede unpacking ran, and must roll back (abort-*).
fn conflicting_seed_version(root: &Root, recipe: &str, version: &str, name: &str) {
    let assets = "assets:\n  - source: pactl\n    dest: /usr/bin/pactl\n";
    seed_deb(root, recipe, version, assets, name);
}

fn seed_deb(root: &Root, recipe: &str, version: &str, extra: &str, name: &str) {
    let text = std::fs::read_to_string(seed(recipe))
        .unwrap()
        .replace("version: \"1.0.0\"", &format!("version: \"{version}\""))
        + extra;
    let (dir, path) = recipe_dir(&text, &[("pactl", "#!/bin/sh\n")]);
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

    root.dpkg(&["-i", "/tmp/v1.deb"]);
    enabled(root, "install enables the timer and the socket");

    root.dpkg(&["-r", "timer-socket"]);
    enabled(
        root,
        "remove keeps the links until purge (Policy 10.7.3, as debhelper)",
    );
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    enabled(root, "reinstall after a remove while enabled enables again");
    for unit in ["backup.timer", "echo.socket"] {
        assert_eq!(
            root.ok(&["systemctl", "is-enabled", unit]).trim(),
            "enabled"
        );
    }

    // Twice: the second round starts from the state the first reinstall left.
    root.dpkg(&["-r", "timer-socket"]);
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    enabled(root, "second reinstall after remove");

    // The admin's disable survives an upgrade, and a remove + reinstall.
    root.ok(&["systemctl", "disable", "backup.timer"]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(TIMER_LINK),
        "upgrade re-enabled the admin's disabled timer"
    );
    assert_eq!(
        root.link(SOCKET_LINK).as_deref(),
        Some(SOCKET_UNIT),
        "upgrade kept the socket"
    );
    root.dpkg(&["-r", "timer-socket"]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(TIMER_LINK),
        "reinstall re-enabled the admin's disabled timer"
    );
    assert_eq!(
        root.link(SOCKET_LINK).as_deref(),
        Some(SOCKET_UNIT),
        "reinstall lost the socket"
    );

    root.dpkg(&["-P", "timer-socket"]);
    root.assert_listing(&before, "purge leaves no trace");
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    enabled(root, "install after purge enables both again");
    root.dpkg(&["-P", "timer-socket"]);
}

fn user_unit_lifecycle(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-user", dpkg);
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    seed_version(&root, "pulseaudio-user.yaml", "1.0.1", "v2");
    // Debian 12's pulseaudio enables its own user units: the seed takes them over.
    let vendor_before: Vec<_> = VENDOR_LINKS.iter().map(|l| root.link(l)).collect();
    assert!(
        vendor_before.iter().all(Option::is_some),
        "precondition: {vendor_before:?}"
    );
    let before = root.listing();

    root.dpkg(&["-i", "/tmp/v1.deb"]);
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
    assert!(
        !Path::new("/").join(USER_LINK).exists(),
        "the maintainer scripts ran outside the root"
    );

    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert_eq!(
        root.status("my-pulseaudio-user"),
        "install ok installed 1.0.1-1"
    );
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "upgrade keeps the unit enabled"
    );
    for l in VENDOR_LINKS {
        assert!(!root.exists(l), "{l} enabled again by the upgrade");
    }

    root.dpkg(&["-r", "my-pulseaudio-user"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "remove keeps the links until purge (Policy 10.7.3, as debhelper)"
    );
    let vendor_after: Vec<_> = VENDOR_LINKS.iter().map(|l| root.link(l)).collect();
    assert_eq!(
        vendor_after, vendor_before,
        "remove restores the vendor units exactly"
    );

    root.dpkg(&["-P", "my-pulseaudio-user"]);
    assert!(!root.exists("var/lib/unitpack"), "purge removes the state");
    root.assert_listing(&before, "purge leaves no trace");

    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "reinstall after purge enables again"
    );

    // The admin's choice survives upgrades.
    root.ok(&["systemctl", "--global", "disable", "my_pulseaudio.service"]);
    assert!(!root.exists(USER_LINK));
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(USER_LINK),
        "upgrade re-enabled a unit the admin disabled"
    );
    assert_eq!(
        root.status("my-pulseaudio-user"),
        "install ok installed 1.0.1-1"
    );

    // Removed while disabled: a reinstall keeps it disabled.
    root.dpkg(&["-r", "my-pulseaudio-user"]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(USER_LINK),
        "reinstall re-enabled a unit the admin had disabled"
    );

    // Removed while enabled: a reinstall enables it again.
    root.ok(&["systemctl", "--global", "enable", "my_pulseaudio.service"]);
    root.dpkg(&["-r", "my-pulseaudio-user"]);
    assert!(root.exists(USER_LINK));
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "reinstall after remove restores enablement"
    );

    root.dpkg(&["-P", "my-pulseaudio-user"]);
    root.assert_listing(&before, "second purge leaves no trace");
}

/// Design B: a system service wanted by root's user manager (user@0.service).
fn system_unit_lifecycle(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-system", dpkg);
    seed_version(&root, "pulseaudio-root-path.yaml", "1.0.0", "v1");
    seed_version(&root, "pulseaudio-root-path.yaml", "1.0.1", "v2");
    let before = root.listing();

    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(SYSTEM_LINK).as_deref(),
        Some(SYSTEM_UNIT),
        "install enables the service for user@0.service"
    );
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert_eq!(
        root.link(SYSTEM_LINK).as_deref(),
        Some(SYSTEM_UNIT),
        "upgrade keeps the service enabled"
    );

    root.dpkg(&["-r", "my-pulseaudio-root-path"]);
    assert_eq!(
        root.link(SYSTEM_LINK).as_deref(),
        Some(SYSTEM_UNIT),
        "remove keeps the links until purge"
    );
    root.dpkg(&["-P", "my-pulseaudio-root-path"]);
    root.assert_listing(&before, "purge leaves no trace");

    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(SYSTEM_LINK).as_deref(),
        Some(SYSTEM_UNIT),
        "reinstall after purge enables again"
    );
    root.ok(&["systemctl", "disable", "my_pulseaudio.service"]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert!(
        !root.exists(SYSTEM_LINK),
        "upgrade re-enabled a unit the admin disabled"
    );

    root.dpkg(&["-P", "my-pulseaudio-root-path"]);
    root.assert_listing(&before, "purge after upgrade leaves no trace");
}

/// A first install that dpkg cannot unpack: postrm abort-install, and nothing left.
fn abort_install_leaves_nothing(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-abort-install", dpkg);
    conflicting_seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "bad");
    let before = root.listing();
    let out = root.dpkg_fails(&["-i", "/tmp/bad.deb"]);
    assert!(out.contains("/usr/bin/pactl"), "{out}");
    assert!(
        !root
            .status("my-pulseaudio-user")
            .contains("installed 1.0.0-1"),
        "{}",
        root.status("my-pulseaudio-user")
    );
    root.assert_listing(&before, "abort-install leaves no trace");
    root.dpkg(&["-P", "my-pulseaudio-user"]);
}

/// An upgrade that dpkg cannot unpack: new postrm and old postinst abort-upgrade
/// leave the old version installed, enabled or disabled as the admin had it.
fn abort_upgrade_keeps_the_old_version(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-abort-upgrade", dpkg);
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    conflicting_seed_version(&root, "pulseaudio-user.yaml", "1.0.1", "bad");
    let before = root.listing();
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    let installed = root.listing();

    let out = root.dpkg_fails(&["-i", "/tmp/bad.deb"]);
    assert!(out.contains("/usr/bin/pactl"), "{out}");
    assert_eq!(
        root.status("my-pulseaudio-user"),
        "install ok installed 1.0.0-1"
    );
    root.assert_listing(&installed, "a failed upgrade changes nothing");

    root.ok(&["systemctl", "--global", "disable", "my_pulseaudio.service"]);
    root.dpkg_fails(&["-i", "/tmp/bad.deb"]);
    assert_eq!(
        root.status("my-pulseaudio-user"),
        "install ok installed 1.0.0-1"
    );
    assert!(
        !root.exists(USER_LINK),
        "abort-upgrade re-enabled a unit the admin disabled"
    );

    root.dpkg(&["-P", "my-pulseaudio-user"]);
    root.assert_listing(&before, "purge leaves no trace");
}

/// A removal whose prerm fails half-way (it cannot put back a vendor unit's link:
/// the admin made its directory a file): postinst abort-remove takes the package
/// back to installed and enabled, and a later removal restores the vendor units.
fn abort_remove_restores_the_package(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-abort-remove", dpkg);
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    let vendor_before: Vec<_> = VENDOR_LINKS.iter().map(|l| root.link(l)).collect();
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    let installed = root.listing();

    let socket_wants = root.path.join("etc/systemd/user/sockets.target.wants");
    std::fs::remove_dir_all(&socket_wants).unwrap();
    std::fs::write(&socket_wants, "").unwrap();
    let out = root.dpkg_fails(&["-r", "my-pulseaudio-user"]);
    assert!(out.contains("pre-removal script"), "{out}");
    // Still installed (the selection stays "deinstall").
    assert_eq!(
        root.status("my-pulseaudio-user"),
        "deinstall ok installed 1.0.0-1"
    );
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "abort-remove re-enables"
    );
    assert!(
        !root.exists(VENDOR_LINKS[0]),
        "abort-remove takes the vendor unit over again"
    );

    std::fs::remove_file(&socket_wants).unwrap();
    std::fs::create_dir(&socket_wants).unwrap();
    root.assert_listing(&installed, "abort-remove restores the installed state");
    root.dpkg(&["-r", "my-pulseaudio-user"]);
    let vendor_after: Vec<_> = VENDOR_LINKS.iter().map(|l| root.link(l)).collect();
    assert_eq!(
        vendor_after, vendor_before,
        "remove restores the vendor units"
    );
}

/// A package that Breaks ours and then cannot be unpacked: dpkg deconfigures ours in
/// its favour (prerm deconfigure), and on the failure puts it back (postinst
/// abort-deconfigure), enabled as before.
fn abort_deconfigure_restores_the_package(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-abort-deconfigure", dpkg);
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    let breaker = MINIMAL.replace(
        "  license: MIT\n",
        "  license: MIT\n  breaks:\n    - my-pulseaudio-user\n",
    ) + "assets:\n  - source: pactl\n    dest: /usr/bin/pactl\n";
    let (dir, recipe) = recipe_dir(&breaker, &[("pactl", "#!/bin/sh\n")]);
    root.put(&build(&recipe, &dir.path().join("out")), "breaker.deb");
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    let installed = root.listing();

    let out = root.dpkg_fails(&["--auto-deconfigure", "-i", "/tmp/breaker.deb"]);
    assert!(out.contains("will deconfigure my-pulseaudio-user"), "{out}");
    assert!(out.contains("/usr/bin/pactl"), "{out}");
    assert_eq!(
        root.status("my-pulseaudio-user"),
        "install ok installed 1.0.0-1"
    );
    root.assert_listing(&installed, "abort-deconfigure restores the installed state");
}

/// Every argument dpkg may pass, called directly: the scripts accept them, change
/// nothing they should not, are idempotent, and reject unknown ones.
fn scripts_handle_every_dpkg_argument(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-args", dpkg);
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    root.dpkg(&["-i", "/tmp/v1.deb"]);
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
    // remove twice (idempotent): the links stay until purge; abort-remove keeps them.
    root.ok(&["sh", &format!("{info}.prerm"), "remove"]);
    root.ok(&["sh", &format!("{info}.prerm"), "remove"]);
    assert_eq!(root.link(USER_LINK).as_deref(), Some(USER_UNIT));
    root.ok(&["sh", &format!("{info}.postinst"), "abort-remove"]);
    assert_eq!(
        root.link(USER_LINK).as_deref(),
        Some(USER_UNIT),
        "abort-remove keeps the unit enabled"
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

/// The real helper in the chroot: `unitpack-check doctor` reports the missing user
/// bus while dbus-user-session is absent, and passes once it is installed.
fn doctor_reports_the_missing_user_bus(dpkg: &Dpkg) {
    let root = Root::bare("lifecycle-doctor", dpkg, &[]);
    assert!(
        !root.exists("usr/lib/systemd/user/dbus.socket"),
        "precondition: no user bus"
    );
    root.put(&helper_deb(), "helper.deb");
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    // The seed depends on dbus-user-session: force it in to see what the helper says.
    let install = root.dpkg(&["--force-depends", "-i", "/tmp/helper.deb", "/tmp/v1.deb"]);
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

fn timer_and_socket_survive_reinstall(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-timer-socket", dpkg);
    assert!(
        root.exists("usr/bin/deb-systemd-helper"),
        "precondition: Debian 12's init-system-helpers"
    );
    timer_and_socket_lifecycle(&root);
}

/// The same without init-system-helpers' tools (a minimal image, or a system without
/// them): the scripts fall back to systemctl.
fn timer_and_socket_survive_reinstall_without_deb_systemd_helper(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-timer-socket-nohelper", dpkg);
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
fn template_instances_enabled_and_removed(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-instances", dpkg);
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

    let install = root.dpkg(&["-i", "/tmp/v1.deb"]);
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

    let remove = root.dpkg(&["-r", "instances"]);
    all_enabled("remove keeps the links until purge");
    assert!(!remove.contains("missing the instance name"), "{remove}");
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    all_enabled("reinstall after remove");

    // The admin's disable of one instance survives an upgrade.
    root.ok(&["systemctl", "disable", "worker@b.service"]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert!(!root.exists(links[1].0), "upgrade re-enabled worker@b");
    assert_eq!(root.link(links[0].0).as_deref(), Some(links[0].1));

    root.dpkg(&["-P", "instances"]);
    root.assert_listing(&before, "purge leaves no trace");
}

/// Drop-ins for units of other packages (Debian's systemd-journald.service and
/// pulseaudio's user unit) land in the vendor unit directories, the helper finds
/// them, and removal and purge take them away without a trace.
fn dropins_installed_and_removed_cleanly(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-dropins", dpkg);
    recipe_version(&root, "tests/e2e/recipes/dropins.yaml", "1.0.0", "v1");
    let system = "lib/systemd/system/systemd-journald.service.d/distro-dropins.conf";
    let user = "usr/lib/systemd/user/pulseaudio.service.d/50-unitpack-e2e.conf";
    let before = root.listing();

    let install = root.dpkg(&["-i", "/tmp/v1.deb"]);
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

    root.dpkg(&["-r", "distro-dropins"]);
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
    root.dpkg(&["-P", "distro-dropins"]);
    root.assert_listing(&before, "purge leaves no trace");
}

/// Units that other packages ship: enabled by this package when they are not enabled
/// yet, disabled on removal only if this package enabled them, enabled again on
/// reinstall, and the admin's disable stands.
fn units_of_other_packages_enabled_and_given_back(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-other-units", dpkg);
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

    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(state(&root), "enabled", "install enables it");
    root.dpkg(&["-r", "other-units"]);
    assert_eq!(state(&root), "disabled", "remove gives it back disabled");
    assert_eq!(
        root.link(socket),
        socket_before,
        "an already enabled unit is not ours"
    );
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(
        state(&root),
        "enabled",
        "reinstall after remove enables it again"
    );

    root.ok(&["systemctl", "disable", unit]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert_eq!(
        state(&root),
        "disabled",
        "upgrade re-enabled the admin's disabled unit"
    );
    root.dpkg(&["-r", "other-units"]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert_eq!(
        state(&root),
        "disabled",
        "reinstall re-enabled the admin's disabled unit"
    );
    assert_eq!(root.link(socket), socket_before);

    root.dpkg(&["-P", "other-units"]);
    root.assert_listing(&before, "purge leaves no trace");
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(
        state(&root),
        "enabled",
        "install after purge enables it again"
    );
    root.dpkg(&["-P", "other-units"]);
    assert_eq!(state(&root), "disabled", "purge gives it back disabled");
}

/// Debian's state model (dh_installsystemd): a unit shipped but not enabled that the
/// admin enabled loses its links at purge; an upgrade gives an enabled unit the
/// links its [Install] gained (a new Alias=); an admin's add-wants link survives
/// remove (and purge, which removes only [Install] links, as debhelper's).
fn debhelper_state_model(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-state-model", dpkg);
    state_model_version(&root, "1.0.0", "", "v1");
    state_model_version(&root, "1.0.1", "        Alias: sshd.service\n", "v2");
    let before = root.listing();
    let wants = "etc/systemd/system/multi-user.target.wants/";
    let alias = "etc/systemd/system/sshd.service";
    let unit = "/lib/systemd/system/ssh.service";

    root.dpkg(&["-i", "/tmp/v1.deb"]);
    assert_eq!(
        root.link(&format!("{wants}ssh.service")).as_deref(),
        Some(unit)
    );
    assert!(
        !root.exists(&format!("{wants}extra.service")),
        "enable: none"
    );
    root.ok(&["systemctl", "enable", "extra.service"]);
    root.ok(&["systemctl", "add-wants", "graphical.target", "ssh.service"]);
    let admin_wants = "etc/systemd/system/graphical.target.wants/ssh.service";
    assert!(root.exists(admin_wants));

    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert_eq!(
        root.link(alias).as_deref(),
        Some(unit),
        "the upgrade made the new Alias= of an enabled unit"
    );
    assert_eq!(
        root.ok(&["systemctl", "is-enabled", "sshd.service"]).trim(),
        "alias"
    );

    root.dpkg(&["-r", "state-model"]);
    for link in [&format!("{wants}ssh.service"), alias, admin_wants] {
        assert!(root.exists(link), "remove took {link}");
    }
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    assert_eq!(
        root.ok(&["systemctl", "is-enabled", "ssh.service"]).trim(),
        "enabled"
    );
    assert_eq!(
        root.ok(&["systemctl", "is-enabled", "extra.service"])
            .trim(),
        "enabled"
    );

    root.dpkg(&["-P", "state-model"]);
    assert!(
        !root.exists(&format!("{wants}extra.service")),
        "purge left the admin's link of a unit shipped disabled"
    );
    assert!(!root.exists(alias) && !root.exists(&format!("{wants}ssh.service")));
    assert!(
        root.exists(admin_wants),
        "purge took the admin's add-wants link"
    );
    std::fs::remove_file(root.path.join(admin_wants)).unwrap();
    std::fs::remove_dir(root.path.join("etc/systemd/system/graphical.target.wants")).unwrap();
    root.assert_listing(&before, "purge leaves no trace");
}

/// tmpfiles.d and sysusers.d files shipped as assets are applied on configure
/// (systemd-tmpfiles --create, systemd-sysusers), as dh_installtmpfiles and
/// dh_installsysusers do.
fn tmpfiles_and_sysusers_applied_on_configure(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-tmpfiles", dpkg);
    let text = format!(
        "{}assets:\n  - source: dt.tmpfiles\n    dest: /usr/lib/tmpfiles.d/dt-state.conf\n  - source: dt.sysusers\n    dest: /usr/lib/sysusers.d/dt-state.conf\n",
        MINIMAL.replace("demo-units", "dt-state")
    );
    let (dir, path) = recipe_dir(
        &text,
        &[
            ("dt.tmpfiles", "d /var/lib/dt-state 0750 root root -\n"),
            (
                "dt.sysusers",
                "u dtstate - \"dt-state daemon\" /var/lib/dt-state\n",
            ),
        ],
    );
    let deb = build(&path, &dir.path().join("out"));
    root.put(&deb, "dt.deb");
    assert!(!root.exists("var/lib/dt-state"));
    // systemd-tmpfiles needs /proc (as in an image build that mounts it); unmounted
    // before any assertion, so that the root's removal never meets it.
    let proc_dir = root.path.join("proc");
    let mounted = Command::new("mount")
        .args(["-t", "proc", "proc"])
        .arg(&proc_dir)
        .status()
        .unwrap();
    assert!(mounted.success());
    let out = root.dpkg_command("dpkg", &["-i", "/tmp/dt.deb"]);
    let unmounted = Command::new("umount").arg(&proc_dir).status().unwrap();
    assert!(unmounted.success());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::metadata(root.path.join("var/lib/dt-state")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o750);
    let passwd = std::fs::read_to_string(root.path.join("etc/passwd")).unwrap();
    assert!(
        passwd.lines().any(|l| l.starts_with("dtstate:")),
        "{passwd}"
    );
}

/// A `disable *` preset, system and user: the first install enables nothing (units,
/// user units and template instances alike); an upgrade does not either.
fn presets_honoured_on_first_install(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-presets", dpkg);
    recipe_version(&root, "tests/e2e/recipes/instances.yaml", "1.0.0", "v1");
    recipe_version(&root, "tests/e2e/recipes/instances.yaml", "1.0.1", "v2");
    state_model_version(&root, "1.0.0", "", "ssh");
    for dir in ["etc/systemd/system-preset", "etc/systemd/user-preset"] {
        std::fs::create_dir_all(root.path.join(dir)).unwrap();
        std::fs::write(root.path.join(dir).join("00-test.preset"), "disable *\n").unwrap();
    }
    root.dpkg(&["-i", "/tmp/v1.deb", "/tmp/ssh.deb"]);
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    for (flag, unit) in [
        ("--system", "worker@a.service"),
        ("--system", "worker@b.service"),
        ("--global", "hello@world.service"),
        ("--system", "ssh.service"),
    ] {
        let out = root.chroot(&["systemctl", flag, "is-enabled", unit]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "disabled",
            "{unit} enabled against a disable-* preset"
        );
    }
}

/// The state-model recipe as VERSION, EXTRA lines appended to ssh.service's [Install].
fn state_model_version(root: &Root, version: &str, extra: &str, name: &str) {
    let text = format!(
        r#"package:
  name: state-model
  version: "{version}"
  revision: "1"
  maintainer: Jane Doe <jane@example.org>
  summary: Units of the state-model tests
  description: A service enabled by the package and one it ships disabled.
  license: MIT
target: ubuntu-xenial
units:
  - name: ssh.service
    scope: system
    enable: enable
    sections:
      Unit:
        Description: ssh
      Service:
        ExecStart: /bin/sleep infinity
      Install:
        WantedBy: multi-user.target
{extra}  - name: extra.service
    scope: system
    enable: none
    sections:
      Unit:
        Description: extra
      Service:
        ExecStart: /bin/sleep infinity
      Install:
        WantedBy: multi-user.target
"#
    );
    let (dir, path) = recipe_dir(&text, &[]);
    let deb = build(&path, &dir.path().join("out"));
    root.put(&deb, &format!("{name}.deb"));
}

/// `dpkg --root=R --force-script-chrootless` (Debian 12's dpkg, from the host): the
/// scripts write only inside R, for install, upgrade, remove and purge, and enable the
/// units there. 1.18.4 has no chrootless mode.
#[test]
#[ignore = "needs root and debootstrap; run by scripts/test"]
fn dpkg_root_chrootless_writes_nothing_outside_the_root() {
    let root = Root::new("lifecycle-dpkg-root", &Dpkg::Debian12);
    seed_version(&root, "pulseaudio-user.yaml", "1.0.0", "v1");
    seed_version(&root, "pulseaudio-user.yaml", "1.0.1", "v2");
    recipe_version(&root, TIMER_SOCKET_RECIPE, "1.0.0", "ts");
    let inside = root.listing();
    let host = || {
        let out = Command::new("find")
            .args([
                "/etc/systemd",
                "/var/lib/unitpack",
                "/var/lib/systemd",
                "/usr/lib/systemd/user",
                "/lib/systemd/system",
                "-printf",
                "%p %y %l %s %T@\n",
            ])
            .output()
            .unwrap();
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let host_before = host();
    let dpkg = |args: &[&str]| {
        let out = Command::new("dpkg")
            .arg(format!("--root={}", root.path.display()))
            .arg("--force-script-chrootless")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dpkg {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let deb = |name: &str| root.path.join("tmp").join(name).display().to_string();
    dpkg(&["-i", &deb("v1.deb"), &deb("ts.deb")]);
    assert_eq!(root.link(USER_LINK).as_deref(), Some(USER_UNIT));
    assert_eq!(root.link(TIMER_LINK).as_deref(), Some(TIMER_UNIT));
    for l in VENDOR_LINKS {
        assert!(!root.exists(l), "{l} not taken over inside the root");
    }
    dpkg(&["-i", &deb("v2.deb")]);
    dpkg(&["-r", "my-pulseaudio-user", "timer-socket"]);
    for l in VENDOR_LINKS {
        assert!(root.exists(l), "{l} not given back inside the root");
    }
    dpkg(&["-P", "my-pulseaudio-user", "timer-socket"]);
    let host_after = host();
    assert_eq!(
        host_before,
        host_after,
        "the scripts wrote outside the root:\n{}",
        diff(&host_before, &host_after)
    );
    root.assert_listing(&inside, "purge leaves no trace in the root");
}

/// The package of CASE as VERSION (1 or 2) built by Debian 12's debhelper 13
/// (dh_installsystemd, dh_installsystemduser) with a minimal debian/.
fn debhelper_deb(case: &DiffCase, version: u32) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let src = dir.join("src");
    let debian = src.join("debian");
    std::fs::create_dir_all(debian.join("source")).unwrap();
    std::fs::create_dir_all(src.join("units")).unwrap();
    let p = case.package;
    std::fs::write(debian.join("source/format"), "3.0 (native)\n").unwrap();
    std::fs::write(
        debian.join("changelog"),
        format!("{p} ({version}.0) unstable; urgency=medium\n\n  * Test.\n\n -- Jane Doe <jane@example.org>  Thu, 01 Jan 2024 00:00:00 +0000\n"),
    )
    .unwrap();
    std::fs::write(
        debian.join("control"),
        format!("Source: {p}\nSection: misc\nPriority: optional\nMaintainer: Jane Doe <jane@example.org>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\n\nPackage: {p}\nArchitecture: all\nDescription: differential test package\n A package of the differential test against debhelper.\n"),
    )
    .unwrap();
    let mut install = String::new();
    let mut no_enable = Vec::new();
    for u in case.units {
        let Some(text) = u.text(version) else {
            continue;
        };
        std::fs::write(src.join("units").join(u.name), text).unwrap();
        let dest = if u.user {
            "usr/lib/systemd/user"
        } else {
            "lib/systemd/system"
        };
        install += &format!("units/{} {dest}/\n", u.name);
        if !u.enabled {
            no_enable.push(u.name);
        }
    }
    std::fs::write(debian.join("install"), install).unwrap();
    // Units shipped disabled: --no-enable for them, the defaults for the others.
    let mut rules = String::from("#!/usr/bin/make -f\n%:\n\tdh $@\n");
    if !no_enable.is_empty() {
        let enabled: Vec<_> = case
            .units
            .iter()
            .filter(|u| u.enabled && !u.user && u.text(version).is_some())
            .map(|u| u.name)
            .collect();
        rules += &format!(
            "override_dh_installsystemd:\n\tdh_installsystemd --no-enable {}\n",
            no_enable.join(" ")
        );
        if !enabled.is_empty() {
            rules += &format!("\tdh_installsystemd {}\n", enabled.join(" "));
        }
    }
    std::fs::write(debian.join("rules"), rules).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(debian.join("rules"))
        .status()
        .unwrap();
    let out = Command::new("dpkg-buildpackage")
        .args(["-b", "-us", "-uc", "-d"])
        .current_dir(&src)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .expect("dpkg-buildpackage runs (scripts/setup installs dpkg-dev, debhelper)");
    assert!(
        out.status.success(),
        "debhelper build of {p}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join(format!("{p}_{version}.0_all.deb"))
}

/// BUILD(CASE, VERSION), built once per run (NAME names BUILD): the two differential tests under both
/// dpkgs install the same packages, and each debhelper build (dpkg-buildpackage) takes
/// seconds of CPU. Keyed by the builder and everything the package is made of.
fn built(
    name: &'static str,
    build: fn(&DiffCase, u32) -> PathBuf,
    case: &DiffCase,
    version: u32,
) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Key = (&'static str, String);
    static BUILT: Mutex<Option<HashMap<Key, Arc<OnceLock<PathBuf>>>>> = Mutex::new(None);
    let mut content = format!("{} {version}", case.package);
    for u in case.units {
        content += &format!(
            "\n{} {} {} {:?}",
            u.name,
            u.user,
            u.enabled,
            u.text(version)
        );
    }
    let cell = BUILT
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry((name, content))
        .or_default()
        .clone();
    // Built outside the map's lock: other packages build meanwhile, and a second
    // caller of this one waits for it.
    cell.get_or_init(|| build(case, version)).clone()
}

/// What the scripts left on a root, for the units of CASE: every link under
/// /etc/systemd/{system,user}, and `systemctl [--global] is-enabled` of each unit.
fn diff_state(root: &Root, case: &DiffCase) -> Vec<String> {
    let mut state = Vec::new();
    for dir in ["etc/systemd/system", "etc/systemd/user"] {
        let out = Command::new("find")
            .args([dir, "-type", "l", "-printf", "%p -> %l\n"])
            .current_dir(&root.path)
            .output()
            .unwrap();
        state.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    state.sort();
    for u in case.units {
        let names = if u.name.contains("@.") {
            vec![u.name.to_string(), u.name.replace("@.", "@tty1.")]
        } else {
            vec![u.name.to_string()]
        };
        for name in names {
            let flag = if u.user { "--global" } else { "--system" };
            let out = root.chroot(&["systemctl", flag, "is-enabled", &name]);
            let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
            state.push(format!("is-enabled {name}: {said}"));
        }
    }
    state
}

/// The dpkg and admin steps both builds go through.
const DIFF_STEPS: &[&str] = &[
    "install v1",
    "upgrade to v2",
    "admin disables the first unit",
    "reinstall v2",
    "remove",
    "install v2 again",
    "admin masks the first unit",
    "purge",
    "install v1 after purge",
    "admin enables every unit",
    "purge again",
];

fn diff_step(root: &Root, case: &DiffCase, step: &str) {
    let p = case.package;
    let first = &case.units[0];
    let flag = if first.user { "--global" } else { "--system" };
    let first_name = if first.name.contains("@.") {
        first.name.replace("@.", "@tty1.")
    } else {
        first.name.to_string()
    };
    match step {
        "install v1" | "install v1 after purge" => {
            root.dpkg(&["-i", &format!("/tmp/{p}-v1.deb")]);
        }
        "upgrade to v2" | "reinstall v2" | "install v2 again" => {
            root.dpkg(&["-i", &format!("/tmp/{p}-v2.deb")]);
        }
        "admin disables the first unit" => {
            root.ok(&["systemctl", flag, "disable", &first_name]);
        }
        "admin masks the first unit" => {
            root.ok(&["systemctl", flag, "mask", &first_name]);
        }
        "admin enables every unit" => {
            for u in case.units.iter().filter(|u| !u.name.contains('@')) {
                let flag = if u.user { "--global" } else { "--system" };
                let _ = root.chroot(&["systemctl", flag, "enable", u.name]);
            }
        }
        "remove" => {
            root.dpkg(&["-r", p]);
        }
        "purge" | "purge again" => {
            root.dpkg(&["-P", p]);
        }
        other => panic!("unknown step {other}"),
    }
}

/// Differences between debhelper's result and unitpack's that are intended, each with
/// why (docs/scripts.md lists them): (package, the start of a line only debhelper has,
/// `dh:`, or only unitpack has, `up:`, why).
const INTENDED: &[(&str, &str, &str)] = &[
    (
        "dt-xgetty",
        "up: etc/systemd/system/getty.target.wants/xgetty@tty1.service ",
        "DefaultInstance= names the instance the unit's author wants enabled; deb-systemd-helper ignores templates",
    ),
    ("dt-xgetty", "up: is-enabled xgetty@", "the same"),
    ("dt-xgetty", "dh: is-enabled xgetty@", "the same"),
    (
        "dt-rename",
        "dh: etc/systemd/user/default.target.wants/foo.service ",
        "a unit renamed in version 2: the links of the old name dangle and nothing would remove them, purge included; unitpack removes them on upgrade when their unit file is gone",
    ),
    (
        "dt-rename",
        "dh: etc/systemd/system/multi-user.target.wants/food.service ",
        "the same",
    ),
    ("dt-rename", "dh: etc/systemd/system/food-alias.service ", "the same"),
];

/// Builds every case with debhelper and unitpack, installs the builds in two fresh roots
/// (with a `disable *` preset for system and user units when `preset`), walks both
/// through STEPS and compares them after each; panics listing every difference not in
/// INTENDED.
fn run_differential(dpkg: &Dpkg, name: &str, cases: &[&DiffCase], steps: &[&str], preset: bool) {
    let dh = Root::new(&format!("{name}-debhelper"), dpkg);
    let up = Root::new(&format!("{name}-unitpack"), dpkg);
    // Every package at once: a debhelper build is mostly waiting (on a busy machine
    // 15 s of wall time for 2 s of CPU), and one after the other they were most of
    // this test's time.
    let debs: Vec<(&DiffCase, u32, PathBuf, PathBuf)> = std::thread::scope(|s| {
        let builds: Vec<_> = cases
            .iter()
            .flat_map(|case| [1, 2].map(|v| (*case, v)))
            .map(|(case, v)| {
                s.spawn(move || {
                    let dh = built("debhelper", debhelper_deb, case, v);
                    let up = built("unitpack", unitpack_deb, case, v);
                    (case, v, dh, up)
                })
            })
            .collect();
        builds
            .into_iter()
            .map(|b| b.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for (case, v, dh_deb, up_deb) in debs {
        dh.put(&dh_deb, &format!("{}-v{v}.deb", case.package));
        up.put(&up_deb, &format!("{}-v{v}.deb", case.package));
    }
    if preset {
        for root in [&dh, &up] {
            for dir in ["etc/systemd/system-preset", "etc/systemd/user-preset"] {
                std::fs::create_dir_all(root.path.join(dir)).unwrap();
                std::fs::write(root.path.join(dir).join("00-test.preset"), "disable *\n").unwrap();
            }
        }
    }
    let mut unexplained = Vec::new();
    let mut table = Vec::new();
    for case in cases {
        for step in steps {
            diff_step(&dh, case, step);
            diff_step(&up, case, step);
            let a = diff_state(&dh, case);
            let b = diff_state(&up, case);
            let only_dh = a
                .iter()
                .filter(|l| !b.contains(l))
                .map(|l| format!("dh: {l}"));
            let only_up = b
                .iter()
                .filter(|l| !a.contains(l))
                .map(|l| format!("up: {l}"));
            for line in only_dh.chain(only_up) {
                let intended = INTENDED
                    .iter()
                    .any(|(p, l, _)| *p == case.package && line.starts_with(l));
                table.push(format!(
                    "{} | {step} | {line}{}",
                    case.package,
                    if intended { " (intended)" } else { "" }
                ));
                if !intended {
                    unexplained.push(format!("{} | {step} | {line}", case.package));
                }
            }
        }
    }
    eprintln!("{name} {} divergences:\n{}", dpkg.slug(), table.join("\n"));
    assert!(
        unexplained.is_empty(),
        "{name} {}: {} unexplained divergences from debhelper:\n{}",
        dpkg.slug(),
        unexplained.len(),
        unexplained.join("\n")
    );
}

/// The differential test of issue 22: every case built by debhelper and by unitpack,
/// walked through the same dpkg and admin steps in two fresh roots, compared after
/// each step (links under /etc/systemd, is-enabled of every unit). Every
/// difference must be listed in INTENDED.
fn differential_against_debhelper(dpkg: &Dpkg) {
    let cases: Vec<&DiffCase> = DIFF_CASES.iter().collect();
    run_differential(dpkg, "diff", &cases, DIFF_STEPS, false);
}

/// The same under a `disable *` preset (system and user): the first install.
fn differential_against_debhelper_with_presets(dpkg: &Dpkg) {
    let cases: Vec<&DiffCase> = DIFF_CASES.iter().collect();
    run_differential(
        dpkg,
        "diff-preset",
        &cases,
        &["install v1", "upgrade to v2"],
        true,
    );
}

/// Units renamed between versions (dt-rename: foo.service, user, global, and
/// food.service, system, with an alias, become bar.service and bard.service): the
/// upgrade removes the old units' links and enables the new ones; purge leaves the
/// root as it was before the install.
fn renamed_unit_links_removed_on_upgrade(dpkg: &Dpkg) {
    let root = Root::new("lifecycle-rename", dpkg);
    let case = DIFF_CASES
        .iter()
        .find(|c| c.package == "dt-rename")
        .unwrap();
    root.put(&unitpack_deb(case, 1), "v1.deb");
    root.put(&unitpack_deb(case, 2), "v2.deb");
    let before = root.listing();
    let old = [
        "etc/systemd/user/default.target.wants/foo.service",
        "etc/systemd/system/multi-user.target.wants/food.service",
        "etc/systemd/system/food-alias.service",
    ];
    let new = [
        (
            "etc/systemd/user/default.target.wants/bar.service",
            "/usr/lib/systemd/user/bar.service",
        ),
        (
            "etc/systemd/system/multi-user.target.wants/bard.service",
            "/lib/systemd/system/bard.service",
        ),
    ];
    root.dpkg(&["-i", "/tmp/v1.deb"]);
    for l in old {
        assert!(root.exists(l), "{l} made by the install of 1.0");
    }
    root.dpkg(&["-i", "/tmp/v2.deb"]);
    for l in old {
        assert!(
            !root.exists(l),
            "{l} of a unit 2.0 no longer ships is left after the upgrade"
        );
    }
    for (l, target) in new {
        assert_eq!(
            root.link(l).as_deref(),
            Some(target),
            "{l} after the upgrade"
        );
    }
    assert_eq!(
        root.ok(&["systemctl", "--global", "is-enabled", "bar.service"])
            .trim(),
        "enabled"
    );
    root.dpkg(&["-P", "dt-rename"]);
    let after = root.listing();
    assert_eq!(
        before,
        after,
        "purge after the rename leaves no trace:\n{}",
        diff(&before, &after)
    );
}
