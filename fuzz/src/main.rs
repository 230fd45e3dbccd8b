//! unitpack-fuzz: a structure-aware fuzzer of the unitpack CLI on stable Rust.
//! See README.md (beside Cargo.toml) for what it generates and checks.

mod case;
mod check;
mod mutate;
mod package_target;
mod repo_target;
mod rng;
mod run;
mod seeds;
mod units;
mod yaml;

use case::Case;
use check::{v, Violation};
use rng::Rng;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const HELP: &str = "\
unitpack-fuzz: mutate recipes, run the unitpack CLI on them, check invariants

Usage: unitpack-fuzz [repo|package] [--seconds N] [--seed S] [--unitpack BIN] [--repo DIR]
                     [--findings DIR] [--max-rss-mib M] [--timeout S]
                     [--shellcheck-every K] [--max-execs N]

  --seconds N          time budget (default 60)
  --seed S             the run is deterministic given S (default 1)
  --unitpack BIN       the CLI under test (default REPO/target/debug/unitpack)
  --repo DIR           where seeds and templates are read (default: this checkout)
  --findings DIR       where minimized reproducers go (default REPO/target/fuzz-findings)
  --max-rss-mib M      peak RSS allowed per CLI run (default 256)
  --timeout S          wall-clock limit per CLI run (default 10)
  --shellcheck-every K shellcheck every K-th distinct script set (default 1: all)

  repo                 the `repo add` target (mutated .debs and repositories;
                       fuzz/src/repo_target.rs) instead of recipes
  package              the `new --from PACKAGE.deb|DIR` target (mutated Debian
                       packages with units; fuzz/src/package_target.rs)

Exit status: 0 no finding, 1 findings (listed), 2 usage error.
";

struct Opts {
    seconds: u64,
    seed: u64,
    unitpack: PathBuf,
    repo: PathBuf,
    findings: PathBuf,
    max_rss_kib: u64,
    timeout: Duration,
    shellcheck_every: u64,
    max_execs: u64,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let repo_default = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut o = Opts {
        seconds: 60,
        seed: 1,
        unitpack: PathBuf::new(),
        repo: repo_default,
        findings: PathBuf::new(),
        max_rss_kib: 256 * 1024,
        timeout: Duration::from_secs(10),
        shellcheck_every: 1,
        max_execs: u64::MAX,
    };
    let mut i = 0;
    while i < args.len() {
        let name = args[i].as_str();
        if name == "-h" || name == "--help" {
            return Err(String::new());
        }
        let val = args.get(i + 1).ok_or(format!("{name} needs a value"))?;
        let num = || {
            val.parse::<u64>()
                .map_err(|_| format!("{name}: `{val}` is not a number"))
        };
        match name {
            "--seconds" => o.seconds = num()?,
            "--seed" => o.seed = num()?,
            "--unitpack" => o.unitpack = PathBuf::from(val),
            "--repo" => o.repo = PathBuf::from(val),
            "--findings" => o.findings = PathBuf::from(val),
            "--max-rss-mib" => o.max_rss_kib = num()? * 1024,
            "--timeout" => o.timeout = Duration::from_secs(num()?),
            "--shellcheck-every" => o.shellcheck_every = num()?.max(1),
            "--max-execs" => o.max_execs = num()?,
            _ => return Err(format!("unknown option {name}")),
        }
        i += 2;
    }
    if o.unitpack.as_os_str().is_empty() {
        o.unitpack = o.repo.join("target/debug/unitpack");
    }
    if o.findings.as_os_str().is_empty() {
        o.findings = o.repo.join("target/fuzz-findings");
    }
    let abs = |p: &Path| std::path::absolute(p).unwrap_or(p.to_path_buf());
    o.unitpack = abs(&o.unitpack);
    o.repo = abs(&o.repo);
    o.findings = abs(&o.findings);
    if !o.unitpack.is_file() {
        return Err(format!(
            "{}: no such binary (cargo build first, or --unitpack)",
            o.unitpack.display()
        ));
    }
    Ok(o)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let target = match args.first().map(String::as_str) {
        Some(t @ ("repo" | "package")) => {
            let t = t.to_string();
            args.remove(0);
            t
        }
        _ => String::new(),
    };
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("unitpack-fuzz: {e}\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match target.as_str() {
        "repo" => return repo_target::main(opts),
        "package" => return package_target::main(opts),
        _ => {}
    }
    let mut fuzzer = Fuzzer::new(opts);
    fuzzer.run();
    fuzzer.report()
}

