//! `unitpack repo`: the repository read back by real tools. gpgv checks the signatures;
//! Debian 12's apt (the host's, in a private directory) fetches over HTTP from Python's
//! `http.server` on 127.0.0.1 and must refuse every tampered repository. The install and
//! upgrade through apt run in debootstrap chroots (ignored here: root; scripts/test runs
//! them with `cargo test --test repo -- --ignored`).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// 2020-01-01: test keys are made then, so any later SOURCE_DATE_EPOCH can sign.
/// A fresh ed25519 signing key; returns the secret key file.
fn make_key(dir: &Path, name: &str) -> PathBuf {
    gpg_key(dir, name, "ed25519", None)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A stand-in for the helper package (built by dpkg-deb) of `arch`.
fn helper(dir: &Path, arch: &str, version: &str) -> PathBuf {
    helper_saying(dir, arch, version, "exit 0")
}

fn helper_saying(dir: &Path, arch: &str, version: &str, script: &str) -> PathBuf {
    let tree = dir.join(format!("helper-{arch}-{version}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::fs::write(
        tree.join("usr/bin/unitpack-check"),
        format!("#!/bin/sh\n{script}\n"),
    )
    .unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: unitpack-check\nVersion: {version}\nArchitecture: {arch}\n\
             Maintainer: T <t@example.org>\nDescription: stand-in helper\n"
        ),
    )
    .unwrap();
    let out = dir.join(format!("unitpack-check_{version}_{arch}.deb"));
    dpkg_deb_build(&tree, &out);
    out
}

/// The seed user-unit recipe built as `version`.
fn seed_deb(dir: &Path, version: &str) -> PathBuf {
    let recipe = std::fs::read_to_string(seed("pulseaudio-user.yaml"))
        .unwrap()
        .replace("version: \"1.0.0\"", &format!("version: \"{version}\""));
    let path = dir.join(format!("seed-{version}.yaml"));
    std::fs::write(&path, recipe).unwrap();
    build(&path, &dir.join(format!("out-{version}")))
}

fn repo_add(repo: &Path, key: &Path, epoch: u64, extra: &[&str], debs: &[&Path]) -> Output {
    let mut cmd = unitpack();
    cmd.env("SOURCE_DATE_EPOCH", epoch.to_string())
        .args(["repo", "add", "--suite", "stable", "--repo"])
        .arg(repo)
        .arg("--key")
        .arg(key)
        .args(extra)
        .args(debs);
    cmd.output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "unitpack failed ({:?}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn bad_input(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn export_key(key: &Path, dest: &Path) {
    ok(unitpack()
        .args(["repo", "export-key", "--key"])
        .arg(key)
        .arg("-o")
        .arg(dest)
        .output()
        .unwrap());
}

/// Every file below `dir` with its bytes (what "nothing written" compares).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
        let bytes = if e.file_type().is_file() {
            std::fs::read(e.path()).unwrap()
        } else {
            Vec::new()
        };
        out.insert(rel, bytes);
    }
    out
}

struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
    keyring: PathBuf,
    debs: Vec<PathBuf>,
}

impl Fixture {
    /// The seed at 1.0.0 and helpers for amd64 and armhf, a key and its public keyring.
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key = make_key(dir.path(), "repo");
        let keyring = dir.path().join("repo.gpg");
        export_key(&key, &keyring);
        let debs = vec![
            seed_deb(dir.path(), "1.0.0"),
            helper(dir.path(), "amd64", "0.1.0"),
            helper(dir.path(), "armhf", "0.1.0"),
        ];
        Fixture {
            dir,
            key,
            keyring,
            debs,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn debs(&self) -> Vec<&Path> {
        self.debs.iter().map(PathBuf::as_path).collect()
    }

    fn publish(&self, repo: &Path) {
        ok(repo_add(repo, &self.key, 1_750_000_000, &[], &self.debs()));
    }
}

#[test]
fn signatures_verify_and_hashes_match() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    let suite = repo.join("dists/stable");
    let keyring = f.keyring.to_str().unwrap();
    for args in [
        vec![suite.join("InRelease")],
        vec![suite.join("Release.gpg"), suite.join("Release")],
    ] {
        let mut all = vec!["--keyring", keyring];
        all.extend(args.iter().map(|p| p.to_str().unwrap()));
        let out = run("gpgv", &all);
        assert!(out.status.success(), "gpgv: {}", text(&out.stderr));
    }
    // InRelease is the same text as Release, clear-signed.
    let inrelease = std::fs::read_to_string(suite.join("InRelease")).unwrap();
    let release = std::fs::read_to_string(suite.join("Release")).unwrap();
    assert!(
        inrelease.contains(&release),
        "InRelease does not carry Release"
    );
    assert!(release.contains("Date: Sun, 15 Jun 2025 15:06:40 UTC\n"));
    assert!(release.contains("Architectures: all amd64 armhf\n"));
    assert!(release.contains("Components: main\n"));
    assert!(!release.contains("Valid-Until"));

    // Every index of Release, with its size, MD5 and SHA256 as the files have them.
    let mut listed = 0;
    for section in ["MD5Sum:", "SHA256:"] {
        let body = release.split(section).nth(1).unwrap();
        for line in body.lines().skip(1).take_while(|l| l.starts_with(' ')) {
            let w: Vec<&str> = line.split_whitespace().collect();
            let file = suite.join(w[2]);
            let tool = if section == "SHA256:" {
                "sha256sum"
            } else {
                "md5sum"
            };
            let sum = stdout(tool, &[file.to_str().unwrap()]);
            assert_eq!(
                sum.split_whitespace().next().unwrap(),
                w[0],
                "{section} {}",
                w[2]
            );
            assert_eq!(std::fs::metadata(&file).unwrap().len().to_string(), w[1]);
            listed += 1;
        }
    }
    // 3 architectures (all amd64 armhf) x 3 forms, twice.
    assert_eq!(listed, 18);
    for arch in ["amd64", "armhf", "all"] {
        let dir = suite.join(format!("main/binary-{arch}"));
        let plain = std::fs::read(dir.join("Packages")).unwrap();
        let xz = Command::new("xz")
            .arg("-dc")
            .arg(dir.join("Packages.xz"))
            .output()
            .unwrap();
        let gz = Command::new("gzip")
            .arg("-dc")
            .arg(dir.join("Packages.gz"))
            .output()
            .unwrap();
        assert_eq!(xz.stdout, plain, "{arch}: Packages.xz");
        assert_eq!(gz.stdout, plain, "{arch}: Packages.gz");
    }

    // The amd64 index: the arch-all seed and the amd64 helper, each pointing at a pool
    // file of its size and hashes.
    let packages = std::fs::read_to_string(suite.join("main/binary-amd64/Packages")).unwrap();
    let stanzas: Vec<&str> = packages.split("\n\n").collect();
    assert_eq!(stanzas.len(), 2, "{packages}");
    for (stanza, deb) in stanzas.iter().zip([&f.debs[0], &f.debs[1]]) {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_else(|| panic!("no {name} in {stanza}"))
                .to_string()
        };
        let pooled = repo.join(field("Filename"));
        assert_eq!(std::fs::read(&pooled).unwrap(), std::fs::read(deb).unwrap());
        assert_eq!(field("SHA256"), sha256(deb));
        assert_eq!(
            field("Size"),
            std::fs::metadata(deb).unwrap().len().to_string()
        );
    }
    assert!(packages
        .contains("Filename: pool/main/m/my-pulseaudio-user/my-pulseaudio-user_1.0.0-1_all.deb\n"));
    assert!(
        packages.contains("Filename: pool/main/u/unitpack-check/unitpack-check_0.1.0_amd64.deb\n")
    );
    assert!(!packages.contains("_armhf.deb"));
}

