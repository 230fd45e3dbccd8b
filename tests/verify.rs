//! `unitpack verify` against a booted Debian 12, and against the board's stack (systemd
//! 229, dpkg 1.18.4) for ubuntu-xenial: the seed user recipe holds through its whole
//! lifecycle, and each broken recipe under tests/verify/ fails naming its unit and the
//! check that caught it (read from `--format json`). The booting tests need root,
//! debootstrap, systemd-nspawn and the helper package of scripts/cross-build; run them
//! with `cargo test --test verify -- --ignored` (scripts/test does). They run two at a
//! time by default: two verify runs at once is part of what is proven.

mod common;

use common::*;
use serde_json::Value;

/// The verdict of `unitpack verify RECIPE --target debian-bookworm --format json`.
fn verify(recipe: &str) -> Option<(i32, Value)> {
    verify_on("debian-bookworm", recipe)
}

/// The verdict of `unitpack verify RECIPE --target TARGET --format json`: exit code and
/// report, or None when this machine cannot boot it (said, or failed under CI).
fn verify_on(target: &str, recipe: &str) -> Option<(i32, Value)> {
    verify_arch(target, "amd64", recipe)
}

/// [`verify_on`] with `--arch ARCH` (armhf under qemu-user).
fn verify_arch(target: &str, arch: &str, recipe: &str) -> Option<(i32, Value)> {
    verify_all(target, arch, &[recipe])
}

/// [`verify_arch`] of several recipes at once (their packages installed together).
fn verify_all(target: &str, arch: &str, recipes: &[&str]) -> Option<(i32, Value)> {
    let out = run_verify(target, arch, recipes)?;
    let code = out.status.code().expect("exited");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: exit {code}, no JSON report ({e}); stderr:\n{}",
            recipes.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Some((code, report))
}

/// `unitpack verify --target TARGET --arch ARCH --format json RECIPES…` as it ended, or
/// None when this machine cannot boot it (said, or failed under CI).
fn run_verify(target: &str, arch: &str, recipes: &[&str]) -> Option<std::process::Output> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        unavailable("verify boots containers: run as root");
        return None;
    }
    let helpers = repo().join("target/unitpack-check");
    let has_helper = std::fs::read_dir(&helpers)
        .map(|d| {
            d.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .ends_with(&format!("_{arch}.deb"))
            })
        })
        .unwrap_or(false);
    if !has_helper {
        unavailable(&format!(
            "no target/unitpack-check/*_{arch}.deb: run scripts/cross-build"
        ));
        return None;
    }
    let out = unitpack()
        .args([
            "verify", "--target", target, "--arch", arch, "--format", "json",
        ])
        .args(recipes.iter().map(|r| repo().join(r)))
        .output()
        .unwrap();
    let code = out.status.code().expect("exited");
    let err = String::from_utf8_lossy(&out.stderr);
    if code == 2 && err.contains("no finished build of") {
        unavailable(&format!("the board's stack is not built: {err}"));
        return None;
    }
    if code == 2 && err.contains("runs the root under qemu-user") {
        unavailable(&format!("qemu-user-static is not registered: {err}"));
        return None;
    }
    Some(out)
}

