//! The output formats. Each reads the plans of the recipes it is given (never their
//! units directly), refuses what it cannot express before anything is written, and then
//! writes: the `.deb` writer ([`crate::deb::Debs`]) and the Yocto layer
//! ([`crate::yocto::LayerWriter`]).

use crate::error::{InputError, Result};
use crate::plan::Plan;

pub trait Packager {
    /// What one run wrote.
    type Written;

    /// Every problem this format has with `plans`, each pinned to its recipe's file,
    /// line and field. The caller writes nothing when there is one.
    fn check(&self, plans: &[Plan]) -> Vec<InputError>;

    /// Write the output of `plans` (which `check` accepted).
    fn write(&self, plans: &[Plan]) -> Result<Self::Written>;
}