/// The verifiers of apt's generations, run for real on the repository: xenial's apt 1.2
/// verifies with gpgv 1.4.20 (here Debian 12's `gpgv1`, 1.4.23, the same series); Debian
/// 12's apt with gpgv 2.2; Debian 13's with sqv (here Debian 12's `sqv`, 1.1.0, the same
/// policy on key sizes). Only RSA of 2048 bits or more passes all three, and `repo add`
/// is silent then; for ed25519 (also as the signing subkey of an RSA primary key: what
/// counts is the key that signed) gpgv 1.4 says "unknown pubkey algorithm", and for
/// RSA-1024 sqv says "not considered secure"; `repo add` warns of both, naming the key
/// file, and still writes the repository.
#[test]
fn every_apt_generation_verifies_an_rsa_repository_and_other_keys_are_warned_of() {
    struct Case {
        key: PathBuf,
        keyring: PathBuf,
        gpgv1: bool,
        sqv: bool,
    }
    let f = Fixture::new();
    let case = |name: &str, algorithm: &str, subkey: Option<&str>, gpgv1: bool, sqv: bool| {
        let key = gpg_key(f.dir.path(), name, algorithm, subkey);
        let keyring = f.path(&format!("{name}.gpg"));
        export_key(&key, &keyring);
        Case {
            key,
            keyring,
            gpgv1,
            sqv,
        }
    };
    let cases = [
        case("rsa", "rsa3072", None, true, true),
        Case {
            key: f.key.clone(),
            keyring: f.keyring.clone(),
            gpgv1: false,
            sqv: true,
        },
        case("mixed", "rsa3072", Some("ed25519"), false, true),
        case("short", "rsa1024", None, true, false),
    ];
    for c in &cases {
        let (key, keyring) = (&c.key, c.keyring.to_str().unwrap());
        let all_ok = c.gpgv1 && c.sqv;
        let repo = f.path(&format!(
            "repo-{}",
            key.file_stem().unwrap().to_string_lossy()
        ));
        let out = repo_add(&repo, key, 1_750_000_000, &[], &f.debs());
        let stderr = text(&out.stderr);
        ok(out);
        let warned = stderr.contains(&format!("warning: {}: key:", key.display()))
            && stderr.contains("RSA key of 2048 bits or more");
        assert_eq!(warned, !all_ok, "{}: stderr: {stderr}", key.display());
        assert_eq!(stderr.contains("gpgv 1.4"), !c.gpgv1, "{stderr}");
        assert_eq!(stderr.contains("sqv"), !c.sqv, "{stderr}");

        let suite = repo.join("dists/stable");
        let (inrelease, detached, release) = (
            suite.join("InRelease"),
            suite.join("Release.gpg"),
            suite.join("Release"),
        );
        for (gpgv, expected) in [("gpgv", true), ("gpgv1", c.gpgv1)] {
            for signed in [vec![&inrelease], vec![&detached, &release]] {
                let mut args = vec!["--status-fd", "1", "--keyring", keyring];
                args.extend(signed.iter().map(|p| p.to_str().unwrap()));
                let out = run(gpgv, &args);
                let good = out.status.success() && text(&out.stdout).contains("VALIDSIG ");
                assert_eq!(good, expected, "{gpgv} {args:?}: {}", text(&out.stderr));
                if !expected {
                    assert!(
                        text(&out.stderr).contains("unknown pubkey algorithm"),
                        "{gpgv}: {}",
                        text(&out.stderr)
                    );
                }
            }
        }
        let out = run(
            "sqv",
            &[
                "--keyring",
                keyring,
                detached.to_str().unwrap(),
                release.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.success(), c.sqv, "sqv: {}", text(&out.stderr));
        if !c.sqv {
            assert!(
                text(&out.stderr).contains("not considered secure"),
                "sqv: {}",
                text(&out.stderr)
            );
        }

        // Debian 12's apt with xenial's verifier (its APT::Key::gpgvcommand): for ed25519
        // "The following signatures were invalid: ERRSIG …", then "is not signed".
        let server = Server::serve(&repo);
        let out = Apt::new(&server.url(), &c.keyring).get(&[
            "-o",
            "APT::Key::gpgvcommand=gpgv1",
            "update",
        ]);
        if c.gpgv1 {
            let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(
                out.status.success(),
                "apt-get update (gpgv1) failed:\n{all}"
            );
            assert!(
                !all.lines()
                    .any(|l| l.starts_with("W:") || l.starts_with("E:")),
                "{all}"
            );
        } else {
            refused(&out, &["is not signed"]);
        }
    }
}

#[test]
fn reproducible_to_the_signature() {
    let f = Fixture::new();
    let (a, b) = (f.path("a"), f.path("b"));
    f.publish(&a);
    // Another order of arguments, another day of the clock: same bytes.
    let mut reversed = f.debs();
    reversed.reverse();
    ok(repo_add(&b, &f.key, 1_750_000_000, &[], &reversed));
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (name, bytes) in &ta {
        assert!(bytes == &tb[name], "{name} differs between two runs");
    }
    assert!(ta.contains_key("dists/stable/InRelease"));
}

#[test]
fn incremental_adds_keep_packages_and_refuse_a_changed_file() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    let v2 = seed_deb(f.dir.path(), "1.0.1");
    let out = ok(repo_add(
        &repo,
        &f.key,
        1_750_000_100,
        &[],
        &[&v2, &f.debs[0]],
    ));
    assert!(out.contains("added pool/main/m/my-pulseaudio-user/my-pulseaudio-user_1.0.1-1_all.deb"));
    assert!(
        out.contains("unchanged pool/main/m/my-pulseaudio-user/my-pulseaudio-user_1.0.0-1_all.deb")
    );
    let packages =
        std::fs::read_to_string(repo.join("dists/stable/main/binary-armhf/Packages")).unwrap();
    for v in [
        "Version: 1.0.0-1\n",
        "Version: 1.0.1-1\n",
        "Version: 0.1.0\n",
    ] {
        assert!(packages.contains(v), "{v} missing:\n{packages}");
    }

    // Same name, version and architecture, other bytes: refused, nothing touched.
    let before = tree(&repo);
    let other = f.path("other");
    std::fs::create_dir(&other).unwrap();
    let impostor = helper_saying(&other, "amd64", "0.1.0", "exit 1");
    assert_ne!(sha256(&impostor), sha256(&f.debs[1]));
    let err = bad_input(repo_add(&repo, &f.key, 1_750_000_200, &[], &[&impostor]));
    assert!(
        err.contains("already has unitpack-check 0.1.0 (amd64)") && err.contains("new version"),
        "{err}"
    );
    assert!(
        err.contains(impostor.to_str().unwrap()),
        "names the file: {err}"
    );
    assert_eq!(tree(&repo), before, "a refused add changed the repository");
}

#[test]
fn wrong_input_is_refused_before_anything_is_written() {
    let f = Fixture::new();
    let fresh = f.path("fresh");
    let key = f.key.display().to_string();
    let nokey = f.path("nokey").display().to_string();
    let public = f.keyring.display().to_string();
    let cases: Vec<([&str; 4], &str)> = vec![
        (["--key", &nokey, "--suite", "stable"], "no such key file"),
        (
            ["--key", &public, "--suite", "stable"],
            "holds no secret key",
        ),
        (["--key", &key, "--suite", "../x"], "is not a suite name"),
        (
            ["--key", &key, "--arch", "ARM"],
            "is not a Debian architecture",
        ),
        (["--key", &key, "--valid-for", "soon"], "is not a duration"),
    ];
    for (args, message) in cases {
        let mut cmd = unitpack();
        cmd.env("SOURCE_DATE_EPOCH", "1750000000")
            .args(["repo", "add", "--repo"])
            .arg(&fresh)
            .args(args);
        if !args.contains(&"--suite") {
            cmd.args(["--suite", "stable"]);
        }
        cmd.args(f.debs());
        let err = bad_input(cmd.output().unwrap());
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!fresh.exists(), "{args:?} created the repository");
    }
    // No key at all.
    let err = bad_input(
        unitpack()
            .args(["repo", "add", "--suite", "s", "--repo"])
            .arg(&fresh)
            .output()
            .unwrap(),
    );
    assert!(err.contains("give --key KEYFILE or --key-id ID"), "{err}");

    // A signature older than its key.
    let err = bad_input(repo_add(&fresh, &f.key, 1_500_000_000, &[], &f.debs()));
    assert!(err.contains("a signature cannot predate its key"), "{err}");
    // … and says what to do (issue 26).
    assert!(
        err.contains("unset SOURCE_DATE_EPOCH for `unitpack repo add`"),
        "{err}"
    );
    // Not a package.
    let junk = f.path("junk.deb");
    std::fs::write(&junk, "not an archive").unwrap();
    let err = bad_input(repo_add(&fresh, &f.key, 1_750_000_000, &[], &[&junk]));
    assert!(
        err.contains(&format!("{}: not a .deb", junk.display())),
        "{err}"
    );
    // Only arch-all packages and no --arch.
    let err = bad_input(repo_add(&fresh, &f.key, 1_750_000_000, &[], &[&f.debs[0]]));
    assert!(err.contains("--arch"), "{err}");
    assert!(!fresh.exists());

    // Repository paths: a file, a directory of other things, a missing parent.
    let file = f.path("afile");
    std::fs::write(&file, "x").unwrap();
    let err = bad_input(repo_add(&file, &f.key, 1_750_000_000, &[], &f.debs()));
    assert!(err.contains("is not a directory"), "{err}");
    let home = f.path("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join("notes.txt"), "x").unwrap();
    let err = bad_input(repo_add(&home, &f.key, 1_750_000_000, &[], &f.debs()));
    assert!(err.contains("not a repository"), "{err}");
    assert_eq!(tree(&home).len(), 2, "wrote into a foreign directory");
    let err = bad_input(repo_add(
        &f.path("no/such/dir"),
        &f.key,
        1_750_000_000,
        &[],
        &f.debs(),
    ));
    assert!(err.contains("nor does its parent"), "{err}");
    assert!(!f.path("no").exists());
}

