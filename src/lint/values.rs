//! UP110: values the target's systemd cannot parse, checked as systemd parses them.
//!
//! A value systemd cannot parse is logged and ignored: `SocketMode=0o600` leaves the
//! socket 0666, `TasksMax=1e3` leaves the service without a limit. The recipe copies
//! YAML scalars as written, so these values reach the unit exactly as the author typed
//! them; this rule says when systemd will not read them.

use super::diagnostic::{self as codes, Diagnostic};
use super::{Input, Subject};
use crate::unit::Directive;

/// Directives read by `config_parse_mode` (`parse_mode`: octal digits, at most 07777).
const MODE_KEYS: &[&str] = &[
    "SocketMode",
    "DirectoryMode",
    "UMask",
    "RuntimeDirectoryMode",
    "StateDirectoryMode",
    "CacheDirectoryMode",
    "LogsDirectoryMode",
    "ConfigurationDirectoryMode",
];

/// `TasksMax=N%` is read from systemd 231 on (NEWS, "CHANGES WITH 231").
const TASKS_MAX_PERCENT_SINCE: u32 = 231;

pub(super) fn check(input: &Input, out: &mut Vec<Diagnostic>) {
    for subject in &input.units {
        for section in &subject.unit.sections {
            for d in &section.directives {
                if let Some(problem) = problem(input.profile.systemd, &d.key, &d.value) {
                    out.push(diagnostic(subject, d, problem));
                }
            }
        }
    }
}

fn diagnostic(subject: &Subject, d: &Directive, problem: String) -> Diagnostic {
    Diagnostic::new(codes::UNPARSABLE_VALUE, subject.at_directive(d), problem)
        .help(match d.key.as_str() {
            "TasksMax" => "write a whole number of tasks (TasksMax=1000), a percentage, or infinity; quote it in the recipe".to_string(),
            key => format!("write the mode in octal digits, quoted in the recipe: {key}: \"0600\""),
        })
        .note("systemd logs the value as invalid and ignores the directive: the unit runs without it")
}

/// Why systemd `target` cannot parse `value` for `key`, if it cannot.
pub fn problem(target: u32, key: &str, value: &str) -> Option<String> {
    if MODE_KEYS.contains(&key) {
        // systemd 229's parse_mode is strtol(s, 8) over the whole value; 252's is
        // safe_atou_full(s, 8, refusing a sign). An empty value resets.
        if value.is_empty() {
            return None;
        }
        let octal = value.bytes().all(|b| (b'0'..=b'7').contains(&b));
        return match u32::from_str_radix(value, 8) {
            Ok(m) if octal && m <= 0o7777 => None,
            Ok(_) if octal => Some(format!(
                "{key}={value} is above 07777, which systemd refuses"
            )),
            _ => Some(format!(
                "{key}={value} is not an octal mode to systemd (it reads octal digits only, e.g. 0600)"
            )),
        };
    }
    if key == "TasksMax" {
        if value.is_empty() || value == "infinity" {
            return None;
        }
        if let Some(percent) = value.strip_suffix('%') {
            if target < TASKS_MAX_PERCENT_SINCE {
                return Some(format!(
                    "TasksMax={value}: percentages are read from systemd {TASKS_MAX_PERCENT_SINCE} on; the target has systemd {target}"
                ));
            }
            return match percent.parse::<u32>() {
                Ok(1..=100) if !percent.starts_with(['+', '0']) => None,
                _ => Some(format!(
                    "TasksMax={value} is not a percentage from 1% to 100%"
                )),
            };
        }
        // systemd reads it with strtoull(s, 0): a leading 0 is octal, 0x hex; only a
        // plain decimal number means what it says.
        let decimal = value.bytes().all(|b| b.is_ascii_digit()) && !value.starts_with('0');
        return match value.parse::<u64>() {
            Ok(n) if decimal && n < u64::MAX => None,
            _ => Some(format!(
                "TasksMax={value} is not a number of tasks to systemd (a whole decimal number from 1, a percentage, or infinity)"
            )),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn values_as_systemd_parses_them() {
        for ok in ["0600", "600", "0", "07777", "0077", ""] {
            assert_eq!(problem(229, "SocketMode", ok), None, "{ok}");
            assert_eq!(problem(252, "UMask", ok), None, "{ok}");
        }
        for bad in ["0o600", "384x", "0x1ff", "+777", "-1", "8", "010000", "rw"] {
            assert!(problem(252, "SocketMode", bad).is_some(), "{bad}");
            assert!(problem(229, "UMask", bad).is_some(), "{bad}");
        }
        for ok in ["1000", "1", "infinity", ""] {
            assert_eq!(problem(229, "TasksMax", ok), None, "{ok}");
        }
        assert_eq!(problem(252, "TasksMax", "15%"), None);
        assert!(problem(229, "TasksMax", "15%").unwrap().contains("231"));
        for bad in [
            "1e3", "1000.0", "0", "010", "0x10", "-1", " 5", "inf", "101%",
        ] {
            assert!(problem(252, "TasksMax", bad).is_some(), "{bad}");
        }
        assert_eq!(problem(229, "Nice", "1e3"), None);
    }
}
