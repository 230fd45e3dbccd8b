//! `unitpack verify …`: the command line of the verifier.

use super::Options;
use crate::console::write_stdout;
use crate::error::{Error, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Args)]
pub struct VerifyArgs {
    /// Recipe files or directories of recipes.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Target profile, overriding the recipes' own (verify boots debian-bookworm and
    /// ubuntu-xenial).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(super::BOOTABLE))]
    target: Option<String>,
    /// Architecture of the booted root: amd64, or armhf under qemu-user (default: the
    /// recipes' package.architecture, else amd64).
    #[arg(long)]
    arch: Option<String>,
    /// The unitpack-check .deb to install (default: the newest in $UNITPACK_CHECK_DEBS
    /// or target/unitpack-check, written by scripts/cross-build).
    #[arg(long, value_name = "FILE.deb")]
    helper: Option<PathBuf>,
    /// ubuntu-xenial: where the board's systemd 229, dpkg 1.18.4 and apt 1.2.35 were
    /// built by scripts/vendor (default: $UNITPACK_BOARD_STACK, else
    /// $UNITPACK_TOOLS/vendor, else /opt/unitpack-tools/vendor).
    #[arg(long, value_name = "DIR")]
    stack: Option<PathBuf>,
    /// How to install the packages: `dpkg` (`dpkg -i`) or `apt` (`apt-get install` from
    /// a signed local repository made for the run). Default: apt when a recipe depends
    /// on a package another recipe of the run builds, else dpkg.
    #[arg(long, value_enum)]
    install: Option<Install>,
    /// `json`: the checks and timings as JSON on stdout, for CI.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print the wall time of each phase.
    #[arg(long)]
    timings: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Install {
    Dpkg,
    Apt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Exit 0 when every check held, 1 when one failed (`Error::ChecksFailed`), 2 for bad
/// input.
pub fn run(args: VerifyArgs) -> Result<()> {
    let opts = Options {
        inputs: args.inputs,
        target: args.target,
        arch: args.arch,
        helper: args.helper,
        stack: args.stack,
        install: args.install.map(|i| match i {
            Install::Dpkg => super::install::Way::Dpkg,
            Install::Apt => super::install::Way::Apt,
        }),
    };
    let report = super::verify(&opts, |gate| {
        eprint!("{}", crate::lint::render_text(&gate.shown));
    })?;
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&report.json()).expect("JSON");
            write_stdout(format!("{text}\n").as_bytes())?;
        }
        Format::Text => write_stdout(report.text(args.timings).as_bytes())?,
    }
    match report.failed() {
        0 => Ok(()),
        n => Err(Error::ChecksFailed(n)),
    }
}
