//! The `package` target: `unitpack new NAME --from PACKAGE.deb` (and `--from DIR`, a
//! tree unpacked by `dpkg-deb -R`) fed mutated Debian packages (`unitpack-fuzz package
//! …`, same options).
//!
//! Each case builds a package tree: 1–4 units of a set (a system service, a user
//! service, a timer and its service, a socket and its template, a static unit, an
//! alias link, an enable link under `etc/systemd/system/*.wants/`) and a postinst in
//! debhelper's shape naming them. Then 1–4 mutations: hostile unit file names
//! (newline, `;`, `$(…)`, 300 characters, bidi, `..`), hostile postinst lines (command
//! substitution in a unit name, unbalanced quotes, a 70,000-character line, `--user`
//! with odd names), unit text with NUL/CR/continuations/huge lines, symlinks to a
//! canary file outside the tree (absolute and relative), a FIFO in the tree, a
//! directory where a unit should be, a 256 MiB unit file of zeros (compressed to a few
//! MiB: a decompression bomb), hostile control fields. The tree is built with
//! `dpkg-deb --build` (or given as a directory), and then, for the .deb, its bytes may
//! be mutated as the repo target's are (flips, truncation, ar sizes), or it is a FIFO,
//! a symlink to the canary or a directory.
//!
//! Invariants, each a findings directory `package-NAME`: `exit-code`/`signal`/
//! `timeout`/`memory` (exit 0, 1 or 2 only, in time, under the RSS bound),
//! `half-written` (exit 2 leaves the output directory empty), `output-files` (0 or 1
//! wrote exactly the recipe), `recipe-unloadable` (`unitpack lint` of what `new` wrote
//! exits 0 or 1), `host-file-leaked` (the canary's marker never reaches the recipe),
//! `outside-write` (the canary and the input unchanged).

use crate::repo_target::{hostile_value, mkfifo, mutate_bytes, snapshot};
use crate::rng::Rng;
use crate::run;
use crate::Opts;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const MARKER: &str = "CANARY-7d1f0c-DO-NOT-READ";

const CONTROL: &str = "Package: fuzz-units\nVersion: 1.0-1\nArchitecture: all\n\
                       Maintainer: F <f@example.org>\nDescription: fuzz seed with units\n \
                       Units for unitpack new --from.\n";