/// Python's http.server on a free loopback port, stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn serve(dir: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Owned by a Server at once: its drop stops the process on every path.
        let server = Server {
            child: Command::new("python3")
                .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
                .arg(dir)
                .arg(port.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("python3 is needed by this test"),
            port,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("http.server did not start on port {port}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The host's apt (Debian 12) in a private directory: its own sources, lists and
/// status, nothing of the machine's configuration but the binaries. Or, with `tree`,
/// the board's apt 1.2.35 (see [`Apt::xenial`]).
struct Apt {
    dir: tempfile::TempDir,
    tree: Option<PathBuf>,
}

/// The board's apt 1.2.35, built from the vendored upstream tarball by
/// `scripts/vendor/apt-1.2.35` (once per machine): its tree (`usr/bin`, `usr/lib`).
/// `UNITPACK_APT_1_2_35` names it (scripts/test sets it). Where it cannot be had, the
/// test fails when `CI` is set and is otherwise skipped with a note.
fn apt_1_2_35() -> Option<PathBuf> {
    static TREE: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let found = TREE.get_or_init(|| {
        if let Some(tree) = std::env::var_os("UNITPACK_APT_1_2_35") {
            return Ok(PathBuf::from(tree));
        }
        let script = repo().join("scripts/vendor/apt-1.2.35");
        match Command::new(&script).args(["--arch", "amd64"]).output() {
            Ok(out) if out.status.success() => Ok(PathBuf::from(
                text(&out.stdout).lines().last().unwrap_or(""),
            )),
            Ok(out) => Err(text(&out.stderr)),
            Err(e) => Err(format!("{}: {e}", script.display())),
        }
    });
    match found {
        Ok(tree) if tree.join("usr/bin/apt-get").is_file() => Some(tree.clone()),
        Ok(tree) => panic!("{} has no usr/bin/apt-get", tree.display()),
        Err(why) => {
            unavailable(&format!(
                "apt 1.2.35 cannot be had (scripts/vendor/apt-1.2.35): {}",
                why.trim()
            ));
            None
        }
    }
}

impl Apt {
    /// A one-line source in the xenial-compatible form `deb [signed-by=…] URL suite main`.
    fn new(url: &str, keyring: &Path) -> Apt {
        Apt::of_suite(url, keyring, "stable")
    }

    fn of_suite(url: &str, keyring: &Path, suite: &str) -> Apt {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "etc/apt/sources.list.d",
            "etc/apt/apt.conf.d",
            "etc/apt/preferences.d",
            "etc/apt/trusted.gpg.d",
            "var/lib/apt/lists/partial",
            "var/cache/apt/archives/partial",
            "var/lib/dpkg",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        // What the seed depends on besides the helper, as if installed.
        let status: String = ["pulseaudio", "dbus-user-session"]
            .iter()
            .map(|p| {
                format!(
                    "Package: {p}\nStatus: install ok installed\nVersion: 99\n\
                     Architecture: amd64\nMaintainer: x <x@example.org>\nDescription: x\n\n"
                )
            })
            .collect();
        std::fs::write(dir.path().join("var/lib/dpkg/status"), status).unwrap();
        // APT_CONFIG is read first, so the machine's apt.conf.d stays out (a mirror set-up
        // may turn Check-Valid-Until off).
        std::fs::write(
            dir.path().join("apt.conf"),
            format!(
                "Dir \"{d}/\";\nDir::State::status \"{d}/var/lib/dpkg/status\";\n\
                 APT::Architecture \"amd64\";\nAPT::Architectures {{ \"amd64\"; }};\n\
                 APT::Sandbox::User \"root\";\nDebug::NoLocking \"true\";\n\
                 Acquire::Retries \"0\";\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/apt/sources.list"),
            format!("deb [signed-by={}] {url} {suite} main\n", keyring.display()),
        )
        .unwrap();
        Apt { dir, tree: None }
    }

    /// The board's apt 1.2.35 run from its build tree on this machine, in a private
    /// directory like [`Apt::new`]: its own methods and `apt-key`, verifying with
    /// `gpgv1` (gpgv 1.4, as xenial's). `None` where it cannot be had (see
    /// [`apt_1_2_35`]).
    fn xenial(url: &str, keyring: &Path) -> Option<Apt> {
        let tree = apt_1_2_35()?;
        let mut apt = Apt::new(url, keyring);
        let conf = apt.dir.path().join("apt.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&format!(
            "Dir::Bin::Methods \"{t}/usr/lib/apt/methods/\";\n\
             Dir::Bin::apt-key \"{t}/usr/bin/apt-key\";\n\
             APT::Key::gpgvcommand \"gpgv1\";\n",
            t = tree.display()
        ));
        std::fs::write(&conf, text).unwrap();
        apt.tree = Some(tree);
        Some(apt)
    }

    /// `program` (apt-get, apt-cache) of this apt, with its configuration.
    fn command(&self, program: &str) -> Command {
        let mut cmd = match &self.tree {
            None => Command::new(program),
            Some(t) => {
                let mut cmd = Command::new(t.join("usr/bin").join(program));
                // apt-key calls apt-config: the tree's, with the tree's libraries.
                let path = std::env::var("PATH").unwrap_or_default();
                cmd.env("PATH", format!("{}:{path}", t.join("usr/bin").display()))
                    .env("LD_LIBRARY_PATH", t.join("usr/lib/x86_64-linux-gnu"));
                cmd
            }
        };
        cmd.env("APT_CONFIG", self.dir.path().join("apt.conf"))
            .env("LC_ALL", "C");
        cmd
    }

    fn get(&self, args: &[&str]) -> Output {
        self.command("apt-get")
            .args(args)
            .output()
            .expect("apt-get is needed by this test")
    }

    /// apt-cache's output for `args`.
    fn cache(&self, args: &[&str]) -> String {
        text(
            &self
                .command("apt-cache")
                .args(args)
                .output()
                .unwrap()
                .stdout,
        )
    }

    /// The candidate version of `package` (empty when none).
    fn candidate(&self, package: &str) -> String {
        self.cache(&["policy", package])
            .lines()
            .find_map(|l| l.trim().strip_prefix("Candidate: ").map(String::from))
            .filter(|c| c != "(none)")
            .unwrap_or_default()
    }

    fn update(&self) -> Output {
        self.get(&["update"])
    }
}

/// apt-get update refused the repository: exit code and apt's own words.
fn refused(out: &Output, words: &[&str]) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "apt accepted it:\n{all}");
    assert!(
        words.iter().any(|w| all.contains(w)),
        "apt failed, but not with {words:?}:\n{all}"
    );
}

#[test]
fn apt_reads_the_repository_without_a_warning() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    let server = Server::serve(&repo);
    let apt = Apt::new(&server.url(), &f.keyring);
    let out = apt.update();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "apt-get update failed:\n{all}");
    for prefix in ["W:", "E:", "N:"] {
        assert!(
            !all.lines().any(|l| l.starts_with(prefix)),
            "apt-get update said {prefix}:\n{all}"
        );
    }
    // The dependency resolves to the helper of apt's architecture.
    let sim = apt.get(&["install", "-s", "my-pulseaudio-user"]);
    let sim_out = text(&sim.stdout);
    assert!(
        sim_out.contains("Inst unitpack-check (0.1.0 stable [amd64])"),
        "{sim_out}{}",
        text(&sim.stderr)
    );
    assert!(
        sim_out.contains("Inst my-pulseaudio-user (1.0.0-1 stable [all])"),
        "{sim_out}"
    );
    // apt downloads the helper and checks it against the index.
    let dl = apt.get(&["install", "-y", "--download-only", "my-pulseaudio-user"]);
    assert!(
        dl.status.success(),
        "{}{}",
        text(&dl.stdout),
        text(&dl.stderr)
    );
}

#[test]
fn apt_refuses_a_changed_packages_file() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    let dir = repo.join("dists/stable/main/binary-amd64");
    let tampered = std::fs::read_to_string(dir.join("Packages"))
        .unwrap()
        .replace("Version: 0.1.0\n", "Version: 9.9.9\n");
    std::fs::write(dir.join("Packages"), &tampered).unwrap();
    for (tool, ext) in [("xz", "xz"), ("gzip", "gz")] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{tool} -c Packages > Packages.{ext}"))
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    // apt fetches the indexes by hash (Acquire-By-Hash): tamper with those too.
    let plain = std::fs::read(dir.join("Packages")).unwrap();
    let gz = std::fs::read(dir.join("Packages.gz")).unwrap();
    let xz = std::fs::read(dir.join("Packages.xz")).unwrap();
    for e in std::fs::read_dir(dir.join("by-hash/SHA256")).unwrap() {
        let path = e.unwrap().path();
        let old = std::fs::read(&path).unwrap();
        let new = match old.get(..2) {
            Some([0x1f, 0x8b]) => &gz,
            Some([0xfd, b'7']) => &xz,
            _ => &plain,
        };
        std::fs::write(&path, new).unwrap();
    }
    let server = Server::serve(&repo);
    let out = Apt::new(&server.url(), &f.keyring).update();
    refused(&out, &["Hash Sum mismatch", "File has unexpected size"]);
}

#[test]
fn apt_refuses_a_release_signed_by_another_key() {
    let f = Fixture::new();
    let repo = f.path("repo");
    let intruder = make_key(f.dir.path(), "intruder");
    ok(repo_add(&repo, &intruder, 1_750_000_000, &[], &f.debs()));
    let server = Server::serve(&repo);
    let out = Apt::new(&server.url(), &f.keyring).update();
    refused(&out, &["NO_PUBKEY", "is not signed"]);
}

