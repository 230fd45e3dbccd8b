//! UP213–UP214: what a `follow: seat` unit needs on the target.

use super::diagnostic::{self as codes, Diagnostic};
use super::{Input, Subject};

/// The PAM module that registers sessions with logind, on Debian and Ubuntu.
const PAM_SYSTEMD: &str = "libpam-systemd";

pub(super) fn check(input: &Input, out: &mut Vec<Diagnostic>) {
    for subject in input
        .units
        .iter()
        .filter(|s| input.followed.contains(&s.unit.name))
    {
        logind_sessions(input, subject, out);
        enableable(subject, out);
    }
}

fn logind_sessions(input: &Input, subject: &Subject, out: &mut Vec<Diagnostic>) {
    let Some(package) = input.package else { return };
    if input.profile.family == crate::profile::Family::Yocto {
        return; // poky's systemd builds logind and pam_systemd by default
    }
    let r = &package.relations;
    let pulled_in = r
        .depends
        .iter()
        .chain(&r.recommends)
        .flat_map(|rel| rel.split([',', '|']))
        .any(|alt| {
            alt.split_whitespace()
                .next()
                .map(|n| n.split(':').next().unwrap_or(n))
                == Some(PAM_SYSTEMD)
        });
    if pulled_in {
        return;
    }
    out.push(
        Diagnostic::new(
            codes::FOLLOW_SEAT_NO_LOGIND,
            subject.at_field("follow"),
            format!(
                "{} follows the seat, but package {} neither depends on nor recommends {PAM_SYSTEMD}",
                subject.unit.name, package.name
            ),
        )
        .help(format!("add {PAM_SYSTEMD} to package.depends"))
        .note("without pam_systemd no login registers a logind session, seat0 never has an active one, and the unit never starts"),
    );
}

fn enableable(subject: &Subject, out: &mut Vec<Diagnostic>) {
    let Some(section) = subject.unit.section("Install") else {
        return;
    };
    if !crate::unit::installs(std::slice::from_ref(section)) {
        return;
    }
    out.push(
        Diagnostic::new(
            codes::FOLLOW_SEAT_INSTALLABLE,
            subject.at_section(section),
            format!(
                "{} follows the seat but has an [Install] section",
                subject.unit.name
            ),
        )
        .help("remove [Install]: the follower starts the unit, for one user at a time")
        .note("a user's `systemctl --user enable` would start a second copy at each of their logins, beside the follower's"),
    );
}
