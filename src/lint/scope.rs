//! UP2xx: what breaks because a unit runs under the user manager or under PID 1.

use super::diagnostic::{self as codes, Diagnostic, Severity};
use super::{env_assignments, specifiers, Input, Subject};
use crate::profile::Family;
use crate::unit::{Enablement, Scope};

/// Targets that exist only in the system manager: a user unit wanted by one of them is
/// never started.
const SYSTEM_ONLY_TARGETS: &[&str] = &[
    "multi-user.target",
    "graphical.target",
    "sysinit.target",
    "network.target",
    "network-online.target",
    "local-fs.target",
    "remote-fs.target",
    "getty.target",
    "rescue.target",
    "emergency.target",
    "sound.target",
];

/// Targets that exist only in user managers: the system manager never loads them, so a
/// system unit wanted by one never starts, and one that requires one fails to start.
const USER_ONLY_TARGETS: &[&str] = &[
    "graphical-session.target",
    "graphical-session-pre.target",
    "xdg-desktop-autostart.target",
];

/// Units that only the system manager has, which user units name by mistake: a user
/// manager loads each as "not found". `sound.target` is left out: Debian 12's user
/// manager has one too.
const SYSTEM_ONLY_UNITS: &[&str] = &[
    "multi-user.target",
    "graphical.target",
    "sysinit.target",
    "network.target",
    "network-online.target",
    "network-pre.target",
    "nss-lookup.target",
    "nss-user-lookup.target",
    "time-sync.target",
    "time-set.target",
    "local-fs.target",
    "remote-fs.target",
    "getty.target",
    "rescue.target",
    "emergency.target",
    "systemd-networkd.service",
    "systemd-networkd-wait-online.service",
    "NetworkManager.service",
    "NetworkManager-wait-online.service",
    "systemd-resolved.service",
    "systemd-timesyncd.service",
    "systemd-logind.service",
    "systemd-udevd.service",
];

/// `[Unit]` dependencies after which a unit that is not found fails the start job
/// ("Unit X not found"); the others then do nothing, silently.
const HARD_DEPENDENCIES: &[&str] = &["Requires", "Requisite", "BindsTo"];

/// Specifiers that describe the user of the service manager: root's values under PID 1.
const PER_USER_SPECIFIERS: &[char] = &['U', 'u', 'h', 's'];

/// From this release on, %U/%u/%h/%s describe the manager's user, not `User=`.
const MANAGER_USER_SPECIFIERS_SINCE: u32 = 228;

/// Path unit directives that watch a path.
const PATH_WATCHES: &[&str] = &[
    "PathExists",
    "PathExistsGlob",
    "PathChanged",
    "PathModified",
    "DirectoryNotEmpty",
];

/// systemd units that unit files name but that older systemd releases do not ship, with
/// the release that added them: a dependency on one does nothing there (UP212).
const UNITS_SINCE: &[(&str, u32)] = &[
    // logind mounted and unmounted /run/user/UID itself before.
    ("user-runtime-dir@", 239),
];

/// [Unit] directives that name other units.
const DEPENDENCIES: &[&str] = &[
    "Requires",
    "Requisite",
    "Wants",
    "BindsTo",
    "PartOf",
    "Conflicts",
    "Before",
    "After",
    "OnFailure",
    "PropagatesReloadTo",
    "ReloadPropagatedFrom",
    "JoinsNamespaceOf",
];

/// Flags with which common daemons stay in the foreground.
const FOREGROUND_FLAGS: &[&str] = &[
    "--daemonize=no",
    "--daemonize=false",
    "--daemonize=0",
    "--foreground",
    "--nofork",
    "--no-fork",
    "--nodaemon",
    "--no-daemon",
    "--nodetach",
    "--no-detach",
];

pub(super) fn check(input: &Input, out: &mut Vec<Diagnostic>) {
    for subject in &input.units {
        match subject.unit.scope {
            Scope::User => {
                system_targets(subject, out);
                system_dependencies(input, subject, out);
                user_group(subject, out);
                runtime_dir(subject, out);
                if input.package.is_some() {
                    user_bus(input, subject, out);
                }
            }
            Scope::System => {
                per_user_specifiers(input, subject, out);
                user_target(subject, out);
                session_targets(subject, out);
            }
        }
        also_other_scope(input, subject, out);
        if subject.unit.name.kind() == "path" {
            path_unit(input, subject, out);
        }
        unit_too_new(input, subject, out);
        forking_foreground(subject, out);
    }
}