/// The checks of `report` that failed: (step, unit, check).
fn failed(report: &Value) -> Vec<(String, String, String)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["held"] == false)
        .map(|c| {
            (
                c["step"].as_str().unwrap_or("").to_string(),
                c["unit"].as_str().unwrap_or("").to_string(),
                c["check"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// `recipe` fails (exit 1) on bookworm, and among its failed checks is one at `step`
/// about `unit` whose text holds `check`.
fn fails_with(recipe: &str, step: &str, unit: &str, check: &str) {
    fails_on("debian-bookworm", recipe, step, unit, check)
}

/// [`fails_with`] on `target`.
fn fails_on(target: &str, recipe: &str, step: &str, unit: &str, check: &str) {
    let Some((code, report)) = verify_on(target, recipe) else {
        return;
    };
    let failed = failed(&report);
    assert_eq!(code, 1, "{recipe}: exit {code}; failed: {failed:#?}");
    assert!(
        failed
            .iter()
            .any(|(s, u, c)| s == step && u == unit && c.contains(check)),
        "{recipe}: no failed [{step}] {unit}: …{check}…; failed: {failed:#?}"
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn seed_user_recipe_holds_on_bookworm() {
    let Some((code, report)) = verify("recipes/pulseaudio-user.yaml") else {
        return;
    };
    assert_eq!(code, 0, "failed: {:#?}", failed(&report));
    // No recipe of the run depends on another: the target's dpkg installs.
    assert_eq!(report["install"], "dpkg");
    // The cached root is only ever an overlay's lower layer: nothing in it is newer than
    // the marker written when it was made.
    let roots = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache")
        })
        .join("unitpack/roots");
    for entry in std::fs::read_dir(&roots).unwrap().flatten() {
        let marker = entry.path().join(".unitpack-root");
        if !marker.exists() {
            continue;
        }
        let newer = std::process::Command::new("find")
            .arg(entry.path())
            .args(["-xdev", "-newer"])
            .arg(&marker)
            .output()
            .unwrap();
        assert!(
            newer.stdout.is_empty(),
            "the cache changed: {}",
            String::from_utf8_lossy(&newer.stdout)
        );
    }
    let checks = report["checks"].as_array().unwrap();
    let held = |step: &str, unit: &str, check: &str| {
        checks.iter().any(|c| {
            c["held"] == true
                && c["step"] == step
                && c["unit"] == unit
                && c["check"].as_str().unwrap().contains(check)
        })
    };
    // The promises the plan makes, each seen on the booted system.
    assert!(held(
        "login",
        "my_pulseaudio.service",
        "active and staying up"
    ));
    assert!(held(
        "login",
        "my_pulseaudio.service",
        "XDG_RUNTIME_DIR=/run/user/1600"
    ));
    assert!(held("install", "pulseaudio.socket", "taken over"));
    // A second user's login runs a second copy; the first user's keeps running.
    assert!(held(
        "second-login",
        "my_pulseaudio.service",
        "active and staying up (unitpack-verify2's manager)"
    ));
    assert!(held(
        "second-login",
        "my_pulseaudio.service",
        "XDG_RUNTIME_DIR=/run/user/1603"
    ));
    assert!(held(
        "second-login",
        "my_pulseaudio.service",
        "active and staying up (unitpack-verify's manager)"
    ));
    assert!(held(
        "upgrade",
        "my_pulseaudio.service",
        "disabled by the admin before the upgrade: still disabled after it"
    ));
    for step in ["upgrade", "reinstall"] {
        assert!(held(step, "my_pulseaudio.service", "is-enabled: enabled"));
    }
    assert!(checks
        .iter()
        .any(|c| c["step"] == "purge" && c["check"].as_str().unwrap().contains("nothing left")));
    let phases: Vec<&str> = report["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "build",
            "root",
            "boot",
            "install",
            "login",
            "upgrade",
            "remove",
            "reinstall",
            "purge",
            "stop"
        ]
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_user_unit_declared_system_fails() {
    fails_with(
        "tests/verify/user-unit-as-system.yaml",
        "install",
        "broken-pulse-events.service",
        "active and staying up",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_target_never_reached_fails() {
    fails_with(
        "tests/verify/wantedby-unreached-target.yaml",
        "install",
        "broken-unreached.service",
        "wanted by rescue.target",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn an_exec_start_missing_on_the_target_fails() {
    fails_with(
        "tests/verify/execstart-missing.yaml",
        "install",
        "broken-missing-exec.service",
        "active and staying up",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_socket_without_its_service_fails() {
    fails_with(
        "tests/verify/socket-without-service.yaml",
        "install",
        "broken-lonely.socket",
        "active",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_timer_without_its_service_fails() {
    fails_with(
        "tests/verify/timer-without-service.yaml",
        "install",
        "broken-lonely.timer",
        "active",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_user_bus_without_dbus_user_session_fails() {
    fails_with(
        "tests/verify/user-bus-without-dbus-user-session.yaml",
        "login",
        "broken-user-bus.service",
        "active and staying up",
    );
}

/// Ctrl-C while the container runs: exit 130, and the container, its cgroup and its
/// temporary directories are gone.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn ctrl_c_takes_everything_down() {
    // The root is cached by a first run (the seed's), so the interrupt lands after boot.
    if verify("recipes/pulseaudio-user.yaml").is_none() {
        return;
    }
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_unitpack"))
        .current_dir(repo())
        .args([
            "verify",
            "--target",
            "debian-bookworm",
            "recipes/pulseaudio-user.yaml",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let cgroup = format!("/sys/fs/cgroup/unified/unitpack-verify-{pid}");
    // Interrupt once the container's init is up (a child of our nspawn).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::path::Path::new(&cgroup).join("payload").exists()
        && !nspawn_children(pid)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: our own child.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    for hierarchy in ["unified", "systemd"] {
        let dir = format!("/sys/fs/cgroup/{hierarchy}/unitpack-verify-{pid}");
        assert!(!std::path::Path::new(&dir).exists(), "{dir} left behind");
    }
    assert!(
        !nspawn_children(pid),
        "a systemd-nspawn of {pid} is still running"
    );
}

/// A systemd-nspawn whose parent is `pid` runs.
fn nspawn_children(pid: u32) -> bool {
    let parent = format!("PPid:\t{pid}");
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read_to_string(e.path().join("status")).is_ok_and(|s| {
            s.lines().next() == Some("Name:\tsystemd-nspawn") && s.lines().any(|l| l == parent)
        })
    })
}

/// armhf under qemu-user (timeouts scaled, not loosened): the seed user recipe holds on
/// Debian 12's own armhf systemd and on the board's stack cross-built for armhf.
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and qemu-user-static; run by scripts/test"]
fn seed_user_recipe_holds_on_armhf() {
    for target in ["debian-bookworm", "ubuntu-xenial"] {
        let Some((code, report)) = verify_arch(target, "armhf", "recipes/pulseaudio-user.yaml")
        else {
            return;
        };
        assert_eq!(code, 0, "{target}: failed: {:#?}", failed(&report));
        assert_eq!(report["arch"], "armhf");
        assert_eq!(report["target"], target);
        let checks = report["checks"].as_array().unwrap();
        let held = |step: &str, unit: &str, check: &str| held_in(checks, step, unit, check);
        assert!(held(
            "login",
            "my_pulseaudio.service",
            "active and staying up"
        ));
        assert!(held("purge", "", "nothing left behind"), "{target}");
    }
}

#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and qemu-user-static; run by scripts/test"]
fn a_user_unit_declared_system_fails_on_armhf() {
    let Some((code, report)) = verify_arch(
        "debian-bookworm",
        "armhf",
        "tests/verify/user-unit-as-system.yaml",
    ) else {
        return;
    };
    let failed = failed(&report);
    assert_eq!(code, 1, "exit {code}; failed: {failed:#?}");
    assert!(
        failed.iter().any(|(s, u, c)| s == "install"
            && u == "broken-pulse-events.service"
            && c.contains("active and staying up")),
        "{failed:#?}"
    );
}

/// An architecture verify cannot boot is refused as bad input.
#[test]
fn an_architecture_without_a_root_is_refused() {
    let out = unitpack()
        .args([
            "verify",
            "recipes/pulseaudio-user.yaml",
            "--target",
            "debian-bookworm",
            "--arch",
            "riscv64",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("amd64 and armhf roots, not riscv64"), "{err}");
}

/// A target verify has no root for is refused as bad input, before anything is built
/// or booted, naming the targets it can boot (also what `--target <TAB>` offers).
#[test]
fn a_target_without_a_root_is_refused() {
    let out = unitpack()
        .args([
            "verify",
            "recipes/pulseaudio-user.yaml",
            "--target",
            "debian-trixie",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'debian-trixie' for '--target <TARGET>'")
            && err.contains("possible values: debian-bookworm, ubuntu-xenial"),
        "{err}"
    );
}

/// xenial without the board's stack built is refused as bad input, naming the commands
/// that build it, before anything is built or booted.
#[test]
fn xenial_without_the_board_stack_says_how_to_build_it() {
    let empty = tempfile::tempdir().unwrap();
    for (flag, env) in [(true, None), (false, Some(empty.path()))] {
        let mut cmd = unitpack();
        cmd.args(["verify", "recipes/pulseaudio-user.yaml"]);
        if flag {
            cmd.arg("--stack").arg(empty.path());
        }
        if let Some(dir) = env {
            cmd.env("UNITPACK_BOARD_STACK", dir);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("no finished build of systemd-229")
                && err.contains("scripts/vendor/systemd-229 --arch amd64")
                && err.contains("scripts/vendor/dpkg-1.18.4 --root-tree --arch amd64")
                && err.contains("scripts/vendor/apt-1.2.35 --arch amd64"),
            "{err}"
        );
    }
}

/// The board's stack: the seed user recipe holds on systemd 229 with dpkg 1.18.4, through
/// the same scenario as on bookworm.
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn seed_user_recipe_holds_on_xenial() {
    let Some((code, report)) = verify_on("ubuntu-xenial", "recipes/pulseaudio-user.yaml") else {
        return;
    };
    assert_eq!(code, 0, "failed: {:#?}", failed(&report));
    assert_eq!(report["target"], "ubuntu-xenial");
    let checks = report["checks"].as_array().unwrap();
    let held = |step: &str, unit: &str, check: &str| held_in(checks, step, unit, check);
    assert!(held("boot", "", "the profile's systemd 229"));
    assert!(held(
        "login",
        "my_pulseaudio.service",
        "active and staying up"
    ));
    assert!(held("logout", "user@1600.service", "stopped"));
    assert!(held(
        "second-login",
        "my_pulseaudio.service",
        "active and staying up (unitpack-verify2's manager)"
    ));
    assert!(held(
        "upgrade",
        "my_pulseaudio.service",
        "still disabled after it"
    ));
    assert!(held("purge", "", "nothing left behind"));
}

#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn a_user_unit_declared_system_fails_on_xenial() {
    // 229 has no NRestarts=: the restart loop is caught by the moving state and PID.
    fails_on(
        "ubuntu-xenial",
        "tests/verify/user-unit-as-system.yaml",
        "install",
        "broken-pulse-events.service",
        "active and staying up",
    );
}

#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn a_socket_without_its_service_fails_on_xenial() {
    fails_on(
        "ubuntu-xenial",
        "tests/verify/socket-without-service.yaml",
        "install",
        "broken-lonely.socket",
        "active",
    );
}

#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn a_user_bus_without_dbus_user_session_fails_on_xenial() {
    fails_on(
        "ubuntu-xenial",
        "tests/verify/user-bus-without-dbus-user-session.yaml",
        "login",
        "broken-user-bus.service",
        "active and staying up",
    );
}

/// Without systemd-nspawn (or root) verify refuses, saying how to get it.
#[test]
fn a_missing_tool_is_named_with_its_package() {
    let out = unitpack()
        .args(["verify", "--target", "debian-bookworm"])
        .arg("recipes/pulseaudio-user.yaml")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // SAFETY: geteuid has no preconditions.
    let want = if unsafe { libc::geteuid() } == 0 {
        "systemd-nspawn is not installed; install it with `apt-get install systemd-container`"
    } else {
        "verify must run as root"
    };
    assert!(err.contains(want), "{err}");
}

/// Design B (recipes/pulseaudio-root-path.yaml): the system service wanted by and bound
/// to root's user manager is not running before root logs in, runs while root is
/// logged in (a PAM login), and is gone after root's logout.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn root_path_recipe_holds_on_bookworm() {
    root_path_recipe_holds_on("debian-bookworm");
}

/// The same on the board's stack: 229's logind stops user@0.service at once after the
/// last logout, and the binding stops the service with it.
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn root_path_recipe_holds_on_xenial() {
    root_path_recipe_holds_on("ubuntu-xenial");
}

#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn a_root_session_service_not_bound_to_root_fails_on_xenial() {
    fails_on(
        "ubuntu-xenial",
        "tests/verify/root-bound-without-bindsto.yaml",
        "root-login",
        "broken-root-unbound.service",
        "gone after root's logout",
    );
}

fn root_path_recipe_holds_on(target: &str) {
    root_path_recipe_holds_on_arch(target, "amd64")
}

fn root_path_recipe_holds_on_arch(target: &str, arch: &str) {
    let Some((code, report)) = verify_arch(target, arch, "recipes/pulseaudio-root-path.yaml")
    else {
        return;
    };
    assert_eq!(code, 0, "{target} {arch}: failed: {:#?}", failed(&report));
    assert_eq!(
        (&report["target"], &report["arch"]),
        (&target.into(), &arch.into())
    );
    let checks = report["checks"].as_array().unwrap();
    let held = |unit: &str, check: &str| {
        checks.iter().any(|c| {
            c["held"] == true
                && c["step"] == "root-login"
                && c["unit"] == unit
                && c["check"].as_str().unwrap().contains(check)
        })
    };
    assert!(held(
        "my_pulseaudio.service",
        "not running while root has no session"
    ));
    assert!(held("user@0.service", "started at root's login"));
    assert!(held("my_pulseaudio.service", "active and staying up"));
    assert!(held("user@0.service", "stopped after root's logout"));
    assert!(held("my_pulseaudio.service", "gone after root's logout"));
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_root_session_service_not_bound_to_root_fails() {
    fails_with(
        "tests/verify/root-bound-without-bindsto.yaml",
        "root-login",
        "broken-root-unbound.service",
        "gone after root's logout",
    );
}

/// `follow: seat` (recipes/pulseaudio-seat.yaml): with two users logged in locally on
/// seat0, PulseAudio runs in the active session's user's manager only, and moves back
/// when the first session is activated again.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn seat_recipe_follows_the_active_user_on_bookworm() {
    seat_recipe_follows_on("debian-bookworm");
}

/// The same on the board's logind (229), where a local login is `su -l` under a
/// transient unit (229 hands PAM only PID 1's environment).
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn seat_recipe_follows_the_active_user_on_xenial() {
    seat_recipe_follows_on("ubuntu-xenial");
}

fn seat_recipe_follows_on(target: &str) {
    seat_recipe_follows_on_arch(target, "amd64")
}

fn seat_recipe_follows_on_arch(target: &str, arch: &str) {
    let Some((code, report)) = verify_arch(target, arch, "recipes/pulseaudio-seat.yaml") else {
        return;
    };
    assert_eq!(code, 0, "{target} {arch}: failed: {:#?}", failed(&report));
    assert_eq!(
        (&report["target"], &report["arch"]),
        (&target.into(), &arch.into())
    );
    let checks: Vec<(String, String, bool)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["step"] == "seat" && c["unit"] == "console_pulseaudio.service")
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap_or("").to_string(),
                c["held"] == true,
            )
        })
        .collect();
    // In order: a's login, b's login (b has it, a not), a activated again (a has it,
    // b not).
    let moves: Vec<&str> = checks
        .iter()
        .filter(|(c, _, _)| c.starts_with("started for") || c.starts_with("stopped for"))
        .map(|(c, _, held)| {
            assert!(held, "{c}");
            c.as_str()
        })
        .collect();
    assert_eq!(
        moves,
        [
            "started for unitpack-seat-a, the active seat0 user",
            "started for unitpack-seat-b, the active seat0 user",
            "stopped for unitpack-seat-a, no longer the active seat0 user",
            "started for unitpack-seat-a, the active seat0 user",
            "stopped for unitpack-seat-b, no longer the active seat0 user",
        ],
        "{checks:#?}"
    );
    assert!(
        checks
            .iter()
            .filter(|(c, _, held)| *held && c == "active and staying up")
            .count()
            == 3,
        "{checks:#?}"
    );
    // Beyond the moves: nothing for a's first session, which has no seat (an ssh
    // login's); the same process through a's second local session; back for a, and
    // only for a, after the follower's restart and after its kill -9.
    for want in [
        "not started for unitpack-seat-a's session without a seat (an ssh login's)",
        "kept running, the same process, through unitpack-seat-a's second local session",
        "running for unitpack-seat-a after the follower's restart",
        "active and staying up (after the follower's restart)",
        "not running for unitpack-seat-b after the follower's restart",
        "running for unitpack-seat-a after the follower's kill -9",
        "active and staying up (after the follower's kill -9)",
        "not running for unitpack-seat-b after the follower's kill -9",
    ] {
        assert!(
            checks.iter().any(|(c, _, held)| *held && c == want),
            "{target} {arch}: no held {want:?}: {checks:#?}"
        );
    }
    let all = report["checks"].as_array().unwrap();
    assert!(held_in(
        all,
        "seat",
        "",
        "unitpack-seat-a's only session has no seat"
    ));
    assert!(held_in(
        all,
        "seat",
        "unitpack-seat-console_pulseaudio.service",
        "started again by systemd after kill -9"
    ));
    let phases: Vec<&str> = report["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["phase"].as_str().unwrap())
        .collect();
    assert!(phases.contains(&"seat"), "{phases:?}");
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_oneshot_that_fails_on_the_target_fails() {
    fails_with(
        "tests/verify/oneshot-fails.yaml",
        "install",
        "broken-setup.service",
        "active and staying up",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_service_user_nobody_creates_fails() {
    fails_with(
        "tests/verify/user-never-created.yaml",
        "install",
        "broken-no-user.service",
        "active and staying up",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_working_directory_nobody_creates_fails() {
    fails_with(
        "tests/verify/workingdirectory-missing.yaml",
        "install",
        "broken-no-workdir.service",
        "active and staying up",
    );
}

#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_user_unit_starting_a_program_in_the_developers_home_fails() {
    fails_with(
        "tests/verify/user-exec-in-home.yaml",
        "login",
        "broken-home-agent.service",
        "active and staying up",
    );
}

/// Two services of one package, one `Conflicts=` the other, both wanted at boot: only
/// one runs. Which one systemd keeps is its transaction's choice, so either failing
/// is the verdict.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn conflicting_units_of_one_package_fail() {
    let recipe = "tests/verify/conflicting-units.yaml";
    let Some((code, report)) = verify(recipe) else {
        return;
    };
    let failed = failed(&report);
    assert_eq!(code, 1, "{recipe}: exit {code}; failed: {failed:#?}");
    assert!(
        failed.iter().any(|(s, u, c)| s == "install"
            && (u == "broken-primary.service" || u == "broken-fallback.service")
            && c == "active and staying up"),
        "{failed:#?}"
    );
}

/// The broken `follow: seat` recipes, verified together (one boot for the four).
/// `seat-unit-missing-exec.yaml`: a unit whose program the target lacks; the follower
/// starts it for the active seat0 user, where it fails. Three more each break one
/// promise the moves between two users do not test, and fail exactly the check of
/// that promise, nothing else:
/// - `seat-unit-in-remote-sessions.yaml`: an applet enabled for every user `Wants=` the
///   agent, so a session without a seat (an ssh login) gets it;
/// - `seat-unit-bound-to-its-session.yaml`: an agent that exits when seat0's active
///   session changes, restarted by systemd when its user opens a second session;
/// - `seat-follower-not-restarted.yaml`: a drop-in giving the follower `Restart=no`,
///   so a crash of it (kill -9) leaves the seat unfollowed.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn broken_seat_recipes_fail_on_bookworm() {
    broken_seat_recipes_fail_on("debian-bookworm");
}

/// The same four on the board's logind and systemd (229).
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn broken_seat_recipes_fail_on_xenial() {
    broken_seat_recipes_fail_on("ubuntu-xenial");
}

fn broken_seat_recipes_fail_on(target: &str) {
    let Some((code, report)) = verify_all(
        target,
        "amd64",
        &[
            "tests/verify/seat-unit-missing-exec.yaml",
            "tests/verify/seat-unit-in-remote-sessions.yaml",
            "tests/verify/seat-unit-bound-to-its-session.yaml",
            "tests/verify/seat-follower-not-restarted.yaml",
        ],
    ) else {
        return;
    };
    let all_failed = failed(&report);
    assert_eq!(code, 1, "{target}: failed: {all_failed:#?}");
    assert!(
        all_failed.iter().any(|(s, u, c)| s == "seat"
            && u == "broken-seat-agent.service"
            && c == "started for unitpack-seat-a, the active seat0 user"),
        "{target}: {all_failed:#?}"
    );
    // The missing program fails wherever its unit is checked; doctor (UC004) names it
    // at the login (the applet of seat-unit-in-remote-sessions.yaml makes one): each
    // error doctor finds is a check of the unit it names, and its count one more.
    let mut failed: Vec<_> = all_failed
        .into_iter()
        .filter(|(_, u, c)| {
            !u.contains("broken-seat-agent")
                && !c.contains("broken-seat-agent")
                && !c.starts_with("unitpack-check doctor finds no error")
        })
        .collect();
    failed.sort();
    let want = [
        (
            "broken-seat-everywhere.service",
            "not started for unitpack-seat-a's session without a seat (an ssh login's)",
        ),
        (
            "broken-seat-session-bound.service",
            "kept running, the same process, through unitpack-seat-a's second local session",
        ),
        (
            "unitpack-seat-broken-seat-unfollowed.service",
            "started again by systemd after kill -9 (Restart=on-failure): a new main process",
        ),
    ]
    .map(|(u, c)| ("seat".to_string(), u.to_string(), c.to_string()));
    assert_eq!(failed, want, "{target}: {failed:#?}");
}

/// Whether the report's `checks` have one that held at `step` for `unit`, its text
/// containing `check`.
fn held_in(checks: &[serde_json::Value], step: &str, unit: &str, check: &str) -> bool {
    checks.iter().any(|c| {
        c["held"] == true
            && c["step"] == step
            && c["unit"].as_str().unwrap_or("") == unit
            && c["check"].as_str().unwrap().contains(check)
    })
}

/// Two recipes, one depending on the other's package: verify installs them with the
/// target's apt from a signed local repository made for the run (the helper comes from
/// it too), upgrades through apt, and the lifecycle holds.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_recipe_depending_on_another_installs_with_apt_on_bookworm() {
    apt_pair_holds_on("debian-bookworm");
}

/// The same with the board's apt 1.2.35 and dpkg 1.18.4, apt-key verifying the
/// repository with gpgv 1.4 as on the board.
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn a_recipe_depending_on_another_installs_with_apt_on_xenial() {
    let Some(checks) = apt_pair_holds_on("ubuntu-xenial") else {
        return;
    };
    assert!(held_in(
        &checks,
        "install",
        "",
        "apt-key verifies with gpgv 1.4"
    ));
}

const APT_PAIR: [&str; 2] = ["tests/verify/apt/base.yaml", "tests/verify/apt/app.yaml"];

fn apt_pair_holds_on(target: &str) -> Option<Vec<Value>> {
    let out = run_verify(target, "amd64", &APT_PAIR)?;
    let code = out.status.code().expect("exited");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}, no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(code, 0, "{target}: failed: {:#?}", failed(&report));
    assert_eq!(report["install"], "apt");
    let checks = report["checks"].as_array().unwrap().clone();
    let held = |step: &str, unit: &str, check: &str| held_in(&checks, step, unit, check);
    assert!(held(
        "install",
        "",
        "apt-get update: the local repository's signed Release verified"
    ));
    assert!(held(
        "install",
        "",
        "unitpack-check installed with the target's apt from the local repository"
    ));
    for step in ["install", "upgrade", "reinstall"] {
        assert!(
            held(
                step,
                "",
                "apt-get install verify-apt-base verify-apt-app from the local repository"
            ),
            "{target} {step}"
        );
    }
    // The upgrade was published to the repository and fetched by apt.
    assert!(held("upgrade", "", "apt-get update"), "{target}");
    assert!(held(
        "upgrade",
        "",
        "verify-apt-app: dpkg status is install ok installed 1.0.0-1+verify1"
    ));
    for unit in ["verify-apt-base.service", "verify-apt-app.service"] {
        assert!(held("install", unit, "active and staying up"), "{unit}");
    }
    assert!(held("remove", "", "apt-get remove"));
    assert!(held("purge", "", "apt-get purge"));
    assert!(held("purge", "", "nothing left behind"), "{target}");
    Some(checks)
}

/// A dependency that neither the target's archive has nor a recipe of the run builds is
/// bad input (exit 2) naming it, before anything boots.
#[test]
#[ignore = "needs root, debootstrap (with the Debian mirror) and systemd-nspawn; run by scripts/test"]
fn a_dependency_in_no_archive_is_refused() {
    let Some(out) = run_verify(
        "debian-bookworm",
        "amd64",
        &[
            APT_PAIR[0],
            "tests/verify/apt-broken/missing-dependency.yaml",
        ],
    ) else {
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "tests/verify/apt-broken/missing-dependency.yaml depends on unitpack-verify-nowhere, \
             which is neither in Debian bookworm's archive"
        ),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "a report of a run that did not happen"
    );
}

/// A dependency on a version of a run's package that the run does not build: apt cannot
/// resolve it offline, and verify refuses (exit 2) with apt's own words naming it.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_dependency_version_the_run_does_not_build_is_refused() {
    let Some(out) = run_verify(
        "debian-bookworm",
        "amd64",
        &[APT_PAIR[0], "tests/verify/apt-broken/newer-dependency.yaml"],
    ) else {
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("apt cannot install verify-apt-base verify-apt-newer-app offline")
            && err.contains("Depends: verify-apt-base (>= 2)"),
        "{err}"
    );
}

/// The armhf runs beyond those CI makes: each takes 2 to 4 minutes under qemu-user.
const ALL_ARMHF: &str = "UNITPACK_VERIFY_ARMHF_ALL";

/// Whether an armhf run CI leaves out was asked for ([`ALL_ARMHF`]); said when not.
fn all_armhf() -> bool {
    let asked = std::env::var_os(ALL_ARMHF).is_some_and(|v| v == "1");
    if !asked {
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("?").to_string();
        let _ = writeln!(
            std::io::stderr(),
            "not run {test}: armhf under qemu-user, set {ALL_ARMHF}=1 to run it"
        );
    }
    asked
}

/// Design B on the board's own architecture and stack (systemd 229 cross-built for
/// armhf, under qemu-user): root's login starts the service, root's logout stops it.
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn, qemu-user-static and scripts/vendor's builds; run by scripts/test"]
fn root_path_recipe_holds_on_xenial_armhf() {
    root_path_recipe_holds_on_arch("ubuntu-xenial", "armhf");
}

/// The seat recipe on the board's armhf stack: PulseAudio follows the active seat0
/// user on 229's logind, timeouts 4 times longer under qemu-user.
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn, qemu-user-static and scripts/vendor's builds; run by scripts/test"]
fn seat_recipe_follows_the_active_user_on_xenial_armhf() {
    seat_recipe_follows_on_arch("ubuntu-xenial", "armhf");
}

/// Design B on Debian 12's own armhf systemd (CI leaves it out: [`ALL_ARMHF`]).
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and qemu-user-static; UNITPACK_VERIFY_ARMHF_ALL=1"]
fn root_path_recipe_holds_on_bookworm_armhf() {
    if all_armhf() {
        root_path_recipe_holds_on_arch("debian-bookworm", "armhf");
    }
}

/// The seat recipe on Debian 12's own armhf systemd (CI leaves it out: [`ALL_ARMHF`]).
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and qemu-user-static; UNITPACK_VERIFY_ARMHF_ALL=1"]
fn seat_recipe_follows_the_active_user_on_bookworm_armhf() {
    if all_armhf() {
        seat_recipe_follows_on_arch("debian-bookworm", "armhf");
    }
}

/// A per-user agent that takes a machine-wide lock runs for one user and fails for a
/// second one logged in at the same time.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_user_unit_only_one_user_can_run_fails_at_a_second_login() {
    fails_with(
        "tests/verify/user-machine-wide-lock.yaml",
        "second-login",
        "broken-single-agent.service",
        "active and staying up (unitpack-verify2's manager)",
    );
}

/// The author's postinst enables the unit at every configure: the upgrade undoes the
/// administrator's `systemctl disable`.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_postinst_undoing_the_admins_disable_fails() {
    fails_with(
        "tests/verify/postinst-reenables.yaml",
        "upgrade",
        "broken-reenabled.service",
        "disabled by the admin before the upgrade: still disabled after it",
    );
}

/// A drop-in for a unit the target does not have changes nothing.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_dropin_for_a_unit_the_target_lacks_fails() {
    fails_with(
        "tests/verify/dropin-unit-missing.yaml",
        "install",
        "chrony.service",
        "the unit it extends is loaded",
    );
}

/// The e2e drop-ins recipe, with the package whose user unit it extends: systemd reads
/// the system drop-in after install and the user one in a login's manager, and neither
/// after removal (system) — on both systemds.
#[test]
#[ignore = "needs root, debootstrap, systemd-nspawn and scripts/vendor's builds; run by scripts/test"]
fn dropins_are_read_by_systemd_on_bookworm_and_xenial() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("tests/e2e/recipes/dropins.yaml")).unwrap();
    let text = text.replace(
        "  license: MIT\n",
        "  license: MIT\n  depends:\n    - pulseaudio\n",
    );
    std::fs::write(dir.path().join("dropins.yaml"), text).unwrap();
    let scripts = dir.path().join("dropins-scripts");
    std::fs::create_dir(&scripts).unwrap();
    for f in ["postinst.sh", "prerm.sh", "postrm.sh"] {
        std::fs::copy(
            repo().join("tests/e2e/recipes/dropins-scripts").join(f),
            scripts.join(f),
        )
        .unwrap();
    }
    let recipe = dir.path().join("dropins.yaml");
    for target in ["debian-bookworm", "ubuntu-xenial"] {
        let Some((code, report)) = verify_on(target, recipe.to_str().unwrap()) else {
            continue;
        };
        assert_eq!(code, 0, "{target}: failed: {:#?}", failed(&report));
        let checks = report["checks"].as_array().unwrap();
        let held = |step: &str, unit: &str, check: &str| held_in(checks, step, unit, check);
        assert!(held(
            "install",
            "systemd-journald.service",
            "drop-in distro-dropins.conf: read by systemd"
        ));
        assert!(held(
            "login",
            "pulseaudio.service",
            "drop-in 50-unitpack-e2e.conf: read by systemd"
        ));
        assert!(held(
            "install",
            "systemd-journald.service",
            "drop-in distro-dropins.conf: the running unit was restarted"
        ));
        assert!(held(
            "remove",
            "systemd-journald.service",
            "drop-in distro-dropins.conf: no longer read by systemd"
        ));
        assert!(held(
            "remove",
            "systemd-journald.service",
            "drop-in distro-dropins.conf: the running unit was restarted"
        ));
    }
}

/// A drop-in the package restarts its unit with, on a unit that refuses a manual
/// restart: the running process never gets the drop-in's settings.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_dropin_whose_unit_refuses_the_restart_fails() {
    fails_with(
        "tests/verify/dropin-restart-refused.yaml",
        "install",
        "systemd-journald.service",
        "the running unit was restarted",
    );
}

