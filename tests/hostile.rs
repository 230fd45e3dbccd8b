//! The hostile-input corpus (`tests/hostile/CLASS/CASE/`): recipes and fixture trees
//! that once got through (issue 10), one directory a case. Each case has an `expect`
//! file:
//!
//! ```text
//! commands: build yocto render lint   # the commands that must refuse it
//! file: recipe.yaml                   # the file the error names (RENAMED: see setup)
//! line: 20                            # its line, or none
//! field: units[0].sections.Install.WantedBy
//! message: contains ';'
//! setup: symlink d /etc               # fixtures git cannot hold, made here
//! ```
//!
//! Every command must exit 2 within a bounded time, name the file, line and field, and
//! write nothing: the output directory keeps only what was there, no temporary file is
//! left, and the case's own tree is unchanged.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

struct Expect {
    commands: Vec<String>,
    file: String,
    line: Option<usize>,
    field: String,
    message: String,
    setup: Vec<Vec<String>>,
}

fn parse_expect(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).unwrap();
    let mut e = Expect {
        commands: Vec::new(),
        file: String::new(),
        line: None,
        field: String::new(),
        message: String::new(),
        setup: Vec::new(),
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (key, value) = line
            .split_once(": ")
            .unwrap_or((line.trim_end_matches(':'), ""));
        match key {
            "commands" => e.commands = value.split_whitespace().map(String::from).collect(),
            "file" => e.file = value.into(),
            "line" => e.line = value.parse().ok(),
            "field" => e.field = value.into(),
            "message" => e.message = value.into(),
            "setup" => e.setup.push(words(value)),
            other => panic!("{}: unknown key {other:?}", path.display()),
        }
    }
    e
}

/// Words of a setup line; double quotes group, with the escapes \n \t \v \f \0 \\ \".
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    let mut current: Option<String> = None;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                current.get_or_insert_with(String::new);
            }
            '\\' if quoted => {
                let escaped = match chars.next().unwrap() {
                    'n' => '\n',
                    't' => '\t',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    '0' => '\0',
                    other => other,
                };
                current.get_or_insert_with(String::new).push(escaped);
            }
            c if c.is_whitespace() && !quoted => {
                if let Some(w) = current.take() {
                    out.push(w);
                }
            }
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(current);
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn euid_is_root() -> bool {
    stdout("id", &["-u"]).trim() == "0"
}

/// Make the fixtures of `setup` in `dir`; returns the new name of a renamed recipe.
/// None when the case cannot be set up here (a device node needs root).
fn set_up(dir: &Path, setup: &[Vec<String>]) -> Option<Option<PathBuf>> {
    let mut renamed = None;
    for step in setup {
        let arg = |i: usize| dir.join(&step[i]);
        std::fs::create_dir_all(arg(1).parent().unwrap()).unwrap();
        match step[0].as_str() {
            "rename" => {
                std::fs::rename(arg(1), dir.join(&step[2])).unwrap();
                renamed = Some(dir.join(&step[2]));
            }
            "symlink" => {
                std::os::unix::fs::symlink(&step[2], arg(1)).unwrap();
            }
            "fifo" => {
                let _ = std::fs::remove_file(arg(1));
                assert!(run("mkfifo", &[arg(1).to_str().unwrap()]).status.success());
            }
            "socket" => {
                drop(std::os::unix::net::UnixListener::bind(arg(1)).unwrap());
            }
            "chardev" => {
                if !euid_is_root() {
                    common::unavailable("mknod needs root (CI runs the tests as root)");
                    return None;
                }
                let _ = std::fs::remove_file(arg(1));
                let out = run("mknod", &[arg(1).to_str().unwrap(), "c", "1", "5"]);
                assert!(out.status.success(), "mknod: {out:?}");
            }
            "sparse" => {
                let f = std::fs::File::create(arg(1)).unwrap();
                f.set_len(step[2].parse().unwrap()).unwrap();
            }
            "write" => std::fs::write(arg(1), &step[2]).unwrap(),
            "repeat" => {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(arg(1))
                    .unwrap();
                let n: usize = step[3].parse().unwrap();
                f.write_all(step[2].repeat(n).as_bytes()).unwrap();
            }
            other => panic!("unknown setup step {other:?}"),
        }
    }
    Some(renamed)
}

/// Every entry below `dir` (not following symlinks), with its type and size.
fn listing(dir: &Path) -> BTreeMap<PathBuf, String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let m = e.path().symlink_metadata().unwrap();
            (
                e.path().to_path_buf(),
                format!("{:?} {}", m.file_type(), m.len()),
            )
        })
        .collect()
}

