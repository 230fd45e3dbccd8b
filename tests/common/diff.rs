//! The packages of the differential test against debhelper (tests/lifecycle.rs), which
//! tests/piuparts.rs also runs piuparts on: each case's units, as files, in version 1
//! and version 2, and the unitpack build of each version.

use super::{build, recipe_dir};
use std::path::PathBuf;

/// One package of the differential test against debhelper: its units, as files, for
/// version 1 and version 2, with how each is enabled.
pub struct DiffCase {
    pub package: &'static str,
    pub units: &'static [DiffUnit],
}

pub struct DiffUnit {
    pub name: &'static str,
    pub user: bool,
    /// Enabled by the package (else shipped disabled: `enable: none`, `--no-enable`).
    pub enabled: bool,
    /// The unit file in version 1 and in version 2; `None`: not shipped in that version.
    pub v1: Option<&'static str>,
    pub v2: Option<&'static str>,
}

impl DiffUnit {
    pub fn text(&self, version: u32) -> Option<&'static str> {
        if version == 1 {
            self.v1
        } else {
            self.v2
        }
    }
}

const SSH_SERVICE: &str = "[Unit]\nDescription=OpenBSD Secure Shell server\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n";
const SSH_SERVICE_ALIAS: &str = "[Unit]\nDescription=OpenBSD Secure Shell server\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n";
const SSH_SOCKET: &str = "[Unit]\nDescription=OpenBSD Secure Shell server socket\nBefore=sockets.target\n\n[Socket]\nListenStream=22\nAccept=yes\n\n[Install]\nWantedBy=sockets.target\n";
const SSH_AT: &str = "[Unit]\nDescription=OpenBSD Secure Shell server per-connection daemon\n\n[Service]\nExecStart=-/bin/cat\nStandardInput=socket\n";
const CRON: &str = "[Unit]\nDescription=Regular background program processing daemon\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n";
const DAILY_TIMER: &str = "[Unit]\nDescription=Daily apt download activities\n\n[Timer]\nOnCalendar=*-*-* 6,18:00\n\n[Install]\nWantedBy=timers.target\n";
const DAILY_SERVICE: &str = "[Unit]\nDescription=Daily apt download activities\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n";
const PW_SERVICE: &str = "[Unit]\nDescription=PipeWire Multimedia Service\nRequires=pw.socket\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nAlso=pw.socket\nWantedBy=default.target\n";
const PW_SOCKET: &str = "[Unit]\nDescription=PipeWire Multimedia System Socket\n\n[Socket]\nListenStream=%t/pw-0\n\n[Install]\nWantedBy=sockets.target\n";
const RENAMED_USER: &str = "[Unit]\nDescription=A user service, renamed in version 2\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=default.target\n";
const RENAMED_SYSTEM_V1: &str = "[Unit]\nDescription=A system service, renamed in version 2\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\nAlias=food-alias.service\n";
const RENAMED_SYSTEM_V2: &str = "[Unit]\nDescription=A system service, renamed in version 2\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n";
const XGETTY: &str = "[Unit]\nDescription=Getty on %I\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n";

pub const DIFF_CASES: &[DiffCase] = &[
    // openssh: the service gains Alias=sshd.service in version 2; the socket is shipped
    // disabled (the admin may enable it); the per-connection template has no [Install].
    DiffCase {
        package: "dt-ssh",
        units: &[
            DiffUnit {
                name: "ssh.service",
                user: false,
                enabled: true,
                v1: Some(SSH_SERVICE),
                v2: Some(SSH_SERVICE_ALIAS),
            },
            DiffUnit {
                name: "ssh.socket",
                user: false,
                enabled: false,
                v1: Some(SSH_SOCKET),
                v2: Some(SSH_SOCKET),
            },
            DiffUnit {
                name: "ssh@.service",
                user: false,
                enabled: false,
                v1: Some(SSH_AT),
                v2: Some(SSH_AT),
            },
        ],
    },
    DiffCase {
        package: "dt-cron",
        units: &[DiffUnit {
            name: "cron.service",
            user: false,
            enabled: true,
            v1: Some(CRON),
            v2: Some(CRON),
        }],
    },
    // apt's timers: a timer with its oneshot, which has no [Install].
    DiffCase {
        package: "dt-daily",
        units: &[
            DiffUnit {
                name: "dt-daily.timer",
                user: false,
                enabled: true,
                v1: Some(DAILY_TIMER),
                v2: Some(DAILY_TIMER),
            },
            DiffUnit {
                name: "dt-daily.service",
                user: false,
                enabled: false,
                v1: Some(DAILY_SERVICE),
                v2: Some(DAILY_SERVICE),
            },
        ],
    },
    // pipewire: user units, the service's Also= chain to its socket.
    DiffCase {
        package: "dt-pw",
        units: &[
            DiffUnit {
                name: "pw.service",
                user: true,
                enabled: true,
                v1: Some(PW_SERVICE),
                v2: Some(PW_SERVICE),
            },
            DiffUnit {
                name: "pw.socket",
                user: true,
                enabled: true,
                v1: Some(PW_SOCKET),
                v2: Some(PW_SOCKET),
            },
        ],
    },
    // Units renamed between versions: version 1 ships and enables foo.service (user,
    // global) and food.service (system, with an alias), version 2 ships bar.service and
    // bard.service instead. The new names come first: the admin steps after the
    // upgrade act on the first unit.
    DiffCase {
        package: "dt-rename",
        units: &[
            DiffUnit {
                name: "bar.service",
                user: true,
                enabled: true,
                v1: None,
                v2: Some(RENAMED_USER),
            },
            DiffUnit {
                name: "foo.service",
                user: true,
                enabled: true,
                v1: Some(RENAMED_USER),
                v2: None,
            },
            DiffUnit {
                name: "bard.service",
                user: false,
                enabled: true,
                v1: None,
                v2: Some(RENAMED_SYSTEM_V2),
            },
            DiffUnit {
                name: "food.service",
                user: false,
                enabled: true,
                v1: Some(RENAMED_SYSTEM_V1),
                v2: None,
            },
        ],
    },
    // A template whose [Install] names DefaultInstance=.
    DiffCase {
        package: "dt-xgetty",
        units: &[DiffUnit {
            name: "xgetty@.service",
            user: false,
            enabled: true,
            v1: Some(XGETTY),
            v2: Some(XGETTY),
        }],
    },
];

/// The package of CASE as VERSION (1 or 2) built by unitpack (`file:` units,
/// `enable: none` for the units shipped disabled).
pub fn unitpack_deb(case: &DiffCase, version: u32) -> PathBuf {
    let mut text = format!(
        "package:\n  name: {}\n  version: \"{version}.0\"\n  maintainer: Jane Doe <jane@example.org>\n  summary: differential test package\n  description: A package of the differential test against debhelper.\n  license: MIT\ntarget: ubuntu-xenial\nunits:\n",
        case.package
    );
    let mut files = Vec::new();
    for u in case.units {
        let Some(unit) = u.text(version) else {
            continue;
        };
        let enable = match (u.enabled, u.user) {
            (false, _) => "none",
            (true, true) => "global",
            (true, false) => "enable",
        };
        let scope = if u.user { "user" } else { "system" };
        text += &format!(
            "  - file: {}\n    scope: {scope}\n    enable: {enable}\n",
            u.name
        );
        files.push((u.name, unit));
    }
    let (dir, path) = recipe_dir(&text, &files);
    let deb = build(&path, &dir.path().join("out"));
    let keep = dir.keep();
    keep.join("out").join(deb.file_name().unwrap())
}
