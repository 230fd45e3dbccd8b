//! The recipe model: a validated package description, its target profile, units and
//! assets. `load` is the only way in; everything after it trusts the model.

mod debian;
pub mod layout;
mod schema;
pub mod source;
pub mod spans;

pub use debian::{check_package_name, forbidden_char};
pub use schema::json_schema;

use crate::error::{Error, InputError, Location, Result};
use crate::profile::{self, Compression, Profile};
use crate::unit::{
    self, Directive, Enablement, InstallRefs, Scope, Section, Unit, UnitName, UnitSource,
};
use schema::{
    RawAllow, RawAsset, RawDropIn, RawOtherUnit, RawPackage, RawRecipe, RawScripts, RawUnit,
    RawYocto,
};
use spans::{child, item, SpanIndex};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Recipe {
    /// The recipe file, as given.
    pub path: PathBuf,
    pub package: Package,
    pub profile: &'static Profile,
    pub strict: bool,
    pub compression: Compression,
    pub helper: HelperRelation,
    pub units: Vec<Unit>,
    /// User units with `follow: seat`; each has its follower among `units`.
    pub follow_seat: Vec<UnitName>,
    pub assets: Vec<Asset>,
    pub dropins: Vec<DropIn>,
    /// Units of other packages that this package enables.
    pub other_units: Vec<OtherUnit>,
    pub yocto: YoctoSettings,
    /// Lint settings of the units, by unit recipe path (`units[0]`).
    pub unit_lint: BTreeMap<String, UnitLint>,
    /// The recipe-wide `allow:` list (every unit and drop-in).
    pub allow: Vec<Allow>,
    /// The author's maintainer-script snippets.
    pub snippets: Vec<Snippet>,
    pub spans: SpanIndex,
}

/// How a package relates to the helper package `unitpack-check`, which its postinst
/// runs when it is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperRelation {
    Depends,
    Recommends,
    None,
}

impl HelperRelation {
    pub const NAMES: &'static [&'static str] = &["depends", "recommends", "none"];

    fn parse(s: &str) -> Option<HelperRelation> {
        match s {
            "depends" => Some(HelperRelation::Depends),
            "recommends" => Some(HelperRelation::Recommends),
            "none" => Some(HelperRelation::None),
            _ => None,
        }
    }
}

/// A unit's `allow:` list and `foreground:` flag.
#[derive(Debug, Clone, Default)]
pub struct UnitLint {
    pub allow: Vec<Allow>,
    pub foreground: Option<bool>,
}

/// A lint code that a unit may trigger, and why.
#[derive(Debug, Clone)]
pub struct Allow {
    pub code: String,
    pub reason: String,
    pub location: Option<Location>,
}

/// The recipe's `yocto:` block.
#[derive(Debug, Clone, Default)]
pub struct YoctoSettings {
    /// Debian package name → OpenEmbedded package name, or None to leave it out; in
    /// the order written.
    pub packages: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: Version,
    pub maintainer: String,
    pub summary: String,
    /// Extended description, as paragraphs of text (no Debian formatting yet).
    pub description: String,
    pub license: String,
    /// Copyright notice for debian/copyright; None: the year of the build and the
    /// maintainer.
    pub copyright: Option<String>,
    pub homepage: Option<String>,
    pub section: String,
    pub priority: String,
    pub architecture: String,
    pub relations: Relations,
}

#[derive(Debug, Clone, Default)]
pub struct Relations {
    pub depends: Vec<String>,
    pub recommends: Vec<String>,
    pub suggests: Vec<String>,
    pub conflicts: Vec<String>,
    pub breaks: Vec<String>,
    pub replaces: Vec<String>,
    pub provides: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub epoch: Option<u32>,
    pub upstream: String,
    pub revision: Option<String>,
}

impl Version {
    /// `[epoch:]upstream[-revision]`, as in the control file.
    pub fn full(&self) -> String {
        let mut s = String::new();
        if let Some(e) = self.epoch {
            s.push_str(&format!("{e}:"));
        }
        s.push_str(&self.upstream);
        if let Some(r) = &self.revision {
            s.push('-');
            s.push_str(r);
        }
        s
    }

