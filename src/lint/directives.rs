//! UP1xx: sections, directives and specifiers against the target's systemd release.
//!
//! The data says which release first accepted each `Section.Directive` pair (215–256,
//! see `data/`). A directive the target does not know is logged as "Unknown lvalue" and
//! ignored, so the unit silently runs without it: that is an error here.

use super::diagnostic::{self as codes, Diagnostic};
use super::table::{DATA_RANGE, DIRECTIVES, PARSED_UNTIL, SPECIFIERS};
use super::{program, specifiers, Input, Subject};
use crate::unit::{Directive, Section};

/// What systemd does with a directive at the newest release of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Accepted and ignored with a warning (legacy names).
    Ignored,
    /// Accepted with a deprecation warning, mapped to a newer directive.
    Obsolete,
    /// Gone from the newest release.
    Removed,
}

/// Sections each unit type reads. Others are ignored with "Unknown section".
fn sections_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "service" => &["Unit", "Service", "Install"],
        "socket" => &["Unit", "Socket", "Install"],
        "mount" => &["Unit", "Mount", "Install"],
        "automount" => &["Unit", "Automount", "Install"],
        "swap" => &["Unit", "Swap", "Install"],
        "path" => &["Unit", "Path", "Install"],
        "timer" => &["Unit", "Timer", "Install"],
        "slice" => &["Unit", "Slice", "Install"],
        "scope" => &["Unit", "Scope", "Install"],
        _ => &["Unit", "Install"],
    }
}

const EXEC_KEYS: &[&str] = &[
    "ExecStart",
    "ExecStartPre",
    "ExecStartPost",
    "ExecStop",
    "ExecStopPre",
    "ExecStopPost",
    "ExecReload",
    "ExecCondition",
];

/// First systemd release that accepts a program name without a path in `Exec*=`.
const RELATIVE_EXEC_SINCE: u32 = 239;

type Row = (&'static str, &'static str, u32, u32, Status);

fn lookup(section: &str, name: &str) -> Option<&'static Row> {
    DIRECTIVES
        .binary_search_by(|r| (r.0, r.1).cmp(&(section, name)))
        .ok()
        .map(|i| &DIRECTIVES[i])
}

fn section_rows(section: &str) -> &'static [Row] {
    let start = DIRECTIVES.partition_point(|r| r.0 < section);
    let end = DIRECTIVES.partition_point(|r| r.0 <= section);
    &DIRECTIVES[start..end]
}

/// The status of a directive at release `target`: the table's Ignored or Obsolete is
/// judged at the newest release, and older ones may still have parsed it for real.
fn status_at(section: &str, name: &str, status: Status, target: u32) -> Status {
    let parsed_until = PARSED_UNTIL
        .binary_search_by(|r| (r.0, r.1).cmp(&(section, name)))
        .map_or(0, |i| PARSED_UNTIL[i].2);
    if target <= parsed_until {
        Status::Ok
    } else {
        status
    }
}

/// First release of a specifier letter, if systemd knows it.
pub(super) fn specifier_since(letter: char) -> Option<u32> {
    SPECIFIERS.iter().find(|s| s.0 == letter).map(|s| s.1)
}

pub(super) fn check(input: &Input, out: &mut Vec<Diagnostic>) {
    for subject in &input.units {
        let allowed = sections_for(subject.unit.name.kind());
        for section in &subject.unit.sections {
            // X- sections are for other tools; systemd skips them silently.
            if section.name.starts_with("X-") {
                continue;
            }
            if !allowed.contains(&section.name.as_str()) {
                out.push(unknown_section(subject, section, allowed));
                continue;
            }
            for d in &section.directives {
                directive(input, subject, section, d, out);
                if section.name != "Install" {
                    specifier_versions(input, subject, d, out);
                }
                if EXEC_KEYS.contains(&d.key.as_str()) {
                    relative_exec(input, subject, d, out);
                }
            }
        }
    }
}

fn unknown_section(subject: &Subject, section: &Section, allowed: &[&str]) -> Diagnostic {
    let kind = subject.unit.name.kind();
    let mut d = Diagnostic::new(
        codes::UNKNOWN_SECTION,
        subject.at_section(section),
        format!(
            "[{}] is not a section of a .{kind} unit; systemd ignores it and everything in it",
            section.name
        ),
    );
    let list = allowed
        .iter()
        .map(|s| format!("[{s}]"))
        .collect::<Vec<_>>()
        .join(", ");
    d = match suggest(&section.name, allowed.iter().copied()) {
        Some(s) => d.help(format!("did you mean [{s}]? A .{kind} unit reads {list}")),
        None => d.help(format!(
            "a .{kind} unit reads {list}; name sections for other tools X-…"
        )),
    };
    d
}

/// Directives systemd renamed: the new name, and the older names that mean the same.
const RENAMED: &[(&str, &[&str])] = &[("StartLimitIntervalSec", &["StartLimitInterval"])];

