//! `unitpack lint`: the corpus under tests/lint/, the CLI, and real unit files.
//!
//! Corpus convention: a line `# expect-next: CODE SEVERITY` says that the next line
//! that is not such a comment carries that diagnostic, at the column of its first
//! character (after indentation and a list's "- "). Every diagnostic of a corpus file
//! must be declared, and nothing else may appear: `*-near-miss.yaml` files declare
//! nothing of their own code.

mod common;

use common::{repo, run, unavailable, unitpack};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use unitpack::lint;

/// (file, line, column, code, severity)
type Expectation = (PathBuf, usize, usize, String, String);

fn corpus_dir() -> PathBuf {
    repo().join("tests/lint")
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "corpus is missing: {files:?}");
    files
}

/// Expectations declared in `file`.
fn declared(file: &Path) -> Vec<Expectation> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = Vec::new();
    let mut pending: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("# expect-next:") {
            let mut words = rest.split_whitespace();
            pending.push((
                words.next().unwrap().to_string(),
                words.next().unwrap().to_string(),
            ));
            continue;
        }
        if pending.is_empty() {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let item = if trimmed.starts_with("- ") { 2 } else { 0 };
        for (code, severity) in pending.drain(..) {
            out.push((file.to_path_buf(), i + 1, indent + item + 1, code, severity));
        }
    }
    assert!(
        pending.is_empty(),
        "{}: expect-next at the end of the file",
        file.display()
    );
    out
}

fn actual(diagnostics: &[lint::Diagnostic]) -> BTreeSet<Expectation> {
    diagnostics
        .iter()
        .map(|d| {
            let loc = d
                .location
                .unwrap_or_else(|| panic!("{} has no position: {d:?}", d.code));
            (
                d.file.clone(),
                loc.line,
                loc.column,
                d.code.to_string(),
                d.severity.as_str().to_string(),
            )
        })
        .collect()
}

