//! The unit model: a systemd unit as sections of ordered directives, its scope and how
//! it is enabled. Units come from a recipe (structured) or from a unit file; both end
//! up here, and every renderer reads this model.

use crate::error::Location;
use std::fmt;

/// Scope and enablement are the manifest's: the helper reads the same types.
pub use unitpack_manifest::{Enablement, Scope};

/// Unit types systemd knows (the suffix of a unit name).
pub const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

/// A unit name checked against systemd's unit-name grammar. Valid names contain no
/// shell metacharacters, so they can appear in maintainer scripts and bitbake files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitName(String);

impl UnitName {
    pub fn parse(name: &str) -> Result<UnitName, String> {
        if name.is_empty() {
            return Err("unit name is empty".into());
        }
        if name.len() > 255 {
            return Err("unit name is longer than 255 characters".into());
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '@')))
        {
            return Err(format!(
                "unit name {name:?} contains {bad:?}; systemd unit names use only ASCII letters, digits and \":_.-@\""
            ));
        }
        let (stem, suffix) = name
            .rsplit_once('.')
            .ok_or_else(|| format!("unit name {name:?} has no type suffix such as .service"))?;
        if !UNIT_TYPES.contains(&suffix) {
            return Err(format!(
                "unit name {name:?} ends in .{suffix}, which is not a unit type ({})",
                UNIT_TYPES.join(", ")
            ));
        }
        if stem.is_empty() || stem.starts_with(['.', '-', '@']) {
            return Err(format!(
                "unit name {name:?} must start with a letter, digit, ':' or '_'"
            ));
        }
        if stem.matches('@').count() > 1 {
            return Err(format!("unit name {name:?} has more than one '@'"));
        }
        Ok(UnitName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `service`, `path`, … (the suffix).
    pub fn kind(&self) -> &str {
        self.0.rsplit_once('.').map(|(_, s)| s).unwrap_or("")
    }

    /// The name without its suffix (`my_pulseaudio` for `my_pulseaudio.service`).
    pub fn stem(&self) -> &str {
        self.0.rsplit_once('.').map(|(s, _)| s).unwrap_or(&self.0)
    }

    /// `foo@bar.service`: an instance of a template.
    pub fn is_instance(&self) -> bool {
        self.stem()
            .split_once('@')
            .is_some_and(|(_, i)| !i.is_empty())
    }

    /// `foo@.service`: a template, which cannot be enabled without an instance.
    pub fn is_template(&self) -> bool {
        self.stem().ends_with('@')
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub key: String,
    pub value: String,
    /// Where the directive was written (recipe or unit file), for diagnostics.
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub directives: Vec<Directive>,
    pub location: Option<Location>,
}

impl Section {
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.directives
            .iter()
            .filter(move |d| d.key == key)
            .map(|d| d.value.as_str())
    }
}

/// Where a unit was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitSource {
    /// Structured, in the recipe; positions refer to the recipe.
    Recipe,
    /// A unit file (path as given in the recipe, resolved); shipped byte for byte.
    File(std::path::PathBuf),
}

#[derive(Debug, Clone)]
pub struct Unit {
    pub name: UnitName,
    pub scope: Scope,
    pub enable: Enablement,
    pub sections: Vec<Section>,
    /// Units of other packages this unit replaces: disabled (in this unit's scope) while
    /// the package is installed, restored when it is removed.
    pub takes_over: Vec<UnitName>,
    /// For a template: the instances enabled (`foo@a.service`), from the recipe's
    /// `instances:` or else the unit's `DefaultInstance=`.
    pub instances: Vec<UnitName>,
    /// The unit names of its `[Install]` section, checked.
    pub install: InstallRefs,
    pub source: UnitSource,
    /// The file as it will be installed.
    pub text: String,
    /// Dotted recipe path of this unit (`units[0]`), to locate diagnostics.
    pub recipe_path: String,
}

impl Unit {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// All values of `key` in `section`, each value split on whitespace (for list
    /// directives such as `WantedBy=` or `After=`).
    pub fn list(&self, section: &str, key: &str) -> Vec<String> {
        self.sections
            .iter()
            .filter(|s| s.name == section)
            .flat_map(|s| s.values(key))
            .flat_map(|v| v.split_whitespace())
            .map(str::to_string)
            .collect()
    }

