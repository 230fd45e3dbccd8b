//! UP3xx: units of one package against each other and against the target's own units.

use super::diagnostic::{self as codes, Diagnostic};
use super::{Input, Subject};
use crate::unit::{Enablement, Scope};
use std::collections::BTreeMap;

/// Programs that say little about what a unit runs: two units starting a shell or an
/// interpreter are not two copies of one daemon.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "dash", "env", "python", "python3", "perl", "true", "false",
];

/// Daemons that grab a per-seat device (sound card, display) for the session that starts
/// them first.
const SEAT_DAEMONS: &[&str] = &[
    "pulseaudio",
    "pipewire",
    "pipewire-pulse",
    "wireplumber",
    "jackd",
    "Xorg",
    "weston",
];

pub(super) fn check(input: &Input, out: &mut Vec<Diagnostic>) {
    // Bare unit files are not one package: a distribution's units share programs.
    if input.package.is_some() {
        duplicate_programs(input, out);
        for subject in &input.units {
            vendor_race(input, subject, out);
            first_session(subject, out);
            collision(input, subject, out);
        }
    }
}

fn duplicate_programs(input: &Input, out: &mut Vec<Diagnostic>) {
    let mut by_program: BTreeMap<(Scope, &str), Vec<&Subject>> = BTreeMap::new();
    for s in &input.units {
        if let Some((_, prog)) = s.main_program() {
            // A oneshot runs to its end and is no daemon: apt-daily.service and
            // apt-daily-upgrade.service both run apt.systemd.daily, ordered one after
            // the other (a Conflicts= between them would break that order).
            if !INTERPRETERS.contains(&prog) && !s.unit.name.is_template() && !is_oneshot(s) {
                by_program.entry((s.unit.scope, prog)).or_default().push(s);
            }
        }
    }
    for ((scope, prog), units) in by_program {
        let first = units[0];
        for other in &units[1..] {
            if conflicts(other, first.unit.name.as_str())
                || conflicts(first, other.unit.name.as_str())
            {
                continue;
            }
            let (d, _) = other.main_program().expect("grouped by program");
            let mut diag = Diagnostic::new(
                codes::DUPLICATE_PROGRAM,
                other.at_directive(d),
                format!("{} and {} both start {prog} in the {} scope", first.unit.name, other.unit.name, scope.as_str()),
            )
            .help(format!("keep one of them, or add Conflicts={} to [Unit] of {}", first.unit.name, other.unit.name))
            .note("two copies of one daemon race for its socket, PID file or device; one of them fails");
            if let Some((fd, _)) = first.main_program() {
                if let Some(l) = fd.location {
                    diag = diag.note(format!(
                        "{} starts it at {}:{}:{}",
                        first.unit.name,
                        first.file.display(),
                        l.line,
                        l.column
                    ));
                }
            }
            out.push(diag);
        }
    }
}

fn is_oneshot(subject: &Subject) -> bool {
    subject
        .directives("Service", "Type")
        .last()
        .is_some_and(|d| d.value.trim() == "oneshot")
}

fn conflicts(subject: &Subject, name: &str) -> bool {
    subject
        .directives("Unit", "Conflicts")
        .any(|d| d.value.split_whitespace().any(|u| u == name))
}

fn vendor_race(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let Some((d, prog)) = subject.main_program() else {
        return;
    };
    let racing: Vec<&str> = input
        .profile
        .vendor_units
        .iter()
        .filter(|v| v.scope == subject.unit.scope && v.programs.iter().any(|p| p == prog))
        .map(|v| v.unit.as_str())
        .filter(|v| *v != subject.unit.name.as_str())
        // A unit of the target's that this package ships itself (its own pipewire.socket
        // beside pipewire.service) is the package's, not a rival.
        .filter(|v| {
            !input
                .units
                .iter()
                .any(|u| u.unit.scope == subject.unit.scope && u.unit.name.as_str() == *v)
        })
        .filter(|v| {
            !conflicts(subject, v) && !subject.unit.takes_over.iter().any(|t| t.as_str() == *v)
        })
        .collect();
    if racing.is_empty() {
        return;
    }
    let list = racing.join(", ");
    out.push(
        Diagnostic::new(
            codes::VENDOR_UNIT_RACE,
            subject.at_directive(d),
            format!(
                "{} starts {prog}, and so does {list} of {} when installed, in the {} scope",
                subject.unit.name,
                input.profile.name,
                subject.unit.scope.as_str()
            ),
        )
        .help(format!("add `takes_over: [{list}]` to this unit in the recipe (or Conflicts={} in [Unit])", racing.join(" ")))
        .note(format!("both start at login; the second {prog} exits with \"Daemon already running\" and the unit that lost keeps failing")),
    );
}

fn first_session(subject: &Subject, out: &mut Vec<Diagnostic>) {
    if subject.unit.scope != Scope::User || subject.unit.enable != Enablement::Global {
        return;
    }
    let Some((d, prog)) = subject.main_program() else {
        return;
    };
    if !SEAT_DAEMONS.contains(&prog) {
        return;
    }
    out.push(
        Diagnostic::new(
            codes::FIRST_SESSION_WINS,
            subject.at_directive(d),
            format!("{prog} runs once per logged-in user; the first session to start it gets the device"),
        )
        .note("a second user's (or an ssh session's) copy cannot open the device, and logging out stops the one that has it")
        .note("with one user per board this is fine; otherwise follow the active seat session instead"),
    );
}

/// A unit named after a package the recipe pulls in, or after a unit the target ships in
/// the same scope: most likely the same file in two packages.
fn collision(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let Some(package) = input.package else {
        return;
    };
    let name = subject.unit.name.as_str();
    let relations = package
        .relations
        .depends
        .iter()
        .chain(&package.relations.recommends);
    let owner = relations
        .flat_map(|r| r.split('|'))
        .filter_map(|alt| alt.split_whitespace().next())
        .map(|p| p.split(['(', ':']).next().unwrap_or(p))
        .find(|p| *p == subject.unit.name.stem())
        .map(|p| format!("package {p}, which the recipe pulls in,"))
        .or_else(|| {
            input
                .profile
                .vendor_units
                .iter()
                .any(|v| v.scope == subject.unit.scope && v.unit == name)
                .then(|| format!("a package of {}", input.profile.name))
        });
    let Some(owner) = owner else {
        return;
    };
    out.push(
        Diagnostic::new(
            codes::FILE_COLLISION,
            subject.at_field("name"),
            format!("{owner} likely ships {name} too"),
        )
        .help(format!(
            "name this unit differently (e.g. {}-{name}), or change the packaged {name} with a drop-in (`dropins:`)",
            package.name
        ))
        .note("dpkg refuses to install a file another package owns (\"trying to overwrite ..., which is also in package ...\"); across /lib and /usr/lib on a merged-/usr system one silently replaces the other"),
    );
}