#[test]
fn apt_refuses_an_expired_release() {
    let f = Fixture::new();
    let repo = f.path("repo");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // A Valid-Until already past is refused (issue 26: with SOURCE_DATE_EPOCH three
    // days old, a Release apt refuses at once), saying what to do.
    let err = bad_input(repo_add(
        &repo,
        &f.key,
        now - 3 * 86_400,
        &["--valid-for", "1d"],
        &f.debs(),
    ));
    assert!(
        err.contains("already past") && err.contains("unset SOURCE_DATE_EPOCH"),
        "{err}"
    );
    assert!(!repo.exists(), "a refused add wrote the repository");
    // One that expires while apt is not looking.
    ok(repo_add(
        &repo,
        &f.key,
        now,
        &["--valid-for", "2s"],
        &f.debs(),
    ));
    std::thread::sleep(std::time::Duration::from_secs(3));
    let release = std::fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
    assert!(release.contains("Valid-Until: "), "{release}");
    let server = Server::serve(&repo);
    let out = Apt::new(&server.url(), &f.keyring).update();
    refused(&out, &["is expired"]);
    // Re-signing (an add of nothing) with a fresh date makes it valid again.
    ok(repo_add(&repo, &f.key, now, &["--valid-for", "1d"], &[]));
    let out = Apt::new(&server.url(), &f.keyring).update();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn apt_refuses_a_missing_signature() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    for sig in ["InRelease", "Release.gpg"] {
        std::fs::remove_file(repo.join("dists/stable").join(sig)).unwrap();
    }
    let server = Server::serve(&repo);
    let out = Apt::new(&server.url(), &f.keyring).update();
    refused(&out, &["is not signed"]);
}

/// A debootstrap Debian 12 root (tests/support/make-root) whose apt knows only the
/// repository under test; removed on drop unless the test failed.
struct Root {
    path: PathBuf,
}

impl Root {
    fn new(name: &str, arch: &str) -> Root {
        let out = Command::new(repo().join("tests/support/make-root"))
            .args([name, arch, "dbus-user-session"])
            .output()
            .expect("tests/support/make-root runs (needs debootstrap, root)");
        assert!(out.status.success(), "make-root: {}", text(&out.stderr));
        let path = PathBuf::from(text(&out.stdout).trim());
        // Only the repository under test: every dependency but the helper is installed.
        std::fs::remove_file(path.join("etc/apt/sources.list")).unwrap();
        Root { path }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("chroot")
            .arg(&self.path)
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C")
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "chroot {args:?} failed:\n{all}");
        all
    }

    /// `apt-get update` that succeeds and says nothing to warn about.
    fn update_cleanly(&self) {
        let all = self.ok(&["apt-get", "update"]);
        for prefix in ["W:", "E:", "N:"] {
            assert!(
                !all.lines().any(|l| l.starts_with(prefix)),
                "apt-get update said {prefix}:\n{all}"
            );
        }
    }

    fn version(&self, package: &str) -> String {
        self.ok(&[
            "dpkg-query",
            "-W",
            "-f",
            "${Version} ${Architecture}",
            package,
        ])
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The helper packages of scripts/cross-build (UNITPACK_HELPER_DIR overrides).
fn real_helpers() -> Vec<PathBuf> {
    let dir = std::env::var_os("UNITPACK_HELPER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/unitpack-check"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "deb"));
    found.sort();
    for arch in ["amd64", "armhf"] {
        assert!(
            found
                .iter()
                .any(|p| p.to_string_lossy().ends_with(&format!("_{arch}.deb"))),
            "no {arch} helper package in {}: run scripts/cross-build first",
            dir.display()
        );
    }
    found
}

const USER_LINK: &str = "etc/systemd/user/default.target.wants/my_pulseaudio.service";

/// apt installs the seed from the signed repository, the dependency brings the helper
/// of the root's architecture, and an upgrade published later keeps the admin's
/// `systemctl --global disable`.
fn install_and_upgrade_through_apt(arch: &str) {
    let dir = tempfile::tempdir().unwrap();
    let key = make_key(dir.path(), "repo");
    let repo_dir = dir.path().join("repo");
    let mut debs = real_helpers();
    debs.push(seed_deb(dir.path(), "1.0.0"));
    let debs: Vec<&Path> = debs.iter().map(PathBuf::as_path).collect();
    ok(repo_add(&repo_dir, &key, 1_750_000_000, &[], &debs));
    let server = Server::serve(&repo_dir);

    let root = Root::new(&format!("repo-apt-{arch}"), arch);
    let keyrings = root.path.join("etc/apt/keyrings");
    std::fs::create_dir_all(&keyrings).unwrap();
    export_key(&key, &keyrings.join("unitpack.gpg"));
    std::fs::write(
        root.path.join("etc/apt/sources.list.d/unitpack.sources"),
        format!(
            "Types: deb\nURIs: {}\nSuites: stable\nComponents: main\n\
             Signed-By: /etc/apt/keyrings/unitpack.gpg\n",
            server.url()
        ),
    )
    .unwrap();
    root.update_cleanly();
    root.ok(&["apt-get", "install", "-y", "my-pulseaudio-user"]);
    assert_eq!(root.version("my-pulseaudio-user"), "1.0.0-1 all");
    assert_eq!(root.version("unitpack-check"), format!("0.1.0 {arch}"));
    assert!(
        root.path.join(USER_LINK).is_symlink(),
        "the install enabled the unit"
    );

    root.ok(&["systemctl", "--global", "disable", "my_pulseaudio.service"]);
    assert!(!root.path.join(USER_LINK).is_symlink());

    let v2 = seed_deb(dir.path(), "1.0.1");
    ok(repo_add(&repo_dir, &key, 1_750_086_400, &[], &[&v2]));
    root.update_cleanly();
    root.ok(&["apt-get", "upgrade", "-y"]);
    assert_eq!(root.version("my-pulseaudio-user"), "1.0.1-1 all");
    assert!(
        !root.path.join(USER_LINK).is_symlink(),
        "the upgrade re-enabled a unit the admin disabled"
    );
}

#[test]
#[ignore = "needs root and debootstrap; run by scripts/test"]
fn apt_installs_and_upgrades_in_a_debian_12_root() {
    install_and_upgrade_through_apt("amd64");
}

#[test]
#[ignore = "needs root, debootstrap and qemu-user (armhf); run by scripts/test"]
fn apt_installs_and_upgrades_in_an_armhf_root() {
    register_qemu_arm();
    install_and_upgrade_through_apt("armhf");
}

/// armhf programs run under qemu-user: register its binfmt handler (as run-e2e does).
fn register_qemu_arm() {
    let binfmt = Path::new("/proc/sys/fs/binfmt_misc");
    if !binfmt.join("register").exists() {
        let out = run(
            "mount",
            &[
                "-t",
                "binfmt_misc",
                "binfmt_misc",
                "/proc/sys/fs/binfmt_misc",
            ],
        );
        assert!(
            out.status.success(),
            "mount binfmt_misc: {}",
            text(&out.stderr)
        );
    }
    if !binfmt.join("qemu-arm").exists() {
        let conf = std::fs::read_to_string("/usr/lib/binfmt.d/qemu-arm.conf")
            .expect("qemu-user-static is needed by this test");
        let line = conf
            .lines()
            .find(|l| !l.starts_with('#') && !l.trim().is_empty())
            .unwrap();
        // Another process may register it at the same moment: then it exists.
        let _ = std::fs::write(binfmt.join("register"), line);
        assert!(
            binfmt.join("qemu-arm").exists(),
            "qemu-arm binfmt not registered"
        );
    }
}

#[test]
fn remove_and_list_as_debian_12_apt_sees_them() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    let list = |repo: &Path| {
        ok(unitpack()
            .args(["repo", "list", "--suite", "stable", "--repo"])
            .arg(repo)
            .output()
            .unwrap())
    };
    let before = list(&repo);
    for line in [
        "main unitpack-check 0.1.0 amd64 pool/main/u/unitpack-check/unitpack-check_0.1.0_amd64.deb",
        "main unitpack-check 0.1.0 armhf pool/main/u/unitpack-check/unitpack-check_0.1.0_armhf.deb",
        "main my-pulseaudio-user 1.0.0-1 all ",
    ] {
        assert!(before.contains(line), "{line:?} not in:\n{before}");
    }
    let server = Server::serve(&repo);
    let apt = Apt::new(&server.url(), &f.keyring);
    assert!(apt.update().status.success());
    let sim = apt.get(&["install", "-s", "unitpack-check"]);
    assert!(sim.status.success(), "{}", text(&sim.stderr));

    let remove = |extra: &[&str]| {
        let mut cmd = unitpack();
        cmd.env("SOURCE_DATE_EPOCH", "1750000100")
            .args(["repo", "remove", "--suite", "stable", "--repo"])
            .arg(&repo)
            .arg("--key")
            .arg(&f.key)
            .args(extra);
        cmd.output().unwrap()
    };
    // Bad names and packages the suite does not have: exit 2, nothing written.
    let snapshot = tree(&repo);
    for (args, words) in [
        (&["nothere"][..], "stable/main has no nothere"),
        (&["unitpack-check=9.9"][..], "has no unitpack-check=9.9"),
        (&["unitpack-check", "--arch", "i386"][..], "on i386"),
        (&["../x"][..], "not a package name"),
        (&["unitpack-check=1/2"][..], "not a Debian version"),
    ] {
        let err = bad_input(remove(args));
        assert!(err.contains(words), "{args:?}: {err}");
        assert_eq!(snapshot, tree(&repo), "{args:?} changed the repository");
    }

    let out = ok(remove(&["unitpack-check=0.1.0", "--arch", "amd64"]));
    assert!(out.contains("removed unitpack-check 0.1.0 amd64"), "{out}");
    let after = list(&repo);
    assert!(!after.contains("unitpack-check 0.1.0 amd64"), "{after}");
    assert!(after.contains("unitpack-check 0.1.0 armhf"), "{after}");
    // apt updates cleanly and no longer finds the package.
    let up = apt.update();
    let all = format!("{}{}", text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "{all}");
    assert!(
        !all.lines()
            .any(|l| l.starts_with("W:") || l.starts_with("E:")),
        "{all}"
    );
    let sim = apt.get(&["install", "-s", "unitpack-check"]);
    assert!(
        !sim.status.success(),
        "apt still installs the removed package"
    );
    let gone = format!("{}{}", text(&sim.stdout), text(&sim.stderr));
    assert!(
        gone.contains("has no installation candidate") || gone.contains("Unable to locate"),
        "{gone}"
    );
}

