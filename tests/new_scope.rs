//! `unitpack new --from` decides each unit's scope from the unit's own text, not from
//! where the file lies: judged on this Debian 12 machine's real units, the user
//! manager's (`/usr/lib/systemd/user`) and the system's (`/lib/systemd/system`), each
//! copied into a flat directory and taken in one family at a time (`foo.service`
//! with `foo.socket` and `foo.timer`, as an author would pass a package's units).

mod common;

use common::{unavailable, unitpack};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
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

/// The host's profile from os-release: the first file that is readable (Debian's
/// `/etc/os-release` is a symlink, not followed), else an error naming `--target`.
#[test]
fn new_picks_the_target_from_os_release_or_says_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let bookworm = write(
        "bookworm",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_CODENAME=bookworm\n",
    );
    let xenial = write(
        "xenial",
        "ID=ubuntu\nVERSION_CODENAME=xenial\nID_LIKE=debian\n",
    );
    let fedora = write("fedora", "ID=fedora\nVERSION_ID=40\n");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&xenial, &link).unwrap();
    let host = |files: &[&Path]| unitpack::scaffold::host_target(files);
    assert_eq!(host(&[&bookworm]).unwrap(), "debian-bookworm");
    assert_eq!(host(&[&link, &bookworm]).unwrap(), "debian-bookworm");
    assert_eq!(host(&[&xenial]).unwrap(), "ubuntu-xenial");
    let err = host(&[&fedora]).unwrap_err().to_string();
    assert!(
        err.contains("fedora") && err.contains("--target"),
        "not saying what and how: {err}"
    );

    // Through the command line, no --target: the host's profile, as the library says.
    let out = dir.path().join("r.yaml");
    let o = unitpack()
        .args(["new", "my-sync", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let expected = unitpack::scaffold::host_target(&[
        Path::new("/etc/os-release"),
        Path::new("/usr/lib/os-release"),
    ]);
    match expected {
        Ok(profile) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let recipe: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
            assert_eq!(recipe["target"].as_str(), Some(profile.as_str()));
        }
        Err(e) => {
            assert_eq!(o.status.code(), Some(2), "{e}");
            assert!(!out.exists(), "written without a target");
        }
    }
}

/// `--from DIR`: the directory's unit files; a symlink (an alias) is named as left out.
#[test]
fn new_from_a_directory_takes_its_units_and_names_the_symlinks_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    std::fs::write(
        units.join("ssh.service"),
        "[Unit]\nDescription=SSH\n[Service]\nExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n",
    )
    .unwrap();
    std::fs::write(
        units.join("ssh.socket"),
        "[Unit]\nDescription=SSH socket\n[Socket]\nListenStream=22\nAccept=no\n[Install]\nWantedBy=sockets.target\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("ssh.service", units.join("sshd.service")).unwrap();
    let out = dir.path().join("r.yaml");
    let o = unitpack()
        .args(["new", "my-ssh", "--target", "debian-bookworm", "-o"])
        .arg(&out)
        .arg("--from")
        .arg(&units)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("sshd.service is a symlink"), "{text}");
    let recipe: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let got: Vec<(&str, &str, &str)> = recipe["units"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap(),
                u["scope"].as_str().unwrap(),
                u["enable"].as_str().unwrap(),
            )
        })
        .collect();
    // Debian ships ssh.socket disabled: both enabled would be two listeners on port 22.
    assert_eq!(
        got,
        [
            ("ssh.service", "system", "enable-and-start"),
            ("ssh.socket", "system", "none")
        ]
    );
}

