use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use unitpack::{deb, scripts, Error, Result};

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
    /// List the target profiles.
    Profiles,
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
        Command::Build { inputs, out_dir, target, jobs } => {
            let inputs = if inputs.is_empty() { vec![PathBuf::from("recipes")] } else { inputs };
            let recipes = unitpack::load_all(&unitpack::recipe_files(&inputs)?, target.as_deref())?;
            let threads = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
            let opts = deb::Options { mtime: unitpack::source_date_epoch()?, threads };
            for recipe in &recipes {
                let path = deb::write(recipe, &out_dir, &opts)?;
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Render { recipe, target, only } => render(&recipe, target.as_deref(), only.as_deref()),
        Command::Profiles => {
            for p in unitpack::profile::all() {
                println!("{:<18} {}", p.name, p.description);
            }
            Ok(())
        }
    }
}

fn render(path: &Path, target: Option<&str>, only: Option<&str>) -> Result<()> {
    let recipe = unitpack::recipe::load(path, target)?;
    let mut files: Vec<(String, String)> = recipe
        .units
        .iter()
        .map(|u| (recipe.unit_path(u), u.text.clone()))
        .collect();
    files.push((unitpack::plan::manifest_path(&recipe.package.name), unitpack::plan::manifest(&recipe)));
    files.extend(scripts::render(&recipe).into_iter().map(|s| (s.name.to_string(), s.text)));
    match only {
        Some(name) => {
            let found = files.iter().find(|(path, _)| {
                path == name || path.rsplit('/').next() == Some(name)
            });
            match found {
                Some((_, text)) => {
                    print!("{text}");
                    Ok(())
                }
                None => Err(Error::Failed(format!(
                    "{name:?} is not among the rendered files: {}",
                    files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
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
