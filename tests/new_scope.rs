//! `unitpack new --from` decides each unit's scope from the unit's own text, not from
//! where the file lies: judged on this Debian 12 machine's real units, the user
//! manager's (`/usr/lib/systemd/user`) and the system's (`/lib/systemd/system`), each
//! copied into a flat directory and taken in one family at a time (`foo.service`
//! with `foo.socket` and `foo.timer`, as an author would pass a package's units).

mod common;

use common::{unavailable, unitpack};
use std::collections::BTreeMap;
use std::path::Path;
use unitpack::unit::{Scope, UnitName};

/// Units whose text says nothing of their manager, with why; each must be one the
/// guess gets wrong (a fixed guess is removed from here).
const SILENT: &[(&str, &str)] = &[
    (
        "system: polkit.service",
        "D-Bus activated (Type=dbus, BusName=) with nothing of the system's (no User=, no sandboxing): read as a session service, as dconf's and tumbler's are",
    ),
    (
        "user: systemd-exit.service",
        "systemd's own: Requires=/After=shutdown.target, which both managers have",
    ),
];

fn is_unit(name: &str) -> bool {
    [".service", ".socket", ".timer", ".path"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// The units of `dir` copied flat into `into` (their contents; aliases resolved).
fn copy_flat(dir: &Path, into: &Path) -> Vec<String> {
    std::fs::create_dir_all(into).unwrap();
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return names;
    };
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_unit(&name) || UnitName::parse(&name).is_err() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        std::fs::write(into.join(&name), text).unwrap();
        names.push(name);
    }
    names.sort();
    names
}

fn family(name: &str) -> &str {
    &name[..name.rfind('.').unwrap()]
}

#[test]
fn scope_comes_from_the_units_text_on_debian_12_units() {
    let user = Path::new("/usr/lib/systemd/user");
    let system = Path::new("/lib/systemd/system");
    if !user.is_dir() || !system.is_dir() {
        return unavailable("Debian's unit directories are missing");
    }
    let flat = tempfile::tempdir().unwrap();
    let mut verdicts: BTreeMap<String, (Scope, Scope)> = BTreeMap::new();
    for (label, dir, expected) in [
        ("user", user, Scope::User),
        ("system", system, Scope::System),
    ] {
        let here = flat.path().join(label);
        let names = copy_flat(dir, &here);
        let mut families: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for n in &names {
            families.entry(family(n)).or_default().push(n);
        }
        for members in families.values() {
            let units: Vec<_> = members
                .iter()
                .filter_map(|n| {
                    let text = std::fs::read_to_string(here.join(n)).unwrap();
                    // A file systemd itself would not load is not one `new` takes.
                    let sections = unitpack::unit::parse(&text).ok()?;
                    Some((UnitName::parse(n).unwrap(), sections))
                })
                .collect();
            let scopes = unitpack::scaffold::guess_scopes(&units);
            for ((name, _), got) in units.iter().zip(scopes) {
                verdicts.insert(format!("{label}: {name}"), (expected, got));
            }
        }
    }
    let users = verdicts.keys().filter(|k| k.starts_with("user:")).count();
    assert!(
        users >= 8 && verdicts.len() >= 60,
        "too few units to judge: {users} user, {} in all",
        verdicts.len()
    );
    let wrong: Vec<&String> = verdicts
        .iter()
        .filter(|(_, (want, got))| want != got)
        .map(|(k, _)| k)
        .collect();
    let same = verdicts.len() - wrong.len();
    let percent = 100.0 * same as f64 / verdicts.len() as f64;
    eprintln!(
        "new --from scope: {same}/{} units ({percent:.1} %) as their directory says; {} user units; differences: {wrong:?}",
        verdicts.len(),
        users
    );
    for w in &wrong {
        let reason = SILENT.iter().find(|(n, _)| n == w);
        assert!(
            reason.is_some(),
            "{w}: scope guessed wrong, and not listed in SILENT"
        );
    }
    for (n, _) in SILENT {
        assert!(
            !verdicts.contains_key(*n) || wrong.contains(&&n.to_string()),
            "{n} is guessed right now: remove it from SILENT"
        );
    }
    assert!(percent >= 95.0, "{percent:.1} % < 95 %");
}

/// Through the command line: a socket with no word of its own about its manager
/// follows its service, from a flat directory (no `systemd/user` in the path).
#[test]
fn new_from_a_flat_directory_puts_a_socket_beside_its_user_service() {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("my-agent.service");
    let socket = dir.path().join("my-agent.socket");
    std::fs::write(
        &service,
        "[Unit]\nDescription=Agent\nRequires=my-agent.socket\n[Service]\nExecStart=/usr/bin/my-agent --supervised\n[Install]\nAlso=my-agent.socket\nWantedBy=default.target\n",
    )
    .unwrap();
    std::fs::write(
        &socket,
        "[Unit]\nDescription=Agent socket\n[Socket]\nListenStream=/run/my-agent.sock\n[Install]\nWantedBy=sockets.target\n",
    )
    .unwrap();
    let out = dir.path().join("r.yaml");
    let o = unitpack()
        .args(["new", "my-agent", "--target", "debian-bookworm", "-o"])
        .arg(&out)
        .arg("--from")
        .arg(&service)
        .arg("--from")
        .arg(&socket)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let recipe: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let scopes: Vec<&str> = recipe["units"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|u| u["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["user", "user"]);
}
