//! The one pipeline every output goes through:
//!
//! ```text
//! load (recipe::load, across recipes) → lint gate → plan → Packager::check → Packager::write
//! ```
//!
//! `build`, `yocto` and any later format go through [`Pipeline`]; none of them
//! loads, lints or plans on its own, so an output cannot be written from a recipe that
//! another output refuses. Each format's own rules live in its [`Packager::check`].

use crate::error::{Error, Result};
use crate::format::Packager;
use crate::lint::{self, Diagnostic, Severity, Summary};
use crate::plan::Plan;
use crate::recipe::Recipe;
use std::path::PathBuf;

/// The recipes of one run, loaded and checked against each other.
pub struct Pipeline {
    recipes: Vec<Recipe>,
}

/// What the lint gate has to say: the warnings and errors of every recipe, to be shown
/// whether or not the gate lets the run through.
#[derive(Debug, Default)]
pub struct GateReport {
    pub shown: Vec<Diagnostic>,
    pub summary: Summary,
}

impl Pipeline {
    /// Load every recipe named by `inputs` (files, or directories of `*.yaml`) for
    /// `target` (each recipe's own when `None`), reporting the problems of all of them
    /// together.
    pub fn load(inputs: &[PathBuf], target: Option<&str>) -> Result<Pipeline> {
        let files = crate::recipe::recipe_files(inputs)?;
        Ok(Pipeline {
            recipes: crate::recipe::load_all(&files, target)?,
        })
    }

    pub fn recipes(&self) -> &[Recipe] {
        &self.recipes
    }

    /// Lint every recipe against its target. `report` sees the warnings and errors
    /// (printed by the caller) before the gate decides; any lint error refuses the run
    /// with one message, the same for every output.
    pub fn lint_gate(&self, report: impl FnOnce(&GateReport)) -> Result<()> {
        let all: Vec<Diagnostic> = self.recipes.iter().flat_map(lint::lint_recipe).collect();
        // The summary counts what `unitpack lint` counts; infos are not shown here.
        let summary = Summary::of(&all);
        let shown = all
            .into_iter()
            .filter(|d| d.severity >= Severity::Warning)
            .collect();
        let gate = GateReport { shown, summary };
        report(&gate);
        if gate.summary.errors > 0 {
            return Err(Error::Refused(format!(
                "not building: lint found {} (see `unitpack lint`)",
                gate.summary
            )));
        }
        Ok(())
    }

    /// Plan every recipe, let `format` check the plans, and write only when it found
    /// nothing: what is refused is refused before any byte is written.
    pub fn write<P: Packager>(&self, format: &P) -> Result<P::Written> {
        let plans = self
            .recipes
            .iter()
            .map(Plan::new)
            .collect::<Result<Vec<_>>>()?;
        let errors = format.check(&plans)?;
        if !errors.is_empty() {
            return Err(Error::Input(errors));
        }
        format.write(&plans)
    }
}
