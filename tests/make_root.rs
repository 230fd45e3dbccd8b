//! tests/support/make-root takes a root of `unitpack verify`'s cache instead of
//! bootstrapping its own only when that root is what its own debootstrap would make:
//! format 1 (a debootstrap) or 2 (a copy of one with more packages installed by its apt
//! as debootstrap would) of src/verify/cache.rs, Debian 12 of the same mirror, architecture and
//! debootstrap version, no board stack laid over, asked for no package outside
//! make-root's set, and with every package of that set installed. Each case here is a
//! fake cache (the inputs file and a dpkg status) under a temporary XDG_CACHE_HOME,
//! asked with `make-root --verify-root`, which makes nothing.

mod common;

use common::repo;
use std::path::Path;
use std::process::Command;

/// make-root's own packages, as it asks debootstrap for them.
const BASE: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "libpam-systemd",
    "pulseaudio",
    "pulseaudio-utils",
    "procps",
];

/// What verify asks for the seed user recipe's root, without dbus-user-session:
/// pulseaudio brings pulseaudio-utils as a dependency.
const VERIFY_PACKAGES: &str = "dbus,libpam-systemd,procps,pulseaudio,systemd,systemd-sysv";

const MIRROR: &str = "http://deb.debian.org/debian";

fn debootstrap_version() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "debootstrap"])
        .output()
        .ok()?;
    (out.status.success() && !out.stdout.is_empty())
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn inputs(format: u32, arch: &str, packages: &str, debootstrap: &str) -> String {
    format!(
        "unitpack-verify-root {format}\nsuite bookworm\narch {arch}\nmirror {MIRROR}\n\
         packages {packages}\ndebootstrap {debootstrap}\n"
    )
}

/// A fake cached root: its inputs file and a dpkg status with `installed`.
fn fake_root(cache: &Path, name: &str, inputs: &str, installed: &[&str]) {
    let root = cache.join("unitpack/roots").join(name);
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(root.join(".unitpack-root"), inputs).unwrap();
    let status: String = installed
        .iter()
        .map(|p| format!("Package: {p}\nStatus: install ok installed\nVersion: 1\n\n"))
        .collect();
    std::fs::write(root.join("var/lib/dpkg/status"), status).unwrap();
}

/// `make-root --verify-root ARCH EXTRA` with `cache` as XDG_CACHE_HOME: the root's
/// directory name, or None.
fn chosen(cache: &Path, arch: &str, extra: &str) -> Option<String> {
    let out = Command::new(repo().join("tests/support/make-root"))
        .args(["--verify-root", arch, extra])
        .env("XDG_CACHE_HOME", cache)
        .output()
        .expect("make-root runs");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "make-root --verify-root: {out:?}"
    );
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    out.status.success().then(|| {
        Path::new(&path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    })
}

#[test]
fn only_a_root_debootstrap_would_make_here_is_taken() {
    let Some(version) = debootstrap_version() else {
        common::unavailable("debootstrap is not installed (make-root compares its version)");
        return;
    };
    let with_dus: Vec<&str> = BASE.iter().copied().chain(["dbus-user-session"]).collect();
    let cases: &[(&str, String, &[&str])] = &[
        // Another format: a root made some other way.
        (
            "bookworm-amd64-format3",
            inputs(3, "amd64", VERIFY_PACKAGES, &version),
            BASE,
        ),
        // Another debootstrap.
        (
            "bookworm-amd64-olddebootstrap",
            inputs(1, "amd64", VERIFY_PACKAGES, "0.9"),
            BASE,
        ),
        // Asked for a package make-root does not want.
        (
            "bookworm-amd64-vim",
            inputs(1, "amd64", &format!("{VERIFY_PACKAGES},vim"), &version),
            &[BASE, &["vim"]].concat(),
        ),
        // A package make-root wants is not installed.
        (
            "bookworm-amd64-noutils",
            inputs(1, "amd64", VERIFY_PACKAGES, &version),
            &BASE[..5],
        ),
        // The board's stack laid over.
        (
            "bookworm-amd64-stack",
            inputs(1, "amd64", VERIFY_PACKAGES, &version) + "stack systemd-229 0123\n",
            BASE,
        ),
    ];
    let cache = tempfile::tempdir().unwrap();
    for (name, text, installed) in cases {
        fake_root(cache.path(), name, text, installed);
    }
    assert_eq!(chosen(cache.path(), "amd64", ""), None);

    // The same packages on another architecture is not a root for this one.
    fake_root(
        cache.path(),
        "bookworm-armhf-good",
        &inputs(1, "armhf", VERIFY_PACKAGES, &version),
        BASE,
    );
    assert_eq!(chosen(cache.path(), "amd64", ""), None);
    assert_eq!(
        chosen(cache.path(), "armhf", "").as_deref(),
        Some("bookworm-armhf-good")
    );

    fake_root(
        cache.path(),
        "bookworm-amd64-good",
        &inputs(1, "amd64", VERIFY_PACKAGES, &version),
        BASE,
    );
    assert_eq!(
        chosen(cache.path(), "amd64", "").as_deref(),
        Some("bookworm-amd64-good")
    );
    // With dbus-user-session wanted, a root without it is not taken; one with it is,
    // here one derived from the base root (format 2), as verify makes it.
    assert_eq!(chosen(cache.path(), "amd64", "dbus-user-session"), None);
    fake_root(
        cache.path(),
        "bookworm-amd64-dus",
        &(inputs(
            2,
            "amd64",
            "dbus,dbus-user-session,libpam-systemd,procps,pulseaudio,systemd,systemd-sysv",
            &version,
        ) + &format!(
            "base {}\nextra dbus-user-session,pulseaudio\n",
            "0".repeat(64)
        )),
        &with_dus,
    );
    assert_eq!(
        chosen(cache.path(), "amd64", "dbus-user-session").as_deref(),
        Some("bookworm-amd64-dus")
    );
}

#[test]
fn an_empty_cache_gives_none() {
    let cache = tempfile::tempdir().unwrap();
    assert_eq!(chosen(cache.path(), "amd64", ""), None);
    assert_eq!(chosen(cache.path(), "armhf", "dbus-user-session"), None);
}