fn system_targets(subject: &Subject, out: &mut Vec<Diagnostic>) {
    for key in ["WantedBy", "RequiredBy"] {
        for d in subject.directives("Install", key) {
            for target in d
                .value
                .split_whitespace()
                .filter(|t| SYSTEM_ONLY_TARGETS.contains(t))
            {
                out.push(
                    Diagnostic::new(
                        codes::USER_UNIT_SYSTEM_TARGET,
                        subject.at_directive(d),
                        format!("user unit {} is {key}={target}, which exists only in the system manager", subject.unit.name),
                    )
                    .help(format!("use {key}=default.target (the user manager's target)"))
                    .note("the user manager never reaches this target, so the unit is never started"),
                );
            }
        }
    }
}

/// `WantedBy=default.target` is how a user unit says "at every login"; in the system
/// manager default.target is only an alias of the boot target, so a system unit with it
/// is most often a user unit declared with the wrong scope.
fn user_target(subject: &Subject, out: &mut Vec<Diagnostic>) {
    for key in ["WantedBy", "RequiredBy"] {
        for d in subject.directives("Install", key) {
            if d.value.split_whitespace().any(|t| t == "default.target") {
                out.push(
                    Diagnostic::new(
                        codes::SYSTEM_UNIT_USER_TARGET,
                        subject.at_directive(d),
                        format!(
                            "system unit {} is {key}=default.target, the target every user manager starts",
                            subject.unit.name
                        ),
                    )
                    .help("for every user's session, declare it `scope: user` (enable: global); for the system at boot, use multi-user.target")
                    .note("in the system manager default.target is an alias of the boot target (multi-user or graphical)"),
                );
            }
        }
    }
}

/// A system unit wanted by, or depending on, a target that only user managers have.
fn session_targets(subject: &Subject, out: &mut Vec<Diagnostic>) {
    let keys = ["WantedBy", "RequiredBy"]
        .map(|k| ("Install", k))
        .into_iter()
        .chain(DEPENDENCIES.iter().map(|k| ("Unit", *k)));
    for (section, key) in keys {
        for d in subject.directives(section, key) {
            for target in d
                .value
                .split_whitespace()
                .filter(|t| USER_ONLY_TARGETS.contains(t))
            {
                // Enabled into a .wants/ nobody reads, or a start that fails: the unit
                // never runs. An ordering or soft dependency only does nothing.
                let fatal = section == "Install" || HARD_DEPENDENCIES.contains(&key);
                let consequence = if section == "Install" {
                    "enabled, it is never started: the system manager never reaches that target"
                } else if fatal {
                    "its start fails: \"Unit ... not found\" in the system manager"
                } else {
                    "the dependency does nothing: the system manager has no such unit"
                };
                out.push(
                    Diagnostic::new(
                        codes::SYSTEM_UNIT_SESSION_TARGET,
                        subject.at_directive(d),
                        format!(
                            "system unit {} has {key}={target}, a target only user managers have",
                            subject.unit.name
                        ),
                    )
                    .severity(if fatal { Severity::Error } else { Severity::Warning })
                    .help(if section == "Install" {
                        format!("for users' graphical sessions, declare the unit `scope: user` (enable: global); for the system at boot, use {key}=multi-user.target or graphical.target")
                    } else {
                        format!("remove {key}={target}, or declare the unit `scope: user`")
                    })
                    .note(consequence),
                );
            }
        }
    }
}

