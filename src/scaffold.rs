//! `unitpack new`: a recipe to start from, either a small user service or one made from
//! unit files the author already has (`--from`), or from a Debian package's units
//! (`--from PACKAGE.deb`, `scaffold/package.rs`). Scope and enablement are read from the units
//! themselves, or from what the package does with them; the result is checked by the
//! same loader and lint as any recipe.

mod package;

use crate::error::{Error, InputError, Result};
use crate::lint;
use crate::unit::{self, Scope, Section, UnitName};
use serde_yaml::{Mapping, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use package::is_package;

/// `unitpack new NAME [--from ...]`: the target from `target` or the host, the recipe
/// rendered, checked by the loader, lint and the plan before anything is written, then
/// written (never over a file) and linted again for the author. Exit 1 (`LintFailed`)
/// when written with warnings the docs/ci.md pipeline denies.
pub fn new_recipe(
    name: &str,
    from: &[PathBuf],
    scope: Option<Scope>,
    target: Option<String>,
    output: Option<PathBuf>,
) -> Result<()> {
    let target = match target {
        Some(t) => t,
        None => host_target(&[
            Path::new("/etc/os-release"),
            Path::new("/usr/lib/os-release"),
        ])?,
    };
    let target = target.as_str();
    if crate::profile::find(target).is_none() {
        return Err(Error::Usage(format!(
            "unknown target profile {target:?}; known: {}",
            crate::profile::names().join(", ")
        )));
    }
    let text = render(&NewRecipe {
        package: name,
        from,
        scope,
        target,
    })?;
    let path = output.unwrap_or_else(|| PathBuf::from(format!("{name}.yaml")));
    // Checked before it is written: what `new` writes always loads, and lints without
    // errors for its target (units from a newer systemd than the target's are refused
    // here, not at the first build).
    let parsed = crate::recipe::parse(&path, &text, None)?;
    let errors: Vec<_> = lint::lint_recipe(&parsed)
        .into_iter()
        .filter(|d| d.severity == lint::Severity::Error)
        .collect();
    if !errors.is_empty() {
        eprint!("{}", lint::render_text(&errors));
        return Err(Error::Refused(format!(
            "not writing {}: its units have {} lint error(s) for {target}; give the target they are written for (--target, `unitpack profiles`) or fix the units",
            path.display(),
            errors.len()
        )));
    }
    // What `build` would refuse after lint (the plan: links, collisions, takeovers) is
    // refused here too, before anything is written.
    crate::plan::Plan::new(&parsed)?;
    write_new(&path, &text)?;
    let recipe = crate::recipe::load(&path, None)?;
    let findings = lint::lint_recipe(&recipe);
    eprint!("{}", lint::render_text(&findings));
    let summary = lint::Summary::of(&findings);
    eprintln!(
        "wrote {} (lint: {}); next: edit it, then `unitpack build {}`",
        path.display(),
        summary,
        path.display()
    );
    // Written (a scaffold is meant to be edited), but not called done: the pipeline of
    // docs/ci.md denies warnings, so exit 1 says what it would refuse.
    if summary.warnings > 0 {
        return Err(Error::LintFailed {
            summary: format!(
                "{} has {} warning(s) and the CI pipeline of docs/ci.md (`unitpack lint --deny warnings`) refuses it: fix them, or allow each with its reason (lint.allow, docs/lint.md)",
                path.display(),
                summary.warnings
            ),
        });
    }
    Ok(())
}

/// Where `unitpack`'s own package installs the recipe schema (for editors).
pub const INSTALLED_SCHEMA: &str = "/usr/share/unitpack/recipe.schema.json";

pub struct NewRecipe<'a> {
    /// The Debian package name.
    pub package: &'a str,
    /// Unit files to take in; empty: a small user service named after the package.
    pub from: &'a [PathBuf],
    /// Scope of every unit taken in, overriding what is read from them.
    pub scope: Option<Scope>,
    /// Target profile name.
    pub target: &'a str,
}