    /// The version in file names: without the epoch (dpkg-deb's convention).
    pub fn for_filename(&self) -> String {
        match &self.revision {
            Some(r) => format!("{}-{}", self.upstream, r),
            None => self.upstream.clone(),
        }
    }
}

/// A drop-in: `UNIT.d/NAME` in the scope's vendor unit directory, changing a unit
/// that this package or another ships.
#[derive(Debug, Clone)]
pub struct DropIn {
    pub unit: UnitName,
    pub scope: Scope,
    /// File name, ending in `.conf`.
    pub name: String,
    pub sections: Vec<Section>,
    /// The file as installed.
    pub text: String,
    /// try-restart the unit when the drop-in comes or goes (system scope).
    pub restart: bool,
    /// Dotted recipe path (`dropins[0]`), to locate diagnostics.
    pub recipe_path: String,
}

/// A unit another package ships, enabled (and maybe started) by this package.
#[derive(Debug, Clone)]
pub struct OtherUnit {
    pub unit: UnitName,
    pub scope: Scope,
    pub enable: Enablement,
}

/// The author's code for one maintainer script, from a file beside the recipe.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// `postinst`, `prerm` or `postrm`.
    pub script: &'static str,
    pub source: PathBuf,
    pub text: String,
    /// The recipe field (`scripts.postinst`).
    pub field: String,
}

/// One file to install from the recipe's directory.
#[derive(Debug, Clone)]
pub struct Asset {
    pub source: PathBuf,
    /// Absolute, normalized destination.
    pub dest: String,
    pub mode: u32,
    pub conffile: bool,
    /// The recipe item it comes from (`assets[0]`), for errors.
    pub field: String,
}

impl Recipe {
    pub fn units_in(&self, scope: Scope) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(move |u| u.scope == scope)
    }

    /// Installed path of a unit's file.
    pub fn unit_path(&self, unit: &Unit) -> String {
        format!("{}/{}", self.profile.unit_dir(unit.scope), unit.name)
    }

    /// Installed path of a drop-in.
    pub fn dropin_path(&self, d: &DropIn) -> String {
        dropin_path(self.profile, d)
    }

    pub fn enable_links(&self, unit: &Unit) -> Vec<(String, String)> {
        unit.enable_links(
            self.profile.unit_dir(unit.scope),
            self.profile.enable_dir(unit.scope),
        )
    }

    pub fn locate(&self, path: &str) -> Option<Location> {
        self.spans.locate(path)
    }

    /// Every file the package installs, generated ones included, with the field each
    /// comes from.
    pub fn installed(&self) -> Vec<layout::Installed> {
        installed(
            self.profile,
            &self.package,
            &self.units,
            &self.assets,
            &self.dropins,
        )
    }
}

fn installed(
    profile: &Profile,
    package: &Package,
    units: &[Unit],
    assets: &[Asset],
    dropins: &[DropIn],
) -> Vec<layout::Installed> {
    let mut out: Vec<layout::Installed> =
        layout::generated(&package.name, package.version.revision.is_some())
            .into_iter()
            .map(|path| layout::Installed {
                path,
                field: "package.name".into(),
            })
            .collect();
    out.extend(units.iter().map(|u| layout::Installed {
        path: format!("{}/{}", profile.unit_dir(u.scope), u.name),
        field: u.recipe_path.clone(),
    }));
    out.extend(assets.iter().map(|a| layout::Installed {
        path: a.dest.clone(),
        field: a.field.clone(),
    }));
    out.extend(dropins.iter().map(|d| layout::Installed {
        path: dropin_path(profile, d),
        field: d.recipe_path.clone(),
    }));
    out
}

/// The recipe's file name reaches the changelog and a comment of the `.bb`: a
/// portable file name, nothing a line break or bitbake syntax can hide in.
fn check_file_name(path: &Path) -> std::result::Result<(), String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the recipe's file name {:?} must be ASCII letters, digits and '._-+@' (it is written into the changelog and the .bb)",
            path.file_name().unwrap_or_default()
        ))
    }
}