/// A socket's instances with KillMode=none: the removal stops the instance serving an
/// open connection, and its process keeps running.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn a_socket_instance_outliving_the_removal_fails() {
    fails_with(
        "tests/verify/socket-instance-survives-removal.yaml",
        "remove",
        "broken-survivor.socket",
        "serving an open connection, stopped by the removal with its process",
    );
}

/// The e2e services recipes: a timer, a socket starting one instance per connection
/// and listed template instances hold their promises through the lifecycle, and the
/// instance serving an open connection is stopped by the removal.
#[test]
#[ignore = "needs root, debootstrap and systemd-nspawn; run by scripts/test"]
fn services_recipes_hold_with_an_open_connection() {
    let Some((code, report)) = verify_all(
        "debian-bookworm",
        "amd64",
        &[
            "tests/e2e/recipes/timer-socket.yaml",
            "tests/e2e/recipes/instances.yaml",
        ],
    ) else {
        return;
    };
    assert_eq!(code, 0, "failed: {:#?}", failed(&report));
    let checks = report["checks"].as_array().unwrap();
    assert!(held_in(
        checks,
        "remove",
        "echo.socket",
        "the connection started an instance of echo@.service"
    ));
    assert!(held_in(
        checks,
        "remove",
        "echo.socket",
        "serving an open connection, stopped by the removal with its process"
    ));
    assert!(held_in(
        checks,
        "upgrade",
        "worker@b.service",
        "still disabled after it"
    ));
}
