//! `unitpack repo add` as a hostile-upload boundary (issue 21, classes 5, 8, 9, 10, 11):
//! packages and repositories built here by hand (an ar writer of its own, so a package
//! can carry what dpkg-deb would refuse to build) and by dpkg-deb, against the real CLI.
//! Every refusal must exit 2 with the field named, leave the repository byte-identical
//! and write nothing outside it; nothing may hang or read without bound.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const EPOCH: u64 = 1_750_000_000;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("unitpack")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh ed25519 signing key in a file only its owner reads (else `repo add` warns).
fn make_key(dir: &Path) -> PathBuf {
    let file = common::gpg_key(dir, "t", "ed25519", None);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

/// One key for every test of this file (key generation is most of a fixture's time).
fn shared_key() -> &'static Path {
    static KEY: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    &KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = make_key(dir.path());
        (dir, key)
    })
    .1
}

/// `repo add` with a private TMPDIR (where its GnuPG home goes), killed after 60 s: a
/// hang is a failure, not a stuck test.
fn add_in(tmp: &Path, repo: &Path, key: &Path, extra: &[&str], debs: &[&Path]) -> Output {
    let child = Command::new(bin())
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .env("TMPDIR", tmp)
        .env_remove("XDG_RUNTIME_DIR")
        .args(["repo", "add", "--suite", "stable", "--repo"])
        .arg(repo)
        .arg("--key")
        .arg(key)
        .args(extra)
        .args(debs)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish_within(child, Duration::from_secs(60))
}

fn finish_within(mut child: std::process::Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "unitpack hung for {limit:?}; killed:\n{}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn refused(out: &Output, words: &[&str]) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2:\n{}{err}",
        text(&out.stdout)
    );
    for w in words {
        assert!(err.contains(w), "{words:?} not in:\n{err}");
    }
    err
}

/// Every path below `dir` with its type and bytes (symlinks by target).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if std::fs::symlink_metadata(dir).is_err() {
        return out;
    }
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
        let ft = e.file_type();
        let what = if ft.is_symlink() {
            format!("link {}", std::fs::read_link(e.path()).unwrap().display())
        } else if ft.is_file() {
            let meta = e.metadata().unwrap();
            if meta.len() > 64 << 20 {
                // The sparse giants of class 5: hashing them twice would take minutes.
                format!("{} bytes, {:?}", meta.len(), meta.modified().unwrap())
            } else {
                common::sha256(e.path())
            }
        } else if ft.is_dir() {
            "dir".into()
        } else {
            "special".into()
        };
        out.insert(rel, what);
    }
    out
}

// ---- .deb files written byte by byte ----

fn ar_member(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    ar_header(out, name, data.len() as u64);
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

fn ar_header(out: &mut Vec<u8>, name: &str, size: u64) {
    out.extend_from_slice(
        format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            name, 0, 0, 0, 100644, size
        )
        .as_bytes(),
    );
}

fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A .deb with `control` as its control file (and a small data.tar.gz).
fn deb_with_control(control: &[u8]) -> Vec<u8> {
    deb_with_members(
        b"2.0\n",
        &tar_gz(&[("./control", control)]),
        &tar_gz(&[("./usr/share/doc/x/README", b"x\n")]),
    )
}

fn deb_with_members(version: &[u8], control_tar_gz: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    ar_member(&mut out, "debian-binary", version);
    ar_member(&mut out, "control.tar.gz", control_tar_gz);
    ar_member(&mut out, "data.tar.gz", data);
    out
}

const GOOD: &str = "Package: hostile-test\nVersion: 1.0-1\nArchitecture: amd64\n\
                    Maintainer: T <t@example.org>\nDescription: a test\n long text\n";

struct Fx {
    dir: tempfile::TempDir,
    key: PathBuf,
    /// A repository published once with GOOD.
    repo: PathBuf,
    /// Snapshot of what is around the repository (a canary beside it).
    canary: PathBuf,
}