pub fn main(o: Opts) -> ExitCode {
    let base = std::env::temp_dir().join(format!("unitpack-fuzz-package-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base).expect("scratch dir");
    let mut t = Target {
        rng: Rng::new(o.seed),
        o,
        base,
        execs: 0,
        accepted: 0,
        peak_rss_kib: 0,
        findings: BTreeMap::new(),
    };
    t.run();
    let _ = fs::remove_dir_all(&t.base);
    t.report()
}

struct Target {
    o: Opts,
    base: PathBuf,
    rng: Rng,
    execs: u64,
    accepted: u64,
    peak_rss_kib: u64,
    findings: BTreeMap<&'static str, (u64, u64)>,
}

/// One file of the package tree, relative to its root.
#[derive(Clone, Debug)]
enum Entry {
    File(String, Vec<u8>),
    Link(String, String),
    Fifo(String),
    Dir(String),
    /// A file of this many zero bytes (sparse on disk, compressed by dpkg-deb).
    Zeros(String, u64),
}

#[derive(Clone, Debug)]
struct Case {
    entries: Vec<Entry>,
    control: String,
    postinst: String,
    /// Give `new` the unpacked tree instead of the .deb.
    as_dir: bool,
    /// Byte mutations of the built .deb.
    byte_mutations: u32,
    /// `None`: the .deb is a regular file; else a special form of it.
    deb_form: Option<&'static str>,
    target: Option<&'static str>,
    history: Vec<String>,
}

const SYSTEM: &str = "lib/systemd/system";
const USER: &str = "usr/lib/systemd/user";

impl Target {
    fn run(&mut self) {
        let start = Instant::now();
        let budget = Duration::from_secs(self.o.seconds);
        eprintln!(
            "unitpack-fuzz package: seed {}, {} s, unitpack {}",
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
            "unitpack-fuzz package: ran {:.0} s",
            start.elapsed().as_secs_f64()
        );
    }

    fn make_case(&mut self) -> Case {
        let r = &mut self.rng;
        let mut entries = Vec::new();
        let mut enabled = Vec::new();
        for _ in 0..1 + r.below(4) {
            let n = r.below(1000);
            match r.below(7) {
                0 => {
                    let name = format!("sys{n}.service");
                    entries.push(unit(SYSTEM, &name, "[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n"));
                    enabled.push((false, name));
                }
                1 => {
                    let name = format!("usr{n}.service");
                    entries.push(unit(
                        USER,
                        &name,
                        "[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=default.target\n",
                    ));
                    enabled.push((true, name));
                }
                2 => {
                    entries.push(unit(
                        SYSTEM,
                        &format!("tick{n}.service"),
                        "[Service]\nType=oneshot\nExecStart=/usr/bin/true\n",
                    ));
                    entries.push(unit(
                        SYSTEM,
                        &format!("tick{n}.timer"),
                        "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n",
                    ));
                    enabled.push((false, format!("tick{n}.timer")));
                }
                3 => {
                    entries.push(unit(SYSTEM, &format!("sock{n}.socket"), "[Socket]\nListenStream=/run/sock{n}\nAccept=yes\n[Install]\nWantedBy=sockets.target\n"));
                    entries.push(unit(
                        SYSTEM,
                        &format!("sock{n}@.service"),
                        "[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\n",
                    ));
                    enabled.push((false, format!("sock{n}.socket")));
                }
                4 => entries.push(unit(
                    SYSTEM,
                    &format!("static{n}.service"),
                    "[Service]\nExecStart=/usr/bin/true\n",
                )),
                5 => {
                    entries.push(unit(
                        SYSTEM,
                        &format!("real{n}.service"),
                        &format!("[Service]\nExecStart=/usr/bin/true\n[Install]\nAlias=alias{n}.service\n"),
                    ));
                    entries.push(Entry::Link(
                        format!("{SYSTEM}/alias{n}.service"),
                        format!("real{n}.service"),
                    ));
                }
                _ => {
                    entries.push(unit(
                        SYSTEM,
                        &format!("linked{n}.service"),
                        "[Service]\nExecStart=/usr/bin/true\n",
                    ));
                    entries.push(Entry::Link(
                        format!("etc/systemd/system/multi-user.target.wants/linked{n}.service"),
                        format!("/{SYSTEM}/linked{n}.service"),
                    ));
                }
            }
        }
        let postinst = postinst(&enabled);
        let mut c = Case {
            entries,
            control: CONTROL.to_string(),
            postinst,
            as_dir: r.chance(25),
            byte_mutations: 0,
            deb_form: None,
            target: r
                .chance(20)
                .then(|| *r.pick(&["ubuntu-xenial", "debian-bookworm", "yocto-kirkstone"])),
            history: Vec::new(),
        };
        if !self.rng.chance(15) {
            for _ in 0..1 + self.rng.below(4) {
                self.mutate(&mut c);
            }
        }
        c
    }

    fn mutate(&mut self, c: &mut Case) {
        let r = &mut self.rng;
        let dir = *r.pick(&[SYSTEM, USER, "etc/systemd/system", "usr/lib/systemd/system"]);
        match r.below(12) {
            0 => {
                let name = *r.pick(&[
                    "a\nb.service",
                    "x;touch pwn.service",
                    "$(touch pwn).service",
                    "..service",
                    ".service",
                    "\u{202e}ecivres.service",
                    "-dash.service",
                    "sp ace.service",
                    "multi@@x.service",
                    "a@.timer",
                ]);
                let name = if r.chance(10) {
                    format!("{}.service", "n".repeat(240))
                } else {
                    name.to_string()
                };
                c.history.push(format!("unit named {name:?} in {dir}"));
                c.entries.push(unit(
                    dir,
                    &name,
                    "[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n",
                ));
                if r.chance(50) {
                    c.postinst.push_str(&format!(
                        "deb-systemd-helper enable '{name}' >/dev/null || true\n"
                    ));
                }
            }
            1 => {
                let line = match r.below(6) {
                    0 => "deb-systemd-helper enable '$(touch /tmp/pwn).service' >/dev/null || true"
                        .to_string(),
                    1 => "deb-systemd-helper enable 'unbalanced.service >/dev/null || true"
                        .to_string(),
                    2 => format!("deb-systemd-helper enable '{}.service'", "l".repeat(70_000)),
                    3 => "deb-systemd-helper --user enable 'a b.service' \"c\nd.service\""
                        .to_string(),
                    4 => format!(
                        "systemctl --global enable {}",
                        hostile_value(r).replace('\0', "")
                    ),
                    _ => format!(
                        "deb-systemd-invoke start {}",
                        hostile_value(r).replace('\0', "")
                    ),
                };
                c.history.push(format!(
                    "postinst line {:?}",
                    line.chars().take(80).collect::<String>()
                ));
                c.postinst.push_str(&line);
                c.postinst.push('\n');
            }
            2 => {
                let body = match r.below(6) {
                    0 => b"[Service]\nExecStart=/bin/true\0[Install]\nWantedBy=multi-user.target\n".to_vec(),
                    1 => b"[Service]\r\nExecStart=/bin/true\\\n# c\\\n[Install]\nWantedBy=\\\n".to_vec(),
                    2 => format!("[Service]\nExecStart=/bin/{}\n", "x".repeat(100_000)).into_bytes(),
                    3 => b"[Install]\nWantedBy=default.target\nAlso=../../etc/passwd\n".to_vec(),
                    4 => "[Unit]\nDescription=\u{feff}\u{200b}bidi\u{202e}\n[Install]\nWantedBy=default.target\n".as_bytes().to_vec(),
                    _ => (0..r.below(4096)).map(|_| r.next() as u8).collect(),
                };
                c.history.push(format!(
                    "unit text {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(60)])
                ));
                c.entries.push(Entry::File(
                    format!("{dir}/odd{}.service", r.below(100)),
                    body,
                ));
            }
            3 => {
                let canary = self.base.join("case/canary/secret.service");
                let target = if r.chance(50) {
                    canary.to_string_lossy().into_owned()
                } else {
                    "../../../../../canary/secret.service".to_string()
                };
                c.history.push(format!("symlink to the canary: {target}"));
                c.entries
                    .push(Entry::Link(format!("{dir}/leak.service"), target));
                c.postinst
                    .push_str("deb-systemd-helper enable 'leak.service' >/dev/null || true\n");
            }
            4 => {
                c.history.push("a FIFO named like a unit".into());
                c.as_dir = true;
                c.entries.push(Entry::Fifo(format!("{dir}/fifo.service")));
            }
            5 => {
                c.history.push("a directory named like a unit".into());
                c.entries.push(Entry::Dir(format!("{dir}/dir.service")));
            }
            6 => {
                c.history.push("a 256 MiB unit of zeros".into());
                c.entries
                    .push(Entry::Zeros(format!("{dir}/bomb.service"), 256 << 20));
            }
            7 => {
                let field = *r.pick(&["Package", "Description", "Depends", "Version"]);
                let v = hostile_value(r).replace('\0', "");
                c.history.push(format!(
                    "control {field}: {:?}",
                    v.chars().take(60).collect::<String>()
                ));
                c.control = c
                    .control
                    .lines()
                    .filter(|l| !l.starts_with(&format!("{field}:")))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>();
                let v = if field == "Description" {
                    format!("{v}\n long {v}")
                } else {
                    v
                };
                c.control.push_str(&format!("{field}: {v}\n"));
            }
            8 => {
                c.history.push("a link loop".into());
                c.entries.push(Entry::Link(
                    format!("{dir}/loop1.service"),
                    "loop2.service".into(),
                ));
                c.entries.push(Entry::Link(
                    format!("{dir}/loop2.service"),
                    "loop1.service".into(),
                ));
            }
            9 => {
                let n = 1 + r.below(8) as u32;
                c.history.push(format!("{n} byte mutations of the .deb"));
                c.byte_mutations += n;
                c.as_dir = false;
            }
            10 => {
                let form = *r.pick(&["fifo", "symlink", "dir", "missing"]);
                c.history.push(format!("the .deb is a {form}"));
                c.deb_form = Some(form);
                c.as_dir = false;
            }
            _ => {
                let many = 200 + r.below(600);
                c.history.push(format!("{many} units"));
                for i in 0..many {
                    c.entries.push(unit(
                        SYSTEM,
                        &format!("m{i}.service"),
                        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
                    ));
                }
            }
        }
    }

    fn execute(&mut self, c: &Case) -> Vec<(&'static str, String)> {
        let dir = self.base.join("case");
        let _ = fs::remove_dir_all(&dir);
        let canary = dir.join("canary");
        fs::create_dir_all(&canary).unwrap();
        fs::write(
            canary.join("secret.service"),
            format!("[Unit]\nDescription={MARKER}\n[Service]\nExecStart=/bin/{MARKER}\n[Install]\nWantedBy=multi-user.target\n"),
        )
        .unwrap();
        let tree = dir.join("in/tree");
        if let Err(e) = write_tree(&tree, c) {
            return vec![("cannot-run", format!("writing the tree: {e}"))];
        }
        let input = if c.as_dir {
            tree.clone()
        } else {
            let deb = dir.join("in/fuzz.deb");
            let built = Command::new("dpkg-deb")
                .args([
                    "--root-owner-group",
                    "-Zgzip",
                    "-z1",
                    "--nocheck",
                    "--build",
                ])
                .arg(&tree)
                .arg(&deb)
                .output();
            let _ = fs::remove_dir_all(&tree);
            match built {
                Ok(o) if o.status.success() => {}
                // dpkg-deb refused the tree (e.g. a name it cannot store): nothing to run.
                _ => return Vec::new(),
            }
            if c.byte_mutations > 0 {
                let mut bytes = fs::read(&deb).unwrap();
                let mut r = Rng::new(self.rng.next());
                for _ in 0..c.byte_mutations {
                    mutate_bytes(&mut r, &mut bytes);
                }
                fs::write(&deb, bytes).unwrap();
            }
            match c.deb_form {
                None => {}
                Some(form) => {
                    let _ = fs::remove_file(&deb);
                    match form {
                        "fifo" => mkfifo(&deb),
                        "symlink" => symlink(canary.join("secret.service"), &deb).unwrap(),
                        "dir" => fs::create_dir(&deb).unwrap(),
                        _ => {}
                    }
                }
            }
            deb
        };
        let out_dir = dir.join("out");
        fs::create_dir_all(&out_dir).unwrap();
        let before = (snapshot(&canary), snapshot(&dir.join("in")));

        let scratch = self.base.join("scratch");
        let _ = fs::create_dir_all(&scratch);
        let mut cmd = Command::new(&self.o.unitpack);
        cmd.current_dir(&scratch)
            .env("SOURCE_DATE_EPOCH", "1750000000")
            .args(["new", "fuzzed", "--from"])
            .arg(&input)
            .arg("-o")
            .arg(out_dir.join("new.yaml"));
        if let Some(t) = c.target {
            cmd.args(["--target", t]);
        }
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
        } else if !matches!(o.code, Some(0..=2)) {
            out.push(("exit-code", format!("exited {:?}: {stderr}", o.code)));
        }
        if o.peak_rss_kib > self.o.max_rss_kib {
            out.push(("memory", format!("peak RSS {} KiB", o.peak_rss_kib)));
        }
        if (snapshot(&canary), snapshot(&dir.join("in"))) != before {
            out.push(("outside-write", "the canary or the input changed".into()));
        }
        let written: Vec<String> = fs::read_dir(&out_dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        match o.code {
            Some(0 | 1) => {
                self.accepted += 1;
                if written != ["new.yaml"] {
                    out.push((
                        "output-files",
                        format!("exit {:?} wrote {written:?}", o.code),
                    ));
                } else {
                    let recipe = out_dir.join("new.yaml");
                    if fs::read_to_string(&recipe)
                        .unwrap_or_default()
                        .contains(MARKER)
                    {
                        out.push((
                            "host-file-leaked",
                            "the canary's text is in the recipe".into(),
                        ));
                    }
                    let lint = Command::new(&self.o.unitpack)
                        .current_dir(&scratch)
                        .arg("lint")
                        .arg(&recipe)
                        .output();
                    match lint {
                        Ok(l) if matches!(l.status.code(), Some(0 | 1)) => {}
                        Ok(l) => out.push((
                            "recipe-unloadable",
                            format!(
                                "lint exited {:?}: {}",
                                l.status.code(),
                                String::from_utf8_lossy(&l.stderr)
                                    .chars()
                                    .take(400)
                                    .collect::<String>()
                            ),
                        )),
                        Err(e) => out.push(("cannot-run", format!("lint: {e}"))),
                    }
                }
            }
            Some(2) if !written.is_empty() => {
                out.push((
                    "half-written",
                    format!("exit 2 wrote {written:?}: {stderr}"),
                ));
            }
            _ => {}
        }
        let left: Vec<String> = fs::read_dir(&scratch)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "stdout" && n != "stderr")
                    .collect()
            })
            .unwrap_or_default();
        if !left.is_empty() {
            out.push((
                "outside-write",
                format!("the working directory got {left:?}"),
            ));
            for n in left {
                let _ = fs::remove_file(scratch.join(&n))
                    .or_else(|_| fs::remove_dir_all(scratch.join(&n)));
            }
        }
        out
    }

    fn record(&mut self, inv: &'static str, detail: &str, c: &Case) {
        let entry = self.findings.entry(inv).or_insert((0, 0));
        entry.0 += 1;
        eprintln!("unitpack-fuzz package: {inv}: {detail}");
        if entry.1 >= 3 {
            return;
        }
        entry.1 += 1;
        let dir = self
            .o
            .findings
            .join(format!("package-{inv}"))
            .join(format!("{:03}", entry.1));
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::create_dir_all(&dir);
        let _ = fs::write(
            dir.join("README.txt"),
            format!(
                "invariant: {inv}\n{detail}\n\nmutations:\n{}\n\nas a directory: {}, .deb form: {:?}, \
                 target: {:?}\n\ncontrol:\n{}\npostinst:\n{}\nentries:\n{:#?}\n",
                c.history.join("\n"),
                c.as_dir,
                c.deb_form,
                c.target,
                c.control,
                c.postinst.chars().take(4000).collect::<String>(),
                c.entries.iter().take(50).collect::<Vec<_>>()
            ),
        );
    }

    fn report(&self) -> ExitCode {
        let total: u64 = self.findings.values().map(|f| f.0).sum();
        let mut text = format!(
            "package target: {} executions, {} written, {} refused, peak RSS {} KiB\nfindings: {total}\n",
            self.execs,
            self.accepted,
            self.execs - self.accepted,
            self.peak_rss_kib
        );
        for (inv, (n, _)) in &self.findings {
            text.push_str(&format!("  package-{inv}: {n}\n"));
        }
        print!("{text}");
        let _ = fs::create_dir_all(&self.o.findings);
        let _ = fs::write(self.o.findings.join("summary-package.txt"), &text);
        if total == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

fn unit(dir: &str, name: &str, text: &str) -> Entry {
    Entry::File(format!("{dir}/{name}"), text.as_bytes().to_vec())
}

/// A postinst in the shape dh_installsystemd and dh_installsystemduser write.
fn postinst(enabled: &[(bool, String)]) -> String {
    let mut s = String::from("#!/bin/sh\nset -e\n");
    for (user, name) in enabled {
        let flag = if *user { "--user " } else { "" };
        s.push_str(&format!(
            "# Automatically added by dh_installsystemd\n\
             if [ \"$1\" = \"configure\" ] || [ \"$1\" = \"abort-upgrade\" ]; then\n\
             \tif deb-systemd-helper {flag}debian-installed '{name}'; then\n\
             \t\tdeb-systemd-helper {flag}enable '{name}' >/dev/null || true\n\
             \telse\n\
             \t\tdeb-systemd-helper {flag}update-state '{name}' >/dev/null || true\n\
             \tfi\n\
             fi\n\
             if [ \"$1\" = \"configure\" ] && [ -z \"$2\" ]; then\n\
             \tdeb-systemd-helper {flag}enable '{name}' >/dev/null || true\n\
             \tdeb-systemd-invoke start '{name}' >/dev/null || true\n\
             fi\n"
        ));
    }
    s
}

fn write_tree(tree: &Path, c: &Case) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(tree.join("DEBIAN"))?;
    fs::write(tree.join("DEBIAN/control"), &c.control)?;
    let postinst = tree.join("DEBIAN/postinst");
    fs::write(&postinst, &c.postinst)?;
    fs::set_permissions(&postinst, fs::Permissions::from_mode(0o755))?;
    for e in &c.entries {
        let rel = match e {
            Entry::File(p, _)
            | Entry::Link(p, _)
            | Entry::Fifo(p)
            | Entry::Dir(p)
            | Entry::Zeros(p, _) => p,
        };
        let path = tree.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        if fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        match e {
            Entry::File(_, bytes) => fs::write(&path, bytes)?,
            Entry::Link(_, to) => symlink(to, &path)?,
            Entry::Fifo(_) => mkfifo(&path),
            Entry::Dir(_) => fs::create_dir(&path)?,
            Entry::Zeros(_, len) => fs::File::create(&path)?.set_len(*len)?,
        }
    }
    Ok(())
}