/// unitpack, or the build `UNITPACK_HOSTILE_BIN` names (to see the corpus fail on a
/// build without the fixes).
/// Every run is held to `MAX_ADDRESS_SPACE` (prlimit --as): a command that reads a
/// 1 GiB sparse fixture whole fails the case by running out of memory.
fn binary() -> assert_cmd::Command {
    let bin = std::env::var_os("UNITPACK_HOSTILE_BIN")
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("unitpack").into());
    let mut cmd = assert_cmd::Command::new("prlimit");
    cmd.arg(format!("--as={MAX_ADDRESS_SPACE}"))
        .arg("--")
        .arg(bin)
        .current_dir(repo())
        .env("SOURCE_DATE_EPOCH", EPOCH);
    cmd
}

/// A build of a real recipe runs in 256 MiB of address space; this leaves room.
const MAX_ADDRESS_SPACE: u64 = 512 << 20;

/// Run one case; returns its failures.
fn check_case(case: &Path) -> Vec<String> {
    let expect = parse_expect(&case.join("expect"));
    let mut failures = Vec::new();
    for command in &expect.commands {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("case");
        copy_tree(case, &dir);
        std::fs::remove_file(dir.join("expect")).unwrap();
        let Some(renamed) = set_up(&dir, &expect.setup) else {
            continue;
        };
        let file = match renamed {
            Some(r) if expect.file == "RENAMED" => r,
            _ => dir.join(&expect.file),
        };
        let out = work.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("keep"), "the user's file\n").unwrap();
        let before = listing(&dir);

        let recipe = if file.extension().is_some_and(|e| e == "yaml") {
            file.clone()
        } else {
            dir.join("recipe.yaml")
        };
        let mut cmd = binary();
        cmd.timeout(TIMEOUT);
        match command.as_str() {
            "build" => cmd.arg("build").arg(&dir).arg("-o").arg(out.join("debs")),
            "yocto" => cmd.arg("yocto").arg(&dir).arg("-o").arg(out.join("layer")),
            "render" => cmd.arg("render").arg(&recipe),
            "lint" => cmd.arg("lint").arg(&dir).args(["--format", "json"]),
            // `file` is a unit file: taken in by `new --from`, linted by `lint --units`
            // in its directory.
            "new" => cmd
                .args(["new", "demo-units", "--from"])
                .arg(&file)
                .arg("-o")
                .arg(out.join("new.yaml")),
            "lint-units" => cmd
                .args(["lint", "--scope", "system", "--format", "json", "--units"])
                .arg(file.parent().unwrap()),
            other => panic!("unknown command {other}"),
        };
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let mut fail = |what: String| {
            failures.push(format!(
                "{} [{command}]: {what}\nstderr: {stderr}",
                case.display()
            ))
        };
        if output.status.code() != Some(2) {
            fail(format!("exit {:?}, not 2", output.status));
        }
        let file_text = file.display().to_string();
        if command == "lint" || command == "lint-units" {
            let doc: serde_json::Value = match serde_json::from_str(&stdout) {
                Ok(d) => d,
                Err(e) => {
                    fail(format!("lint output is not JSON ({e}): {stdout}"));
                    continue;
                }
            };
            let found = doc["diagnostics"].as_array().unwrap().iter().any(|d| {
                d["file"].as_str() == Some(&file_text)
                    && d["line"].as_u64().map(|l| l as usize) == expect.line
                    && d["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(&expect.field) && m.contains(&expect.message))
            });
            if !found {
                fail(format!(
                    "no diagnostic at {file_text}:{:?} with {:?} and {:?}: {stdout}",
                    expect.line, expect.field, expect.message
                ));
            }
        } else {
            let at = match expect.line {
                Some(l) => format!("{file_text}:{l}:"),
                None => format!("{file_text}: "),
            };
            if !stderr.contains(&at) {
                fail(format!("the error does not name {at:?}"));
            }
            if !stderr.contains(&expect.field) || !stderr.contains(&expect.message) {
                fail(format!(
                    "the error lacks {:?} or {:?}",
                    expect.field, expect.message
                ));
            }
            if command == "render" && !stdout.is_empty() {
                fail(format!("render printed files: {stdout}"));
            }
        }
        if stderr.contains("panicked") {
            fail("panic".into());
        }
        let left: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        if left != ["keep"] {
            fail(format!("output directory holds {left:?}"));
        }
        if listing(&dir) != before {
            fail("the recipe's directory changed".into());
        }
    }
    failures
}