impl Fx {
    fn new() -> Fx {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signing.key");
        std::fs::copy(shared_key(), &key).unwrap();
        let fx = Fx {
            repo: dir.path().join("repo"),
            canary: dir.path().join("canary"),
            key,
            dir,
        };
        std::fs::create_dir_all(fx.tmp()).unwrap();
        std::fs::create_dir_all(&fx.canary).unwrap();
        std::fs::write(fx.canary.join("file"), "canary\n").unwrap();
        let good = fx.write("good.deb", &deb_with_control(GOOD.as_bytes()));
        let out = fx.add(&[], &[&good]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        fx
    }

    /// `hostile-all` (architecture all) added with `--arch armhf`: binary-amd64 and
    /// binary-armhf both list it.
    fn add_arch_all_for_armhf(&self) {
        let all = self.write(
            "all.deb",
            &deb_with_control(
                GOOD.replace("hostile-test", "hostile-all")
                    .replace("Architecture: amd64", "Architecture: all")
                    .as_bytes(),
            ),
        );
        let out = self.add(&["--arch", "armhf"], &[&all]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn add(&self, extra: &[&str], debs: &[&Path]) -> Output {
        add_in(&self.tmp(), &self.repo, &self.key, extra, debs)
    }

    /// Everything the run may not change: the repository, the canary, the temp dir.
    fn snapshot(&self) -> Vec<BTreeMap<String, String>> {
        vec![tree(&self.repo), tree(&self.canary), tree(&self.tmp())]
    }

    /// `change` must be refused with exit 2 and `words`, leaving everything as it was.
    fn refuses(&self, what: &str, extra: &[&str], debs: &[&Path], words: &[&str]) {
        let before = self.snapshot();
        let out = self.add(extra, debs);
        let err = refused(&out, words);
        assert_eq!(before, self.snapshot(), "{what}: something changed:\n{err}");
    }
}

#[test]
fn the_hand_built_package_is_one_dpkg_reads() {
    // The corpus below mutates this package: it must itself be valid, or a refusal
    // would prove nothing.
    let fx = Fx::new();
    let good = fx.dir.path().join("good.deb");
    let info = common::run("dpkg-deb", &["--info", good.to_str().unwrap()]);
    assert!(info.status.success(), "{}", text(&info.stderr));
    assert!(text(&info.stdout).contains("Package: hostile-test"));
    let packages =
        std::fs::read_to_string(fx.repo.join("dists/stable/main/binary-amd64/Packages")).unwrap();
    assert!(packages.contains("Filename: pool/main/h/hostile-test/hostile-test_1.0-1_amd64.deb"));
}

// ---- class 10: every control field of an incoming .deb ----

#[test]
fn class10_control_fields_are_validated() {
    let fx = Fx::new();
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "a second Package",
            format!("{GOOD}Package: other\n"),
            vec!["Package", "twice"],
        ),
        (
            "a second package in lower case",
            GOOD.replace("Version:", "package: shadow\nVersion:"),
            vec!["package", "twice"],
        ),
        (
            "a CR in a field",
            GOOD.replace("Maintainer: T", "Maintainer: T\r"),
            vec!["Maintainer", "U+000D"],
        ),
        ("CRLF line ends", GOOD.replace('\n', "\r\n"), vec!["U+000D"]),
        (
            "a NUL in the description",
            GOOD.replace("long text", "long\0text"),
            vec!["Description", "U+0000"],
        ),
        (
            "an escape character",
            GOOD.replace("a test", "a \u{1b}[2Jtest"),
            vec!["U+001B"],
        ),
        (
            "a bidi override",
            GOOD.replace("a test", "a \u{202e}test"),
            vec!["U+202E"],
        ),
        (
            "a field name with a space",
            format!("{GOOD}X Y: z\n"),
            vec!["not a field name"],
        ),
        (
            "a comment line",
            format!("#{GOOD}"),
            vec!["not a field name"],
        ),
        (
            "a continuation first",
            format!(" x\n{GOOD}"),
            vec!["continuation"],
        ),
        (
            "two paragraphs",
            format!("{GOOD}\nPackage: second\n"),
            vec!["one paragraph"],
        ),
        (
            "an upper-case package name",
            GOOD.replace("hostile-test", "Hostile"),
            vec!["Package", "Policy 5.6.1"],
        ),
        (
            "a package name with a slash",
            GOOD.replace("hostile-test", "a/../../x"),
            vec!["Package"],
        ),
        (
            "a version with a slash",
            GOOD.replace("1.0-1", "1.0/../../x"),
            vec!["Version", "Policy 5.6.12"],
        ),
        (
            "a version ending in -",
            GOOD.replace("1.0-1", "1.0-"),
            vec!["Version"],
        ),
        (
            "a version not starting with a digit",
            GOOD.replace("1.0-1", "abc"),
            vec!["Version"],
        ),
        (
            "an architecture list",
            GOOD.replace("amd64", "amd64 armhf"),
            vec!["Architecture"],
        ),
        (
            "an architecture path",
            GOOD.replace("amd64", "../x"),
            vec!["Architecture"],
        ),
        (
            "no Version",
            GOOD.replace("Version: 1.0-1\n", ""),
            vec!["Version", "no Version field"],
        ),
        (
            "a Filename field",
            format!("{GOOD}Filename: pool/main/e/evil.deb\n"),
            vec!["Filename", "written by the repository"],
        ),
        (
            "a SHA256 field",
            format!("{GOOD}SHA256: {}\n", "0".repeat(64)),
            vec!["SHA256"],
        ),
        (
            "a bad Source",
            format!("{GOOD}Source: ../x\n"),
            vec!["Source"],
        ),
        (
            "a Source with a bad version",
            format!("{GOOD}Source: x (1 2)\n"),
            vec!["Source"],
        ),
    ];
    for (what, control, words) in &cases {
        let deb = fx.write("case.deb", &deb_with_control(control.as_bytes()));
        fx.refuses(what, &[], &[&deb], words);
    }
    // Not UTF-8.
    let mut latin1 = GOOD.as_bytes().to_vec();
    latin1.extend_from_slice(b"X-Name: caf\xe9\n");
    let deb = fx.write("case.deb", &deb_with_control(&latin1));
    fx.refuses("latin-1", &[], &[&deb], &["not UTF-8"]);
}

#[test]
fn class10_archives_dpkg_would_refuse_are_refused() {
    let fx = Fx::new();
    let control = tar_gz(&[("./control", GOOD.as_bytes())]);
    let data = tar_gz(&[("./x", b"x")]);
    let mut wrong_first = b"!<arch>\n".to_vec();
    ar_member(&mut wrong_first, "control.tar.gz", &control);
    let mut no_data = b"!<arch>\n".to_vec();
    ar_member(&mut no_data, "debian-binary", b"2.0\n");
    ar_member(&mut no_data, "control.tar.gz", &control);
    let mut huge_size = b"!<arch>\n".to_vec();
    ar_member(&mut huge_size, "debian-binary", b"2.0\n");
    ar_header(&mut huge_size, "control.tar.gz", 9_999_999_999);
    huge_size.extend_from_slice(&control);
    let mut bad_header = deb_with_members(b"2.0\n", &control, &data);
    bad_header[8 + 58] = b'X';
    let mut symlinked_control = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    symlinked_control
        .append_link(&mut h, "./control", "/etc/passwd")
        .unwrap();
    let symlinked_control = symlinked_control.into_inner().unwrap();
    let mut sym = b"!<arch>\n".to_vec();
    ar_member(&mut sym, "debian-binary", b"2.0\n");
    ar_member(&mut sym, "control.tar", &symlinked_control);
    ar_member(&mut sym, "data.tar.gz", &data);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "no ar archive header"),
        ("not ar", b"PK\x03\x04zip".to_vec(), "no ar archive header"),
        ("control first", wrong_first, "not debian-binary"),
        ("no data member", no_data, "no data.tar member"),
        ("a member larger than the file", huge_size, "truncated"),
        ("a corrupt header", bad_header, "corrupt ar member header"),
        (
            "format 3.0",
            deb_with_members(b"3.0\n", &control, &data),
            "dpkg reads format 2.x",
        ),
        (
            "a long debian-binary",
            deb_with_members(&[b'2'; 1000], &control, &data),
            "debian-binary is 1000 bytes",
        ),
        (
            "no control file",
            deb_with_members(b"2.0\n", &tar_gz(&[("./md5sums", b"")]), &data),
            "no control file",
        ),
        ("a symlinked control", sym, "not a regular file"),
        (
            "a truncated file",
            deb_with_control(GOOD.as_bytes())[..200].to_vec(),
            "",
        ),
    ];
    for (what, bytes, word) in cases {
        let deb = fx.write("case.deb", &bytes);
        fx.refuses(what, &[], &[&deb], &[word]);
    }
}