/// A recipe `new` writes with lint warnings would fail docs/ci.md's `lint --deny
/// warnings`: it is written (a scaffold is meant to be edited), and `new` exits 1
/// saying so. The same unit without the warning: exit 0.
#[test]
fn new_exits_1_when_what_it_wrote_would_fail_the_ci_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let run = |wanted_by: &str| {
        std::fs::write(
            units.join("sync-agent.service"),
            format!("[Unit]\nDescription=sync\n[Service]\nExecStart=/usr/bin/sync-agent\nProtectSystem=strict\n[Install]\nWantedBy={wanted_by}\n"),
        )
        .unwrap();
        let recipe = dir
            .path()
            .join(format!("{}.yaml", wanted_by.replace('.', "-")));
        let out = unitpack()
            .args([
                "new",
                "sync-agent",
                "--target",
                "debian-bookworm",
                "--scope",
                "system",
                "--from",
            ])
            .arg(&units)
            .arg("-o")
            .arg(&recipe)
            .output()
            .unwrap();
        (out, recipe)
    };
    // UP215: a system unit wanted by default.target is likely a user unit.
    let (out, recipe) = run("default.target");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(recipe.exists(), "{err}");
    assert!(
        err.contains("UP215") && err.contains("--deny warnings"),
        "{err}"
    );
    let (out, recipe) = run("multi-user.target");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(recipe.exists(), "{err}");
}

/// What `new` writes reads the same under YAML 1.1 (PyYAML, as yaml-language-server
/// and most editors read): `LockPersonality=yes`, `Accept=no` and `TimeoutSec=1:30` stay
/// the strings systemd reads, not a boolean or the number 90.
#[test]
fn new_writes_values_yaml_1_1_readers_read_as_strings() {
    // Debian's python3 (scripts/setup's python3-yaml), not a virtual environment's.
    let have_pyyaml = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_pyyaml {
        unavailable("python3 with PyYAML (scripts/setup installs python3-yaml)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    std::fs::write(
        units.join("echo@.service"),
        "[Unit]\nDescription=echo\n[Service]\nExecStart=/usr/bin/echo-server\nLockPersonality=yes\nStandardInput=socket\nTimeoutSec=1:30\n",
    )
    .unwrap();
    std::fs::write(
        units.join("echo.socket"),
        "[Unit]\nDescription=echo\n[Socket]\nListenStream=7\nAccept=yes\nFreeBind=on\nWritable=no\n[Install]\nWantedBy=sockets.target\n",
    )
    .unwrap();
    let recipe = dir.path().join("echo.yaml");
    let out = unitpack()
        .args(["new", "echo", "--target", "debian-bookworm", "--from"])
        .arg(&units)
        .arg("-o")
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(recipe.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = "import sys, yaml\n\
        doc = yaml.safe_load(open(sys.argv[1]))\n\
        for u in doc['units']:\n\
        \x20   for section, keys in u.get('sections', {}).items():\n\
        \x20       for k, v in keys.items():\n\
        \x20           for x in (v if isinstance(v, list) else [v]):\n\
        \x20               print(u['name'], section, k, type(x).__name__, x)\n";
    let py = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&recipe)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&py.stdout);
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    for line in listing.lines() {
        assert!(
            line.split(' ').nth(3) == Some("str"),
            "YAML 1.1 reads {line}"
        );
    }
    for want in [
        "LockPersonality str yes",
        "TimeoutSec str 1:30",
        "Accept str yes",
        "FreeBind str on",
        "Writable str no",
    ] {
        assert!(listing.contains(want), "{want} not in:\n{listing}");
    }
}

/// A package built by `dpkg-deb -b` from `root`, into `out`.
fn dpkg_build(root: &Path, out: &Path) {
    let built = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "-b"])
        .arg(root)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "dpkg-deb -b: {}",
        String::from_utf8_lossy(&built.stderr)
    );
}