/// The recipe's text.
pub fn render(new: &NewRecipe) -> Result<String> {
    crate::recipe::check_package_name(new.package)
        .map_err(|message| InputError::new(Path::new("<command line>"), None, "NAME", message))?;
    let mut units = Vec::new();
    if new.from.is_empty() {
        units.push(starter_unit(new.package));
    }
    let from_package = match new.from {
        [one] if package::is_package(one) => Some(package::read(one)?),
        many if many.iter().any(|p| package::is_package(p)) => {
            return Err(Error::Usage(
                "--from takes one package (a .deb, or a directory with DEBIAN/), alone".into(),
            ))
        }
        _ => None,
    };
    let (files, skipped) = match from_package {
        Some(_) => (Vec::new(), Vec::new()),
        None => unit_files(new.from)?,
    };
    let mut read = Vec::new();
    for path in &files {
        read.push(read_unit(path)?);
    }
    // A package decides scope and enablement itself; its units' text is only read.
    let mut decided = Vec::new();
    if let Some(p) = &from_package {
        for u in &p.units {
            let mut sections = u.sections.clone();
            for (key, target) in &u.added_install {
                add_install(&mut sections, key, target);
            }
            read.push((u.name.clone(), sections));
            decided.push((u.scope, u.enable, u.instances.clone()));
        }
    }
    let scopes = match (new.scope, &from_package) {
        (Some(scope), _) => vec![scope; read.len()],
        (None, Some(_)) => decided.iter().map(|d| d.0).collect(),
        (None, None) => {
            let known_user: Vec<&str> = crate::profile::find(new.target)
                .map(|p| {
                    p.vendor_units
                        .iter()
                        .filter(|v| v.scope == Scope::User)
                        .map(|v| v.unit.as_str())
                        .collect()
                })
                .unwrap_or_default();
            guess_scopes_with(&read, &known_user)
        }
    };
    let enables: Vec<(&str, Vec<String>)> = if from_package.is_some() {
        decided
            .iter()
            .zip(&scopes)
            .map(|((_, enable, instances), scope)| {
                // `--scope` over a package's decision: the same enablement, in the
                // words of the scope given.
                let enable = match (*enable, scope) {
                    ("none", _) => "none",
                    (_, Scope::User) => "global",
                    ("global", Scope::System) => "enable-and-start",
                    (e, Scope::System) => e,
                };
                (enable, instances.clone())
            })
            .collect()
    } else {
        guess_enabled(&read)
            .into_iter()
            .zip(&read)
            .zip(&scopes)
            .map(|((on, (_, sections)), scope)| text_enable(sections, *scope, on))
            .collect()
    };
    // A user unit that needs the user bus makes the package depend on the target's
    // user bus (lint UP207 refuses it otherwise), unless the set is that bus itself.
    let ships_bus = read.iter().any(|(n, _)| n.as_str() == "dbus.socket");
    let mut needs_user_bus = false;
    for (((name, sections), scope), enable) in read.iter().zip(scopes).zip(enables) {
        needs_user_bus |= scope == Scope::User
            && !ships_bus
            && words(
                sections,
                "Unit",
                &["Requires", "Wants", "BindsTo", "After", "Requisite"],
            )
            .iter()
            .any(|w| *w == "dbus.socket" || *w == "dbus.service");
        units.push(unit_value(name, sections, scope, enable));
    }

    let mut package = Mapping::new();
    package.insert("name".into(), new.package.into());
    package.insert("version".into(), "0.1.0".into());
    package.insert("maintainer".into(), maintainer().into());
    let debian = from_package.as_ref();
    package.insert(
        "summary".into(),
        debian
            .and_then(|p| p.summary.clone())
            // lintian refuses a synopsis that starts with the package's name
            // (`PulseAudio sound server` for pulseaudio).
            .filter(|s| {
                let lower = s.to_ascii_lowercase();
                let after = lower.strip_prefix(&new.package.to_ascii_lowercase());
                s.chars().count() <= 80
                    && after
                        .is_none_or(|rest| rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
            })
            .unwrap_or_else(|| format!("systemd units of {}", new.package))
            .into(),
    );
    // Without one the package's extended description is empty, which lintian reports
    // as an error (`extended-description-is-empty`) in the docs/ci.md pipeline.
    let names: Vec<String> = units
        .iter()
        .filter_map(|u| u.get("name").and_then(Value::as_str).map(String::from))
        .collect();
    package.insert(
        "description".into(),
        debian
            .and_then(|p| p.description.clone())
            .unwrap_or_else(|| {
                format!(
                    "The systemd units of {}: {}. Say here what the package does for its users.",
                    new.package,
                    names.join(", ")
                )
            })
            .into(),
    );
    package.insert("license".into(), "MIT".into());
    if needs_user_bus {
        if let Some(profile) = crate::profile::find(new.target) {
            package.insert(
                "depends".into(),
                Value::Sequence(vec![profile.user_bus_package.as_str().into()]),
            );
        }
    }
    let mut recipe = Mapping::new();
    recipe.insert("package".into(), Value::Mapping(package));
    recipe.insert("target".into(), new.target.into());
    recipe.insert("units".into(), Value::Sequence(units));
    let body = serde_yaml::to_string(&Value::Mapping(recipe)).map_err(|e| Error::Internal {
        what: "writing the recipe as YAML".into(),
        message: e.to_string(),
    })?;
    let body = quote_yaml11_traps(&body);
    let mut notes = Comments::default();
    if let Some(p) = debian {
        // Its version is not taken: the recipe builds a package of its own, versioned
        // on its own. Its relations are those of its programs, which the recipe does
        // not ship, and often name versions a board's release lacks.
        notes.line(&format!(
            "From the Debian package {} {}: scope from where it installs each unit,",
            p.name, p.version
        ));
        notes.line("enablement from its postinst and the links it ships.");
        if let Some(depends) = &p.depends {
            notes.line(
                "It depends on (what its programs need; add to depends what the target lacks):",
            );
            let mut line = String::from(" ");
            for relation in depends
                .split(',')
                .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
            {
                if line.len() > 1 && line.len() + relation.len() > 84 {
                    notes.line(&line);
                    line = String::from(" ");
                }
                line.push(' ');
                line.push_str(&relation);
                line.push(',');
            }
            line.pop();
            notes.line(&line);
        }
        for u in &p.units {
            for (key, target) in &u.added_install {
                notes.line(&format!(
                    "{}: [Install] {key}={target} added: the package ships that link.",
                    u.name.as_str()
                ));
            }
        }
        for note in &p.skipped {
            notes.line(&format!("Not taken in: {note}."));
        }
    } else {
        for path in &skipped {
            notes.line(&format!(
                "Not taken in: {} is a symlink (an alias or a mask), not a unit file.",
                path.display()
            ));
        }
    }
    let skipped_note = notes.text;
    Ok(format!(
        "# yaml-language-server: $schema={INSTALLED_SCHEMA}\n\
         # A unitpack recipe: `unitpack lint` checks it, `unitpack build` makes the .deb.\n\
         # The recipe format: `unitpack schema`, and docs/recipe.md.\n{skipped_note}{body}"
    ))
}

/// The comment lines above the recipe: the one way text from the input (a package's
/// name, version and relations, file names of its tree) reaches them. A line break
/// or other control character in that text would end the comment and let the input
/// write YAML of its own into the recipe, so each is written escaped (`\n`).
#[derive(Default)]
struct Comments {
    text: String,
}

impl Comments {
    fn line(&mut self, text: &str) {
        self.text.push_str("# ");
        for c in text.chars() {
            // YAML 1.1 readers also break lines at NEL, LS and PS.
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                self.text.extend(c.escape_default());
            } else {
                self.text.push(c);
            }
        }
        self.text.push('\n');
    }
}