#[test]
fn corpus_diagnostics_are_exactly_the_declared_ones() {
    let mut failures = Vec::new();
    for recipe in corpus() {
        let got = actual(&lint::lint_files(std::slice::from_ref(&recipe), None).unwrap());
        // Unit files named by the recipe declare their own expectations.
        let mut want: BTreeSet<Expectation> = declared(&recipe).into_iter().collect();
        let text = std::fs::read_to_string(&recipe).unwrap();
        for line in text.lines() {
            if let Some(unit_file) = line.trim_start().strip_prefix("- file: ") {
                want.extend(declared(&corpus_dir().join(unit_file.trim())));
            }
        }
        if got != want {
            failures.push(format!(
                "{}:\n  missing: {:?}\n  unexpected: {:?}",
                recipe.display(),
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_has_a_trigger_and_a_near_miss() {
    let files = corpus();
    let mut triggered = BTreeSet::new();
    for f in &files {
        triggered.extend(declared(f).into_iter().map(|e| e.3));
        triggered.extend(
            declared(&corpus_dir().join("units/typo.service"))
                .into_iter()
                .map(|e| e.3),
        );
    }
    // UP004 is about a `lint --units` directory, not a recipe:
    // `units_dir_reports_symlinks_and_special_files` is its trigger and near miss.
    for code in lint::codes().iter().filter(|c| c.id != "UP004") {
        assert!(
            triggered.contains(code.id),
            "no corpus recipe triggers {}",
            code.id
        );
        let near_miss = corpus_dir().join(format!("{}-near-miss.yaml", code.id.to_lowercase()));
        assert!(
            near_miss.is_file(),
            "{} has no near miss ({})",
            code.id,
            near_miss.display()
        );
        assert!(
            declared(&near_miss).iter().all(|e| e.3 != code.id),
            "{} declares its own code",
            near_miss.display()
        );
    }
}

#[test]
fn default_severities_match_the_corpus() {
    // A code's declared severity is its default, except where a soft dependency
    // (Wants=, After=...) is a warning beside a hard one's error: UP207, UP216, UP217.
    for f in corpus() {
        for (file, line, _, code, severity) in declared(&f) {
            let c = lint::find_code(&code)
                .unwrap_or_else(|| panic!("{}:{line}: unknown code {code}", file.display()));
            if !["UP207", "UP216", "UP217"].contains(&code.as_str()) {
                assert_eq!(severity, c.severity.as_str(), "{}:{line}", file.display());
            }
        }
    }
}

#[test]
fn seed_recipes_have_no_errors_or_warnings_on_xenial() {
    let files = unitpack::recipe::recipe_files(&[repo().join("recipes")]).unwrap();
    let diagnostics = lint::lint_files(&files, Some("ubuntu-xenial")).unwrap();
    let serious: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity > lint::Severity::Info)
        .collect();
    assert!(serious.is_empty(), "{}", lint::render_text(&diagnostics));
}

/// `data/` is the source of truth of lint's systemd tables (build.rs turns them into
/// lint's tables): each file is pinned by `data/SHA256SUMS` with its provenance in
/// `data/README.md`, so a change to the data is a reviewed change to those lines. When
/// the steering data (`../shared`) is beside the checkout, the copies must not drift
/// from it either. docs/lint.md ("Lint data") says how to refresh them.
#[test]
fn data_is_pinned_and_matches_its_upstream() {
    use sha2::Digest;
    let data = repo().join("data");
    let sums = std::fs::read_to_string(data.join("SHA256SUMS")).unwrap();
    let mut pinned = BTreeMap::new();
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").expect("sha256sum format");
        pinned.insert(name.to_string(), sum.to_string());
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tsv"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        pinned.keys().cloned().collect::<Vec<_>>(),
        "data/*.tsv and data/SHA256SUMS name different files"
    );
    for (name, sum) in &pinned {
        let bytes = std::fs::read(data.join(name)).unwrap();
        let actual = format!("{:x}", sha2::Sha256::digest(&bytes));
        assert_eq!(
            &actual, sum,
            "data/{name} changed without its line in data/SHA256SUMS (data/README.md)"
        );
    }
    // data/ is the source of truth; the steering copy beside a checkout, where there is
    // one, is only a cross-check (a clone elsewhere has none).
    let shared = repo().join("../shared");
    for name in ["systemd-directives.tsv", "systemd-specifiers.tsv"] {
        let Ok(theirs) = std::fs::read(shared.join(name)) else {
            eprintln!("no ../shared/{name}: cross-check skipped");
            continue;
        };
        let ours = std::fs::read(data.join(name)).unwrap();
        assert!(
            ours == theirs,
            "data/{name} differs from ../shared/{name}: refresh it (data/README.md)"
        );
    }
}

/// (section, directive) → (first release, last release seen, status)
type DataDirectives = BTreeMap<(String, String), (u32, u32, String)>;

/// Data rows, and the releases up to which an ignored or obsolete directive was still
/// parsed.
fn data_rows() -> (DataDirectives, BTreeMap<(String, String), u32>) {
    let read = |name: &str| std::fs::read_to_string(repo().join("data").join(name)).unwrap();
    let mut directives = BTreeMap::new();
    for line in read("systemd-directives.tsv").lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let value = (
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
            f[4].to_string(),
        );
        let old = directives.insert((f[0].to_string(), f[1].to_string()), value);
        assert!(old.is_none(), "twice: {line}");
    }
    let mut parsed = BTreeMap::new();
    for line in read("systemd-directives-parsed.tsv").lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        parsed.insert((f[0].to_string(), f[1].to_string()), f[2].parse().unwrap());
    }
    (directives, parsed)
}

/// A profile like ubuntu-xenial but with systemd `release`.
fn profile_with(release: u32) -> unitpack::profile::Profile {
    let mut profile = unitpack::profile::find("ubuntu-xenial").unwrap().clone();
    profile.systemd = release;
    profile
}

/// `(section, name)` of a unit-file directive.
type Directive = (String, String);

/// Unit files that set each `(section, directive)` once, with a value lint accepts (an
/// [Install] value names a unit, or the whole file is refused: UP001), in the unit type
/// that reads the section: file name → text, and (file, line) → directive. [BusName]
/// is left out: .busname units are a type unitpack does not lint.
fn probe_units<'a>(
    directives: impl IntoIterator<Item = &'a Directive>,
) -> (
    BTreeMap<String, String>,
    BTreeMap<(String, usize), Directive>,
) {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut lines = BTreeMap::new();
    for (section, name) in directives {
        let kind = match section.as_str() {
            "BusName" => continue,
            "Unit" | "Install" => "service",
            other => &other.to_ascii_lowercase(),
        };
        let file = format!("t.{kind}");
        let text = files.entry(file.clone()).or_default();
        if !text.contains(&format!("[{section}]\n")) {
            text.push_str(&format!("[{section}]\n"));
        }
        let value = match (section.as_str(), name.as_str()) {
            ("Install", "DefaultInstance") => "x",
            ("Install", "Alias" | "Also") => "x.service",
            ("Install", _) => "x.target",
            _ => "x",
        };
        text.push_str(&format!("{name}={value}\n"));
        lines.insert(
            (file, text.lines().count()),
            (section.clone(), name.clone()),
        );
    }
    (files, lines)
}

