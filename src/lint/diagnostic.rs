//! The diagnostics model: a stable code, a severity, a place, a message and a hint.

use crate::error::Location;
use std::path::PathBuf;

pub use crate::codes::*;

/// One finding, pinned to a file and a position in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Background: why it matters, related places.
    pub notes: Vec<String>,
    /// The recipe, or the unit file for `file:` units and bare unit files.
    pub file: PathBuf,
    pub location: Option<Location>,
    /// The unit concerned, when there is one.
    pub unit: Option<String>,
    /// Index of the unit among the linted ones, to apply its `allow:` list.
    pub(crate) subject: Option<usize>,
}

impl Diagnostic {
    pub(crate) fn new(code: Code, site: Site, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.id,
            severity: code.severity,
            message: message.into(),
            help: None,
            notes: Vec::new(),
            file: site.file,
            location: site.location,
            unit: site.unit,
            subject: site.subject,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Order of the report: by file, position, then code.
    pub(crate) fn sort_key(&self) -> impl Ord + '_ {
        (&self.file, self.location, self.code, &self.message)
    }
}

/// Where a diagnostic points, and which linted unit it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    pub file: PathBuf,
    pub location: Option<Location>,
    pub unit: Option<String>,
    pub subject: Option<usize>,
}