/// `body` with the plain scalars that YAML 1.1 readers (yaml-language-server, PyYAML,
/// most editors) read as something else quoted: serde_yaml writes YAML 1.2, where
/// `LockPersonality: yes` or `Accept: no` is a string, but under 1.1 it is a boolean
/// and the schema check in the editor fails. Sexagesimal `1:30` is 90 under 1.1.
fn quote_yaml11_traps(body: &str) -> String {
    // Sexagesimal is YAML 1.1 only in plain scalars a recipe's typed fields never hold,
    // so the recipe checker does not flag it; a unit's `TimeoutSec=1:30` can.
    let sexagesimal = |v: &str| {
        let mut parts = v.split(':');
        parts
            .next()
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()))
            && v.contains(':')
            && parts.all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut out = String::with_capacity(body.len() + 16);
    for line in body.lines() {
        // `key: value` or `- value`, the value a plain scalar to the end of the line.
        let split = line.find(": ").map(|i| i + 2).or_else(|| {
            line.trim_start()
                .starts_with("- ")
                .then(|| line.find("- ").unwrap() + 2)
        });
        match split {
            Some(i)
                if crate::recipe::structure::yaml11_reads_otherwise(&line[i..])
                    || sexagesimal(&line[i..]) =>
            {
                out.push_str(&line[..i]);
                out.push('"');
                out.push_str(&line[i..]);
                out.push('"');
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The unit files of `--from`: files as named, and the files of a directory named like
/// units (sorted; subdirectories such as `*.wants/` left out). A symlink in a
/// directory is an alias or a mask, not followed and returned apart so the recipe
/// says it was left out.
fn unit_files(from: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in from {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            files.push(path.clone());
            continue;
        };
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(path)
            .map_err(|e| {
                Error::from(InputError::new(
                    path,
                    None,
                    "--from",
                    format!("cannot list the directory: {e}"),
                ))
            })?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
            .filter(|(p, t)| {
                !t.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| UnitName::parse(n).is_ok())
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let before = files.len();
        for (p, t) in entries {
            if t.is_symlink() {
                skipped.push(p);
            } else {
                files.push(p);
            }
        }
        if files.len() == before {
            return Err(InputError::new(path, None, "--from", "holds no unit file").into());
        }
    }
    Ok((files, skipped))
}

/// The target profile of the machine `new` runs on, from the first readable of
/// `os_release` (`/etc/os-release`, then `/usr/lib/os-release`, as os-release(5) says;
/// Debian's `/etc/os-release` is a symlink, which unitpack does not follow):
/// `debian-CODENAME` or `ubuntu-CODENAME` when unitpack has that profile; otherwise an
/// error saying what the file says and to give `--target`.
pub fn host_target(os_release: &[&Path]) -> Result<String> {
    let mut read = Err(String::from("no os-release file"));
    let mut from = Path::new("/etc/os-release");
    for path in os_release {
        from = path;
        read = crate::input::read_text(path, 64 * 1024);
        if read.is_ok() {
            break;
        }
    }
    let no_target = |why: String| {
        Error::from(InputError::new(
            from,
            None,
            "--target",
            format!("{why}; give the target with --target (see `unitpack profiles`)"),
        ))
    };
    let text = read.map_err(|e| no_target(format!("cannot tell the host's system: {e}")))?;
    let field = |key: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .next_back()
            .unwrap_or_default()
    };
    let (id, codename) = (field("ID"), field("VERSION_CODENAME"));
    let name = format!("{id}-{codename}");
    match crate::profile::find(&name) {
        Some(p) if !id.is_empty() && !codename.is_empty() => Ok(p.name.clone()),
        _ => Err(no_target(format!(
            "the host is ID={id:?} VERSION_CODENAME={codename:?}, for which unitpack has no profile"
        ))),
    }
}

/// Write `text` to `path`, refusing to replace anything that is there.
pub fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::from(InputError::new(
                    path,
                    None,
                    "",
                    "already exists; unitpack new never overwrites a file",
                ))
            } else {
                Error::io(format!("creating {}", path.display()), e)
            }
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn maintainer() -> String {
    let name = std::env::var("DEBFULLNAME").unwrap_or_default();
    let email = std::env::var("DEBEMAIL").unwrap_or_default();
    if name.trim().is_empty() || email.trim().is_empty() {
        "Your Name <you@example.org>".into()
    } else {
        format!("{} <{}>", name.trim(), email.trim())
    }
}

/// A user service named after the package, enabled for every user.
fn starter_unit(package: &str) -> Value {
    let stem: String = package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut sections = Mapping::new();
    sections.insert(
        "Unit".into(),
        pairs(&[("Description", &format!("{package} for every user"))]),
    );
    sections.insert(
        "Service".into(),
        pairs(&[("ExecStart", &format!("/usr/bin/{stem}"))]),
    );
    sections.insert("Install".into(), pairs(&[("WantedBy", "default.target")]));
    let mut unit = Mapping::new();
    unit.insert("name".into(), format!("{stem}.service").into());
    unit.insert("scope".into(), "user".into());
    unit.insert("enable".into(), "global".into());
    unit.insert("sections".into(), Value::Mapping(sections));
    Value::Mapping(unit)
}

fn pairs(items: &[(&str, &str)]) -> Value {
    let mut m = Mapping::new();
    for (k, v) in items {
        m.insert((*k).into(), (*v).into());
    }
    Value::Mapping(m)
}

/// A unit file named on the command line: its name and sections.
fn read_unit(path: &Path) -> Result<(UnitName, Vec<Section>)> {
    let bad = |message: String| Error::from(InputError::new(path, None, "", message));
    // Named on the command line, read as any unit file is: no symlink followed, no
    // FIFO waited on, at most `input::MAX_UNIT_FILE` bytes.
    let text = crate::input::read_text(path, crate::input::MAX_UNIT_FILE).map_err(bad)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("the file name is not UTF-8".into()))?;
    let name = UnitName::parse(file_name).map_err(|m| bad(format!("not a unit name: {m}")))?;
    let sections = unit::parse(&text).map_err(|(line, message)| {
        Error::from(InputError::new(
            path,
            Some(crate::error::Location { line, column: 1 }),
            "",
            message,
        ))
    })?;
    Ok((name, sections))
}

