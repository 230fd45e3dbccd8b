use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use unitpack::console::write_stdout;
use unitpack::deb::{self, scripts};
use unitpack::pipeline::{GateReport, Pipeline};
use unitpack::unit::Scope;
use unitpack::{lint, Error, Result};

/// Turn YAML recipes of systemd units into .deb packages that enable them correctly.
#[derive(Parser)]
#[command(name = "unitpack", version, about, long_about = None, propagate_version = true)]
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
        #[arg(long, value_parser = profile_names())]
        target: Option<String>,
        /// Jobs: packages built at once, or compressor threads for one package
        /// (default: the number of CPUs; the output is the same for any number).
        #[arg(short, long)]
        jobs: Option<u32>,
        /// `json`: print what was built (recipe, package, file, size, sha256) as JSON.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// No progress on the terminal.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print the unit files and maintainer scripts a recipe would package.
    Render {
        /// The recipe file.
        recipe: PathBuf,
        /// Target profile, overriding the recipe's own (`unitpack profiles` lists them).
        #[arg(long, value_parser = profile_names())]
        target: Option<String>,
        /// Print only this file, byte for byte (a unit name, a script name such as
        /// postinst, or an installed path).
        #[arg(long)]
        only: Option<String>,
    },
    /// Check recipes (default: every recipe in recipes/) or bare unit files against the
    /// target's systemd and scope. Exit 1 when errors are found, 2 when a recipe does
    /// not load.
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
        #[arg(long, value_enum)]
        scope: Option<CliScope>,
        /// Target profile, overriding the recipes' own (default for --units: ubuntu-xenial).
        #[arg(long, value_parser = profile_names())]
        target: Option<String>,
        /// `json`: the diagnostics as JSON (code, severity, file, line, column, message).
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// `--deny warnings`: warnings fail the run too.
        #[arg(long, value_enum)]
        deny: Option<Deny>,
    },
    /// List the target profiles.
    Profiles,
    /// A signed Debian repository of built packages, for `apt install`.
    Repo {
        #[command(subcommand)]
        command: unitpack::repo::cli::RepoCommand,
    },
    /// Write a new recipe to start from: a user service, or the given unit files.
    New {
        /// The Debian package name (the recipe is written to NAME.yaml).
        name: String,
        /// Unit files or directories of them to take in, with their sections, scope and
        /// enablement read from their text; or one Debian package (a .deb, or a directory
        /// with DEBIAN/ as `dpkg-deb -R` unpacks it), whose install paths, postinst and
        /// shipped links decide scope and enablement.
        #[arg(long, value_name = "UNIT_FILE|DIR|PACKAGE")]
        from: Vec<PathBuf>,
        /// Scope of the units taken in (default: read from each unit).
        #[arg(long, value_enum)]
        scope: Option<CliScope>,
        /// Target profile of the recipe (default: the host's, from /etc/os-release).
        #[arg(long, value_parser = profile_names())]
        target: Option<String>,
        /// Where to write the recipe (default: NAME.yaml); never overwritten.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Boot the recipes' packages on the target's own systemd (a cached root in a
    /// throwaway container) and check what they promise through install, login, upgrade,
    /// remove, reinstall and purge. Needs root. Exit 1 when a check fails.
    Verify(unitpack::verify::cli::VerifyArgs),
    /// Print the JSON Schema of recipes (for editors and CI validation).
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one page per command into a directory.
    Man {
        /// Write unitpack.1 and one page per subcommand (unitpack-build.1, ...) into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Generate the Yocto layer (default: every recipe in recipes/ into meta-layer/).
    Yocto {
        /// Recipe files or directories of recipes.
        inputs: Vec<PathBuf>,
        /// Layer directory, replaced as a whole.
        #[arg(short, long, default_value = "meta-layer")]
        out_dir: PathBuf,
        /// The helper crate whose source archive the layer's recipe carries (default:
        /// the helper's sources built into unitpack).
        #[arg(long, value_name = "DIR")]
        helper: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// What `lint --deny` turns into failures besides errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Deny {
    Warnings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CliScope {
    User,
    System,
}

impl From<CliScope> for Scope {
    fn from(s: CliScope) -> Scope {
        match s {
            CliScope::User => Scope::User,
            CliScope::System => Scope::System,
        }
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The one place that says `error: `: once per problem (an input error lists
            // every problem found; a file name may hold a line break).
            let problems = match &e {
                Error::Input(errors) => errors.iter().map(ToString::to_string).collect(),
                other => vec![other.to_string()],
            };
            let text: String = problems.iter().map(|p| format!("error: {p}\n")).collect();
            say_err(&text);
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Print to stderr, best effort (there is nowhere left to report a failure).
fn say_err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Build {
            inputs,
            out_dir,
            target,
            jobs,
            format,
            quiet,
        } => build(inputs, out_dir, target, jobs, format, quiet),
        Command::Lint {
            inputs,
            units,
            scope,
            target,
            format,
            deny,
        } => lint_command(inputs, units, scope, target, format, deny),
        Command::Render {
            recipe,
            target,
            only,
        } => render(&recipe, target.as_deref(), only.as_deref()),
        Command::Yocto {
            inputs,
            out_dir,
            helper,
        } => yocto(inputs, out_dir, helper),
        Command::Repo { command } => unitpack::repo::cli::run(command),
        Command::Verify(args) => unitpack::verify::cli::run(args),
        Command::New {
            name,
            from,
            scope,
            target,
            output,
        } => unitpack::scaffold::new_recipe(&name, &from, scope.map(Scope::from), target, output),
        Command::Schema => {
            let schema = unitpack::recipe::json_schema();
            let text = serde_json::to_string_pretty(&schema).expect("JSON");
            write_stdout(format!("{text}\n").as_bytes())
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "unitpack", &mut script);
            write_stdout(&script)
        }
        Command::Man { dir } => man_pages(dir.as_deref()),
        Command::Profiles => {
            let mut text = String::new();
            for p in unitpack::profile::all() {
                text.push_str(&format!("{:<18} {}\n", p.name, p.description));
            }
            write_stdout(text.as_bytes())
        }
    }
}

/// Keep freed memory in the heap instead of handing it back to the kernel.
///
/// Each xz encoder of a small member allocates about 1.4 MB (window, match-finder
/// tables, encoder state) and frees it when its member is done. glibc served blocks
/// that large with a fresh `mmap`, or trimmed them off the top of the heap on `free`,
/// so every encoder paid for its memory again in page faults: 93 % of the faults of
/// building 20 small packages (`perf record -e page-faults`; 11,085 faults before, 768
/// after). Now blocks under 4 MiB come from the heap and up to 16 MiB of free memory
/// stays there, so the next encoder reuses pages already mapped. Larger blocks (a big
/// payload's encoders: 16 MiB tables, 24 MiB blocks) are still mapped and unmapped
/// one by one; `benches/memory.sh` bounds the peak.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

/// The target profiles, as `--target` takes them: shells complete them and clap
/// refuses any other name (exit 2) with the list.
fn profile_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(unitpack::profile::names())
}

/// The inputs named, or `recipes/` when none is (and then it must be there).
fn or_recipes_dir(inputs: Vec<PathBuf>, command: &str) -> Result<Vec<PathBuf>> {
    if !inputs.is_empty() {
        return Ok(inputs);
    }
    let default = PathBuf::from("recipes");
    if !default.is_dir() {
        return Err(Error::Usage(no_recipes_dir(
            command,
            &unitpack::input::file_names_in(Path::new("."), &[".yaml", ".yml"]),
        )));
    }
    Ok(vec![default])
}

/// Says that `recipes/` is the default, and what to type instead: the YAML files of
/// the current directory, or `unitpack new` when there is none.
fn no_recipes_dir(command: &str, here: &[String]) -> String {
    let start = format!("no recipe named, and no recipes/ directory here (the default: `unitpack {command}` reads every recipe in recipes/)");
    match here {
        [] => format!("{start}; name a recipe file (`unitpack {command} my-sync.yaml`), or write one with `unitpack new my-sync`"),
        [one] => format!("{start}; for the file here, run `unitpack {command} {one}`"),
        several => format!(
            "{start}; name the recipes, e.g. `unitpack {command} {}` (YAML files here: {})",
            several.join(" "),
            several.join(", ")
        ),
    }
}

fn build(
    inputs: Vec<PathBuf>,
    out_dir: PathBuf,
    target: Option<String>,
    jobs: Option<u32>,
    format: OutputFormat,
    quiet: bool,
) -> Result<()> {
    let pipeline = Pipeline::load(&or_recipes_dir(inputs, "build")?, target.as_deref())?;
    let recipes = pipeline.recipes();
    let jobs =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let mtime = unitpack::input::source_date_epoch()?;
    pipeline.lint_gate(show_gate)?;
    // Every package is attempted, `jobs` at a time; paths and failures are
    // reported in recipe order.
    let progress = std::sync::Mutex::new(Progress::new(recipes.len(), quiet));
    let finished = |plan: &unitpack::plan::Plan| {
        if let Ok(mut p) = progress.lock() {
            p.step(&plan.package().name);
        }
    };
    let debs = deb::Debs {
        out_dir: &out_dir,
        mtime,
        jobs,
        finished: &finished,
    };
    let results = pipeline.write(&debs)?;
    if let Ok(p) = progress.lock() {
        p.done();
    }
    let mut built = Vec::new();
    let mut failures = Vec::new();
    for (recipe, result) in recipes.iter().zip(results) {
        match result {
            Ok(path) => {
                if format == OutputFormat::Text {
                    write_stdout(format!("{}\n", path.display()).as_bytes())?;
                }
                built.push((recipe, path));
            }
            Err(e) => failures.push((recipe, e)),
        }
    }
    match failures.len() {
        0 => {}
        1 => return Err(failures.remove(0).1),
        _ => {
            return Err(Error::Several(
                failures
                    .into_iter()
                    .map(|(r, e)| (r.path.clone(), e))
                    .collect(),
            ))
        }
    }
    if format == OutputFormat::Json {
        let list = built
            .iter()
            .map(|(recipe, path)| built_json(recipe, path))
            .collect::<Result<Vec<_>>>()?;
        let text = serde_json::to_string_pretty(&list).expect("JSON");
        write_stdout(format!("{text}\n").as_bytes())?;
    }
    Ok(())
}

fn lint_command(
    inputs: Vec<PathBuf>,
    units: Vec<PathBuf>,
    scope: Option<CliScope>,
    target: Option<String>,
    format: OutputFormat,
    deny: Option<Deny>,
) -> Result<()> {
    let bad_input;
    let diagnostics = if units.is_empty() {
        let inputs = or_recipes_dir(inputs, "lint")?;
        let (diagnostics, failed) =
            lint::lint_files_loading(&unitpack::recipe::recipe_files(&inputs)?, target.as_deref())?;
        bad_input = failed;
        diagnostics
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
            Error::Usage(format!(
                "unknown target profile {name:?}; known: {}",
                unitpack::profile::names().join(", ")
            ))
        })?;
        // `requires = "scope"` makes it present with --units.
        let scope = Scope::from(scope.unwrap_or(CliScope::System));
        let mut all = Vec::new();
        for dir in &units {
            all.extend(lint::lint_unit_dir(dir, scope, profile)?);
        }
        // A unit file that cannot be read or parsed, or a FIFO named like a unit, is
        // bad input as a recipe that does not load is.
        bad_input = all.iter().any(|d| d.code == lint::RECIPE_INVALID.id);
        all
    };
    let summary = lint::Summary::of(&diagnostics);
    if format == OutputFormat::Json {
        write_stdout(format!("{}\n", lint::render_json(&diagnostics)).as_bytes())?;
    } else {
        let text = format!("{}lint: {summary}\n", lint::render_text(&diagnostics));
        write_stdout(text.as_bytes())?;
    }
    if bad_input {
        return Err(Error::Refused(format!(
            "lint failed: {summary}; {} does not load",
            if units.is_empty() {
                "a recipe"
            } else {
                "a unit file"
            }
        )));
    }
    if summary.fails(deny == Some(Deny::Warnings)) {
        return Err(Error::LintFailed {
            summary: summary.to_string(),
        });
    }
    Ok(())
}

