//! What a new user meets in the first hour (issue 25, items 7 to 11), each as the user
//! meets it: through the binary, a shell's completion, dpkg-deb and man's own format.

mod common;

use common::{repo, run, seed, unitpack};
use std::path::Path;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Item 7: no recipe named and no recipes/ directory: the default is said, and the
/// recipe file beside the user is what the message tells them to type.
#[test]
fn without_recipes_dir_the_file_here_is_suggested() {
    let dir = tempfile::tempdir().unwrap();
    let none = unitpack()
        .current_dir(dir.path())
        .arg("build")
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    let text = stderr_of(&none);
    assert!(text.contains("reads every recipe in recipes/"), "{text}");
    assert!(text.contains("unitpack new my-sync"), "{text}");

    std::fs::copy(
        seed("pulseaudio-user.yaml"),
        dir.path().join("my-sync.yaml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a recipe").unwrap();
    for command in ["build", "lint", "yocto"] {
        let out = unitpack()
            .current_dir(dir.path())
            .arg(command)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        let text = stderr_of(&out);
        assert!(
            text.contains(&format!("run `unitpack {command} my-sync.yaml`")),
            "{command}: {text}"
        );
        assert!(!text.contains("notes.txt"), "{text}");
    }
    // Nothing was written beside them.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["my-sync.yaml", "notes.txt"]);

    std::fs::copy(seed("pulseaudio-seat.yaml"), dir.path().join("b.yml")).unwrap();
    let out = unitpack()
        .current_dir(dir.path())
        .arg("build")
        .output()
        .unwrap();
    let text = stderr_of(&out);
    assert!(
        text.contains("`unitpack build b.yml my-sync.yaml`"),
        "{text}"
    );
}

/// Item 7: a unit file below a directory that does not exist is named whole, with the
/// directory that is missing.
#[test]
fn a_missing_unit_file_is_named_whole() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("my-sync.yaml");
    let text = std::fs::read_to_string(seed("pulseaudio-user.yaml")).unwrap();
    let at = text.find("    sections:").unwrap();
    let head = &text[..at];
    // The first unit is written in the recipe; point it at a file instead.
    std::fs::write(&recipe, format!("{head}    file: units/my-sync.service\n")).unwrap();
    let out = unitpack()
        .current_dir(dir.path())
        .args(["build", "my-sync.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = stderr_of(&out);
    assert!(
        text.contains("units/my-sync.service: No such file or directory")
            && text.contains("there is no directory units"),
        "{text}"
    );
    assert!(
        text.contains("my-sync.yaml:"),
        "names the recipe and line: {text}"
    );
}

/// The profiles, as `unitpack profiles` lists them.
fn profiles() -> Vec<String> {
    let out = unitpack().arg("profiles").output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// Item 9: bash's completion of `--target <TAB>` is the profiles (verify's: the two it
/// boots), for every command that takes `--target`; the fish script offers them too.
#[test]
fn target_completes_with_profiles_in_bash_and_fish() {
    let script = tempfile::NamedTempFile::new().unwrap();
    let out = unitpack().args(["completions", "bash"]).output().unwrap();
    std::fs::write(script.path(), &out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A file that a file-name completion would offer.
    std::fs::write(dir.path().join("my-sync.yaml"), "").unwrap();
    let profiles = profiles();
    assert!(profiles.len() >= 10, "{profiles:?}");
    for command in ["build", "lint", "render", "new", "verify"] {
        let line = format!(
            "source {}; COMP_WORDS=(unitpack {command} --target ''); COMP_CWORD=3; \
             _unitpack unitpack '' --target; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.path().display()
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &line])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let offered: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let expected: Vec<String> = if command == "verify" {
            vec!["debian-bookworm".into(), "ubuntu-xenial".into()]
        } else {
            profiles.clone()
        };
        let mut sorted = offered.clone();
        sorted.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(sorted, want, "bash: unitpack {command} --target <TAB>");
    }
    let fish = unitpack().args(["completions", "fish"]).output().unwrap();
    let fish = String::from_utf8(fish.stdout).unwrap();
    // One `complete` statement per option; its values may span lines.
    let lines: Vec<&str> = fish
        .split("\ncomplete ")
        .filter(|l| l.contains(" -l target "))
        .collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    for line in lines {
        // `-f`: no file names; `-a`: the values.
        assert!(line.contains(" -f -a "), "fish: {line}");
        assert!(line.contains("debian-bookworm"), "fish: {line}");
    }
}

/// Item 10: the progress count is of packages written: when the callback hears of a
/// package, its file is there, with one or several packages at once.
#[test]
fn progress_counts_packages_written() {
    use unitpack::format::Packager;
    let recipes: Vec<_> = [
        "pulseaudio-user.yaml",
        "pulseaudio-seat.yaml",
        "pulseaudio-root-path.yaml",
    ]
    .iter()
    .map(|r| unitpack::recipe::load(&seed(r), None).unwrap())
    .collect();
    let plans: Vec<_> = recipes
        .iter()
        .map(|r| unitpack::plan::Plan::new(r).unwrap())
        .collect();
    for jobs in [1, 3] {
        let out = tempfile::tempdir().unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let finished = |plan: &unitpack::plan::Plan| {
            let name = &plan.package().name;
            let there = std::fs::read_dir(out.path()).unwrap().any(|e| {
                let f = e.unwrap().file_name().into_string().unwrap();
                f.starts_with(&format!("{name}_")) && f.ends_with(".deb")
            });
            seen.lock().unwrap().push((name.clone(), there));
        };
        let debs = unitpack::deb::Debs {
            out_dir: out.path(),
            mtime: 0,
            jobs,
            finished: &finished,
        };
        let written = debs.write(&plans).unwrap();
        assert!(written.iter().all(Result::is_ok));
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), plans.len(), "jobs {jobs}");
        assert!(
            seen.iter().all(|(_, there)| *there),
            "jobs {jobs}: {seen:?}"
        );
    }
}

/// Item 11: subcommand man pages name the program and its version in the footer.
#[test]
fn every_man_page_shows_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = unitpack()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let version = format!("\"unitpack {}\"", env!("CARGO_PKG_VERSION"));
    let mut pages = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let th = text.lines().find(|l| l.starts_with(".TH ")).unwrap();
        assert!(th.contains(&version), "{}: {th}", path.display());
        pages += 1;
    }
    assert!(pages >= 12, "{pages} pages");
    assert!(dir.path().join("unitpack-build.1").is_file());
}

