//! `unitpack-repo.conf` at the top of a repository: what each suite was last published
//! with, so a CI job need not repeat it. One deb822 paragraph per suite:
//!
//! ```text
//! Suite: stable
//! Valid-For: 604800
//! Origin: Example
//! Label: Boards
//! Signed-By: 0123…CDEF 4567…89AB
//! ```
//!
//! Read bounded and never through a symlink (like every repository file), validated
//! field by field (an error names the file, line and field), written through the one
//! deb822 writer (a value cannot add a field) and staged with the suite's files.

use super::deb822::{self, Stanza};
use super::names;
use crate::error::{Error, InputError, Location, Result};
use crate::input::{self, Kind, ReadError};
use std::path::Path;

/// The file's name, at the repository's top.
pub const FILE: &str = "unitpack-repo.conf";
/// A few lines per suite: 1 MiB is thousands of suites.
const MAX_SIZE: u64 = 1024 * 1024;

/// What one suite remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suite {
    /// `Valid-Until` = `Date` + this many seconds.
    pub valid_for: Option<u64>,
    pub origin: Option<String>,
    pub label: Option<String>,
    /// Fingerprints of the keys that signed the suite last.
    pub keys: Vec<String>,
}

/// Every suite's settings, in the file's order.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub suites: Vec<(String, Suite)>,
}

impl Settings {
    pub fn get(&self, suite: &str) -> Option<&Suite> {
        self.suites.iter().find(|(s, _)| s == suite).map(|(_, v)| v)
    }

    pub fn set(&mut self, suite: &str, value: Suite) {
        match self.suites.iter_mut().find(|(s, _)| s == suite) {
            Some(slot) => slot.1 = value,
            None => self.suites.push((suite.to_string(), value)),
        }
    }

    /// The file's text (every value is checked by the deb822 writer).
    pub fn render(&self) -> std::result::Result<String, deb822::SyntaxError> {
        let mut out = String::new();
        for (i, (name, s)) in self.suites.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let mut stanza = Stanza::default();
            let mut put = |f: &str, v: String| stanza.fields.push((f.to_string(), v));
            put("Suite", name.clone());
            if let Some(v) = s.valid_for {
                put("Valid-For", v.to_string());
            }
            if let Some(v) = &s.origin {
                put("Origin", v.clone());
            }
            if let Some(v) = &s.label {
                put("Label", v.clone());
            }
            if !s.keys.is_empty() {
                put("Signed-By", s.keys.join(" "));
            }
            stanza.render(Some(&[]), &mut out)?;
        }
        Ok(out)
    }
}

/// What `now` remembers differently from `before`, one line per field.
pub fn changes(suite: &str, before: &Suite, now: &Suite) -> Vec<String> {
    let show = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
    let keys = |k: &[String]| (!k.is_empty()).then(|| k.join(" "));
    [
        (
            "Valid-For",
            before.valid_for.map(|v| v.to_string()),
            now.valid_for.map(|v| v.to_string()),
        ),
        ("Origin", before.origin.clone(), now.origin.clone()),
        ("Label", before.label.clone(), now.label.clone()),
        ("Signed-By", keys(&before.keys), keys(&now.keys)),
    ]
    .into_iter()
    .filter(|(_, b, n)| b != n)
    .map(|(field, b, n)| {
        let then = if field == "Signed-By" {
            "a later run with another key needs --new-key"
        } else {
            "later runs use it without the option"
        };
        format!(
            "{FILE}: suite {suite}: {field} {} remembered (was {}); {then}",
            show(n),
            show(b)
        )
    })
    .collect()
}

/// The repository's settings (none when the file is missing).
pub fn read(root: &Path) -> Result<Settings> {
    let rel = Path::new(FILE);
    let bad_path = |m: String| -> Error { InputError::new(&root.join(FILE), None, "", m).into() };
    let Some(path) = input::walk_below(root, rel, Kind::File).map_err(bad_path)? else {
        return Ok(Settings::default());
    };
    let bytes = match input::read_file_bounded(&path, MAX_SIZE) {
        Ok(b) => b,
        Err(ReadError::Missing) => return Ok(Settings::default()),
        Err(ReadError::Io(e)) => return Err(Error::io(format!("reading {}", path.display()), e)),
        Err(e) => return Err(InputError::new(&path, None, "", e.to_string()).into()),
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| InputError::new(&path, None, "", "is not UTF-8 text"))?;
    parse(&path, &text)
}