fn yocto(inputs: Vec<PathBuf>, out_dir: PathBuf, helper: Option<PathBuf>) -> Result<()> {
    let inputs = or_recipes_dir(inputs, "yocto")?;
    unitpack::yocto::check_replaceable(&out_dir)?;
    // The gate `build` applies, under each recipe's own target (its warnings are shown
    // only if it refuses: the layer's own gate below shows what concerns the layer).
    Pipeline::load(&inputs, None)?.lint_gate(|gate| {
        if gate.summary.errors > 0 {
            show_gate(gate)
        }
    })?;
    let profile = unitpack::yocto::layer_profile();
    let pipeline = Pipeline::load(&inputs, Some(&profile.name))?;
    pipeline.lint_gate(show_gate)?;
    let layer = unitpack::yocto::LayerWriter {
        out_dir: &out_dir,
        helper: match &helper {
            Some(dir) => unitpack::yocto::HelperSource::Dir(dir),
            None => unitpack::yocto::HelperSource::BuiltIn,
        },
        mtime: unitpack::input::source_date_epoch()?,
    };
    let written = pipeline.write(&layer)?;
    write_stdout(format!("{}\n", written.display()).as_bytes())?;
    Ok(())
}

fn man_pages(dir: Option<&Path>) -> Result<()> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .map_err(|e| Error::io("rendering the man page", e))?;
        return write_stdout(&out);
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    // As clap_mangen::generate_to, but every page's footer names the program and its
    // version ("unitpack 0.1.0"): clap_mangen puts a subcommand's own name there.
    fn generate(cmd: clap::Command, dir: &Path, source: &str) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            generate(sub, dir, source)?;
        }
        clap_mangen::Man::new(cmd).source(source).generate_to(dir)?;
        Ok(())
    }
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let source = format!("unitpack {}", env!("CARGO_PKG_VERSION"));
    generate(cmd, dir, &source)
        .map_err(|e| Error::io(format!("writing man pages into {}", dir.display()), e))
}

