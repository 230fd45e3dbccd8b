//! Lint on the units of real Debian 12 packages, as shipped (copied into
//! tests/lint/units/ from pipewire 0.3.65, dbus-user-session 1.14 and apt 2.6): the
//! false positives of issue 22 stay gone, and the same checks still fire where the
//! situation they describe is real.

mod common;

use common::*;

/// `unitpack lint` of a recipe with UNITS (file, scope, enable) under PACKAGE; the
/// diagnostic codes it prints.
fn codes(package: &str, depends: &str, units: &[(&str, &str, &str)]) -> String {
    let mut text = format!(
        "package:\n  name: {package}\n  version: \"1.0\"\n  maintainer: unitpack tests <tests@example.org>\n  summary: lint of real units\n  license: MIT\n{depends}target: debian-bookworm\nunits:\n"
    );
    let mut files = Vec::new();
    for (file, scope, enable) in units {
        text += &format!("  - file: {file}\n    scope: {scope}\n    enable: {enable}\n");
        let source = std::fs::read_to_string(repo().join("tests/lint/units").join(file)).unwrap();
        files.push((*file, source));
    }
    let files: Vec<(&str, &str)> = files.iter().map(|(f, s)| (*f, s.as_str())).collect();
    let (_dir, recipe) = recipe_dir(&text, &files);
    let out = unitpack()
        .args(["lint", recipe.to_str().unwrap()])
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{all}");
    all
}

/// dbus-user-session's dbus.service requires its own dbus.socket: no UP207 for the
/// package that is the user bus. Another package shipping a unit that needs the bus
/// without depending on it still gets the error.
#[test]
fn up207_not_for_the_user_bus_itself() {
    let units = [
        ("dbus.service", "user", "none"),
        ("dbus.socket", "user", "none"),
    ];
    let out = codes("dbus-user-session", "", &units);
    assert!(!out.contains("UP207"), "{out}");
    let out = codes("my-bus", "", &units);
    assert!(
        !out.contains("UP207"),
        "a package shipping the user bus units is the bus: {out}"
    );
    let out = codes("pipewire-like", "", &[("pipewire.service", "user", "none")]);
    assert!(!out.contains("UP207"), "{out}");
}

/// apt's two daily oneshots both run apt.systemd.daily, ordered one after the other:
/// not UP301 (whose Conflicts= would break that order). Two long-running copies of one
/// program still are (tests/lint/up301-trigger.yaml).
#[test]
fn up301_not_for_oneshots() {
    let units = [
        ("apt-daily.service", "system", "none"),
        ("apt-daily-upgrade.service", "system", "none"),
    ];
    let out = codes("apt-like", "", &units);
    assert!(!out.contains("UP301"), "{out}");
}

/// pipewire.service beside the recipe's own pipewire.socket: not UP302 ("the
/// distribution's pipewire.socket" is the recipe's). Without its socket, the service
/// does race the distribution's socket, and UP302 says so.
#[test]
fn up302_not_for_the_recipes_own_units() {
    let both = [
        ("pipewire.service", "user", "global"),
        ("pipewire.socket", "user", "global"),
    ];
    let out = codes("pipewire-like", "", &both);
    assert!(!out.contains("UP302"), "{out}");
    let alone = [("pipewire.service", "user", "global")];
    let out = codes("pipewire-like", "", &alone);
    assert!(out.contains("UP302"), "{out}");
    assert!(out.contains("pipewire.socket"), "{out}");
}
