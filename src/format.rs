//! The output formats. [`crate::pipeline::Pipeline`] hands each the plans of the
//! recipes that passed the lint gate; the format refuses what it cannot express before
//! anything is written, and then writes: the `.deb` writer ([`crate::deb::Debs`]) and
//! the Yocto layer ([`crate::yocto::LayerWriter`]).

use crate::error::{InputError, Result};
use crate::plan::Plan;

pub trait Packager {
    /// What one run wrote.
    type Written;

    /// Every problem this format has with `plans`, each pinned to its recipe's file,
    /// line and field. The caller writes nothing when there is one. `Err` is for the
    /// tool's own failures (a checker that cannot run).
    fn check(&self, plans: &[Plan]) -> Result<Vec<InputError>>;

    /// Write the output of `plans` (which `check` accepted).
    fn write(&self, plans: &[Plan]) -> Result<Self::Written>;
}
