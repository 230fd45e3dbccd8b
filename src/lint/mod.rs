//! `unitpack lint`: the mistakes that make units fail silently on the target, found
//! before anything ships.
//!
//! Rules read the model ([`Recipe`], [`Unit`]) and the target [`Profile`], never the
//! YAML. They are grouped by concept:
//! - `directives`: UP1xx, directives, sections and specifiers against the target's
//!   systemd release (data: `data/*.tsv`, turned into `table` by `build.rs`);
//! - `scope`: UP2xx, what breaks in the user or the system scope;
//! - `cross`: UP3xx, units of one package against each other and the target's own;
//! - `follow`: UP213–UP214, what a `follow: seat` unit needs.
//!
//! UP0xx are about the recipe itself. `docs/lint.md` has the table of codes.

mod cross;
mod diagnostic;
mod directives;
mod follow;
mod output;
mod scope;
mod table;
mod values;

use diagnostic::Site;
pub use diagnostic::{Code, Diagnostic, Severity, RECIPE_INVALID};
pub use output::{render_json, render_text, Summary};

use crate::error::{InputError, Location};
use crate::profile::Profile;
use crate::recipe::{spans::SpanIndex, Allow, Package, Recipe};
use crate::unit::{self, Enablement, Scope, Unit, UnitName, UnitSource};
use std::path::{Path, PathBuf};

/// Every lint code, in order.
pub fn codes() -> &'static [Code] {
    diagnostic::ALL
}

pub fn find_code(id: &str) -> Option<Code> {
    diagnostic::find(id)
}

/// Lint a loaded recipe. Diagnostics that a unit's `allow:` list covers are dropped;
/// an allow entry that covers nothing is reported (UP002).
pub fn lint_recipe(recipe: &Recipe) -> Vec<Diagnostic> {
    let subjects = recipe
        .units
        .iter()
        .enumerate()
        .map(|(index, u)| Subject::new(index, u, Some(recipe)))
        .collect();
    let input = Input {
        profile: recipe.profile,
        units: subjects,
        package: Some(&recipe.package),
        followed: &recipe.follow_seat,
    };
    let mut diagnostics = run(&input);

    let mut unused = Vec::new();
    for (i, subject) in input.units.iter().enumerate() {
        let Some(settings) = recipe.unit_lint.get(&subject.unit.recipe_path) else {
            continue;
        };
        for allow in &settings.allow {
            let before = diagnostics.len();
            diagnostics.retain(|d| !(d.subject == Some(i) && d.code == allow.code));
            if diagnostics.len() == before {
                unused.push(allow_unused(
                    recipe,
                    allow,
                    Some(subject.unit.name.to_string()),
                ));
            }
        }
    }
    diagnostics.extend(lint_dropins(recipe));
    // The recipe-wide list covers every unit and drop-in (not the recipe's own codes).
    for allow in &recipe.allow {
        let before = diagnostics.len();
        diagnostics.retain(|d| !(d.subject.is_some() && d.code == allow.code));
        if diagnostics.len() == before {
            unused.push(allow_unused(recipe, allow, None));
        }
    }
    diagnostics.extend(unused);
    sort(&mut diagnostics);
    diagnostics
}

/// UP002 for an `allow:` entry of `unit` (None: the recipe-wide list) that suppressed
/// nothing.
fn allow_unused(recipe: &Recipe, allow: &Allow, unit: Option<String>) -> Diagnostic {
    let whose = match &unit {
        Some(name) => format!("on {name}"),
        None => "of the recipe".to_string(),
    };
    let site = Site {
        file: recipe.path.clone(),
        location: allow.location,
        unit,
        subject: None,
    };
    Diagnostic::new(
        diagnostic::ALLOW_UNUSED,
        site,
        format!(
            "`allow: {}` {whose} suppressed nothing for target {}",
            allow.code, recipe.profile.name
        ),
    )
    .help("remove the entry, or keep it if other targets need it")
}

