//! scripts/vendor/fetch, the one way scripts and tests get the target-era tarballs of
//! scripts/vendor/SOURCES: local copies in order ($UNITPACK_VENDOR, ../shared/vendor, the
//! download cache), a download only when none is there, and never a file whose sha256 is
//! not the pinned one, nor a partial file after a failed download.
//!
//! Each test runs the real script and lib.sh, copied into a scratch tree
//! (`t/repo/scripts/vendor`, with `t/shared/vendor` beside the checkout as in a real
//! layout) with a SOURCES of its own that pins a small tarball made from a local git
//! repository: no network (downloads are file:// URLs).

mod common;

use common::repo;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NAME: &str = "fake-1.0";
const FILE: &str = "fake-1.0.tar.xz";

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "tar.umask=0002",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

struct Tree {
    _dir: tempfile::TempDir,
    top: PathBuf,
    /// The good tarball's bytes and sha256 (what SOURCES pins).
    good: Vec<u8>,
    sha: String,
    commit: String,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().to_path_buf();
        let vendor = top.join("repo/scripts/vendor");
        std::fs::create_dir_all(&vendor).unwrap();
        for f in ["fetch", "lib.sh"] {
            std::fs::copy(repo().join("scripts/vendor").join(f), vendor.join(f)).unwrap();
        }
        for d in ["shared/vendor", "uv", "mirror", "tools"] {
            std::fs::create_dir_all(top.join(d)).unwrap();
        }
        // The "upstream": a git repository with one commit.
        let upstream = top.join("upstream");
        std::fs::create_dir_all(upstream.join("src")).unwrap();
        std::fs::write(upstream.join("README"), "fake upstream\n").unwrap();
        std::fs::write(
            upstream.join("src/main.c"),
            "int main(void) { return 0; }\n",
        )
        .unwrap();
        git(&upstream, &["init", "-q"]);
        git(&upstream, &["add", "."]);
        git(&upstream, &["commit", "-q", "-m", "1.0"]);
        let commit = String::from_utf8(git(&upstream, &["rev-parse", "HEAD"]))
            .unwrap()
            .trim()
            .to_string();
        // The pinned tarball, made as SOURCES' `archive` format says.
        let tar = git(
            &upstream,
            &[
                "archive",
                "--format=tar",
                &format!("--prefix={NAME}/"),
                &commit,
            ],
        );
        let tar_path = top.join("fake.tar");
        std::fs::write(&tar_path, tar).unwrap();
        let xz = Command::new("xz")
            .args(["-6", "-T2", "-c"])
            .arg(&tar_path)
            .output()
            .unwrap();
        assert!(xz.status.success());
        let good = xz.stdout;
        let sha = sha256_bytes(&good);
        let t = Tree {
            _dir: dir,
            top,
            good,
            sha,
            commit,
        };
        t.pin(&t.commit.clone());
        t
    }

    /// SOURCES with the fake tarball from the upstream at COMMIT.
    fn pin(&self, commit: &str) {
        std::fs::write(
            self.top.join("repo/scripts/vendor/SOURCES"),
            format!(
                "# test table\n{FILE}\t{}\t-6,-T2\tarchive\t{NAME}\tfile://{}\t{commit}\n",
                self.sha,
                self.top.join("upstream").display()
            ),
        )
        .unwrap();
    }

    fn put(&self, dir: &str, bytes: &[u8]) -> PathBuf {
        let p = self.top.join(dir).join(FILE);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn tampered(&self) -> Vec<u8> {
        let mut b = self.good.clone();
        let n = b.len() / 2;
        b[n] ^= 1;
        b
    }

    fn src(&self) -> PathBuf {
        self.top.join("tools/vendor/src")
    }

    fn fetch(&self, env: &[(&str, &Path)], args: &[&str]) -> Output {
        let mut cmd = Command::new(self.top.join("repo/scripts/vendor/fetch"));
        cmd.args(args)
            .env_remove("UNITPACK_VENDOR")
            .env_remove("UNITPACK_VENDOR_MIRROR")
            .env_remove("VENDOR_OFFLINE")
            .env("UNITPACK_TOOLS", self.top.join("tools"))
            // No user or system git configuration may change the archive.
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("scripts/vendor/fetch runs")
    }

    /// Everything under the download cache, temporary entries included.
    fn src_entries(&self) -> Vec<String> {
        match std::fs::read_dir(self.src()) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refusal: exit 1, no path on stdout, a message naming the file and both sha256s.
fn assert_refused(o: &Output, file: &str, expected: &str, actual: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(stdout(o), "", "a refused file's path must not be printed");
    for part in [file, expected, actual] {
        assert!(err.contains(part), "the message names {part}: {err}");
    }
}

#[test]
fn unitpack_vendor_comes_before_shared_vendor() {
    let t = Tree::new();
    let uv = t.top.join("uv");
    let shared = t.put("shared/vendor", &t.good);
    let ours = t.put("uv", &t.good);
    let o = t.fetch(&[("UNITPACK_VENDOR", &uv)], &[NAME]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), ours.display().to_string());
    // Without it, ../shared/vendor beside the checkout.
    let o = t.fetch(&[], &[NAME]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = PathBuf::from(stdout(&o));
    assert_eq!(
        printed.canonicalize().unwrap(),
        shared.canonicalize().unwrap()
    );
    // UNITPACK_VENDOR set but without the file: the next place.
    std::fs::remove_file(&ours).unwrap();
    let o = t.fetch(&[("UNITPACK_VENDOR", &uv)], &[NAME]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        PathBuf::from(stdout(&o)).canonicalize().unwrap(),
        shared.canonicalize().unwrap()
    );
    assert!(t.src_entries().is_empty(), "nothing downloaded");
}

#[test]
fn a_tampered_file_is_refused_wherever_it_is() {
    let t = Tree::new();
    let uv = t.top.join("uv");
    let bad = t.tampered();
    let bad_sha = sha256_bytes(&bad);
    // In UNITPACK_VENDOR, with a good copy in ../shared/vendor: refused, not skipped.
    t.put("shared/vendor", &t.good);
    let p = t.put("uv", &bad);
    let o = t.fetch(&[("UNITPACK_VENDOR", &uv)], &[NAME]);
    assert_refused(&o, &p.display().to_string(), &t.sha, &bad_sha);
    // In ../shared/vendor.
    let p = t.put("shared/vendor", &bad);
    let o = t.fetch(&[], &[NAME]);
    assert_refused(&o, FILE, &t.sha, &bad_sha);
    assert!(stderr(&o).contains(&p.file_name().unwrap().to_string_lossy().to_string()));
    // In the download cache.
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir_all(t.src()).unwrap();
    let p = t.src().join(FILE);
    std::fs::write(&p, &bad).unwrap();
    let o = t.fetch(&[], &[NAME, "--offline"]);
    assert_refused(&o, &p.display().to_string(), &t.sha, &bad_sha);
}

#[test]
fn a_failed_download_leaves_nothing() {
    let t = Tree::new();
    let mirror = t.top.join("mirror");
    let url = PathBuf::from(format!("file://{}", mirror.display()));
    // Offline, nothing local: exit 3, no download tried.
    let o = t.fetch(&[], &["--offline", NAME]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    // The mirror lacks the file.
    let o = t.fetch(&[("UNITPACK_VENDOR_MIRROR", &url)], &[NAME]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert_eq!(t.src_entries(), Vec::<String>::new(), "{}", stderr(&o));
    // The mirror serves other bytes: refused, and not kept under any name.
    let bad = t.tampered();
    t.put("mirror", &bad);
    let o = t.fetch(&[("UNITPACK_VENDOR_MIRROR", &url)], &[NAME]);
    assert_refused(&o, FILE, &t.sha, &sha256_bytes(&bad));
    assert_eq!(t.src_entries(), Vec::<String>::new());
    // The upstream commit does not exist (git path).
    t.pin(&"0".repeat(40));
    let o = t.fetch(&[], &[NAME]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert_eq!(t.src_entries(), Vec::<String>::new(), "{}", stderr(&o));
}

#[test]
fn a_download_is_verified_then_cached() {
    let t = Tree::new();
    let mirror = t.top.join("mirror");
    let url = PathBuf::from(format!("file://{}", mirror.display()));
    t.put("mirror", &t.good);
    let o = t.fetch(&[("UNITPACK_VENDOR_MIRROR", &url)], &[NAME]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cached = t.src().join(FILE);
    assert_eq!(stdout(&o), cached.display().to_string());
    assert_eq!(std::fs::read(&cached).unwrap(), t.good);
    assert_eq!(t.src_entries(), vec![FILE.to_string()], "no temporary left");
    // The next run takes the cache, offline.
    std::fs::remove_file(mirror.join(FILE)).unwrap();
    let o = t.fetch(&[], &["--offline", NAME]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), cached.display().to_string());
}

#[test]
fn the_git_rebuild_gives_the_pinned_bytes() {
    let t = Tree::new();
    let o = t.fetch(&[], &[NAME]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cached = t.src().join(FILE);
    assert_eq!(stdout(&o), cached.display().to_string());
    assert_eq!(std::fs::read(&cached).unwrap(), t.good);
    assert_eq!(t.src_entries(), vec![FILE.to_string()], "no temporary left");
    // Another commit rebuilds other bytes: refused, nothing kept.
    std::fs::remove_file(&cached).unwrap();
    std::fs::write(t.top.join("upstream/README"), "changed\n").unwrap();
    git(&t.top.join("upstream"), &["commit", "-q", "-am", "1.1"]);
    let head = String::from_utf8(git(&t.top.join("upstream"), &["rev-parse", "HEAD"])).unwrap();
    t.pin(head.trim());
    let o = t.fetch(&[], &[NAME]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&t.sha), "{}", stderr(&o));
    assert_eq!(t.src_entries(), Vec::<String>::new());
}

/// The real table: every consumer's tarball is pinned once, with a well-formed line; and
/// where a vendor directory is at hand, every pinned file in it has its pinned sha256.
#[test]
fn the_real_table_pins_every_consumer() {
    let table = std::fs::read_to_string(repo().join("scripts/vendor/SOURCES")).unwrap();
    let mut pinned = std::collections::BTreeMap::new();
    for (i, line) in table.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let at = format!("scripts/vendor/SOURCES:{}", i + 1);
        assert!(f.len() >= 7, "{at}: 7 fields at least");
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(f[0].ends_with(".tar.xz"), "{at}: FILE");
        assert!(hex(f[1], 64), "{at}: SHA256");
        assert!(
            f[2].split(',').all(|o| o.starts_with('-')) && f[2].contains("-T"),
            "{at}: XZ (options, comma-separated, the thread mode among them)"
        );
        assert!(["archive", "tree"].contains(&f[3]), "{at}: FORMAT");
        assert!(f[5].starts_with("https://"), "{at}: GIT-URL");
        assert!(hex(f[6], 40), "{at}: COMMIT");
        let prev = pinned.insert(f[0].to_string(), f[1].to_string());
        assert!(
            prev.is_none() || prev.as_deref() == Some(f[1]),
            "{at}: another sha256"
        );
    }
    for consumer in ["dpkg-1.18.4", "systemd-229", "apt-1.2.35"] {
        assert!(
            pinned.contains_key(&format!("{consumer}.tar.xz")),
            "{consumer}"
        );
        let script = std::fs::read_to_string(repo().join("scripts/vendor").join(consumer)).unwrap();
        assert!(
            script.contains("$(vendor_sha \"$name\")")
                && script.contains("$(vendor_fetch \"$name\")"),
            "scripts/vendor/{consumer} takes its sha256 and tarball from SOURCES"
        );
    }
    let dir = std::env::var_os("UNITPACK_VENDOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/vendor"));
    if !dir.is_dir() {
        eprintln!("no {}: cross-check skipped", dir.display());
        return;
    }
    for (file, sha) in &pinned {
        let p = dir.join(file);
        if p.is_file() {
            let actual = sha256_bytes(&std::fs::read(&p).unwrap());
            assert_eq!(&actual, sha, "{} vs scripts/vendor/SOURCES", p.display());
        }
    }
}