/// A user unit depending on a unit that only the system manager has.
fn system_dependencies(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    for key in DEPENDENCIES {
        for d in subject.directives("Unit", key) {
            for dep in d
                .value
                .split_whitespace()
                .filter(|u| SYSTEM_ONLY_UNITS.contains(u) && input.find(Scope::User, u).is_none())
            {
                let hard = HARD_DEPENDENCIES.contains(key);
                out.push(
                    Diagnostic::new(
                        codes::USER_UNIT_SYSTEM_DEPENDENCY,
                        subject.at_directive(d),
                        format!(
                            "user unit {} has {key}={dep}, a unit only the system manager has",
                            subject.unit.name
                        ),
                    )
                    .severity(if hard { Severity::Error } else { Severity::Warning })
                    .help(if hard {
                        format!("remove {key}={dep}; a user unit cannot wait for system units (make it a system unit if it must)")
                    } else {
                        format!("remove {key}={dep}: it does not make the unit wait; check in the program itself, or make it a system unit")
                    })
                    .note(if hard {
                        "the user manager loads it as not found and every start fails: \"Unit ... not found\""
                    } else {
                        "the user manager loads it as not found and the dependency does nothing, silently"
                    }),
                );
            }
        }
    }
}

/// `Also=` naming a unit of the recipe that exists only in the other scope: enabling this
/// unit looks for that file in its own scope, does not find it, and enables it nowhere.
fn also_other_scope(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let here = subject.unit.scope;
    let other = match here {
        Scope::User => Scope::System,
        Scope::System => Scope::User,
    };
    for d in subject.directives("Install", "Also") {
        for also in d.value.split_whitespace() {
            if input.find(here, also).is_some() || input.find(other, also).is_none() {
                continue;
            }
            let (scope, other_name) = match here {
                Scope::User => ("user", "system"),
                Scope::System => ("system", "user"),
            };
            out.push(
                Diagnostic::new(
                    codes::ALSO_OTHER_SCOPE,
                    subject.at_directive(d),
                    format!(
                        "{scope} unit {} has Also={also}, which the recipe declares as a {other_name} unit",
                        subject.unit.name
                    ),
                )
                .help(format!("declare {also} `scope: {scope}` like {}, or remove Also={also}", subject.unit.name))
                .note(format!("enabling {} in the {scope} scope looks for {also} there, where it is not installed: systemd 252's systemctl says \"Failed to enable auxiliary unit {also}, ignoring\", and the pair is never enabled together", subject.unit.name)),
            );
        }
    }
}

fn user_group(subject: &Subject, out: &mut Vec<Diagnostic>) {
    for section in &subject.unit.sections {
        for d in section
            .directives
            .iter()
            .filter(|d| d.key == "User" || d.key == "Group")
        {
            out.push(
                Diagnostic::new(
                    codes::USER_UNIT_USER_GROUP,
                    subject.at_directive(d),
                    format!("{}= in user unit {}: a user manager cannot switch to another user or group", d.key, subject.unit.name),
                )
                .help(format!("remove {}= (the unit runs as the user who owns the manager), or make it a system unit", d.key))
                .note("the service fails to start with status 216/GROUP or 217/USER"),
            );
        }
    }
}

fn runtime_dir(subject: &Subject, out: &mut Vec<Diagnostic>) {
    for d in subject.directives("Service", "Environment") {
        for (key, value) in env_assignments(&d.value) {
            if key == "XDG_RUNTIME_DIR" && value != "/run/user/%U" && value != "%t" {
                out.push(
                    Diagnostic::new(
                        codes::XDG_RUNTIME_DIR_USER,
                        subject.at_directive(d),
                        format!("user unit {} sets XDG_RUNTIME_DIR={value}, which is not the runtime directory of every user", subject.unit.name),
                    )
                    .help("use XDG_RUNTIME_DIR=/run/user/%U (or %t), or leave it unset: the user manager sets it")
                    .note("a user unit runs for every user who logs in; /run/user/UID belongs to one of them"),
                );
            }
        }
    }
}

