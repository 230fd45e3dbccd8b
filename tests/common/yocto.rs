//! Helpers of the Yocto layer's tests (tests/yocto_*.rs): `unitpack yocto` run on
//! recipes, and a small reader of the bitbake it writes.

use super::repo;
use assert_cmd::Command;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `unitpack` in the repository, SOURCE_DATE_EPOCH unset: the committed layer pins the
/// sha256 of the helper's archive dated with its default.
pub fn unitpack() -> Command {
    let mut cmd = Command::cargo_bin("unitpack").unwrap();
    cmd.current_dir(repo()).env_remove("SOURCE_DATE_EPOCH");
    cmd
}

/// Generate the layer for `inputs` into `out` (a path that need not exist).
pub fn generate(inputs: &[&Path], out: &Path) -> std::process::Output {
    unitpack()
        .arg("yocto")
        .args(inputs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

pub fn generate_ok(inputs: &[&Path], out: &Path) {
    let o = generate(inputs, out);
    assert!(
        o.status.success(),
        "unitpack yocto failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The e2e recipe `name`, as the Yocto layer takes it: `dropins.yaml` carries
/// maintainer-script snippets, which the layer refuses (they are written for dpkg), so
/// its copy in `tmp` has no `scripts:` block.
pub fn e2e_recipe(name: &str, tmp: &Path) -> PathBuf {
    let path = repo().join(format!("tests/e2e/recipes/{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    if !text.contains("\nscripts:\n") {
        return path;
    }
    let mut kept = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        if line == "scripts:" {
            skipping = true;
            continue;
        }
        if skipping && (line.starts_with(' ') || line.is_empty()) {
            continue;
        }
        skipping = false;
        kept.push(line);
    }
    let copy = tmp.join(format!("{name}.yaml"));
    std::fs::write(&copy, kept.join("\n") + "\n").unwrap();
    copy
}

/// Every file below `dir`, by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        assert!(
            !e.file_type().is_symlink(),
            "{} is a symlink",
            e.path().display()
        );
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

pub fn seed_recipes() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("recipes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------
// A small reader of the bitbake subset the generator writes. Anything else in a .bb
// is a test failure: the format stays this simple on purpose.

#[derive(Debug, Default)]
pub struct Bb {
    /// `NAME[:override]` → (operator, value with continuations joined, words
    /// separated by one space).
    pub vars: BTreeMap<String, (String, String)>,
    pub inherits: Vec<String>,
    /// Lines of `do_install`, trimmed.
    pub install: Vec<String>,
}

impl Bb {
    pub fn parse(text: &str) -> Bb {
        let mut bb = Bb::default();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let t = line.trim_end();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if let Some(classes) = t.strip_prefix("inherit ") {
                bb.inherits
                    .extend(classes.split_whitespace().map(str::to_string));
                continue;
            }
            if t == "do_install() {" {
                for body in lines.by_ref() {
                    if body == "}" {
                        break;
                    }
                    bb.install.push(body.trim().to_string());
                }
                continue;
            }
            // Other shell functions (pkg_postinst, ...): the tests read their text.
            if t.ends_with("() {") {
                for body in lines.by_ref() {
                    if body == "}" {
                        break;
                    }
                }
                continue;
            }
            let (name, rest) = t
                .split_once(' ')
                .unwrap_or_else(|| panic!("unexpected line {t:?}"));
            let (op, value) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("unexpected line {t:?}"));
            assert!(
                ["=", "+=", ".=", "??=", "?="].contains(&op),
                "operator {op:?} in {t:?}"
            );
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_:${}".contains(c))
                    || name == "SRC_URI[sha256sum]",
                "variable name {name:?}"
            );
            assert!(
                !name.contains("_${PN}") && !name.ends_with("_append"),
                "old override syntax in {name:?}"
            );
            let mut raw = value
                .strip_prefix('"')
                .unwrap_or_else(|| panic!("value not double-quoted: {t:?}"))
                .to_string();
            while !raw.ends_with('"') || raw == "\\" {
                let cont = raw
                    .strip_suffix('\\')
                    .unwrap_or_else(|| panic!("unterminated value in {t:?}"))
                    .to_string();
                raw = cont + lines.next().expect("continuation line");
            }
            let value = raw.strip_suffix('"').unwrap();
            assert!(!value.contains('"'), "a double quote inside {name}");
            let words = value.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                bb.vars
                    .insert(name.to_string(), (op.to_string(), words))
                    .is_none(),
                "{name} set twice"
            );
        }
        bb
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|(_, v)| v.as_str())
    }

    pub fn words(&self, name: &str) -> BTreeSet<String> {
        self.get(name)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

/// The body of shell function `name` in a .bb (panics if absent).
pub fn function<'a>(text: &'a str, name: &str) -> &'a str {
    let start = format!("{name}() {{\n");
    text.split(&start)
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .split("\n}\n")
        .next()
        .unwrap()
}

