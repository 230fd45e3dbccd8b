//! One recipe at a time through `unitpack yocto`: what its .bb installs, enables,
//! depends on and runs (architecture, templates, drop-ins, removal, takeover).

mod common;

use common::repo;
use common::yocto::*;
use std::path::Path;

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
    let bb = Bb::parse(&my_thing_bb(&text));
    assert_eq!(bb.get("SYSTEMD_SERVICE:${PN}"), Some("helper.service"));
    assert_eq!(bb.get("SYSTEMD_AUTO_ENABLE"), Some("disable"));
    assert!(bb
        .words("FILES:${PN}")
        .contains("${systemd_system_unitdir}/worker@.service"));

    let bb = Bb::parse(&my_thing_bb(GOOD));
    assert!(
        !bb.inherits.contains(&"systemd".to_string()),
        "{:?}",
        bb.inherits
    );
    assert_eq!(bb.get("SYSTEMD_SERVICE:${PN}"), None);
}

#[test]
fn recipe_mapping_overrides_the_table() {
    let text = GOOD.replace(
        "    - dbus\n",
        "    - dbus\n    - pulseaudio | pipewire-pulse\n    - libfoo\n",
    ) + "yocto:\n  packages:\n    pulseaudio: pipewire-pulse\n    libfoo: ~\n";
    let bb = Bb::parse(&my_thing_bb(&text));
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
    let bb = Bb::parse(&my_thing_bb(&text));
    assert_eq!(bb.get("SUMMARY"), Some("a 'quoted' thing"));
    assert_eq!(bb.get("DESCRIPTION"), Some("Say 'hi'. Twice."));
}

#[test]
fn helper_relation_reaches_rdepends_or_rrecommends() {
    let layer_bb = |text: &str| Bb::parse(&my_thing_bb(text));
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
    let text = generated_bb(&recipe, "instances/instances_1.0.0.bb");
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

#[test]
fn units_only_packages_are_allarch() {
    let bb = Bb::parse(&my_thing_bb(GOOD));
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
    let text = generated_bb(&recipe, "my-thing/my-thing_1.0.bb");
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
    let text = generated_bb(&recipe, "my-thing/my-thing_1.0.bb");
    let bb = Bb::parse(&text);
    assert!(!bb.inherits.contains(&"allarch".to_string()), "{text}");
    assert_eq!(bb.get("COMPATIBLE_HOST"), Some("aarch64.*-linux"), "{text}");
    assert_eq!(bb.get("INSANE_SKIP:${PN}"), None, "{text}");
}

/// `systemctl stop` of the removal: every system unit of the package (triggers first)
/// when systemd.bbclass's SYSTEMD_SERVICE lacks one, so that the service a .path,
/// .socket or .timer unit started does not keep running; templates by pattern.
#[test]
fn removal_stops_what_the_paths_sockets_and_timers_started() {
    let text = GOOD.to_string()
        + "  - name: watch.path\n    scope: system\n    enable: enable\n    sections:\n      Path:\n        PathExists: /run/watch-ready\n      Install:\n        WantedBy: multi-user.target\n"
        + "  - name: watch.service\n    scope: system\n    enable: none\n    sections:\n      Service:\n        ExecStart: /usr/bin/true\n";
    let text = my_thing_bb(&text);
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
    let text = generated_bb(&recipe, "timer-socket/timer-socket_1.0.0.bb");
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
    if common::available(
        "systemctl",
        "systemctl is not installed: the enable of the replaced unit is not run",
    ) {
        let o = std::process::Command::new("systemctl")
            .arg(format!("--root={}", root.display()))
            .args(["enable", "avahi-daemon.service"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(service_link.is_symlink());
        std::fs::remove_file(&service_link).unwrap();
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
    if !common::available("shellcheck", "shellcheck is not on PATH") {
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
