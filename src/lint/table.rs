//! The lint data: directive and specifier tables that `build.rs` generates into
//! `OUT_DIR` from `data/systemd-directives.tsv`, `data/systemd-directives-parsed.tsv`
//! and `data/systemd-specifiers.tsv` (docs/lint.md, "Lint data", says how to refresh them).

use super::directives::Status;

include!(concat!(env!("OUT_DIR"), "/lint_table.rs"));