// ---- class 5: bounded reads ----

/// Peak RSS (KiB) of `cmd` and its output, measured by the kernel (python's
/// getrusage of the finished child).
fn peak_rss_kib(cmd: &mut Command) -> (u64, Output) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import resource,subprocess,sys\n\
             p=subprocess.run(sys.argv[1:],capture_output=True,timeout=120)\n\
             sys.stderr.buffer.write(p.stderr)\n\
             print(p.returncode)\n\
             print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
        ])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .output()
        .expect("python3 is needed by this test");
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let code: i32 = lines.next().unwrap().parse().unwrap();
    let rss: u64 = lines.next().unwrap().parse().unwrap();
    use std::os::unix::process::ExitStatusExt;
    (
        rss,
        Output {
            status: std::process::ExitStatus::from_raw(if code >= 0 { code << 8 } else { -code }),
            stdout: Vec::new(),
            stderr: out.stderr,
        },
    )
}

/// A gzip stream of a tar holding `name` declared `size` bytes (zeros), made by gzip
/// itself (0.5 MB for 512 MiB), followed, when given, by a real control file.
fn gz_tar_of_zeros(name: &str, size: u64, then_control: bool) -> Vec<u8> {
    let mut gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = gzip.stdin.take().unwrap();
    let name = name.to_string();
    let writer = std::thread::spawn(move || {
        let mut h = tar::Header::new_gnu();
        h.set_path(&name).unwrap();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        stdin.write_all(h.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        let mut left = size.div_ceil(512) * 512;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            stdin.write_all(&zeros[..n]).unwrap();
            left -= n as u64;
        }
        if then_control {
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_size(GOOD.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, "./control", GOOD.as_bytes()).unwrap();
            stdin.write_all(&b.into_inner().unwrap()).unwrap();
        } else {
            stdin.write_all(&[0u8; 1024]).unwrap();
        }
    });
    let out = gzip.wait_with_output().unwrap();
    writer.join().unwrap();
    out.stdout
}

#[test]
fn class5_a_huge_control_in_a_small_deb_is_refused_within_bounded_memory() {
    let fx = Fx::new();
    let data = tar_gz(&[("./x", b"x")]);
    for (what, control_tar, word) in [
        (
            "a 512 MiB control",
            gz_tar_of_zeros("./control", 512 << 20, false),
            "control is larger than 1 MiB",
        ),
        (
            "a 64 MiB md5sums before control",
            gz_tar_of_zeros("./md5sums", 64 << 20, true),
            "no control file in its first 16 MiB",
        ),
    ] {
        assert!(control_tar.len() < 1 << 20, "{what}: {}", control_tar.len());
        let deb = fx.write("big.deb", &deb_with_members(b"2.0\n", &control_tar, &data));
        let before = fx.snapshot();
        let start = Instant::now();
        let mut cmd = Command::new(bin());
        cmd.env("SOURCE_DATE_EPOCH", EPOCH.to_string())
            .env("TMPDIR", fx.tmp())
            .args(["repo", "add", "--suite", "stable", "--repo"])
            .arg(&fx.repo)
            .arg("--key")
            .arg(&fx.key)
            .arg(&deb);
        let (rss, out) = peak_rss_kib(&mut cmd);
        refused(&out, &[word]);
        assert!(rss < 64 * 1024, "{what}: peak RSS {rss} KiB");
        assert!(start.elapsed() < Duration::from_secs(30), "{what}");
        assert_eq!(before, fx.snapshot(), "{what}");
    }
}

