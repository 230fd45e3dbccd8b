//! The Yocto layer: `unitpack yocto` output read back with a small bitbake parser,
//! drift between the committed `meta-layer/` and the recipes, bad input, oelint-adv.

mod common;

use assert_cmd::Command;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use unitpack::unit::{Enablement, Scope};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `unitpack` in the repository, SOURCE_DATE_EPOCH unset: the committed layer pins the
/// sha256 of the helper's archive dated with its default.
fn unitpack() -> Command {
    let mut cmd = Command::cargo_bin("unitpack").unwrap();
    cmd.current_dir(repo()).env_remove("SOURCE_DATE_EPOCH");
    cmd
}

/// Generate the layer for `inputs` into `out` (a path that need not exist).
fn generate(inputs: &[&Path], out: &Path) -> std::process::Output {
    unitpack()
        .arg("yocto")
        .args(inputs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

fn generate_ok(inputs: &[&Path], out: &Path) {
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
fn e2e_recipe(name: &str, tmp: &Path) -> PathBuf {
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
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
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

fn seed_recipes() -> Vec<PathBuf> {
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
struct Bb {
    /// `NAME[:override]` → (operator, value with continuations joined, words
    /// separated by one space).
    vars: BTreeMap<String, (String, String)>,
    inherits: Vec<String>,
    /// Lines of `do_install`, trimmed.
    install: Vec<String>,
}

impl Bb {
    fn parse(text: &str) -> Bb {
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

    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|(_, v)| v.as_str())
    }

    fn words(&self, name: &str) -> BTreeSet<String> {
        self.get(name)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

/// The body of shell function `name` in a .bb (panics if absent).
fn function<'a>(text: &'a str, name: &str) -> &'a str {
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
fn release_vars(release: &str, usrmerge: bool) -> BTreeMap<&'static str, String> {
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
fn expand(text: &str, vars: &BTreeMap<&'static str, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// The manifest as do_install's `sed -e 's|@PLACEHOLDER@|${var}|g'` leaves it.
fn substitute(bb: &Bb, manifest: &str, vars: &BTreeMap<&'static str, String>) -> String {
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

#[test]
fn bb_reader_reads_what_it_should() {
    let bb = Bb::parse(
        "# c\nA = \"x\"\nB:${PN} += \"\\\n    a \\\n    b \\\n\"\ninherit x y\ndo_install() {\n    install -d ${D}\n}\nC ??= \"z\"\n",
    );
    assert_eq!(bb.get("A"), Some("x"));
    assert_eq!(bb.vars["B:${PN}"], ("+=".to_string(), "a b".to_string()));
    assert_eq!(bb.get("C"), Some("z"));
    assert_eq!(bb.inherits, ["x", "y"]);
    assert_eq!(bb.install, ["install -d ${D}"]);
    assert!(std::panic::catch_unwind(|| Bb::parse("RDEPENDS_${PN} = \"x\"\n")).is_err());
    assert!(std::panic::catch_unwind(|| Bb::parse("A = \"x\n")).is_err());
}

// ---------------------------------------------------------------------------------

#[test]
fn committed_layer_is_what_the_recipes_generate() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("meta-layer");
    generate_ok(&[], &out);
    let generated = tree(&out);
    let committed = tree(&repo().join("meta-layer"));
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<BTreeSet<_>>();
    let missing: Vec<_> = names(&generated)
        .difference(&names(&committed))
        .cloned()
        .collect();
    let extra: Vec<_> = names(&committed)
        .difference(&names(&generated))
        .cloned()
        .collect();
    let changed: Vec<_> = generated
        .iter()
        .filter(|(k, v)| committed.get(*k).is_some_and(|c| c != *v))
        .map(|(k, _)| k.clone())
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "meta-layer/ differs from what recipes/, unitpack-check/ and unitpack-manifest/ generate (the helper recipe pins its source archive's sha256); run `cargo run -- yocto` with SOURCE_DATE_EPOCH unset and commit meta-layer/.\nmissing: {missing:?}\nnot generated: {extra:?}\nchanged: {changed:?}"
    );
}

#[test]
fn generation_is_deterministic_and_leaves_no_temporary_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    generate_ok(&[], &a);
    generate_ok(&[], &b);
    assert_eq!(tree(&a), tree(&b));
    // Regenerating over an existing layer replaces it whole.
    std::fs::write(a.join("stale.txt"), "x").unwrap();
    generate_ok(&[], &a);
    assert_eq!(tree(&a), tree(&b));
    let mut left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["a", "b"]);
}

#[test]
fn layer_conf_declares_the_collection_and_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer");
    generate_ok(&[], &out);
    let conf = Bb::parse(&std::fs::read_to_string(out.join("conf/layer.conf")).unwrap());
    assert_eq!(conf.get("BBFILE_COLLECTIONS"), Some("unitpack"));
    assert_eq!(
        conf.get("LAYERSERIES_COMPAT_unitpack"),
        Some("kirkstone scarthgap styhead walnascar whinlatter wrynose")
    );
    assert_eq!(conf.get("LAYERDEPENDS_unitpack"), Some("core"));
    assert!(conf
        .get("BBFILE_PRIORITY_unitpack")
        .unwrap()
        .parse::<u32>()
        .is_ok());
    let readme = std::fs::read_to_string(out.join("README.md"))
        .unwrap()
        .to_lowercase();
    // What yocto-check-layer looks for.
    for word in ["maintainer", "patch", "@"] {
        assert!(readme.contains(word), "README lacks {word:?}");
    }
    assert!(!std::fs::read(out.join("SECURITY.md")).unwrap().is_empty());
}

/// Every seed recipe against its generated .bb: units, install paths, FILES,
/// enablement, RDEPENDS, sources.
#[test]
fn generated_recipes_install_and_enable_every_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer");
    generate_ok(&[], &out);
    let profile = unitpack::yocto::layer_profile();
    let recipes = seed_recipes();
    assert!(!recipes.is_empty());
    for path in recipes {
        let r = unitpack::recipe::load(&path, Some(&profile.name)).unwrap();
        let p = &r.package;
        let dir = out.join("recipes-unitpack").join(&p.name);
        let bb_path = dir.join(format!("{}_{}.bb", p.name, p.version.upstream));
        let text = std::fs::read_to_string(&bb_path)
            .unwrap_or_else(|e| panic!("{}: {e}", bb_path.display()));
        let bb = Bb::parse(&text);
        let ctx = bb_path.display().to_string();

        assert_eq!(bb.get("SUMMARY"), Some(p.summary.as_str()), "{ctx}");
        assert_eq!(bb.get("LICENSE"), Some("MIT"), "{ctx}");
        assert_eq!(
            bb.get("LIC_FILES_CHKSUM"),
            Some("file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"),
            "{ctx}"
        );
        assert_eq!(
            bb.get("S"),
            Some("${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"),
            "{ctx}"
        );
        // Every seed recipe runs something at login (user units, a seat follower, a
        // unit bound to user@0): logins get their session from pam_systemd.
        assert_eq!(
            bb.get("REQUIRED_DISTRO_FEATURES"),
            Some("systemd pam"),
            "{ctx}"
        );
        assert!(bb.inherits.contains(&"features_check".to_string()), "{ctx}");

        let files = bb.words("FILES:${PN}");
        let src_uri = bb.words("SRC_URI");
        // Every local source exists in files/ and every file there is fetched.
        let on_disk: BTreeSet<String> = tree(&dir.join("files"))
            .keys()
            .map(|k| format!("file://{k}"))
            .collect();
        assert_eq!(src_uri, on_disk, "{ctx}");

        for unit in &r.units {
            let (var, sub) = match unit.scope {
                Scope::System => ("${systemd_system_unitdir}", "system"),
                Scope::User => ("${systemd_user_unitdir}", "user"),
            };
            let installed = format!("{var}/{}", unit.name);
            let src = format!("{sub}/{}", unit.name);
            assert!(
                bb.install
                    .contains(&format!("install -m 0644 ${{S}}/{src} ${{D}}{installed}")),
                "{ctx}: {} is not installed into {var}: {:?}",
                unit.name,
                bb.install
            );
            assert!(
                bb.install.contains(&format!("install -d ${{D}}{var}")),
                "{ctx}"
            );
            assert!(files.contains(&installed), "{ctx}: FILES lacks {installed}");
            // The unit file is shipped exactly as the .deb ships it.
            assert_eq!(
                std::fs::read_to_string(dir.join("files").join(&src)).unwrap(),
                unit.text,
                "{ctx}: {src}"
            );

            let service = bb.words("SYSTEMD_SERVICE:${PN}");
            match (unit.scope, unit.enable) {
                (Scope::System, Enablement::Enable | Enablement::EnableAndStart) => {
                    assert!(
                        service.contains(unit.name.as_str()),
                        "{ctx}: SYSTEMD_SERVICE lacks {}",
                        unit.name
                    );
                    assert_eq!(bb.get("SYSTEMD_AUTO_ENABLE"), Some("enable"), "{ctx}");
                    assert!(bb.inherits.contains(&"systemd".to_string()), "{ctx}");
                }
                (Scope::User, Enablement::Global) => {
                    assert!(
                        !service.contains(unit.name.as_str()),
                        "{ctx}: user unit in SYSTEMD_SERVICE"
                    );
                    let links = r.enable_links(unit);
                    assert!(!links.is_empty());
                    for (link, _) in links {
                        let link = link.replacen("/etc", "${sysconfdir}", 1);
                        assert!(
                            bb.install
                                .contains(&format!("ln -sf {installed} ${{D}}{link}")),
                            "{ctx}: no enable link {link}: {:?}",
                            bb.install
                        );
                        assert!(files.contains(&link), "{ctx}: FILES lacks {link}");
                    }
                    assert_eq!(bb.get("UNITPACK_USER_AUTO_ENABLE"), Some("enable"), "{ctx}");
                }
                (_, Enablement::None) => {
                    assert!(
                        !bb.install
                            .iter()
                            .any(|l| l.starts_with("ln -sf") && l.contains(&installed)),
                        "{ctx}"
                    );
                }
                _ => unreachable!("validated"),
            }
            // Taken-over units: a preset file says `disable`, pkg_postinst removes
            // their links; no mask (issue 11).
            let preset_dir = format!("${{nonarch_libdir}}/systemd/{}-preset", unit.scope.as_str());
            let preset = format!("{preset_dir}/50-unitpack-{}.preset", p.name);
            for t in &unit.takes_over {
                if unitpack::yocto::oe_enabled(&t.to_string(), unit.scope).is_none() {
                    // OE enables nothing of it (tests/yocto_bitbake.rs checks that
                    // against bitbake -e): no preset, no state, no postinst.
                    assert!(!files.contains(&preset), "{ctx}: {preset}");
                    assert!(!text.contains("takeover"), "{ctx}:\n{text}");
                    continue;
                }
                let postinst = function(&text, "pkg_postinst:${PN}");
                assert!(files.contains(&preset), "{ctx}: FILES lacks {preset}");
                let shipped = std::fs::read_to_string(dir.join(format!(
                    "files/presets/{}/50-unitpack-{}.preset",
                    unit.scope.as_str(),
                    p.name
                )))
                .unwrap();
                assert!(
                    shipped.lines().any(|l| l == format!("disable {t}")),
                    "{ctx}: {shipped}"
                );
                assert!(
                    postinst
                        .lines()
                        .any(|l| l.trim().starts_with("for unit in ")
                            && l.split_whitespace()
                                .any(|w| w.trim_end_matches(';') == t.as_str())),
                    "{ctx}: pkg_postinst does not take over {t}:\n{postinst}"
                );
            }
        }
        assert!(!text.contains("/dev/null ${D}"), "{ctx}: a mask:\n{text}");
        // The helper's manifest, as in the .deb, with placeholders for what differs
        // between releases; on kirkstone without usrmerge it is the plan's.
        let manifest = format!("${{datadir}}/unitpack/{}/manifest", p.name);
        assert!(files.contains(&manifest), "{ctx}");
        let layer_manifest = std::fs::read_to_string(dir.join("files/manifest")).unwrap();
        assert_eq!(
            substitute(&bb, &layer_manifest, &release_vars("kirkstone", false)),
            unitpack::plan::Plan::new(&r).unwrap().manifest()
        );

        let rdepends = bb.words("RDEPENDS:${PN}");
        // The helper through conf/layer.conf's UNITPACK_HELPER (empty where it cannot
        // be built: tests/yocto_bitbake.rs checks the value bitbake gives it).
        assert!(rdepends.contains("${UNITPACK_HELPER}"), "{ctx}");
        assert_eq!(
            rdepends.len(),
            p.relations.depends.len() + 1,
            "{ctx}: {rdepends:?}"
        );
        if p.relations.depends.iter().any(|d| d == "pulseaudio") {
            assert!(
                rdepends.contains("pulseaudio-server") && !rdepends.contains("pulseaudio"),
                "{ctx}"
            );
        }
        if p.relations.depends.iter().any(|d| d == "dbus-user-session") {
            assert!(
                rdepends.contains("dbus") && !rdepends.contains("dbus-user-session"),
                "{ctx}"
            );
        }
    }
}

/// The helper's version, from its Cargo.toml.
fn helper_version() -> String {
    std::fs::read_to_string(repo().join("unitpack-check/Cargo.toml"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("version = \"")
                .map(|v| v.trim_end_matches('"').to_string())
        })
        .unwrap()
}

/// The entries of a .tar.gz: path → contents (directories with `None`), in order.
fn tar_gz(data: &[u8]) -> Vec<(String, Option<Vec<u8>>)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header();
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
        assert_eq!(
            h.mtime().unwrap(),
            1_704_067_200,
            "SOURCE_DATE_EPOCH's default"
        );
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let data = match e.header().entry_type() {
            tar::EntryType::Directory => None,
            tar::EntryType::Regular => {
                let mut v = Vec::new();
                e.read_to_end(&mut v).unwrap();
                Some(v)
            }
            other => panic!("{path}: entry type {other:?}"),
        };
        out.push((path, data));
    }
    out
}

