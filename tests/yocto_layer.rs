//! The Yocto layer as `unitpack yocto` generates it: the committed `meta-layer/` is what
//! the recipes generate, every seed recipe's .bb read back with a small bitbake parser,
//! the installed manifest on every release, and oelint-adv over the layer.

mod common;

use common::repo;
use common::yocto::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use unitpack::unit::{Enablement, Scope};

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

/// oelint-adv over the committed layer, through the script CI calls (the only place
/// it runs). Without oelint-adv on PATH: `common::unavailable`.
#[test]
fn oelint_adv_finds_nothing() {
    if !common::available(
        "oelint-adv",
        "oelint-adv is not on PATH (scripts/setup installs it)",
    ) {
        return;
    }
    let oelint = |layer: &Path| {
        let o = std::process::Command::new(repo().join("scripts/oelint"))
            .arg(layer)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&o.stdout) + String::from_utf8_lossy(&o.stderr);
        (o.status.success(), said.into_owned())
    };
    let (ok, said) = oelint(&repo().join("meta-layer"));
    assert!(ok, "scripts/oelint failed:\n{said}");
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
    let (ok, said) = oelint(&e2e_layer);
    assert!(
        ok,
        "scripts/oelint failed on the e2e recipes' layer:\n{said}"
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
    let (ok, said) = oelint(&layer);
    assert!(
        !ok,
        "scripts/oelint accepted a recipe without SUMMARY:\n{said}"
    );
}
