//! unitpack reads unit files as systemd does (issue 21, class 7): a differential test
//! against systemd 252's own parser (`systemd-analyze verify`, this machine's), over
//! every unit file of the Debian packages installed here and hand-written files that
//! exercise continuations, comments, whitespace and repeated sections.
//!
//! systemd does not print the directives it parsed, so each file is probed three times,
//! each probe a copy of the file with one part rewritten so that systemd's own warnings
//! spell out what it read, in file order:
//!
//! - values: every section header becomes `[Unit]` and the key of every directive
//!   unitpack found becomes `OnFailureJobMode`, whose parser logs its value verbatim
//!   ("Failed to parse job mode, ignoring: VALUE");
//! - sections: the keys become an unknown name ("Unknown key 'X' in section [S]");
//! - keys: every header becomes `[Install]` ("Unknown key 'KEY' in section [Install]").
//!
//! Where unitpack's idea of where a directive starts or ends differs from systemd's,
//! the rewritten lines land inside another value or keep their own key, and the lists
//! differ. systemd 229 (scripts/vendor/systemd-229) is not run here: `unit::parse`
//! refuses, naming both readings, every file that 229 and 252 read differently
//! (unit tests in src/unit.rs), so what it accepts reads the same on both.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use unitpack::unit::{self, UnitName};

/// Unit directories of this machine's Debian packages.
const SYSTEM_DIRS: &[&str] = &[
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/user",
    "/usr/lib/systemd/user",
];

/// Hand-written files: every rule of systemd's reader that a unit may lean on.
const HANDWRITTEN: &[(&str, &str)] = &[
    (
        "continuations.service",
        "[Unit]\nDescription=one \\\n   two\\\n\tthree \\\n\nAfter=a.service\\\\\nBefore=b.service \\\\\\\n c.service\n[Service]\nExecStart=/bin/sh -c 'echo a=b; \\\n  echo c'\nEnvironment=\"A=1 \\\" \" B=2\n",
    ),
    (
        "merged.service",
        "[Service]\nExecStart=/bin/true\n[Unit]\nDescription=two service sections\n[Service]\nUser=nobody\nProtectSystem=full\n[Install]\nWantedBy=multi-user.target\n[Service]\nNoNewPrivileges=yes\n",
    ),
    (
        "whitespace.service",
        "  [Unit]  \n\t Description \t=\t spaced out \t\n;semicolon comment\n  # indented comment\nDocumentation=man:a(1) \u{a0}\n[Service]\nExecStart = /bin/true\nEnvironment=KEY==value=\n",
    ),
    (
        "empty-values.socket",
        "[Unit]\nDescription=\n[Socket]\nListenStream=/run/x.sock\nListenStream=\nListenStream=/run/y.sock\n[Install]\nWantedBy=sockets.target\n",
    ),
    (
        "x-sections.timer",
        "[Unit]\nDescription=timer\n[X-Vendor]\nWhatever=1\n[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n",
    ),
];

/// Job modes: a value equal to one of them is accepted by the value probe and so not
/// logged; such directives are left out of the comparison of values.
const JOB_MODES: &[&str] = &[
    "fail",
    "replace",
    "replace-irreversibly",
    "isolate",
    "flush",
    "ignore-dependencies",
    "ignore-requirements",
    "triggering",
    "restart-dependencies",
];

const INSTALL_KEYS: &[&str] = &[
    "WantedBy",
    "RequiredBy",
    "UpheldBy",
    "Alias",
    "Also",
    "DefaultInstance",
];

/// What unitpack read from a file, in file order: (line, section, key, value).
type Read = Vec<(usize, String, String, String)>;

fn unitpack_read(text: &str) -> Result<Read, String> {
    let sections = unit::parse(text).map_err(|(line, m)| format!("line {line}: {m}"))?;
    let mut read: Read = sections
        .iter()
        .flat_map(|s| {
            s.directives.iter().map(|d| {
                (
                    d.location.expect("parsed directives have a line").line,
                    s.name.clone(),
                    d.key.clone(),
                    d.value.clone(),
                )
            })
        })
        .collect();
    read.sort_by_key(|r| r.0);
    Ok(read)
}

fn corpus() -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<(String, String)> = HANDWRITTEN
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    for dir in SYSTEM_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let Ok(meta) = path.symlink_metadata() else {
                continue;
            };
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !meta.is_file() || UnitName::parse(&name).is_err() {
                continue;
            }
            let Ok(real) = path.canonicalize() else {
                continue;
            };
            if !seen.insert(real) {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((path.display().to_string(), text));
            }
        }
    }
    out
}