/// `[3/10] name written` on the terminal as packages are finished (not started: a
/// large package can compress for a while); nothing when stderr is not a terminal (CI
/// logs) or with --quiet.
struct Progress {
    total: usize,
    done: usize,
    shown: bool,
}

impl Progress {
    fn new(total: usize, quiet: bool) -> Progress {
        use std::io::IsTerminal;
        Progress {
            total,
            done: 0,
            shown: !quiet && std::io::stderr().is_terminal(),
        }
    }

    fn step(&mut self, name: &str) {
        self.done += 1;
        if self.shown {
            eprint!("\r\x1b[K[{}/{}] {name} written", self.done, self.total);
        }
    }

    fn done(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

/// What `build --format json` says of one package.
fn built_json(recipe: &unitpack::recipe::Recipe, path: &Path) -> Result<serde_json::Value> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    // The package just written (output, not input), streamed: memory stays bounded.
    let size = unitpack::input::open_regular(path)
        .and_then(|mut f| std::io::copy(&mut f, &mut hasher))
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(serde_json::json!({
        "recipe": recipe.path.display().to_string(),
        "package": recipe.package.name,
        "version": recipe.package.version.full(),
        "architecture": recipe.package.architecture,
        "file": path.display().to_string(),
        "size": size,
        "sha256": format!("{:x}", hasher.finalize()),
    }))
}

/// `build` refuses recipes with lint errors; warnings are shown, notes are not.
/// The lint gate's warnings and errors, on stderr.
fn show_gate(gate: &GateReport) {
    say_err(&lint::render_text(&gate.shown));
}

fn render(path: &Path, target: Option<&str>, only: Option<&str>) -> Result<()> {
    let recipe = unitpack::recipe::load(path, target)?;
    let plan = unitpack::plan::Plan::new(&recipe)?;
    // The generated text files (units, drop-ins, manifest), not the assets.
    let mut files: Vec<(String, String)> = plan
        .files
        .iter()
        .filter(|f| !matches!(f.role, unitpack::plan::Role::Asset))
        .filter_map(|f| match &f.data {
            unitpack::plan::Content::Bytes(b) => {
                Some((f.path.clone(), String::from_utf8_lossy(b).into_owned()))
            }
            unitpack::plan::Content::File { .. } => None,
        })
        .collect();
    files.extend(
        scripts::render(&plan)
            .into_iter()
            .map(|s| (s.name.to_string(), s.text)),
    );
    match only {
        Some(name) => {
            let found = files
                .iter()
                .find(|(path, _)| path == name || path.rsplit('/').next() == Some(name));
            match found {
                Some((_, text)) => write_stdout(text.as_bytes()),
                None => Err(Error::Usage(format!(
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
            let mut all = String::new();
            for (i, (path, text)) in files.iter().enumerate() {
                if i > 0 {
                    all.push('\n');
                }
                all.push_str(&format!("==> {path} <==\n{text}"));
            }
            write_stdout(all.as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed sets of values are clap value enums, parsed once into types, not strings
    /// compared with `==`.
    #[test]
    fn lint_options_parse_into_value_enums() {
        let cli = Cli::try_parse_from([
            "unitpack", "lint", "--units", "d", "--scope", "user", "--format", "json", "--deny",
            "warnings",
        ])
        .unwrap();
        let Command::Lint {
            scope,
            format,
            deny,
            ..
        } = cli.command
        else {
            panic!("not lint");
        };
        assert_eq!(scope, Some(CliScope::User));
        assert_eq!(format, OutputFormat::Json);
        assert_eq!(deny, Some(Deny::Warnings));
        for bad in [
            ["--scope", "user", "--format", "yaml"],
            ["--scope", "user", "--deny", "notes"],
            ["--scope", "both", "--format", "text"],
        ] {
            let mut args = vec!["unitpack", "lint", "--units", "d"];
            args.extend(bad);
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
    }

    /// Every argument and option of every command says what it is for: `--help`, the
    /// man pages and shell completions show nothing for one without help text.
    #[test]
    fn every_argument_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg.get_help().or(arg.get_long_help());
                if help.is_none_or(|h| h.to_string().trim().is_empty()) {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "unitpack", &mut missing);
        assert!(
            missing.is_empty(),
            "arguments without help text: {missing:?}"
        );
    }

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