/// Read and validate a recipe. `target` overrides the recipe's own target profile.
pub fn load(path: &Path, target: Option<&str>) -> Result<Recipe> {
    let refuse = |m: String| Error::from(InputError::new(path, None, "", m));
    // The recipe itself may be a symlink (it is named on the command line); what it
    // leads to must be a regular file.
    let real =
        std::fs::canonicalize(path).map_err(|e| refuse(format!("cannot read recipe: {e}")))?;
    let text = source::read_text(&real, source::MAX_RECIPE)
        .map_err(|m| refuse(format!("cannot read recipe: {m}")))?;
    parse(path, &text, target)
}

pub fn parse(path: &Path, text: &str, target: Option<&str>) -> Result<Recipe> {
    if let Err(m) = check_file_name(path) {
        return Err(InputError::new(path, None, "file name", m).into());
    }
    if let Some(at) = spans::too_many_brackets(text) {
        return Err(InputError::new(
            path,
            Some(at),
            "",
            format!(
                "more than {} '[' and '{{': YAML parsers take time quadratic in their nesting, and no recipe needs that many",
                spans::MAX_BRACKETS
            ),
        )
        .into());
    }
    if let Some((at, c)) = spans::ambiguous_line_break(text) {
        return Err(InputError::new(
            path,
            Some(at),
            "",
            format!(
                "character U+{:04X} is a line break to some YAML parsers and not to others; remove it",
                c as u32
            ),
        )
        .into());
    }
    let spans = SpanIndex::parse(text);
    if !spans.duplicates().is_empty() {
        return Err(Error::Input(
            spans
                .duplicates()
                .iter()
                .map(|d| {
                    InputError::new(
                        path,
                        Some(d.second),
                        d.path.clone(),
                        format!(
                            "given twice (first at line {}, column {}); YAML would silently keep only one",
                            d.first.line, d.first.column
                        ),
                    )
                })
                .collect(),
        ));
    }
    let raw: RawRecipe = serde_yaml::from_str(text).map_err(|e| yaml_error(path, &e))?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut v = Validator {
        file: path,
        spans: &spans,
        errors: Vec::new(),
    };

    let profile_name = target
        .or(raw.target.as_deref())
        .unwrap_or(profile::DEFAULT_PROFILE);
    let profile = match profile::find(profile_name) {
        Some(p) => Some(p),
        None => {
            v.error(
                "target",
                format!(
                    "unknown target profile {profile_name:?}; known: {}",
                    profile::names().join(", ")
                ),
            );
            None
        }
    };
    let package = v.package(&raw.package);
    let compression = match (raw.compression.as_deref(), profile) {
        (None, Some(p)) => Some(p.default_compression),
        (Some(name), Some(p)) => match p.compressions.iter().find(|c| c.name() == name) {
            Some(c) => Some(*c),
            None => {
                let known: Vec<_> = p.compressions.iter().map(|c| c.name()).collect();
                v.error(
                    "compression",
                    format!(
                        "{name:?} is not readable by {}'s dpkg; use one of: {}",
                        p.name,
                        known.join(", ")
                    ),
                );
                None
            }
        },
        (_, None) => None,
    };
    let mut units = Vec::new();
    let mut unit_lint = BTreeMap::new();
    let mut follow_seat = Vec::new();
    for (i, raw_unit) in raw.units.iter().enumerate() {
        let path = item("units", i);
        let lint = v.unit_lint(&path, raw_unit);
        if let Some(u) = v.unit(&dir, &path, raw_unit) {
            if raw_unit.follow.is_some() {
                follow_seat.push(u.name.clone());
            }
            units.push(u);
            unit_lint.insert(path, lint);
        }
    }
    let followers: Vec<Unit> = units
        .iter()
        .filter(|u| follow_seat.contains(&u.name) && u.scope == Scope::User)
        .map(crate::follow::follower_unit)
        .collect();
    units.extend(followers);
    v.unique_units(&units);
    let mut assets = Vec::new();
    for (i, raw_asset) in raw.assets.iter().enumerate() {
        assets.extend(v.assets(&dir, &item("assets", i), raw_asset));
    }
    let mut dropins = Vec::new();
    for (i, raw_dropin) in raw.dropins.iter().enumerate() {
        let default_name = format!("{}.conf", raw.package.name);
        dropins.extend(v.dropin(&item("dropins", i), raw_dropin, &default_name));
    }
    if let (Some(profile), Some(package)) = (profile, &package) {
        v.no_collisions(profile, package, &units, &assets, &dropins);
    }
    let yocto = raw.yocto.as_ref().map(|y| v.yocto(y)).unwrap_or_default();
    let allow = v.allows("allow", &raw.allow);
    let mut other_units = Vec::new();
    for (i, raw_other) in raw.enable_units.iter().enumerate() {
        other_units.extend(v.other_unit(&item("enable_units", i), raw_other, &units));
    }
    let snippets = raw
        .scripts
        .as_ref()
        .map(|s| v.snippets(&dir, s))
        .unwrap_or_default();
    // The helper checks units; a package without any has nothing for it to check.
    let helper = match raw.helper.as_deref() {
        None if units.is_empty() && dropins.is_empty() => HelperRelation::None,
        None => HelperRelation::Depends,
        Some(s) => HelperRelation::parse(s).unwrap_or_else(|| {
            v.error(
                "helper",
                format!(
                    "{s:?} is not a relation to unitpack-check; use one of: {}",
                    HelperRelation::NAMES.join(", ")
                ),
            );
            HelperRelation::None
        }),
    };
    if let Some(p) = &package {
        v.architecture_fits(p, &assets);
    }
    if !v.errors.is_empty() {
        return Err(Error::Input(v.errors));
    }
    Ok(Recipe {
        path: path.to_path_buf(),
        package: package.expect("no errors means a package"),
        profile: profile.expect("no errors means a profile"),
        strict: raw.strict,
        compression: compression.expect("no errors means a compression"),
        helper,
        units,
        follow_seat,
        assets,
        dropins,
        other_units,
        yocto,
        unit_lint,
        allow,
        snippets,
        spans,
    })
}

