//! The `repo` target: `unitpack repo add` fed mutated `.deb`s, mutated existing
//! repositories and hostile option values (`unitpack-fuzz repo …`, same options).
//!
//! Seeds: a package built by dpkg-deb, one written byte by byte (control.tar.gz and
//! control.tar.xz), and a repository published from them by the CLI under test. Each
//! case copies the seed repository (or starts empty), then applies 1–4 mutations:
//! bytes of the `.deb` (flips, truncation, insertion, ar sizes), its control file
//! (repeated fields, CR/NUL/escape/bidi characters, hostile Package, Version,
//! Architecture, Source, repository fields), its type (FIFO, symlink to the canary,
//! directory), files of the repository (Release's Components/Architectures/Origin,
//! Packages' Filename/Size/hashes, duplicated stanzas, CR, a 1 GiB sparse index, a
//! FIFO, a symlink out of the repository for pool/, dists/ or any directory below,
//! its stanzas reordered or listed twice),
//! and `--label`/`--origin`/`--component`/`--arch` values.
//!
//! Invariants, each a findings directory `repo-NAME`:
//! `exit-code`/`signal`/`timeout`/`memory` (exit 0 or 2 only, in time, under the RSS
//! bound), `outside-write` (the canary beside the repository and the inputs unchanged),
//! `half-written` (a refusal leaves the repository byte-identical), `gnupg-home-left`
//! (no private GnuPG home left in TMPDIR), `published` (an accepted run leaves a
//! repository whose InRelease verifies with gpgv, whose Release hashes every index it
//! lists, whose indexes name only regular pool files with their SHA256, whose `.gz` and
//! `.xz` decompress to their `Packages`, and that holds no symlink).

use crate::rng::Rng;
use crate::run;
use crate::Opts;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const EPOCH: &str = "1750000000";
const GOOD: &str = "Package: fuzz-pkg\nVersion: 1.0-1\nArchitecture: amd64\n\
                    Maintainer: F <f@example.org>\nDescription: fuzz seed\n more text\n";