/// Drop-ins against the target's systemd: the same section, directive and specifier
/// rules as units (UP1xx), read as the unit they change.
fn lint_dropins(recipe: &Recipe) -> Vec<Diagnostic> {
    let units: Vec<Unit> = recipe
        .dropins
        .iter()
        .map(|d| Unit {
            name: d.unit.clone(),
            scope: d.scope,
            enable: Enablement::None,
            sections: d.sections.clone(),
            takes_over: Vec::new(),
            instances: Vec::new(),
            install: unit::InstallRefs::default(),
            source: UnitSource::Recipe,
            text: d.text.clone(),
            recipe_path: d.recipe_path.clone(),
        })
        .collect();
    let input = Input {
        profile: recipe.profile,
        units: units
            .iter()
            .enumerate()
            .map(|(i, unit)| Subject {
                // After the units, so that no unit's `allow:` covers a drop-in.
                index: recipe.units.len() + i,
                unit,
                file: &recipe.path,
                recipe: Some((&recipe.path, &recipe.spans)),
                foreground: None,
            })
            .collect(),
        package: Some(&recipe.package),
        followed: &[],
    };
    let mut out = Vec::new();
    directives::check(&input, &mut out);
    out
}

/// Load and lint recipe files; a recipe that does not load yields its load errors as
/// diagnostics. Other failures (I/O) are returned as errors.
pub fn lint_files(files: &[PathBuf], target: Option<&str>) -> crate::Result<Vec<Diagnostic>> {
    lint_files_loading(files, target).map(|(d, _)| d)
}

/// [`lint_files`], also saying whether some recipe did not load (bad input: the CLI
/// exits 2, not 1), alone or together with the others of the run.
pub fn lint_files_loading(
    files: &[PathBuf],
    target: Option<&str>,
) -> crate::Result<(Vec<Diagnostic>, bool)> {
    let mut out = Vec::new();
    let mut loaded = Vec::new();
    let mut bad_input = false;
    for file in files {
        match crate::recipe::load(file, target) {
            Ok(recipe) => {
                out.extend(lint_recipe(&recipe));
                loaded.push(recipe);
            }
            Err(crate::Error::Input(errors)) => {
                bad_input = true;
                out.extend(from_load_errors(&errors));
            }
            Err(e) => return Err(e),
        }
    }
    let across = crate::recipe::across(&loaded);
    bad_input |= !across.is_empty();
    out.extend(from_load_errors(&across));
    Ok((out, bad_input))
}

/// Load errors of a recipe as diagnostics: under their own code, for model checks
/// that are also lint rules; the others are UP001.
pub fn from_load_errors(errors: &[InputError]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = errors
        .iter()
        .map(|e| {
            let code = e.code.unwrap_or(diagnostic::RECIPE_INVALID);
            let message = e.message.clone();
            let message = if e.field.is_empty() {
                message
            } else {
                format!("{}: {message}", e.field)
            };
            Diagnostic::new(
                code,
                Site {
                    file: e.file.clone(),
                    location: e.location,
                    unit: None,
                    subject: None,
                },
                message,
            )
        })
        .collect();
    sort(&mut out);
    out
}