/// Issue 26: `repo add` killed (SIGKILL) at spread-out moments; after each kill
/// Debian 12's apt and the board's apt 1.2.35 (gpgv 1.4: the key is RSA) update
/// cleanly from what is on disk and both see either the state before or the one
/// after. Rounds: UNITPACK_KILL_ROUNDS (CI: the default 20; by hand, e.g. 200).
#[test]
fn sigkill_at_any_moment_leaves_a_repository_apt_updates_from() {
    let rounds: u64 = std::env::var("UNITPACK_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let f = Fixture::new();
    let key = gpg_key(f.dir.path(), "rsa", "rsa3072", None);
    chmod_600(&key);
    let keyring = f.path("rsa.gpg");
    export_key(&key, &keyring);
    let repo = f.path("repo");
    ok(repo_add(&repo, &key, 1_750_000_000, &[], &f.debs()));
    let server = Server::serve(&repo);
    let mut apts = vec![Apt::new(&server.url(), &keyring)];
    apts.extend(Apt::xenial(&server.url(), &keyring));
    // Every apt updates cleanly and all see the same candidate.
    let candidate = || {
        let seen: Vec<String> = apts
            .iter()
            .map(|apt| {
                update_cleanly(apt);
                apt.candidate("unitpack-check")
            })
            .collect();
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "apts differ: {seen:?}"
        );
        seen[0].clone()
    };
    // How long an add takes here, to spread the kills over it.
    let probe = helper(f.dir.path(), "amd64", "0.1.0+probe");
    let start = std::time::Instant::now();
    ok(repo_add(&repo, &key, 1_750_000_001, &[], &[&probe]));
    let span = start.elapsed().as_millis() as u64 + 20;
    let mut seen = candidate();
    assert_eq!(seen, "0.1.0+probe");
    let (mut old_seen, mut new_seen) = (0, 0);
    for round in 0..rounds {
        let version = format!("0.2.{round}");
        let deb = helper(f.dir.path(), "amd64", &version);
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("unitpack"));
        cmd.env("SOURCE_DATE_EPOCH", (1_750_000_010 + round).to_string())
            .args(["repo", "add", "--suite", "stable", "--repo"])
            .arg(&repo)
            .arg("--key")
            .arg(&key)
            .arg(&deb)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        // Spread deterministically over the add's duration (and a little past it).
        let delay = (round * 7919) % (span + span / 4);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = candidate();
        if now == version {
            new_seen += 1;
        } else {
            assert_eq!(
                now, seen,
                "round {round}: apt sees neither the old nor the new state"
            );
            old_seen += 1;
        }
        seen = now;
    }
    eprintln!(
        "{rounds} kills, {} apts: old state {old_seen}, new state {new_seen}",
        apts.len()
    );
    // The next run removes what the killed ones staged.
    let last = helper(f.dir.path(), "amd64", "0.3.0");
    ok(repo_add(&repo, &key, 1_750_100_000, &[], &[&last]));
    let left: Vec<String> = tree(&repo)
        .into_keys()
        .filter(|p| p.contains(".unitpack-"))
        .collect();
    assert!(left.is_empty(), "staged files left: {left:?}");
    assert_eq!(candidate(), "0.3.0");
}

fn chmod_600(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Issue 26: key rotation. Signed by the old and the new key at once, the repository
/// updates cleanly for a client trusting only the old key and for one trusting only
/// the new, under Debian 12's apt and the board's apt 1.2.35 (gpgv 1.4); a client
/// trusting neither refuses it. Then signed by the new key alone: its clients still
/// update, and `repo add` gives no "another key" warning (the state before carries
/// the new key's signature).
#[test]
fn key_rotation_as_debian_12_and_xenial_apt_see_it() {
    let f = Fixture::new();
    let keys: Vec<(PathBuf, PathBuf)> = ["old", "new"]
        .iter()
        .map(|name| {
            let key = gpg_key(f.dir.path(), name, "rsa3072", None);
            chmod_600(&key);
            let keyring = f.path(&format!("{name}.gpg"));
            export_key(&key, &keyring);
            (key, keyring)
        })
        .collect();
    let [(old, old_ring), (new, new_ring)] = &keys[..] else {
        unreachable!()
    };
    let repo = f.path("repo");
    ok(repo_add(&repo, old, 1_750_000_000, &[], &f.debs()));
    let v2 = helper(f.dir.path(), "amd64", "0.2.0");
    let both = ["--key", new.to_str().unwrap(), "--new-key"];
    let out = repo_add(&repo, old, 1_750_000_100, &both, &[&v2]);
    let err = text(&out.stderr);
    ok(out);
    assert!(
        !err.contains("NO_PUBKEY") && !err.contains("warning"),
        "{err}"
    );
    let sigs = run(
        "gpg",
        &[
            "--list-packets",
            repo.join("dists/stable/Release.gpg").to_str().unwrap(),
        ],
    );
    assert_eq!(
        text(&sigs.stdout).matches(":signature packet:").count(),
        2,
        "{}",
        text(&sigs.stdout)
    );
    let server = Server::serve(&repo);
    let apts = |ring: &Path| -> Vec<Apt> {
        let mut v = vec![Apt::new(&server.url(), ring)];
        v.extend(Apt::xenial(&server.url(), ring));
        v
    };
    for ring in [old_ring, new_ring] {
        for apt in apts(ring) {
            update_cleanly(&apt);
            assert_eq!(
                apt.candidate("unitpack-check"),
                "0.2.0",
                "{}",
                ring.display()
            );
        }
    }
    // A client of neither key: Debian 12's apt refuses the update; apt 1.2.35 warns
    // and will not install from it.
    let neither = apts(&f.keyring);
    refused(&neither[0].update(), &["NO_PUBKEY"]);
    if let Some(xenial) = neither.get(1) {
        let up = xenial.update();
        let all = format!("{}{}", text(&up.stdout), text(&up.stderr));
        assert!(
            all.contains("NO_PUBKEY") && all.contains("is not signed"),
            "{all}"
        );
        let install = xenial.get(&["install", "-y", "--download-only", "unitpack-check"]);
        let all = format!("{}{}", text(&install.stdout), text(&install.stderr));
        assert!(
            !install.status.success() && all.contains("unauthenticated"),
            "{all}"
        );
    }
    // Step 2 of the rotation: the new key alone; no warning, its clients update.
    let v3 = helper(f.dir.path(), "amd64", "0.3.0");
    let out = repo_add(&repo, new, 1_750_000_200, &[], &[&v3]);
    let err = text(&out.stderr);
    ok(out);
    assert!(!err.contains("warning"), "{err}");
    for apt in apts(new_ring) {
        update_cleanly(&apt);
        assert_eq!(apt.candidate("unitpack-check"), "0.3.0");
    }
    refused(&Apt::new(&server.url(), old_ring).update(), &["NO_PUBKEY"]);
}

/// Issue 26: a `--valid-for` is remembered (unitpack-repo.conf): the next `repo add`
/// without the option writes Valid-Until again, and a Date earlier than the signed
/// one is refused. A state replayed after it expired is refused by a fresh Debian 12
/// client.
#[test]
fn remembered_valid_for_applies_and_a_replayed_state_expires() {
    let f = Fixture::new();
    let repo = f.path("repo");
    let clock = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    // A first state valid for 10 s (long enough for a loaded machine to publish it).
    let first = clock();
    ok(repo_add(
        &repo,
        &f.key,
        first,
        &["--valid-for", "10s"],
        &f.debs(),
    ));
    let replay = f.path("replay");
    std::fs::create_dir(&replay).unwrap();
    let copied = run(
        "cp",
        &[
            "-a",
            repo.join("dists").to_str().unwrap(),
            replay.to_str().unwrap(),
        ],
    );
    assert!(copied.status.success());
    std::os::unix::fs::symlink(repo.join("pool"), replay.join("pool")).unwrap();
    // A new validity is remembered (said on stderr)...
    let now = clock().max(first + 1);
    let out = repo_add(&repo, &f.key, now, &["--valid-for", "1d"], &[]);
    let err = text(&out.stderr);
    ok(out);
    assert!(
        err.contains("note: unitpack-repo.conf: suite stable: Valid-For 86400 remembered (was 10)"),
        "{err}"
    );
    // ...and applies to the next add without the option.
    let v2 = helper(f.dir.path(), "amd64", "0.2.0");
    ok(repo_add(&repo, &f.key, now + 1, &[], &[&v2]));
    let release = std::fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
    let field = |name: &str| {
        let value = release
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name}\n{release}"));
        let out = run("date", &["-u", "-d", value, "+%s"]);
        text(&out.stdout).trim().parse::<u64>().unwrap()
    };
    assert_eq!(field("Date: "), now + 1);
    assert_eq!(field("Valid-Until: "), now + 1 + 86_400, "{release}");
    let conf = std::fs::read_to_string(repo.join("unitpack-repo.conf")).unwrap();
    assert!(conf.contains("Valid-For: 86400\n"), "{conf}");
    // An older Date (a replayed SOURCE_DATE_EPOCH) is refused, nothing written.
    let before = tree(&repo);
    let err = bad_input(repo_add(&repo, &f.key, now - 60, &[], &[]));
    assert!(err.contains("Date") && err.contains("is earlier"), "{err}");
    assert_eq!(tree(&repo), before);
    // `none` forgets it: no Valid-Until now or later.
    for extra in [&["--valid-for", "none"][..], &[]] {
        let out = repo_add(&repo, &f.key, now + 2, extra, &[]);
        let err = text(&out.stderr);
        ok(out);
        assert_eq!(
            err.contains("Valid-For (none) remembered (was 86400)"),
            !extra.is_empty(),
            "{err}"
        );
        let release = std::fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
        assert!(!release.contains("Valid-Until"), "{release}");
    }
    // The first state, served again once expired, to a client that never saw it.
    let expired = first + 11;
    std::thread::sleep(std::time::Duration::from_secs(
        expired.saturating_sub(clock()),
    ));
    let server = Server::serve(&replay);
    refused(
        &Apt::new(&server.url(), &f.keyring).update(),
        &["is expired"],
    );
}