fn parse(path: &Path, text: &str) -> Result<Settings> {
    let at = |line: usize| Some(Location { line, column: 1 });
    let stanzas = Stanza::parse_all(text)
        .map_err(|e| InputError::new(path, e.line.and_then(at), e.field, e.message))?;
    // The line of each field, paragraph by paragraph (parse_all keeps only the values).
    let mut lines: Vec<Vec<usize>> = vec![Vec::new()];
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !lines.last().expect("one").is_empty() {
                lines.push(Vec::new());
            }
        } else if !line.starts_with([' ', '\t']) {
            lines.last_mut().expect("one").push(i + 1);
        }
    }
    let mut errors = Vec::new();
    let mut settings = Settings::default();
    for (n, stanza) in stanzas.iter().enumerate() {
        let mut suite = Suite::default();
        let mut name = None;
        for (k, (field, value)) in stanza.fields.iter().enumerate() {
            let line = lines.get(n).and_then(|l| l.get(k)).copied().unwrap_or(1);
            let r: std::result::Result<(), String> = match field.as_str() {
                "Suite" => names::word(value, "suite").map(|()| name = Some(value.clone())),
                "Valid-For" => match value.parse::<u64>() {
                    Ok(v) if v > 0 && value.bytes().all(|b| b.is_ascii_digit()) => {
                        suite.valid_for = Some(v);
                        Ok(())
                    }
                    _ => Err(format!("{value:?} is not a number of seconds")),
                },
                "Origin" | "Label" => {
                    let r = deb822::check_value(field, value, false).map_err(|e| e.message);
                    let slot = if field == "Origin" {
                        &mut suite.origin
                    } else {
                        &mut suite.label
                    };
                    r.map(|()| *slot = Some(value.clone()))
                }
                "Signed-By" => value.split_whitespace().try_for_each(|f| match f.len() {
                    40 | 64 => names::hex_digest(&f.to_ascii_lowercase(), f.len())
                        .map(|()| suite.keys.push(f.to_ascii_uppercase())),
                    _ => Err(format!(
                        "{f:?} is not a key fingerprint (40 or 64 hex digits)"
                    )),
                }),
                _ => Err("is not a setting (Suite, Valid-For, Origin, Label, Signed-By)".into()),
            };
            if let Err(m) = r {
                errors.push(InputError::new(path, at(line), field.clone(), m));
            }
        }
        let first = lines.get(n).and_then(|l| l.first()).copied().unwrap_or(1);
        match name {
            None => errors.push(InputError::new(
                path,
                at(first),
                "Suite",
                "a paragraph without a Suite field",
            )),
            Some(s) if settings.get(&s).is_some() => errors.push(InputError::new(
                path,
                at(first),
                "Suite",
                format!("{s} has two paragraphs"),
            )),
            Some(s) => settings.suites.push((s, suite)),
        }
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(Error::Input(errors))
    }
}

/// A `Release`'s `Date` (RFC 2822, as apt writes and reads it: `Sat, 14 Jun 2025
/// 15:06:40 UTC`) in seconds since the epoch.
pub fn parse_date(text: &str) -> Option<u64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let words = match words.first() {
        Some(w) if w.ends_with(',') => &words[1..],
        _ => &words[..],
    };
    let [day, month, year, time, zone] = words else {
        return None;
    };
    let day: i64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms[..] else { return None };
    let offset = match *zone {
        "UTC" | "GMT" | "Z" => 0,
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let n: i64 = z[1..].parse().ok()?;
            let secs = (n / 100) * 3600 + (n % 100) * 60;
            if z.starts_with('-') {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    if !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&m)
        || !(0..61).contains(&s)
    {
        return None;
    }
    // Days from 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + s - offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_back_as_written() {
        for t in [0, 951_782_400, 1_750_000_000, 4_102_444_800 + 86_399] {
            let text = super::super::index::release_date(t);
            assert_eq!(parse_date(&text), Some(t), "{text}");
        }
        assert_eq!(parse_date("Thu, 01 Jan 1970 01:00:00 +0100"), Some(0));
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn bad_lines_are_named() {
        let p = Path::new("unitpack-repo.conf");
        let e = parse(p, "Suite: a\nValid-For: 7d\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2:1: Valid-For"), "{e}");
        let e = parse(p, "Suite: a\n\nSuite: b\nColour: red\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":4:1: Colour"), "{e}");
        let s = parse(p, "Suite: a\nSigned-By: ").unwrap();
        assert_eq!(s.get("a"), Some(&Suite::default()));
        let mut s = Settings::default();
        s.set(
            "a",
            Suite {
                label: Some("x\nSuite: evil".into()),
                ..Suite::default()
            },
        );
        assert!(s.render().is_err());
    }
}