/// Where the target's systemd reads what `section`/`key` says: the same name in another
/// section of this unit type (settings that moved, such as `StartLimitBurst=` from
/// `[Service]` to `[Unit]`), or an older name (`StartLimitInterval=`).
fn target_forms(input: &Input, subject: &Subject, section: &str, key: &str) -> Vec<String> {
    let target = input.profile.systemd;
    let older = RENAMED
        .iter()
        .find(|(new, _)| *new == key)
        .map_or(&[][..], |(_, old)| *old);
    let mut forms = Vec::new();
    for name in std::iter::once(key).chain(older.iter().copied()) {
        let mut homes = vec![section];
        homes.extend(
            sections_for(subject.unit.name.kind())
                .iter()
                .filter(|s| **s != section),
        );
        for home in homes {
            if (home, name) == (section, key) {
                continue;
            }
            if let Some(&(_, _, first, last, status)) = lookup(home, name) {
                if first <= target && !(status == Status::Removed && target > last) {
                    forms.push(format!("{name}= in [{home}]"));
                }
            }
        }
    }
    forms
}

fn directive(
    input: &Input,
    subject: &Subject,
    section: &Section,
    d: &Directive,
    out: &mut Vec<Diagnostic>,
) {
    let target = input.profile.systemd;
    let profile = &input.profile.name;
    let name = format!("{}=", d.key);
    match lookup(&section.name, &d.key) {
        Some(&(_, _, first, last, status)) => {
            let status = status_at(&section.name, &d.key, status, target);
            if target < first {
                let forms = target_forms(input, subject, &section.name, &d.key);
                let help = if forms.is_empty() {
                    format!("remove {name} or pick a target with systemd >= {first}")
                } else {
                    format!(
                        "systemd {target} reads it as {}; or pick a target with systemd >= {first}",
                        forms.join(" or ")
                    )
                };
                out.push(
                    Diagnostic::new(
                        codes::DIRECTIVE_TOO_NEW,
                        subject.at_directive(d),
                        format!("{name} in [{}] needs systemd {first}; {profile} has systemd {target}", section.name),
                    )
                    .help(help)
                    .note(format!("systemd {target} logs \"Unknown lvalue\" and ignores it: the unit runs without it")),
                );
            } else if status == Status::Removed && target > last {
                out.push(
                    Diagnostic::new(
                        codes::DIRECTIVE_REMOVED,
                        subject.at_directive(d),
                        format!("{name} in [{}] was removed after systemd {last}; {profile} has systemd {target}", section.name),
                    )
                    .help(format!("remove {name}"))
                    .note(format!("systemd {target} logs \"Unknown lvalue\" and ignores it")),
                );
            } else if status == Status::Ignored {
                out.push(
                    Diagnostic::new(codes::DIRECTIVE_LEGACY, subject.at_directive(d), format!("{name} is a legacy directive that systemd ignores"))
                        .help(format!("remove {name}: it has no effect")),
                );
            } else if status == Status::Obsolete {
                let replacement = d.key.trim_end_matches("Overridable");
                out.push(
                    Diagnostic::new(codes::DIRECTIVE_LEGACY, subject.at_directive(d), format!("{name} is deprecated"))
                        .help(format!("use {replacement}= instead")),
                );
            }
        }
        None if target > DATA_RANGE.1 => out.push(
            Diagnostic::new(
                codes::DIRECTIVE_NOT_IN_DATA,
                subject.at_directive(d),
                format!("{name} is not a [{}] directive of systemd {}..={}", section.name, DATA_RANGE.0, DATA_RANGE.1),
            )
            .help(format!("{profile} has systemd {target}, newer than the data: check systemd's NEWS, or build unitpack with newer data/systemd-directives.tsv")),
        ),
        None => out.push(unknown_directive(input, subject, section, d)),
    }
}

fn unknown_directive(
    input: &Input,
    subject: &Subject,
    section: &Section,
    d: &Directive,
) -> Diagnostic {
    let mut diag = Diagnostic::new(
        codes::UNKNOWN_DIRECTIVE,
        subject.at_directive(d),
        format!("{}= is not a directive of [{}]", d.key, section.name),
    )
    .note(format!(
        "systemd {} logs \"Unknown lvalue\" and ignores it",
        input.profile.systemd
    ));
    let known = section_rows(&section.name)
        .iter()
        .filter(|r| r.2 <= input.profile.systemd)
        .map(|r| r.1);
    if let Some(s) = suggest(&d.key, known) {
        return diag.help(format!("did you mean {s}=?"));
    }
    // Right name, wrong section: say where it belongs.
    let homes: Vec<&str> = sections_for(subject.unit.name.kind())
        .iter()
        .copied()
        .filter(|s| *s != section.name && lookup(s, &d.key).is_some())
        .collect();
    if let Some(home) = homes.first() {
        diag = diag.help(format!("{}= belongs in [{home}]", d.key));
    }
    diag
}

