//! `unitpack lint`: the corpus under tests/lint/, the CLI, and real unit files.
//!
//! Corpus convention: a line `# expect-next: CODE SEVERITY` says that the next line
//! that is not such a comment carries that diagnostic, at the column of its first
//! character (after indentation and a list's "- "). Every diagnostic of a corpus file
//! must be declared, and nothing else may appear: `*-near-miss.yaml` files declare
//! nothing of their own code.

mod common;

use common::{repo, unitpack};
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
    for code in lint::codes() {
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
    // A code's declared severity is its default, except UP207 (Wants= is a warning).
    for f in corpus() {
        for (file, line, _, code, severity) in declared(&f) {
            let c = lint::find_code(&code)
                .unwrap_or_else(|| panic!("{}:{line}: unknown code {code}", file.display()));
            if code != "UP207" {
                assert_eq!(severity, c.severity.as_str(), "{}:{line}", file.display());
            }
        }
    }
}

#[test]
fn seed_recipes_have_no_errors_or_warnings_on_xenial() {
    let files = unitpack::recipe_files(&[repo().join("recipes")]).unwrap();
    let diagnostics = lint::lint_files(&files, Some("ubuntu-xenial")).unwrap();
    let serious: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity > lint::Severity::Info)
        .collect();
    assert!(serious.is_empty(), "{}", lint::render_text(&diagnostics));
}

#[test]
fn generated_table_matches_the_data() {
    // Every row of data/*.tsv is in the embedded table with the same versions: the
    // generated file is not stale.
    let data = std::fs::read_to_string(repo().join("data/systemd-directives.tsv")).unwrap();
    let rows: Vec<&str> = data.lines().skip(1).collect();
    assert_eq!(rows.len(), 1342);
    let table = std::fs::read_to_string(repo().join("src/lint/table.rs")).unwrap();
    for row in rows {
        let f: Vec<&str> = row.split('\t').collect();
        let status = match f[4] {
            "ok" => "Ok",
            "ignored" => "Ignored",
            "obsolete" => "Obsolete",
            "removed" => "Removed",
            other => panic!("status {other}"),
        };
        let entry = format!(
            "(\"{}\", \"{}\", {}, {}, Status::{status}),",
            f[0], f[1], f[2], f[3]
        );
        assert!(
            table.contains(&entry),
            "missing or different in table.rs: {entry}"
        );
    }
    let specifiers = std::fs::read_to_string(repo().join("data/systemd-specifiers.tsv")).unwrap();
    for row in specifiers.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        let letter = f[0].chars().nth(1).unwrap();
        assert!(
            table.contains(&format!("('{letter}', {}, ", f[1])),
            "specifier {}",
            f[0]
        );
    }
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
    assert_eq!(out.status.code(), Some(1));
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
    assert_eq!(diags.len(), 1, "{doc}");
    assert_eq!(diags[0]["file"], "tests/lint/units/typo.service");
    assert_eq!(
        (diags[0]["line"].as_u64(), diags[0]["code"].as_str()),
        (Some(6), Some("UP101"))
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