/// The enablement that a unit's scope and `enabled` imply from its text alone (a
/// template through its `DefaultInstance=`): the recipe's `enable:` and instances.
fn text_enable(sections: &[Section], scope: Scope, enabled: bool) -> (&'static str, Vec<String>) {
    // `[Install]` with only `Also=` links nothing of the unit's own: enabling it
    // enables those units, and `deb-systemd-invoke` does not start it (it is static).
    let own_links = !words(sections, "Install", &["WantedBy", "RequiredBy", "Alias"]).is_empty();
    let enable = match (enabled, scope) {
        (false, _) => "none",
        (true, Scope::User) => "global",
        (true, Scope::System) if own_links => "enable-and-start",
        (true, Scope::System) => "enable",
    };
    let instances = match (enabled, directive(sections, "Install", "DefaultInstance")) {
        (true, Some(i)) if !i.trim().is_empty() => vec![i.trim().to_string()],
        _ => Vec::new(),
    };
    (enable, instances)
}

/// `key=target` appended to the unit's `[Install]` (made when it has none).
fn add_install(sections: &mut Vec<Section>, key: &str, target: &str) {
    let directive = unit::Directive {
        key: key.to_string(),
        value: target.to_string(),
        location: None,
    };
    match sections.iter_mut().find(|s| s.name == "Install") {
        Some(s) => s.directives.push(directive),
        None => sections.push(Section {
            name: "Install".into(),
            directives: vec![directive],
            location: None,
        }),
    }
}