fn check_class(class: &str) {
    let root = repo().join("tests/hostile").join(class);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case in {}", root.display());
    let failures: Vec<String> = cases.iter().flat_map(|c| check_case(c)).collect();
    assert!(
        failures.is_empty(),
        "{} of the cases of {class} failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn install_values_are_unit_references() {
    check_class("1-install-refs");
}

#[test]
fn recipe_file_names_cannot_carry_lines() {
    check_class("2-file-name");
}

#[test]
fn control_fields_are_checked_as_written() {
    check_class("3-control");
}

#[test]
fn unit_values_and_duplicate_keys() {
    check_class("4-unit-values");
}

#[test]
fn no_symlink_in_any_source_component() {
    check_class("5-symlinks");
}

#[test]
fn destinations_do_not_collide() {
    check_class("6-collisions");
}

#[test]
fn special_and_huge_files_are_refused_without_blocking() {
    check_class("7-special-files");
}

#[test]
fn recipes_of_one_build_do_not_collide() {
    check_class("8-several-recipes");
}

#[test]
fn names_and_versions_fit_file_systems() {
    check_class("9-lengths");
}

#[test]
fn essential_units_lint_refusals_and_aliases() {
    check_class("12-misc");
}

/// Class 10: `yocto -o` replaces only an empty directory or a layer it generated.
#[test]
fn yocto_replaces_only_its_own_layer() {
    let recipe = seed("pulseaudio-user.yaml");
    let work = tempfile::tempdir().unwrap();
    let yocto = |out: &Path| {
        unitpack()
            .arg("yocto")
            .arg(&recipe)
            .arg("-o")
            .arg(out)
            .timeout(TIMEOUT)
            .output()
            .unwrap()
    };
    // Not a layer: a directory of the user's, one with a look-alike layer.conf, a file
    // and a symlink to a directory.
    let home = work.path().join("home");
    std::fs::create_dir_all(home.join("conf")).unwrap();
    std::fs::write(home.join("thesis.tex"), "years of work\n").unwrap();
    let fake = work.path().join("fake");
    std::fs::create_dir_all(fake.join("conf")).unwrap();
    std::fs::write(fake.join("conf/layer.conf"), "BBPATH .= \":${LAYERDIR}\"\n").unwrap();
    let file = work.path().join("file");
    std::fs::write(&file, "x\n").unwrap();
    let link = work.path().join("link");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    for target in [&home, &fake, &file, &link] {
        let before = listing(work.path());
        let out = yocto(target);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", target.display());
        assert!(
            stderr.contains(&format!("{}: -o: ", target.display())),
            "{stderr}"
        );
        assert_eq!(listing(work.path()), before, "{} changed", target.display());
    }
    // An empty directory, then the layer written there, are replaced.
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for _ in 0..2 {
        let out = yocto(&empty);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(empty.join("conf/layer.conf").is_file());
    }
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary directories left: {left:?}");
}

/// Class 12: scripts of a recipe that enables nothing are shellcheck-clean.
#[test]
fn scripts_that_enable_nothing_are_shellcheck_clean() {
    let nothing = MINIMAL.replace("      Install:\n        WantedBy: default.target\n", "");
    // Enabled, but with no links of its own: its [Install] has only an empty WantedBy=
    // (found by unitpack-fuzz: postrm called its link remover with no links, SC2120).
    let no_links = MINIMAL.replace(
        "        WantedBy: default.target\n",
        "        WantedBy: ''\n",
    );
    assert_ne!(no_links, MINIMAL);
    for text in [nothing, no_links] {
        shellcheck_clean(&text);
    }
}

fn shellcheck_clean(text: &str) {
    let (dir, recipe) = recipe_dir(text, &[]);
    for script in ["postinst", "prerm", "postrm"] {
        let out = unitpack()
            .args(["render", "--only", script])
            .arg(&recipe)
            .output()
            .unwrap();
        assert!(out.status.success());
        let path = dir.path().join(script);
        std::fs::write(&path, &out.stdout).unwrap();
        let check = run("shellcheck", &["-s", "sh", path.to_str().unwrap()]);
        assert!(
            check.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
}

/// Class 12: a reader that closes the pipe early is no reason to panic.
#[test]
fn closed_stdout_is_not_a_panic() {
    let (dir, recipe) = recipe_dir(MINIMAL, &[]);
    let out_dir = dir.path().join("out");
    let commands: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["profiles".into()],
        vec!["render".into(), recipe.clone().into()],
        vec!["lint".into(), recipe.clone().into()],
        vec![
            "build".into(),
            recipe.clone().into(),
            "-o".into(),
            out_dir.clone().into(),
        ],
    ];
    for args in commands {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("unitpack"))
            .args(&args)
            .current_dir(repo())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // what `| head -0` does
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        1,
        "the package is written"
    );
}

/// The generated paths the collision check knows are those the package has.
#[test]
fn collision_check_knows_every_generated_file() {
    for seed_name in ["pulseaudio-user.yaml", "pulseaudio-root-path.yaml"] {
        let recipe = unitpack::recipe::load(&seed(seed_name), None).unwrap();
        let mut known: Vec<String> = recipe.installed().into_iter().map(|f| f.path).collect();
        known.sort();
        let plan = unitpack::plan::Plan::new(&recipe).unwrap();
        let scripts = unitpack::deb::scripts::render(&plan);
        let mut packaged: Vec<String> = unitpack::deb::files(&plan, &scripts, 0)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        packaged.sort();
        assert_eq!(known, packaged, "{seed_name}");
    }
}

/// Relations reach the control file from their parsed form: spacing normalized, and
/// a valid recipe with text in many scripts still builds.
#[test]
fn relations_are_written_from_their_parsed_form() {
    let text = MINIMAL
        .replace(
            "    - dbus-user-session\n",
            "    - \"  dbus-user-session|dbus-x11 ( >=1.0 ) \"\n",
        )
        .replace("Jane Doe", "Zoë Ångström 李");
    let (dir, recipe) = recipe_dir(&text, &[]);
    let deb = build(&recipe, &dir.path().join("out"));
    let depends = stdout("dpkg-deb", &["-f", deb.to_str().unwrap(), "Depends"]);
    assert_eq!(
        depends.trim(),
        "dbus-user-session | dbus-x11 (>= 1.0), unitpack-check"
    );
    let maintainer = stdout("dpkg-deb", &["-f", deb.to_str().unwrap(), "Maintainer"]);
    assert_eq!(maintainer.trim(), "Zoë Ångström 李 <jane@example.org>");
}

/// Issue 21, class 1: block nesting (`- - -`, `? ? ?`, indented maps) is bounded before
/// any parser recurses, as flow nesting was.
#[test]
fn block_nesting_is_bounded_before_parsing() {
    check_class("i21-01-block-nesting");
}

/// Issue 21, class 2: names unitpack derives (followers, drop-in directories) are
/// checked as user-given names are: exit 2 naming the field, never a panic.
#[test]
fn derived_names_are_validated() {
    check_class("i21-02-derived-names");
}

/// Issue 21, class 5: every read is bounded (snippets, `new --from`, `lint --units`,
/// the diagnostic renderer), under a 512 MiB address-space limit.
#[test]
fn reads_are_bounded() {
    check_class("i21-05-unbounded");
}

/// Issue 21, class 5: the text renderer of `lint --units` quotes a unit file through
/// the bounded reader, not by reading a 1 GiB file again.
#[test]
fn lint_text_renderer_reads_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.service");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let out = binary()
        .args(["lint", "--scope", "system", "--units"])
        .arg(dir.path())
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(&format!("{} is larger than", big.display())),
        "{stdout}"
    );
}