/// The helper's recipe fetches one archive from the layer itself (`file://`), which
/// `unitpack yocto` writes reproducibly; the archive holds what the build needs (no
/// tests, no target/) and builds offline with its own lock file.
#[test]
fn helper_recipe_fetches_a_reproducible_archive_from_the_layer_that_builds_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer");
    generate_ok(&[], &out);
    let version = helper_version();
    let name = format!("unitpack-check-{version}.tar.gz");
    let dir = out.join("recipes-unitpack/unitpack-check");
    assert_eq!(
        tree(&dir).into_keys().collect::<Vec<_>>(),
        [
            format!("files/{name}"),
            format!("unitpack-check_{version}.bb")
        ],
        "the helper's recipe directory holds the recipe and the archive"
    );
    let bb = Bb::parse(
        &std::fs::read_to_string(dir.join(format!("unitpack-check_{version}.bb"))).unwrap(),
    );
    assert_eq!(bb.inherits, ["cargo"]);
    // From the layer: nothing to download, nothing at a placeholder address.
    assert_eq!(
        bb.get("SRC_URI"),
        Some("file://unitpack-check-${PV}.tar.gz")
    );
    assert_eq!(bb.get("SRC_URI[sha256sum]"), None);
    let bb_text_all =
        std::fs::read_to_string(dir.join(format!("unitpack-check_{version}.bb"))).unwrap();
    assert!(!bb_text_all.contains("example."), "{bb_text_all}");
    assert_eq!(
        bb.get("S"),
        Some("${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}/unitpack-check-${PV}")
    );

    // rust-version 1.75 is beyond kirkstone's Rust 1.59: the recipe skips itself there
    // (the layer keeps kirkstone for the unit recipes).
    let bb_text =
        std::fs::read_to_string(dir.join(format!("unitpack-check_{version}.bb"))).unwrap();
    let original = std::fs::read_to_string(repo().join("unitpack-check/Cargo.toml")).unwrap();
    assert!(original.contains("rust-version = \"1.75\""));
    // conf/layer.conf empties UNITPACK_HELPER on kirkstone (unless told the Rust is
    // newer), and the recipe skips itself when it is empty; tests/yocto_bitbake.rs
    // sees both through bitbake.
    assert!(
        bb_text.contains("if not d.getVar(\"UNITPACK_HELPER\"):")
            && bb_text.contains("raise bb.parse.SkipRecipe(\"unitpack-check needs Rust 1.75"),
        "{bb_text}"
    );
    let conf =
        Bb::parse(&std::fs::read_to_string(tmp.path().join("layer/conf/layer.conf")).unwrap());
    assert_eq!(conf.get("UNITPACK_CHECK_ON_KIRKSTONE"), Some("0"));
    assert_eq!(
        conf.get("UNITPACK_HELPER"),
        Some("${@'' if 'kirkstone' in (d.getVar('LAYERSERIES_CORENAMES') or '').split() and d.getVar('UNITPACK_CHECK_ON_KIRKSTONE') != '1' else 'unitpack-check'}")
    );

    // Nothing is written beside the layer.
    assert!(!tmp.path().join("downloads").exists());
    let archive = std::fs::read(dir.join("files").join(&name)).unwrap();
    // gzip without a timestamp.
    assert_eq!(&archive[4..8], &[0, 0, 0, 0]);

    // Reproducible: a second run, elsewhere, gives the same bytes.
    let other = tmp.path().join("elsewhere");
    let o = unitpack()
        .arg("yocto")
        .arg("-o")
        .arg(other.join("layer2"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(tree(&other.join("layer2")), tree(&out));

    // What it holds: one top directory, sorted, no test-only file, no build output.
    let entries = tar_gz(&archive);
    let top = format!("./unitpack-check-{version}/");
    let paths: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    assert_eq!(paths, sorted);
    assert_eq!(paths[0], top);
    for p in &paths {
        assert!(p.starts_with(&top), "{p}");
        let rel = &p[top.len()..];
        assert!(
            !rel.contains("testutil")
                && !rel.split('/').any(|c| c == "tests" || c == "target")
                && !rel.ends_with(".orig")
                && !rel.ends_with('~'),
            "{p} should not be in the archive"
        );
    }
    let file = |rel: &str| {
        entries
            .iter()
            .find(|(p, _)| *p == format!("{top}{rel}"))
            .and_then(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{rel} missing from the archive"))
    };
    for krate in ["unitpack-check", "unitpack-manifest"] {
        assert_eq!(
            file(&format!("{krate}/Cargo.toml")),
            std::fs::read(repo().join(krate).join("Cargo.toml")).unwrap()
        );
        for (rel, data) in tree(&repo().join(krate).join("src")) {
            if rel.ends_with("testutil.rs") {
                continue;
            }
            assert_eq!(
                file(&format!("{krate}/src/{rel}")),
                data,
                "{krate}/src/{rel}"
            );
        }
    }
    let lock = String::from_utf8(file("Cargo.lock")).unwrap();
    assert!(lock.lines().any(|l| l == "version = 3"), "{lock}");
    // LIC_FILES_CHKSUM points into the archive.
    let lic = bb.get("LIC_FILES_CHKSUM").unwrap();
    assert!(lic.contains("file://unitpack-check/LICENSE;md5="), "{lic}");

    // Builds offline with the lock as shipped.
    let build = tmp.path().join("build");
    for (path, data) in &entries {
        let p = build.join(path);
        match data {
            None => std::fs::create_dir_all(p).unwrap(),
            Some(d) => std::fs::write(p, d).unwrap(),
        }
    }
    let o = std::process::Command::new(env!("CARGO"))
        .args(["build", "--offline", "--locked", "--quiet"])
        .current_dir(build.join(&top))
        .env("CARGO_TARGET_DIR", tmp.path().join("target"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("target/debug/unitpack-check").is_file());
}

/// SOURCE_DATE_EPOCH dates the archive's entries.
#[test]
fn source_date_epoch_dates_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |epoch: Option<&str>, dir: &str| {
        let mut cmd = unitpack();
        if let Some(e) = epoch {
            cmd.env("SOURCE_DATE_EPOCH", e);
        }
        let o = cmd
            .arg("yocto")
            .arg("-o")
            .arg(tmp.path().join(dir).join("layer"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let name = format!("unitpack-check-{}.tar.gz", helper_version());
        std::fs::read(
            tmp.path()
                .join(dir)
                .join("layer/recipes-unitpack/unitpack-check/files")
                .join(name),
        )
        .unwrap()
    };
    let default = run(None, "a");
    assert_eq!(run(Some("1704067200"), "b"), default);
    assert_ne!(run(Some("1600000000"), "c"), default);
}

// ---------------------------------------------------------------------------------
// Bad input: exit 2, file:line and field named, and nothing written.

const GOOD: &str = r#"package:
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

fn recipe_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("thing.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Run on a broken recipe: exit 2, the messages in stderr, no layer and no
/// temporary directory next to where it would have been, and an existing layer
/// left untouched.
fn assert_rejected(text: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), text);
    let out_parent = tmp.path().join("out");
    std::fs::create_dir(&out_parent).unwrap();
    let out = out_parent.join("layer");
    let o = generate(&[&recipe], &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{e:?} not in: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(&out_parent).unwrap().count(),
        0,
        "something was written: {stderr}"
    );

    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("old"), "kept").unwrap();
    assert_eq!(generate(&[&recipe], &out).status.code(), Some(2));
    assert_eq!(tree(&out).keys().collect::<Vec<_>>(), ["old"]);
    assert_eq!(std::fs::read_dir(&out_parent).unwrap().count(), 1);
}

#[test]
fn the_good_recipe_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), GOOD);
    generate_ok(&[&recipe], &tmp.path().join("layer"));
    assert!(tmp
        .path()
        .join("layer/recipes-unitpack/my-thing/my-thing_1.0.bb")
        .is_file());
}

