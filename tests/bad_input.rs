//! Wrong recipes: a clear error naming file, line and field, exit code 2, and no
//! package (not even a partial one) on disk.

mod common;

use common::*;

/// Build `recipe_text` (with `files` beside it) and expect a bad-input failure whose
/// message contains every one of `expect`.
fn rejects(recipe_text: &str, files: &[(&str, &str)], expect: &[&str]) -> String {
    let (dir, recipe) = recipe_dir(recipe_text, files);
    let out_dir = dir.path().join("out");
    let output = run_build(&recipe, &out_dir);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit 2, got {:?}: {stderr}",
        output.status
    );
    assert!(
        stderr.contains(recipe.to_str().unwrap()) || expect.iter().any(|e| e.contains(".service")),
        "no file name: {stderr}"
    );
    for e in expect {
        assert!(stderr.contains(e), "expected {e:?} in: {stderr}");
    }
    assert!(
        !out_dir.exists() || std::fs::read_dir(&out_dir).unwrap().next().is_none(),
        "output left on disk"
    );
    stderr
}

fn replace(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "{from}");
    MINIMAL.replacen(from, to, 1)
}

#[test]
fn minimal_recipe_builds() {
    let (dir, recipe) = recipe_dir(MINIMAL, &[]);
    build(&recipe, &dir.path().join("out"));
}

#[test]
fn malformed_yaml() {
    let text = replace("  summary: A demo\n", "  summary: [A demo\n");
    rejects(&text, &[], &["recipe.yaml:"]);
}

#[test]
fn unknown_key_names_line_and_field() {
    let text = replace("  license: MIT\n", "  license: MIT\n  licence: MIT\n");
    rejects(
        &text,
        &[],
        &[
            "recipe.yaml:8:3: package.licence:",
            "unknown field `licence`; did you mean `license`?",
        ],
    );
}

#[test]
fn unknown_key_in_unit() {
    let text = replace("    scope: user\n", "    scope: user\n    enabled: true\n");
    rejects(
        &text,
        &[],
        &[
            "recipe.yaml:14:5: units[0].enabled:",
            "unknown field `enabled`; did you mean `enable`?",
        ],
    );
}

#[test]
fn bad_package_name() {
    let text = replace("name: demo-units", "name: Demo_Units");
    rejects(
        &text,
        &[],
        &[
            "recipe.yaml:2:3: package.name:",
            "not a valid Debian package name",
        ],
    );
}

#[test]
fn bad_version_and_revision() {
    let text = replace("version: \"1.0\"", "version: \"v1.0\"");
    rejects(
        &text,
        &[],
        &[
            "recipe.yaml:3:3: package.version:",
            "must start with a digit",
        ],
    );
    let text = replace("revision: \"1\"", "revision: \"1-2\"");
    rejects(&text, &[], &["recipe.yaml:4:3: package.revision:"]);
}

#[test]
fn bad_relation() {
    let text = replace(
        "    - dbus-user-session\n",
        "    - dbus-user-session (>= 1.0\n",
    );
    rejects(
        &text,
        &[],
        &["recipe.yaml:9:7: package.depends[0]:", "missing ')'"],
    );
}

#[test]
fn unit_name_with_shell_metacharacters() {
    for bad in [
        "demo;reboot.service",
        "$(touch x).service",
        "demo`id`.service",
        "../../etc/x.service",
    ] {
        let text = replace("- name: demo.service", &format!("- name: \"{bad}\""));
        rejects(&text, &[], &["recipe.yaml:12:5: units[0].name:"]);
    }
}

#[test]
fn unit_name_with_unknown_type() {
    let text = replace("- name: demo.service", "- name: demo.exe");
    rejects(&text, &[], &["units[0].name:", "not a unit type"]);
}

#[test]
fn directive_value_with_newline() {
    let text = replace(
        "        ExecStart: /bin/true\n",
        "        ExecStart: \"/bin/true\\nExecStartPost=/bin/evil\"\n",
    );
    rejects(
        &text,
        &[],
        &[
            "recipe.yaml:18:9: units[0].sections.Service.ExecStart:",
            "one line",
        ],
    );
}

