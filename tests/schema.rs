//! The recipe JSON Schema (`unitpack schema`, committed as docs/recipe.schema.json):
//! it matches what the serde types accept, every recipe unitpack accepts validates
//! against it, and `unitpack new` writes recipes that load and lint clean.

mod common;

use common::{repo, unitpack};
use std::path::{Path, PathBuf};

fn generated_schema() -> serde_json::Value {
    let out = unitpack().arg("schema").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new() -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource("recipe.schema.json", generated_schema())
            .unwrap();
        let index = compiler
            .compile("recipe.schema.json", &mut schemas)
            .expect("the schema is a valid JSON Schema");
        Validator { schemas, index }
    }

    fn check(&self, yaml: &str) -> Result<(), String> {
        let value: serde_json::Value =
            serde_yaml::from_str(yaml).map_err(|e| format!("not YAML: {e}"))?;
        self.schemas
            .validate(&value, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            yaml_files(&path, out);
        } else if meta.is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        {
            out.push(path);
        }
    }
}

#[test]
fn committed_schema_is_the_generated_one() {
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/recipe.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(
        committed == generated_schema(),
        "docs/recipe.schema.json is stale: run `cargo run -- schema > docs/recipe.schema.json`"
    );
}

/// Every recipe under recipes/ and tests/ that unitpack loads validates against the
/// schema; the schema may be looser than the loader (it cannot check names, paths or
/// versions), never stricter. Recipes the loader refuses must include every one the
/// schema refuses.
#[test]
fn schema_accepts_every_recipe_unitpack_accepts() {
    let validator = Validator::new();
    let mut files = Vec::new();
    yaml_files(&repo().join("recipes"), &mut files);
    yaml_files(&repo().join("tests"), &mut files);
    let (mut accepted, mut refused_by_both) = (0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Only recipes: other YAML under tests/ (snapshots, lint data) is not one.
        if !text.lines().any(|l| l.starts_with("package:")) {
            continue;
        }
        let loads = unitpack::recipe::load(file, None).is_ok();
        match (loads, validator.check(&text)) {
            (true, Ok(())) => accepted += 1,
            (true, Err(e)) => panic!("{} loads but the schema refuses it:\n{e}", file.display()),
            (false, Err(_)) => refused_by_both += 1,
            (false, Ok(())) => {}
        }
    }
    assert!(accepted >= 2, "only {accepted} recipes were checked");
    eprintln!("{accepted} recipes accepted by both, {refused_by_both} refused by both");
}

/// The documented example recipes: the full one of docs/recipe.md ("## A recipe") and
/// the README's ("## In 30 seconds"), each the first ```yaml block of its section.
#[test]
fn documented_examples_validate() {
    let validator = Validator::new();
    for (file, heading) in [
        ("docs/recipe.md", "A recipe"),
        ("README.md", "In 30 seconds"),
    ] {
        let doc = std::fs::read_to_string(repo().join(file)).unwrap();
        let section = doc
            .split(&format!("\n## {heading}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("{file} has a section {heading:?}"));
        let example = section
            .split("```yaml\n")
            .nth(1)
            .and_then(|s| s.split("\n```").next())
            .unwrap_or_else(|| panic!("a ```yaml block under {heading:?} in {file}"));
        validator
            .check(example)
            .unwrap_or_else(|e| panic!("{file}, {heading:?}: {e}"));
    }
}

#[test]
fn schema_refuses_what_the_loader_refuses_structurally() {
    let validator = Validator::new();
    let base =
        "package: {name: x1, version: '1', maintainer: A <a@b.c>, summary: s, license: MIT}\n";
    assert!(validator.check(base).is_ok());
    for bad in [
        "bogus: 1\n",
        "units: [{scope: galaxy}]\n",
        "units: [{scope: user, enable: sometimes}]\n",
        "compression: zstd\n",
        "target: ubuntu-hirsute\n",
        "units: [{scope: user, sections: {Service: {ExecStart: {a: b}}}}]\n",
    ] {
        assert!(
            validator.check(&format!("{base}{bad}")).is_err(),
            "the schema accepts {bad:?}"
        );
    }
}

#[test]
fn new_writes_recipes_that_load_and_lint_clean_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let unit = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let service = unit(
        "backup.service",
        "[Unit]\nDescription=Backup\n[Service]\nType=oneshot\nExecStart=/usr/bin/backup\n",
    );
    let timer = unit(
        "backup.timer",
        "[Unit]\nDescription=Nightly\n[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n",
    );
    let user = unit(
        "sync.service",
        "[Service]\nExecStart=/usr/bin/sync-daemon\nEnvironment=A=1\nEnvironment=B=2\n[Install]\nWantedBy=default.target\n",
    );
    let validator = Validator::new();
    for (name, from) in [
        ("starter", vec![]),
        ("my-backup", vec![&service, &timer]),
        ("my-sync", vec![&user]),
    ] {
        let out = dir.path().join(format!("{name}.yaml"));
        let mut cmd = unitpack();
        cmd.args(["new", name, "--target", "debian-bookworm", "-o"])
            .arg(&out);
        for f in &from {
            cmd.arg("--from").arg(f);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&out).unwrap();
        validator.check(&text).unwrap();
        let recipe = unitpack::recipe::load(&out, None).unwrap();
        let findings = unitpack::lint::lint_recipe(&recipe);
        assert!(
            findings.is_empty(),
            "{name}: {}",
            unitpack::lint::render_text(&findings)
        );
        if name == "my-backup" {
            let timer = recipe
                .units
                .iter()
                .find(|u| u.name.as_str() == "backup.timer")
                .unwrap();
            assert_eq!(timer.scope, unitpack::unit::Scope::System);
            assert_eq!(timer.enable, unitpack::unit::Enablement::EnableAndStart);
            let service = recipe
                .units
                .iter()
                .find(|u| u.name.as_str() == "backup.service")
                .unwrap();
            assert_eq!(service.enable, unitpack::unit::Enablement::None);
        }
        if name == "my-sync" {
            assert_eq!(recipe.units[0].scope, unitpack::unit::Scope::User);
            assert_eq!(
                recipe.units[0].list("Service", "Environment"),
                ["A=1", "B=2"]
            );
        }
        // A second run refuses to overwrite and leaves the file as it was.
        let again = unitpack()
            .args(["new", name, "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(2));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    }
}

#[test]
fn completions_and_man_page_come_from_the_command_line_definition() {
    let bash = unitpack().args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success());
    let bash = String::from_utf8(bash.stdout).unwrap();
    for sub in ["build", "lint", "yocto", "new", "schema"] {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    let check = std::process::Command::new("bash")
        .args(["-n", "-c", &bash])
        .status()
        .unwrap();
    assert!(check.success(), "bash completion does not parse");

    let dir = tempfile::tempdir().unwrap();
    let o = unitpack()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let page = std::fs::read_to_string(dir.path().join("unitpack.1")).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH unitpack"),
        "{page}"
    );
    assert!(dir.path().join("unitpack-build.1").exists());
    // man(1) renders it without warnings when it is installed.
    if let Ok(o) = std::process::Command::new("man")
        .args(["--warnings", "-l", "-Tutf8"])
        .arg(dir.path().join("unitpack.1"))
        .output()
    {
        if o.status.success() {
            assert!(String::from_utf8_lossy(&o.stdout).contains("unitpack"));
        }
    }
}