    /// The names `systemctl enable` is given: the unit, or a template's instances.
    pub fn enabled_names(&self) -> Vec<&UnitName> {
        if self.name.is_template() {
            self.instances.iter().collect()
        } else {
            vec![&self.name]
        }
    }

    /// Symlinks `systemctl [--global] enable` creates for this unit: (link, target),
    /// both absolute. `unit_dir` is where the unit file is installed, `enable_dir` is
    /// `/etc/systemd/user` or `/etc/systemd/system`. An instance's links are named after
    /// the instance and point to the template's file, as `systemctl enable foo@a.service`
    /// makes them.
    pub fn enable_links(&self, unit_dir: &str, enable_dir: &str) -> Vec<(String, String)> {
        let target = format!("{unit_dir}/{}", self.name);
        let mut links = Vec::new();
        for name in self.enabled_names() {
            for wanted_by in &self.install.wanted_by {
                links.push((
                    format!("{enable_dir}/{wanted_by}.wants/{name}"),
                    target.clone(),
                ));
            }
            for required_by in &self.install.required_by {
                links.push((
                    format!("{enable_dir}/{required_by}.requires/{name}"),
                    target.clone(),
                ));
            }
        }
        for alias in &self.install.alias {
            links.push((format!("{enable_dir}/{alias}"), target.clone()));
        }
        links.sort();
        links.dedup();
        links
    }
}

/// The unit names an `[Install]` section refers to. Each becomes part of a path (an
/// enable link) in maintainer scripts, the manifest and the `.bb`, so each is a
/// [`UnitName`]: nothing else can get there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallRefs {
    pub wanted_by: Vec<UnitName>,
    pub required_by: Vec<UnitName>,
    /// Same type as the unit, a template only for a template.
    pub alias: Vec<UnitName>,
    pub also: Vec<UnitName>,
    /// `WantedBy=`/`RequiredBy=`/`Also=` values of a template that use specifiers
    /// (`RequiredBy=dev-%i.device`): systemd resolves them for each instance it
    /// enables, so they are kept as text and never become link paths here.
    pub with_specifiers: Vec<String>,
}

/// A reference with systemd specifiers (`dev-%i.device`) in the `[Install]` of
/// template `unit`: each `%` starts a specifier letter (or `%%`), and with them
/// replaced the name is a valid unit name.
fn specifier_reference(unit: &UnitName, word: &str) -> Result<(), String> {
    if !unit.is_template() {
        return Err(format!(
            "unit name {word:?} contains '%': systemd resolves specifiers in [Install] for a template's instances, and {unit} is not a template"
        ));
    }
    let mut plain = String::with_capacity(word.len());
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            Some(s) if s.is_ascii_alphabetic() || s == '%' => plain.push('x'),
            _ => {
                return Err(format!(
                    "unit name {word:?}: '%' must be followed by a specifier letter (%i, %I, %j, %p, …)"
                ))
            }
        }
    }
    UnitName::parse(&plain).map(|_| ())
}

/// A wrong value in a unit, at the directive that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveError {
    pub section: String,
    pub key: String,
    pub location: Option<Location>,
    pub message: String,
}

impl InstallRefs {
    /// The `[Install]` references of unit `name` that are valid, and an error for
    /// each value that is not.
    pub fn parse(name: &UnitName, sections: &[Section]) -> (InstallRefs, Vec<DirectiveError>) {
        let mut refs = InstallRefs::default();
        let mut errors = Vec::new();
        for d in sections
            .iter()
            .filter(|s| s.name == "Install")
            .flat_map(|s| &s.directives)
        {
            let list = match d.key.as_str() {
                "WantedBy" => &mut refs.wanted_by,
                "RequiredBy" => &mut refs.required_by,
                "Alias" => &mut refs.alias,
                "Also" => &mut refs.also,
                _ => continue,
            };
            let mut fail = |message: String| {
                errors.push(DirectiveError {
                    section: "Install".into(),
                    key: d.key.clone(),
                    location: d.location,
                    message,
                })
            };
            for word in d.value.split_ascii_whitespace() {
                if word.contains('%') && d.key != "Alias" {
                    match specifier_reference(name, word) {
                        Ok(()) => refs.with_specifiers.push(word.to_string()),
                        Err(m) => fail(format!("{}= value: {m}", d.key)),
                    }
                    continue;
                }
                let reference = match UnitName::parse(word) {
                    Ok(r) => r,
                    Err(m) => {
                        fail(format!("{}= value: {m}", d.key));
                        continue;
                    }
                };
                if matches!(d.key.as_str(), "WantedBy" | "RequiredBy")
                    && reference.as_str().len() + ".requires".len() > 255
                {
                    fail(format!(
                        "{}={reference}: the link directory {reference}.requires or .wants would be longer than a file name may be",
                        d.key
                    ));
                    continue;
                }
                if d.key == "Alias" {
                    if reference.kind() != name.kind() {
                        fail(format!(
                            "Alias={reference} must have the type of {name} (.{})",
                            name.kind()
                        ));
                        continue;
                    }
                    if reference.is_template() != name.is_template() || reference.is_instance() {
                        fail(format!(
                            "Alias={reference}: a template's aliases are templates, a plain unit's are plain names"
                        ));
                        continue;
                    }
                    if &reference == name {
                        fail(format!("Alias={reference} is the unit's own name"));
                        continue;
                    }
                }
                list.push(reference);
            }
        }
        (refs, errors)
    }
}