#[test]
fn user_units_never_reach_systemd_bbclass_and_unenabled_system_units_are_disabled() {
    let text = GOOD.to_string()
        + "  - name: helper.service\n    scope: system\n    enable: none\n    sections:\n      Service:\n        ExecStart: /usr/bin/true\n"
        + "  - name: worker@.service\n    scope: system\n    enable: none\n    sections:\n      Service:\n        ExecStart: /usr/bin/true\n";
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), &text);
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let bb = Bb::parse(
        &std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap(),
    );
    assert_eq!(bb.get("SYSTEMD_SERVICE:${PN}"), Some("helper.service"));
    assert_eq!(bb.get("SYSTEMD_AUTO_ENABLE"), Some("disable"));
    assert!(bb
        .words("FILES:${PN}")
        .contains("${systemd_system_unitdir}/worker@.service"));

    let recipe = recipe_file(tmp.path(), GOOD);
    let out = tmp.path().join("layer2");
    generate_ok(&[&recipe], &out);
    let bb = Bb::parse(
        &std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap(),
    );
    assert!(
        !bb.inherits.contains(&"systemd".to_string()),
        "{:?}",
        bb.inherits
    );
    assert_eq!(bb.get("SYSTEMD_SERVICE:${PN}"), None);
}

#[test]
fn version_with_a_hyphen_is_not_a_bitbake_version() {
    // Valid for Debian (with a revision), not for PV.
    let text = GOOD.replace(
        "  version: \"1.0\"\n",
        "  version: \"1.0-rc1\"\n  revision: \"1\"\n",
    );
    assert_rejected(
        &text,
        &["thing.yaml:3:", "package.version", "1.0-rc1", "PV"],
    );
}