/// Every row of data/systemd-directives.tsv, through lint on every release from one
/// before the data to one after: unknown nowhere; too new (UP102) exactly below its
/// first release; removed (UP103) exactly above its last for a removed directive;
/// legacy (UP104) exactly where it is ignored or obsolete and no longer parsed. Every
/// specifier of data/systemd-specifiers.tsv is too new (UP106) exactly below its first
/// release. [BusName] is read by no unit type unitpack lints: the lib test
/// `tables_hold_every_row_of_the_data` covers it.
#[test]
fn lint_knows_every_row_of_the_data() {
    let (directives, parsed) = data_rows();
    assert!(directives.len() > 1000, "{}", directives.len());
    let dir = tempfile::tempdir().unwrap();
    let (mut files, lines) = probe_units(directives.keys());
    let specifiers = std::fs::read_to_string(repo().join("data/systemd-specifiers.tsv")).unwrap();
    let mut letters: BTreeMap<usize, (char, u32)> = BTreeMap::new();
    let mut text = String::from("[Unit]\n");
    for line in specifiers.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let letter = f[0].chars().nth(1).unwrap();
        if letter != '%' {
            text.push_str(&format!("Description=%{letter}\n"));
            letters.insert(text.lines().count(), (letter, f[1].parse().unwrap()));
        }
    }
    assert_eq!(letters.len(), specifiers.lines().count() - 2);
    files.insert("s.service".to_string(), text);
    for (file, text) in &files {
        std::fs::write(dir.path().join(file), text).unwrap();
    }

    let mut wrong = Vec::new();
    for release in 214..=257 {
        let profile = profile_with(release);
        let diagnostics =
            lint::lint_unit_dir(dir.path(), unitpack::unit::Scope::System, &profile).unwrap();
        let mut codes: BTreeMap<(String, usize), BTreeSet<&str>> = BTreeMap::new();
        for d in &diagnostics {
            assert!(
                !["UP001", "UP101", "UP105", "UP107", "UP108"].contains(&d.code),
                "systemd {release}: {}",
                lint::render_text(std::slice::from_ref(d))
            );
            let (Some(file), Some(at)) = (d.file.file_name(), d.location) else {
                continue;
            };
            let key = (file.to_string_lossy().into_owned(), at.line);
            codes.entry(key).or_default().insert(d.code);
        }
        let none = BTreeSet::new();
        for (at, key) in &lines {
            let (first, last, status) = &directives[key];
            let legacy = matches!(status.as_str(), "ignored" | "obsolete")
                && parsed.get(key).is_none_or(|until| release > *until);
            let expected = if release < *first {
                Some("UP102")
            } else if status == "removed" && release > *last {
                Some("UP103")
            } else if legacy {
                Some("UP104")
            } else {
                None
            };
            let got: BTreeSet<&str> = codes
                .get(at)
                .unwrap_or(&none)
                .iter()
                .copied()
                .filter(|c| ["UP102", "UP103", "UP104"].contains(c))
                .collect();
            if got != expected.into_iter().collect() {
                wrong.push(format!(
                    "systemd {release}: {}.{} ({first} {last} {status}): expected {expected:?}, got {got:?}",
                    key.0, key.1
                ));
            }
        }
        for (line, (letter, first)) in &letters {
            let got = codes
                .get(&("s.service".to_string(), *line))
                .is_some_and(|c| c.contains("UP106"));
            if got != (release < *first) {
                wrong.push(format!(
                    "systemd {release}: %{letter} (from {first}): UP106 {got}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong verdicts:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Lint one directive in a unit of `kind` on `profile`: the codes and messages of the
/// diagnostics about its line.
fn lint_directive(kind: &str, section: &str, line: &str, profile: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(format!("t.{kind}")),
        format!("[{section}]\n{line}\n"),
    )
    .unwrap();
    let profile = unitpack::profile::find(profile).unwrap();
    lint::lint_unit_dir(dir.path(), unitpack::unit::Scope::System, profile)
        .unwrap()
        .into_iter()
        .filter(|d| d.location.is_some_and(|l| l.line == 2))
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

#[test]
fn known_directives_have_known_status() {
    let ok: Vec<String> = Vec::new();
    // Deprecated at 256 (obsolete): mapped to Requires=.
    assert_eq!(
        lint_directive(
            "service",
            "Unit",
            "RequiresOverridable=x.service",
            "yocto-styhead"
        ),
        ["UP104 RequiresOverridable= is deprecated"]
    );
    // Ignored at 256, but systemd 229 still parsed it for real (parsed_until 229).
    assert_eq!(
        lint_directive(
            "service",
            "Service",
            "Capabilities=cap_net_raw+ep",
            "ubuntu-xenial"
        ),
        ok
    );
    assert_eq!(
        lint_directive(
            "service",
            "Service",
            "Capabilities=cap_net_raw+ep",
            "ubuntu-bionic"
        ),
        ["UP104 Capabilities= is a legacy directive that systemd ignores"]
    );
    // Only in systemd 247.
    let oom = "ManagedOOMMemoryPressureLimitPercent=50%";
    assert_eq!(
        lint_directive("service", "Service", oom, "ubuntu-focal"),
        ["UP102 ManagedOOMMemoryPressureLimitPercent= in [Service] needs systemd 247; ubuntu-focal has systemd 245"]
    );
    assert_eq!(
        lint_directive("service", "Service", oom, "debian-bullseye"),
        ok
    );
    assert_eq!(
        lint_directive("service", "Service", oom, "ubuntu-jammy"),
        ["UP103 ManagedOOMMemoryPressureLimitPercent= in [Service] was removed after systemd 247; ubuntu-jammy has systemd 249"]
    );
    assert_eq!(
        lint_directive("service", "Unit", "ConditionNull=true", "debian-bookworm"),
        ["UP103 ConditionNull= in [Unit] was removed after systemd 246; debian-bookworm has systemd 252"]
    );
    assert_eq!(
        lint_directive("service", "Service", "ExecStart=/bin/true", "ubuntu-xenial"),
        ok
    );
    assert_eq!(
        lint_directive(
            "service",
            "Service",
            "ExecStartt=/bin/true",
            "ubuntu-xenial"
        ),
        ["UP101 ExecStartt= is not a directive of [Service]"]
    );
}

#[test]
fn cli_text_output_exit_codes_and_deny_warnings() {
    let out = unitpack()
        .args(["lint", "tests/lint/up201-trigger.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error[UP201]"), "{text}");
    assert!(
        text.contains("--> tests/lint/up201-trigger.yaml:16:9"),
        "{text}"
    );
    assert!(text.contains("help: use WantedBy=default.target"), "{text}");

    // Warnings alone pass, unless denied.
    unitpack()
        .args(["lint", "tests/lint/up301-trigger.yaml"])
        .assert()
        .success();
    unitpack()
        .args([
            "lint",
            "tests/lint/up301-trigger.yaml",
            "--deny",
            "warnings",
        ])
        .assert()
        .code(1);
    unitpack()
        .args([
            "lint",
            "tests/lint/up301-near-miss.yaml",
            "--deny",
            "warnings",
        ])
        .assert()
        .success();
}

#[test]
fn cli_json_output() {
    let out = unitpack()
        .args(["lint", "--format", "json", "tests/lint/up101-trigger.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &doc["diagnostics"][0];
    assert_eq!(first["code"], "UP101");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 15);
    assert_eq!(first["column"], 9);
    assert_eq!(first["help"], "did you mean ExecStart=?");
    assert_eq!(
        doc["diagnostics"][1]["help"],
        "Restart= belongs in [Service]"
    );
    assert_eq!(doc["summary"]["errors"], 2);
}

#[test]
fn build_refuses_a_recipe_with_lint_errors() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = unitpack()
        .args(["build", "tests/lint/up102-trigger.yaml", "-o"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("error[UP102]") && stderr.contains("not building"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        0,
        "no package may be written"
    );
}

#[test]
fn allow_needs_a_known_code_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("r.yaml");
    let text = std::fs::read_to_string(corpus_dir().join("up002-trigger.yaml")).unwrap();
    std::fs::write(&recipe, text.replace("code: UP201", "code: UP999")).unwrap();
    let d = lint::lint_files(std::slice::from_ref(&recipe), None).unwrap();
    assert_eq!(
        (d[0].code, d[0].location.map(|l| l.line)),
        ("UP001", Some(14)),
        "{d:?}"
    );
    assert!(
        d[0].message.contains("\"UP999\" is not a lint code"),
        "{d:?}"
    );
    std::fs::write(
        &recipe,
        text.replace("reason: copied from another unit", "reason: \" \""),
    )
    .unwrap();
    let d = lint::lint_files(&[recipe], None).unwrap();
    assert!(d[0].message.contains("say why"), "{d:?}");
}

#[test]
fn bare_unit_files() {
    let out = unitpack()
        .args([
            "lint",
            "--units",
            "tests/lint/units",
            "--scope",
            "system",
            "--target",
            "debian-bookworm",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = doc["diagnostics"].as_array().unwrap();
    let found: Vec<(&str, Option<u64>, &str)> = diags
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap(),
                d["line"].as_u64(),
                d["code"].as_str().unwrap(),
            )
        })
        .collect();
    // pipewire.service is Debian's user unit (WantedBy=default.target): linted as a
    // system unit, UP215 says so.
    assert_eq!(
        found,
        [
            ("tests/lint/units/pipewire.service", Some(33), "UP215"),
            ("tests/lint/units/typo.service", Some(6), "UP101"),
        ],
        "{doc}"
    );
}

/// Every unit a distribution root ships under /usr/lib/systemd and /lib/systemd, linted
/// against debian-bookworm: no errors and no warnings about directives (the root is
/// Debian 12, e.g. from `tests/support/make-root`). Runs when UNITPACK_REAL_UNITS_ROOT
/// is set; a root without unit files is a failure.
#[test]
fn real_units_of_a_debian_12_root() {
    let Ok(root) = std::env::var("UNITPACK_REAL_UNITS_ROOT") else {
        return;
    };
    let profile = unitpack::profile::find("debian-bookworm").unwrap();
    let mut linted = 0;
    let mut problems = Vec::new();
    for (dir, scope) in [
        ("usr/lib/systemd/system", unitpack::unit::Scope::System),
        ("usr/lib/systemd/user", unitpack::unit::Scope::User),
        ("lib/systemd/system", unitpack::unit::Scope::System),
        ("lib/systemd/user", unitpack::unit::Scope::User),
    ] {
        let dir = Path::new(&root).join(dir);
        if !dir.is_dir() {
            continue;
        }
        linted += std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
            .count();
        problems.extend(lint::lint_unit_dir(&dir, scope, profile).unwrap());
    }
    assert!(
        linted > 50,
        "UNITPACK_REAL_UNITS_ROOT={root} has only {linted} unit files"
    );
    let serious: Vec<_> = problems
        .iter()
        .filter(|d| d.severity > lint::Severity::Info)
        .collect();
    assert!(serious.is_empty(), "{}", lint::render_text(&problems));
}

#[test]
fn docs_list_every_code_with_its_severity() {
    let docs = std::fs::read_to_string(repo().join("docs/lint.md")).unwrap();
    for code in lint::codes() {
        let row = format!(
            "| {} | {} | {} |",
            code.id,
            code.severity.as_str(),
            code.summary
        );
        assert!(
            docs.contains(&row),
            "docs/lint.md lacks or differs for: {row}"
        );
    }
}

/// Bare unit files have no target of their own: without --target the default is named.
#[test]
fn bare_units_say_which_target_they_assume() {
    let out = unitpack()
        .args(["lint", "--units", "tests/lint/units", "--scope", "system"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: no --target given; linting for ubuntu-xenial (the default)"),
        "{stderr}"
    );
    let out = unitpack()
        .args([
            "lint",
            "--units",
            "tests/lint/units",
            "--scope",
            "system",
            "--target",
            "debian-bookworm",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("no --target given"));
}

/// A directive too new for the target names the form the target's systemd reads, when
/// there is one; otherwise it says to remove it.
#[test]
fn version_errors_name_the_targets_own_form() {
    let (dir, recipe) = common::recipe_dir(
        &common::MINIMAL.replace(
            "      Unit:\n        Description: Demo\n",
            "      Unit:\n        Description: Demo\n        StartLimitIntervalSec: 10\n",
        ),
        &[],
    );
    let out = unitpack().arg("lint").arg(&recipe).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("help: systemd 229 reads it as StartLimitInterval= in [Unit] or StartLimitInterval= in [Service]; or pick a target with systemd >= 230"),
        "{text}"
    );
    let out = unitpack()
        .arg("lint")
        .arg(&recipe)
        .args(["--target", "debian-bookworm"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(dir);
}

/// The directive table of systemd 229's unit-file parser (`Section.Name` → parser and
/// its argument), read from `src/core/load-fragment-gperf.gperf.m4` of the vendored
/// tarball and expanded with `m4 -P` as 229's build does. None when the tarball or a
/// tool is missing (see `unavailable`); a tarball with another sha256 is a failure
/// (scripts/vendor/fetch refuses it).
///
/// m4 conditionals: 229 wraps the directives of optional features in
/// `m4_ifdef(FEATURE, real parser, config_parse_warn_compat)`, so a build without the
/// feature still knows the name and only warns that it is not compiled in. The table is
/// expanded with every feature on (Ubuntu's 229 has seccomp, PAM, SELinux, AppArmor)
/// and with every feature off, and the two must name the same directives: lint then
/// treats them all as available in 229 whatever the build options.
fn systemd_229_table() -> Option<BTreeMap<(String, String), (String, String)>> {
    // The tarball pinned in scripts/vendor/SOURCES, from a local copy or the download
    // cache: a test never downloads (scripts/test fetches them first).
    let fetch = std::process::Command::new(repo().join("scripts/vendor/fetch"))
        .args(["--offline", "systemd-229"])
        .output()
        .expect("scripts/vendor/fetch runs");
    let stderr = String::from_utf8_lossy(&fetch.stderr);
    if fetch.status.code() == Some(3) {
        unavailable(stderr.trim());
        return None;
    }
    assert!(fetch.status.success(), "scripts/vendor/fetch: {stderr}");
    let tarball = PathBuf::from(String::from_utf8(fetch.stdout).unwrap().trim());
    let source = std::process::Command::new("tar")
        .args(["-xJOf", tarball.to_str().unwrap(), "--wildcards"])
        .arg("*/src/core/load-fragment-gperf.gperf.m4")
        .output()
        .expect("tar runs");
    assert!(
        source.status.success() && !source.stdout.is_empty(),
        "tar: {}",
        String::from_utf8_lossy(&source.stderr)
    );
    let source = String::from_utf8(source.stdout).unwrap();
    let features: BTreeSet<&str> = source
        .split("m4_ifdef(`")
        .skip(1)
        .filter_map(|rest| rest.split_once('\''))
        .map(|(name, _)| name)
        .collect();
    assert!(features.contains("HAVE_SECCOMP"), "{features:?}");
    let expand = |defines: &[&str]| -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("load-fragment-gperf.gperf.m4");
        std::fs::write(&file, &source).unwrap();
        let out = std::process::Command::new("m4")
            .arg("-P")
            .args(defines.iter().map(|d| format!("-D{d}")))
            .arg(&file)
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "m4: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8(out.stdout).unwrap())
    };
    let all: Vec<&str> = features.iter().copied().collect();
    let (Some(on), Some(off)) = (expand(&all), expand(&[])) else {
        unavailable("m4 is not installed (scripts/setup installs it)");
        return None;
    };
    let (on, off) = (gperf_entries(&on), gperf_entries(&off));
    assert_eq!(
        on.keys().collect::<Vec<_>>(),
        off.keys().collect::<Vec<_>>(),
        "229 knows other directives when built without {features:?}"
    );
    Some(on)
}

/// The entries after gperf's `%%`: `Section.Name, parser, argument, offset`.
fn gperf_entries(text: &str) -> BTreeMap<(String, String), (String, String)> {
    let (_, body) = text.split_once("\n%%\n").expect("a gperf file");
    let mut entries = BTreeMap::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let key = fields[0].split_once('.').filter(|(s, n)| {
            fields.len() >= 3
                && [s, n]
                    .iter()
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()))
        });
        let Some((section, name)) = key else {
            panic!("not a directive entry of 229's table: {line:?}");
        };
        let value = (fields[1].to_string(), fields[2].to_string());
        entries.insert((section.to_string(), name.to_string()), value);
    }
    entries
}

/// Every directive systemd 229's parser knows, lint knows as available on
/// ubuntu-xenial (systemd 229), and nothing else; lint calls a directive legacy
/// (UP104) exactly where 229 only warns (ignored legacy name, or deprecated). Checked
/// on the data rows and through lint itself, on one unit per unit type with every
/// directive of its sections.
#[test]
fn lint_knows_what_systemd_229_parses() {
    let Some(parsed) = systemd_229_table() else {
        return;
    };
    let data = std::fs::read_to_string(repo().join("data/systemd-directives.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = data
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let available: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|r| r[2].parse::<u32>().unwrap() <= 229 && 229 <= r[3].parse::<u32>().unwrap())
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    let known: BTreeSet<(String, String)> = parsed.keys().cloned().collect();
    assert_eq!(known.len(), 639, "229's table changed size");
    let lacking: Vec<_> = known.difference(&available).collect();
    let extra: Vec<_> = available.difference(&known).collect();
    assert!(
        lacking.is_empty() && extra.is_empty(),
        "data/systemd-directives.tsv disagrees with systemd 229's parser:\n\
         parsed by 229 but not available in 229 per the data: {lacking:?}\n\
         available in 229 per the data but not parsed by 229: {extra:?}"
    );

    // Through lint: every directive of the data and of 229, in the unit type that
    // reads its section. [BusName] belongs to .busname units, a type unitpack does not
    // ship (229 only runs them with kdbus): checked on the data rows above only.
    let profile = unitpack::profile::find("ubuntu-xenial").unwrap();
    assert_eq!(profile.systemd, 229);
    let all: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .chain(known.iter().cloned())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (files, lines) = probe_units(&all);
    for (file, text) in &files {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let diagnostics =
        lint::lint_unit_dir(dir.path(), unitpack::unit::Scope::System, profile).unwrap();
    let mut verdicts: BTreeMap<(String, String), BTreeSet<&str>> = BTreeMap::new();
    for d in &diagnostics {
        let (Some(file), Some(at)) = (d.file.file_name(), d.location) else {
            continue;
        };
        let key = (file.to_string_lossy().into_owned(), at.line);
        if let Some(directive) = lines.get(&key) {
            verdicts
                .entry(directive.clone())
                .or_default()
                .insert(d.code);
        }
    }
    assert!(
        !diagnostics
            .iter()
            .any(|d| ["UP001", "UP105"].contains(&d.code)),
        "{}",
        lint::render_text(&diagnostics)
    );
    let mut wrong = Vec::new();
    let mut checked = 0;
    for directive in lines.values() {
        let codes = verdicts.get(directive).cloned().unwrap_or_default();
        let lint_available = !["UP101", "UP102", "UP103"]
            .iter()
            .any(|c| codes.contains(c));
        let lint_legacy = codes.contains("UP104");
        let in_229 = parsed.get(directive);
        let legacy_229 = in_229.is_some_and(|(parser, arg)| {
            (parser == "config_parse_warn_compat" && arg == "DISABLED_LEGACY")
                || parser.starts_with("config_parse_obsolete")
        });
        checked += 1;
        if lint_available != in_229.is_some() || lint_legacy != legacy_229 {
            wrong.push(format!(
                "{}.{}: 229 parses it with {in_229:?}; lint on xenial says {codes:?}",
                directive.0, directive.1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "lint disagrees with systemd 229's parser on {} of {checked} directives:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let parsed_checked = lines.values().filter(|d| parsed.contains_key(*d)).count();
    assert_eq!(
        parsed_checked,
        639 - 8,
        "every non-BusName directive of 229 went through lint"
    );
}

/// `lint --units` reports what it does not read instead of skipping it in silence: a
/// symlink named like a unit is UP004 (info), a FIFO named like a unit is bad input
/// (UP001); a regular unit file beside them (the near miss) gets neither.
#[test]
fn units_dir_reports_symlinks_and_special_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ok.service"), "[Service]\nExecStart=/bin/true\n").unwrap();
    std::os::unix::fs::symlink("/dev/null", d.join("masked.service")).unwrap();
    std::os::unix::fs::symlink("ok.service", d.join("alias.service")).unwrap();
    std::fs::write(d.join("README"), "not a unit\n").unwrap();
    std::fs::create_dir(d.join("multi-user.target.wants")).unwrap();
    let profile = unitpack::profile::find("ubuntu-xenial").unwrap();
    let found = |diagnostics: &[lint::Diagnostic]| -> BTreeSet<(String, &'static str)> {
        diagnostics
            .iter()
            .map(|x| {
                let name = x.file.file_name().unwrap().to_string_lossy().into_owned();
                (name, x.code)
            })
            .collect()
    };
    let diagnostics = lint::lint_unit_dir(d, unitpack::unit::Scope::System, profile).unwrap();
    assert_eq!(
        found(&diagnostics),
        BTreeSet::from([
            ("alias.service".to_string(), "UP004"),
            ("masked.service".to_string(), "UP004"),
        ]),
        "{}",
        lint::render_text(&diagnostics)
    );
    assert!(run("mkfifo", &[d.join("f.service").to_str().unwrap()])
        .status
        .success());
    let out = unitpack()
        .args(["lint", "--scope", "system", "--format", "json", "--units"])
        .arg(d)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fifo = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["file"].as_str().unwrap().ends_with("/f.service"))
        .unwrap_or_else(|| panic!("no diagnostic for the FIFO: {doc}"));
    assert_eq!(fifo["code"], "UP001");
    assert!(fifo["message"].as_str().unwrap().contains("is a FIFO"));
    assert_eq!(out.status.code(), Some(2));
}

/// Scope lint against systemd 252's own verifier: where `systemd-analyze verify` says a
/// hard dependency is "not found" in the unit's manager (a system unit requiring
/// graphical-session.target, a user unit requiring network-online.target), lint says
/// UP216/UP217 error on that line; a soft dependency, which the verifier passes, is a
/// warning. (`[Install]` and `Also=` it does not check at all: UP216 on `WantedBy=`
/// and UP218 are lint's alone.)
#[test]
fn scope_lint_agrees_with_systemd_analyze_verify() {
    if !common::available("systemd-analyze", "systemd-analyze verify is the reference") {
        return;
    }
    let cases = [
        ("system", "a.service", "graphical-session.target", "UP216"),
        ("user", "b.service", "network-online.target", "UP217"),
    ];
    for (scope, name, dep, code) in cases {
        for (key, hard) in [("Requires", true), ("After", false)] {
            let dir = tempfile::tempdir().unwrap();
            let units = dir.path().join("units");
            std::fs::create_dir(&units).unwrap();
            let wanted = if scope == "user" {
                "default.target"
            } else {
                "multi-user.target"
            };
            std::fs::write(
                units.join(name),
                format!("[Unit]\nDescription=t\n{key}={dep}\n\n[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy={wanted}\n"),
            )
            .unwrap();
            let runtime = dir.path().join("run");
            std::fs::create_dir(&runtime).unwrap();
            let mut verify = std::process::Command::new("systemd-analyze");
            if scope == "user" {
                verify.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
            }
            let v = verify.arg("verify").arg(units.join(name)).output().unwrap();
            let said = String::from_utf8_lossy(&v.stderr).into_owned();
            let not_found = said.contains(&format!("Unit {dep} not found"));
            assert_eq!(not_found, hard, "systemd-analyze on {key}={dep}: {said}");
            assert_eq!(v.status.success(), !hard, "{said}");

            let out = unitpack()
                .args([
                    "lint",
                    "--format",
                    "json",
                    "--target",
                    "debian-bookworm",
                    "--scope",
                    scope,
                    "--units",
                ])
                .arg(&units)
                .output()
                .unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let found: Vec<(String, u64, String)> = doc["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["code"].as_str().unwrap().to_string(),
                        d["line"].as_u64().unwrap(),
                        d["severity"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let severity = if hard { "error" } else { "warning" };
            assert_eq!(
                found,
                [(code.to_string(), 3, severity.to_string())],
                "{key}={dep}"
            );
        }
    }
}
