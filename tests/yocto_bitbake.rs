//! What real bitbake made of the layer, on every Yocto release: read from what
//! `scripts/yocto-bitbake` saved (UNITPACK_YOCTO_WORK, one directory per release of
//! UNITPACK_YOCTO_RELEASES), checked against the unitpack recipes the layer came from.
//! Ignored by default: scripts/yocto-bitbake runs bitbake, then this test.
//!
//! Per release: `bitbake -p` parsed every recipe with 0 errors and 0 warnings;
//! `bitbake -e` of every recipe of the layer gives the values the unitpack recipe
//! implies (sources fetched from the layer, unit files in the release's unit
//! directories, relations, the helper where it is built, the profile, the distro
//! features); the expanded do_install, run into an empty staging root as `nobody`,
//! installs the units and links there and nothing outside it; do_rootfs's systemctl
//! steps on that staging root (the class's enable and presets, the image's preset-all)
//! leave exactly the links the recipe enables, with systemd's systemctl and, on
//! kirkstone to styhead, with the release's own Python systemctl; `bitbake -g` resolves
//! their dependencies; yocto-check-layer passed every test it ran.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use unitpack::recipe::HelperRelation;
use unitpack::unit::{Enablement, Scope};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Releases whose Rust cannot build the helper (its recipe skips itself there).
const NO_HELPER: &[&str] = &["kirkstone"];

/// The variables of a `bitbake -e` dump, unescaped (bitbake writes `NAME="value"`,
/// `"` as `\"`, `$` as `\$`, and newlines as ` \` + newline).
fn read_env(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut vars = BTreeMap::new();
    if let Some(body) = function_body(&text, "do_install") {
        vars.insert("\0do_install".to_string(), body);
    }
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        // Shell and python functions: their bodies are not variables.
        if line.ends_with('{') && line.contains("()") {
            for inner in lines.by_ref() {
                if inner == "}" {
                    break;
                }
            }
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, rest)) = line.split_once("=\"") else {
            continue;
        };
        if name.is_empty() || name.contains(' ') || name.starts_with('#') {
            continue;
        }
        let mut value = rest.to_string();
        while value.ends_with('\\') && !value.ends_with("\\\\") {
            value.pop();
            value.push('\n');
            value.push_str(lines.next().unwrap_or(""));
        }
        let value = value
            .strip_suffix('"')
            .unwrap_or_else(|| panic!("{}: {name}: no closing quote", path.display()));
        vars.insert(
            name.to_string(),
            value.replace("\\\"", "\"").replace("\\$", "$"),
        );
    }
    vars
}

fn words(vars: &BTreeMap<String, String>, name: &str) -> BTreeSet<String> {
    vars.get(name)
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

fn get<'a>(vars: &'a BTreeMap<String, String>, name: &str, ctx: &str) -> &'a str {
    vars.get(name)
        .unwrap_or_else(|| panic!("{ctx}: bitbake -e gives no {name}"))
}

/// A file scripts/yocto-bitbake wrote, trimmed; "(missing)" when the step never ran
/// (its checks then fail on that).
fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("(missing: {}: {e})", path.display()))
}