pub fn main(o: Opts) -> ExitCode {
    let base = std::env::temp_dir().join(format!("unitpack-fuzz-repo-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base).expect("scratch dir");
    let mut t = Target::setup(o, base);
    t.run();
    let _ = fs::remove_dir_all(&t.base);
    t.report()
}

struct Target {
    o: Opts,
    base: PathBuf,
    rng: Rng,
    key: PathBuf,
    keyring: PathBuf,
    seed_debs: Vec<Vec<u8>>,
    seed_repo: PathBuf,
    execs: u64,
    accepted: u64,
    peak_rss_kib: u64,
    findings: BTreeMap<&'static str, (u64, u64)>,
}

/// One case: what is written before the run.
#[derive(Clone, Debug)]
struct Case {
    deb: Vec<u8>,
    /// `None`: the .deb is a regular file; else a special form of it.
    deb_form: Option<&'static str>,
    empty_repo: bool,
    repo_edits: Vec<RepoEdit>,
    args: Vec<String>,
    history: Vec<String>,
}

#[derive(Clone, Debug)]
enum RepoEdit {
    Replace {
        file: &'static str,
        from: String,
        to: String,
    },
    Sparse(&'static str),
    Fifo(&'static str),
    SymlinkOut(&'static str),
    Remove(&'static str),
    /// The stanzas of the Packages index reordered: reversed (0), the first one again
    /// at the end (1), or the last moved first (2). unitpack merges its indexes as
    /// sorted streams, so each must be refused, never merged wrongly.
    Reorder(u8),
}

const PACKAGES: &str = "dists/stable/main/binary-amd64/Packages";
const RELEASE: &str = "dists/stable/Release";

impl Target {
    fn setup(o: Opts, base: PathBuf) -> Target {
        let keydir = base.join("key");
        fs::create_dir_all(&keydir).unwrap();
        let key = make_key(&keydir);
        let keyring = keydir.join("public.gpg");
        let out = Command::new(&o.unitpack)
            .args(["repo", "export-key", "--key"])
            .arg(&key)
            .arg("-o")
            .arg(&keyring)
            .output()
            .expect("unitpack");
        assert!(out.status.success(), "export-key failed");
        let seeds_dir = base.join("seeds");
        fs::create_dir_all(&seeds_dir).unwrap();
        let seed_debs = vec![
            deb(GOOD.as_bytes(), Compression::Gz),
            deb(GOOD.replace("1.0-1", "1.1-1").as_bytes(), Compression::Xz),
            dpkg_deb(&seeds_dir),
        ];
        let seed_repo = base.join("seed-repo");
        for (i, d) in seed_debs.iter().enumerate() {
            let p = seeds_dir.join(format!("{i}.deb"));
            fs::write(&p, d).unwrap();
            let out = Command::new(&o.unitpack)
                .env("SOURCE_DATE_EPOCH", EPOCH)
                .env("TMPDIR", &base)
                .args(["repo", "add", "--suite", "stable", "--repo"])
                .arg(&seed_repo)
                .arg("--key")
                .arg(&key)
                .arg(&p)
                .output()
                .expect("unitpack");
            assert!(
                out.status.success(),
                "seeding the repository failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let seed = o.seed;
        Target {
            o,
            base,
            rng: Rng::new(seed),
            key,
            keyring,
            seed_debs,
            seed_repo,
            execs: 0,
            accepted: 0,
            peak_rss_kib: 0,
            findings: BTreeMap::new(),
        }
    }

    fn run(&mut self) {
        let start = Instant::now();
        let budget = Duration::from_secs(self.o.seconds);
        eprintln!(
            "unitpack-fuzz repo: seed {}, {} s, unitpack {}",
            self.o.seed,
            self.o.seconds,
            self.o.unitpack.display()
        );
        while start.elapsed() < budget && self.execs < self.o.max_execs {
            let case = self.make_case();
            let violations = self.execute(&case);
            self.execs += 1;
            for (inv, detail) in violations {
                self.record(inv, &detail, &case);
            }
        }
        eprintln!(
            "unitpack-fuzz repo: ran {:.0} s",
            start.elapsed().as_secs_f64()
        );
    }

    fn make_case(&mut self) -> Case {
        let seed = self.seed_debs[self.rng.below(self.seed_debs.len())].clone();
        let mut c = Case {
            deb: seed,
            deb_form: None,
            empty_repo: self.rng.chance(15),
            repo_edits: Vec::new(),
            args: Vec::new(),
            history: Vec::new(),
        };
        if self.rng.chance(20) {
            // A well-formed new version now and then, so accepted publications (and
            // what they leave on disk) are checked too.
            let v = format!("1.{}-1", self.rng.below(1000));
            c.history.push(format!("new version {v}"));
            c.deb = deb(GOOD.replace("1.0-1", &v).as_bytes(), Compression::Gz);
            if self.rng.chance(50) {
                return c;
            }
        }
        let n = 1 + self.rng.below(4);
        for _ in 0..n {
            self.mutate(&mut c);
        }
        c
    }

    fn mutate(&mut self, c: &mut Case) {
        let r = &mut self.rng;
        match r.below(10) {
            0..=2 => {
                let control = mutate_control(r, GOOD);
                c.history.push(format!("control {control:?}"));
                let comp = if r.chance(50) {
                    Compression::Gz
                } else {
                    Compression::Xz
                };
                c.deb = deb(control.as_bytes(), comp);
            }
            3 | 4 => {
                let what = mutate_bytes(r, &mut c.deb);
                c.history.push(what);
            }
            5 => {
                let form = *r.pick(&["fifo", "symlink", "dir", "missing"]);
                c.history.push(format!("deb is a {form}"));
                c.deb_form = Some(form);
            }
            6..=8 => {
                let e = repo_edit(r);
                c.history.push(format!("{e:?}"));
                c.repo_edits.push(e);
            }
            _ => {
                let flag = *r.pick(&["--label", "--origin", "--component", "--arch"]);
                // An argument cannot hold NUL (exec refuses it before unitpack runs).
                let value = hostile_value(r).replace('\0', "\u{1}");
                c.history.push(format!("{flag} {value:?}"));
                c.args.push(flag.into());
                c.args.push(value);
            }
        }
    }

    /// Writes the case, runs the CLI once and checks the invariants.
    fn execute(&mut self, c: &Case) -> Vec<(&'static str, String)> {
        let dir = self.base.join("case");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("tmp")).unwrap();
        let canary = dir.join("canary");
        fs::create_dir_all(&canary).unwrap();
        fs::write(canary.join("file"), "canary\n").unwrap();
        let repo = dir.join("repo");
        if !c.empty_repo {
            copy_tree(&self.seed_repo, &repo);
            for e in &c.repo_edits {
                apply(e, &repo, &canary);
            }
        }
        let deb = dir.join("in").join("upload.deb");
        fs::create_dir_all(deb.parent().unwrap()).unwrap();
        match c.deb_form {
            None => fs::write(&deb, &c.deb).unwrap(),
            Some("fifo") => mkfifo(&deb),
            Some("symlink") => std::os::unix::fs::symlink(canary.join("file"), &deb).unwrap(),
            Some("dir") => fs::create_dir(&deb).unwrap(),
            Some(_) => {}
        }
        let before_repo = snapshot(&repo);
        let before_rest = (snapshot(&canary), snapshot(&dir.join("in")));

        let scratch = self.base.join("scratch");
        let _ = fs::create_dir_all(&scratch);
        let mut cmd = Command::new(&self.o.unitpack);
        cmd.env("SOURCE_DATE_EPOCH", EPOCH)
            .env("TMPDIR", dir.join("tmp"))
            .env_remove("XDG_RUNTIME_DIR")
            .args(["repo", "add", "--suite", "stable", "--repo"])
            .arg(&repo)
            .arg("--key")
            .arg(&self.key)
            .args(&c.args)
            .arg(&deb);
        let limits = run::Limits {
            timeout: self.o.timeout,
            address_space: 4 << 30,
            file_size: 1 << 30,
        };
        let Ok(o) = run::run(&mut cmd, &scratch, &limits) else {
            return vec![("cannot-run", "unitpack did not start".into())];
        };
        self.peak_rss_kib = self.peak_rss_kib.max(o.peak_rss_kib);
        let stderr: String = String::from_utf8_lossy(&o.stderr)
            .chars()
            .take(400)
            .collect();
        let mut out = Vec::new();
        if o.timed_out {
            out.push((
                "timeout",
                format!("still running after {:?}", self.o.timeout),
            ));
        } else if let Some(sig) = o.signal {
            out.push(("signal", format!("killed by signal {sig}: {stderr}")));
        } else if !matches!(o.code, Some(0 | 2)) {
            out.push(("exit-code", format!("exited {:?}: {stderr}", o.code)));
        }
        if o.peak_rss_kib > self.o.max_rss_kib {
            out.push(("memory", format!("peak RSS {} KiB", o.peak_rss_kib)));
        }
        if (snapshot(&canary), snapshot(&dir.join("in"))) != before_rest {
            out.push(("outside-write", "the canary or an input changed".into()));
        }
        let homes: Vec<_> = fs::read_dir(dir.join("tmp"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        if homes
            .iter()
            .any(|n| n.to_string_lossy().starts_with("unitpack-gnupg-"))
        {
            out.push(("gnupg-home-left", format!("{homes:?} in TMPDIR")));
        }
        if o.code == Some(0) {
            self.accepted += 1;
            if let Err(m) = check_published(&repo, &self.keyring) {
                out.push(("published", m));
            }
        } else if snapshot(&repo) != before_repo {
            out.push((
                "half-written",
                format!("exit {:?} changed the repository: {stderr}", o.code),
            ));
        }
        out
    }

    fn record(&mut self, inv: &'static str, detail: &str, c: &Case) {
        let entry = self.findings.entry(inv).or_insert((0, 0));
        entry.0 += 1;
        eprintln!("unitpack-fuzz repo: {inv}: {detail}");
        if entry.1 >= 3 {
            return;
        }
        entry.1 += 1;
        let dir = self
            .o
            .findings
            .join(format!("repo-{inv}"))
            .join(format!("{:03}", entry.1));
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::create_dir_all(&dir);
        let _ = fs::write(dir.join("upload.deb"), &c.deb);
        let _ = fs::write(
            dir.join("README.txt"),
            format!(
                "invariant: {inv}\n{detail}\n\nmutations:\n{}\n\ndeb form: {:?}, empty repository: {}, \
                 repository edits: {:#?}\nargs: {:?}\n\
                 The repository was the seed repository (unitpack repo add of the seed \
                 packages) with the edits listed, unless empty_repo.\n",
                c.history.join("\n"),
                c.deb_form,
                c.empty_repo,
                c.repo_edits,
                c.args
            ),
        );
    }

    fn report(&self) -> ExitCode {
        let total: u64 = self.findings.values().map(|f| f.0).sum();
        let mut text = format!(
            "repo target: {} executions, {} accepted, {} refused, peak RSS {} KiB\nfindings: {total}\n",
            self.execs,
            self.accepted,
            self.execs - self.accepted,
            self.peak_rss_kib
        );
        for (inv, (n, _)) in &self.findings {
            text.push_str(&format!("  repo-{inv}: {n}\n"));
        }
        print!("{text}");
        let _ = fs::create_dir_all(&self.o.findings);
        let _ = fs::write(self.o.findings.join("summary-repo.txt"), &text);
        if total == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

// ---- what is generated ----

#[derive(Clone, Copy)]
enum Compression {
    Gz,
    Xz,
}

fn ar_member(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    out.extend_from_slice(
        format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            name,
            0,
            0,
            0,
            100644,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

/// A ustar archive of one file, written by hand (the fuzzer has no tar dependency).
fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

fn compress(data: &[u8], c: Compression) -> Vec<u8> {
    let tool = match c {
        Compression::Gz => "gzip",
        Compression::Xz => "xz",
    };
    let mut child = Command::new(tool)
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip and xz");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    let _ = w.join();
    out.stdout
}

fn deb(control: &[u8], c: Compression) -> Vec<u8> {
    let ext = match c {
        Compression::Gz => "gz",
        Compression::Xz => "xz",
    };
    let mut out = b"!<arch>\n".to_vec();
    ar_member(&mut out, "debian-binary", b"2.0\n");
    ar_member(
        &mut out,
        &format!("control.tar.{ext}"),
        &compress(&tar_of("./control", control), c),
    );
    ar_member(
        &mut out,
        &format!("data.tar.{ext}"),
        &compress(&tar_of("./usr/share/doc/fuzz/x", b"x\n"), c),
    );
    out
}

fn dpkg_deb(dir: &Path) -> Vec<u8> {
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    fs::create_dir_all(tree.join("usr/share/doc/fuzz-real")).unwrap();
    fs::write(tree.join("usr/share/doc/fuzz-real/x"), "x\n").unwrap();
    fs::write(
        tree.join("DEBIAN/control"),
        GOOD.replace("fuzz-pkg", "fuzz-real")
            .replace("amd64", "all"),
    )
    .unwrap();
    let out = dir.join("real.deb");
    let st = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&tree)
        .arg(&out)
        .output()
        .expect("dpkg-deb");
    assert!(st.status.success(), "dpkg-deb failed");
    fs::read(out).unwrap()
}

pub(crate) fn hostile_value(r: &mut Rng) -> String {
    let pick = *r.pick(&[
        "x\nSuite: evil",
        "x\n Valid-Until: never",
        "x\r",
        "a\0b",
        "\u{1b}[2J",
        "\u{202e}gnp.exe",
        "\u{2028}",
        " lead",
        "trail ",
        "",
        "../../x",
        "/abs",
        "main/../../x",
        "a b",
        "ALL",
        "all",
        "-x",
        ".hidden",
        "ok-value",
        "amd64",
    ]);
    if r.chance(5) {
        "y".repeat(70_000)
    } else {
        pick.to_string()
    }
}

fn mutate_control(r: &mut Rng, good: &str) -> String {
    let mut s = good.to_string();
    match r.below(9) {
        0 => s.push_str(&format!("Package: {}\n", hostile_value(r))),
        1 => {
            let field = *r.pick(&["Package", "Version", "Architecture", "Source"]);
            let v = hostile_value(r);
            if s.contains(&format!("{field}:")) {
                let line = s
                    .lines()
                    .find(|l| l.starts_with(&format!("{field}:")))
                    .unwrap()
                    .to_string();
                s = s.replace(&line, &format!("{field}: {v}"));
            } else {
                s.push_str(&format!("{field}: {v}\n"));
            }
        }
        2 => {
            let c = *r.pick(&["\r", "\0", "\u{1b}", "\u{202e}", "\u{7f}", "\u{2029}"]);
            let at = r.below(s.len());
            let at = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            s.insert_str(at, c);
        }
        3 => {
            let field = *r.pick(&["Filename", "Size", "SHA256", "MD5sum", "SHA1"]);
            s.push_str(&format!("{field}: {}\n", hostile_value(r)));
        }
        4 => s = s.replace('\n', "\r\n"),
        5 => s.push_str("\nPackage: second\nVersion: 1\nArchitecture: all\n"),
        6 => s.push_str(&format!("{}: x\n", hostile_value(r))),
        7 => s = s.replacen("Package:", "package:", 1) + "Package: shadow\n",
        _ => {
            let lines: Vec<&str> = s.lines().collect();
            let drop = r.below(lines.len());
            s = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, l)| format!("{l}\n"))
                .collect();
        }
    }
    s
}

pub(crate) fn mutate_bytes(r: &mut Rng, d: &mut Vec<u8>) -> String {
    if d.is_empty() {
        d.push(0);
    }
    match r.below(5) {
        0 => {
            let n = 1 + r.below(8);
            for _ in 0..n {
                let i = r.below(d.len());
                d[i] ^= 1 << r.below(8);
            }
            format!("flip {n} bits")
        }
        1 => {
            let at = r.below(d.len());
            d.truncate(at);
            format!("truncate at {at}")
        }
        2 => {
            let at = r.below(d.len());
            let junk: Vec<u8> = (0..1 + r.below(64)).map(|_| r.next() as u8).collect();
            d.splice(at..at, junk);
            format!("insert at {at}")
        }
        3 => {
            // An ar size field (the first three headers sit at known offsets only in
            // the seeds; anywhere a "`\n" ends a header will do).
            let ends: Vec<usize> = d
                .windows(2)
                .enumerate()
                .filter(|(i, w)| *w == b"`\n" && *i >= 58)
                .map(|(i, _)| i)
                .collect();
            if ends.is_empty() {
                return "no ar header".into();
            }
            let e = *r.pick(&ends);
            let size = *r.pick(&["9999999999", "0         ", "-1        ", "1e3       "]);
            d[e - 10..e].copy_from_slice(size.as_bytes());
            format!("ar size {size:?}")
        }
        _ => {
            let at = r.below(d.len());
            let len = (d.len() - at).min(1 + r.below(4096));
            let chunk = d[at..at + len].to_vec();
            let to = r.below(d.len());
            d.splice(to..to, chunk);
            format!("duplicate {len} bytes")
        }
    }
}

fn repo_edit(r: &mut Rng) -> RepoEdit {
    let dirs = [
        "pool",
        "dists",
        "dists/stable",
        "dists/stable/main",
        "dists/stable/main/binary-amd64",
        "pool/main",
        "pool/main/f",
    ];
    match r.below(10) {
        9 => RepoEdit::Reorder(r.below(3) as u8),
        0 => RepoEdit::Replace {
            file: RELEASE,
            from: "Components: main".into(),
            to: format!("Components: main {}", hostile_value(r)),
        },
        1 => RepoEdit::Replace {
            file: RELEASE,
            from: "Architectures: all".into(),
            to: format!("Architectures: all {}", hostile_value(r)),
        },
        2 => RepoEdit::Replace {
            file: RELEASE,
            from: "Suite: stable".into(),
            to: format!(
                "Suite: stable\n{}: {}",
                r.pick(&["Origin", "Label", "Suite", "Codename"]),
                hostile_value(r)
            ),
        },
        3 => {
            let field = *r.pick(&["Filename: ", "Size: ", "SHA256: ", "MD5sum: ", "Package: "]);
            RepoEdit::Replace {
                file: PACKAGES,
                from: field.into(),
                to: format!("{field}{}", hostile_value(r)),
            }
        }
        4 => RepoEdit::Replace {
            file: PACKAGES,
            from: "SHA256: ".into(),
            to: "SHA256: 00".into(),
        },
        5 => RepoEdit::Sparse(r.word(&[PACKAGES, RELEASE])),
        6 => RepoEdit::Fifo(r.word(&[PACKAGES, RELEASE, "dists/stable/InRelease"])),
        7 => RepoEdit::SymlinkOut(r.word(&dirs)),
        _ => RepoEdit::Remove(r.word(&[PACKAGES, RELEASE, "pool"])),
    }
}

fn apply(e: &RepoEdit, repo: &Path, canary: &Path) {
    match e {
        RepoEdit::Replace { file, from, to } => {
            // Only a regular, small file: an earlier edit may have made it a FIFO or 1 GiB.
            let regular = fs::symlink_metadata(repo.join(file))
                .is_ok_and(|m| m.is_file() && m.len() < 1 << 20);
            if let Some(t) = regular
                .then(|| fs::read_to_string(repo.join(file)).ok())
                .flatten()
            {
                let _ = fs::write(repo.join(file), t.replacen(from.as_str(), to, 1));
            }
        }
        RepoEdit::Sparse(file) => {
            // Not through a FIFO an earlier edit made (the open would block).
            let regular = fs::symlink_metadata(repo.join(file)).is_ok_and(|m| m.is_file());
            let f = regular
                .then(|| {
                    fs::OpenOptions::new()
                        .write(true)
                        .open(repo.join(file))
                        .ok()
                })
                .flatten();
            if let Some(f) = f {
                let _ = f.set_len(1 << 30);
            }
        }
        RepoEdit::Fifo(file) => {
            let _ = fs::remove_file(repo.join(file));
            mkfifo(&repo.join(file));
        }
        RepoEdit::SymlinkOut(dir) => {
            let target = repo.join(dir);
            if target.is_dir() {
                let outside = canary.join(format!("moved-{}", dir.replace('/', "-")));
                let _ = fs::rename(&target, &outside);
                let _ = std::os::unix::fs::symlink(&outside, &target);
            }
        }
        RepoEdit::Remove(p) => {
            let p = repo.join(p);
            let _ = fs::remove_file(&p);
            let _ = fs::remove_dir_all(&p);
        }
        RepoEdit::Reorder(how) => {
            let file = repo.join(PACKAGES);
            let small = fs::symlink_metadata(&file).is_ok_and(|m| m.is_file() && m.len() < 1 << 20);
            let Some(text) = small.then(|| fs::read_to_string(&file).ok()).flatten() else {
                return;
            };
            let mut stanzas: Vec<&str> = text.trim_end_matches('\n').split("\n\n").collect();
            match how {
                0 => stanzas.reverse(),
                1 => stanzas.push(stanzas[0]),
                _ => stanzas.rotate_right(1),
            }
            let _ = fs::write(&file, format!("{}\n", stanzas.join("\n\n")));
        }
    }
}

// ---- checks ----

fn make_key(dir: &Path) -> PathBuf {
    let home = dir.join("gnupg");
    fs::create_dir_all(&home).unwrap();
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--faked-system-time", "20200101T000000"])
            .args(args)
            .output()
            .expect("gpg");
        assert!(out.status.success(), "gpg {args:?} failed");
        out.stdout
    };
    gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        "fuzz <fuzz@example.org>",
        "ed25519",
        "sign",
        "never",
    ]);
    let file = dir.join("signing.key");
    fs::write(&file, gpg(&["--export-secret-keys"])).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"])
        .output();
    file
}

pub(crate) fn mkfifo(p: &Path) {
    let _ = Command::new("mkfifo").arg(p).status();
}

/// Type, size and (for files up to 1 MiB) bytes of everything below `dir`.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        let rel = p.strip_prefix(dir).unwrap_or(&p).to_path_buf();
        let ft = meta.file_type();
        let entry = if ft.is_symlink() {
            (format!("link {:?}", fs::read_link(&p).ok()), Vec::new())
        } else if ft.is_dir() {
            if let Ok(d) = fs::read_dir(&p) {
                stack.extend(d.flatten().map(|e| e.path()));
            }
            ("dir".into(), Vec::new())
        } else if ft.is_file() && meta.len() <= 1 << 20 {
            ("file".into(), fs::read(&p).unwrap_or_default())
        } else if ft.is_file() {
            use std::os::unix::fs::MetadataExt;
            (
                format!("big-file {} {}", meta.len(), meta.mtime_nsec()),
                Vec::new(),
            )
        } else {
            use std::os::unix::fs::MetadataExt;
            (
                format!("special {:?} {}", ft, meta.mtime_nsec()),
                Vec::new(),
            )
        };
        out.insert(rel, entry);
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status();
    assert!(st.is_ok_and(|s| s.success()), "cp -a");
}

fn sha256_of(path: &Path) -> Option<String> {
    let out = Command::new("sha256sum").arg(path).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(String::from)
}

/// What apt needs from an accepted repository.
fn check_published(repo: &Path, keyring: &Path) -> Result<(), String> {
    let suite = repo.join("dists/stable");
    for (p, (kind, _)) in snapshot(repo) {
        if kind.starts_with("link") {
            return Err(format!("{} is a symlink", p.display()));
        }
        if kind.starts_with("special") {
            // Checked before anything below is read: a FIFO would block the reader.
            return Err(format!("{} is not a regular file ({kind})", p.display()));
        }
    }
    let v = Command::new("gpgv")
        .arg("--keyring")
        .arg(keyring)
        .arg(suite.join("InRelease"))
        .output()
        .map_err(|e| format!("gpgv: {e}"))?;
    if !v.status.success() {
        return Err(format!(
            "InRelease does not verify: {}",
            String::from_utf8_lossy(&v.stderr)
        ));
    }
    let release = fs::read_to_string(suite.join("Release")).map_err(|e| format!("Release: {e}"))?;
    let mut names = Vec::new();
    for line in release.lines() {
        if line.contains('\r') {
            return Err("Release holds a CR".into());
        }
        if !line.starts_with(' ') {
            let name = line.split(':').next().unwrap_or("");
            if names.contains(&name.to_string()) {
                return Err(format!("Release has {name} twice"));
            }
            names.push(name.to_string());
        }
    }
    let sha = release
        .split("\nSHA256:\n")
        .nth(1)
        .ok_or("Release has no SHA256 list")?;
    for line in sha.lines().take_while(|l| l.starts_with(' ')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [hash, _size, rel] = f[..] else {
            return Err(format!("bad SHA256 line {line:?}"));
        };
        if rel.contains("..") || rel.starts_with('/') {
            return Err(format!("Release lists {rel:?}"));
        }
        if sha256_of(&suite.join(rel)).as_deref() != Some(hash) {
            return Err(format!("{rel}: not the SHA256 Release lists"));
        }
        if rel.ends_with("/Packages") {
            check_packages(repo, &suite.join(rel))?;
        }
        // Each compressed index is the plain one: the pieces reused from the previous
        // files must join into exactly its text.
        for (suffix, tool) in [(".gz", "gzip"), (".xz", "xz")] {
            let Some(plain) = rel.strip_suffix(suffix) else {
                continue;
            };
            let out = Command::new(tool)
                .arg("-dc")
                .arg(suite.join(rel))
                .output()
                .map_err(|e| format!("{tool}: {e}"))?;
            let want = fs::read(suite.join(plain)).map_err(|e| format!("{plain}: {e}"))?;
            if !out.status.success() || out.stdout != want {
                return Err(format!("{rel} does not decompress to {plain}"));
            }
        }
    }
    Ok(())
}

fn check_packages(repo: &Path, index: &Path) -> Result<(), String> {
    let text = fs::read_to_string(index).map_err(|e| format!("{}: {e}", index.display()))?;
    for stanza in text.split("\n\n") {
        let mut seen: Vec<String> = Vec::new();
        let (mut file, mut sha) = (None, None);
        for line in stanza.lines() {
            if line.chars().any(|c| c.is_control() && c != '\t') {
                return Err(format!("{}: a control character", index.display()));
            }
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or(format!("{}: line {line:?}", index.display()))?;
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                return Err(format!("{}: {name} twice in a stanza", index.display()));
            }
            seen.push(lower);
            match name {
                "Filename" => file = Some(value.trim().to_string()),
                "SHA256" => sha = Some(value.trim().to_string()),
                _ => {}
            }
        }
        if stanza.trim().is_empty() {
            continue;
        }
        let (Some(file), Some(sha)) = (file, sha) else {
            return Err(format!(
                "{}: a stanza without Filename/SHA256",
                index.display()
            ));
        };
        if !file.starts_with("pool/") || file.contains("..") {
            return Err(format!("Filename {file:?}"));
        }
        let meta = fs::symlink_metadata(repo.join(&file)).map_err(|e| format!("{file}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{file} is not a regular file"));
        }
        if sha256_of(&repo.join(&file)).as_deref() != Some(sha.as_str()) {
            return Err(format!("{file}: not the SHA256 Packages lists"));
        }
    }
    Ok(())
}