fn user_bus(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let Some(package) = input.package else { return };
    let bus = &input.profile.user_bus_package;
    // The package is the user bus (dbus-user-session's own recipe): it ships the user
    // manager's dbus.socket or dbus.service itself.
    let ships_bus = package.name == bus.as_str()
        || input.units.iter().any(|u| {
            u.unit.scope == Scope::User
                && matches!(u.unit.name.as_str(), "dbus.socket" | "dbus.service")
        });
    if ships_bus {
        return;
    }
    let relations = &package.relations;
    let pulled_in = relations
        .depends
        .iter()
        .chain(&relations.recommends)
        .flat_map(|r| r.split([',', '|']))
        .filter_map(|alt| alt.split_whitespace().next())
        .map(|n| n.split(':').next().unwrap_or(n))
        // A recipe names packages as Debian does; under a Yocto profile the layer
        // installs their OE counterparts (dbus-user-session is OE's dbus).
        .any(|n| {
            n == bus.as_str()
                || (input.profile.family == Family::Yocto
                    && crate::names::oe_package(n) == Some(bus.as_str()))
        });
    if pulled_in {
        return;
    }
    for key in ["Requires", "BindsTo", "Requisite", "Wants"] {
        for d in subject.directives("Unit", key) {
            for dep in d
                .value
                .split_whitespace()
                .filter(|u| matches!(*u, "dbus.service" | "dbus.socket"))
            {
                let hard = key != "Wants";
                let consequence = if hard {
                    "the unit fails to start (\"Unit dbus.service not found\") where no user bus is installed"
                } else {
                    "the unit starts without a session bus where no user bus is installed"
                };
                out.push(
                    Diagnostic::new(
                        codes::USER_BUS_MISSING,
                        subject.at_directive(d),
                        format!("user unit {} has {key}={dep}, but package {} neither depends on nor recommends {bus}", subject.unit.name, package.name),
                    )
                    .severity(if hard { Severity::Error } else { Severity::Warning })
                    .help(format!("add {bus} to package.depends (or package.recommends)"))
                    .note(format!("{consequence}; the system bus's dbus.service does not count in the user scope")),
                );
            }
        }
    }
}

fn per_user_specifiers(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let has_user = subject.directives("Service", "User").next().is_some();
    let target = input.profile.systemd;
    if has_user && target < MANAGER_USER_SPECIFIERS_SINCE {
        return;
    }
    for section in subject.unit.sections.iter().filter(|s| s.name != "Install") {
        for d in &section.directives {
            let Some((_, letter)) = specifiers(&d.value)
                .into_iter()
                .find(|(_, l)| PER_USER_SPECIFIERS.contains(l))
            else {
                continue;
            };
            let root = match letter {
                'U' => "0",
                'u' => "root",
                'h' => "/root",
                _ => "root's shell",
            };
            let mut diag = Diagnostic::new(
                codes::SYSTEM_UNIT_USER_SPECIFIER,
                subject.at_directive(d),
                format!("%{letter} in {}= of system unit {} is {root}: PID 1 runs as root", d.key, subject.unit.name),
            )
            .help(format!("write the value for the intended user out (e.g. /run/user/1000), or make {} a user unit", subject.unit.name));
            if has_user {
                diag = diag.note(format!("since systemd {MANAGER_USER_SPECIFIERS_SINCE}, User= does not change %{letter}; {} has systemd {target}", input.profile.name));
            }
            out.push(diag);
        }
    }
}

fn path_unit(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let unit_directive = subject.directives("Path", "Unit").last();
    let target = match unit_directive {
        Some(d) => d.value.trim().to_string(),
        None => format!("{}.service", subject.unit.name.stem()),
    };
    let Some((_, service)) = input.find(subject.unit.scope, &target) else {
        let site = match unit_directive {
            Some(d) => subject.at_directive(d),
            None => subject.at_field("name"),
        };
        out.push(
            Diagnostic::new(
                codes::PATH_UNIT_TARGET_MISSING,
                site,
                format!(
                    "path unit {} activates {target}, which is not a {} unit of this package",
                    subject.unit.name,
                    subject.unit.scope.as_str()
                ),
            )
            .help(format!(
                "add {target} to the package, or set Unit= in [Path] to the unit to start"
            )),
        );
        return;
    };
    runtime_dir_unbound(input, subject, service, out);
    for key in PATH_WATCHES {
        for d in subject.directives("Path", key) {
            let Some(uid) = runtime_uid(&d.value) else {
                continue;
            };
            let wanted = format!("/run/user/{uid}");
            let has = service
                .directives("Service", "Environment")
                .flat_map(|e| env_assignments(&e.value))
                .any(|(k, v)| k == "XDG_RUNTIME_DIR" && v == wanted);
            if has {
                continue;
            }
            let site = match service.unit.section("Service") {
                Some(s) => service.at_section(s),
                None => service.at_field("name"),
            };
            let watched = watches(subject, d);
            out.push(
                Diagnostic::new(
                    codes::PATH_RUNTIME_DIR_MISMATCH,
                    site,
                    format!("{} is started when {wanted} exists but does not set XDG_RUNTIME_DIR={wanted}", service.unit.name),
                )
                .help(format!("add Environment=XDG_RUNTIME_DIR={wanted} to [Service] of {}", service.unit.name))
                .note(watched),
            );
        }
    }
}