/// `unitpack repo COMMAND --repo REPO --key KEY ARGS…` at a fixed date.
fn repo_cmd(command: &str, repo: &Path, key: &Path, args: &[&str]) -> Output {
    let mut cmd = unitpack();
    cmd.env("SOURCE_DATE_EPOCH", "1750000200")
        .args(["repo", command, "--repo"])
        .arg(repo)
        .arg("--key")
        .arg(key)
        .args(args);
    cmd.output().unwrap()
}

/// The versions apt (Debian 12's, in a private directory) offers for `package`.
fn apt_versions(apt: &Apt, package: &str) -> Vec<String> {
    let mut v: Vec<String> = apt
        .cache(&["madison", package])
        .lines()
        .filter_map(|l| l.split('|').nth(1).map(|v| v.trim().to_string()))
        .collect();
    v.sort();
    v
}

fn update_cleanly(apt: &Apt) {
    let up = apt.update();
    let all = format!("{}{}", text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "apt-get update failed:\n{all}");
    assert!(
        !all.lines()
            .any(|l| l.starts_with("W:") || l.starts_with("E:")),
        "{all}"
    );
}

/// `versions` newest first, as `dpkg --compare-versions` orders them.
fn dpkg_newest_first(versions: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = versions.iter().map(|s| s.to_string()).collect();
    v.sort_by(|a, b| {
        let gt = run("dpkg", &["--compare-versions", a, "gt", b])
            .status
            .success();
        let lt = run("dpkg", &["--compare-versions", a, "lt", b])
            .status
            .success();
        match (gt, lt) {
            (true, _) => std::cmp::Ordering::Less,
            (_, true) => std::cmp::Ordering::Greater,
            _ => std::cmp::Ordering::Equal,
        }
    });
    v
}

/// Issue 26: promotion from a testing suite to stable shares the pool file and apt
/// installs the copy from stable; `prune --keep N` keeps the N newest by Debian
/// ordering (epochs, tildes, revisions) and apt no longer sees the others.
#[test]
fn copy_and_prune_as_debian_12_apt_sees_them() {
    let f = Fixture::new();
    let repo = f.path("repo");
    // Versions where a string or numeric sort picks the wrong ones.
    let tricky = ["0.9", "0.10~rc1", "0.10", "0.10-1", "1:0.1", "0.10-1+b1"];
    let debs: Vec<PathBuf> = tricky
        .iter()
        .map(|v| helper(f.dir.path(), "amd64", v))
        .collect();
    let mut args = vec!["--suite", "testing"];
    args.extend(debs.iter().map(|p| p.to_str().unwrap()));
    ok(repo_cmd("add", &repo, &f.key, &args));
    ok(repo_cmd(
        "add",
        &repo,
        &f.key,
        &["--suite", "stable", "--arch", "amd64"],
    ));

    // Bad input: exit 2, nothing written.
    let snapshot = tree(&repo);
    for (command, args, words) in [
        (
            "prune",
            &["--suite", "testing", "--keep", "0"][..],
            "--keep",
        ),
        (
            "prune",
            &["--suite", "testing", "--keep", "x"][..],
            "invalid value",
        ),
        (
            "copy",
            &["--from", "nosuch", "--to", "stable", "unitpack-check"][..],
            "no suite nosuch",
        ),
        (
            "copy",
            &["--from", "stable", "--to", "stable", "unitpack-check"][..],
            "target suite",
        ),
        (
            "copy",
            &["--from", "testing", "--to", "stable", "unitpack-check=7.7"][..],
            "testing/main has no unitpack-check=7.7",
        ),
        (
            "copy",
            &["--from", "testing", "--to", "stable", "nothere"][..],
            "has no nothere",
        ),
        (
            "copy",
            &[
                "--from",
                "testing",
                "--to",
                "stable",
                "unitpack-check",
                "--arch",
                "armhf",
            ][..],
            "on armhf",
        ),
        (
            "copy",
            &["--from", "../x", "--to", "stable", "unitpack-check"][..],
            "--from",
        ),
        (
            "copy",
            &["--from", "testing", "--to", "stable", "../x"][..],
            "not a package name",
        ),
    ] {
        let err = bad_input(repo_cmd(command, &repo, &f.key, args));
        assert!(err.contains(words), "{command} {args:?}: {err}");
        assert_eq!(
            snapshot,
            tree(&repo),
            "{command} {args:?} changed the repository"
        );
    }

    // Promotion of one version, then of the newest: no pool file is written.
    let pool = tree(&repo.join("pool"));
    let out = ok(repo_cmd(
        "copy",
        &repo,
        &f.key,
        &["--from", "testing", "--to", "stable", "unitpack-check=0.10"],
    ));
    assert!(out.contains("copied unitpack-check 0.10 amd64"), "{out}");
    let server = Server::serve(&repo);
    let stable = Apt::new(&server.url(), &f.keyring);
    update_cleanly(&stable);
    assert_eq!(apt_versions(&stable, "unitpack-check"), ["0.10"]);
    let dl = stable.get(&["install", "-y", "--download-only", "unitpack-check"]);
    assert!(
        dl.status.success(),
        "{}{}",
        text(&dl.stdout),
        text(&dl.stderr)
    );
    let newest = dpkg_newest_first(&tricky);
    assert_eq!(newest[0], "1:0.1");
    let out = ok(repo_cmd(
        "copy",
        &repo,
        &f.key,
        &["--from", "testing", "--suite", "stable", "unitpack-check"],
    ));
    assert!(
        out.contains(&format!("copied unitpack-check {} amd64", newest[0])),
        "{out}"
    );
    // Again: nothing new, re-signed.
    let again = ok(repo_cmd(
        "copy",
        &repo,
        &f.key,
        &["--from", "testing", "--to", "stable", "unitpack-check"],
    ));
    assert!(
        again.contains("unchanged pool/main/u/unitpack-check/"),
        "{again}"
    );
    assert_eq!(pool, tree(&repo.join("pool")), "a copy wrote the pool");
    update_cleanly(&stable);
    let policy = Command::new("apt-cache")
        .env("APT_CONFIG", stable.dir.path().join("apt.conf"))
        .args(["policy", "unitpack-check"])
        .output()
        .unwrap();
    assert!(
        text(&policy.stdout).contains(&format!("Candidate: {}", newest[0])),
        "{}",
        text(&policy.stdout)
    );

    // Prune: the two newest by dpkg's ordering stay in testing.
    let testing = Apt::of_suite(&server.url(), &f.keyring, "testing");
    update_cleanly(&testing);
    assert_eq!(apt_versions(&testing, "unitpack-check").len(), tricky.len());
    let out = ok(repo_cmd(
        "prune",
        &repo,
        &f.key,
        &["--suite", "testing", "--keep", "2"],
    ));
    for gone in &newest[2..] {
        assert!(
            out.contains(&format!("pruned unitpack-check {gone} amd64")),
            "{out}"
        );
    }
    update_cleanly(&testing);
    let mut kept = newest[..2].to_vec();
    kept.sort();
    assert_eq!(apt_versions(&testing, "unitpack-check"), kept);
    // Stable still has what was promoted, its pool files included.
    update_cleanly(&stable);
    assert_eq!(apt_versions(&stable, "unitpack-check"), ["0.10", "1:0.1"]);
    let dl = stable.get(&["install", "-y", "--download-only", "unitpack-check=0.10"]);
    assert!(
        dl.status.success(),
        "{}{}",
        text(&dl.stdout),
        text(&dl.stderr)
    );
}