#[test]
fn class_variant_suffix_is_not_a_recipe_name() {
    let text = GOOD.replace("name: my-thing", "name: my-thing-native");
    assert_rejected(&text, &["thing.yaml:2:", "package.name", "my-thing-native"]);
}

#[test]
fn upper_case_or_underscore_names_are_refused() {
    assert_rejected(
        &GOOD.replace("name: my-thing", "name: My_Thing"),
        &["thing.yaml:2:", "package.name"],
    );
}

#[test]
fn text_that_bitbake_would_expand_is_refused() {
    let text = GOOD.replace("summary: a thing", "summary: costs ${HOME}");
    assert_rejected(&text, &["thing.yaml:5:", "package.summary", "expand"]);
    let text = GOOD.replace("summary: a thing", "summary: 'a \\ thing'");
    assert_rejected(&text, &["thing.yaml:5:", "package.summary"]);
}

#[test]
fn unknown_dependency_needs_a_mapping() {
    let text = GOOD.replace("    - dbus\n", "    - dbus\n    - libfoo-bin (>= 2)\n");
    assert_rejected(
        &text,
        &[
            "thing.yaml:9:",
            "package.depends[1]",
            "libfoo-bin",
            "yocto:",
        ],
    );
}

#[test]
fn bad_package_mapping_is_refused_with_its_position() {
    let text = format!("{GOOD}yocto:\n  packages:\n    dbus: Not_A_Name\n");
    assert_rejected(
        &text,
        &["thing.yaml:19:", "yocto.packages.dbus", "Not_A_Name"],
    );
    let text = format!("{GOOD}yocto:\n  pkgs: {{}}\n");
    assert_rejected(&text, &["thing.yaml:", "unknown field"]);
}