/// UP211: a path unit that watches /run/user/N only ever starts its service; nothing stops
/// it when /run/user/N goes away. On systemd 252, after the user's last session the daemon
/// exits, the path unit starts it again while logind still keeps /run/user/N
/// (UserStopDelaySec=), and the tmpfs is then unmounted under it: a stale daemon that stays
/// "active" and keeps the path unit from ever triggering again. On 229 (no stop delay, no
/// user-runtime-dir@.service) the daemon is never stopped at all (tests/e2e/OBSERVATIONS.md,
/// design B). Accepted from systemd 239: the service is PartOf= the unit that mounts the
/// directory (user-runtime-dir@N.service), which the e2e test shows working on 252. The fix
/// for every release is no path unit at all: a service bound to and wanted by user@N.service
/// (the e2e test shows it on 229 and 252). Not accepted, as runs of the e2e path flow showed
/// them failing with a path unit: BindsTo=run-user-N.mount (the path unit sees the directory
/// before the tmpfs is mounted on it, the start job needs a mount unit systemd does not know
/// yet, and the path unit fails) and PartOf=user@N.service (the path unit starts the service
/// again between the stop of user@N and the unmount, which strands it as before;
/// BindsTo=user@N.service was not tried and gets the same note).
fn runtime_dir_unbound(
    input: &Input,
    subject: &Subject,
    service: &Subject,
    out: &mut Vec<Diagnostic>,
) {
    // A user unit stops with its user manager, before the runtime directory goes.
    if subject.unit.scope != Scope::System {
        return;
    }
    let target = input.profile.systemd;
    let runtime_dir_unit = unit_since("user-runtime-dir@").unwrap_or(0);
    let mut seen: Vec<&str> = Vec::new();
    for key in PATH_WATCHES {
        for d in subject.directives("Path", key) {
            let Some(uid) = runtime_uid(&d.value) else {
                continue;
            };
            if seen.contains(&uid) {
                continue;
            }
            seen.push(uid);
            let mount = format!("run-user-{uid}.mount");
            let runtime = format!("user-runtime-dir@{uid}.service");
            let manager = format!("user@{uid}.service");
            let list = |key: &str| -> Vec<String> {
                service
                    .directives("Unit", key)
                    .flat_map(|b| {
                        b.value
                            .split_whitespace()
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    })
                    .collect()
            };
            let binds = list("BindsTo");
            let part_of = list("PartOf");
            let runtime_bound = part_of.contains(&runtime);
            if runtime_bound && target >= runtime_dir_unit {
                continue;
            }
            let site = match service.unit.section("Unit") {
                Some(s) => service.at_section(s),
                None => service.at_field("name"),
            };
            let watched = watches(subject, d);
            let mut diag = Diagnostic::new(
                codes::PATH_RUNTIME_DIR_UNBOUND,
                site,
                format!(
                    "{} is started when /run/user/{uid} exists, but nothing stops it when /run/user/{uid} goes away: after the last session of uid {uid} the daemon is left running with its runtime directory gone, and the next session's /run/user/{uid} has no socket",
                    service.unit.name
                ),
            )
            .help(format!(
                "drop the path unit and bind {} to the user manager: BindsTo={manager} and After={manager} in [Unit], WantedBy={manager} in [Install] (works on systemd 229 and 252)",
                service.unit.name
            ))
            .note(watched);
            if runtime_bound {
                diag = diag.note(format!(
                    "PartOf={runtime} works from systemd {runtime_dir_unit}; {} has systemd {target}, which has no {runtime}: logind removes /run/user/{uid} itself and nothing stops the service",
                    input.profile.name
                ));
            } else if target >= runtime_dir_unit {
                diag = diag.note(format!(
                    "on systemd {runtime_dir_unit} and later, PartOf={runtime}, After={runtime} and ConditionPathIsMountPoint=/run/user/{uid} also work with the path unit"
                ));
            }
            if binds.contains(&manager) || part_of.contains(&manager) {
                diag = diag.note(format!(
                    "binding to {manager} is not enough with a path unit: when {manager} stops, the path unit starts the service again before /run/user/{uid} is unmounted"
                ));
            }
            if binds.contains(&mount) {
                diag = diag.note(format!(
                    "BindsTo={mount} does not work with a path unit: /run/user/{uid} exists before the tmpfs is mounted on it, so the start job needs a mount unit systemd does not know yet (\"Unit {mount} not found\") and the path unit fails"
                ));
            }
            out.push(diag);
        }
    }
}

