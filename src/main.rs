use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use unitpack::unit::Scope;
use unitpack::{deb, lint, scripts, Error, Result};

/// Turn YAML recipes of systemd units into .deb packages that enable them correctly.
#[derive(Parser)]
#[command(name = "unitpack", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build .deb packages from recipes (default: every recipe in recipes/).
    Build {
        /// Recipe files or directories of recipes.
        inputs: Vec<PathBuf>,
        /// Output directory.
        #[arg(short, long, default_value = "target/unitpack")]
        out_dir: PathBuf,
        /// Target profile, overriding the recipes' own.
        #[arg(long)]
        target: Option<String>,
        /// Compressor threads (the output is the same for any number).
        #[arg(short, long)]
        jobs: Option<u32>,
    },
    /// Print the unit files and maintainer scripts a recipe would package.
    Render {
        recipe: PathBuf,
        #[arg(long)]
        target: Option<String>,
        /// Print only this file, byte for byte (a unit name, a script name such as
        /// postinst, or an installed path).
        #[arg(long)]
        only: Option<String>,
    },
    /// Check recipes (default: every recipe in recipes/) or bare unit files against the
    /// target's systemd and scope. Exit 1 when errors are found.
    Lint {
        /// Recipe files or directories of recipes.
        inputs: Vec<PathBuf>,
        /// Lint the unit files of this directory instead of recipes (needs --scope).
        #[arg(
            long,
            value_name = "DIR",
            conflicts_with = "inputs",
            requires = "scope"
        )]
        units: Vec<PathBuf>,
        /// Scope of the units given with --units.
        #[arg(long, value_parser = ["user", "system"])]
        scope: Option<String>,
        /// Target profile, overriding the recipes' own (default for --units: ubuntu-xenial).
        #[arg(long)]
        target: Option<String>,
        #[arg(long, value_parser = ["text", "json"], default_value = "text")]
        format: String,
        /// `--deny warnings`: warnings fail the run too.
        #[arg(long, value_parser = ["warnings"])]
        deny: Option<String>,
    },
    /// List the target profiles.
    Profiles,
    /// Generate the Yocto layer (default: every recipe in recipes/ into meta-layer/).
    Yocto {
        /// Recipe files or directories of recipes.
        inputs: Vec<PathBuf>,
        /// Layer directory, replaced as a whole.
        #[arg(short, long, default_value = "meta-layer")]
        out_dir: PathBuf,
        /// The helper crate whose sources the layer ships.
        #[arg(long, default_value = "unitpack-check")]
        helper: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string();
            if text.starts_with("error: ") {
                eprintln!("{text}");
            } else {
                eprintln!("error: {text}");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Build {
            inputs,
            out_dir,
            target,
            jobs,
        } => {
            let inputs = if inputs.is_empty() {
                vec![PathBuf::from("recipes")]
            } else {
                inputs
            };
            let recipes = unitpack::load_all(&unitpack::recipe_files(&inputs)?, target.as_deref())?;
            let threads = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
            });
            let opts = deb::Options {
                mtime: unitpack::source_date_epoch()?,
                threads,
            };
            lint_before_build(&recipes)?;
            for recipe in &recipes {
                let path = deb::write(recipe, &out_dir, &opts)?;
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Lint {
            inputs,
            units,
            scope,
            target,
            format,
            deny,
        } => {
            let diagnostics = if units.is_empty() {
                let inputs = if inputs.is_empty() {
                    vec![PathBuf::from("recipes")]
                } else {
                    inputs
                };
                lint::lint_files(&unitpack::recipe_files(&inputs)?, target.as_deref())?
            } else {
                let name = target.as_deref().unwrap_or_else(|| {
                    // Bare units carry no target of their own: say which one is assumed.
                    eprintln!(
                        "note: no --target given; linting for {} (the default); `unitpack profiles` lists the others",
                        unitpack::profile::DEFAULT_PROFILE
                    );
                    unitpack::profile::DEFAULT_PROFILE
                });
                let profile = unitpack::profile::find(name).ok_or_else(|| {
                    Error::Failed(format!(
                        "unknown target profile {name:?}; known: {}",
                        unitpack::profile::names().join(", ")
                    ))
                })?;
                let scope = if scope.as_deref() == Some("user") {
                    Scope::User
                } else {
                    Scope::System
                };
                let mut all = Vec::new();
                for dir in &units {
                    all.extend(lint::lint_unit_dir(dir, scope, profile)?);
                }
                all
            };
            let summary = lint::Summary::of(&diagnostics);
            if format == "json" {
                println!("{}", lint::render_json(&diagnostics));
            } else {
                print!("{}", lint::render_text(&diagnostics));
                println!("lint: {summary}");
            }
            if summary.fails(deny.is_some()) {
                return Err(Error::Failed(format!("lint failed: {summary}")));
            }
            Ok(())
        }
        Command::Render {
            recipe,
            target,
            only,
        } => render(&recipe, target.as_deref(), only.as_deref()),
        Command::Yocto {
            inputs,
            out_dir,
            helper,
        } => {
            let inputs = if inputs.is_empty() {
                vec![PathBuf::from("recipes")]
            } else {
                inputs
            };
            let profile = unitpack::yocto::layer_profile();
            let recipes =
                unitpack::load_all(&unitpack::recipe_files(&inputs)?, Some(&profile.name))?;
            let files = unitpack::yocto::render(&recipes, &helper)?;
            unitpack::yocto::write(&files, &out_dir)?;
            println!("{}", out_dir.display());
            Ok(())
        }
        Command::Profiles => {
            for p in unitpack::profile::all() {
                println!("{:<18} {}", p.name, p.description);
            }
            Ok(())
        }
    }
}

/// `build` refuses recipes with lint errors; warnings are shown, notes are not.
fn lint_before_build(recipes: &[unitpack::recipe::Recipe]) -> Result<()> {
    let mut shown = Vec::new();
    for recipe in recipes {
        shown.extend(
            lint::lint_recipe(recipe)
                .into_iter()
                .filter(|d| d.severity >= lint::Severity::Warning),
        );
    }
    eprint!("{}", lint::render_text(&shown));
    let summary = lint::Summary::of(&shown);
    if summary.errors > 0 {
        return Err(Error::Failed(format!(
            "not building: lint found {summary} (see `unitpack lint`)"
        )));
    }
    Ok(())
}

fn render(path: &Path, target: Option<&str>, only: Option<&str>) -> Result<()> {
    let recipe = unitpack::recipe::load(path, target)?;
    let mut files: Vec<(String, String)> = recipe
        .units
        .iter()
        .map(|u| (recipe.unit_path(u), u.text.clone()))
        .collect();
    files.push((
        unitpack::plan::manifest_path(&recipe.package.name),
        unitpack::plan::manifest(&recipe),
    ));
    files.extend(
        scripts::render(&recipe)
            .into_iter()
            .map(|s| (s.name.to_string(), s.text)),
    );
    match only {
        Some(name) => {
            let found = files
                .iter()
                .find(|(path, _)| path == name || path.rsplit('/').next() == Some(name));
            match found {
                Some((_, text)) => {
                    print!("{text}");
                    Ok(())
                }
                None => Err(Error::Failed(format!(
                    "{name:?} is not among the rendered files: {}",
                    files
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        None => {
            for (i, (path, text)) in files.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                println!("==> {path} <==");
                print!("{text}");
            }
            Ok(())
        }
    }
}