#[test]
fn class5_huge_existing_indexes_are_refused_before_they_are_read() {
    for (file, word) in [
        ("dists/stable/main/binary-amd64/Packages", "256 MiB"),
        ("dists/stable/Release", "16 MiB"),
    ] {
        let fx = Fx::new();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(fx.repo.join(file))
            .unwrap();
        f.set_len(1 << 30).unwrap(); // sparse: 1 GiB that takes no disk
        let before = fx.snapshot();
        let mut cmd = Command::new(bin());
        cmd.env("SOURCE_DATE_EPOCH", EPOCH.to_string())
            .env("TMPDIR", fx.tmp())
            .args(["repo", "add", "--suite", "stable", "--repo"])
            .arg(&fx.repo)
            .arg("--key")
            .arg(&fx.key);
        let (rss, out) = peak_rss_kib(&mut cmd);
        refused(&out, &[file.rsplit('/').next().unwrap(), word]);
        assert!(rss < 64 * 1024, "{file}: peak RSS {rss} KiB");
        assert_eq!(before, fx.snapshot(), "{file}");
    }
}

// ---- class 8: FIFOs never block ----

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn class8_fifos_are_refused_without_blocking() {
    let fx = Fx::new();
    let fifo = fx.dir.path().join("upload.deb");
    mkfifo(&fifo);
    fx.refuses("a FIFO .deb", &[], &[&fifo], &["is a FIFO"]);
    let key_fifo = fx.dir.path().join("key.fifo");
    mkfifo(&key_fifo);
    let before = fx.snapshot();
    let out = add_in(&fx.tmp(), &fx.repo, &key_fifo, &[], &[]);
    refused(&out, &["is a FIFO"]);
    assert_eq!(before, fx.snapshot());
    let pass_fifo = fx.dir.path().join("pass.fifo");
    mkfifo(&pass_fifo);
    fx.refuses(
        "a FIFO passphrase file",
        &["--passphrase-file", pass_fifo.to_str().unwrap()],
        &[],
        &["is a FIFO"],
    );
    for file in [
        "dists/stable/Release",
        "dists/stable/main/binary-amd64/Packages",
    ] {
        let fx = Fx::new();
        mkfifo(&fx.repo.join(file));
        fx.refuses(file, &[], &[], &["FIFO"]);
    }
}

// ---- class 8: the private GnuPG home on every exit path ----

/// A `gpg` first in PATH that, when asked to sign, says so in `marker` and waits
/// (long enough for the test to signal unitpack), then runs the real gpg.
fn slow_gpg(dir: &Path, marker: &Path) -> PathBuf {
    let bin = dir.join("slow-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = common::stdout("sh", &["-c", "command -v gpg"]);
    let script = format!(
        "#!/bin/sh\ncase \" $* \" in *\" --clearsign \"*) : > '{}'; sleep 30 ;; esac\nexec {} \"$@\"\n",
        marker.display(),
        real.trim()
    );
    let wrapper = bin.join("gpg");
    std::fs::write(&wrapper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// GnuPG homes unitpack left in `tmp`.
fn homes(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("unitpack-gnupg-")
        })
        .collect()
}

/// gpg-agents whose command line names a directory under `tmp`.
fn agents_under(tmp: &Path) -> Vec<String> {
    let needle = tmp.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = text(&cmd).replace('\0', " ");
            if cmd.contains("gpg-agent") && cmd.contains(&needle) {
                out.push(cmd);
            }
        }
    }
    out
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "never signed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_slow_add(fx: &Fx, marker: &Path, deb: &Path) -> std::process::Child {
    let bin_dir = slow_gpg(fx.dir.path(), marker);
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    Command::new(bin())
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .env("TMPDIR", fx.tmp())
        .env_remove("XDG_RUNTIME_DIR")
        .env("PATH", path)
        .args(["repo", "add", "--suite", "stable", "--repo"])
        .arg(&fx.repo)
        .arg("--key")
        .arg(&fx.key)
        .arg(deb)
        // Its own process group: the signal goes to unitpack alone, as from `kill PID`.
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

use std::os::unix::process::CommandExt;

/// SIGKILL to the process group that `spawn_slow_add` started.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}

/// Wait (bounded) until no agent of `tmp` runs: gpgconf --kill returns before the
/// agent has exited.
fn no_agent_left(tmp: &Path) -> Vec<String> {
    let start = Instant::now();
    loop {
        let left = agents_under(tmp);
        if left.is_empty() || start.elapsed() > Duration::from_secs(10) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn class8_sigint_and_sigterm_remove_the_gnupg_home_and_its_agent() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let fx = Fx::new();
        let deb = fx.write(
            "v2.deb",
            &deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes()),
        );
        let before = fx.snapshot();
        let marker = fx.dir.path().join("signing");
        let child = spawn_slow_add(&fx, &marker, &deb);
        let pid = child.id();
        wait_for(&marker);
        // The key is imported and an agent runs for it while gpg signs.
        assert_eq!(homes(&fx.tmp()).len(), 1, "{signal}: no home while signing");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = finish_within(child, Duration::from_secs(20));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{signal}: {}",
            text(&out.stderr)
        );
        assert_eq!(homes(&fx.tmp()), Vec::<PathBuf>::new(), "{signal}");
        assert_eq!(no_agent_left(&fx.tmp()), Vec::<String>::new(), "{signal}");
        // No staged file, no new directory: the repository is as it was.
        assert_eq!(before[0], fx.snapshot()[0], "{signal}");
        // The wrapper still sleeps in unitpack's process group; it is ours to end.
        kill_group(pid);
    }
}