/// The release that added a systemd unit of [`UNITS_SINCE`] (`prefix@N.service` matches
/// `prefix@`).
fn unit_since(name: &str) -> Option<u32> {
    UNITS_SINCE
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|&(_, since)| since)
}

/// UP212: a dependency on a unit that the target's systemd does not ship. systemd loads
/// such a dependency as "not found" and goes on, so the binding silently does nothing.
fn unit_too_new(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let target = input.profile.systemd;
    for key in DEPENDENCIES {
        for d in subject.directives("Unit", key) {
            for name in d.value.split_whitespace() {
                let Some(since) = unit_since(name).filter(|&since| target < since) else {
                    continue;
                };
                out.push(
                    Diagnostic::new(
                        codes::UNIT_TOO_NEW,
                        subject.at_directive(d),
                        format!(
                            "{key}={name} names a unit that systemd {since} introduced; {} has systemd {target}, where this dependency does nothing",
                            input.profile.name
                        ),
                    )
                    .help(format!(
                        "bind to a unit that systemd {target} has (for /run/user/N: user@N.service)"
                    )),
                );
            }
        }
    }
}

/// The UID of a `/run/user/UID[/…]` path.
fn runtime_uid(path: &str) -> Option<&str> {
    let rest = path.trim().strip_prefix("/run/user/")?;
    let uid = rest.split('/').next()?;
    (!uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit())).then_some(uid)
}

fn forking_foreground(subject: &Subject, out: &mut Vec<Diagnostic>) {
    let Some(ty) = subject.directives("Service", "Type").last() else {
        return;
    };
    if ty.value.trim() != "forking" || subject.foreground == Some(false) {
        return;
    }
    let flag = subject.main_program().and_then(|(d, _)| {
        d.value
            .split_whitespace()
            .find(|w| FOREGROUND_FLAGS.contains(w))
            .map(|f| format!("ExecStart= passes {f}"))
    });
    let why = match (subject.foreground, flag) {
        (Some(true), _) => "the recipe declares it `foreground: true`".to_string(),
        (_, Some(flag)) => flag,
        _ => return,
    };
    let enabled = if subject.unit.enable == Enablement::None {
        ""
    } else {
        " at every start"
    };
    out.push(
        Diagnostic::new(
            codes::FORKING_FOREGROUND,
            subject.at_directive(ty),
            format!("Type=forking, but {} runs in the foreground ({why})", subject.unit.name),
        )
        .help("use Type=simple (or Type=notify if the daemon supports sd_notify)")
        .note(format!("systemd waits for the process to fork and exit; it never does, so the start times out and the daemon is killed{enabled}")),
    );
}

/// `a.path watches /run/user/0 (FILE:LINE:COLUMN)`: the note of a path unit's watch.
fn watches(subject: &Subject, d: &crate::unit::Directive) -> String {
    match d.location {
        Some(l) => format!(
            "{} watches {} ({}:{}:{})",
            subject.unit.name,
            d.value,
            subject.file.display(),
            l.line,
            l.column
        ),
        None => format!("{} watches {}", subject.unit.name, d.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_uids() {
        assert_eq!(runtime_uid("/run/user/0"), Some("0"));
        assert_eq!(runtime_uid("/run/user/1000/pulse"), Some("1000"));
        assert_eq!(runtime_uid("/run/user/%U"), None);
        assert_eq!(runtime_uid("/run/users/0"), None);
    }
}