#[test]
fn recipe_mapping_overrides_the_table() {
    let text = GOOD.replace(
        "    - dbus\n",
        "    - dbus\n    - pulseaudio | pipewire-pulse\n    - libfoo\n",
    ) + "yocto:\n  packages:\n    pulseaudio: pipewire-pulse\n    libfoo: ~\n";
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), &text);
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let bb = Bb::parse(
        &std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap(),
    );
    assert_eq!(
        bb.words("RDEPENDS:${PN}"),
        ["${UNITPACK_HELPER}", "dbus", "pipewire-pulse"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

#[test]
fn quotes_in_descriptions_do_not_end_the_value() {
    let text = GOOD.replace(
        "  summary: a thing\n",
        "  summary: a \"quoted\" thing\n  description: |\n    Say \"hi\".\n\n    Twice.\n",
    );
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), &text);
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let bb = Bb::parse(
        &std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap(),
    );
    assert_eq!(bb.get("SUMMARY"), Some("a 'quoted' thing"));
    assert_eq!(bb.get("DESCRIPTION"), Some("Say 'hi'. Twice."));
}

// ---------------------------------------------------------------------------------

/// oelint-adv over the committed layer, through the script CI calls (the only place
/// it runs). Without oelint-adv on PATH: `common::unavailable`.
#[test]
fn oelint_adv_finds_nothing() {
    let available = std::process::Command::new("oelint-adv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        common::unavailable("oelint-adv is not on PATH (scripts/setup installs it)");
        return;
    }
    let o = std::process::Command::new(repo().join("scripts/oelint"))
        .arg(repo().join("meta-layer"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "scripts/oelint failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The recipes of the e2e tests too (instances, drop-ins and their restarts).
    let tmp = tempfile::tempdir().unwrap();
    let e2e: Vec<PathBuf> = ["timer-socket", "instances", "dropins"]
        .iter()
        .map(|r| e2e_recipe(r, tmp.path()))
        .collect();
    let e2e_layer = tmp.path().join("e2e-layer");
    generate_ok(
        &e2e.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &e2e_layer,
    );
    let o = std::process::Command::new(repo().join("scripts/oelint"))
        .arg(&e2e_layer)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "scripts/oelint failed on the e2e recipes' layer:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // And it does fail on a finding: a recipe without SUMMARY.
    let layer = tmp.path().join("layer");
    generate_ok(&[], &layer);
    let bb = walkdir::WalkDir::new(&layer)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .find(|p| p.extension().is_some_and(|e| e == "bb"))
        .unwrap();
    let text = std::fs::read_to_string(&bb).unwrap();
    let broken: String = text
        .lines()
        .filter(|l| !l.starts_with("SUMMARY"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&bb, broken).unwrap();
    let o = std::process::Command::new(repo().join("scripts/oelint"))
        .arg(&layer)
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "scripts/oelint accepted a recipe without SUMMARY"
    );
}

#[test]
fn helper_relation_reaches_rdepends_or_rrecommends() {
    let layer_bb = |text: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let recipe = recipe_file(tmp.path(), text);
        let out = tmp.path().join("layer");
        generate_ok(&[&recipe], &out);
        Bb::parse(
            &std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb"))
                .unwrap(),
        )
    };
    let bb = layer_bb(&format!("{GOOD}helper: recommends\n"));
    assert!(!bb.words("RDEPENDS:${PN}").contains("${UNITPACK_HELPER}"));
    assert!(bb.words("RRECOMMENDS:${PN}").contains("${UNITPACK_HELPER}"));
    let bb = layer_bb(&format!("{GOOD}helper: none\n"));
    assert!(!bb.words("RDEPENDS:${PN}").contains("${UNITPACK_HELPER}"));
    assert!(!bb.words("RRECOMMENDS:${PN}").contains("${UNITPACK_HELPER}"));
}

#[test]
fn template_instances_are_enabled_by_instance() {
    let recipe = repo().join("tests/e2e/recipes/instances.yaml");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let text =
        std::fs::read_to_string(out.join("recipes-unitpack/instances/instances_1.0.0.bb")).unwrap();
    let bb = Bb::parse(&text);
    assert_eq!(
        bb.words("SYSTEMD_SERVICE:${PN}"),
        ["worker@a.service", "worker@b.service"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    assert!(
        text.contains(
            "ln -sf ${systemd_user_unitdir}/hello@.service ${D}${sysconfdir}/systemd/user/default.target.wants/hello@world.service"
        ),
        "{text}"
    );
}

#[test]
fn dropins_are_installed_and_restart_what_they_change() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = e2e_recipe("dropins", tmp.path());
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let dir = out.join("recipes-unitpack/distro-dropins");
    let text = std::fs::read_to_string(dir.join("distro-dropins_1.0.0.bb")).unwrap();
    let bb = Bb::parse(&text);
    let files = bb.words("FILES:${PN}");
    assert!(
        files.contains("${systemd_system_unitdir}/systemd-journald.service.d/distro-dropins.conf")
    );
    assert!(files.contains("${systemd_user_unitdir}/pulseaudio.service.d/50-unitpack-e2e.conf"));
    let shipped = std::fs::read_to_string(
        dir.join("files/dropins/system/systemd-journald.service.d/distro-dropins.conf"),
    )
    .unwrap();
    assert!(shipped.contains("Environment=UNITPACK_DROPIN=journald"));
    // Only the system drop-in asked for a restart; nothing in an image build ($D set).
    for func in ["pkg_postinst:${PN}() {", "pkg_postrm:${PN}() {"] {
        let body = text
            .split(func)
            .nth(1)
            .unwrap_or_else(|| panic!("{func}\n{text}"));
        let body = body.split("\n}\n").next().unwrap();
        assert!(
            body.contains("[ -z \"$D\" ] && [ -d /run/systemd/system ]"),
            "{body}"
        );
        assert!(
            body.contains("systemctl try-restart systemd-journald.service\n"),
            "{body}"
        );
    }
    assert!(!bb.inherits.contains(&"systemd".to_string()));
}

// ---------------------------------------------------------------------------------
// Architecture: `allarch` only for packages without machine code.

/// GOOD with an asset `bin/tool` copied from `elf` and `architecture:` set.
fn with_elf_asset(dir: &Path, elf: &Path, architecture: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(elf, dir.join("bin/tool")).unwrap();
    let text = GOOD.replace(
        "  license: MIT\n",
        &format!("  license: MIT\n  architecture: {architecture}\n"),
    )
        + "assets:\n  - source: bin/tool\n    dest: /usr/bin/my-tool\n    mode: \"0755\"\n";
    recipe_file(dir, &text)
}

#[test]
fn units_only_packages_are_allarch() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), GOOD);
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let bb = Bb::parse(
        &std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap(),
    );
    assert!(
        bb.inherits.contains(&"allarch".to_string()),
        "{:?}",
        bb.inherits
    );
    assert_eq!(bb.get("COMPATIBLE_HOST"), None);
    assert_eq!(bb.get("INSANE_SKIP:${PN}"), None);
}