/// Issue 21, class 6: YAML numbers reach the unit as written (never re-printed: 0o600
/// was 384) and build refuses the values systemd would ignore.
#[test]
fn numbers_are_copied_and_checked_as_systemd_reads_them() {
    check_class("i21-06-numbers");
}

/// Issue 21, class 6: every YAML number or boolean in a directive is the unit's text as
/// written in the recipe.
#[test]
fn directive_numbers_are_copied_as_written() {
    let values = [
        ("Nice", "-5"),
        ("TimeoutStopSec", "1.5"),
        ("RemainAfterExit", "True"),
        ("LimitNOFILE", "0x400"),
        ("UMask", "0077"),
        ("TasksMax", "1000"),
        ("CPUSchedulingPriority", "+1"),
        ("IOSchedulingPriority", "07"),
    ];
    let lines: String = values
        .iter()
        .map(|(k, v)| format!("        {k}: {v}\n"))
        .collect();
    let text = MINIMAL.replace(
        "        ExecStart: /bin/true\n",
        &format!("        ExecStart: /bin/true\n{lines}"),
    );
    let (_dir, recipe) = recipe_dir(&text, &[]);
    let out = unitpack()
        .args(["render", "--only", "demo.service"])
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit = String::from_utf8(out.stdout).unwrap();
    for (k, v) in values {
        assert!(
            unit.contains(&format!("\n{k}={v}\n")),
            "{k}={v} not in:\n{unit}"
        );
    }
}

/// Issue 21, class 7: unit files that systemd 229 and 252 read differently (or that
/// hide text) are refused by every reader: `file:` units, `new --from`, `lint --units`.
#[test]
fn unit_files_systemd_releases_read_differently() {
    check_class("i21-07-unit-reading");
}

/// Issue 21, class 12: bidi and zero-width characters in values, units that open a
/// root shell, drop-ins that change how an essential unit runs, signed modes, YAML tags.
#[test]
fn hidden_text_root_shells_signed_modes_and_tags() {
    check_class("i21-12-misc");
}