/// A unit as a structured recipe unit: its sections and directives, with its
/// enablement and the instances of a template.
fn unit_value(
    name: &UnitName,
    sections: &[Section],
    scope: Scope,
    (enable, instances): (&str, Vec<String>),
) -> Value {
    let mut yaml_sections = Mapping::new();
    for section in sections {
        let mut directives = Mapping::new();
        for d in &section.directives {
            let key = Value::from(d.key.as_str());
            match directives.get_mut(&key) {
                None => {
                    directives.insert(key, d.value.as_str().into());
                }
                Some(Value::Sequence(list)) => list.push(d.value.as_str().into()),
                Some(first) => {
                    let earlier = first.clone();
                    *first = Value::Sequence(vec![earlier, d.value.as_str().into()]);
                }
            }
        }
        yaml_sections.insert(section.name.as_str().into(), Value::Mapping(directives));
    }
    let mut unit = Mapping::new();
    unit.insert("name".into(), name.as_str().into());
    unit.insert("scope".into(), scope.as_str().into());
    unit.insert("enable".into(), enable.into());
    if !instances.is_empty() {
        unit.insert(
            "instances".into(),
            Value::Sequence(instances.into_iter().map(Value::from).collect()),
        );
    }
    unit.insert("sections".into(), Value::Mapping(yaml_sections));
    Value::Mapping(unit)
}

/// The value of the last `key=` of `section`, as systemd reads a single-valued one.
fn directive<'a>(sections: &'a [Section], section: &str, key: &str) -> Option<&'a str> {
    sections
        .iter()
        .filter(|s| s.name == section)
        .flat_map(|s| &s.directives)
        .filter(|d| d.key == key)
        .map(|d| d.value.as_str())
        .next_back()
}

/// Every word of every `key=` of `section` (list-valued directives).
fn words<'a>(sections: &'a [Section], section: &'a str, keys: &'a [&str]) -> Vec<&'a str> {
    sections
        .iter()
        .filter(|s| s.name == section)
        .flat_map(|s| &s.directives)
        .filter(|d| keys.contains(&d.key.as_str()))
        .flat_map(|d| d.value.split_whitespace())
        .collect()
}