/// The chroot tier of the above: a Debian 12 root trusting both suites installs the
/// package promoted to stable from stable, and no longer sees a pruned version.
#[test]
#[ignore = "needs root and debootstrap; run by scripts/test"]
fn apt_installs_a_promoted_package_and_not_a_pruned_one_in_a_debian_12_root() {
    let dir = tempfile::tempdir().unwrap();
    let key = make_key(dir.path(), "repo");
    let repo_dir = dir.path().join("repo");
    let debs: Vec<PathBuf> = ["0.1.0", "0.2.0", "0.3.0"]
        .iter()
        .map(|v| helper_saying(dir.path(), "amd64", v, &format!("echo helper {v}")))
        .collect();
    let mut args = vec!["--suite", "testing"];
    args.extend(debs.iter().map(|p| p.to_str().unwrap()));
    ok(repo_cmd("add", &repo_dir, &key, &args));
    ok(repo_cmd(
        "copy",
        &repo_dir,
        &key,
        &[
            "--from",
            "testing",
            "--to",
            "stable",
            "unitpack-check=0.2.0",
        ],
    ));
    ok(repo_cmd(
        "prune",
        &repo_dir,
        &key,
        &["--suite", "testing", "--keep", "1"],
    ));
    let server = Server::serve(&repo_dir);

    let root = Root::new("repo-promote-amd64", "amd64");
    let keyrings = root.path.join("etc/apt/keyrings");
    std::fs::create_dir_all(&keyrings).unwrap();
    export_key(&key, &keyrings.join("unitpack.gpg"));
    std::fs::write(
        root.path.join("etc/apt/sources.list.d/unitpack.sources"),
        format!(
            "Types: deb\nURIs: {}\nSuites: stable testing\nComponents: main\n\
             Signed-By: /etc/apt/keyrings/unitpack.gpg\n",
            server.url()
        ),
    )
    .unwrap();
    // Only stable is trusted by default: testing is there to see what it still lists.
    std::fs::write(
        root.path.join("etc/apt/preferences.d/stable"),
        "Package: *\nPin: release a=testing\nPin-Priority: 100\n",
    )
    .unwrap();
    root.update_cleanly();
    let madison = root.ok(&["apt-cache", "madison", "unitpack-check"]);
    assert!(madison.contains("0.3.0"), "{madison}");
    assert!(madison.contains("0.2.0"), "{madison}");
    assert!(
        !madison.contains("0.1.0"),
        "a pruned version is offered:\n{madison}"
    );
    root.ok(&["apt-get", "install", "-y", "unitpack-check"]);
    assert_eq!(root.version("unitpack-check"), "0.2.0 amd64");
    // The stand-in's script is not executable: run it with sh.
    assert!(root
        .ok(&["sh", "/usr/bin/unitpack-check"])
        .contains("helper 0.2.0"));
    let old = root.run(&["apt-get", "install", "-y", "unitpack-check=0.1.0"]);
    assert!(!old.status.success(), "apt installed a pruned version");
}