#[test]
fn class8_a_home_left_by_sigkill_is_removed_by_the_next_run() {
    let fx = Fx::new();
    let deb = fx.write(
        "v2.deb",
        &deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes()),
    );
    let marker = fx.dir.path().join("signing");
    let mut child = spawn_slow_add(&fx, &marker, &deb);
    wait_for(&marker);
    // SIGKILL to unitpack and the gpg it runs: nothing of theirs can run.
    kill_group(child.id());
    child.wait().unwrap();
    let left = homes(&fx.tmp());
    assert_eq!(left.len(), 1, "the killed run's home");
    assert!(left[0].join("private-keys-v1.d").is_dir());
    // The next run, whatever it does, removes the dead run's home and its agent.
    let out = fx.add(&[], &[&deb]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(homes(&fx.tmp()), Vec::<PathBuf>::new());
    assert_eq!(no_agent_left(&fx.tmp()), Vec::<String>::new());
}

#[test]
fn class8_every_normal_exit_removes_the_gnupg_home() {
    let fx = Fx::new();
    assert_eq!(homes(&fx.tmp()), Vec::<PathBuf>::new(), "after success");
    let bad = fx.write("bad.deb", b"not a deb");
    refused(&fx.add(&[], &[&bad]), &["no ar archive header"]);
    assert_eq!(homes(&fx.tmp()), Vec::<PathBuf>::new(), "after bad input");
    assert_eq!(no_agent_left(&fx.tmp()), Vec::<String>::new());
}

// ---- class 9: nothing inside the repository is followed; what is read back is valid ----

#[test]
fn class9_symlinks_inside_the_repository_are_refused() {
    let deb_bytes = deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes());
    for link in [
        "pool",
        "dists",
        "dists/stable",
        "dists/stable/main",
        "dists/stable/main/binary-amd64",
        "dists/stable/main/binary-amd64/Packages",
        "dists/stable/Release",
        "dists/stable/InRelease",
        "pool/main",
        "pool/main/h/hostile-test",
    ] {
        let fx = Fx::new();
        let deb = fx.write("v2.deb", &deb_bytes);
        let target = fx.repo.join(link);
        // The outside copy is what a followed link would write into.
        let outside = fx.canary.join("moved");
        std::fs::rename(&target, &outside).unwrap();
        std::os::unix::fs::symlink(&outside, &target).unwrap();
        fx.refuses(link, &[], &[&deb], &["is a symlink"]);
    }
}

#[test]
fn class9_paths_read_back_from_the_repository_are_validated() {
    let release = "dists/stable/Release";
    let packages = "dists/stable/main/binary-amd64/Packages";
    let edit = |fx: &Fx, file: &str, from: &str, to: &str| {
        let p = fx.repo.join(file);
        let old = std::fs::read_to_string(&p).unwrap();
        assert!(old.contains(from), "{file} has no {from:?}");
        std::fs::write(&p, old.replacen(from, to, 1)).unwrap();
    };
    let cases: Vec<(&str, &str, &str, Vec<&str>)> = vec![
        (
            release,
            "Components: main",
            "Components: main ../../../canary/x",
            vec!["Components", "not a component name"],
        ),
        (
            release,
            "Components: main",
            "Components: main /tmp/x",
            vec!["Components"],
        ),
        (
            release,
            "Architectures: all amd64",
            "Architectures: all amd64 ../../x",
            vec!["Architectures"],
        ),
        (
            release,
            "Suite: stable",
            "Suite: stable\nSuite: other",
            vec!["Suite", "twice"],
        ),
        (
            release,
            "Suite: stable",
            "Suite: stable\nLabel: x\n Origin: injected",
            vec!["Label", "spans lines"],
        ),
        (release, "Suite: stable", "Suite: stable\r", vec!["U+000D"]),
        (
            packages,
            "Filename: pool/",
            "Filename: pool/../../canary/",
            vec!["Filename", "not a pool path"],
        ),
        (
            packages,
            "Filename: pool/",
            "Filename: /etc/",
            vec!["Filename"],
        ),
        (packages, "Size: ", "Size: -", vec!["Size"]),
        (packages, "SHA256: ", "SHA256: zz", vec!["SHA256"]),
        (
            packages,
            "Package: hostile-test",
            "Package: ../x",
            vec!["Package"],
        ),
        (
            packages,
            "Package: hostile-test",
            "Package: hostile-test\nPackage: shadow",
            vec!["Package", "twice"],
        ),
        (packages, "Description:", "Description:\r", vec!["U+000D"]),
    ];
    for (file, from, to, words) in cases {
        let fx = Fx::new();
        edit(&fx, file, from, to);
        let deb = fx.write(
            "v2.deb",
            &deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes()),
        );
        fx.refuses(&format!("{file}: {to:?}"), &[], &[&deb], &words);
    }
    // A stanza whose pool file is gone is not signed again (every client would 404).
    let fx = Fx::new();
    std::fs::remove_file(
        fx.repo
            .join("pool/main/h/hostile-test/hostile-test_1.0-1_amd64.deb"),
    )
    .unwrap();
    fx.refuses(
        "a missing pool file",
        &[],
        &[],
        &["Filename", "not in the pool"],
    );
    // A component directory with an architecture that is not one.
    let fx = Fx::new();
    std::fs::create_dir(fx.repo.join("dists/stable/main/binary-AMD")).unwrap();
    fx.refuses("binary-AMD", &[], &[], &["binary-AMD", "Architecture"]);
}