/// Characters that must not reach a unit file: systemd ends a line at NUL, and other
/// control characters (VT, FF, ESC, …), Unicode line or paragraph separators,
/// bidirectional controls, zero-width characters and the BOM are invisible to a
/// reviewer or make text read differently from what it is ("Trojan Source"). TAB is
/// ordinary whitespace.
pub fn forbidden_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061C}'
                | '\u{200B}'
                | '\u{200C}'
                | '\u{200D}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2060}'
                | '\u{FEFF}'
        )
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// A directive value written in a recipe: one line, no character of
/// [`forbidden_char`], and no trailing backslash (systemd would join the next line).
pub fn check_value(value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r']) {
        return Err(
            "a directive value must be one line (a newline would start a new directive)".into(),
        );
    }
    if let Some(c) = value.chars().find(|&c| forbidden_char(c)) {
        return Err(format!(
            "a directive value must not contain {c:?} (systemd would read a NUL as the end of the line; other control characters and line separators hide text)"
        ));
    }
    if value.trim_end().ends_with('\\') {
        return Err(
            "a directive value must not end in '\\' (systemd would join the next line to it)"
                .into(),
        );
    }
    if value.len() > MAX_VALUE {
        return Err(format!(
            "a directive value must be at most {MAX_VALUE} bytes"
        ));
    }
    Ok(())
}

/// Longest directive value accepted (systemd reads lines of up to 1 MiB; no real unit
/// comes near this).
pub const MAX_VALUE: usize = 16 * 1024;

/// Why a unit cannot be taken over (disabled while the package is installed): the
/// system needs it to boot, to log in or to talk to its services, and a takeover that
/// goes wrong locks the device out.
pub fn essential(name: &UnitName) -> Option<String> {
    if matches!(name.kind(), "target" | "slice" | "scope" | "device") {
        return Some(format!(
            "{name} is a .{} unit, part of the structure of the boot and the session",
            name.kind()
        ));
    }
    const STEMS: &[&str] = &[
        "dbus",
        "dbus-broker",
        "getty@",
        "serial-getty@",
        "console-getty",
        "container-getty@",
        "autovt@",
        "user@",
        "user-runtime-dir@",
    ];
    let stem = name.stem();
    let template = stem.split_once('@').map(|(t, _)| format!("{t}@"));
    if stem.starts_with("systemd-")
        || STEMS.contains(&stem)
        || template.is_some_and(|t| STEMS.contains(&t.as_str()))
    {
        return Some(format!(
            "{name} is one of the units the system cannot live without (systemd-*, D-Bus, gettys, user managers)"
        ));
    }
    None
}

/// Why enabling `name` (a unit of another package, `enable_units:`) opens the device up,
/// if it does: debug-shell.service is a root shell on tty9 with no password.
pub fn unsafe_to_enable(name: &UnitName) -> Option<String> {
    match name.as_str() {
        "debug-shell.service" => Some(format!(
            "{name} is a root shell on tty9 without a password (systemd's debugging aid); a package must not enable it"
        )),
        "emergency.service" | "rescue.service" | "emergency.target" | "rescue.target" => Some(format!(
            "{name} is a root shell on the console, for repairs; a package must not enable it"
        )),
        _ => None,
    }
}