/// The bitbake variables a generated .bb uses, as bitbake.conf sets them on `release`
/// with or without the usrmerge distro feature (`root_prefix` = `/usr` or ``), and
/// UNITPACK_PROFILE as the .bb computes it from `LAYERSERIES_CORENAMES` = `release`.
pub fn release_vars(release: &str, usrmerge: bool) -> BTreeMap<&'static str, String> {
    let root = if usrmerge { "/usr" } else { "" };
    BTreeMap::from([
        ("D", String::new()),
        ("PN", String::new()),
        ("sysconfdir", "/etc".into()),
        ("datadir", "/usr/share".into()),
        ("localstatedir", "/var".into()),
        ("nonarch_libdir", "/usr/lib".into()),
        ("systemd_unitdir", format!("{root}/lib/systemd")),
        (
            "systemd_system_unitdir",
            format!("{root}/lib/systemd/system"),
        ),
        ("systemd_user_unitdir", "/usr/lib/systemd/user".into()),
        ("UNITPACK_PROFILE", format!("yocto-{release}")),
    ])
}

/// `text` with every `${VAR}` of `vars` expanded (others are left).
pub fn expand(text: &str, vars: &BTreeMap<&'static str, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// The manifest as do_install's `sed -e 's|@PLACEHOLDER@|${var}|g'` leaves it.
pub fn substitute(bb: &Bb, manifest: &str, vars: &BTreeMap<&'static str, String>) -> String {
    let mut out = manifest.to_string();
    let mut seen = 0;
    for line in &bb.install {
        for expr in line.split('\'').skip(1).step_by(2) {
            let Some(rest) = expr.strip_prefix("s|") else {
                continue;
            };
            let parts: Vec<&str> = rest.split('|').collect();
            assert_eq!(parts.len(), 3, "{expr}");
            out = out.replace(parts[0], &expand(parts[1], vars));
            seen += 1;
        }
    }
    assert_eq!(seen, 3, "do_install substitutes three placeholders");
    out
}

// ---------------------------------------------------------------------------------
// A small valid recipe that tests change, and where they write it.

pub const GOOD: &str = r#"package:
  name: my-thing
  version: "1.0"
  maintainer: A B <a@example.org>
  summary: a thing
  license: MIT
  depends:
    - dbus
units:
  - name: my_thing.service
    scope: user
    sections:
      Service:
        ExecStart: /usr/bin/true
      Install:
        WantedBy: default.target
"#;

pub fn recipe_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("thing.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// GOOD with an asset `bin/tool` copied from `elf` and `architecture:` set.
pub fn with_elf_asset(dir: &Path, elf: &Path, architecture: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(elf, dir.join("bin/tool")).unwrap();
    let text = GOOD.replace(
        "  license: MIT\n",
        &format!("  license: MIT\n  architecture: {architecture}\n"),
    )
        + "assets:\n  - source: bin/tool\n    dest: /usr/bin/my-tool\n    mode: \"0755\"\n";
    recipe_file(dir, &text)
}

/// The layer for `recipe` alone, generated into a fresh directory: the text of its .bb
/// `rel` (below `recipes-unitpack/`).
pub fn generated_bb(recipe: &Path, rel: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer");
    generate_ok(&[recipe], &out);
    let path = out.join("recipes-unitpack").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The .bb of `my-thing` generated from `text` (GOOD or a variant of it).
pub fn my_thing_bb(text: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    generated_bb(&recipe_file(tmp.path(), text), "my-thing/my-thing_1.0.bb")
}