#[test]
fn enablement_that_does_not_fit_the_scope() {
    let text = replace(
        "    scope: user\n",
        "    scope: user\n    enable: enable-and-start\n",
    );
    rejects(
        &text,
        &[],
        &["recipe.yaml:14:5: units[0].enable:", "global or none"],
    );
}

#[test]
fn asset_destination_escaping_the_root() {
    for dest in [
        "/usr/share/../../etc/passwd",
        "relative/path",
        "/etc/x;rm",
        "/usr//x",
    ] {
        let text = format!("{MINIMAL}assets:\n  - source: f.txt\n    dest: \"{dest}\"\n");
        rejects(
            &text,
            &[("f.txt", "x")],
            &["recipe.yaml:23:5: assets[0].dest:"],
        );
    }
}

#[test]
fn asset_source_outside_the_recipe_dir_or_symlink() {
    let text =
        format!("{MINIMAL}assets:\n  - source: ../outside.txt\n    dest: /usr/share/demo/x\n");
    rejects(
        &text,
        &[],
        &[
            "recipe.yaml:22:5: assets[0].source:",
            "inside the recipe's directory",
        ],
    );

    let text = format!("{MINIMAL}assets:\n  - source: link\n    dest: /usr/share/demo/x\n");
    let (dir, recipe) = recipe_dir(&text, &[]);
    std::os::unix::fs::symlink("/etc/shadow", dir.path().join("link")).unwrap();
    let output = run_build(&recipe, &dir.path().join("out"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("assets[0].source:") && stderr.contains("symlink"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn symlink_inside_an_asset_directory() {
    let text = format!("{MINIMAL}assets:\n  - source: dir\n    dest: /usr/share/demo\n");
    let (dir, recipe) = recipe_dir(&text, &[("dir/ok.txt", "ok")]);
    std::os::unix::fs::symlink("/etc/shadow", dir.path().join("dir/evil")).unwrap();
    let output = run_build(&recipe, &dir.path().join("out"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("recipe.yaml:22:5: assets[0].source:")
            && stderr.contains("not a regular file"),
        "{stderr}"
    );
}

#[test]
fn missing_files() {
    let text = format!("{MINIMAL}assets:\n  - source: nope.txt\n    dest: /usr/share/demo/x\n");
    rejects(
        &text,
        &[],
        &["recipe.yaml:22:5: assets[0].source:", "No such file"],
    );

    let text = MINIMAL.replace(
        "  - name: demo.service\n    scope: user\n    sections:\n      Unit:\n        Description: Demo\n      Service:\n        ExecStart: /bin/true\n      Install:\n        WantedBy: default.target\n",
        "  - scope: user\n    file: units/missing.service\n",
    );
    rejects(
        &text,
        &[],
        &["recipe.yaml:13:5: units[0].file:", "No such file"],
    );
}

#[test]
fn malformed_unit_file_names_the_unit_file() {
    let text = MINIMAL.replace(
        "  - name: demo.service\n    scope: user\n    sections:\n      Unit:\n        Description: Demo\n      Service:\n        ExecStart: /bin/true\n      Install:\n        WantedBy: default.target\n",
        "  - scope: user\n    file: units/demo.service\n",
    );
    rejects(
        &text,
        &[(
            "units/demo.service",
            "[Unit]\nDescription=x\nthis is not a directive\n",
        )],
        &["units/demo.service:3:1:", "neither a section header"],
    );
}

#[test]
fn unknown_profile_and_unreadable_compression() {
    let text = replace("target: ubuntu-xenial", "target: ubuntu-warty");
    rejects(
        &text,
        &[],
        &["recipe.yaml:10:1: target:", "unknown target profile"],
    );
    let text = format!("{MINIMAL}compression: zstd\n");
    rejects(
        &text,
        &[],
        &["compression:", "not readable by ubuntu-xenial"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = replace("name: demo-units", "name: X").replace("version: \"1.0\"", "version: \"x\"");
    let stderr = rejects(&text, &[], &["package.name:", "package.version:"]);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error: ")).count(),
        2,
        "{stderr}"
    );
}

#[test]
fn a_bad_recipe_among_good_ones_builds_nothing() {
    let (dir, bad) = recipe_dir(&replace("name: demo-units", "name: X"), &[]);
    let out_dir = dir.path().join("out");
    let output = unitpack()
        .arg("build")
        .arg(seed("pulseaudio-user.yaml"))
        .arg(&bad)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        !out_dir.exists(),
        "a package was written although one recipe is wrong"
    );
}

#[test]
fn bad_source_date_epoch() {
    let (dir, recipe) = recipe_dir(MINIMAL, &[]);
    let output = unitpack()
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .arg("build")
        .arg(&recipe)
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    // Its own message, not an input error whose "file" is SOURCE_DATE_EPOCH.
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: SOURCE_DATE_EPOCH=yesterday is not a whole number of seconds since 1970\n"
    );
}

#[test]
fn unknown_helper_relation() {
    let text = format!("{MINIMAL}helper: requires\n");
    rejects(
        &text,
        &[],
        &[
            "recipe.yaml:",
            "helper",
            "\"requires\"",
            "depends, recommends, none",
        ],
    );
}

const TEMPLATE: &str = "  - name: worker@.service\n    scope: system\n    sections:\n      Service:\n        ExecStart: /bin/true\n      Install:\n        WantedBy: multi-user.target\n";

#[test]
fn instances_only_on_templates() {
    let text = replace("    scope: user\n", "    scope: user\n    instances: [a]\n");
    rejects(
        &text,
        &[],
        &["recipe.yaml:", "units[0].instances", "not a template"],
    );
}

#[test]
fn bad_instance_names_are_refused_with_their_position() {
    for (instance, expect) in [
        ("\"a b\"", "contains ' '"),
        ("\"\"", "must not be empty"),
        ("\"x@y\"", "more than one '@'"),
        ("\"$(id)\"", "contains '$'"),
    ] {
        let unit = TEMPLATE.replace(
            "    scope: system\n",
            &format!("    scope: system\n    instances: [ok, {instance}]\n"),
        );
        let text = format!("{MINIMAL}{unit}");
        rejects(
            &text,
            &[],
            &["recipe.yaml:", "units[1].instances[1]", expect],
        );
    }
}

#[test]
fn template_without_instance_cannot_be_enabled() {
    let unit = TEMPLATE.replace(
        "    scope: system\n",
        "    scope: system\n    enable: enable\n",
    );
    rejects(
        &format!("{MINIMAL}{unit}"),
        &[],
        &["units[1].enable", "UP210", "instances:"],
    );
    // Without `enable:` it is shipped and not enabled: no error.
    let (dir, recipe) = recipe_dir(&format!("{MINIMAL}{TEMPLATE}"), &[]);
    build(&recipe, &dir.path().join("out"));
}

#[test]
fn bad_default_instance_is_refused() {
    let unit = TEMPLATE.replace(
        "        WantedBy: multi-user.target\n",
        "        WantedBy: multi-user.target\n        DefaultInstance: \"a;b\"\n",
    );
    rejects(
        &format!("{MINIMAL}{unit}"),
        &[],
        &["units[1]", "instance \"a;b\"", "contains ';'"],
    );
}

const DROPIN: &str = "dropins:\n  - unit: ssh.service\n    scope: system\n    sections:\n      Service:\n        Environment: A=1\n";

#[test]
fn bad_dropins_are_refused_with_their_position() {
    for (from, to, expect) in [
        (
            "  - unit: ssh.service\n",
            "  - unit: ssh;id.service\n",
            "dropins[0].unit",
        ),
        (
            "    scope: system\n",
            "    scope: system\n    name: ../x.conf\n",
            "dropins[0].name",
        ),
        (
            "    scope: system\n",
            "    scope: system\n    name: x.txt\n",
            "ending in .conf",
        ),
        (
            "    scope: system\n",
            "    scope: user\n    restart: true\n",
            "dropins[0].restart",
        ),
        (
            "        Environment: A=1\n",
            "        Environment: A=1\n      Install:\n        WantedBy: x.target\n",
            "dropins[0].sections.Install",
        ),
    ] {
        let text = format!("{MINIMAL}{}", DROPIN.replace(from, to));
        rejects(&text, &[], &["recipe.yaml:", expect]);
    }
    let twice = format!(
        "{MINIMAL}{DROPIN}{}",
        DROPIN.trim_start_matches("dropins:\n")
    );
    rejects(
        &twice,
        &[],
        &["ssh.service.d/demo-units.conf is installed twice"],
    );
}

#[test]
fn bad_enable_units_are_refused_with_their_position() {
    for (entry, expect) in [
        (
            "  - unit: ssh.service\n    scope: system\n    enable: global\n",
            "enable_units[0].enable",
        ),
        (
            "  - unit: getty@.service\n    scope: system\n    enable: enable\n",
            "is a template",
        ),
        (
            "  - unit: demo.service\n    scope: user\n    enable: global\n",
            "is a unit of this recipe",
        ),
        (
            "  - unit: \"x;y.service\"\n    scope: system\n    enable: enable\n",
            "enable_units[0].unit",
        ),
    ] {
        let text = format!("{MINIMAL}enable_units:\n{entry}");
        rejects(&text, &[], &["recipe.yaml:", expect]);
    }
}

/// An ELF asset: refused in an `Architecture: all` package (file, line and field
/// named), packaged with the architecture the recipe names.
#[test]
fn elf_asset_needs_an_architecture() {
    let text = format!(
        "{MINIMAL}assets:\n  - source: tool\n    dest: /usr/bin/demo-tool\n    mode: \"0755\"\n"
    );
    let (dir, recipe) = recipe_dir(&text, &[]);
    std::fs::copy("/bin/true", dir.path().join("tool")).unwrap();
    let out_dir = dir.path().join("out");
    let output = run_build(&recipe, &out_dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("error: {}:", recipe.display()))
            && stderr.contains("package.architecture: ")
            && stderr.contains("tool is an ELF binary"),
        "{stderr}"
    );

    let text = text.replace(
        "  license: MIT\n",
        "  license: MIT\n  architecture: amd64\n",
    );
    std::fs::write(&recipe, text).unwrap();
    let output = run_build(&recipe, &out_dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out_dir.join("demo-units_1.0-1_amd64.deb").is_file());
}

/// Issue 21, class 12: every bad input exits 2, command-line values included (an
/// unknown profile, a file `render --only` does not render, a --units directory that
/// is not there); 1 is kept for the tool's own failures and lint's findings.
#[test]
fn bad_command_line_values_exit_2() {
    let (dir, recipe) = recipe_dir(MINIMAL, &[]);
    let recipe = recipe.to_str().unwrap().to_string();
    let missing = dir.path().join("missing").display().to_string();
    let units = dir.path().display().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["new", "demo", "--target", "no-such-profile", "-o", &missing],
        vec![
            "lint",
            "--scope",
            "system",
            "--target",
            "no-such-profile",
            "--units",
            &units,
        ],
        vec!["lint", "--scope", "system", "--units", &missing],
        vec!["render", &recipe, "--only", "no-such-file"],
        vec![
            "build",
            &recipe,
            "--target",
            "no-such-profile",
            "-o",
            &missing,
        ],
    ];
    for args in cases {
        let out = unitpack().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error: "), "{args:?}: {stderr}");
    }
    assert!(!std::path::Path::new(&missing).exists());
}

/// `…/recipe.yaml:LINE:COL: FIELD: message` lines of stderr, as (line, field).
fn positions(stderr: &str) -> Vec<(usize, String)> {
    stderr
        .lines()
        .map(|l| {
            let (_, rest) = l
                .split_once("/recipe.yaml:")
                .unwrap_or_else(|| panic!("not an error about the recipe: {l}"));
            let mut parts = rest.splitn(3, ": ");
            let line = parts.next().unwrap().split(':').next().unwrap();
            (line.parse().unwrap(), parts.next().unwrap().to_string())
        })
        .collect()
}

/// Every structural problem of a recipe in one run (not one per rerun), each with its
/// line and field, exit 2, nothing written; the kinds come from the library's check.
#[test]
fn every_structural_problem_at_once() {
    let text = MINIMAL
        .replace("  license: MIT\n", "  licence: MIT\n")
        .replace("  version: \"1.0\"\n", "  version: 1.10\n")
        .replace("    scope: user\n", "    scope: usr\n    enabled: yes\n")
        .replace(
            "target: ubuntu-xenial\n",
            "target: ubuntu-xenial\nstrict: on\n",
        );
    let stderr = rejects(
        &text,
        &[],
        &[
            "did you mean `license`? (`license` is required)",
            "1.10 is the number 1.1, not \"1.10\",",
            "quote it: \"1.10\"",
            "did you mean `user`?",
            "did you mean `enable`?",
            "write true",
        ],
    );
    assert_eq!(
        positions(&stderr),
        [
            (3, "package.version".to_string()),
            (7, "package.licence".to_string()),
            (11, "strict".to_string()),
            (14, "units[0].scope".to_string()),
            (15, "units[0].enabled".to_string()),
        ],
        "{stderr}"
    );
    use unitpack::recipe::spans::SpanIndex;
    use unitpack::recipe::structure::{check, ProblemKind};
    let kinds: Vec<ProblemKind> = check(&text, &SpanIndex::parse(&text))
        .into_iter()
        .map(|p| p.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::NumberForText,
            ProblemKind::UnknownKey {
                suggestion: Some("license".into())
            },
            ProblemKind::Yaml11Boolean,
            ProblemKind::NotOneOf {
                suggestion: Some("user".into())
            },
            ProblemKind::UnknownKey {
                suggestion: Some("enable".into())
            },
        ]
    );
}

/// A key that landed in another mapping is named with its line and the indentation it
/// needs, instead of "missing field" at the start of the mapping it left.
#[test]
fn misindented_key_is_named_on_its_own_line() {
    // Last in its mapping: still YAML, in the wrong mapping.
    let text = MINIMAL
        .replace("  summary: A demo\n", "")
        .replace("target:", "summary: A demo\ntarget:");
    let stderr = rejects(
        &text,
        &[],
        &[
            "recipe.yaml:9:1: package.summary:",
            "belongs to `package` (whose keys start at column 3)",
        ],
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Between two keys of its mapping: no longer YAML; the line is named, not the
    // one after it where the parser stopped.
    let text = MINIMAL.replace("  summary: A demo\n", "summary: A demo\n");
    let stderr = rejects(
        &text,
        &[],
        &["recipe.yaml:6:1: line 6 starts at column 1, between lines 5 and 7 at column 3"],
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Unparsable YAML: the tab or the indentation that broke it, on its line (serde_yaml's
/// position, read from its `location()`).
#[test]
fn tabs_and_indentation_are_named() {
    let tab = MINIMAL.replace("  license: MIT\n", "\tlicense: MIT\n");
    rejects(
        &tab,
        &[],
        &["recipe.yaml:7:1: line 7 is indented with a tab; YAML indents with spaces only"],
    );
    let deeper = MINIMAL.replace("  revision: \"1\"\n", "    revision: \"1\"\n");
    rejects(
        &deeper,
        &[],
        &["recipe.yaml:4:5: line 4 is indented deeper (column 5) than line 3 (column 3)"],
    );
    let between = MINIMAL.replace("    scope: user\n", "   scope: user\n");
    rejects(
        &between,
        &[],
        &["recipe.yaml:13:4: line 13 starts at column 4"],
    );
}

/// YAML 1.1 readings: an unquoted octal mode, and `no` for a boolean, are refused with
/// the fix; directive values keep `yes`/`no` as the text systemd reads the same way.
#[test]
fn yaml_1_1_values() {
    let text = MINIMAL.replace(
        "target: ubuntu-xenial\n",
        "target: ubuntu-xenial\nassets:\n  - source: demo.conf\n    dest: /etc/demo.conf\n    mode: 0644\n    conffile: no\n",
    );
    rejects(
        &text,
        &[("demo.conf", "x\n")],
        &[
            "recipe.yaml:14:5: assets[0].mode: 0644 unquoted is the octal number 420 to YAML 1.1 tools",
            "quote it: \"0644\"",
            "recipe.yaml:15:5: assets[0].conffile: no is a boolean only to YAML 1.1 tools",
            "write false",
        ],
    );
    let directive = MINIMAL.replace(
        "        ExecStart: /bin/true\n",
        "        ExecStart: /bin/true\n        RemainAfterExit: yes\n",
    );
    let (dir, recipe) = recipe_dir(&directive, &[]);
    build(&recipe, &dir.path().join("out"));
}