#[test]
fn a_package_with_an_elf_asset_is_not_allarch() {
    // A stripped binary (Debian strips /bin/true): the QA check that would refuse to
    // strip it again is skipped, for this package only.
    let tmp = tempfile::tempdir().unwrap();
    let recipe = with_elf_asset(tmp.path(), Path::new("/bin/true"), "amd64");
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let text =
        std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap();
    let bb = Bb::parse(&text);
    assert!(!bb.inherits.contains(&"allarch".to_string()), "{text}");
    assert!(
        bb.inherits.contains(&"features_check".to_string()),
        "{text}"
    );
    assert_eq!(bb.get("COMPATIBLE_HOST"), Some("x86_64.*-linux"), "{text}");
    assert_eq!(
        bb.get("INSANE_SKIP:${PN}"),
        Some("already-stripped"),
        "{text}"
    );
    assert!(
        bb.words("FILES:${PN}").contains("${bindir}/my-tool"),
        "{text}"
    );

    // A binary with its symbol table (this test's own): OE strips it as usual, no
    // INSANE_SKIP.
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let recipe = with_elf_asset(tmp.path(), &exe, "arm64");
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let text =
        std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap();
    let bb = Bb::parse(&text);
    assert!(!bb.inherits.contains(&"allarch".to_string()), "{text}");
    assert_eq!(bb.get("COMPATIBLE_HOST"), Some("aarch64.*-linux"), "{text}");
    assert_eq!(bb.get("INSANE_SKIP:${PN}"), None, "{text}");
}

#[test]
fn an_elf_asset_in_an_all_package_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = with_elf_asset(tmp.path(), Path::new("/bin/true"), "all");
    let out = tmp.path().join("layer");
    let o = generate(&[&recipe], &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for e in [
        &format!("{}:7:3: package.architecture", recipe.display()),
        "package.architecture",
        "bin/tool is an ELF binary",
    ] {
        assert!(stderr.contains(e), "{e:?} not in: {stderr}");
    }
    assert!(!out.exists());
}