/// Which units of a `new --from` set to enable, as `dh_installsystemd` and Debian's
/// maintainers decide for the same files (judged by tests/new_debian_agreement.rs):
/// - a unit with no `[Install]` is static: nothing to enable;
/// - a template (`foo@.service`) is enabled only through its `DefaultInstance=`
///   (`systemctl enable foo@.service` links nothing without one);
/// - a socket on a network port whose service is in the set and is enabled on its
///   own (`WantedBy=`) without naming the socket (`Also=`, `Sockets=`, `Requires=`,
///   `Wants=`) is the alternative way to start that service, shipped disabled:
///   enabling both makes two listeners on one port (Debian's `ssh.socket` beside
///   `ssh.service`).
pub fn guess_enabled(units: &[(UnitName, Vec<Section>)]) -> Vec<bool> {
    let stem = |n: &str| n[..n.rfind('.').unwrap_or(n.len())].to_string();
    units
        .iter()
        .map(|(name, sections)| {
            if !unit::installs(sections) {
                return false;
            }
            let n = name.as_str();
            if stem(n).ends_with('@') {
                return directive(sections, "Install", "DefaultInstance")
                    .is_some_and(|v| !v.trim().is_empty());
            }
            if !n.ends_with(".socket") {
                return true;
            }
            let accept = directive(sections, "Socket", "Accept")
                .is_some_and(|v| matches!(v.trim(), "yes" | "true" | "on" | "1"));
            let service = match directive(sections, "Socket", "Service") {
                Some(s) => s.trim().to_string(),
                None if accept => format!("{}@.service", stem(n)),
                None => format!("{}.service", stem(n)),
            };
            let Some((_, service_sections)) = units.iter().find(|(u, _)| u.as_str() == service)
            else {
                return true;
            };
            // A template service is started per connection, by the socket only.
            let own_install = !service.contains("@.")
                && !words(service_sections, "Install", &["WantedBy", "RequiredBy"]).is_empty();
            // On a port the daemon started at boot binds itself; a socket in /run it is
            // handed by systemd (triggerhappy's, enabled beside its service).
            let on_a_port = words(sections, "Socket", &["ListenStream", "ListenDatagram"])
                .iter()
                .any(|w| !w.starts_with('/') && !w.starts_with('@') && !w.starts_with('%'));
            let names_socket = words(service_sections, "Install", &["Also"])
                .into_iter()
                .chain(words(
                    service_sections,
                    "Unit",
                    &["Requires", "Wants", "BindsTo"],
                ))
                .chain(words(service_sections, "Service", &["Sockets"]))
                .any(|w| w == n);
            !(own_install && on_a_port && !names_socket)
        })
        .collect()
}

/// Targets only the user manager has: a unit tied to one runs in a user's session.
const USER_TARGETS: &[&str] = &[
    "default.target",
    "graphical-session.target",
    "graphical-session-pre.target",
    "xdg-desktop-autostart.target",
];

/// Targets and units only the system manager has.
const SYSTEM_ONLY: &[&str] = &[
    "multi-user.target",
    "graphical.target",
    "sysinit.target",
    "local-fs.target",
    "remote-fs.target",
    "network.target",
    "network-online.target",
    "network-pre.target",
    "nss-lookup.target",
    "time-sync.target",
    "getty.target",
    "rescue.target",
    "emergency.target",
    "cryptsetup.target",
    "systemd-journald.socket",
    "systemd-udevd.service",
    "systemd-tmpfiles-setup-dev.service",
    "syslog.socket",
];

/// System targets that user units name too, as ordering or a wish without effect in
/// the user manager (`After=network-online.target` in a sync client): in `[Unit]`
/// they say nothing of the manager; in `[Install]` they still do.
const AMBIGUOUS_DEPS: &[&str] = &[
    "network.target",
    "network-online.target",
    "nss-lookup.target",
    "time-sync.target",
];