#[test]
fn new_from_a_package_takes_scope_from_paths_and_enablement_from_its_postinst() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        return unavailable("dpkg-deb is missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    let system = root.join("lib/systemd/system");
    let user = root.join("usr/lib/systemd/user");
    for d in [
        root.join("DEBIAN"),
        system.join("multi-user.target.wants"),
        user.clone(),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: demo\nVersion: 1:2.0-3\nArchitecture: all\nMaintainer: A <a@example.org>\n\
         Depends: libc6 (>= 2.36)\nDescription: daemons of the demo for tests\n first line\n .\n second paragraph\n",
    )
    .unwrap();
    // As debhelper 13 writes them: a.service enabled and started, b.service shipped
    // disabled (--no-enable), c.service enabled for every user.
    std::fs::write(
        root.join("DEBIAN/postinst"),
        "#!/bin/sh\nset -e\n\
         # Automatically added by dh_installsystemd/13.11.4\n\
         if [ \"$1\" = \"configure\" ]; then\n\
         \tdeb-systemd-helper unmask 'a.service' >/dev/null || true\n\
         \tif deb-systemd-helper --quiet was-enabled 'a.service'; then\n\
         \t\tdeb-systemd-helper enable 'a.service' >/dev/null || true\n\
         \tfi\nfi\n# End automatically added section\n\
         # Automatically added by dh_installsystemd/13.11.4\n\
         if [ \"$1\" = \"configure\" ]; then\n\
         \tif deb-systemd-helper debian-installed 'b.service'; then\n\
         \t\tif deb-systemd-helper --quiet was-enabled 'b.service'; then\n\
         \t\t\tdeb-systemd-helper enable 'b.service' >/dev/null || true\n\
         \t\tfi\n\tfi\nfi\n# End automatically added section\n\
         # Automatically added by dh_installsystemduser/13.11.4\n\
         if [ \"$1\" = \"configure\" ] && [ -z \"$2\" ]; then\n\
         \tdeb-systemd-helper --user enable 'c.service' >/dev/null || true\n\
         fi\n# End automatically added section\n\
         # Automatically added by dh_installsystemd/13.11.4\n\
         if [ \"$1\" = \"configure\" ]; then\n\
         \tif [ -d /run/systemd/system ]; then\n\
         \t\tdeb-systemd-invoke $_dh_action 'a.service' 'b.service' 'd.service' >/dev/null || true\n\
         \tfi\nfi\n# End automatically added section\n",
    )
    .unwrap();
    let service = |install: &str| {
        format!("[Unit]\nDescription=x\n\n[Service]\nExecStart=/usr/bin/true\n{install}")
    };
    let wanted = "\n[Install]\nWantedBy=multi-user.target\n";
    std::fs::write(system.join("a.service"), service(wanted)).unwrap();
    std::fs::write(system.join("b.service"), service(wanted)).unwrap();
    // Its text alone says system (multi-user.target); its path says user.
    std::fs::write(
        user.join("c.service"),
        service("\n[Install]\nWantedBy=default.target\n"),
    )
    .unwrap();
    // Static, enabled by the link the package ships.
    std::fs::write(system.join("d.service"), service("")).unwrap();
    std::os::unix::fs::symlink(
        "../d.service",
        system.join("multi-user.target.wants/d.service"),
    )
    .unwrap();
    std::os::unix::fs::symlink("a.service", system.join("alias.service")).unwrap();
    std::fs::set_permissions(
        root.join("DEBIAN/postinst"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let deb = dir.path().join("demo.deb");
    dpkg_build(&root, &deb);

    let mut recipes = Vec::new();
    for (from, out) in [(&deb, "from-deb.yaml"), (&root, "from-dir.yaml")] {
        let out = dir.path().join(out);
        let run = unitpack()
            .args(["new", "demo", "--target", "debian-bookworm", "-o"])
            .arg(&out)
            .arg("--from")
            .arg(from)
            .output()
            .unwrap();
        assert!(
            matches!(run.status.code(), Some(0 | 1)) && out.exists(),
            "new --from {}: {}",
            from.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        recipes.push(std::fs::read_to_string(&out).unwrap());
    }
    assert_eq!(
        recipes[0], recipes[1],
        "the .deb and its unpacked tree differ"
    );
    let text = &recipes[0];
    let v: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    let units: BTreeMap<&str, (&str, &str)> = v["units"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap(),
                (u["scope"].as_str().unwrap(), u["enable"].as_str().unwrap()),
            )
        })
        .collect();
    let want: BTreeMap<&str, (&str, &str)> = [
        ("a.service", ("system", "enable-and-start")),
        ("b.service", ("system", "none")),
        ("c.service", ("user", "global")),
        ("d.service", ("system", "enable")),
    ]
    .into();
    assert_eq!(units, want, "{text}");
    let d = v["units"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "d.service")
        .unwrap();
    assert_eq!(
        d["sections"]["Install"]["WantedBy"], "multi-user.target",
        "{text}"
    );
    assert_eq!(
        v["package"]["summary"], "daemons of the demo for tests",
        "{text}"
    );
    assert_eq!(
        v["package"]["description"], "first line\n\nsecond paragraph",
        "{text}"
    );
    assert_eq!(v["package"]["version"], "0.1.0", "{text}");
    for note in [
        "# From the Debian package demo 1:2.0-3",
        "libc6 (>= 2.36)",
        "alias.service is a symlink",
        "d.service: [Install] WantedBy=multi-user.target added",
    ] {
        assert!(text.contains(note), "no {note:?} in:\n{text}");
    }
}

#[test]
fn new_from_a_bad_package_names_it_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("broken.deb");
    std::fs::write(&deb, "!<arch>\nnot really").unwrap();
    let unit = dir.path().join("x.service");
    std::fs::write(&unit, "[Service]\nExecStart=/bin/true\n").unwrap();
    for extra in [None, Some(&unit)] {
        let out = dir.path().join("demo.yaml");
        let mut cmd = unitpack();
        cmd.args(["new", "demo", "--target", "debian-bookworm", "-o"])
            .arg(&out)
            .arg("--from")
            .arg(&deb);
        if let Some(u) = extra {
            cmd.arg("--from").arg(u);
        }
        let run = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{err}");
        assert!(!out.exists());
        let named = if extra.is_some() {
            "one package"
        } else {
            "broken.deb"
        };
        assert!(err.contains(named), "{err}");
    }
}

