//! What an image's `do_rootfs` makes of a layer package's system units, run with
//! systemd's own `systemctl --root`: systemd.bbclass's postinst enables
//! `SYSTEMD_SERVICE` and writes `98-PACKAGE.preset` for it, then the image runs
//! `systemctl preset-all`, which enables every unit no preset names. A unit the
//! recipe ships and does not enable must come out of that disabled.
//! (tests/yocto_bitbake.rs does the same with each release's own do_install and,
//! where the release has one, OE's Python systemctl.)

mod common;

use common::{recipe_dir, run};
use std::collections::BTreeSet;
use std::path::Path;

const RECIPE: &str = r#"package:
  name: mixed-units
  version: "1.0"
  maintainer: Jane Doe <jane@example.org>
  summary: Units enabled and not
  license: MIT
target: debian-bookworm
units:
  - name: on.service
    scope: system
    enable: enable
    sections:
      Service:
        ExecStart: /bin/true
      Install:
        WantedBy: multi-user.target
  - name: off.service
    scope: system
    enable: none
    sections:
      Service:
        ExecStart: /bin/true
      Install:
        WantedBy: multi-user.target
  - name: tick.timer
    scope: system
    enable: enable
    sections:
      Timer:
        OnCalendar: daily
      Install:
        WantedBy: timers.target
  - name: tick.service
    scope: system
    enable: none
    sections:
      Service:
        Type: oneshot
        ExecStart: /bin/true
      Install:
        WantedBy: multi-user.target
"#;

/// Every symlink below `root`/etc/systemd/system, relative to it.
fn links(root: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(root.join("etc/systemd/system"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.path_is_symlink())
        .map(|e| {
            e.path()
                .strip_prefix(root.join("etc/systemd/system"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect()
}

/// The rootfs steps on a root holding the package's system units and `presets`.
fn rootfs(units: &Path, presets: &[(&str, &str)], enabled: &[&str]) -> BTreeSet<String> {
    let root = tempfile::tempdir().unwrap();
    let unit_dir = root.path().join("usr/lib/systemd/system");
    let preset_dir = root.path().join("usr/lib/systemd/system-preset");
    std::fs::create_dir_all(&unit_dir).unwrap();
    std::fs::create_dir_all(&preset_dir).unwrap();
    std::fs::create_dir_all(root.path().join("etc/systemd/system")).unwrap();
    for e in std::fs::read_dir(units).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), unit_dir.join(e.file_name())).unwrap();
    }
    for (name, text) in presets {
        std::fs::write(preset_dir.join(name), text).unwrap();
    }
    let root_arg = format!("--root={}", root.path().display());
    let mut enable = vec![root_arg.as_str(), "enable"];
    enable.extend(enabled);
    for args in [
        enable,
        vec![&root_arg, "--preset-mode=enable-only", "preset-all"],
    ] {
        let out = run("systemctl", &args);
        assert!(
            out.status.success(),
            "systemctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    links(root.path())
}

#[test]
fn units_shipped_and_not_enabled_stay_disabled_through_preset_all() {
    let (dir, recipe) = recipe_dir(RECIPE, &[]);
    let layer = dir.path().join("layer");
    common::yocto::generate_ok(&[&recipe], &layer);
    let files = layer.join("recipes-unitpack/mixed-units/files");
    let preset =
        std::fs::read_to_string(files.join("presets/system/50-unitpack-mixed-units.preset"))
            .expect("the package ships a preset for the units it does not enable");
    let bb = std::fs::read_to_string(layer.join("recipes-unitpack/mixed-units/mixed-units_1.0.bb"))
        .unwrap();
    assert!(
        bb.contains("SYSTEMD_SERVICE:${PN} = \"on.service tick.timer\""),
        "{bb}"
    );
    assert!(bb.contains("${nonarch_libdir}/systemd/system-preset/50-unitpack-mixed-units.preset"));
    // What systemd.bbclass writes for SYSTEMD_SERVICE with SYSTEMD_AUTO_ENABLE = enable.
    let class_preset = "enable on.service\nenable tick.timer\n";
    let enabled = ["on.service", "tick.timer"];
    let wanted: BTreeSet<String> = [
        "multi-user.target.wants/on.service",
        "timers.target.wants/tick.timer",
    ]
    .map(str::to_string)
    .into();

    let with_layer = rootfs(
        &files.join("system"),
        &[
            ("50-unitpack-mixed-units.preset", &preset),
            ("98-mixed-units.preset", class_preset),
        ],
        &enabled,
    );
    assert_eq!(with_layer, wanted, "preset:\n{preset}");

    // Without the layer's preset, preset-all enables what the recipe left off: the
    // failure this preset exists for.
    let without = rootfs(
        &files.join("system"),
        &[("98-mixed-units.preset", class_preset)],
        &enabled,
    );
    assert!(
        without.contains("multi-user.target.wants/off.service"),
        "{without:?}"
    );
}