/// The closest name, if it is close enough to be what was meant.
fn suggest<'a>(wrong: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = wrong.to_ascii_lowercase();
    candidates
        .map(|c| {
            let score = if c.to_ascii_lowercase() == lower {
                1.0
            } else {
                strsim::jaro_winkler(wrong, c)
            };
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

fn specifier_versions(input: &Input, subject: &Subject, d: &Directive, out: &mut Vec<Diagnostic>) {
    let target = input.profile.systemd;
    for (_, letter) in specifiers(&d.value) {
        match specifier_since(letter) {
            Some(first) if first > target => out.push(
                Diagnostic::new(
                    codes::SPECIFIER_TOO_NEW,
                    subject.at_directive(d),
                    format!("%{letter} in {}= needs systemd {first}; {} has systemd {target}", d.key, input.profile.name),
                )
                .help(format!("write the value out instead of %{letter}"))
                .note(format!("systemd {target} does not expand %{letter}: the directive gets a wrong value or is rejected")),
            ),
            Some(_) => {}
            None => out.push(
                Diagnostic::new(codes::UNKNOWN_SPECIFIER, subject.at_directive(d), format!("%{letter} in {}= is not a systemd specifier", d.key))
                    .help(format!("write %%{letter} for a literal '%{letter}'")),
            ),
        }
    }
}

fn relative_exec(input: &Input, subject: &Subject, d: &Directive, out: &mut Vec<Diagnostic>) {
    let target = input.profile.systemd;
    if target >= RELATIVE_EXEC_SINCE {
        return;
    }
    let Some(prog) = program(&d.value) else {
        return;
    };
    if prog.starts_with(['/', '%', '$']) {
        return;
    }
    out.push(
        Diagnostic::new(
            codes::RELATIVE_EXEC,
            subject.at_directive(d),
            format!(
                "{}= runs {prog:?} without an absolute path; systemd {target} rejects it",
                d.key
            ),
        )
        .help(format!("write the full path, e.g. /usr/bin/{prog}"))
        .note(format!(
            "program names without a path are accepted from systemd {RELATIVE_EXEC_SINCE} on"
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(DIRECTIVES
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert_eq!(lookup("Service", "ExecStart").map(|r| r.2), Some(215));
        assert!(lookup("Service", "ExecStartt").is_none());
        assert!(section_rows("Path").iter().all(|r| r.0 == "Path"));
        assert!(PARSED_UNTIL
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
    }

    /// Every row of the data is in the tables that build.rs generated, with its versions
    /// and status, and nothing else is.
    #[test]
    fn tables_hold_every_row_of_the_data() {
        let rows = |text: &'static str| -> Vec<Vec<&'static str>> {
            text.lines()
                .skip(1)
                .map(|l| l.split('\t').collect())
                .collect()
        };
        let directives = rows(include_str!("../../data/systemd-directives.tsv"));
        assert_eq!(directives.len(), DIRECTIVES.len());
        for r in &directives {
            let status = match r[4] {
                "ok" => Status::Ok,
                "ignored" => Status::Ignored,
                "obsolete" => Status::Obsolete,
                "removed" => Status::Removed,
                other => panic!("status {other:?} of {r:?}"),
            };
            let (first, last) = (r[2].parse().unwrap(), r[3].parse().unwrap());
            assert_eq!(
                lookup(r[0], r[1]),
                Some(&(r[0], r[1], first, last, status)),
                "{r:?}"
            );
        }
        let parsed = rows(include_str!("../../data/systemd-directives-parsed.tsv"));
        assert_eq!(parsed.len(), PARSED_UNTIL.len());
        for r in &parsed {
            let until: u32 = r[2].parse().unwrap();
            let status = lookup(r[0], r[1]).unwrap().4;
            assert_ne!(status, Status::Ok, "{r:?}");
            assert_eq!(status_at(r[0], r[1], status, until), Status::Ok, "{r:?}");
            assert_eq!(status_at(r[0], r[1], status, until + 1), status, "{r:?}");
        }
        let specifiers = rows(include_str!("../../data/systemd-specifiers.tsv"));
        assert_eq!(specifiers.len(), SPECIFIERS.len());
        for r in &specifiers {
            let letter = r[0].strip_prefix('%').unwrap().parse().unwrap();
            assert_eq!(
                specifier_since(letter),
                Some(r[1].parse().unwrap()),
                "{r:?}"
            );
        }
        assert_eq!(DATA_RANGE, (215, 256));
    }

    #[test]
    fn status_depends_on_the_release() {
        let ignored = Status::Ignored;
        assert_eq!(
            status_at("Service", "Capabilities", ignored, 229),
            Status::Ok
        );
        assert_eq!(status_at("Service", "Capabilities", ignored, 230), ignored);
        assert_eq!(status_at("Service", "NetClass", ignored, 229), ignored);
    }

    #[test]
    fn suggestions() {
        let service = || section_rows("Service").iter().map(|r| r.1);
        assert_eq!(suggest("ExecStrat", service()), Some("ExecStart"));
        assert_eq!(suggest("execstart", service()), Some("ExecStart"));
        assert_eq!(suggest("Zzzzzz", service()), None);
    }
}