/// Text of the package reaches the recipe only as escaped comment lines: a version
/// with a continuation line or a symlink whose name holds a line break must not write
/// YAML of its own into the recipe (before the fix the first made `new` refuse its own
/// output, and the second could add a top-level key to the recipe).
#[test]
fn new_from_a_package_keeps_its_text_inside_the_comments() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        return unavailable("dpkg-deb is missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    let system = root.join("lib/systemd/system");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(&system).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: demo\nVersion: 1.0\n assets: [{source: /etc/shadow}]\nArchitecture: all\n\
         Maintainer: A <a@example.org>\nDescription: daemons of the demo for tests\n text\n",
    )
    .unwrap();
    std::fs::write(
        system.join("a.service"),
        "[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "a.service",
        system.join("x\nextra-key: injected\n\u{2028}y.service"),
    )
    .unwrap();
    let deb = dir.path().join("demo.deb");
    let built = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--nocheck", "-Zxz", "-b"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    for from in [&deb, &root] {
        let out = dir.path().join("demo.yaml");
        let _ = std::fs::remove_file(&out);
        let run = unitpack()
            .args(["new", "demo", "--target", "debian-bookworm", "-o"])
            .arg(&out)
            .arg("--from")
            .arg(from)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{}: {err}", from.display());
        let text = std::fs::read_to_string(&out).unwrap();
        let top: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && !l.starts_with('-'))
            .collect();
        assert_eq!(
            top,
            ["package:", "target: debian-bookworm", "units:"],
            "{text}"
        );
        assert!(text.contains("1.0\\n assets"), "{text}");
        assert!(!text.contains('\u{2028}'), "{text}");
    }
}
