//! Checks of `units:`, `dropins:`, `other_units:` and `scripts:`.

use super::{Validator, MAX_FILE_NAME};
use crate::error::{InputError, Location};
use crate::input as source;
use crate::recipe::schema::{RawAllow, RawDropIn, RawOtherUnit, RawScripts, RawUnit};
use crate::recipe::spans::{child, item};
use crate::recipe::vocabulary::{ENABLE, ENABLE_OTHER, FOLLOW, SCOPE};
use crate::recipe::{Allow, DropIn, OtherUnit, Snippet, UnitLint};
use crate::unit::{
    self, Directive, Enablement, InstallRefs, Scope, Section, Unit, UnitName, UnitSource,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

impl Validator<'_> {
    /// `units:`, with the follower unit of each `follow: seat` user unit; the lint
    /// settings of each, by its recipe path; the names of the followed units.
    pub(in crate::recipe) fn units(
        &mut self,
        dir: &Path,
        raw: &[RawUnit],
    ) -> (Vec<Unit>, BTreeMap<String, UnitLint>, Vec<UnitName>) {
        let mut units = Vec::new();
        let mut unit_lint = BTreeMap::new();
        let mut follow_seat = Vec::new();
        for (i, raw_unit) in raw.iter().enumerate() {
            let path = item("units", i);
            let lint = self.unit_lint(&path, raw_unit);
            if let Some(u) = self.unit(dir, &path, raw_unit) {
                if raw_unit.follow.is_some() {
                    follow_seat.push(u.name.clone());
                }
                units.push(u);
                unit_lint.insert(path, lint);
            }
        }
        let mut followers = Vec::new();
        for u in units
            .iter()
            .filter(|u| follow_seat.contains(&u.name) && u.scope == Scope::User)
        {
            match crate::follow::follower_unit(u) {
                Ok(f) => followers.push(f),
                Err(m) => self.error(&child(&u.recipe_path, "follow"), m),
            }
        }
        units.extend(followers);
        self.unique_units(&units);
        (units, unit_lint, follow_seat)
    }

    /// The `scope` field of the item at `path`.
    pub(in crate::recipe) fn scope(&mut self, path: &str, raw: &str) -> Option<Scope> {
        let scope = SCOPE.parse(raw);
        if scope.is_none() {
            self.error(
                &child(path, "scope"),
                format!("{raw:?} is not a scope; use {}", SCOPE.names().join(" or ")),
            );
        }
        scope
    }

    pub(in crate::recipe) fn unit(
        &mut self,
        dir: &Path,
        path: &str,
        raw: &RawUnit,
    ) -> Option<Unit> {
        let before = self.errors.len();
        let scope = self.scope(path, &raw.scope);
        let (sections, source, text) = match (&raw.file, &raw.sections) {
            (Some(_), Some(_)) => {
                self.error(path, "give either `file` or `sections`, not both");
                return None;
            }
            (None, None) => {
                self.error(
                    path,
                    "a unit needs `sections` (written here) or `file` (a unit file)",
                );
                return None;
            }
            (Some(file), None) => self.unit_file(dir, &child(path, "file"), file)?,
            (None, Some(raw_sections)) => {
                let sections = self.sections(&child(path, "sections"), raw_sections);
                (sections, UnitSource::Recipe, String::new())
            }
        };
        let name_field = child(path, "name");
        let name_text = match (&raw.name, &source) {
            (Some(n), _) => n.clone(),
            (None, UnitSource::File(p)) => p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            (None, UnitSource::Recipe) => {
                self.error(
                    path,
                    "a unit written in the recipe needs a `name` (e.g. my_daemon.service)",
                );
                return None;
            }
        };
        let name = match UnitName::parse(&name_text) {
            Ok(n) => Some(n),
            Err(m) => {
                let field = if raw.name.is_some() {
                    name_field
                } else {
                    child(path, "file")
                };
                self.error(&field, m);
                None
            }
        };
        let mut takes_over = Vec::new();
        for (i, t) in raw.takes_over.iter().enumerate() {
            match UnitName::parse(t) {
                Ok(n) if Some(&n) == name.as_ref() => self.error(
                    &item(&child(path, "takes_over"), i),
                    "a unit cannot take over itself",
                ),
                Ok(n) => match unit::essential(&n) {
                    Some(why) => self.error(
                        &item(&child(path, "takes_over"), i),
                        format!("{why}; unitpack does not take it over"),
                    ),
                    None => takes_over.push(n),
                },
                Err(m) => self.error(&item(&child(path, "takes_over"), i), m),
            }
        }
        let (name, scope) = (name?, scope?);
        let instances = self.instances(path, &name, &raw.instances, &sections);
        let install = match InstallRefs::parse(&name, &sections) {
            (refs, errors) if errors.is_empty() => refs,
            (_, errors) => {
                for e in errors {
                    match &source {
                        UnitSource::File(file) => self.errors.push(InputError::new(
                            file,
                            e.location,
                            format!("[{}] {}", e.section, e.key),
                            e.message,
                        )),
                        UnitSource::Recipe => {
                            let field = child(&child(&child(path, "sections"), &e.section), &e.key);
                            self.errors
                                .push(InputError::new(self.file, e.location, field, e.message));
                        }
                    }
                }
                return None;
            }
        };
        let has_install = unit::installs(&sections);
        let follows = self.follow(path, raw, &name, scope);
        let enable = match raw.enable.as_deref() {
            None if !has_install || follows => Enablement::None,
            // A template is enabled through its instances; without any there is nothing
            // to enable.
            None if name.is_template() && instances.is_empty() => Enablement::None,
            None => match scope {
                Scope::User => Enablement::Global,
                Scope::System => Enablement::EnableAndStart,
            },
            Some(s) => {
                let parsed = ENABLE.parse(s);
                let field = child(path, "enable");
                match parsed {
                    Some(e) if e.allowed_in(scope) => e,
                    _ => {
                        let allowed = match scope {
                            Scope::User => "global or none",
                            Scope::System => "enable, enable-and-start or none",
                        };
                        self.error(
                            &field,
                            format!(
                                "{s:?} is not an enablement for a {} unit; use {allowed}",
                                scope.as_str()
                            ),
                        );
                        return None;
                    }
                }
            }
        };
        if follows && enable.enables() {
            self.error(
                &child(path, "enable"),
                "a unit with `follow: seat` is started by its follower, for one user at a time; use enable: none (or leave enable out)",
            );
        }
        if enable.enables()
            && name.is_template()
            && instances.is_empty()
            && install.with_specifiers.is_empty()
        {
            self.error_code(
                &child(path, "enable"),
                crate::codes::ENABLE_TEMPLATE,
                format!("{name} is a template; it cannot be enabled without an instance (list them in `instances:`, set DefaultInstance= in [Install], or set enable: none)"),
            );
        }
        if enable.enables() && !install.with_specifiers.is_empty() {
            self.error_code(
                &child(path, "enable"),
                crate::codes::ENABLE_TEMPLATE,
                format!(
                    "{name}'s [Install] names {} with specifiers, which systemd resolves for each instance it enables; unitpack does not enable such a unit itself: set enable: none (an admin enables instances with `systemctl enable {}INSTANCE.{}`)",
                    install.with_specifiers.join(" "),
                    name.stem().split('@').next().unwrap_or_default().to_string() + "@",
                    name.kind()
                ),
            );
        }
        if enable.enables() && !has_install {
            self.error_code(
                &child(path, "enable"),
                crate::codes::ENABLE_WITHOUT_INSTALL,
                format!(
                    "{name} has no [Install] section with WantedBy=, so `{}` would do nothing",
                    enable.as_str()
                ),
            );
        }
        if self.errors.len() > before {
            return None;
        }
        let text = match source {
            UnitSource::Recipe => unit::render(
                &sections,
                "Generated by unitpack from a recipe; change the recipe, not this file.",
            ),
            UnitSource::File(_) => text,
        };
        Some(Unit {
            name,
            scope,
            enable,
            sections,
            takes_over,
            instances,
            install,
            source,
            text,
            recipe_path: path.to_string(),
        })
    }

    /// A template's instances: the recipe's `instances:`, or else `DefaultInstance=`.
    /// Each must make a valid unit name with the template's.
    pub(in crate::recipe) fn instances(
        &mut self,
        path: &str,
        template: &UnitName,
        raw: &[String],
        sections: &[Section],
    ) -> Vec<UnitName> {
        let field = child(path, "instances");
        let default: Vec<String> = sections
            .iter()
            .filter(|s| s.name == "Install")
            .flat_map(|s| s.values("DefaultInstance"))
            .map(str::to_string)
            .collect();
        if !template.is_template() {
            if !raw.is_empty() {
                self.error(
                    &field,
                    format!(
                        "{template} is not a template (name@.{}), so it has no instances",
                        template.kind()
                    ),
                );
            }
            return Vec::new();
        }
        let (given, source_field) = if raw.is_empty() {
            (
                default.last().cloned().into_iter().collect(),
                path.to_string(),
            )
        } else {
            (raw.to_vec(), field.clone())
        };
        let mut instances = Vec::new();
        for (i, instance) in given.iter().enumerate() {
            let at = if raw.is_empty() {
                source_field.clone()
            } else {
                item(&field, i)
            };
            let full = format!("{}{instance}.{}", template.stem(), template.kind());
            match UnitName::parse(&full) {
                Ok(_) if instance.is_empty() => {
                    self.error(&at, "an instance name must not be empty")
                }
                Ok(n) if instances.contains(&n) => {
                    self.error(&at, format!("instance {instance:?} is listed twice"))
                }
                Ok(n) => instances.push(n),
                Err(m) => self.error(&at, format!("instance {instance:?}: {m}")),
            }
        }
        if !instances.is_empty()
            && sections
                .iter()
                .any(|s| s.name == "Install" && s.values("Alias").next().is_some())
        {
            self.error(
                &source_field,
                format!("{template} has Alias= in [Install]; unitpack does not enable aliased templates by instance"),
            );
        }
        instances
    }

    pub(in crate::recipe) fn dropin(
        &mut self,
        path: &str,
        raw: &RawDropIn,
        default_name: &str,
    ) -> Option<DropIn> {
        let before = self.errors.len();
        let unit = UnitName::parse(&raw.unit)
            .map_err(|m| self.error(&child(path, "unit"), m))
            .ok();
        // The drop-in directory is a derived name: `UNIT.d` must fit in a file name too.
        if let Some(u) = unit
            .as_ref()
            .filter(|u| u.as_str().len() + ".d".len() > 255)
        {
            self.error(
                &child(path, "unit"),
                format!(
                    "the drop-in directory {u}.d would be {} characters, longer than a file name may be",
                    u.as_str().len() + 2
                ),
            );
        }
        let scope = self.scope(path, &raw.scope);
        let name = raw.name.clone().unwrap_or_else(|| default_name.to_string());
        self.check(&child(path, "name"), check_dropin_name(&name));
        let sections = self.sections(&child(path, "sections"), &raw.sections);
        if sections.is_empty() {
            self.error(
                &child(path, "sections"),
                "a drop-in needs at least one section",
            );
        }
        if sections.iter().any(|s| s.name == "Install") {
            self.error(
                &child(&child(path, "sections"), "Install"),
                "systemctl enable ignores [Install] in a drop-in; enable the unit instead",
            );
        }
        // As takes_over refuses to disable them, a drop-in does not change how a unit
        // the system cannot live without runs (getty@'s ExecStart= with an autologin
        // as root, dbus as another user).
        if let Some(why) = unit.as_ref().and_then(unit::essential) {
            for section in &sections {
                for d in section
                    .directives
                    .iter()
                    .filter(|d| changes_how_it_runs(&d.key, &d.value))
                {
                    self.error(
                        &child(&child(&child(path, "sections"), &section.name), &d.key),
                        format!("{}= in a drop-in replaces how it runs: {why}", d.key),
                    );
                }
            }
        }
        if raw.restart && scope == Some(Scope::User) {
            self.error(
                &child(path, "restart"),
                "restart: true is for system units; running user managers are not reloaded (a user gets the change at the next login)",
            );
        }
        if self.errors.len() > before {
            return None;
        }
        let text = unit::render(
            &sections,
            "Generated by unitpack from a recipe; change the recipe, not this file.",
        );
        Some(DropIn {
            unit: unit?,
            scope: scope?,
            name,
            sections,
            text,
            restart: raw.restart,
            recipe_path: path.to_string(),
        })
    }

    pub(in crate::recipe) fn other_unit(
        &mut self,
        path: &str,
        raw: &RawOtherUnit,
        own: &[Unit],
    ) -> Option<OtherUnit> {
        let before = self.errors.len();
        let unit = UnitName::parse(&raw.unit)
            .map_err(|m| self.error(&child(path, "unit"), m))
            .ok();
        let scope = self.scope(path, &raw.scope);
        let enable = ENABLE_OTHER.parse(&raw.enable);
        if let (Some(unit), Some(scope)) = (&unit, scope) {
            match enable {
                Some(e) if e.allowed_in(scope) => {}
                _ => self.error(
                    &child(path, "enable"),
                    format!(
                        "{:?} does not enable a {} unit; use {}",
                        raw.enable,
                        scope.as_str(),
                        if scope == Scope::User {
                            "global"
                        } else {
                            "enable or enable-and-start"
                        }
                    ),
                ),
            }
            if unit.is_template() {
                self.error(
                    &child(path, "unit"),
                    format!(
                        "{unit} is a template; name an instance (e.g. {}name.{})",
                        unit.stem(),
                        unit.kind()
                    ),
                );
            }
            if let Some(why) = unit::unsafe_to_enable(unit) {
                self.error(&child(path, "unit"), why);
            }
            if own.iter().any(|u| u.scope == scope && &u.name == unit) {
                self.error(
                    &child(path, "unit"),
                    format!("{unit} is a unit of this recipe; set its `enable:` instead"),
                );
            }
        }
        if self.errors.len() > before {
            return None;
        }
        Some(OtherUnit {
            unit: unit?,
            scope: scope?,
            enable: enable?,
        })
    }

    pub(in crate::recipe) fn snippets(&mut self, dir: &Path, raw: &RawScripts) -> Vec<Snippet> {
        let mut out = Vec::new();
        for (script, file) in [
            ("postinst", &raw.postinst),
            ("prerm", &raw.prerm),
            ("postrm", &raw.postrm),
        ] {
            let Some(file) = file else { continue };
            let field = format!("scripts.{script}");
            let Some(source) = self.source_path(dir, &field, file, Some(source::Kind::File)) else {
                continue;
            };
            // Bounded: the snippet travels as one `sh -c` argument (Linux takes 128 KiB).
            match source::read_text(&source, source::MAX_SNIPPET) {
                Ok(text) if text.contains('\0') => {
                    self.error(&field, "the snippet contains a NUL byte")
                }
                Ok(text) if text.trim().is_empty() => {
                    self.error(&field, format!("{} is empty", source.display()))
                }
                Ok(text) => out.push(Snippet {
                    script,
                    source,
                    text,
                    field,
                }),
                Err(m) => self.error(&field, m),
            }
        }
        out
    }

    /// `follow: seat` on a user unit of a plain name: true when it is set and valid.
    pub(in crate::recipe) fn follow(
        &mut self,
        path: &str,
        raw: &RawUnit,
        name: &UnitName,
        scope: Scope,
    ) -> bool {
        let Some(value) = raw.follow.as_deref() else {
            return false;
        };
        let field = child(path, "follow");
        let before = self.errors.len();
        if FOLLOW.parse(value).is_none() {
            self.error(
                &field,
                format!(
                    "{value:?} is not a follow mode; use {}",
                    FOLLOW.names().join(" or ")
                ),
            );
        } else if scope != Scope::User {
            self.error(&field, "`follow: seat` moves a user unit between users' managers; this unit is a system unit (scope: user)");
        } else if name.as_str().contains('@') {
            self.error(
                &field,
                format!(
                    "{name} is a template or an instance; `follow: seat` needs a plain unit name"
                ),
            );
        }
        self.errors.len() == before
    }

    pub(in crate::recipe) fn unit_lint(&mut self, path: &str, raw: &RawUnit) -> UnitLint {
        UnitLint {
            allow: self.allows(&child(path, "allow"), &raw.allow),
            foreground: raw.foreground,
        }
    }

    /// An `allow:` list: known codes, each with a reason.
    pub(in crate::recipe) fn allows(&mut self, list: &str, raw: &[RawAllow]) -> Vec<Allow> {
        let mut allow = Vec::new();
        for (i, RawAllow { code, reason }) in raw.iter().enumerate() {
            let field = item(list, i);
            if crate::codes::find(code).is_none() {
                self.error(
                    &child(&field, "code"),
                    format!(
                        "{code:?} is not a lint code (see `unitpack lint --help` and docs/lint.md)"
                    ),
                );
            } else if reason.trim().is_empty() {
                self.error(
                    &child(&field, "reason"),
                    "say why this unit may trigger the code",
                );
            } else {
                allow.push(Allow {
                    code: code.clone(),
                    reason: reason.clone(),
                    location: self.spans.locate(&child(&field, "code")),
                });
            }
        }
        allow
    }

    pub(in crate::recipe) fn unit_file(
        &mut self,
        dir: &Path,
        field: &str,
        file: &str,
    ) -> Option<(Vec<Section>, UnitSource, String)> {
        let source = self.source_path(dir, field, file, Some(source::Kind::File))?;
        let text = match source::read_text(&source, source::MAX_UNIT_FILE) {
            Ok(t) => t,
            Err(m) => {
                self.error(field, format!("unit file: {m}"));
                return None;
            }
        };
        match unit::parse(&text) {
            Ok(sections) => Some((sections, UnitSource::File(source), text)),
            Err((line, m)) => {
                self.errors.push(InputError::new(
                    &source,
                    Some(Location { line, column: 1 }),
                    "",
                    m,
                ));
                None
            }
        }
    }

    pub(in crate::recipe) fn sections(
        &mut self,
        path: &str,
        raw: &indexmap::IndexMap<String, indexmap::IndexMap<String, serde_yaml::Value>>,
    ) -> Vec<Section> {
        let mut sections = Vec::new();
        for (name, directives) in raw {
            let spath = child(path, name);
            if !unit::valid_section_name(name) {
                self.error(&spath, format!("{name:?} is not a unit file section name"));
                continue;
            }
            let mut out = Vec::new();
            for (key, value) in directives {
                let dpath = child(&spath, key);
                if !unit::valid_directive_key(key) {
                    self.error(&dpath, format!("{key:?} is not a directive name"));
                    continue;
                }
                let values: Vec<(String, serde_yaml::Value)> = match value {
                    serde_yaml::Value::Sequence(items) => items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (item(&dpath, i), v.clone()))
                        .collect(),
                    other => vec![(dpath.clone(), other.clone())],
                };
                for (vpath, v) in values {
                    let text = match &v {
                        serde_yaml::Value::String(s) => s.clone(),
                        // Copied, not re-printed: serde_yaml turns `0o600` into 384 and
                        // `1e3` into 1000.0, which systemd reads otherwise or not at all.
                        serde_yaml::Value::Number(n)
                            if n.as_f64().is_some_and(|f| !f.is_finite()) =>
                        {
                            self.error(&vpath, "YAML reads this as an infinite or not-a-number float, which no other recipe tool (JSON, the schema) can hold; quote it if the text is meant");
                            continue;
                        }
                        serde_yaml::Value::Number(_) | serde_yaml::Value::Bool(_) => {
                            match self.spans.plain_text(&vpath) {
                                Some(source) => source.to_string(),
                                None => {
                                    self.error(&vpath, "this number or boolean cannot be copied as written; quote it (\"0600\") so the unit gets exactly that text");
                                    continue;
                                }
                            }
                        }
                        _ => {
                            self.error(&vpath, "a directive value must be a string, number, boolean or a list of them");
                            continue;
                        }
                    };
                    if let Err(m) = unit::check_value(&text) {
                        self.error(&vpath, m);
                        continue;
                    }
                    // The rendered `Key=value` line, as systemd 229 reads it.
                    if key.len() + 1 + text.len() > unit::LINE_MAX_229 {
                        self.error(&vpath, format!("{key}= and its value make a line of {} bytes; systemd 229 reads at most {} bytes a line and reads the rest as a line of its own", key.len() + 1 + text.len(), unit::LINE_MAX_229));
                        continue;
                    }
                    out.push(Directive {
                        key: key.clone(),
                        value: text,
                        location: self.spans.locate(&vpath),
                    });
                }
            }
            sections.push(Section {
                name: name.clone(),
                directives: out,
                location: self.spans.exact(&spath),
            });
        }
        sections
    }

    /// A path relative to the recipe directory that stays inside it (see
    /// `source::resolve`), of the kind wanted if one is given.
    pub(in crate::recipe) fn source_path(
        &mut self,
        dir: &Path,
        field: &str,
        rel: &str,
        want: Option<source::Kind>,
    ) -> Option<PathBuf> {
        match source::resolve(dir, rel) {
            Ok((full, kind)) if want.is_none_or(|w| w == kind) => Some(full),
            Ok((full, _)) => {
                self.error(
                    field,
                    format!("{} is a directory, not a file", full.display()),
                );
                None
            }
            Err(m) => {
                self.error(field, m);
                None
            }
        }
    }
}

