//! End-to-end tests of the unitpack-check binary on fake roots, and the armhf
//! cross-check: when UNITPACK_ARMHF_BIN names the armhf build, every scenario
//! is also run under qemu-arm-static (UNITPACK_QEMU, default `qemu-arm-static`)
//! and must give byte-identical output and the same exit status.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

struct Root(PathBuf);

impl Root {
    fn new() -> Root {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "unitpack-check-cli-{}-{}-{}",
            std::process::id(),
            n,
            nanos
        ));
        fs::create_dir_all(&dir).unwrap();
        Root(dir)
    }
    fn p(&self, abs: &str) -> PathBuf {
        self.0.join(abs.trim_start_matches('/'))
    }
    fn write(&self, abs: &str, text: &str) -> &Root {
        let p = self.p(abs);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
        self
    }
    fn exec(&self, abs: &str) -> &Root {
        self.write(abs, "#!/bin/sh\n");
        fs::set_permissions(self.p(abs), fs::Permissions::from_mode(0o755)).unwrap();
        self
    }
    fn link(&self, abs: &str, target: &str) -> &Root {
        let p = self.p(abs);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
        self
    }
    fn rm(&self, abs: &str) -> &Root {
        fs::remove_file(self.p(abs)).unwrap();
        self
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
    /// Replaces whatever is at `abs` with a FIFO (no writer ever opens it).
    fn fifo(&self, abs: &str) -> &Root {
        let p = self.p(abs);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let _ = fs::remove_file(&p);
        let ok = Command::new("mkfifo").arg(&p).status().unwrap().success();
        assert!(ok, "mkfifo {}", p.display());
        self
    }
    /// A sparse file of `len` bytes: huge on paper, nothing on disk.
    fn sparse(&self, abs: &str, len: u64) -> &Root {
        let p = self.p(abs);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let _ = fs::remove_file(&p);
        fs::File::create(&p).unwrap().set_len(len).unwrap();
        self
    }
    /// A character device like /dev/zero (1:5) at `abs`; false (and a note on
    /// stderr) where mknod is not allowed (not root, no CAP_MKNOD).
    fn zero_device(&self, abs: &str) -> bool {
        let p = self.p(abs);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let _ = fs::remove_file(&p);
        let ok = Command::new("mknod")
            .arg(&p)
            .args(["c", "1", "5"])
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!(
                "SKIPPED: mknod {} c 1 5 not permitted here; character-device case not run",
                p.display()
            );
        }
        ok
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const UNIT: &str = "[Unit]\nDescription=User Pulseaudio service\nAfter=dbus.service\nRequires=dbus.service\n\
[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/%U\nExecStart=/usr/bin/pulseaudio\n[Install]\nWantedBy=default.target\n";

fn manifest(strict: bool) -> String {
    format!(
        "format\t1\npackage\tmy-pulseaudio-user\nprofile\tubuntu-xenial\nstrict\t{}\nuser-bus-package\tdbus-user-session\n\
unit\tuser\tglobal\tmy_pulseaudio.service\t/usr/lib/systemd/user/my_pulseaudio.service\n\
link\t/etc/systemd/user/default.target.wants/my_pulseaudio.service\t/usr/lib/systemd/user/my_pulseaudio.service\n",
        if strict { 1 } else { 0 }
    )
}

/// Design A on a healthy Debian-like root.
fn healthy() -> Root {
    let r = Root::new();
    r.write(
        "/usr/share/unitpack/my-pulseaudio-user/manifest",
        &manifest(false),
    )
    .write("/usr/lib/systemd/user/my_pulseaudio.service", UNIT)
    .link(
        "/etc/systemd/user/default.target.wants/my_pulseaudio.service",
        "/usr/lib/systemd/user/my_pulseaudio.service",
    )
    .exec("/usr/bin/pulseaudio")
    .write(
        "/usr/lib/systemd/user/dbus.service",
        "[Service]\nExecStart=/usr/bin/dbus-daemon --session\n",
    )
    .write(
        "/usr/lib/systemd/user/dbus.socket",
        "[Socket]\nListenStream=%t/bus\n",
    )
    .write(
        "/lib/systemd/system/dbus.service",
        "[Service]\nExecStart=/usr/bin/dbus-daemon --system\n",
    )
    .exec("/lib/systemd/systemd-logind")
    .write(
        "/etc/pam.d/common-session",
        "session optional pam_systemd.so\n",
    );
    r
}

fn no_user_bus() -> Root {
    let r = healthy();
    r.rm("/usr/lib/systemd/user/dbus.service")
        .rm("/usr/lib/systemd/user/dbus.socket");
    r
}

fn debian_pulseaudio_enabled() -> Root {
    let r = healthy();
    r.write(
        "/usr/lib/systemd/user/pulseaudio.service",
        "[Service]\nExecStart=/usr/bin/pulseaudio --daemonize=no --log-target=journal\n",
    )
    .write(
        "/usr/lib/systemd/user/pulseaudio.socket",
        "[Socket]\nListenStream=%t/pulse/native\n",
    )
    .link(
        "/etc/systemd/user/default.target.wants/pulseaudio.service",
        "/usr/lib/systemd/user/pulseaudio.service",
    )
    .link(
        "/etc/systemd/user/sockets.target.wants/pulseaudio.socket",
        "/usr/lib/systemd/user/pulseaudio.socket",
    );
    r
}

fn strict_missing_program() -> Root {
    let r = healthy();
    r.write(
        "/usr/share/unitpack/my-pulseaudio-user/manifest",
        &manifest(true),
    )
    .rm("/usr/bin/pulseaudio");
    r
}

fn booted_without_session() -> Root {
    let r = healthy();
    fs::create_dir_all(r.p("/run/systemd/system")).unwrap();
    r
}

/// Every kind of file the helper reads made hostile: an enabled unit is a
/// FIFO, another links to a 5 GB sparse file, package b-fifo's manifest is a
/// FIFO, package c-fifo-unit's unit is one. (Character devices: see
/// `hostile_root_character_devices_are_not_opened`.)
fn hostile_files() -> Root {
    let r = healthy();
    r.write(
        "/usr/share/unitpack/c-fifo-unit/manifest",
        "format\t1\npackage\tc-fifo-unit\nunit\tuser\tnone\tc.service\t/usr/lib/systemd/user/c.service\n",
    )
    .fifo("/usr/lib/systemd/user/c.service")
        .fifo("/etc/systemd/user/default.target.wants/fifo.service")
        .sparse("/usr/lib/systemd/user/huge.service", 5 << 30)
        .link(
            "/etc/systemd/user/sockets.target.wants/huge.service",
            "/usr/lib/systemd/user/huge.service",
        )
        .fifo("/usr/share/unitpack/b-fifo/manifest");
    r
}

fn malformed_and_second_package() -> Root {
    let r = healthy();
    r.write(
        "/usr/share/unitpack/a-broken/manifest",
        "format\t1\npackage\ta-broken\nunit\tuser\tglobal\n",
    );
    r
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_with(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run unitpack-check");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Runs the host binary with 256 MiB of address space at most (reading a
/// 5 GB file would abort) and kills it after `limit`: a hang fails the test
/// instead of hanging it.
fn bounded(args: &[&str], limit: std::time::Duration) -> (Run, std::time::Duration) {
    let start = std::time::Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 262144 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_unitpack-check"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("unitpack-check {:?} still running after {:?}", args, limit);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    };
    (run, elapsed)
}

fn host(args: &[&str]) -> Run {
    run_with(Command::new(env!("CARGO_BIN_EXE_unitpack-check")).args(args))
}

type Scenario = (&'static str, fn() -> Root);

const SCENARIOS: &[Scenario] = &[
    ("healthy", healthy),
    ("no_user_bus", no_user_bus),
    ("debian_pulseaudio_enabled", debian_pulseaudio_enabled),
    ("strict_missing_program", strict_missing_program),
    ("booted_without_session", booted_without_session),
    ("malformed_and_second_package", malformed_and_second_package),
    ("hostile_files", hostile_files),
];

fn invocations(root: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&["doctor", "--root", root]),
        s(&["doctor", "--root", root, "--json"]),
        s(&["postinst", "my-pulseaudio-user", "--root", root, "--json"]),
        s(&["doctor", "--root", root, "--uid", "4321"]),
    ]
}

#[test]
fn healthy_root_passes() {
    let r = healthy();
    let d = host(&["doctor", "--root", r.path()]);
    assert_eq!(d.code, 0, "{}", d.stdout);
    assert!(
        d.stdout
            .contains("my-pulseaudio-user:\n  UC001 info: systemd is not running here"),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout
            .ends_with("summary: 1 package(s), 0 error(s), 0 warning(s)\n"),
        "{}",
        d.stdout
    );
    let p = host(&["postinst", "my-pulseaudio-user", "--root", r.path()]);
    assert_eq!((p.code, p.stdout.as_str(), p.stderr.as_str()), (0, "", ""));
}

#[test]
fn missing_user_bus_is_an_error_and_json_says_so() {
    let r = no_user_bus();
    let d = host(&["doctor", "--root", r.path(), "--json"]);
    assert_eq!(d.code, 1);
    assert!(
        d.stdout
            .starts_with("{\"packages\":[{\"package\":\"my-pulseaudio-user\",\"checks\":["),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains(
        "{\"code\":\"UC003\",\"severity\":\"error\",\"unit\":\"my_pulseaudio.service\",\"verdict\":\"user unit has Requires=dbus.service"
    ), "{}", d.stdout);
    assert!(d.stdout.contains("\"fix\":\"install dbus-user-session\"}"));
    assert!(d.stdout.ends_with("],\"systemd_running\":false}\n"));
    // Not strict: the postinst warns and succeeds.
    let p = host(&["postinst", "my-pulseaudio-user", "--root", r.path()]);
    assert_eq!(p.code, 0);
    assert!(p.stderr.starts_with("unitpack-check: UC003 error: my_pulseaudio.service: user unit has Requires=dbus.service"), "{}", p.stderr);
    assert!(
        p.stderr
            .trim_end()
            .ends_with("(fix: install dbus-user-session)"),
        "{}",
        p.stderr
    );
}

#[test]
fn conflicting_distribution_unit_warns() {
    let r = debian_pulseaudio_enabled();
    let d = host(&["doctor", "--root", r.path()]);
    assert_eq!(d.code, 0);
    assert!(d.stdout.contains("UC006 warning: my_pulseaudio.service: pulseaudio is also started by enabled pulseaudio.service, pulseaudio.socket"), "{}", d.stdout);
    assert!(d.stdout.contains("(fix: systemctl --global disable pulseaudio.service pulseaudio.socket, or declare takes_over in the recipe)"));
}

#[test]
fn strict_package_fails_postinst() {
    let r = strict_missing_program();
    let p = host(&["postinst", "my-pulseaudio-user", "--root", r.path()]);
    assert_eq!(p.code, 1);
    assert!(
        p.stderr.contains(
            "UC004 error: my_pulseaudio.service: ExecStart=/usr/bin/pulseaudio does not exist"
        ),
        "{}",
        p.stderr
    );
    assert!(
        p.stderr
            .contains("my-pulseaudio-user: 1 error(s) and the package asks for strict checks"),
        "{}",
        p.stderr
    );
}

#[test]
fn malformed_manifest_is_reported_not_fatal_for_postinst() {
    let r = malformed_and_second_package();
    let d = host(&["doctor", "--root", r.path()]);
    assert_eq!(d.code, 1);
    // Packages in name order; the broken one first.
    let a = d.stdout.find("a-broken:").unwrap();
    let b = d.stdout.find("my-pulseaudio-user:").unwrap();
    assert!(a < b);
    assert!(d.stdout.contains(
        "  UC000 error: /usr/share/unitpack/a-broken/manifest:3: `unit` record needs 4 TAB-separated fields, found 2"
    ), "{}", d.stdout);
    let p = host(&["postinst", "a-broken", "--root", r.path()]);
    assert_eq!(p.code, 0, "{}", p.stderr);
    assert!(p.stderr.starts_with("unitpack-check: UC000 error: "));
    // Named packages only.
    let only = host(&["doctor", "--root", r.path(), "my-pulseaudio-user"]);
    assert_eq!(only.code, 0);
    assert!(!only.stdout.contains("a-broken"));
}

#[test]
fn runtime_checks_when_booted() {
    let r = booted_without_session();
    let d = host(&["doctor", "--root", r.path(), "--json"]);
    assert_eq!(d.code, 0);
    assert!(d.stdout.ends_with("\"systemd_running\":true}\n"));
    assert!(d
        .stdout
        .contains("\"severity\":\"warning\",\"unit\":null,\"verdict\":\"/run/user does not exist"));
}

#[test]
fn wait_runtime_dir_reports_cause() {
    let r = healthy();
    let w = host(&[
        "wait-runtime-dir",
        "--root",
        r.path(),
        "--uid",
        "4321",
        "--timeout",
        "0.2",
    ]);
    assert_eq!(w.code, 1);
    assert!(
        w.stderr
            .starts_with("unitpack-check: /run/user/4321 does not exist (waited 200 ms)"),
        "{}",
        w.stderr
    );
    assert!(w.stderr.contains("loginctl enable-linger"));
}

const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

#[test]
fn hostile_root_fifos_and_huge_files_are_skipped_not_read() {
    let r = hostile_files();
    let (p, took) = bounded(
        &["postinst", "my-pulseaudio-user", "--root", r.path()],
        HANG_LIMIT,
    );
    assert_eq!(p.code, 0, "{}", p.stderr);
    assert!(took < HANG_LIMIT);
    for needle in [
        String::from("UC008 warning: skipped /etc/systemd/user/default.target.wants/fifo.service: is a FIFO, not a regular file; not opened"),
        String::from("UC008 warning: skipped /etc/systemd/user/sockets.target.wants/huge.service: is 5368709120 bytes, more than the 1048576 bytes the helper reads; not read"),
    ] {
        assert!(p.stderr.contains(&needle), "{} missing from\n{}", needle, p.stderr);
    }

    let (c, _) = bounded(&["postinst", "c-fifo-unit", "--root", r.path()], HANG_LIMIT);
    assert_eq!(c.code, 0);
    let unit = "/usr/lib/systemd/user/c.service";
    for needle in [
        format!(
            "UC007 error: c.service: unit file {} is a FIFO, not a regular file; not opened",
            unit
        ),
        format!("UC008 warning: skipped {}: is a FIFO", unit),
    ] {
        assert!(
            c.stderr.contains(&needle),
            "{} missing from\n{}",
            needle,
            c.stderr
        );
    }

    let (f, _) = bounded(&["postinst", "b-fifo", "--root", r.path()], HANG_LIMIT);
    assert_eq!(f.code, 0);
    assert!(
        f.stderr.contains("UC000 error: /usr/share/unitpack/b-fifo/manifest is a FIFO, not a regular file; not opened"),
        "{}",
        f.stderr
    );

    let (d, _) = bounded(&["doctor", "--root", r.path()], HANG_LIMIT);
    assert_eq!(d.code, 1, "{}", d.stdout);
    assert!(d.stdout.contains("b-fifo:\n  UC000 error:"), "{}", d.stdout);
    assert!(
        d.stdout
            .contains("summary: 3 package(s), 2 error(s), 4 warning(s)"),
        "{}",
        d.stdout
    );
}

#[test]
fn hostile_root_character_devices_are_not_opened() {
    let r = healthy();
    if !r.zero_device("/dev/zero") {
        return;
    }
    r.link(
        "/etc/systemd/user/default.target.wants/zero.service",
        "/dev/zero",
    );
    let (p, took) = bounded(
        &["postinst", "my-pulseaudio-user", "--root", r.path()],
        HANG_LIMIT,
    );
    assert_eq!(p.code, 0, "{}", p.stderr);
    assert!(took < HANG_LIMIT);
    assert!(p.stderr.contains("UC008 warning: skipped /etc/systemd/user/default.target.wants/zero.service: is a character device, not a regular file; not opened"), "{}", p.stderr);
    let unit = "/usr/lib/systemd/user/my_pulseaudio.service";
    r.zero_device(unit);
    let (p, _) = bounded(
        &["postinst", "my-pulseaudio-user", "--root", r.path()],
        HANG_LIMIT,
    );
    assert!(p.stderr.contains("UC007 error: my_pulseaudio.service: unit file /usr/lib/systemd/user/my_pulseaudio.service is a character device, not a regular file; not opened"), "{}", p.stderr);
    r.zero_device("/usr/share/unitpack/my-pulseaudio-user/manifest");
    let (d, _) = bounded(&["doctor", "--root", r.path()], HANG_LIMIT);
    assert_eq!(d.code, 1);
    assert!(
        d.stdout.contains(
            "UC000 error: /usr/share/unitpack/my-pulseaudio-user/manifest is a character device"
        ),
        "{}",
        d.stdout
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(host(&[]).code, 2);
    assert_eq!(host(&["frobnicate"]).code, 2);
    assert_eq!(host(&["postinst"]).code, 2);
    assert_eq!(host(&["doctor", "--nope"]).code, 2);
    let missing = host(&["doctor", "--root", "/nonexistent/unitpack-check-root"]);
    assert_eq!(missing.code, 2);
    assert!(missing
        .stderr
        .contains("--root /nonexistent/unitpack-check-root: not a directory"));
    let v = host(&["--version"]);
    assert_eq!(
        (v.code, v.stdout.as_str()),
        (
            0,
            concat!("unitpack-check ", env!("CARGO_PKG_VERSION"), "\n")
        )
    );
    let h = host(&["--help"]);
    assert!(h.stdout.contains("UC006"));
    let bad = run_with(
        Command::new(env!("CARGO_BIN_EXE_unitpack-check"))
            .arg("doctor")
            .arg(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"\xff")),
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("argument 2 is not UTF-8"),
        "{}",
        bad.stderr
    );
}

/// The helper has its own C `main` (src/rt.rs); like std's start-up, it ignores
/// SIGPIPE: output to a pipe nobody reads is a write error, and doctor still exits
/// with its verdict instead of dying of the signal.
#[test]
fn a_closed_pipe_is_a_write_error_not_a_signal() {
    let r = healthy();
    let fifo = r.p("/out");
    // A FIFO opened for writing whose only reader is then closed: the helper's
    // first write to stdout fails, however fast it runs.
    let script = "mkfifo \"$2\" && exec 4<>\"$2\" 5>\"$2\" 4<&- && \"$0\" doctor --root \"$1\" >&5; echo \"status $?\"";
    let out = run_with(
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_unitpack-check"))
            .arg(r.path())
            .arg(&fifo),
    );
    assert_eq!(out.stdout, "status 0\n", "{}", out.stderr);
}

/// The armhf build gives the same verdicts as the host build. Runs only when
/// UNITPACK_ARMHF_BIN is set; then any difference or failure to run fails.
#[test]
fn armhf_build_matches_host() {
    let bin = match std::env::var("UNITPACK_ARMHF_BIN") {
        Ok(b) if !b.is_empty() => b,
        _ => {
            eprintln!("UNITPACK_ARMHF_BIN not set: armhf comparison not run");
            return;
        }
    };
    let qemu = std::env::var("UNITPACK_QEMU").unwrap_or_else(|_| String::from("qemu-arm-static"));
    let v = run_with(Command::new(&qemu).arg(&bin).arg("--version"));
    assert_eq!(v.code, 0, "{} {} --version failed: {}", qemu, bin, v.stderr);
    let mut compared = 0;
    for (name, make) in SCENARIOS {
        let r = make();
        for args in invocations(r.path()) {
            let h = host(&args.iter().map(|s| s.as_str()).collect::<Vec<_>>());
            let a = run_with(Command::new(&qemu).arg(&bin).args(&args));
            assert_eq!(
                a.code, h.code,
                "{}: {:?}: exit status differs\narmhf stderr: {}",
                name, args, a.stderr
            );
            assert_eq!(a.stdout, h.stdout, "{}: {:?}: stdout differs", name, args);
            assert_eq!(a.stderr, h.stderr, "{}: {:?}: stderr differs", name, args);
            compared += 1;
        }
    }
    assert_eq!(compared, SCENARIOS.len() * 4);
    eprintln!(
        "armhf build matched the host build on {} invocations",
        compared
    );
}