/// `text` with each header line replaced by `header` (None: kept) and the key of each
/// directive starting at one of `starts` replaced by `key` (None: kept).
fn probe_text(text: &str, header: Option<&str>, key: Option<&str>, starts: &[usize]) -> String {
    let mut out = String::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if let (Some(h), true) = (header, trimmed.starts_with('[')) {
            out.push_str(h);
            out.push('\n');
        } else if let (Some(k), true) = (key, starts.contains(&(i + 1))) {
            let (_, rest) = line.split_once('=').expect("a directive line holds '='");
            out.push_str(k);
            out.push('=');
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// systemd-analyze verify on every probe file; its output lines.
fn verify(dir: &Path, files: &[PathBuf]) -> String {
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no", "--generators=no"])
        .args(files)
        .current_dir(dir)
        .output()
        .expect("systemd-analyze runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// The messages of systemd for `file`, in order: (line, rest).
fn messages<'a>(output: &'a str, file: &Path) -> Vec<(usize, &'a str)> {
    let prefix = format!("{}:", file.display());
    output
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|l| {
            let (line, rest) = l.split_once(": ")?;
            Some((line.parse().ok()?, rest))
        })
        .collect()
}

#[test]
fn unit_files_read_as_systemd_252_reads_them() {
    if !common::available(
        "systemd-analyze",
        "systemd-analyze is not installed (package systemd)",
    ) {
        return;
    }
    let corpus = corpus();
    let from_system = corpus.len() - HANDWRITTEN.len();
    assert!(
        from_system >= 50 || std::env::var_os("CI").is_none(),
        "only {from_system} unit files of installed packages found"
    );
    let work = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let mut refused = Vec::new();
    for (i, (name, text)) in corpus.iter().enumerate() {
        match unitpack_read(text) {
            Ok(read) => cases.push((i, name, text, read)),
            Err(m) => refused.push(format!("{name}: {m}")),
        }
    }
    // The installed units of Debian's packages are all read (none hits a refusal).
    assert!(
        refused.is_empty(),
        "unitpack refuses:\n{}",
        refused.join("\n")
    );

    let kind = |name: &str| name.rsplit('.').next().unwrap().to_string();
    let mut failures = Vec::new();
    for (probe, header, key) in [
        ("values", Some("[Unit]"), Some("OnFailureJobMode")),
        ("sections", None, Some("XUnitpackProbe")),
        ("keys", Some("[Install]"), None),
    ] {
        let dir = work.path().join(probe);
        std::fs::create_dir(&dir).unwrap();
        let mut files = Vec::new();
        for (i, name, text, read) in &cases {
            let starts: Vec<usize> = read.iter().map(|r| r.0).collect();
            let file = dir.join(format!("p{i}.{}", kind(name)));
            std::fs::write(&file, probe_text(text, header, key, &starts)).unwrap();
            files.push(file);
        }
        let output = verify(&dir, &files);
        for ((_, name, _, read), file) in cases.iter().zip(&files) {
            let said = messages(&output, file);
            let (want, got): (Vec<String>, Vec<String>) = match probe {
                "values" => (
                    read.iter()
                        .filter(|r| !JOB_MODES.contains(&r.3.as_str()))
                        .map(|r| r.3.clone())
                        .collect(),
                    said.iter()
                        .filter_map(|(_, m)| m.strip_prefix("Failed to parse job mode, ignoring: "))
                        .map(str::to_string)
                        .collect(),
                ),
                "sections" => {
                    let unknown: Vec<&str> = said
                        .iter()
                        .filter_map(|(_, m)| m.strip_prefix("Unknown section '"))
                        .filter_map(|m| m.split('\'').next())
                        .collect();
                    (
                        read.iter()
                            .filter(|r| !r.1.starts_with("X-") && !unknown.contains(&r.1.as_str()))
                            .map(|r| r.1.clone())
                            .collect(),
                        said.iter()
                            .filter_map(|(_, m)| {
                                m.strip_prefix("Unknown key 'XUnitpackProbe' in section [")
                            })
                            .filter_map(|m| m.split(']').next())
                            .map(str::to_string)
                            .collect(),
                    )
                }
                _ => (
                    read.iter()
                        .filter(|r| !INSTALL_KEYS.contains(&r.2.as_str()))
                        .map(|r| r.2.clone())
                        .collect(),
                    said.iter()
                        .filter_map(|(_, m)| m.strip_prefix("Unknown key '"))
                        .filter(|m| m.ends_with("' in section [Install], ignoring."))
                        .filter_map(|m| m.split('\'').next())
                        .map(str::to_string)
                        .collect(),
                ),
            };
            if want != got {
                failures.push(format!(
                    "{name} ({probe}):\n  unitpack: {want:?}\n  systemd:  {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} unit files read differently:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The files unitpack refuses are read differently by 229 and 252, or by 252 otherwise
/// than their author meant: for each, 252's reading is what the message says.
#[test]
fn refused_differences_are_what_systemd_252_does() {
    // A comment line inside a continuation: 252 skips it (229 appends it).
    let text = "[Unit]\nDescription=a \\\n# c\n b\n";
    let (_, message) = unit::parse(text).unwrap_err();
    assert!(
        message.contains("229 reads \"Description=a  # c\"")
            && message.contains("252 reads \"Description=a   b\""),
        "{message}"
    );
    if !common::available(
        "systemd-analyze",
        "systemd-analyze is not installed (package systemd)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.service");
    std::fs::write(&file, text.replace("Description", "OnFailureJobMode")).unwrap();
    let output = verify(dir.path(), std::slice::from_ref(&file));
    assert!(
        messages(&output, &file)
            .iter()
            .any(|(_, m)| *m == "Failed to parse job mode, ignoring: a   b"),
        "{output}"
    );
}

/// `new --from` keeps every directive of repeated sections (it kept only the last
/// `[Service]`: `User=nobody` and the hardening vanished).
#[test]
fn new_from_merges_repeated_sections() {
    let dir = tempfile::tempdir().unwrap();
    let (name, text) = HANDWRITTEN[1];
    let unit_file = dir.path().join(name);
    std::fs::write(&unit_file, text).unwrap();
    let recipe = dir.path().join("merged.yaml");
    let out = common::unitpack()
        .args(["new", "merged", "--from"])
        .arg(&unit_file)
        .arg("-o")
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded = unitpack::recipe::load(&recipe, None).unwrap();
    let service = loaded.units[0].section("Service").unwrap();
    let keys: Vec<&str> = service.directives.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        ["ExecStart", "User", "ProtectSystem", "NoNewPrivileges"],
        "{}",
        std::fs::read_to_string(&recipe).unwrap()
    );
}