/// The sections have an `[Install]` section that `systemctl enable` can act on.
pub fn installs(sections: &[Section]) -> bool {
    sections.iter().any(|s| {
        s.name == "Install"
            && s.directives
                .iter()
                .any(|d| matches!(d.key.as_str(), "WantedBy" | "RequiredBy" | "Alias" | "Also"))
    })
}

/// Render sections as a unit file: `[Unit]` first, `[Install]` last, the others in the
/// order written; directives in the order written.
pub fn render(sections: &[Section], header: &str) -> String {
    let mut ordered: Vec<&Section> = Vec::new();
    ordered.extend(sections.iter().filter(|s| s.name == "Unit"));
    ordered.extend(
        sections
            .iter()
            .filter(|s| s.name != "Unit" && s.name != "Install"),
    );
    ordered.extend(sections.iter().filter(|s| s.name == "Install"));
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (i, section) in ordered.iter().enumerate() {
        if i > 0 || !header.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{}]\n", section.name));
        for d in &section.directives {
            out.push_str(&format!("{}={}\n", d.key, d.value));
        }
    }
    out
}

/// Parse a unit file the way systemd reads it (`config_parse` of systemd 229 and 252):
/// `[Section]` headers, `Key=Value` with the key and value stripped of " \t\n\r",
/// `#`/`;` comments, a line ending in an unescaped `\` continued by the next line (the
/// `\` becomes a space, the next line is appended as it is), repeated keys kept and
/// repeated sections merged into the first (systemd reads directives in file order,
/// whatever section header precedes them). Where 229 and 252 read the text differently
/// (a comment inside or ending a continued line, a line longer than 229's 2047
/// bytes, a continuation at the end of the file) the file is refused with both
/// readings named; so is anything systemd would only warn about and skip.
pub fn parse(text: &str) -> Result<Vec<Section>, (usize, String)> {
    // Checked on the whole text, comments included: systemd ends a line at NUL, so a
    // NUL in a comment would start a directive that this parser never saw.
    for (i, line) in text.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|&c| forbidden_char(c)) {
            return Err((
                i + 1,
                format!("the unit file contains {c:?}; unit files must not contain NUL, CR, other control characters, Unicode line separators, bidirectional or zero-width characters"),
            ));
        }
        if line.len() > LINE_MAX_229 {
            return Err((
                i + 1,
                format!("the line is {} bytes long; systemd 229 reads at most {LINE_MAX_229} bytes a line and splits the rest into a line of its own (252 reads it whole)", line.len()),
            ));
        }
    }
    let old = logical_lines(text, Reader::Systemd229);
    let new = logical_lines(text, Reader::Systemd252);
    let same = |a: Option<&Logical>, b: Option<&Logical>| a.map(|l| &l.text) == b.map(|l| &l.text);
    if let Some(i) = (0..old.len().max(new.len())).find(|&i| !same(old.get(i), new.get(i))) {
        // The first line after the last one both read alike.
        let line = match i {
            0 => 1,
            _ => new[i - 1].end + 1,
        };
        let show = |l: Option<&Logical>| match l {
            Some(l) => format!("{:?}", l.text),
            None => "nothing (the continued line is dropped at the end of the file)".into(),
        };
        return Err((
            line,
            format!(
                "systemd 229 and 252 read this differently (a comment inside or ending a line continued with '\\', or a continuation at the end of the file): 229 reads {}, 252 reads {}; remove the comment or the '\\'",
                show(old.get(i)),
                show(new.get(i))
            ),
        ));
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<usize> = None;
    for Logical {
        start: start_line,
        text: logical,
        ..
    } in new
    {
        let line = logical.trim_matches(SYSTEMD_WHITESPACE);
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let location = Some(Location {
            line: start_line,
            column: 1,
        });
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or((start_line, format!("section header {line:?} lacks ']'")))?;
            if !valid_section_name(name) {
                return Err((start_line, format!("invalid section name {name:?}")));
            }
            // A repeated section continues the first one: systemd merges them.
            current = Some(match sections.iter().position(|s| s.name == name) {
                Some(i) => i,
                None => {
                    sections.push(Section {
                        name: name.to_string(),
                        directives: Vec::new(),
                        location,
                    });
                    sections.len() - 1
                }
            });
            continue;
        }
        let (key, value) = line.split_once('=').ok_or((
            start_line,
            format!("line {line:?} is neither a section header nor Key=Value (systemd ignores it with a warning)"),
        ))?;
        let key = key.trim_matches(SYSTEMD_WHITESPACE);
        if !valid_directive_key(key) {
            return Err((start_line, format!("invalid directive name {key:?}")));
        }
        let section = current.ok_or((
            start_line,
            format!("directive {key} appears before any [Section]"),
        ))?;
        sections[section].directives.push(Directive {
            key: key.to_string(),
            value: value.trim_matches(SYSTEMD_WHITESPACE).to_string(),
            location,
        });
    }
    Ok(sections)
}