/// The body of shell function `name` in a `bitbake -e` dump (bitbake prints it
/// expanded, between `name() {` and a `}` line).
fn function_body(dump: &str, name: &str) -> Option<String> {
    let start = format!("{name}() {{");
    let mut lines = dump.lines().skip_while(|l| *l != start);
    lines.next()?;
    Some(
        lines
            .take_while(|l| *l != "}")
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Run `pn`'s do_install as bitbake would (`set -e`, the function as `bitbake -e`
/// expands it), with `S` a copy of the recipe's `files/` (what do_unpack gives) and
/// `D` an empty staging root, as the unprivileged user `nobody`, to whom only `D`
/// is writable: a write outside `D` fails the function. Returns `D` or the error.
fn staged_install(
    v: &BTreeMap<String, String>,
    files_dir: &Path,
    tmp: &Path,
) -> Result<PathBuf, String> {
    use std::os::unix::fs::{chown, PermissionsExt};
    let dump_d = v.get("D").ok_or("no D")?;
    let dump_s = v.get("S").ok_or("no S")?;
    let body = v.get("\0do_install").ok_or("no do_install")?;
    let s = tmp.join("S");
    let d = tmp.join("D");
    for e in walkdir::WalkDir::new(files_dir) {
        let e = e.map_err(|e| e.to_string())?;
        let rel = e.path().strip_prefix(files_dir).unwrap();
        let to = s.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).map_err(|e| e.to_string())?;
        } else {
            std::fs::copy(e.path(), &to).map_err(|e| e.to_string())?;
        }
    }
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    chown(&d, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    // D before S: on kirkstone S is WORKDIR, of which D is a subdirectory.
    let script = format!(
        "set -e\ncd {}\n{}\n",
        s.display(),
        body.replace(dump_d.as_str(), &d.display().to_string())
            .replace(dump_s.as_str(), &s.display().to_string())
    );
    let o = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
            &script,
        ])
        .env("HOME", &d)
        .env("TMPDIR", &d)
        .output()
        .map_err(|e| format!("setpriv: {e}"))?;
    if !o.status.success() {
        return Err(format!("{script}\n{}", String::from_utf8_lossy(&o.stderr)));
    }
    Ok(d)
}

/// The system enable links (absolute paths) that an image's `do_rootfs` leaves for a
/// package staged in `staged`, with `systemctl` (a program and its first arguments):
/// systemd.bbclass's postinst with `$D` set (`systemctl --root=$D enable
/// SYSTEMD_SERVICE`, when SYSTEMD_AUTO_ENABLE is `enable`) and its
/// `98-PN.preset`, then image.bbclass's `systemctl --root=ROOTFS
/// --preset-mode=enable-only preset-all`. Run on a copy of the staged root.
fn rootfs_links(
    systemctl: &[String],
    staged: &Path,
    services: &[String],
    auto_enable: &str,
) -> Result<BTreeSet<String>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = tmp.path().join("rootfs");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(staged)
        .arg(&root)
        .status()
        .map_err(|e| format!("cp: {e}"))?;
    if !cp.success() {
        return Err("cp -a of the staged root failed".into());
    }
    let system = root.join("etc/systemd/system");
    std::fs::create_dir_all(&system).map_err(|e| e.to_string())?;
    let presets = root.join("usr/lib/systemd/system-preset");
    std::fs::create_dir_all(&presets).map_err(|e| e.to_string())?;
    let verb = if auto_enable == "enable" {
        "enable"
    } else {
        "disable"
    };
    let class_preset: String = services.iter().map(|s| format!("{verb} {s}\n")).collect();
    std::fs::write(presets.join("98-package.preset"), class_preset).map_err(|e| e.to_string())?;
    let root_arg = format!("--root={}", root.display());
    let mut steps: Vec<Vec<String>> = Vec::new();
    if auto_enable == "enable" && !services.is_empty() {
        let mut enable = vec![root_arg.clone(), "enable".into()];
        enable.extend(services.iter().cloned());
        steps.push(enable);
    }
    steps.push(vec![
        root_arg.clone(),
        "--preset-mode=enable-only".into(),
        "preset-all".into(),
    ]);
    for args in steps {
        let o = std::process::Command::new(&systemctl[0])
            .args(&systemctl[1..])
            .args(&args)
            .output()
            .map_err(|e| format!("{}: {e}", systemctl[0]))?;
        if !o.status.success() {
            return Err(format!("{args:?}: {}", String::from_utf8_lossy(&o.stderr)));
        }
    }
    let mut links = BTreeSet::new();
    for e in walkdir::WalkDir::new(&system) {
        let e = e.map_err(|e| e.to_string())?;
        if e.path_is_symlink() {
            links.insert(format!(
                "/{}",
                e.path().strip_prefix(&root).unwrap().display()
            ));
        }
    }
    Ok(links)
}

/// The yocto-check-layer tests that `corebase`'s own cases mark
/// `@unittest.expectedFailure`.
fn expected_failures(corebase: &Path) -> BTreeSet<String> {
    let cases = corebase.join("scripts/lib/checklayer/cases/common.py");
    let text = std::fs::read_to_string(&cases).unwrap_or_default();
    let mut marked = false;
    let mut tests = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("def ").and_then(|l| l.split('(').next()) {
            if marked {
                tests.insert(name.to_string());
            }
            marked = false;
        } else if line == "@unittest.expectedFailure" {
            marked = true;
        }
    }
    tests
}