/// The indexes are read back as one stream merged in order (a suite of 100,000 is never
/// held whole), so an index out of order, a package listed twice, bytes that are not
/// text, or an arch-all package listed differently by two architectures are refused,
/// naming the index and the line, with nothing written.
#[test]
fn class9_indexes_out_of_order_or_inconsistent_are_refused() {
    let packages = "dists/stable/main/binary-amd64/Packages";
    let two = |fx: &Fx| {
        let v2 = fx.write(
            "v2.deb",
            &deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes()),
        );
        let out = fx.add(&[], &[&v2]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let p = fx.repo.join(packages);
        let stanzas: Vec<String> = std::fs::read_to_string(&p)
            .unwrap()
            .split("\n\n")
            .map(|s| s.trim_end_matches('\n').to_string())
            .collect();
        assert_eq!(stanzas.len(), 2, "{stanzas:?}");
        (p, stanzas)
    };
    let v3 = |fx: &Fx| {
        fx.write(
            "v3.deb",
            &deb_with_control(GOOD.replace("1.0-1", "3.0-1").as_bytes()),
        )
    };

    let fx = Fx::new();
    let (p, s) = two(&fx);
    std::fs::write(&p, format!("{}\n\n{}\n", s[1], s[0])).unwrap();
    let deb = v3(&fx);
    let line = s[1].lines().count() + 2;
    fx.refuses(
        "swapped",
        &[],
        &[&deb],
        &[
            &format!("{packages}:{line}:1:"),
            "after hostile-test 2.0-1",
            "sorted",
        ],
    );

    let fx = Fx::new();
    let (p, s) = two(&fx);
    std::fs::write(&p, format!("{}\n\n{}\n\n{}\n", s[0], s[0], s[1])).unwrap();
    let deb = v3(&fx);
    let line = s[0].lines().count() + 2;
    fx.refuses(
        "listed twice",
        &[],
        &[&deb],
        &[
            &format!("{packages}:{line}:1:"),
            "hostile-test 1.0-1 (amd64) after hostile-test 1.0-1",
        ],
    );

    let fx = Fx::new();
    let (p, s) = two(&fx);
    let mut bytes = format!("{}\n\n{}\n", s[0], s[1]).into_bytes();
    let at = bytes.len() - 3;
    bytes[at] = 0xff;
    std::fs::write(&p, bytes).unwrap();
    let deb = v3(&fx);
    let line = s[0].lines().count() + 1 + s[1].lines().count();
    fx.refuses(
        "not UTF-8",
        &[],
        &[&deb],
        &[&format!("{packages}:{line}:1:"), "UTF-8"],
    );

    // An arch-all package is listed by binary-amd64 and binary-armhf; one of them
    // changed to another (well-formed) hash.
    let fx = Fx::new();
    fx.add_arch_all_for_armhf();
    let armhf = "dists/stable/main/binary-armhf/Packages";
    let p = fx.repo.join(armhf);
    let old = std::fs::read_to_string(&p).unwrap();
    let hash = old
        .lines()
        .find_map(|l| l.strip_prefix("SHA256: "))
        .unwrap()
        .to_string();
    let other: String = hash.chars().rev().collect();
    std::fs::write(&p, old.replace(&hash, &other)).unwrap();
    let deb = v3(&fx);
    fx.refuses(
        "siblings differ",
        &[],
        &[&deb],
        &[
            "binary-",
            "hostile-all 1.0-1 (all) with another SHA256",
            "inconsistent",
        ],
    );
}

