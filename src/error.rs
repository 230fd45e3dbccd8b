//! Errors of unitpack. Bad input (exit 2) is kept apart from failures of the machine
//! (I/O, exit 1) so that CI can tell "fix your recipe" from "fix your runner".

use std::fmt;
use std::path::{Path, PathBuf};

/// A 1-based position in a recipe or unit file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// One problem with user input, pinned to a file, a position and a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: PathBuf,
    pub location: Option<Location>,
    /// Dotted path of the offending field, e.g. `units[0].name`.
    pub field: String,
    /// The lint code of a model check that is also a lint rule (`UP209`): `unitpack
    /// lint` reports it under that code, `build` prints it before the message.
    pub code: Option<crate::codes::Code>,
    pub message: String,
}

impl InputError {
    pub fn new(
        file: &Path,
        location: Option<Location>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            file: file.to_path_buf(),
            location,
            field: field.into(),
            code: None,
            message: message.into(),
        }
    }

    pub fn with_code(mut self, code: crate::codes::Code) -> Self {
        self.code = Some(code);
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(loc) = self.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        if let Some(code) = self.code {
            write!(f, ": {}", code.id)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The recipe (or a file it names) is wrong; every problem found is listed.
    #[error("{}", display_all(.0))]
    Input(Vec<InputError>),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Input that loads but that a check refuses (lint errors before `build`); the
    /// problems were already printed. Bad input, so exit 2.
    #[error("{0}")]
    Refused(String),
    /// A program unitpack runs (gpg, shellcheck) is missing or failed.
    #[error("{program}: {message}")]
    Tool {
        program: &'static str,
        message: String,
    },
    /// unitpack's own templates, encoders or generated text failed: a bug to report.
    #[error("{what}: {message}")]
    Internal { what: String, message: String },
    /// The helper crate the Yocto layer ships (`--helper DIR`, or the one built into
    /// unitpack) cannot be shipped as it is. Bad input.
    #[error("{label}: {message}")]
    HelperSource { label: String, message: String },
    /// A file changed under unitpack while it was being packaged.
    #[error("{} changed while the package was built: {message}", path.display())]
    Changed { path: PathBuf, message: String },
    /// `unitpack lint` found errors (or warnings with `--deny warnings`).
    #[error("lint failed: {summary}")]
    LintFailed { summary: String },
    /// Several recipes failed, each with its own error.
    #[error("{}", display_several(.0))]
    Several(Vec<(PathBuf, Error)>),
    /// A command-line value that names nothing there is (an unknown target profile, a
    /// file `render --only` does not render). Bad input, so exit 2.
    #[error("{0}")]
    Usage(String),
    /// `unitpack verify` ran and at least one check failed (the report says which).
    #[error("verify: {0} check(s) failed")]
    ChecksFailed(usize),
    /// This machine cannot do what the command needs (a missing tool or privilege, an
    /// unreachable mirror, a container that does not start); `how` says what to do.
    #[error("{what}; {how}")]
    Missing { what: String, how: String },
    /// Ctrl-C (or SIGTERM) stopped the run after it cleaned up.
    #[error("interrupted")]
    Interrupted,
    /// `SOURCE_DATE_EPOCH` is set but is not a whole number of seconds. Bad input.
    #[error("SOURCE_DATE_EPOCH={0} is not a whole number of seconds since 1970")]
    SourceDateEpoch(String),
}

fn display_several(failures: &[(PathBuf, Error)]) -> String {
    failures
        .iter()
        .map(|(recipe, e)| format!("{}: {e}", recipe.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One problem a line; the `error: ` prefix is the CLI's (main.rs), not part of the
/// message.
fn display_all(errors: &[InputError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Exit code of the CLI: 2 for bad input, 1 for any other failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_)
            | Error::Refused(_)
            | Error::SourceDateEpoch(_)
            | Error::Usage(_)
            | Error::HelperSource { .. } => 2,
            // Bad input only when every recipe's failure is.
            Error::Several(all) if all.iter().all(|(_, e)| e.exit_code() == 2) => 2,
            Error::Interrupted => 130,
            Error::Io { .. }
            | Error::Tool { .. }
            | Error::Internal { .. }
            | Error::Changed { .. }
            | Error::LintFailed { .. }
            | Error::ChecksFailed(_)
            | Error::Missing { .. }
            | Error::Several(_) => 1,
        }
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(vec![e])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_no_error_prefix() {
        let e = Error::Input(vec![
            InputError::new(Path::new("a.yaml"), None, "package.name", "bad"),
            InputError::new(Path::new("b.yaml"), None, "", "worse"),
        ]);
        assert_eq!(e.to_string(), "a.yaml: package.name: bad\nb.yaml: worse");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn source_date_epoch_is_its_own_error() {
        let e = Error::SourceDateEpoch("abc".into());
        assert_eq!(
            e.to_string(),
            "SOURCE_DATE_EPOCH=abc is not a whole number of seconds since 1970"
        );
        assert_eq!(e.exit_code(), 2);
    }
}