/// The marker of the canary files beside the recipe directory: found in a
/// package or layer, it means a host file outside the recipe dir leaked in.
const CANARY: &str = "UNITPACK-FUZZ-CANARY-7f3a";

struct Stats {
    execs: u64,
    /// Executions of the unit-file targets (new --from, lint --units).
    unit_cases: u64,
    cli_runs: u64,
    accepted: u64,
    rejected: u64,
    peak_rss_kib: u64,
    peak_rss_case: String,
    slowest: Duration,
    /// invariant → (occurrences, saved reproducers)
    findings: BTreeMap<&'static str, (u64, Vec<PathBuf>)>,
    classes: BTreeMap<String, u64>,
}

struct Fuzzer {
    o: Opts,
    seeds: Vec<Case>,
    /// Unit files for `new --from` and `lint --units` (every fifth execution).
    unit_seeds: Vec<units::UnitCase>,
    pool: Vec<Case>,
    rng: Rng,
    base: PathBuf,
    shapes: check::BbShapes,
    scripts: check::ScriptChecker,
    stats: Stats,
    script_sets: u64,
    deadline: Instant,
}

/// What one execution of a case saw.
struct Seen {
    violations: Vec<Violation>,
    accepted: bool,
}

impl Fuzzer {
    fn new(o: Opts) -> Fuzzer {
        let seeds = seeds::load(&o.repo);
        assert!(!seeds.is_empty(), "no seeds under {}", o.repo.display());
        let base = std::env::temp_dir().join(format!("unitpack-fuzz-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).expect("scratch dir");
        let template = fs::read_to_string(o.repo.join("templates/yocto/recipe.bb.hbs"))
            .expect("recipe.bb.hbs");
        let have_shellcheck = Command::new("shellcheck").arg("--version").output().is_ok();
        if !have_shellcheck {
            eprintln!("unitpack-fuzz: shellcheck not found: scripts are checked with dash -n only");
        }
        Fuzzer {
            rng: Rng::new(o.seed),
            unit_seeds: units::seeds(&o.repo),
            pool: seeds.clone(),
            seeds,
            base,
            shapes: check::BbShapes::from_template(&template),
            scripts: check::ScriptChecker::new(have_shellcheck),
            stats: Stats {
                execs: 0,
                unit_cases: 0,
                cli_runs: 0,
                accepted: 0,
                rejected: 0,
                peak_rss_kib: 0,
                peak_rss_case: String::new(),
                slowest: Duration::ZERO,
                findings: BTreeMap::new(),
                classes: BTreeMap::new(),
            },
            script_sets: 0,
            deadline: Instant::now() + Duration::from_secs(o.seconds),
            o,
        }
    }

    fn run(&mut self) {
        let start = Instant::now();
        let budget = Duration::from_secs(self.o.seconds);
        self.deadline = start + budget;
        eprintln!(
            "unitpack-fuzz: seed {}, {} seeds, {} s, unitpack {}",
            self.o.seed,
            self.seeds.len(),
            self.o.seconds,
            self.o.unitpack.display()
        );
        let mut last_note = Instant::now();
        // The seeds themselves first, unmutated.
        let mut queue: Vec<Case> = self.seeds.clone();
        queue.reverse();
        while start.elapsed() < budget && self.stats.execs < self.o.max_execs {
            // Every fifth execution: a unit-file case.
            if self.stats.execs % 5 == 4 && !self.unit_seeds.is_empty() {
                let mut c = self.unit_seeds[self.rng.below(self.unit_seeds.len())].clone();
                units::mutate(&mut c, &mut self.rng);
                let violations = self.execute_units(&c);
                self.stats.execs += 1;
                self.stats.unit_cases += 1;
                if !violations.is_empty() {
                    self.record_units(&c, &violations);
                }
                continue;
            }
            let case = match queue.pop() {
                Some(c) => c,
                None => {
                    let mut c = self.pool[self.rng.below(self.pool.len())].clone();
                    if c.history.len() > 12 {
                        c = self.seeds[self.rng.below(self.seeds.len())].clone();
                    }
                    mutate::mutate(&mut c, &self.seeds, &mut self.rng);
                    c
                }
            };
            let seen = self.execute(&case);
            self.stats.execs += 1;
            if seen.accepted {
                self.stats.accepted += 1;
            } else {
                self.stats.rejected += 1;
            }
            if !seen.violations.is_empty() {
                self.record(&case, &seen.violations);
            } else if seen.accepted {
                if self.pool.len() < 2000 {
                    self.pool.push(case);
                } else {
                    let i = self.rng.below(self.pool.len());
                    self.pool[i] = case;
                }
            }
            if last_note.elapsed() > Duration::from_secs(60) {
                last_note = Instant::now();
                let line = format!(
                    "{:>4} s: {} executions, {} accepted, {} finding(s), peak RSS {} KiB",
                    start.elapsed().as_secs(),
                    self.stats.execs,
                    self.stats.accepted,
                    self.stats.findings.values().map(|f| f.0).sum::<u64>(),
                    self.stats.peak_rss_kib
                );
                eprintln!("unitpack-fuzz: {line}");
                // Partial figures survive a run that is cut short.
                let _ = fs::create_dir_all(&self.o.findings);
                let _ = fs::write(
                    self.o.findings.join("progress.txt"),
                    format!("{line}\n{}", self.summary()),
                );
            }
        }
        let _ = fs::remove_dir_all(&self.base);
        eprintln!("unitpack-fuzz: ran {:.0} s", start.elapsed().as_secs_f64());
    }

    fn limits(&self) -> run::Limits {
        run::Limits {
            timeout: self.o.timeout,
            address_space: 4 << 30,
            file_size: 1 << 30,
        }
    }

    /// Runs the CLI once and checks what every run must satisfy: exit 0 or 2
    /// (never 1 or a signal on bad input), within the time and memory bounds.
    fn cli(
        &mut self,
        args: &[&std::ffi::OsStr],
        cwd: &Path,
        out: &mut Vec<Violation>,
    ) -> Option<run::Outcome> {
        self.cli_ok(args, cwd, out, &[0, 2])
    }

    /// [`Fuzzer::cli`] with the exit codes `ok` (lint exits 1 on findings).
    fn cli_ok(
        &mut self,
        args: &[&std::ffi::OsStr],
        cwd: &Path,
        out: &mut Vec<Violation>,
        ok: &[i32],
    ) -> Option<run::Outcome> {
        let scratch = self.base.join("scratch");
        let _ = fs::create_dir_all(&scratch);
        let mut cmd = Command::new(&self.o.unitpack);
        cmd.args(args)
            .current_dir(cwd)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("HOME", cwd);
        let o = match run::run(&mut cmd, &scratch, &self.limits()) {
            Ok(o) => o,
            Err(e) => {
                eprintln!(
                    "unitpack-fuzz: cannot run {}: {e}",
                    self.o.unitpack.display()
                );
                return None;
            }
        };
        self.stats.cli_runs += 1;
        let what = args
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default();
        if o.peak_rss_kib > self.stats.peak_rss_kib {
            self.stats.peak_rss_kib = o.peak_rss_kib;
            self.stats.peak_rss_case = what.clone();
        }
        self.stats.slowest = self.stats.slowest.max(o.elapsed);
        // Without the scratch path (it holds the pid): reports stay deterministic.
        let stderr =
            String::from_utf8_lossy(&o.stderr).replace(&self.base.display().to_string(), "$WORK");
        let excerpt: String = stderr.chars().take(300).collect();
        if o.timed_out {
            out.push(v(
                "timeout",
                format!("{what} still running after {:?}, killed", self.o.timeout),
            ));
        } else if let Some(sig) = o.signal {
            out.push(v(
                "signal",
                format!("{what} killed by signal {sig}: {excerpt}"),
            ));
        } else if !o.code.is_some_and(|c| ok.contains(&c)) {
            out.push(v(
                "exit-code",
                format!("{what} exited {:?}: {excerpt}", o.code),
            ));
        }
        if o.peak_rss_kib > self.o.max_rss_kib {
            out.push(v(
                "memory",
                format!(
                    "{what} peak RSS {} KiB > {} KiB",
                    o.peak_rss_kib, self.o.max_rss_kib
                ),
            ));
        }
        if stderr.contains("panicked at") {
            out.push(v("panic", format!("{what}: {excerpt}")));
        }
        Some(o)
    }

    fn execute(&mut self, case: &Case) -> Seen {
        let mut out = Vec::new();
        let w = self.base.join("w");
        let _ = fs::remove_dir_all(&w);
        let (recipe_dir, canary, cwd, out_dir, layer) = (
            w.join("recipe"),
            w.join("canary"),
            w.join("cwd"),
            w.join("out"),
            w.join("layer"),
        );
        for d in [&canary, &cwd] {
            fs::create_dir_all(d).expect("scratch");
        }
        fs::write(canary.join("secret"), format!("{CANARY} secret\n")).unwrap();
        fs::write(
            canary.join("unit.service"),
            format!("[Unit]\nDescription={CANARY}\n[Service]\nExecStart=/bin/true\n"),
        )
        .unwrap();
        if case.foreign_layer {
            fs::create_dir_all(&layer).unwrap();
            fs::write(layer.join("keep.txt"), "not a unitpack layer\n").unwrap();
        }
        if case.materialize(&recipe_dir).is_err() {
            return Seen {
                violations: out,
                accepted: false,
            };
        }
        let recipe = recipe_dir.join(&case.recipe_name);
        // `yocto -o layer` writes only the layer (the helper's archive is in it).
        let outside = |p: &Path| !p.starts_with("out") && !p.starts_with("layer");
        let before: BTreeMap<PathBuf, String> = check::snapshot(&w)
            .into_iter()
            .filter(|(p, _)| outside(p))
            .collect();
        let layer_before = check::snapshot(&layer);

        let build = self.cli(
            &[
                "build".as_ref(),
                recipe.as_os_str(),
                "-o".as_ref(),
                out_dir.as_os_str(),
                "-j".as_ref(),
                "1".as_ref(),
            ],
            &cwd,
            &mut out,
        );
        let accepted = build.as_ref().is_some_and(|b| b.code == Some(0));
        if build.as_ref().is_some_and(|b| b.code == Some(2))
            && !check::is_empty_or_missing(&out_dir)
        {
            out.push(v(
                "half-written",
                "build exited 2 but left files in the output directory",
            ));
        }
        if accepted {
            self.check_package(case, &recipe_dir, &out_dir, &mut out);
        }
        let h = check::hash_bytes(case.text.as_bytes());
        if accepted || h.is_multiple_of(4) || case.foreign_layer {
            let helper = self.o.repo.join("unitpack-check");
            let y = self.cli(
                &[
                    "yocto".as_ref(),
                    recipe.as_os_str(),
                    "-o".as_ref(),
                    layer.as_os_str(),
                    "--helper".as_ref(),
                    helper.as_os_str(),
                ],
                &cwd,
                &mut out,
            );
            match y.and_then(|y| y.code) {
                Some(0) => {
                    if case.foreign_layer && !layer.join("keep.txt").exists() {
                        out.push(v(
                            "yocto-replaced-foreign-dir",
                            "yocto -o replaced a directory that was not a unitpack layer",
                        ));
                    }
                    self.check_layer(&layer, &mut out);
                }
                Some(2) if check::snapshot(&layer) != layer_before => {
                    out.push(v(
                        "half-written",
                        "yocto exited 2 but changed the output directory",
                    ));
                }
                _ => {}
            }
        }
        if h % 10 == 1 {
            self.cli(&["render".as_ref(), recipe.as_os_str()], &cwd, &mut out);
        }
        let after: BTreeMap<PathBuf, String> = check::snapshot(&w)
            .into_iter()
            .filter(|(p, _)| outside(p))
            .collect();
        let changes = check::diff(&before, &after);
        if !changes.is_empty() {
            out.push(v("outside-write", changes.join("; ")));
        }
        if accepted && case.tree.as_ref().is_some_and(|t| t.has_duplicate_keys()) {
            out.push(v(
                "duplicate-key-accepted",
                "a map of the recipe repeats a key, yet it was accepted",
            ));
        }
        Seen {
            violations: out,
            accepted,
        }
    }

    fn check_package(
        &mut self,
        case: &Case,
        recipe_dir: &Path,
        out_dir: &Path,
        out: &mut Vec<Violation>,
    ) {
        let debs: Vec<PathBuf> = fs::read_dir(out_dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if debs.len() != 1 || !debs[0].to_string_lossy().ends_with(".deb") {
            out.push(v(
                "output-files",
                format!("build wrote {debs:?}, expected one .deb"),
            ));
            return;
        }
        let recipe: serde_yaml::Value = match serde_yaml::from_str(&case.text) {
            Ok(r) => r,
            Err(e) => {
                let inv = if e.to_string().contains("duplicate entry") {
                    "duplicate-key-accepted"
                } else {
                    "accepted-invalid-yaml"
                };
                out.push(v(
                    inv,
                    format!("serde_yaml rejects the accepted recipe: {e}"),
                ));
                return;
            }
        };
        let x = self.base.join("x");
        let _ = fs::remove_dir_all(&x);
        let (control, data) = (x.join("control"), x.join("data"));
        let _ = fs::create_dir_all(&x);
        for (flag, dir) in [("-e", &control), ("-x", &data)] {
            let ok = Command::new("dpkg-deb")
                .arg(flag)
                .arg(&debs[0])
                .arg(dir)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !ok {
                out.push(v(
                    "deb-unreadable",
                    format!("dpkg-deb {flag} fails on the package"),
                ));
                return;
            }
        }
        match Command::new("dpkg-deb").arg("-c").arg(&debs[0]).output() {
            Ok(l) if l.status.success() => out.extend(check::deb_paths(
                &String::from_utf8_lossy(&l.stdout),
                &recipe,
            )),
            _ => out.push(v("deb-unreadable", "dpkg-deb -c fails on the package")),
        }
        let control_text = fs::read_to_string(control.join("control")).unwrap_or_default();
        out.extend(check::control(&control_text, &recipe));
        self.script_sets += 1;
        let sc = self.script_sets.is_multiple_of(self.o.shellcheck_every);
        out.extend(self.scripts.check(&control, sc));
        out.extend(check::units(&recipe, &case.text, recipe_dir, &data));
        let leaked = check::files_containing(&data, CANARY.as_bytes());
        if !leaked.is_empty() {
            out.push(v(
                "host-file-leaked",
                format!("the package holds a file from outside the recipe dir: {leaked:?}"),
            ));
        }
    }

    fn check_layer(&mut self, layer: &Path, out: &mut Vec<Violation>) {
        let leaked = check::files_containing(layer, CANARY.as_bytes());
        if !leaked.is_empty() {
            out.push(v(
                "host-file-leaked",
                format!("the layer holds a file from outside the recipe dir: {leaked:?}"),
            ));
        }
        for (rel, desc) in check::snapshot(layer) {
            let s = rel.to_string_lossy();
            if desc.starts_with("file ") && s.ends_with(".bb") && !s.contains("unitpack-check") {
                let text = String::from_utf8_lossy(&fs::read(layer.join(&rel)).unwrap_or_default())
                    .into_owned();
                out.extend(self.shapes.check(&text));
            }
        }
    }

    /// One unit-file case: `new --from` and `lint --units` on it.
    fn execute_units(&mut self, case: &units::UnitCase) -> Vec<Violation> {
        let mut out = Vec::new();
        let w = self.base.join("u");
        let _ = fs::remove_dir_all(&w);
        let (dir, canary, cwd, out_dir) = (
            w.join("units"),
            w.join("canary"),
            w.join("cwd"),
            w.join("out"),
        );
        for d in [&canary, &cwd, &out_dir] {
            fs::create_dir_all(d).expect("scratch");
        }
        let canary_unit = canary.join("canary.service");
        fs::write(
            &canary_unit,
            format!("[Unit]\nDescription={CANARY}\n[Service]\nExecStart=/bin/true\n"),
        )
        .unwrap();
        let Ok(file) = units::materialize(case, &dir, &canary_unit) else {
            return out;
        };
        let before: BTreeMap<PathBuf, String> = check::snapshot(&w)
            .into_iter()
            .filter(|(p, _)| !p.starts_with("out"))
            .collect();
        let recipe = out_dir.join("new.yaml");
        // new exits 1 when it wrote a recipe with lint warnings (docs/ci.md denies them);
        // that the recipe was written is checked below.
        let new = self.cli_ok(
            &[
                "new".as_ref(),
                "fuzzed".as_ref(),
                "--from".as_ref(),
                file.as_os_str(),
                "-o".as_ref(),
                recipe.as_os_str(),
            ],
            &cwd,
            &mut out,
            &[0, 1, 2],
        );
        let written: Vec<_> = fs::read_dir(&out_dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        match new.as_ref().and_then(|n| n.code) {
            // 1: written, with lint warnings docs/ci.md's pipeline would deny.
            Some(code @ (0 | 1)) => {
                if written != [std::ffi::OsString::from("new.yaml")] {
                    out.push(v(
                        "new-output",
                        format!("new exited {code} and wrote {written:?}"),
                    ));
                }
                // What `new` writes loads: lint exits 0 or 1 (findings), not 2.
                self.cli_ok(
                    &["lint".as_ref(), recipe.as_os_str()],
                    &cwd,
                    &mut out,
                    &[0, 1],
                );
                if fs::read_to_string(&recipe).is_ok_and(|t| t.contains(CANARY)) {
                    out.push(v(
                        "host-file-leaked",
                        "new --from read the unit behind a symlink",
                    ));
                }
            }
            Some(2) if !written.is_empty() => {
                out.push(v(
                    "half-written",
                    format!("new exited 2 and left {written:?}"),
                ));
            }
            _ => {}
        }
        let lint = self.cli_ok(
            &[
                "lint".as_ref(),
                "--scope".as_ref(),
                "system".as_ref(),
                "--format".as_ref(),
                "json".as_ref(),
                "--units".as_ref(),
                dir.as_os_str(),
            ],
            &cwd,
            &mut out,
            &[0, 1, 2],
        );
        let stdout = fs::read_to_string(self.base.join("scratch/stdout")).unwrap_or_default();
        let named_like_a_unit = units::named_like_a_unit(&case.name);
        if lint.is_some_and(|l| l.code.is_some())
            && case.kind != units::Kind::Regular
            && named_like_a_unit
        {
            // JSON is YAML: read with the YAML reader the fuzzer already has.
            let reported = serde_yaml::from_str::<serde_yaml::Value>(&stdout)
                .ok()
                .is_some_and(|doc| {
                    doc.get("diagnostics")
                        .and_then(|d| d.as_sequence())
                        .is_some_and(|ds| !ds.is_empty())
                });
            if !reported {
                out.push(v(
                    "unit-skipped-silently",
                    format!(
                        "lint --units said nothing of a {:?} named {:?}",
                        case.kind, case.name
                    ),
                ));
            }
        }
        let after: BTreeMap<PathBuf, String> = check::snapshot(&w)
            .into_iter()
            .filter(|(p, _)| !p.starts_with("out"))
            .collect();
        let changed = check::diff(&before, &after);
        if !changed.is_empty() {
            out.push(v(
                "outside-write",
                format!("changed outside the output: {changed:?}"),
            ));
        }
        out
    }

    fn record_units(&mut self, case: &units::UnitCase, violations: &[Violation]) {
        for viol in violations {
            let entry = self
                .stats
                .findings
                .entry(viol.invariant)
                .or_insert((0, Vec::new()));
            entry.0 += 1;
            if entry.1.len() >= 3 {
                continue;
            }
            let dir = self
                .o
                .findings
                .join(viol.invariant)
                .join(format!("units-{:03}", entry.1.len() + 1));
            let _ = fs::create_dir_all(&dir);
            let readme = format!(
                "invariant violated: {}\n\ndetail:\n{}\n\nunit file: {:?} ({:?}), text in unit.txt\nreproduce: unitpack new fuzzed --from FILE -o new.yaml; unitpack lint --scope system --units DIR\nunitpack-fuzz seed {}; mutations:\n  {}\n",
                viol.invariant, viol.detail, case.name, case.kind, self.o.seed, case.history.join("\n  ")
            );
            if fs::write(dir.join("README.txt"), readme).is_ok()
                && fs::write(dir.join("unit.txt"), &case.text).is_ok()
            {
                eprintln!(
                    "unitpack-fuzz: finding {}: {} -> {}",
                    viol.invariant,
                    short(&viol.detail),
                    dir.display()
                );
                entry.1.push(dir);
            }
        }
    }

    fn record(&mut self, case: &Case, violations: &[Violation]) {
        let mut by_inv: BTreeMap<&'static str, &Violation> = BTreeMap::new();
        for viol in violations {
            by_inv.entry(viol.invariant).or_insert(viol);
        }
        for (inv, viol) in by_inv {
            *self
                .stats
                .classes
                .entry(format!("{inv}: {}", class_of(&viol.detail)))
                .or_insert(0) += 1;
            let entry = self.stats.findings.entry(inv).or_insert((0, Vec::new()));
            entry.0 += 1;
            let class = class_of(&viol.detail);
            let new_class = self.stats.classes[&format!("{inv}: {class}")] == 1;
            let saved = self.stats.findings[inv].1.len();
            if saved < 3 || (new_class && saved < 12) {
                let small = self.minimize(case, inv, &class);
                let dir = self.o.findings.join(inv).join(format!("{:03}", saved + 1));
                let _ = fs::remove_dir_all(&dir);
                let readme = self.readme(&small, inv);
                let ok = small.save(&dir.join("recipe"), &readme).is_ok()
                    && fs::create_dir_all(dir.join("canary")).is_ok()
                    && fs::write(dir.join("canary/secret"), format!("{CANARY} secret\n")).is_ok();
                if ok {
                    let _ = fs::rename(dir.join("recipe/README.txt"), dir.join("README.txt"));
                    eprintln!(
                        "unitpack-fuzz: finding {inv}: {} -> {}",
                        short(&viol.detail),
                        dir.display()
                    );
                    self.stats.findings.get_mut(inv).unwrap().1.push(dir);
                }
            }
        }
    }

    fn readme(&mut self, case: &Case, inv: &str) -> String {
        let seen = self.execute(case);
        let details: Vec<String> = seen
            .violations
            .iter()
            .filter(|x| x.invariant == inv)
            .map(|x| x.detail.clone())
            .collect();
        format!(
            "invariant violated: {inv}\n\ndetail:\n{}\n\nreproduce (from this directory):\n  (cd recipe && sh fixtures.sh)   # FIFOs, sparse files, symlinks\n  unitpack build recipe/{:?} -o out -j 1; unitpack yocto recipe/{:?} -o layer --helper unitpack-check\n\nrecipe file name: {:?}\nforeign layer dir before yocto: {}\nunitpack-fuzz seed {}; mutations:\n  {}\n",
            details.join("\n"),
            case.recipe_name,
            case.recipe_name,
            case.recipe_name,
            case.foreign_layer,
            self.o.seed,
            case.history.join("\n  ")
        )
    }

    /// Greedy: drops YAML entries, fixtures or text lines while the same
    /// invariant is still violated, in the same class (at most 80 tries or 20 s, and not past the budget).
    fn minimize(&mut self, case: &Case, inv: &str, class: &str) -> Case {
        let start = Instant::now();
        let mut tries = 0;
        let mut best = case.clone();
        let still = |f: &mut Fuzzer, c: &Case| {
            f.execute(c)
                .violations
                .iter()
                .any(|x| x.invariant == inv && class_of(&x.detail) == class)
        };
        let deadline = self.deadline;
        let budget = |tries: &mut u32| {
            *tries += 1;
            *tries <= 80 && start.elapsed() < Duration::from_secs(20) && Instant::now() < deadline
        };
        // A hang costs the whole timeout per try: try with a shorter one.
        let timeout = self.o.timeout;
        if inv == "timeout" {
            self.o.timeout = timeout.min(Duration::from_secs(3));
        }
        let mut i = 0;
        while i < best.fixtures.len() && budget(&mut tries) {
            let mut c = best.clone();
            c.fixtures.remove(i);
            if still(self, &c) {
                best = c;
            } else {
                i += 1;
            }
        }
        if let Some(tree) = best.tree.clone() {
            let mut tree = tree;
            let mut k = 0;
            while k < tree.removable() && budget(&mut tries) {
                let t = tree.without(k);
                let mut c = best.clone();
                c.set_tree(t.clone());
                if still(self, &c) {
                    tree = t;
                    best = c;
                } else {
                    k += 1;
                }
            }
        } else {
            let mut lines: Vec<String> = best.text.lines().map(String::from).collect();
            let mut k = 0;
            while k < lines.len() && budget(&mut tries) {
                let mut l = lines.clone();
                l.remove(k);
                let mut c = best.clone();
                c.text = l.join("\n") + "\n";
                if still(self, &c) {
                    lines = l;
                    best = c;
                } else {
                    k += 1;
                }
            }
        }
        self.o.timeout = timeout;
        best
    }

    fn report(&self) -> ExitCode {
        let text = self.summary();
        print!("{text}");
        let _ = fs::create_dir_all(&self.o.findings);
        let _ = fs::write(self.o.findings.join("summary.txt"), &text);
        if self.stats.findings.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    fn summary(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        macro_rules! println {
            ($($a:tt)*) => { let _ = writeln!(out, $($a)*); };
        }
        let s = &self.stats;
        let total: u64 = s.findings.values().map(|f| f.0).sum();
        println!(
            "executions: {} ({} CLI runs; {} accepted, {} rejected)",
            s.execs, s.cli_runs, s.accepted, s.rejected
        );
        println!(
            "unit-file cases (new --from, lint --units): {}",
            s.unit_cases
        );
        println!(
            "shellcheck runs: {} (distinct script sets)",
            self.scripts.runs
        );
        println!(
            "peak RSS of a CLI run: {} KiB ({}); slowest run: {:.2} s",
            s.peak_rss_kib,
            s.peak_rss_case,
            s.slowest.as_secs_f64()
        );
        println!(
            "peak RSS of unitpack-fuzz itself: {} KiB",
            self_peak_rss_kib()
        );
        println!("findings: {total}");
        for (inv, (n, dirs)) in &s.findings {
            println!("  {inv}: {n}");
            for d in dirs {
                println!("    {}", d.display());
            }
        }
        if !s.classes.is_empty() {
            println!("finding classes:");
            for (c, n) in &s.classes {
                println!("  {n:>6}  {c}");
            }
        }
        out
    }
}

/// A violation's detail without its specifics (quoted values, numbers), so
/// that one class is counted once.
fn class_of(detail: &str) -> String {
    // Lint's own messages vary endlessly; `error[UPnnn]` is the class.
    let detail = match detail.find("]:") {
        Some(i) => &detail[..i + 1],
        None => detail,
    };
    let mut out = String::new();
    let mut in_quote = false;
    for c in detail.chars() {
        match c {
            '"' => {
                in_quote = !in_quote;
                if in_quote {
                    out.push_str("\"…\"");
                }
            }
            _ if in_quote => {}
            c if c.is_ascii_digit() => {
                if !out.ends_with('N') {
                    out.push('N');
                }
            }
            c => out.push(c),
        }
        if out.chars().count() > 48 {
            break;
        }
    }
    out
}

fn self_peak_rss_kib() -> u64 {
    // SAFETY: rusage is plain data, filled by the kernel.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss.max(0) as u64
}

fn short(s: &str) -> String {
    s.chars().take(160).collect()
}