/// Lint the unit files of a directory (subdirectories and files that are not named
/// like units are skipped; symlinks and special files named like units are reported),
/// as if one package shipped them all in `scope`.
/// Rules about the package's relations do not apply.
pub fn lint_unit_dir(
    dir: &Path,
    scope: Scope,
    profile: &Profile,
) -> crate::Result<Vec<Diagnostic>> {
    // The directory is named on the command line: one that cannot be listed is bad input.
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(dir)
        .map_err(|e| {
            crate::Error::from(crate::error::InputError::new(
                dir,
                None,
                "--units",
                format!("cannot list the directory: {e}"),
            ))
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
        .filter(|(_, t)| !t.is_dir())
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut units = Vec::new();
    let mut diagnostics = Vec::new();
    for (path, file_type) in entries {
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| UnitName::parse(n).ok())
        else {
            continue;
        };
        // Named like a unit but not a regular file: said, never skipped in silence. A
        // symlink is an alias or a mask (not followed: it may lead anywhere); a FIFO,
        // socket or device is no unit file at all (bad input).
        if !file_type.is_file() {
            let (code, message) = if file_type.is_symlink() {
                (
                    diagnostic::NOT_LINTED,
                    format!(
                        "{} is a symlink (an alias or a mask); lint --units does not follow it, lint the unit it names",
                        path.display()
                    ),
                )
            } else {
                (
                    diagnostic::RECIPE_INVALID,
                    crate::input::special(&path, file_type),
                )
            };
            diagnostics.push(Diagnostic::new(
                code,
                Site {
                    file: path,
                    location: None,
                    unit: Some(name.to_string()),
                    subject: None,
                },
                message,
            ));
            continue;
        }
        let parsed = crate::input::read_text(&path, crate::input::MAX_UNIT_FILE)
            .map_err(|m| (None, m))
            .and_then(|text| {
                unit::parse(&text)
                    .map(|sections| (text, sections))
                    .map_err(|(line, m)| (Some(Location { line, column: 1 }), m))
            });
        match parsed {
            Ok((text, sections)) => {
                // A bad [Install] value is reported; the unit is linted without it.
                let (install, errors) = unit::InstallRefs::parse(&name, &sections);
                diagnostics.extend(errors.into_iter().map(|e| {
                    Diagnostic::new(
                        diagnostic::RECIPE_INVALID,
                        Site {
                            file: path.clone(),
                            location: e.location,
                            unit: Some(name.to_string()),
                            subject: None,
                        },
                        format!("[{}] {}: {}", e.section, e.key, e.message),
                    )
                }));
                units.push(Unit {
                    name,
                    scope,
                    enable: Enablement::None,
                    sections,
                    takes_over: Vec::new(),
                    instances: Vec::new(),
                    install,
                    source: UnitSource::File(path),
                    text,
                    recipe_path: String::new(),
                });
            }
            Err((location, message)) => diagnostics.push(Diagnostic::new(
                diagnostic::RECIPE_INVALID,
                Site {
                    file: path,
                    location,
                    unit: Some(name.to_string()),
                    subject: None,
                },
                message,
            )),
        }
    }
    let subjects = units
        .iter()
        .enumerate()
        .map(|(index, u)| Subject::new(index, u, None))
        .collect();
    diagnostics.extend(run(&Input {
        profile,
        units: subjects,
        package: None,
        followed: &[],
    }));
    sort(&mut diagnostics);
    Ok(diagnostics)
}

fn run(input: &Input) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    directives::check(input, &mut out);
    scope::check(input, &mut out);
    cross::check(input, &mut out);
    follow::check(input, &mut out);
    values::check(input, &mut out);
    out
}

fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// What the rules look at.
struct Input<'a> {
    profile: &'a Profile,
    units: Vec<Subject<'a>>,
    /// None for bare unit files: rules about the package's relations are skipped.
    package: Option<&'a Package>,
    /// User units with `follow: seat`.
    followed: &'a [UnitName],
}

impl Input<'_> {
    /// The package's unit of this scope and name (a template matches its instances).
    fn find(&self, scope: Scope, name: &str) -> Option<(usize, &Subject<'_>)> {
        let template = name.split_once('@').map(|(stem, rest)| {
            let suffix = rest.rsplit_once('.').map_or("", |(_, s)| s);
            format!("{stem}@.{suffix}")
        });
        self.units.iter().enumerate().find(|(_, s)| {
            s.unit.scope == scope
                && (s.unit.name.as_str() == name
                    || Some(s.unit.name.as_str()) == template.as_deref())
        })
    }
}

/// One unit and where its diagnostics point.
struct Subject<'a> {
    /// Position among the linted units.
    index: usize,
    unit: &'a Unit,
    /// The file that directive and section locations refer to.
    file: &'a Path,
    /// The recipe and its spans, for unit-level fields; None for bare unit files.
    recipe: Option<(&'a Path, &'a SpanIndex)>,
    /// The recipe's `foreground:` for this unit.
    foreground: Option<bool>,
}

