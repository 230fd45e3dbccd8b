//! Shared helpers of the integration tests.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub const EPOCH: &str = "1700000000";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn seed(name: &str) -> PathBuf {
    repo().join("recipes").join(name)
}

pub fn unitpack() -> Command {
    let mut cmd = Command::cargo_bin("unitpack").unwrap();
    cmd.current_dir(repo()).env("SOURCE_DATE_EPOCH", EPOCH);
    cmd
}

/// `unitpack build RECIPE -o OUT`: what it printed and how it exited.
pub fn run_build(recipe: &Path, out: &Path) -> std::process::Output {
    unitpack()
        .arg("build")
        .arg(recipe)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// Build `recipe` into `out` and return the path of the .deb.
pub fn build(recipe: &Path, out: &Path) -> PathBuf {
    let output = run_build(recipe, out);
    assert!(
        output.status.success(),
        "build of {} failed: {}",
        recipe.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let path = String::from_utf8(output.stdout).unwrap().trim().to_string();
    PathBuf::from(path)
}

/// Run a program that the tests need; a missing tool is a failure, not a skip.
pub fn run(program: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed by this test (see .ci/run): {e}"))
}

pub fn stdout(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn sha256(path: &Path) -> String {
    stdout("sha256sum", &[path.to_str().unwrap()])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Write a recipe file (and optional extra files) into a fresh directory.
pub fn recipe_dir(text: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let recipe = dir.path().join("recipe.yaml");
    std::fs::write(&recipe, text).unwrap();
    (dir, recipe)
}

/// A small valid recipe; tests replace parts of it to make it wrong.
pub const MINIMAL: &str = r#"package:
  name: demo-units
  version: "1.0"
  revision: "1"
  maintainer: Jane Doe <jane@example.org>
  summary: A demo
  license: MIT
  depends:
    - dbus-user-session
target: ubuntu-xenial
units:
  - name: demo.service
    scope: user
    sections:
      Unit:
        Description: Demo
      Service:
        ExecStart: /bin/true
      Install:
        WantedBy: default.target
"#;

/// A fresh gpg key, made in 2020 (so any later date signs), its secret exported to
/// `dir/NAME.key`: its primary is of gpg's `algorithm` (`ed25519`, `rsa3072`, …) and
/// signs, or, with `sign_subkey`, only certifies and has a signing subkey of that
/// algorithm.
pub fn gpg_key(dir: &Path, name: &str, algorithm: &str, sign_subkey: Option<&str>) -> PathBuf {
    let home = dir.join(format!("gnupg-{name}"));
    std::fs::create_dir_all(&home).unwrap();
    let gpg = |args: &[&str]| {
        let out = std::process::Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            // Frozen ("!"): a busy machine could otherwise date the primary key a
            // second after the next call's start, and gpg refuses the subkey
            // ("Time conflict").
            .args(["--batch", "--faked-system-time", "20200101T000000!"])
            .args(args)
            .output()
            .expect("gpg (gnupg) is needed by this test");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        &format!("{name} <{name}@example.org>"),
        algorithm,
        if sign_subkey.is_some() {
            "cert"
        } else {
            "sign"
        },
        "never",
    ]);
    if let Some(sub) = sign_subkey {
        let listing = String::from_utf8(gpg(&["--with-colons", "--list-keys"])).unwrap();
        let fpr = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:::::::::"))
            .and_then(|rest| rest.split(':').next())
            .expect("the new key's fingerprint")
            .to_string();
        gpg(&[
            "--passphrase",
            "",
            "--quick-add-key",
            &fpr,
            sub,
            "sign",
            "never",
        ]);
    }
    let file = dir.join(format!("{name}.key"));
    std::fs::write(&file, gpg(&["--export-secret-keys"])).unwrap();
    let _ = std::process::Command::new("gpgconf")
        .arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"])
        .output();
    file
}

/// The board's dpkg 1.18.4, built from the vendored upstream tarball by
/// `scripts/vendor/dpkg-1.18.4`: its install prefix (`bin/dpkg`, `bin/dpkg-deb`, ...).
/// `UNITPACK_DPKG_1_18_4` names it (scripts/test sets it); otherwise the script is run,
/// which builds it once per machine. Where it cannot be had, a test needing it fails
/// when `CI` is set and is otherwise skipped with a note on the terminal.
pub fn dpkg_1_18_4() -> Option<PathBuf> {
    static PREFIX: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let found = PREFIX.get_or_init(|| {
        if let Some(prefix) = std::env::var_os("UNITPACK_DPKG_1_18_4") {
            let prefix = PathBuf::from(prefix);
            assert!(
                prefix.join("bin/dpkg-deb").is_file(),
                "UNITPACK_DPKG_1_18_4={} has no bin/dpkg-deb",
                prefix.display()
            );
            return Ok(prefix);
        }
        let script = repo().join("scripts/vendor/dpkg-1.18.4");
        match std::process::Command::new(&script).output() {
            Ok(out) if out.status.success() => Ok(PathBuf::from(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .last()
                    .unwrap_or(""),
            )),
            Ok(out) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
            Err(e) => Err(format!("{}: {e}", script.display())),
        }
    });
    match found {
        Ok(prefix) => Some(prefix.clone()),
        Err(why) => {
            unavailable(&format!(
                "dpkg 1.18.4 cannot be had (scripts/vendor/dpkg-1.18.4): {}",
                why.trim()
            ));
            None
        }
    }
}

/// Whether `tool --version` runs; when it does not, `unavailable(why)` (so under `CI`
/// the test fails here).
#[track_caller]
pub fn available(tool: &str, why: &str) -> bool {
    let runs = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        unavailable(why);
    }
    runs
}

/// The one policy for a tool or input a test needs and cannot find: with `CI` set
/// (scripts/test sets it: its set-up installs everything) the test fails; elsewhere it
/// says on the terminal that (part of) it did not run. Written to the process's stderr
/// directly: the test harness would hide `eprintln!` of a passing test.
#[track_caller]
pub fn unavailable(why: &str) {
    use std::io::Write;
    assert!(std::env::var_os("CI").is_none(), "CI is set: {why}");
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

pub mod yocto;

/// The host's `unitpack-check` package: `UNITPACK_HELPER_DEB`, or the amd64 one
/// `scripts/cross-build` wrote into `target/unitpack-check`.
pub fn helper_deb() -> PathBuf {
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

pub mod diff;
