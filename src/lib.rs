//! unitpack: one YAML recipe of systemd units → a `.deb` (and a Yocto layer) that
//! installs and enables them correctly on the target.
//!
//! Flow ([`pipeline`]): [`recipe::load`] validates a recipe into the model
//! ([`recipe::Recipe`], [`unit::Unit`], a [`profile::Profile`]); the lint gate
//! ([`lint`]); [`plan::Plan`] says everything a package does; the formats ([`deb`],
//! [`yocto`]) check and write the plans and never read the raw YAML.
//!
//! Modules only import modules below them (`tests/layers.rs` enforces it):
//! `codes`, `date`, `names`, `license` → `error` → `console`, `input`, `unit` → `elf`,
//! `follow`, `profile` → `recipe` → `plan`, `lint` → `archive`, `format` → `deb`,
//! `yocto`, `repo` → `pipeline`, `scaffold` → `verify`.

pub mod archive;
pub mod codes;
pub mod console;
pub mod date;
pub mod deb;
pub mod elf;
pub mod error;
pub mod follow;
pub mod format;
pub mod input;
pub mod license;
pub mod lint;
pub mod names;
pub mod pipeline;
pub mod plan;
pub mod profile;
pub mod recipe;
pub mod repo;
pub mod scaffold;
pub mod unit;
pub mod verify;
pub mod yocto;

pub use error::{Error, Result};