/// Item 11: a native version gets `changelog.gz`, one with a revision
/// `changelog.Debian.gz` (what the README's listing and docs/recipe.md say).
#[test]
fn changelog_name_follows_the_version() {
    let out = tempfile::tempdir().unwrap();
    let listing = |deb: &Path| {
        let o = run("dpkg-deb", &["-c", deb.to_str().unwrap()]);
        String::from_utf8(o.stdout).unwrap()
    };
    let with_revision = common::build(&seed("pulseaudio-user.yaml"), out.path());
    let text = listing(&with_revision);
    assert!(text.contains("/changelog.Debian.gz"), "{text}");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("changelog.Debian.gz"));
    let (_dir, recipe) =
        common::recipe_dir(&common::MINIMAL.replace("  revision: \"1\"\n", ""), &[]);
    let native = common::build(&recipe, out.path());
    let text = listing(&native);
    assert!(
        text.contains("/changelog.gz") && !text.contains("changelog.Debian.gz"),
        "{text}"
    );
}

/// Item 11: `build` counts infos as `lint` does (it shows only warnings and errors).
#[test]
fn build_and_lint_count_alike() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(seed("pulseaudio-user.yaml")).unwrap();
    // A user unit with User= (UP202, an error) beside the seed's UP303 note.
    let text = text.replacen(
        "        ExecStart: /usr/bin/pulseaudio --daemonize=no\n",
        "        ExecStart: /usr/bin/pulseaudio --daemonize=no\n        User: root\n",
        1,
    );
    let recipe = dir.path().join("r.yaml");
    std::fs::write(&recipe, text).unwrap();
    let lint = unitpack().arg("lint").arg(&recipe).output().unwrap();
    let build = unitpack()
        .arg("build")
        .arg(&recipe)
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let counts = "1 error, 0 warnings, 1 info";
    assert!(stderr_of(&lint).contains(counts), "{}", stderr_of(&lint));
    assert!(stderr_of(&build).contains(counts), "{}", stderr_of(&build));
    assert!(!dir.path().join("out").exists());
}
