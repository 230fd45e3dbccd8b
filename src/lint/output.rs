//! Printing diagnostics: rustc-style text (codespan-reporting) and JSON.

use super::diagnostic::{Diagnostic, Severity};
use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Chars, Config};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    pub fn of(diagnostics: &[Diagnostic]) -> Summary {
        let mut s = Summary::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        s
    }

    /// Whether the run fails: errors, or warnings under `--deny warnings`.
    pub fn fails(&self, deny_warnings: bool) -> bool {
        self.errors > 0 || (deny_warnings && self.warnings > 0)
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.infos, "info")
        )
    }
}

/// rustc-style text. Snippets come from the files the diagnostics point into, read
/// again here through the input layer with the recipe bound (the largest any
/// diagnosed file may be: a unit file too large to lint is not read whole to quote
/// it, and a FIFO is not waited on); a file that cannot be read is shown by name only. The third severity,
/// info, is printed with rustc's word for it: `note`.
pub fn render_text(diagnostics: &[Diagnostic]) -> String {
    let mut files = SimpleFiles::new();
    let mut ids: BTreeMap<&Path, Option<usize>> = BTreeMap::new();
    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let mut out = String::new();
    for d in diagnostics {
        let id = *ids.entry(&d.file).or_insert_with(|| {
            crate::input::read_text(&d.file, crate::input::MAX_RECIPE)
                .ok()
                .map(|text| files.add(d.file.display().to_string(), text))
        });
        let severity = match d.severity {
            Severity::Error => ReportSeverity::Error,
            Severity::Warning => ReportSeverity::Warning,
            Severity::Info => ReportSeverity::Note,
        };
        let mut report = Report::new(severity)
            .with_code(d.code)
            .with_message(&d.message);
        let mut notes = Vec::new();
        match (id, d.location) {
            (Some(id), Some(loc)) => {
                let text = files.get(id).expect("added above").source();
                report =
                    report.with_labels(vec![Label::primary(id, span(text, loc.line, loc.column))]);
            }
            (_, Some(loc)) => notes.push(format!(
                "at {}:{}:{}",
                d.file.display(),
                loc.line,
                loc.column
            )),
            (_, None) => notes.push(format!("in {}", d.file.display())),
        }
        notes.extend(d.notes.iter().map(|n| format!("note: {n}")));
        if let Some(h) = &d.help {
            notes.push(format!("help: {h}"));
        }
        report = report.with_notes(notes);
        term::emit_to_string(&mut out, &config, &files, &report)
            .expect("files are in the database");
    }
    out
}

/// Byte range of the key or item at a 1-based line and (character) column: up to a
/// `:` or `=` that ends a key, or the end of the line.
fn span(text: &str, line: usize, column: usize) -> Range<usize> {
    let Some(line_start) = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .reduce(|a, b| a + b)
        .or(Some(0))
    else {
        return 0..0;
    };
    let line_text = text[line_start.min(text.len())..]
        .split('\n')
        .next()
        .unwrap_or("");
    let start = line_text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line_text.len(), |(i, _)| i);
    let rest = &line_text[start..];
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let skipped = line_text.len() - start - rest.len();
    let len = rest.find([':', '=']).unwrap_or(rest.len());
    let len = rest[..len].trim_end().len().max(1).min(rest.len().max(1));
    let begin = line_start + start + skipped;
    begin..(begin + len).min(text.len())
}

/// JSON: `{"diagnostics": [...], "summary": {...}}`, diagnostics in report order.
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let items: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            serde_json::json!({
                "code": d.code,
                "severity": d.severity.as_str(),
                "message": d.message,
                "help": d.help,
                "notes": d.notes,
                "file": d.file.display().to_string(),
                "line": d.location.map(|l| l.line),
                "column": d.location.map(|l| l.column),
                "unit": d.unit,
            })
        })
        .collect();
    let s = Summary::of(diagnostics);
    let doc = serde_json::json!({
        "diagnostics": items,
        "summary": {"errors": s.errors, "warnings": s.warnings, "infos": s.infos},
    });
    serde_json::to_string_pretty(&doc).expect("JSON values serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_the_key_or_item() {
        let text = "a: 1\n  ExecStart: /bin/x\n  - /usr/bin/y --z\nKey=Value\n";
        assert_eq!(&text[span(text, 2, 3)], "ExecStart");
        assert_eq!(&text[span(text, 3, 3)], "/usr/bin/y --z");
        assert_eq!(&text[span(text, 4, 1)], "Key");
        assert_eq!(&text[span(text, 1, 1)], "a");
    }
}