/// systemd's WHITESPACE: what `strstrip` removes around keys, values and lines.
const SYSTEMD_WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

/// systemd 229 reads unit files with `fgets` into a `LINE_MAX` (2048) buffer.
pub const LINE_MAX_229: usize = 2047;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// Joins first, then decides on comments: a comment line inside a continuation is
    /// part of the value, a comment ending in '\' swallows the next line, and a
    /// continuation pending at the end of the file is dropped.
    Systemd229,
    /// Skips comment lines before joining (even inside a continuation) and parses a
    /// continuation pending at the end of the file.
    Systemd252,
}

/// A line as systemd's parser sees it: physical lines joined by continuations.
struct Logical {
    start: usize,
    end: usize,
    text: String,
}

/// The logical lines of `text` as `reader` forms them, without the empty lines and
/// comments that both then skip.
fn logical_lines(text: &str, reader: Reader) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut continuation: Option<(usize, String)> = None;
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return out;
    }
    let mut last = 0;
    for (i, raw) in body.split('\n').enumerate() {
        last = i + 1;
        if reader == Reader::Systemd252
            && raw
                .trim_start_matches(SYSTEMD_WHITESPACE)
                .starts_with(['#', ';'])
        {
            continue;
        }
        let (start, mut line) = match continuation.take() {
            Some((start, mut acc)) => {
                acc.push_str(raw);
                (start, acc)
            }
            None => (i + 1, raw.to_string()),
        };
        let mut escaped = false;
        for c in line.chars() {
            escaped = !escaped && c == '\\';
        }
        if escaped {
            line.pop();
            line.push(' ');
            continuation = Some((start, line));
            continue;
        }
        out.push(Logical {
            start,
            end: i + 1,
            text: line,
        });
    }
    if let (Some((start, text)), Reader::Systemd252) = (continuation, reader) {
        out.push(Logical {
            start,
            end: last,
            text,
        });
    }
    // What `parse_line` of both skips: empty lines and comments.
    out.retain(|l| {
        let t = l.text.trim_matches(SYSTEMD_WHITESPACE);
        !t.is_empty() && !t.starts_with(['#', ';'])
    });
    out
}

pub fn valid_section_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