/// `repo list`'s lines for suite stable.
fn listed(fx: &Fx) -> String {
    let out = Command::new(bin())
        .args(["repo", "list", "--suite", "stable", "--repo"])
        .arg(&fx.repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// A suite whose `Release` was deleted is still what its `InRelease` signs: the next
/// add keeps every package (taking it for a new suite signed a state without them),
/// and an `InRelease` that is not a signed message then leaves nothing to read: refused.
#[test]
fn class9_a_suite_without_release_is_read_from_inrelease() {
    let fx = Fx::new();
    std::fs::remove_file(fx.repo.join("dists/stable/Release")).unwrap();
    let v2 = fx.write(
        "v2.deb",
        &deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes()),
    );
    let out = fx.add(&[], &[&v2]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = listed(&fx);
    assert!(
        after.contains("hostile-test 1.0-1") && after.contains("hostile-test 2.0-1"),
        "{after}"
    );

    let fx = Fx::new();
    std::fs::remove_file(fx.repo.join("dists/stable/Release")).unwrap();
    std::fs::write(fx.repo.join("dists/stable/InRelease"), "Suite: stable\n").unwrap();
    fx.refuses(
        "InRelease unsigned, Release gone",
        &[],
        &[&v2],
        &[
            "InRelease",
            "not a clear-signed message",
            "Release beside it is missing",
        ],
    );
}

/// The signed files of suite stable, to put back as a run killed before signing
/// leaves them.
fn signed_state(fx: &Fx) -> Vec<(PathBuf, Vec<u8>)> {
    ["InRelease", "Release.gpg", "Release"]
        .iter()
        .map(|n| {
            let p = fx.repo.join("dists/stable").join(n);
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn class9_the_committed_copy_of_an_index_must_have_its_hash() {
    // A run killed after renaming the indexes, before signing: the signed Release
    // lists the hash of the index before, which is read from by-hash/. That copy
    // damaged or replaced (here: a stanza dropped) would republish and sign another
    // package set than the one signed.
    let fx = Fx::new();
    let signed = signed_state(&fx);
    let v2 = fx.write(
        "v2.deb",
        &deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes()),
    );
    let out = fx.add(&[], &[&v2]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let release = String::from_utf8(signed[2].1.clone()).unwrap();
    let hash = release
        .lines()
        .filter(|l| l.ends_with(" main/binary-amd64/Packages"))
        .filter_map(|l| l.split_whitespace().next())
        .find(|h| h.len() == 64)
        .unwrap()
        .to_string();
    for (p, bytes) in &signed {
        std::fs::write(p, bytes).unwrap();
    }
    let kept = fx
        .repo
        .join("dists/stable/main/binary-amd64/by-hash/SHA256")
        .join(&hash);
    let committed = std::fs::read_to_string(&kept).unwrap();
    assert!(committed.contains("Version: 1.0-1"), "{committed}");
    assert!(listed(&fx).contains("hostile-test 1.0-1"));
    std::fs::write(&kept, "").unwrap();
    let v3 = fx.write(
        "v3.deb",
        &deb_with_control(GOOD.replace("1.0-1", "3.0-1").as_bytes()),
    );
    fx.refuses(
        "by-hash copy emptied",
        &[],
        &[&v3],
        &[
            &format!("by-hash/SHA256/{hash}"),
            &format!("not the {hash} the signed Release lists"),
        ],
    );
}

#[test]
fn class9_an_index_the_signed_release_does_not_list_is_not_read() {
    // A run adding an arch-all package for a new architecture, killed before signing:
    // binary-armhf/Packages exists, listing the package, but no client was ever told
    // of it. The next writer starts from the signed state: without the package (its
    // run never committed), not with it half-published (in binary-amd64 and
    // binary-all, armhf gone from the Release).
    let fx = Fx::new();
    let before = listed(&fx);
    let signed = signed_state(&fx);
    fx.add_arch_all_for_armhf();
    for (p, bytes) in &signed {
        std::fs::write(p, bytes).unwrap();
    }
    let armhf = fx.repo.join("dists/stable/main/binary-armhf/Packages");
    assert!(std::fs::read_to_string(&armhf)
        .unwrap()
        .contains("hostile-all"));
    assert_eq!(listed(&fx), before);
    let v2 = fx.write(
        "v2.deb",
        &deb_with_control(GOOD.replace("1.0-1", "2.0-1").as_bytes()),
    );
    let out = fx.add(&[], &[&v2]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let now = listed(&fx);
    assert!(!now.contains("hostile-all"), "{now}");
    assert!(now.contains("hostile-test 2.0-1"), "{now}");
    let release = std::fs::read_to_string(fx.repo.join("dists/stable/Release")).unwrap();
    for index in ["binary-all", "binary-amd64"] {
        let p = fx.repo.join(format!("dists/stable/main/{index}/Packages"));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("hostile-all"), "{index}:\n{text}");
    }
    assert!(release.contains("Architectures: all amd64\n"), "{release}");
}

// ---- class 11: user values cannot add fields to the signed Release ----

#[test]
fn class11_label_and_origin_cannot_inject_fields() {
    let fx = Fx::new();
    for (flag, value, words) in [
        (
            "--label",
            "x\nSuite: evil",
            vec!["--label", "Label", "spans lines"],
        ),
        (
            "--origin",
            "x\n Valid-Until: never",
            vec!["--origin", "Origin", "spans lines"],
        ),
        ("--origin", "x\rSuite: evil", vec!["Origin", "U+000D"]),
        ("--label", "x\u{2028}Suite: evil", vec!["Label", "U+2028"]),
        ("--label", " x", vec!["Label", "white space"]),
        ("--label", "", vec!["Label", "empty"]),
    ] {
        fx.refuses(&format!("{flag} {value:?}"), &[flag, value], &[], &words);
    }
    // What the writer accepts reads back as one field each.
    let out = fx.add(
        &["--label", "Boards: team/a", "--origin", "ACME, Inc."],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let release = std::fs::read_to_string(fx.repo.join("dists/stable/Release")).unwrap();
    assert!(release.contains("\nLabel: Boards: team/a\n"), "{release}");
    assert!(release.starts_with("Origin: ACME, Inc.\n"), "{release}");
}

// ---- issue 26: keys and time ----

/// A key the suite does not remember (unitpack-repo.conf Signed-By) is refused unless
/// `--new-key` says it is meant; signing with the old and the new key (rotation) does
/// not warn, since clients of either key verify; switching at once warns of NO_PUBKEY.
#[test]
fn a_different_signing_key_and_a_readable_key_file_are_warned_of() {
    let fx = Fx::new();
    let other_dir = fx.dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = make_key(&other_dir);
    let (key, other_s) = (fx.key.to_str().unwrap(), other.to_str().unwrap());
    let run = |key: &Path, extra: &[&str]| {
        let out = add_in(&fx.tmp(), &fx.repo, key, extra, &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    assert!(
        !run(&fx.key, &[]).contains("NO_PUBKEY"),
        "same key: no warning"
    );
    let before = tree(&fx.repo);
    let err = refused(
        &add_in(&fx.tmp(), &fx.repo, &other, &[], &[]),
        &["unitpack-repo.conf: Signed-By", "--new-key"],
    );
    assert!(err.contains("not among the keys"), "{err}");
    assert_eq!(tree(&fx.repo), before, "a refused key wrote something");
    refused(
        &add_in(&fx.tmp(), &fx.repo, &fx.key, &["--key", key], &[]),
        &["the same key given twice"],
    );
    // Rotation, step 1: both keys; the new one confirmed once.
    let err = run(&fx.key, &["--key", other_s, "--new-key"]);
    assert!(!err.contains("NO_PUBKEY"), "rotation warned: {err}");
    assert!(
        err.contains("Signed-By") && err.contains("remembered"),
        "{err}"
    );
    // Step 2: the new key alone (the state before carries its signature): no warning.
    let err = run(&other, &[]);
    assert!(!err.contains("NO_PUBKEY"), "{err}");
    // The old key is no longer the suite's.
    refused(
        &add_in(&fx.tmp(), &fx.repo, &fx.key, &[], &[]),
        &["--new-key"],
    );
    // A switch with no overlap, confirmed: clients of the old key fail, said so.
    let err = run(&fx.key, &["--new-key"]);
    assert!(
        err.contains("Release.gpg: key: the suite was signed by key") && err.contains("NO_PUBKEY"),
        "{err}"
    );
    assert!(
        !run(&fx.key, &[]).contains("NO_PUBKEY"),
        "{key}: now the suite's"
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = run(&fx.key, &["--key", other_s, "--new-key"]);
    assert!(
        err.contains("mode 0644") && err.contains("chmod 600"),
        "{err}"
    );
}

/// `unitpack-repo.conf` is repository input: a bad line is exit 2 naming the file, line
/// and field; a symlink or a FIFO in its place is refused, never followed or read;
/// nothing is written. A value given on the command line cannot inject a field.
#[test]
fn the_settings_file_is_validated_and_never_followed() {
    let fx = Fx::new();
    let conf = fx.repo.join("unitpack-repo.conf");
    let good = std::fs::read_to_string(&conf).unwrap();
    assert!(good.starts_with("Suite: stable\nSigned-By: "), "{good}");
    for (bad, words) in [
        (
            format!("{good}Valid-For: 7d\n"),
            &["unitpack-repo.conf:3:1: Valid-For", "number of seconds"][..],
        ),
        (
            format!("{good}\nSuite: testing\nColour: red\n"),
            &["unitpack-repo.conf:5:1: Colour", "not a setting"],
        ),
        (
            format!("{good}\nSuite: stable\n"),
            &["unitpack-repo.conf:4:1: Suite", "two paragraphs"],
        ),
        (
            good.replace("Signed-By: ", "Signed-By: ../../x "),
            &["Signed-By", "not a key fingerprint"],
        ),
        (format!("{good}Origin: a\rb\n"), &["control character"]),
    ] {
        std::fs::write(&conf, &bad).unwrap();
        fx.refuses(&bad, &[], &[], words);
    }
    std::fs::write(&conf, &good).unwrap();
    let outside = fx.canary.join("conf");
    std::fs::write(&outside, &good).unwrap();
    std::fs::remove_file(&conf).unwrap();
    std::os::unix::fs::symlink(&outside, &conf).unwrap();
    fx.refuses("symlink", &["--label", "L"], &[], &["is a symlink"]);
    std::fs::remove_file(&conf).unwrap();
    mkfifo(&conf);
    fx.refuses("fifo", &[], &[], &["unitpack-repo.conf"]);
    std::fs::remove_file(&conf).unwrap();
    fx.refuses(
        "an injected label",
        &["--label", "x\nSigned-By: 00"],
        &[],
        &["Label"],
    );
    // Gone: the next run writes it again from the signed state and this run's key.
    let out = fx.add(&["--label", "Boards"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let now = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(now, good.replace("Signed-By", "Label: Boards\nSigned-By"));
}

// ---- issue 26: two writers at once ----

#[test]
fn concurrent_writers_serialize_and_lose_no_package() {
    let fx = Fx::new();
    // CI: 8 rounds; by hand, e.g. UNITPACK_CONCURRENT_ROUNDS=50.
    let rounds: u32 = std::env::var("UNITPACK_CONCURRENT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let spawn = |deb: &Path| {
        Command::new(bin())
            .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
            .env("TMPDIR", fx.tmp())
            .env_remove("XDG_RUNTIME_DIR")
            .args(["repo", "add", "--suite", "stable", "--repo"])
            .arg(&fx.repo)
            .arg("--key")
            .arg(&fx.key)
            .arg(deb)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 0..rounds {
        let a = fx.write(
            &format!("a{round}.deb"),
            &deb_with_control(GOOD.replace("1.0-1", &format!("2.{round}-1")).as_bytes()),
        );
        let b = fx.write(
            &format!("b{round}.deb"),
            &deb_with_control(
                GOOD.replace("hostile-test", "other-test")
                    .replace("1.0-1", &format!("3.{round}-1"))
                    .as_bytes(),
            ),
        );
        let (ca, cb) = (spawn(&a), spawn(&b));
        for out in [
            finish_within(ca, Duration::from_secs(60)),
            finish_within(cb, Duration::from_secs(60)),
        ] {
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
    }
    let packages =
        std::fs::read_to_string(fx.repo.join("dists/stable/main/binary-amd64/Packages")).unwrap();
    eprintln!("{rounds} rounds of two writers: no package lost");
    for round in 0..rounds {
        for (name, v) in [("hostile-test", 2), ("other-test", 3)] {
            let version = format!("Package: {name}\nVersion: {v}.{round}-1\n");
            assert!(packages.contains(&version), "lost {version}:\n{packages}");
        }
    }
}

#[test]
fn an_empty_field_as_cargo_deb_writes_it_is_published() {
    // cargo-deb writes `Depends:` with no value (the project's own helper package has
    // it); apt reads it, so it is not refused.
    let fx = Fx::new();
    let deb = fx.write(
        "empty.deb",
        &deb_with_control(
            GOOD.replace("1.0-1", "4.0-1")
                .replace("Maintainer:", "Depends:\nMaintainer:")
                .as_bytes(),
        ),
    );
    let out = fx.add(&[], &[&deb]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let packages =
        std::fs::read_to_string(fx.repo.join("dists/stable/main/binary-amd64/Packages")).unwrap();
    assert!(
        packages.contains("Architecture: amd64\nDepends:\nMaintainer:"),
        "{packages}"
    );
}