/// Directives that change what a unit runs, as whom, or on which terminal. Not its
/// sandboxing, and its environment only where that loads other code.
fn changes_how_it_runs(key: &str, value: &str) -> bool {
    if key == "Environment" {
        return loads_other_code(value);
    }
    key.starts_with("Exec")
        || matches!(
            key,
            "User"
                | "Group"
                | "DynamicUser"
                | "SupplementaryGroups"
                | "PAMName"
                | "StandardInput"
                | "TTYPath"
                | "Type"
                // A missing EnvironmentFile= stops the unit from starting.
                | "EnvironmentFile"
                | "RootDirectory"
                | "RootImage"
                | "AmbientCapabilities"
                | "CapabilityBoundingSet"
        )
}

/// An `Environment=` value that sets a variable making the dynamic loader or libc
/// load other code (`LD_PRELOAD`, `LD_LIBRARY_PATH`, `GCONV_PATH`, ...). Other
/// variables stay allowed on essential units: one the daemon does not read changes
/// nothing (the e2e journald drop-in sets one to see the restart).
fn loads_other_code(value: &str) -> bool {
    value.split_whitespace().any(|assignment| {
        let name = assignment.trim_matches('"').split('=').next().unwrap_or("");
        name.starts_with("LD_") || matches!(name, "GCONV_PATH" | "LOCPATH" | "HOSTALIASES")
    })
}

/// A drop-in's file name: `NAME.conf` of the unit-name alphabet.
fn check_dropin_name(name: &str) -> std::result::Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-'));
    match name.strip_suffix(".conf") {
        Some(stem) if !stem.is_empty() && name.len() <= MAX_FILE_NAME && ok_chars && !name.starts_with('.') => Ok(()),
        _ => Err(format!(
            "{name:?} must be a file name ending in .conf, of letters, digits and \":_.-\" (systemd reads only *.conf in UNIT.d/)"
        )),
    }
}