/// `bitbake -p`'s summary: (recipes parsed, targets, skipped, errors).
fn parse_summary(log: &str) -> (u64, u64, u64, u64) {
    // "Parsing of 953 .bb files complete (0 cached, 953 parsed). 1890 targets, 83
    // skipped, 0 masked, 0 errors."
    let line = log
        .lines()
        .find(|l| l.starts_with("Parsing of "))
        .unwrap_or_else(|| panic!("no parse summary in:\n{log}"));
    let number_before = |word: &str| -> u64 {
        let i = line
            .find(word)
            .unwrap_or_else(|| panic!("{word:?} not in {line:?}"));
        line[..i]
            .split(|c: char| !c.is_ascii_digit())
            .rfind(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        number_before(" .bb files"),
        number_before(" targets"),
        number_before(" skipped"),
        number_before(" errors"),
    )
}

/// yocto-check-layer's unittest results: name → verdict ("ok", "FAIL", "ERROR",
/// "skipped \"reason\""). Its log writes `INFO: test_readme (common.CommonCheckLayer.test_readme)`
/// and, on the next line, `INFO:  ... ok` (or both on one line); the BSP and distro
/// classes appear as `setUpClass (bsp.BSPCheckLayer)`, skipped for a software layer.
fn check_layer_results(log: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = log
        .lines()
        .map(|l| l.strip_prefix("INFO:").unwrap_or(l).trim())
        .collect();
    for (i, line) in lines.iter().enumerate() {
        if !(line.starts_with("test_") || line.starts_with("setUpClass ")) {
            continue;
        }
        let (name, verdict) = match line.split_once(" ... ") {
            Some((name, verdict)) => (name, verdict.to_string()),
            None => match lines.get(i + 1).and_then(|n| n.strip_prefix("... ")) {
                Some(verdict) => (*line, verdict.to_string()),
                None => (*line, "no verdict".to_string()),
            },
        };
        let name = if name.starts_with("setUpClass") {
            name.to_string()
        } else {
            name.split_whitespace().next().unwrap().to_string()
        };
        out.insert(name, verdict.trim().to_string());
    }
    out
}

#[test]
#[ignore = "needs scripts/yocto-bitbake's bitbake runs (it runs this test)"]
fn bitbake_parses_and_expands_the_layer_on_every_release() {
    let work = PathBuf::from(
        std::env::var_os("UNITPACK_YOCTO_WORK")
            .expect("UNITPACK_YOCTO_WORK (scripts/yocto-bitbake)"),
    );
    let releases: Vec<String> = std::env::var("UNITPACK_YOCTO_RELEASES")
        .expect("UNITPACK_YOCTO_RELEASES")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert!(!releases.is_empty());
    let recipes: Vec<unitpack::recipe::Recipe> = {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("recipes"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                unitpack::recipe::load(p, Some(&unitpack::yocto::layer_profile().name)).unwrap()
            })
            .collect()
    };
    assert!(!recipes.is_empty());

    let mut report = Vec::new();
    let mut failures = Vec::new();
    for release in &releases {
        let out = work.join(release).join("results");
        let layer = work.join(release).join("meta-unitpack");
        macro_rules! fail {
            ($($arg:tt)*) => { failures.push(format!("{release}: {}", format!($($arg)*))) };
        }

        // bitbake -p
        let log = read(&out.join("parse.log"));
        let (files, parse_targets, skipped, errors) = parse_summary(&log);
        if read(&out.join("parse.rc")) != "0" || errors != 0 {
            fail!("bitbake -p failed:\n{log}");
        }
        for l in log
            .lines()
            .filter(|l| l.starts_with("ERROR") || l.starts_with("WARNING"))
        {
            fail!("bitbake -p: {l}");
        }

        // bitbake -e of every recipe of the layer
        let mut env_checks = 0;
        let env = |pn: &str| read_env(&out.join("env").join(format!("{pn}.env")));
        // A missing exit status (bitbake -e never ran) reads as a failure.
        let rc = |pn: &str| {
            std::fs::read_to_string(out.join("env").join(format!("{pn}.rc")))
                .map_or_else(|_| "not run".to_string(), |s| s.trim().to_string())
        };
        let helper_built = !NO_HELPER.contains(&release.as_str());
        for r in &recipes {
            let pn = r.package.name.as_str();
            let ctx = format!("{release}: bitbake -e {pn}");
            if rc(pn) != "0" {
                fail!(
                    "{ctx} failed: {}",
                    read(&out.join("env").join(format!("{pn}.err")))
                );
                continue;
            }
            let v = env(pn);
            let mut check = |ok: bool, what: String| {
                env_checks += 1;
                if !ok {
                    failures.push(format!("{ctx}: {what}"));
                }
            };
            let profile = get(&v, "UNITPACK_PROFILE", &ctx);
            check(
                profile == format!("yocto-{release}"),
                format!("UNITPACK_PROFILE is {profile}"),
            );
            // Sources: only files of the layer's own files/ directory.
            let files_dir = layer.join("recipes-unitpack").join(pn).join("files");
            for uri in words(&v, "SRC_URI") {
                let local = uri.strip_prefix("file://");
                check(
                    local.is_some_and(|l| files_dir.join(l).is_file()),
                    format!(
                        "SRC_URI entry {uri} is not a file of {}",
                        files_dir.display()
                    ),
                );
            }
            // Unit directories as the release sets them: systemd units under
            // /usr/lib with usrmerge (which wrynose's systemd requires), /lib without.
            let usrmerge = words(&v, "DISTRO_FEATURES").contains("usrmerge");
            let system_dir = get(&v, "systemd_system_unitdir", &ctx).to_string();
            let user_dir = get(&v, "systemd_user_unitdir", &ctx).to_string();
            let want_system = if usrmerge {
                "/usr/lib/systemd/system"
            } else {
                "/lib/systemd/system"
            };
            check(
                system_dir == want_system,
                format!("systemd_system_unitdir is {system_dir}"),
            );
            check(
                user_dir == "/usr/lib/systemd/user",
                format!("systemd_user_unitdir is {user_dir}"),
            );
            let files = words(&v, &format!("FILES:{pn}"));
            let service = words(&v, &format!("SYSTEMD_SERVICE:{pn}"));
            for unit in &r.units {
                let dir = match unit.scope {
                    Scope::System => &system_dir,
                    Scope::User => &user_dir,
                };
                let path = format!("{dir}/{}", unit.name);
                check(files.contains(&path), format!("FILES lacks {path}"));
                match (unit.scope, unit.enable) {
                    (Scope::System, Enablement::Enable | Enablement::EnableAndStart) => check(
                        service.contains(unit.name.as_str()),
                        format!("SYSTEMD_SERVICE lacks {}", unit.name),
                    ),
                    (Scope::User, Enablement::Global) => {
                        check(
                            !service.contains(unit.name.as_str()),
                            format!("user unit {} in SYSTEMD_SERVICE", unit.name),
                        );
                        for (link, _) in r.enable_links(unit) {
                            check(
                                files.contains(&link),
                                format!("FILES lacks the enable link {link}"),
                            );
                        }
                    }
                    _ => {}
                }
            }
            // Relations: every dependency of the recipe, mapped; the helper where built.
            let rdepends = words(&v, &format!("RDEPENDS:{pn}"));
            let rrecommends = words(&v, &format!("RRECOMMENDS:{pn}"));
            check(
                rdepends.len() + rrecommends.len() >= r.package.relations.depends.len(),
                format!(
                    "RDEPENDS {rdepends:?} misses some of {:?}",
                    r.package.relations.depends
                ),
            );
            let helper = "unitpack-check".to_string();
            let (want_dep, want_rec) = match r.helper {
                HelperRelation::Depends => (helper_built, false),
                HelperRelation::Recommends => (false, helper_built),
                HelperRelation::None => (false, false),
            };
            check(
                rdepends.contains(&helper) == want_dep && rrecommends.contains(&helper) == want_rec,
                format!("helper relation: RDEPENDS {rdepends:?}, RRECOMMENDS {rrecommends:?}"),
            );
            let features = words(&v, "REQUIRED_DISTRO_FEATURES");
            let at_login = !r.follow_seat.is_empty()
                || r.units
                    .iter()
                    .any(|u| u.scope == Scope::User || u.text.contains("user@"));
            check(
                features.contains("systemd") && features.contains("pam") == at_login,
                format!("REQUIRED_DISTRO_FEATURES {features:?}"),
            );
            // do_install, executed: exactly FILES in D, the enable links right, the
            // manifest's placeholders replaced, nothing written outside D.
            let tmp = tempfile::tempdir().unwrap();
            match staged_install(&v, &files_dir, tmp.path()) {
                Err(e) => check(false, format!("do_install failed: {e}")),
                Ok(d) => {
                    let mut staged = BTreeSet::new();
                    for e in walkdir::WalkDir::new(&d) {
                        let e = e.unwrap();
                        if !e.file_type().is_dir() {
                            staged.insert(format!(
                                "/{}",
                                e.path().strip_prefix(&d).unwrap().display()
                            ));
                        }
                    }
                    // Each file is packaged by name (FILES also has OE's defaults).
                    let unpackaged: Vec<&String> =
                        staged.iter().filter(|f| !files.contains(*f)).collect();
                    check(
                        unpackaged.is_empty(),
                        format!("do_install installed {unpackaged:?}, not in FILES"),
                    );
                    for unit in &r.units {
                        let dir = match unit.scope {
                            Scope::System => &system_dir,
                            Scope::User => &user_dir,
                        };
                        let path = format!("{dir}/{}", unit.name);
                        check(
                            staged.contains(&path),
                            format!("do_install did not install {path}"),
                        );
                    }
                    for unit in r
                        .units
                        .iter()
                        .filter(|u| u.scope == Scope::User && u.enable == Enablement::Global)
                    {
                        for (link, _) in r.enable_links(unit) {
                            let target = std::fs::read_link(d.join(link.trim_start_matches('/')));
                            check(
                                target.as_ref().is_ok_and(|t| {
                                    *t == Path::new(&user_dir).join(unit.name.as_str())
                                }),
                                format!("enable link {link} -> {target:?}"),
                            );
                        }
                    }
                    let manifest = std::fs::read_to_string(
                        d.join(format!("usr/share/unitpack/{pn}/manifest")),
                    )
                    .unwrap_or_default();
                    check(
                        !manifest.contains("@UNITPACK_PROFILE@") && !manifest.contains("@SYSTEMD_"),
                        format!("manifest keeps a placeholder:\n{manifest}"),
                    );
                    check(
                        manifest.contains(&format!("yocto-{release}")),
                        format!("manifest does not name yocto-{release}:\n{manifest}"),
                    );
                    // do_rootfs on the staged files: with systemd's systemctl, and
                    // with the release's own Python one where it has it; both give
                    // exactly the links the recipe enables.
                    let services: Vec<String> = words(&v, &format!("SYSTEMD_SERVICE:{pn}"))
                        .into_iter()
                        .collect();
                    let auto = v.get("SYSTEMD_AUTO_ENABLE").map_or("", |s| s.trim());
                    let wanted: BTreeSet<String> = r
                        .units
                        .iter()
                        .filter(|u| u.scope == Scope::System && u.enable.enables())
                        .flat_map(|u| r.enable_links(u))
                        .map(|(link, _)| link)
                        .collect();
                    let python = Path::new(get(&v, "COREBASE", &ctx))
                        .join("meta/recipes-core/systemd/systemd-systemctl/systemctl");
                    let mut tools = vec![vec!["systemctl".to_string()]];
                    if python.is_file() {
                        tools.push(vec!["python3".into(), python.display().to_string()]);
                    }
                    for tool in tools {
                        match rootfs_links(&tool, &d, &services, auto) {
                            Err(e) => check(false, format!("rootfs with {tool:?}: {e}")),
                            Ok(links) => check(
                                links == wanted,
                                format!("rootfs with {tool:?}: links {links:?}, recipe enables {wanted:?}"),
                            ),
                        }
                    }
                }
            }
        }
        // The helper recipe: built where the release's Rust can, skipped with its
        // reason elsewhere.
        let helper_err = out.join("env/unitpack-check.err");
        if helper_built {
            if rc("unitpack-check") != "0" {
                fail!("bitbake -e unitpack-check failed: {}", read(&helper_err));
            } else {
                let v = env("unitpack-check");
                let dir = layer.join("recipes-unitpack/unitpack-check");
                let uris = words(&v, "SRC_URI");
                env_checks += 1;
                if uris.is_empty()
                    || uris.iter().any(|u| {
                        !u.strip_prefix("file://")
                            .is_some_and(|l| dir.join("files").join(l).is_file())
                    })
                {
                    fail!("unitpack-check: SRC_URI {uris:?} is not fetched from the layer");
                }
                env_checks += 1;
                if get(&v, "LICENSE", "unitpack-check") != "MIT" {
                    fail!("unitpack-check: LICENSE");
                }
                // The follower units' Documentation=man:unitpack-check(1) names a page
                // the recipe installs (do_install as bitbake expands it).
                env_checks += 1;
                let install = v.get("\0do_install").map(String::as_str).unwrap_or("");
                let man1 = format!(
                    "{}{}/man1",
                    get(&v, "D", "unitpack-check"),
                    get(&v, "mandir", "unitpack-check")
                );
                if !install.lines().any(|l| {
                    l.contains("install -m 0644 ")
                        && l.contains("/unitpack-check/unitpack-check.1 ")
                        && l.contains(&man1)
                }) {
                    fail!(
                        "unitpack-check: do_install does not install the manual page into {man1}"
                    );
                }
            }
        } else {
            env_checks += 1;
            let err = read(&helper_err);
            if rc("unitpack-check") == "0" || !err.contains("unitpack-check needs Rust") {
                fail!("unitpack-check is not skipped with its reason: {err}");
            }
        }

        // What the release's own pulseaudio enables of the units the recipes take over
        // (systemd.bbclass enables SYSTEMD_SERVICE of each SYSTEMD_PACKAGES package).
        let pulse_enabled: Vec<String> = if rc("pulseaudio") == "0" {
            let v = env("pulseaudio");
            words(&v, "SYSTEMD_PACKAGES")
                .iter()
                .flat_map(|pkg| words(&v, &format!("SYSTEMD_SERVICE:{pkg}")))
                .collect()
        } else {
            fail!(
                "bitbake -e pulseaudio failed: {}",
                std::fs::read_to_string(out.join("env/pulseaudio.err")).unwrap_or_default()
            );
            Vec::new()
        };
        let taken_over: BTreeSet<String> = recipes
            .iter()
            .flat_map(|r| {
                r.units
                    .iter()
                    .flat_map(|u| u.takes_over.iter().map(|t| t.to_string()))
            })
            .collect();
        let pulse_conflicts: Vec<&String> = pulse_enabled
            .iter()
            .filter(|u| taken_over.contains(*u))
            .collect();
        env_checks += 1;
        for unit in &pulse_conflicts {
            if unitpack::yocto::oe_enabled(unit, Scope::User).is_none()
                && unitpack::yocto::oe_enabled(unit, Scope::System).is_none()
            {
                fail!("oe-core's pulseaudio enables {unit}, which a recipe takes over: add it to OE_ENABLED (src/yocto/recipe.rs)");
            }
        }

        // The units the layer takes over because OE enables them: OE does.
        for e in unitpack::yocto::OE_ENABLED {
            env_checks += 1;
            if rc(e.recipe) != "0" {
                fail!("bitbake -e {} failed or did not run", e.recipe);
                continue;
            }
            let v = env(e.recipe);
            let service = words(&v, &format!("SYSTEMD_SERVICE:{}", e.package));
            if !words(&v, "SYSTEMD_PACKAGES").contains(e.package) || !service.contains(e.unit) {
                fail!(
                    "OE_ENABLED says {} enables {}, bitbake -e says SYSTEMD_SERVICE:{} = {service:?}",
                    e.recipe,
                    e.unit,
                    e.package
                );
            }
        }

        // bitbake -g of the layer's recipes: their dependencies, runtime ones included,
        // resolve (an image with them can be built).
        let targets = read(&out.join("depgraph.targets"));
        env_checks += 1;
        let want: Vec<&str> = recipes
            .iter()
            .map(|r| r.package.name.as_str())
            .chain(helper_built.then_some("unitpack-check"))
            .collect();
        if read(&out.join("depgraph.rc")) != "0"
            || want
                .iter()
                .any(|pn| !targets.split_whitespace().any(|t| t == *pn))
        {
            fail!(
                "bitbake -g {targets} (want {want:?}) failed:\n{}",
                read(&out.join("depgraph.log"))
            );
        }

        // yocto-check-layer, on the releases scripts/yocto-bitbake runs it on.
        let check_layer_releases = std::env::var("UNITPACK_YOCTO_CHECK_LAYER")
            .unwrap_or_else(|_| "kirkstone wrynose".into());
        let full = check_layer_releases
            .split_whitespace()
            .any(|r| r == release || r == "all");
        // Elsewhere scripts/yocto-check-layer-offline runs the release's own tests but
        // the three that compute world task signatures, which must say skipped and why.
        let world_tests = ["test_world", "test_world_inherit_class", "test_signatures"];
        let results = {
            let layer_corebase = PathBuf::from(
                env(&recipes[0].package.name)
                    .get("COREBASE")
                    .cloned()
                    .unwrap_or_default(),
            );
            let log = read(&out.join("check-layer.log"));
            let results = check_layer_results(&log);
            if results.is_empty() {
                fail!("no yocto-check-layer results in:\n{log}");
            }
            for (test, verdict) in &results {
                // The BSP and distro test classes do not apply to a software layer.
                let other_type = test.starts_with("setUpClass")
                    && verdict.starts_with("skipped")
                    && (verdict.contains("isn't BSP") || verdict.contains("isn't Distro"));
                // A test the release itself marks `@unittest.expectedFailure` (scarthgap's
                // test_patches_upstream_status) and that passes on this layer: it held.
                let held_though_expected_to_fail = verdict == "unexpected success"
                    && expected_failures(&layer_corebase).contains(test.as_str());
                let world_skipped = !full
                    && world_tests.contains(&test.as_str())
                    && verdict.starts_with("skipped")
                    && verdict.contains("world task signatures");
                if verdict != "ok" && !other_type && !held_though_expected_to_fail && !world_skipped
                {
                    fail!("yocto-check-layer {test}: {verdict}");
                }
                if !full && world_tests.contains(&test.as_str()) && !world_skipped {
                    fail!("yocto-check-layer-offline ran {test} ({verdict}): it should skip it");
                }
            }
            // Every test of the release's software-layer set ran (none left out).
            let expected = read(&out.join("check-layer.expected"));
            let missing: Vec<&str> = expected
                .split_whitespace()
                .filter(|t| !results.contains_key(*t))
                .collect();
            if expected.split_whitespace().count() < 7 || !missing.is_empty() {
                fail!("yocto-check-layer did not run {missing:?} (expected {expected:?}):\n{log}");
            }
            if read(&out.join("check-layer.rc")) != "0" {
                fail!(
                    "yocto-check-layer failed:\n{}",
                    read(&out.join("check-layer.out"))
                );
            }
            format!(
                "{}{} ({}s)",
                if full {
                    "full: "
                } else {
                    "offline, world-signature tests skipped: "
                },
                results
                    .iter()
                    .map(|(t, v)| {
                        let v = if v.starts_with("skipped") {
                            "skipped"
                        } else {
                            v
                        };
                        format!("{t} {v}")
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                read(&out.join("check-layer.seconds"))
            )
        };
        report.push(format!(
            "{release}: bitbake -p {files} recipes ({parse_targets} targets, {skipped} skipped), {errors} errors, {}s; bitbake -e and -g: {env_checks} checks, {}s + {}s; oe-core pulseaudio enables {pulse_enabled:?} (taken over by the recipes: {pulse_conflicts:?}); yocto-check-layer: {results}; total {}s",
            read(&out.join("parse.seconds")),
            read(&out.join("env.seconds")),
            read(&out.join("depgraph.seconds")),
            read(&out.join("seconds")),
        ));
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