fn yaml_error(path: &Path, e: &serde_yaml::Error) -> Error {
    let location = e.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let mut message = e.to_string();
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    // serde_yaml puts the field path first ("package.name: invalid type ..."): keep it as
    // the field.
    let (field, message) = match message.split_once(": ") {
        Some((f, m)) if !f.contains(' ') => (f.to_string(), m.to_string()),
        _ => (String::new(), message),
    };
    InputError::new(path, location, field, message).into()
}

struct Validator<'a> {
    file: &'a Path,
    spans: &'a SpanIndex,
    errors: Vec<InputError>,
}

impl Validator<'_> {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        let location = self.spans.locate(field);
        self.errors
            .push(InputError::new(self.file, location, field, message));
    }

    /// An error that is also the lint rule `code`.
    fn error_code(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        let location = self.spans.locate(field);
        self.errors
            .push(InputError::new(self.file, location, field, message).with_code(code));
    }

    fn check(&mut self, field: &str, result: std::result::Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(m) => {
                self.error(field, m);
                false
            }
        }
    }

    /// A one-line text value (see `debian::check_line`).
    fn one_line(&mut self, field: &str, value: &str) -> bool {
        self.check(field, debian::check_line(value))
    }

    fn package(&mut self, raw: &RawPackage) -> Option<Package> {
        let before = self.errors.len();
        self.check("package.name", debian::check_package_name(&raw.name));
        self.check(
            "package.version",
            debian::check_upstream_version(&raw.version, raw.revision.is_some()),
        );
        if let Some(r) = &raw.revision {
            self.check("package.revision", debian::check_revision(r));
        }
        self.check(
            "package.maintainer",
            debian::check_maintainer(&raw.maintainer),
        );
        if self.one_line("package.summary", &raw.summary) && raw.summary.len() > 80 {
            self.error(
                "package.summary",
                "must be at most 80 characters (it is the Description synopsis)",
            );
        }
        if let Some(d) = &raw.description {
            if d.len() > MAX_DESCRIPTION {
                self.error(
                    "package.description",
                    format!("must be at most {MAX_DESCRIPTION} bytes"),
                );
            } else if let Some(c) = d.chars().find(|&c| c != '\n' && debian::forbidden_char(c)) {
                self.error(
                    "package.description",
                    format!("must not contain control characters other than newlines, or Unicode separators (found {c:?})"),
                );
            }
        }
        if let Some(e) = raw.epoch {
            if e > i32::MAX as u32 {
                self.error("package.epoch", "must be at most 2147483647 (dpkg's limit)");
            }
        }
        if self.one_line("package.license", &raw.license)
            && !crate::license::is_known(raw.license.trim())
        {
            self.error(
                "package.license",
                format!(
                    "{:?} is not a license unitpack can write a copyright file for; use one of: {}",
                    raw.license,
                    crate::license::known().join(", ")
                ),
            );
        }
        if let Some(c) = &raw.copyright {
            self.one_line("package.copyright", c);
        }
        if let Some(h) = &raw.homepage {
            if !(h.starts_with("https://") || h.starts_with("http://"))
                || !h.chars().all(|c| c.is_ascii_graphic())
                || h.len() > debian::MAX_LINE
            {
                self.error(
                    "package.homepage",
                    format!("{h:?} must be an http(s) URL of printable ASCII without spaces, at most {} bytes", debian::MAX_LINE),
                );
            }
        }
        let section = raw.section.clone().unwrap_or_else(|| "misc".into());
        self.check("package.section", debian::check_section(&section));
        let priority = raw.priority.clone().unwrap_or_else(|| "optional".into());
        if !debian::PRIORITIES.contains(&priority.as_str()) {
            self.error(
                "package.priority",
                format!(
                    "{priority:?} is not one of {}",
                    debian::PRIORITIES.join(", ")
                ),
            );
        }
        let architecture = raw.architecture.clone().unwrap_or_else(|| "all".into());
        self.check(
            "package.architecture",
            debian::check_architecture(&architecture),
        );
        let fields: [(&str, &Vec<String>); 7] = [
            ("depends", &raw.depends),
            ("recommends", &raw.recommends),
            ("suggests", &raw.suggests),
            ("conflicts", &raw.conflicts),
            ("breaks", &raw.breaks),
            ("replaces", &raw.replaces),
            ("provides", &raw.provides),
        ];
        let mut normalized: [Vec<String>; 7] = Default::default();
        for ((field, list), out) in fields.into_iter().zip(&mut normalized) {
            for (i, rel) in list.iter().enumerate() {
                match debian::normalize_relation(rel) {
                    Ok(r) => out.push(r),
                    Err(m) => self.error(&item(&format!("package.{field}"), i), m),
                }
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let [depends, recommends, suggests, conflicts, breaks, replaces, provides] = normalized;
        let package = Package {
            name: raw.name.clone(),
            version: Version {
                epoch: raw.epoch,
                upstream: raw.version.clone(),
                revision: raw.revision.clone(),
            },
            maintainer: raw.maintainer.clone(),
            summary: raw.summary.trim().to_string(),
            description: raw.description.clone().unwrap_or_default(),
            license: raw.license.trim().to_string(),
            copyright: raw.copyright.clone(),
            homepage: raw.homepage.clone(),
            section,
            priority,
            architecture,
            relations: Relations {
                depends,
                recommends,
                suggests,
                conflicts,
                breaks,
                replaces,
                provides,
            },
        };
        self.package_limits(&package);
        self.control_as_written(&package);
        if self.errors.len() > before {
            return None;
        }
        Some(package)
    }

    /// File names made of the package's name and version fit the file systems:
    /// `NAME_VERSION_ARCH.deb` and the `.bb` are single path components.
    fn package_limits(&mut self, package: &Package) {
        let deb = format!(
            "{}_{}_{}.deb",
            package.name,
            package.version.for_filename(),
            package.architecture
        );
        if deb.len() > MAX_FILE_NAME {
            let field = if package.name.len() >= package.version.for_filename().len() {
                "package.name"
            } else {
                "package.version"
            };
            self.error(
                field,
                format!(
                    "the package file name would be {} bytes, more than the {MAX_FILE_NAME} a file system allows; shorten the name or version",
                    deb.len()
                ),
            );
        }
    }

    /// The control file is checked as it will be written, byte for byte: one field a
    /// line, no line break or control character a value could smuggle in.
    fn control_as_written(&mut self, package: &Package) {
        let mut depends = package.relations.depends.clone();
        depends.push(crate::deb::HELPER_PACKAGE.to_string());
        let text =
            crate::deb::control::control(package, &depends, &package.relations.recommends, 0);
        if let Err((field, m)) = crate::deb::control::check(&text) {
            let recipe_field = match field.as_str() {
                "Package" => "package.name".to_string(),
                "Description" => "package.description".to_string(),
                f => format!("package.{}", f.to_ascii_lowercase()),
            };
            self.error(&recipe_field, format!("in the control file: {m}"));
        }
    }

    /// The `scope` field of the item at `path`.
    fn scope(&mut self, path: &str, raw: &str) -> Option<Scope> {
        match raw {
            "user" => Some(Scope::User),
            "system" => Some(Scope::System),
            other => {
                self.error(
                    &child(path, "scope"),
                    format!("{other:?} is not a scope; use user or system"),
                );
                None
            }
        }
    }

    fn unit(&mut self, dir: &Path, path: &str, raw: &RawUnit) -> Option<Unit> {
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
                let parsed = match s {
                    "none" => Some(Enablement::None),
                    "global" => Some(Enablement::Global),
                    "enable" => Some(Enablement::Enable),
                    "enable-and-start" => Some(Enablement::EnableAndStart),
                    _ => None,
                };
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
        if enable.enables() && name.is_template() && instances.is_empty() {
            self.error_code(
                &child(path, "enable"),
                "UP210",
                format!("{name} is a template; it cannot be enabled without an instance (list them in `instances:`, set DefaultInstance= in [Install], or set enable: none)"),
            );
        }
        if enable.enables() && !has_install {
            self.error_code(
                &child(path, "enable"),
                "UP209",
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
    fn instances(
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

    fn dropin(&mut self, path: &str, raw: &RawDropIn, default_name: &str) -> Option<DropIn> {
        let before = self.errors.len();
        let unit = UnitName::parse(&raw.unit)
            .map_err(|m| self.error(&child(path, "unit"), m))
            .ok();
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

    fn other_unit(&mut self, path: &str, raw: &RawOtherUnit, own: &[Unit]) -> Option<OtherUnit> {
        let before = self.errors.len();
        let unit = UnitName::parse(&raw.unit)
            .map_err(|m| self.error(&child(path, "unit"), m))
            .ok();
        let scope = self.scope(path, &raw.scope);
        let enable = match raw.enable.as_str() {
            "global" => Some(Enablement::Global),
            "enable" => Some(Enablement::Enable),
            "enable-and-start" => Some(Enablement::EnableAndStart),
            _ => None,
        };
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

    fn snippets(&mut self, dir: &Path, raw: &RawScripts) -> Vec<Snippet> {
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
            match std::fs::read_to_string(&source) {
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
                Err(e) => self.error(&field, format!("cannot read {}: {e}", source.display())),
            }
        }
        out
    }

    /// `follow: seat` on a user unit of a plain name: true when it is set and valid.
    fn follow(&mut self, path: &str, raw: &RawUnit, name: &UnitName, scope: Scope) -> bool {
        let Some(value) = raw.follow.as_deref() else {
            return false;
        };
        let field = child(path, "follow");
        let before = self.errors.len();
        if value != crate::follow::SEAT {
            self.error(&field, format!("{value:?} is not a follow mode; use seat"));
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

    fn unit_lint(&mut self, path: &str, raw: &RawUnit) -> UnitLint {
        UnitLint {
            allow: self.allows(&child(path, "allow"), &raw.allow),
            foreground: raw.foreground,
        }
    }

    /// An `allow:` list: known codes, each with a reason.
    fn allows(&mut self, list: &str, raw: &[RawAllow]) -> Vec<Allow> {
        let mut allow = Vec::new();
        for (i, RawAllow { code, reason }) in raw.iter().enumerate() {
            let field = item(list, i);
            if crate::lint::find_code(code).is_none() {
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

    fn unit_file(
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

    fn sections(
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
                        serde_yaml::Value::Number(n) => n.to_string(),
                        serde_yaml::Value::Bool(b) => b.to_string(),
                        _ => {
                            self.error(&vpath, "a directive value must be a string, number, boolean or a list of them");
                            continue;
                        }
                    };
                    if let Err(m) = unit::check_value(&text) {
                        self.error(&vpath, m);
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
    fn source_path(
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

    fn assets(&mut self, dir: &Path, path: &str, raw: &RawAsset) -> Vec<Asset> {
        let dest_field = child(path, "dest");
        let Some(dest) = self.dest_path(&dest_field, &raw.dest) else {
            return Vec::new();
        };
        let mode = match &raw.mode {
            None => None,
            Some(m) => match u32::from_str_radix(m, 8) {
                Ok(bits) if bits <= 0o777 && m.len() <= 4 => Some(bits),
                _ => {
                    self.error(&child(path, "mode"), format!("{m:?} must be octal permission bits such as \"0644\" (no setuid/setgid/sticky)"));
                    return Vec::new();
                }
            },
        };
        let source_field = child(path, "source");
        let Some(source) = self.source_path(dir, &source_field, &raw.source, None) else {
            return Vec::new();
        };
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&source)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.error(
                        &source_field,
                        format!("cannot read {}: {e}", source.display()),
                    );
                    return Vec::new();
                }
            };
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            if !ft.is_file() {
                self.error(&source_field, source::special(entry.path(), ft));
                return Vec::new();
            }
            // Readable now, so that no package is written before a later one fails.
            if let Err(e) = source::open_regular(entry.path()) {
                self.error(
                    &source_field,
                    format!("cannot read {}: {e}", entry.path().display()),
                );
                return Vec::new();
            }
            let rel = entry
                .path()
                .strip_prefix(&source)
                .expect("walkdir stays below its root");
            let dest = if rel.as_os_str().is_empty() {
                dest.clone()
            } else {
                match rel.to_str() {
                    Some(r) => format!("{dest}/{r}"),
                    None => {
                        self.error(
                            &source_field,
                            format!("{} is not valid UTF-8", entry.path().display()),
                        );
                        return Vec::new();
                    }
                }
            };
            if let Err(m) = check_dest(&dest) {
                self.error(&source_field, m);
                return Vec::new();
            }
            use std::os::unix::fs::PermissionsExt;
            let exec = entry
                .metadata()
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false);
            let under_etc = dest.starts_with("/etc/");
            let conffile = raw.conffile.unwrap_or(under_etc);
            if conffile != under_etc {
                self.error(
                    &child(path, "conffile"),
                    if under_etc {
                        "files under /etc must be conffiles (Debian Policy 10.7.2)"
                    } else {
                        "only files under /etc can be conffiles"
                    },
                );
                return Vec::new();
            }
            files.push(Asset {
                source: entry.path().to_path_buf(),
                dest,
                mode: mode.unwrap_or(if exec { 0o755 } else { 0o644 }),
                conffile,
                field: path.to_string(),
            });
        }
        files
    }

    fn dest_path(&mut self, field: &str, dest: &str) -> Option<String> {
        match check_dest(dest) {
            Ok(()) if dest == "/usr/local" || dest.starts_with("/usr/local/") => {
                self.error_code(
                    field,
                    "UP003",
                    format!("{dest} is under /usr/local, which Debian Policy 9.1.2 leaves to the local admin; install under /usr, /opt or /etc"),
                );
                None
            }
            Ok(()) => Some(dest.trim_end_matches('/').to_string()),
            Err(m) => {
                self.error(field, m);
                None
            }
        }
    }

    /// `Architecture: all` packages carry no machine code (Debian Policy 5.6.8).
    fn architecture_fits(&mut self, package: &Package, assets: &[Asset]) {
        if package.architecture != "all" {
            return;
        }
        for a in assets {
            if crate::elf::inspect(&a.source).is_some() {
                self.error(
                    "package.architecture",
                    format!(
                        "{} is an ELF binary, so the package cannot be `all`; set package.architecture (e.g. armhf)",
                        a.source.display()
                    ),
                );
            }
        }
    }

    fn yocto(&mut self, raw: &RawYocto) -> YoctoSettings {
        let mut packages = Vec::new();
        for (debian, oe) in &raw.packages {
            let field = child("yocto.packages", debian);
            let key_ok = self.check(&field, debian::check_package_name(debian));
            let value_ok = match oe {
                Some(oe) => self.check(&field, crate::yocto::check_package_name(oe)),
                None => true,
            };
            if key_ok && value_ok {
                packages.push((debian.clone(), oe.clone()));
            }
        }
        YoctoSettings { packages }
    }

    /// Unit names are unique in their scope, counting aliases (an alias link would
    /// shadow a unit file or another alias), and no unit takes over one of the package.
    fn unique_units(&mut self, units: &[Unit]) {
        let mut seen = BTreeSet::new();
        for u in units {
            if !seen.insert((u.scope, u.name.clone())) {
                self.error(
                    &u.recipe_path,
                    format!("{} {} is declared twice", u.scope.as_str(), u.name),
                );
            }
        }
        for u in units {
            for alias in &u.install.alias {
                if !seen.insert((u.scope, alias.clone())) {
                    self.error(
                        &child(&u.recipe_path, "sections.Install.Alias"),
                        format!(
                            "Alias={alias} is the name of another unit or alias of this package"
                        ),
                    );
                }
            }
        }
        for u in units {
            for (i, t) in u.takes_over.iter().enumerate() {
                if seen.contains(&(u.scope, t.clone())) {
                    self.error(
                        &item(&child(&u.recipe_path, "takes_over"), i),
                        format!(
                            "{t} is a unit (or alias) of this package; it cannot be taken over"
                        ),
                    );
                }
            }
        }
    }

    /// The package's complete file list, generated files included: nothing twice, no
    /// file where a directory is needed, no asset in a place reserved for unitpack,
    /// dpkg or systemd.
    fn no_collisions(
        &mut self,
        profile: &Profile,
        package: &Package,
        units: &[Unit],
        assets: &[Asset],
        dropins: &[DropIn],
    ) {
        let mut reported = BTreeSet::new();
        for a in assets {
            if let Some(why) = layout::reserved(&a.dest, profile) {
                if reported.insert(a.field.clone()) {
                    self.error(&child(&a.field, "dest"), why);
                }
            }
        }
        let files = installed(profile, package, units, assets, dropins);
        for layout::Conflict { at, message: m, .. } in layout::conflicts(&files) {
            let field = &files[at].field;
            let field = if field.starts_with("assets[") {
                child(field, "dest")
            } else {
                field.clone()
            };
            self.error(&field, m);
        }
    }
}

fn dropin_path(profile: &Profile, d: &DropIn) -> String {
    format!("{}/{}.d/{}", profile.unit_dir(d.scope), d.unit, d.name)
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

/// Longest file name (one path component) of Linux file systems.
const MAX_FILE_NAME: usize = 255;
/// Longest path the kernel accepts, less the terminating NUL.
const MAX_PATH: usize = 4095;
/// Longest extended description.
const MAX_DESCRIPTION: usize = 64 * 1024;

/// A destination inside the package: absolute, normalized, no `..`, printable, and
/// free of characters that would need quoting in shell or bitbake.
fn check_dest(dest: &str) -> std::result::Result<(), String> {
    let trimmed = dest.trim_end_matches('/');
    if trimmed.len() > MAX_PATH || trimmed.split('/').any(|c| c.len() > MAX_FILE_NAME) {
        return Err(format!(
            "destination of {} bytes is too long: at most {MAX_FILE_NAME} bytes a component and {MAX_PATH} in all",
            trimmed.len()
        ));
    }
    if !trimmed.starts_with('/') || trimmed.len() < 2 {
        return Err(format!(
            "{dest:?} must be an absolute path such as /etc/xdg/foo.conf"
        ));
    }
    if trimmed
        .split('/')
        .skip(1)
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!("{dest:?} must be normalized (no '..', '.', or '//'): it would escape or confuse the package root"));
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._-+@:".contains(*c)))
    {
        return Err(format!(
            "{dest:?} contains {c:?}; destinations use only letters, digits and '/._-+@:'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dest_paths() {
        assert!(check_dest("/etc/pulse/default.pa").is_ok());
        for bad in [
            "etc/x",
            "/",
            "/etc/../root/x",
            "/etc//x",
            "/etc/./x",
            "/etc/x y",
            "/etc/$(id)",
            "/etc/x;y",
        ] {
            assert!(check_dest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_strings() {
        let v = Version {
            epoch: Some(1),
            upstream: "2.0".into(),
            revision: Some("3".into()),
        };
        assert_eq!(v.full(), "1:2.0-3");
        assert_eq!(v.for_filename(), "2.0-3");
    }
}