impl<'a> Subject<'a> {
    /// The unit at `index`, of `recipe` or (None) a bare unit file.
    fn new(index: usize, unit: &'a Unit, recipe: Option<&'a Recipe>) -> Subject<'a> {
        let file = match (&unit.source, recipe) {
            (UnitSource::File(p), _) => p,
            (UnitSource::Recipe, Some(r)) => &r.path,
            (UnitSource::Recipe, None) => unreachable!("bare units come from files"),
        };
        Subject {
            index,
            unit,
            file,
            recipe: recipe.map(|r| (r.path.as_path(), &r.spans)),
            foreground: recipe
                .and_then(|r| r.unit_lint.get(&unit.recipe_path))
                .and_then(|l| l.foreground),
        }
    }

    fn site(&self, location: Option<Location>) -> Site {
        Site {
            file: self.file.to_path_buf(),
            location,
            unit: Some(self.unit.name.to_string()),
            subject: Some(self.index),
        }
    }

    fn at_directive(&self, d: &unit::Directive) -> Site {
        self.site(d.location)
    }

    fn at_section(&self, s: &unit::Section) -> Site {
        self.site(s.location)
    }

    /// A field of the unit in the recipe (`enable`, `takes_over`), or the unit itself.
    fn at_field(&self, field: &str) -> Site {
        match self.recipe {
            Some((path, spans)) => {
                let full = if field.is_empty() {
                    self.unit.recipe_path.clone()
                } else {
                    format!("{}.{field}", self.unit.recipe_path)
                };
                Site {
                    file: path.to_path_buf(),
                    location: spans.locate(&full),
                    unit: Some(self.unit.name.to_string()),
                    subject: Some(self.index),
                }
            }
            None => self.site(self.unit.sections.first().and_then(|s| s.location)),
        }
    }

    /// Directives `key` of section `section`, in order.
    fn directives<'b>(
        &'b self,
        section: &'b str,
        key: &'b str,
    ) -> impl Iterator<Item = &'b unit::Directive> + 'b {
        self.unit
            .sections
            .iter()
            .filter(move |s| s.name == section)
            .flat_map(move |s| s.directives.iter().filter(move |d| d.key == key))
    }

    /// The effective main program: the last non-empty `ExecStart=` (an empty one resets
    /// the list) and its program's file name.
    fn main_program(&self) -> Option<(&unit::Directive, &str)> {
        let mut found = None;
        for d in self.directives("Service", "ExecStart") {
            found = program(&d.value).map(|p| (d, p));
        }
        found.map(|(d, p)| (d, p.rsplit('/').next().unwrap_or(p)))
    }
}

/// The program of an `Exec*=` command line: without the `-@:+!|` prefixes and quotes.
fn program(value: &str) -> Option<&str> {
    let v = value
        .trim_start()
        .trim_start_matches(['-', '@', ':', '+', '!', '|']);
    let first = v.split_whitespace().next()?;
    let first = first.trim_matches(['"', '\'']);
    (!first.is_empty()).then_some(first)
}

/// `NAME=VALUE` assignments of an `Environment=` value (quotes group, as systemd does).
fn env_assignments(value: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in value.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
        .into_iter()
        .filter_map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Indices of `%X` specifiers in `value` (`%%` skipped), with their letter. A `%`
/// followed by anything but a letter is not a specifier (`CPUQuota=20%`).
fn specifiers(value: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.peek() {
            Some((_, '%')) => {
                chars.next();
            }
            Some(&(_, l)) if l.is_ascii_alphabetic() => {
                out.push((i, l));
                chars.next();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs() {
        assert_eq!(
            program("/usr/bin/pulseaudio --daemonize=no"),
            Some("/usr/bin/pulseaudio")
        );
        assert_eq!(program("-@/bin/foo foo"), Some("/bin/foo"));
        assert_eq!(program("\"/opt/a b\" x"), Some("/opt/a"));
        assert_eq!(program("  "), None);
    }

    #[test]
    fn environment_words() {
        assert_eq!(
            env_assignments("\"A=1 2\" B=x XDG_RUNTIME_DIR=/run/user/%U junk"),
            [
                ("A".into(), "1 2".into()),
                ("B".into(), "x".into()),
                ("XDG_RUNTIME_DIR".into(), "/run/user/%U".into())
            ]
        );
    }

    #[test]
    fn specifier_scan() {
        assert_eq!(specifiers("%h/x %%U 20% %"), [(0, 'h')]);
        assert_eq!(specifiers("a%Ub%t"), [(1, 'U'), (4, 't')]);
    }
}