/// Issue 26: `repo copy` and `repo prune` killed (SIGKILL) at spread-out moments, as
/// `repo add` above: after each kill Debian 12's apt updates cleanly and sees the
/// versions of the target suite before the command or after it, never a mix.
/// Rounds: UNITPACK_KILL_ROUNDS (CI: the default 20).
#[test]
fn sigkill_during_copy_and_prune_leaves_the_old_or_the_new_set() {
    let rounds: u64 = std::env::var("UNITPACK_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    let server = Server::serve(&repo);
    let apt = Apt::new(&server.url(), &f.keyring);
    let versions = || {
        update_cleanly(&apt);
        apt_versions(&apt, "unitpack-check")
    };
    let add_to_testing = |v: &str| {
        let deb = helper(f.dir.path(), "amd64", v);
        ok(repo_cmd(
            "add",
            &repo,
            &f.key,
            &["--suite", "testing", deb.to_str().unwrap()],
        ));
    };
    let command = |round: u64, args: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("unitpack"));
        cmd.env("SOURCE_DATE_EPOCH", (1_750_000_300 + round).to_string())
            .arg("repo")
            .args(args)
            .arg("--repo")
            .arg(&repo)
            .arg("--key")
            .arg(&f.key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    // How long a copy takes here, to spread the kills over it.
    add_to_testing("0.1.1");
    let start = std::time::Instant::now();
    let probe = command(
        0,
        &[
            "copy",
            "--from",
            "testing",
            "--to",
            "stable",
            "unitpack-check",
        ],
    )
    .status()
    .unwrap();
    assert!(probe.success());
    let span = start.elapsed().as_millis() as u64 + 20;
    let mut seen = versions();
    assert_eq!(seen, ["0.1.0", "0.1.1"]);
    let (mut old_seen, mut new_seen) = (0, 0);
    for round in 0..rounds {
        let (args, after): (Vec<String>, Vec<String>) = if round % 3 == 2 {
            let refs: Vec<&str> = seen.iter().map(String::as_str).collect();
            let mut kept = dpkg_newest_first(&refs);
            kept.truncate(2);
            kept.sort();
            let args = ["prune", "--suite", "stable", "--keep", "2"];
            (args.map(String::from).to_vec(), kept)
        } else {
            let version = format!("0.2.{round}");
            add_to_testing(&version);
            let mut after = seen.clone();
            after.push(version.clone());
            after.sort();
            let args = [
                "copy",
                "--from",
                "testing",
                "--to",
                "stable",
                &format!("unitpack-check={version}"),
            ];
            (args.map(String::from).to_vec(), after)
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = command(round + 1, &args).spawn().unwrap();
        let delay = (round * 7919) % (span + span / 4);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = versions();
        if now == after {
            new_seen += 1;
        } else {
            assert_eq!(
                now, seen,
                "round {round} ({args:?}): apt sees neither the old nor the new set \
                 (new: {after:?})"
            );
            old_seen += 1;
        }
        seen = now;
    }
    eprintln!("{rounds} kills of copy/prune: old set {old_seen}, new set {new_seen}");
    // Dated after every round: apt keeps lists newer than a Release it is offered.
    let last = command(rounds + 1, &["prune", "--suite", "stable", "--keep", "1"])
        .status()
        .unwrap();
    assert!(last.success());
    let left: Vec<String> = tree(&repo)
        .into_keys()
        .filter(|p| p.contains(".unitpack-"))
        .collect();
    assert!(left.is_empty(), "staged files left: {left:?}");
    let last = versions();
    assert_eq!(last.len(), 1, "{last:?}");
}

/// The two windows of a commit a kill can leave, made by hand: indexes renamed but not
/// `Release`, and `Release` renamed but not `InRelease`. The next writer starts from
/// the state `InRelease` signs (what clients see), not from the unsigned files.
#[test]
fn the_next_writer_starts_from_the_signed_state_after_an_interrupted_commit() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.publish(&repo);
    let suite = repo.join("dists/stable");
    let signed: Vec<(&str, Vec<u8>)> = ["InRelease", "Release.gpg", "Release"]
        .iter()
        .map(|n| (*n, std::fs::read(suite.join(n)).unwrap()))
        .collect();
    let list = || {
        ok(unitpack()
            .args(["repo", "list", "--suite", "stable", "--repo"])
            .arg(&repo)
            .output()
            .unwrap())
    };
    let before = list();
    for unsigned in [
        &["InRelease", "Release.gpg"][..],
        &["InRelease", "Release.gpg", "Release"],
    ] {
        let version = format!("0.5.{}", unsigned.len());
        let v = helper(f.dir.path(), "amd64", &version);
        // Later than every Date signed so far (an earlier one is refused).
        let epoch = 1_750_000_100 + 200 * (unsigned.len() as u64 - 2);
        ok(repo_add(&repo, &f.key, epoch, &[], &[&v]));
        assert!(list().contains(&version));
        // "Killed" before these were renamed: the signed state is the one before.
        for (name, bytes) in &signed {
            if unsigned.contains(name) {
                std::fs::write(suite.join(name), bytes).unwrap();
            }
        }
        assert_eq!(list(), before, "{unsigned:?}");
        // Removing what was never signed is refused; the next add does not revive it.
        let err = bad_input(
            unitpack()
                .env("SOURCE_DATE_EPOCH", "1750000200")
                .args(["repo", "remove", "--suite", "stable", "--repo"])
                .arg(&repo)
                .arg("--key")
                .arg(&f.key)
                .arg(format!("unitpack-check={version}"))
                .output()
                .unwrap(),
        );
        assert!(
            err.contains(&format!("has no unitpack-check={version}")),
            "{err}"
        );
        ok(repo_add(&repo, &f.key, 1_750_000_200, &[], &[]));
        assert_eq!(list(), before, "{unsigned:?}");
        let server = Server::serve(&repo);
        let apt = Apt::new(&server.url(), &f.keyring);
        update_cleanly(&apt);
        assert_eq!(apt_versions(&apt, "unitpack-check"), ["0.1.0"]);
    }
}

/// A package whose stanza is about `kb` KiB of description, varied line by line; and
/// the description's last line.
fn wordy_deb(dir: &Path, name: &str, kb: usize) -> (PathBuf, String) {
    let tree = dir.join(format!("tree-{name}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    let mut control = format!(
        "Package: {name}\nVersion: 1.0\nArchitecture: all\n\
         Maintainer: T <t@example.org>\nDescription: {name}, a package with a long story\n"
    );
    let mut i = 0u64;
    let mut line = String::new();
    while control.len() < kb * 1024 {
        let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ name.len() as u64;
        line = format!(" line {i} of {name}: {h:016x} {:x}", h.rotate_left(17));
        control.push_str(&line);
        control.push('\n');
        i += 1;
    }
    std::fs::write(tree.join("DEBIAN/control"), control).unwrap();
    let out = dir.join(format!("{name}_1.0_all.deb"));
    dpkg_deb_build(&tree, &out);
    (out, line)
}

/// Issue 26: a large index is written in pieces (one xz block, one run of deflate
/// blocks each) that the next run reuses. The files are the same whether the packages
/// came in one run or one by one, and both apts read the `.xz` alone and the `.gz`
/// alone (every other form of the index taken out of the served copy).
#[test]
fn an_index_in_pieces_is_the_same_built_at_once_or_package_by_package_and_both_apts_read_it() {
    let f = Fixture::new();
    let key = gpg_key(f.dir.path(), "rsa", "rsa3072", None);
    chmod_600(&key);
    let keyring = f.path("rsa.gpg");
    export_key(&key, &keyring);
    // More than 4 pieces' worth (1 MiB) before the last stanza: an index of at least
    // two pieces whatever the cut points, which hang on the stanzas' hashes and so on
    // the .debs' timestamps (7 of 120 KiB stayed one piece when none of 7 cuts, each
    // at about 120/256, came: about 1 run in 80).
    let names = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    let debs: Vec<(PathBuf, String)> = names
        .iter()
        .map(|n| wordy_deb(f.dir.path(), n, 150))
        .collect();
    let mut all: Vec<&Path> = f.debs();
    // The helpers first: a first run of arch-all packages alone names no architecture.
    all.rotate_left(1);
    all.extend(debs.iter().map(|(d, _)| d.as_path()));
    let once = f.path("once");
    ok(repo_add(&once, &key, 1_750_000_000, &[], &all));
    let by_one = f.path("by-one");
    for deb in &all {
        ok(repo_add(&by_one, &key, 1_750_000_000, &[], &[deb]));
    }
    let dists = |repo: &Path| {
        tree(&repo.join("dists"))
            .into_iter()
            .filter(|(rel, _)| !rel.contains("by-hash"))
            .collect::<BTreeMap<_, _>>()
    };
    assert!(
        dists(&once) == dists(&by_one),
        "one run and one by one differ"
    );
    let index = once.join("dists/stable/main/binary-amd64/Packages");
    let list = run(
        "xz",
        &["--robot", "--list", &format!("{}.xz", index.display())],
    );
    let blocks = text(&list.stdout)
        .lines()
        .find(|l| l.starts_with("totals"))
        .map(|l| l.split('\t').nth(2).unwrap().to_string())
        .unwrap();
    assert!(
        blocks.parse::<u32>().unwrap() >= 2,
        "one piece only: {blocks} blocks"
    );

    for kept in [".xz", ".gz"] {
        let served = f.path(&format!("served{kept}"));
        let o = run(
            "cp",
            &["-a", once.to_str().unwrap(), served.to_str().unwrap()],
        );
        assert!(o.status.success());
        for arch in ["all", "amd64", "armhf"] {
            let dir = served.join(format!("dists/stable/main/binary-{arch}"));
            for suffix in ["", ".gz", ".xz"].into_iter().filter(|s| *s != kept) {
                let file = dir.join(format!("Packages{suffix}"));
                let sum = run("sha256sum", &[file.to_str().unwrap()]);
                let hash = text(&sum.stdout).split(' ').next().unwrap().to_string();
                std::fs::remove_file(dir.join("by-hash/SHA256").join(hash)).unwrap();
                std::fs::remove_file(file).unwrap();
            }
        }
        let server = Server::serve(&served);
        let mut apts = vec![Apt::new(&server.url(), &keyring)];
        apts.extend(Apt::xenial(&server.url(), &keyring));
        for apt in &apts {
            update_cleanly(apt);
            for (name, (_, last)) in names.iter().zip(&debs) {
                let show = apt.cache(&["show", name]);
                assert!(
                    show.contains(&format!("Package: {name}\n"))
                        && show.contains(&format!("{last}\n")),
                    "{kept}, {:?}: {name} not shown whole:\n{show}",
                    apt.tree
                );
            }
            assert_eq!(
                apt.candidate("unitpack-check"),
                "0.1.0",
                "{kept}, {:?}",
                apt.tree
            );
        }
    }
}

/// `dpkg-deb --build` of `tree` into `out`, as a packager makes a .deb.
fn dpkg_deb_build(tree: &Path, out: &Path) {
    let o = run(
        "dpkg-deb",
        &[
            "--root-owner-group",
            "-Zxz",
            "--build",
            tree.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "dpkg-deb: {}", text(&o.stderr));
}

/// What `repo copy`, `remove` and `prune` report comes in the order asked for (the
/// selectors', then newest first), not in the indexes' order, where versions sort as
/// text (1.10 before 1.9): as before the indexes were streamed (issue 26).
#[test]
fn copy_remove_and_prune_report_in_the_order_asked() {
    let dir = tempfile::tempdir().unwrap();
    let key = make_key(dir.path(), "order");
    chmod_600(&key);
    let repo = dir.path().join("repo");
    let versions = ["1.2", "1.9", "1.10"];
    let debs: Vec<PathBuf> = versions
        .iter()
        .flat_map(|v| ["amd64", "armhf"].map(|a| helper(dir.path(), a, v)))
        .collect();
    let debs: Vec<&Path> = debs.iter().map(PathBuf::as_path).collect();
    ok(repo_add(&repo, &key, 1_750_000_000, &[], &debs));
    let lines = |out: Output, word: &str| -> Vec<String> {
        ok(out)
            .lines()
            .filter(|l| l.starts_with(word))
            .map(String::from)
            .collect()
    };
    let copy = |args: &[&str]| {
        let mut all = vec!["--from", "stable", "--to", "testing", "--arch", "amd64"];
        all.extend_from_slice(args);
        repo_cmd("copy", &repo, &key, &all)
    };
    let out = copy(&["unitpack-check=1.9", "unitpack-check=1.2"]);
    assert_eq!(
        lines(out, "copied"),
        [
            "copied unitpack-check 1.9 amd64",
            "copied unitpack-check 1.2 amd64"
        ]
    );
    let out = copy(&["unitpack-check=1.10", "unitpack-check=1.9"]);
    let stdout = ok(out);
    assert!(
        stdout.starts_with(
            "unchanged pool/main/u/unitpack-check/unitpack-check_1.9_amd64.deb\n\
             copied unitpack-check 1.10 amd64\n"
        ),
        "{stdout}"
    );
    let out = repo_cmd(
        "remove",
        &repo,
        &key,
        &[
            "--suite",
            "testing",
            "unitpack-check=1.9",
            "unitpack-check=1.10",
        ],
    );
    assert_eq!(
        lines(out, "removed"),
        [
            "removed unitpack-check 1.9 amd64",
            "removed unitpack-check 1.10 amd64"
        ]
    );
    let out = repo_cmd("prune", &repo, &key, &["--suite", "stable", "--keep", "1"]);
    assert_eq!(
        lines(out, "pruned"),
        [
            "pruned unitpack-check 1.9 amd64",
            "pruned unitpack-check 1.2 amd64",
            "pruned unitpack-check 1.9 armhf",
            "pruned unitpack-check 1.2 armhf"
        ]
    );
}

/// `repo remove` from a suite the repository does not have says which packages it
/// does not have (as before issue 26's streaming), not "no architecture to publish …
/// --arch", which `remove --arch` does not mean.
#[test]
fn removing_from_a_missing_suite_names_the_packages() {
    let dir = tempfile::tempdir().unwrap();
    let key = make_key(dir.path(), "missing");
    chmod_600(&key);
    let repo = dir.path().join("repo");
    let deb = helper(dir.path(), "amd64", "1.0");
    ok(repo_add(&repo, &key, 1_750_000_000, &[], &[&deb]));
    let err = bad_input(repo_cmd(
        "remove",
        &repo,
        &key,
        &["--suite", "testing", "unitpack-check", "other=1.0"],
    ));
    assert!(
        err.contains("testing/main has no unitpack-check\n")
            && err.contains("testing/main has no other=1.0")
            && !err.contains("architecture"),
        "{err}"
    );
    assert!(!repo.join("dists/testing").exists());
}