pub fn valid_directive_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_name_grammar() {
        for ok in [
            "my_pulseaudio.service",
            "a.path",
            "getty@tty1.service",
            "x@.service",
            "a:b-c.socket",
        ] {
            assert!(UnitName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "noext",
            "a.exe",
            "a;rm -rf.service",
            "$(x).service",
            "a b.service",
            "../x.service",
            ".service",
            "a`b`.service",
            "a\\x2d.service",
            "a@b@c.service",
        ] {
            assert!(UnitName::parse(bad).is_err(), "{bad}");
        }
    }

    /// nbd-client's `nbd@.service` (`RequiredBy=dev-%i.device`): specifiers in a
    /// template's [Install] are systemd's, resolved per instance; kept as text, never
    /// as a unit name. Anywhere else, or malformed, they are refused.
    #[test]
    fn install_specifiers_only_in_templates() {
        let sections = |value: &str| parse(&format!("[Install]\n{value}\n")).unwrap();
        let template = UnitName::parse("nbd@.service").unwrap();
        let (refs, errors) = InstallRefs::parse(
            &template,
            &sections("RequiredBy=dev-%i.device multi-user.target"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(refs.with_specifiers, ["dev-%i.device"]);
        assert_eq!(refs.required_by.len(), 1);
        let plain = UnitName::parse("nbd.service").unwrap();
        let (_, errors) = InstallRefs::parse(&plain, &sections("RequiredBy=dev-%i.device"));
        assert!(errors[0].message.contains("not a template"), "{errors:?}");
        for bad in [
            "WantedBy=dev-%.device",
            "WantedBy=a%$(x).target",
            "WantedBy=%i",
            "Alias=x@%i.service",
        ] {
            let (refs, errors) = InstallRefs::parse(&template, &sections(bad));
            assert!(
                !errors.is_empty() && refs.with_specifiers.is_empty(),
                "{bad}"
            );
        }
    }

    #[test]
    fn parse_and_render_round_trip() {
        let text = "[Unit]\nDescription=x\n# comment\nAfter=a.service \\\n  b.service\n\n[Service]\nExecStart=/bin/true\nEnvironment=A=1\nEnvironment=B=2\n\n[Install]\nWantedBy=default.target\n";
        let sections = parse(text).unwrap();
        assert_eq!(sections.len(), 3);
        // systemd keeps the spaces: the "\\" becomes one, the next line comes as it is.
        assert_eq!(sections[0].directives[1].value, "a.service    b.service");
        assert_eq!(sections[0].directives[1].location.unwrap().line, 4);
        assert_eq!(
            sections[1].values("Environment").collect::<Vec<_>>(),
            ["A=1", "B=2"]
        );
        // Rendering and parsing again gives the same content (positions aside).
        let strip = |mut secs: Vec<Section>| {
            for sec in &mut secs {
                sec.location = None;
                sec.directives.iter_mut().for_each(|d| d.location = None);
            }
            secs
        };
        assert!(installs(&sections));
        assert_eq!(
            strip(parse(&render(&sections, "")).unwrap()),
            strip(sections)
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(parse("Key=Value\n").is_err());
        assert!(parse("[Unit\n").is_err());
        assert!(parse("[Unit]\nno equals\n").is_err());
        assert!(parse("[Unit]\nA=b \\\n").is_err());
    }

    fn pairs(text: &str) -> Vec<(String, String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .flat_map(|s| {
                s.directives
                    .into_iter()
                    .map(move |d| (s.name.clone(), d.key, d.value))
            })
            .collect()
    }

    #[test]
    fn reads_as_systemd_does() {
        let p = |t: &str| {
            pairs(t)
                .into_iter()
                .map(|(s, k, v)| format!("{s}.{k}={v}"))
                .collect::<Vec<_>>()
        };
        // Repeated sections merge; directive order is kept.
        assert_eq!(
            p("[Service]\nExecStart=/bin/a\n[Unit]\nDescription=d\n[Service]\nUser=nobody\n"),
            [
                "Service.ExecStart=/bin/a",
                "Service.User=nobody",
                "Unit.Description=d"
            ]
        );
        // The '\\' becomes a space; the next line is appended as it is.
        assert_eq!(
            p("[Unit]\nDescription=a \\\n   b\n"),
            ["Unit.Description=a     b"]
        );
        // An escaped backslash at the end is no continuation.
        assert_eq!(
            p("[Unit]\nDescription=a\\\\\nAfter=x\n"),
            ["Unit.Description=a\\\\", "Unit.After=x"]
        );
        // Only " \t\n\r" is stripped, not other Unicode spaces.
        assert_eq!(
            p("[Unit]\n Description = \u{a0}a\t\n"),
            ["Unit.Description=\u{a0}a"]
        );
        assert_eq!(p("[Unit]\nDescription=a=b\n"), ["Unit.Description=a=b"]);
    }

    #[test]
    fn refuses_what_229_and_252_read_differently() {
        for text in [
            // A comment line inside a continuation: 252 skips it, 229 appends it.
            "[Unit]\nDescription=a \\\n# c\n b\n",
            // A comment ending in '\\': 229 swallows the next line.
            "[Unit]\n# note \\\nDescription=a\n",
            // A continuation at the end: 229 drops it, 252 parses it.
            "[Unit]\nDescription=a \\",
        ] {
            let (_, m) = parse(text).unwrap_err();
            assert!(m.contains("229 and 252"), "{text:?}: {m}");
        }
        let long = format!("[Unit]\nDescription={}\n", "x".repeat(2100));
        assert!(parse(&long).unwrap_err().1.contains("2047"));
        assert!(parse("[Unit]\nDescription=a\u{202e}b\n").is_err());
        assert!(parse("[Unit]\nDescription=a\u{200b}b\n").is_err());
    }
}
