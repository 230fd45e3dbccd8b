//! `unitpack repo …`: the command line of the repository writer.

use super::{AddOptions, CopyFrom, KeySpec, Selector};
use crate::console::write_stdout;
use crate::error::{InputError, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum RepoCommand {
    /// Add .deb files to a suite of a repository (made if missing), then rewrite its
    /// indexes and sign its Release. With no .deb, re-sign (e.g. to renew Valid-Until).
    Add {
        #[command(flatten)]
        suite: SuiteArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// Publish indexes for this architecture too (repeatable); the architectures of
        /// the packages and those already published are always kept.
        #[arg(long = "arch", value_name = "ARCH")]
        architectures: Vec<String>,
        #[command(flatten)]
        release: ReleaseArgs,
        /// Packages to add.
        debs: Vec<PathBuf>,
    },
    /// Remove packages from a suite's component, then rewrite its indexes and sign its
    /// Release (the pool files stay).
    Remove {
        #[command(flatten)]
        suite: SuiteArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// Remove only this architecture's package (default: every architecture).
        #[arg(long = "arch", value_name = "ARCH")]
        architecture: Option<String>,
        #[command(flatten)]
        release: ReleaseArgs,
        /// PACKAGE or PACKAGE=VERSION.
        #[arg(required = true, value_name = "PACKAGE[=VERSION]")]
        packages: Vec<String>,
    },
    /// Copy packages from another suite of the repository (promotion), then rewrite the
    /// target suite's indexes and sign its Release; the pool file is shared.
    Copy {
        /// The suite to copy from (same repository and component).
        #[arg(long, value_name = "SUITE")]
        from: String,
        /// The suite to copy to (made if missing).
        #[arg(long, value_name = "SUITE", visible_alias = "suite")]
        to: String,
        /// The repository's top directory (holds dists/ and pool/).
        #[arg(long, value_name = "DIR")]
        repo: PathBuf,
        /// Component of both suites.
        #[arg(long, default_value = "main")]
        component: String,
        #[command(flatten)]
        key: KeyArgs,
        /// Copy only this architecture's package (default: every architecture).
        #[arg(long = "arch", value_name = "ARCH")]
        architecture: Option<String>,
        #[command(flatten)]
        release: ReleaseArgs,
        /// PACKAGE (its newest version in the source suite) or PACKAGE=VERSION.
        #[arg(required = true, value_name = "PACKAGE[=VERSION]")]
        packages: Vec<String>,
    },
    /// Keep only the N newest versions (Debian ordering) of each package and
    /// architecture in a suite's component, then rewrite its indexes and sign its
    /// Release (the pool files stay).
    Prune {
        #[command(flatten)]
        suite: SuiteArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// How many versions to keep (at least 1).
        #[arg(long, value_name = "N")]
        keep: usize,
        #[command(flatten)]
        release: ReleaseArgs,
    },
    /// List the packages of a suite: component, package, version, architecture, file.
    List {
        /// The repository's top directory (holds dists/ and pool/).
        #[arg(long, value_name = "DIR")]
        repo: PathBuf,
        /// Suite (and codename) clients name in their source line, e.g. xenial.
        #[arg(long)]
        suite: String,
    },
    /// Write the public key of the signing key (a keyring file for `signed-by=`).
    ExportKey {
        #[command(flatten)]
        key: KeyArgs,
        /// ASCII armor (apt >= 1.4 reads it; xenial's apt 1.2 needs the binary default).
        #[arg(long)]
        armor: bool,
        /// Output file (default: standard output).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Which suite of which repository a command changes.
#[derive(Args)]
pub struct SuiteArgs {
    /// The repository's top directory (holds dists/ and pool/).
    #[arg(long, value_name = "DIR")]
    repo: PathBuf,
    /// Suite (and codename) clients name in their source line, e.g. xenial.
    #[arg(long)]
    suite: String,
    /// Component of the suite: the word after the suite in a client's source line.
    #[arg(long, default_value = "main")]
    component: String,
}

/// What the re-signed Release says besides its indexes.
#[derive(Args)]
pub struct ReleaseArgs {
    /// Write Valid-Until = Date + DURATION (e.g. 7d, 12h, 3600s); apt refuses the
    /// repository after that until it is re-signed. Remembered for the suite; `none`
    /// forgets it (no Valid-Until).
    #[arg(long, value_name = "DURATION")]
    valid_for: Option<String>,
    /// The Release's Origin field (who publishes it; apt pinning can select on it).
    #[arg(long)]
    origin: Option<String>,
    /// The Release's Label field (a name for the repository; apt pinning can select on it).
    #[arg(long)]
    label: Option<String>,
    /// Sign with a key that is not among the keys the suite remembers (unitpack-repo.conf
    /// Signed-By): a new or rotated key.
    #[arg(long)]
    new_key: bool,
}

#[derive(Args)]
pub struct KeyArgs {
    /// Secret key file (`gpg --export-secret-keys`), used in a private GnuPG home.
    /// Twice (or more) to sign with each key: rotation (docs/repo.md).
    #[arg(long, value_name = "KEYFILE")]
    key: Vec<PathBuf>,
    /// Key id or fingerprint: from the user's keyring, or among the keys of --key.
    /// Repeatable, as --key.
    #[arg(long, value_name = "ID")]
    key_id: Vec<String>,
    /// File holding the passphrase of a protected key (passed to gpg).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

impl KeyArgs {
    fn spec(self) -> Result<KeySpec> {
        if self.key.is_empty() && self.key_id.is_empty() {
            return Err(InputError::new(
                Path::new("--key"),
                None,
                "key",
                "no signing key: give --key KEYFILE or --key-id ID",
            )
            .into());
        }
        Ok(KeySpec {
            files: self.key,
            ids: self.key_id,
            passphrase_file: self.passphrase_file,
        })
    }
}

/// The options every publication shares; the command adds its packages or removals.
fn options(suite: SuiteArgs, key: KeyArgs, release: ReleaseArgs) -> Result<AddOptions> {
    Ok(AddOptions {
        repo: suite.repo,
        suite: suite.suite,
        component: suite.component,
        key: key.spec()?,
        architectures: Vec::new(),
        // `none` is Some(0): no Valid-Until, and forget the remembered one.
        valid_for: match release.valid_for.as_deref() {
            Some("none") => Some(0),
            v => v.map(duration).transpose()?,
        },
        origin: release.origin,
        label: release.label,
        date: repository_date()?,
        date_from_env: std::env::var_os("SOURCE_DATE_EPOCH").is_some(),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        debs: Vec::new(),
        removals: Vec::new(),
        copy: None,
        keep: None,
        new_key: release.new_key,
    })
}

/// `PACKAGE` or `PACKAGE=VERSION` on `architecture` (or all).
fn selectors(packages: &[String], architecture: &Option<String>) -> Vec<Selector> {
    packages
        .iter()
        .map(|p| {
            let (package, version) = match p.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (p.clone(), None),
            };
            Selector {
                package,
                version,
                architecture: architecture.clone(),
            }
        })
        .collect()
}

pub fn run(command: RepoCommand) -> Result<()> {
    // Before any thread or gpg starts: a signal removes the GnuPG home and staged files.
    super::cleanup::install();
    match command {
        RepoCommand::Add {
            suite,
            key,
            architectures,
            release,
            debs,
        } => {
            let mut opts = options(suite, key, release)?;
            opts.architectures = architectures;
            opts.debs = debs;
            publish(&opts)
        }
        RepoCommand::Remove {
            suite,
            key,
            architecture,
            release,
            packages,
        } => {
            let mut opts = options(suite, key, release)?;
            opts.removals = selectors(&packages, &architecture);
            publish(&opts)
        }
        RepoCommand::Copy {
            from,
            to,
            repo,
            component,
            key,
            architecture,
            release,
            packages,
        } => {
            let suite = SuiteArgs {
                repo,
                suite: to,
                component,
            };
            let mut opts = options(suite, key, release)?;
            opts.copy = Some(CopyFrom {
                suite: from,
                packages: selectors(&packages, &architecture),
            });
            publish(&opts)
        }
        RepoCommand::Prune {
            suite,
            key,
            keep,
            release,
        } => {
            let mut opts = options(suite, key, release)?;
            opts.keep = Some(keep);
            publish(&opts)
        }
        RepoCommand::List { repo, suite } => {
            let mut text = String::new();
            for row in super::list(&repo, &suite)? {
                text.push_str(&row.join(" "));
                text.push('\n');
            }
            write_stdout(text.as_bytes())
        }
        RepoCommand::ExportKey { key, armor, output } => {
            let bytes = super::export_key(&key.spec()?, armor)?;
            match output {
                None => write_stdout(&bytes),
                Some(path) => {
                    let mut stage = super::stage::Stage::default();
                    let dest = if path.is_absolute()
                        || path.parent().is_some_and(|p| !p.as_os_str().is_empty())
                    {
                        path.clone()
                    } else {
                        Path::new(".").join(&path)
                    };
                    stage.bytes(&dest, &bytes)?;
                    stage.commit()
                }
            }
        }
    }
}

/// `repo add`, `remove`, `copy` and `prune`: publish, then say what changed.
fn publish(opts: &AddOptions) -> Result<()> {
    let report = super::add(opts)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for n in &report.notes {
        eprintln!("note: {n}");
    }
    let mut text = String::new();
    for p in &report.added {
        text.push_str(&format!("added {p}\n"));
    }
    for p in &report.unchanged {
        text.push_str(&format!("unchanged {p}\n"));
    }
    for (verb, list) in [
        ("removed", &report.removed),
        ("copied", &report.copied),
        ("pruned", &report.pruned),
    ] {
        for p in list {
            text.push_str(&format!("{verb} {p}\n"));
        }
    }
    let inrelease = opts.repo.join("dists").join(&opts.suite).join("InRelease");
    text.push_str(&format!("signed {}\n", inrelease.display()));
    write_stdout(text.as_bytes())
}

/// SOURCE_DATE_EPOCH when set (reproducible repositories), else now: a repository's
/// Date is what apt checks Valid-Until against, so it should move with each publish.
fn repository_date() -> Result<u64> {
    if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        return crate::input::source_date_epoch();
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()))
}

fn duration(text: &str) -> Result<u64> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 && scale > 0 => Ok(n * scale),
        _ => Err(InputError::new(
            Path::new("--valid-for"),
            None,
            "valid-for",
            format!("{text:?} is not a duration such as 7d, 12h, 30m or 3600s, nor none"),
        )
        .into()),
    }
}