/// Every release the layer claims, with and without usrmerge: the installed manifest
/// names that release's profile, and every unit, link target and drop-in path in it is
/// where do_install (or systemd.bbclass's `systemctl enable`, for system units) puts
/// the file on that build. Before issue 11 it said `yocto-kirkstone` and `/lib/...`
/// everywhere.
#[test]
fn installed_manifest_is_right_on_every_release() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer");
    let mut inputs = seed_recipes();
    inputs.extend(
        ["timer-socket", "instances", "dropins"]
            .iter()
            .map(|r| e2e_recipe(r, tmp.path())),
    );
    generate_ok(
        &inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &out,
    );
    let conf = Bb::parse(&std::fs::read_to_string(out.join("conf/layer.conf")).unwrap());
    let releases: Vec<String> = conf
        .words("LAYERSERIES_COMPAT_unitpack")
        .into_iter()
        .collect();
    assert!(releases.len() >= 4, "{releases:?}");
    let mut checked = 0;
    for e in walkdir::WalkDir::new(out.join("recipes-unitpack")) {
        let path = e.unwrap().into_path();
        if path.extension().is_none_or(|x| x != "bb")
            || path.to_string_lossy().contains("unitpack-check")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let bb = Bb::parse(&text);
        let ctx = path.display().to_string();
        assert_eq!(
            bb.get("UNITPACK_PROFILE"),
            Some("yocto-${@[s for s in d.getVar('LAYERSERIES_CORENAMES').split() if s in d.getVar('LAYERSERIES_COMPAT_unitpack').split()][-1]}"),
            "{ctx}"
        );
        let manifest =
            std::fs::read_to_string(path.parent().unwrap().join("files/manifest")).unwrap();
        for line in manifest.lines().filter(|l| !l.starts_with('#')) {
            for f in line.split('\t').skip(1) {
                assert!(
                    !f.starts_with("/lib/") && !f.starts_with("/usr/lib/"),
                    "{ctx}: a release-specific path in the layer's manifest: {line}"
                );
            }
        }
        for release in &releases {
            for usrmerge in [false, true] {
                let vars = release_vars(release, usrmerge);
                let installed: BTreeSet<String> = bb
                    .install
                    .iter()
                    .filter_map(|l| {
                        l.strip_prefix("install -m ")
                            .and_then(|l| l.split_whitespace().nth(2))
                    })
                    .map(|dest| expand(dest, &vars))
                    .collect();
                let links: BTreeMap<String, String> = bb
                    .install
                    .iter()
                    .filter_map(|l| l.strip_prefix("ln -sf "))
                    .map(|l| {
                        let (target, link) = l.split_once(' ').unwrap();
                        (expand(link, &vars), expand(target, &vars))
                    })
                    .collect();
                let m = substitute(&bb, &manifest, &vars);
                let ctx = format!("{ctx} on {release} (usrmerge: {usrmerge})");
                assert!(
                    !m.contains("@UNITPACK_") && !m.contains("@SYSTEMD_"),
                    "{ctx}: a placeholder is left:\n{m}"
                );
                let profile = format!("yocto-{release}");
                assert!(
                    m.contains(&format!("\nprofile\t{profile}\n")),
                    "{ctx}:\n{m}"
                );
                assert!(
                    unitpack::profile::find(&profile).is_some(),
                    "{ctx}: {profile} is no unitpack profile"
                );
                for line in m.lines() {
                    let f: Vec<&str> = line.split('\t').collect();
                    match f[0] {
                        "unit" | "dropin" => {
                            let p = if f[0] == "unit" { f[4] } else { f[3] };
                            assert!(installed.contains(p), "{ctx}: {p} is not installed");
                            if f[1] == "system" {
                                assert!(p.starts_with(&vars["systemd_system_unitdir"]));
                            }
                        }
                        "link" => {
                            assert!(installed.contains(f[2]), "{ctx}: {line}");
                            if f[1].starts_with("/etc/systemd/user/") {
                                assert_eq!(links.get(f[1]), Some(&f[2].to_string()), "{ctx}");
                            }
                        }
                        _ => {}
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 6 * 4 * 2, "{checked}");
}

/// `systemctl stop` of the removal: every system unit of the package (triggers first)
/// when systemd.bbclass's SYSTEMD_SERVICE lacks one, so that the service a .path,
/// .socket or .timer unit started does not keep running; templates by pattern.
#[test]
fn removal_stops_what_the_paths_sockets_and_timers_started() {
    let text = GOOD.to_string()
        + "  - name: watch.path\n    scope: system\n    enable: enable\n    sections:\n      Path:\n        PathExists: /run/watch-ready\n      Install:\n        WantedBy: multi-user.target\n"
        + "  - name: watch.service\n    scope: system\n    enable: none\n    sections:\n      Service:\n        ExecStart: /usr/bin/true\n";
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(tmp.path(), &text);
    let out = tmp.path().join("layer");
    generate_ok(&[&recipe], &out);
    let text =
        std::fs::read_to_string(out.join("recipes-unitpack/my-thing/my-thing_1.0.bb")).unwrap();
    let bb = Bb::parse(&text);
    assert_eq!(bb.get("SYSTEMD_SERVICE:${PN}"), Some("watch.path"));
    let prerm = function(&text, "pkg_prerm:${PN}");
    assert!(
        prerm.contains("if [ -z \"$D\" ] && [ -d /run/systemd/system ]; then"),
        "{prerm}"
    );
    assert!(
        prerm.contains("systemctl stop watch.path watch.service || true"),
        "{prerm}"
    );

    let recipe = repo().join("tests/e2e/recipes/timer-socket.yaml");
    let out = tmp.path().join("layer2");
    generate_ok(&[&recipe], &out);
    let text =
        std::fs::read_to_string(out.join("recipes-unitpack/timer-socket/timer-socket_1.0.0.bb"))
            .unwrap();
    let prerm = function(&text, "pkg_prerm:${PN}");
    assert!(
        prerm.contains("systemctl stop backup.timer echo.socket backup.service || true"),
        "{prerm}"
    );
    assert!(
        prerm.contains("systemctl stop 'echo@*.service' >/dev/null 2>&1 || true"),
        "{prerm}"
    );

    // All units listed in SYSTEMD_SERVICE: the class's prerm stops them, no pkg_prerm.
    let text = std::fs::read_to_string(repo().join(
        "meta-layer/recipes-unitpack/my-pulseaudio-root-path/my-pulseaudio-root-path_1.0.0.bb",
    ))
    .unwrap();
    assert!(!text.contains("pkg_prerm"), "{text}");
}

/// The takeover scripts run, for a unit OE enables (oe-core's avahi-daemon.service):
/// pkg_postinst removes its enable links in an image root ($D), once, and pkg_postrm
/// "remove" puts them back; the replaced package's own `systemctl enable` still works
/// in between (with a mask, systemctl 252 refused: "Unit file ... is masked").
#[test]
fn takeover_removes_and_restores_links_without_a_mask() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = recipe_file(
        tmp.path(),
        r#"package:
  name: my-mdns
  version: "1.0"
  maintainer: A B <a@example.org>
  summary: an mDNS responder
  license: MIT
units:
  - name: my_mdns.service
    scope: system
    enable: enable
    takes_over:
      - avahi-daemon.service
    sections:
      Service:
        ExecStart: /usr/bin/true
      Install:
        WantedBy: multi-user.target
"#,
    );
    let layer = tmp.path().join("layer");
    generate_ok(&[&recipe], &layer);
    let text =
        std::fs::read_to_string(layer.join("recipes-unitpack/my-mdns/my-mdns_1.0.bb")).unwrap();
    let preset =
        layer.join("recipes-unitpack/my-mdns/files/presets/system/50-unitpack-my-mdns.preset");
    assert!(
        std::fs::read_to_string(&preset)
            .unwrap()
            .lines()
            .any(|l| l == "disable avahi-daemon.service"),
        "{}",
        preset.display()
    );
    let mut vars = release_vars("scarthgap", true);
    vars.insert("PN", "my-mdns".into());
    let postinst = expand(function(&text, "pkg_postinst:${PN}"), &vars);
    let postrm = expand(function(&text, "pkg_postrm:${PN}"), &vars);
    let root = tmp.path().join("root");
    let system = root.join("etc/systemd/system");
    let unitdir = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(system.join("multi-user.target.wants")).unwrap();
    std::fs::create_dir_all(system.join("sockets.target.wants")).unwrap();
    std::fs::create_dir_all(&unitdir).unwrap();
    std::fs::write(
        unitdir.join("avahi-daemon.service"),
        "[Service]\nExecStart=/usr/sbin/avahi-daemon -s\n[Install]\nWantedBy=multi-user.target\nAlso=avahi-daemon.socket\n",
    )
    .unwrap();
    std::fs::write(
        unitdir.join("avahi-daemon.socket"),
        "[Socket]\nListenStream=/run/avahi-daemon/socket\n[Install]\nWantedBy=sockets.target\n",
    )
    .unwrap();
    let service_link = system.join("multi-user.target.wants/avahi-daemon.service");
    let socket_link = system.join("sockets.target.wants/avahi-daemon.socket");
    std::os::unix::fs::symlink(
        "/usr/lib/systemd/system/avahi-daemon.service",
        &service_link,
    )
    .unwrap();
    std::os::unix::fs::symlink("/usr/lib/systemd/system/avahi-daemon.socket", &socket_link)
        .unwrap();
    let sh = |script: &str, arg: &str| {
        let o = std::process::Command::new("sh")
            .args(["-eu", "-c", script, "sh", arg])
            .env("D", &root)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    sh(&postinst, "configure");
    // Only the unit taken over loses its link.
    assert!(!service_link.is_symlink() && socket_link.is_symlink());
    let record = root.join("var/lib/unitpack/my-mdns/takeover.avahi-daemon.service");
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        "/etc/systemd/system/multi-user.target.wants/avahi-daemon.service /usr/lib/systemd/system/avahi-daemon.service\n"
    );
    // Run again (an upgrade, a re-run): the record is kept.
    sh(&postinst, "configure");
    assert!(std::fs::read_to_string(&record)
        .unwrap()
        .contains("multi-user.target.wants"));
    // Nothing in the tree is a mask.
    for e in walkdir::WalkDir::new(&root) {
        let e = e.unwrap();
        if e.path_is_symlink() {
            assert_ne!(
                std::fs::read_link(e.path()).unwrap(),
                Path::new("/dev/null"),
                "{}",
                e.path().display()
            );
        }
    }
    // The replaced package's postinst (systemd.bbclass) can still enable its unit;
    // upstream systemctl refuses a masked one.
    let systemctl = std::process::Command::new("systemctl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if systemctl {
        let o = std::process::Command::new("systemctl")
            .arg(format!("--root={}", root.display()))
            .args(["enable", "avahi-daemon.service"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(service_link.is_symlink());
        std::fs::remove_file(&service_link).unwrap();
    } else {
        common::unavailable(
            "systemctl is not installed: the enable of the replaced unit is not run",
        );
    }
    // Removal with rpm's argument for an upgrade (1) keeps things; "remove" restores.
    sh(&postrm, "1");
    assert!(!service_link.is_symlink());
    sh(&postrm, "remove");
    assert_eq!(
        std::fs::read_link(&service_link).unwrap(),
        Path::new("/usr/lib/systemd/system/avahi-daemon.service")
    );
    assert_eq!(
        std::fs::read_link(&socket_link).unwrap(),
        Path::new("/usr/lib/systemd/system/avahi-daemon.socket")
    );
    assert!(!root.join("var/lib/unitpack/my-mdns").exists());
    // The scripts are POSIX sh that shellcheck accepts.
    let shellcheck = std::process::Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !shellcheck {
        common::unavailable("shellcheck is not on PATH");
        return;
    }
    for script in [&postinst, &postrm] {
        let file = tmp.path().join("script.sh");
        std::fs::write(&file, format!("#!/bin/sh\n{script}\n")).unwrap();
        let o = std::process::Command::new("shellcheck")
            .args(["-s", "sh"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

/// Outside a checkout of unitpack (no `unitpack-check/` in the working directory),
/// `yocto` uses the helper's sources built into the binary: the same archive, byte for
/// byte, as from the checkout.
#[test]
fn yocto_works_outside_the_checkout_with_the_built_in_helper() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("recipes/pulseaudio-user.yaml"),
        tmp.path().join("pulseaudio-user.yaml"),
    )
    .unwrap();
    let o = Command::cargo_bin("unitpack")
        .unwrap()
        .current_dir(tmp.path())
        .env_remove("SOURCE_DATE_EPOCH")
        .args(["yocto", "pulseaudio-user.yaml", "-o", "layer"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from_checkout = tmp.path().join("checkout");
    let o = unitpack()
        .arg("yocto")
        .arg(repo().join("recipes/pulseaudio-user.yaml"))
        .arg("-o")
        .arg(from_checkout.join("layer"))
        .arg("--helper")
        .arg(repo().join("unitpack-check"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The archive is in the layer: the trees compare it too.
    assert_eq!(
        tree(&tmp.path().join("layer")),
        tree(&from_checkout.join("layer"))
    );
}

/// The helper crate named by `--helper` is read like any input: a symlink is not
/// followed, and the refusal is bad input (exit 2) naming the file, with no layer
/// written.
#[test]
fn a_symlink_in_the_helper_crate_is_refused_as_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let helper = tmp.path().join("unitpack-check");
    std::fs::create_dir_all(&helper).unwrap();
    std::os::unix::fs::symlink(
        repo().join("unitpack-check/Cargo.toml"),
        helper.join("Cargo.toml"),
    )
    .unwrap();
    let out = tmp.path().join("layer");
    let o = unitpack()
        .arg("yocto")
        .arg("-o")
        .arg(&out)
        .arg("--helper")
        .arg(&helper)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Cargo.toml") && stderr.contains("--helper"),
        "{stderr}"
    );
    assert!(!out.exists());
}