/// What a unit's own text says about the manager it is written for: above zero the
/// user manager, below it the system's. Its file's path is no evidence (a flat
/// directory of copies has none), only what systemd reads:
/// - `[Install]` into a target of one manager only (`default.target` is the user
///   manager's; the system's is an alias it enables nothing into), dependencies on
///   such targets or units;
/// - `User=`, `Group=`, `DynamicUser=`: only the system manager switches users;
/// - sockets under `%t/` (the user's runtime directory; system sockets name `/run`),
///   `ConditionUser=!root`, `XDG_RUNTIME_DIR`, a `--user` or `--session` daemon.
fn scope_evidence(sections: &[Section], known_user: &[&str]) -> i32 {
    let mut score = 0;
    for s in sections {
        for d in &s.directives {
            let words = || d.value.split_whitespace();
            match (s.name.as_str(), d.key.as_str()) {
                ("Install", "WantedBy" | "RequiredBy" | "UpheldBy") => {
                    for w in words() {
                        if USER_TARGETS.contains(&w) {
                            score += 3;
                        } else if SYSTEM_ONLY.contains(&w) {
                            score -= 3;
                        } else if known_user.contains(&w) {
                            score += 3;
                        }
                    }
                }
                (
                    "Unit",
                    "PartOf" | "BindsTo" | "After" | "Before" | "Wants" | "Requires" | "Requisite",
                ) => {
                    for w in words() {
                        if USER_TARGETS[1..].contains(&w)
                            || (w == "default.target" && d.key != "After")
                        {
                            score += 2;
                        } else if SYSTEM_ONLY.contains(&w) && !AMBIGUOUS_DEPS.contains(&w) {
                            score -= 2;
                        } else if known_user.contains(&w) {
                            score += 3;
                        }
                    }
                }
                ("Unit", "ConditionUser") if d.value.trim() == "!root" => score += 2,
                ("Service", "User" | "Group" | "DynamicUser") => score -= 3,
                // Only the system manager can bound or grant capabilities, or hide
                // devices and kernel modules.
                (
                    "Service",
                    "CapabilityBoundingSet"
                    | "AmbientCapabilities"
                    | "PrivateDevices"
                    | "ProtectKernelModules"
                    | "DeviceAllow",
                ) => score -= 1,
                // A D-Bus activated daemon with nothing of the system's is the
                // session bus's (dconf, tumbler, evolution's factories, obexd).
                ("Service", "Type") if d.value.trim() == "dbus" => score += 1,
                ("Socket", k) if k.starts_with("Listen") && d.value.starts_with("%t/") => {
                    score += 2
                }
                ("Service", "Environment") if d.value.contains("XDG_RUNTIME_DIR") => score += 1,
                ("Service", k)
                    if k.starts_with("Exec")
                        && words().any(|w| w == "--user" || w == "--session") =>
                {
                    score += 1
                }
                _ => {}
            }
        }
    }
    score
}

/// The scope of each unit of a `new --from` set, from the units' own text: the
/// evidence of units that belong together (one names the other in `Also=`,
/// `Requires=`, `BindsTo=`, `Sockets=`, `Service=`, `Unit=`, or they share a name
/// before the suffix, as `foo.socket` and `foo.service`) is summed, so a socket
/// without a word of its own follows its service; without evidence, the system's.
pub fn guess_scopes(units: &[(UnitName, Vec<Section>)]) -> Vec<Scope> {
    guess_scopes_with(units, &[])
}

/// [`guess_scopes`], where naming one of `known_user` (units the target's own
/// packages ship for every user, such as `pipewire.service`) is evidence of the user
/// manager, as `BindsTo=pipewire.service` in wireplumber's unit.
pub fn guess_scopes_with(units: &[(UnitName, Vec<Section>)], known_user: &[&str]) -> Vec<Scope> {
    let n = units.len();
    let stem = |u: &UnitName| {
        let s = u.as_str();
        s[..s.rfind('.').unwrap_or(s.len())].to_string()
    };
    // Union-find over the set.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let other = units[j].0.as_str();
            let named = units[i].1.iter().any(|s| {
                s.directives.iter().any(|d| {
                    matches!(
                        d.key.as_str(),
                        "Also" | "Requires" | "BindsTo" | "Sockets" | "Service" | "Unit"
                    ) && d.value.split_whitespace().any(|w| w == other)
                })
            });
            if named || stem(&units[i].0) == stem(&units[j].0) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut group_score = vec![0; n];
    for (i, (_, sections)) in units.iter().enumerate() {
        let r = root(&mut parent, i);
        group_score[r] += scope_evidence(sections, known_user);
    }
    (0..n)
        .map(|i| {
            if group_score[root(&mut parent, i)] > 0 {
                Scope::User
            } else {
                Scope::System
            }
        })
        .collect()
}
