//! The invariants. Each violation names its invariant (a stable slug, used as
//! the findings directory's prefix) and the detail.

use serde_yaml::Value;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Debug)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

pub fn v(invariant: &'static str, detail: impl Into<String>) -> Violation {
    Violation {
        invariant,
        detail: detail.into(),
    }
}

// ---------------------------------------------------------------- snapshots

/// Type, mode, size, link target and content hash of every entry under `dir`
/// (links not followed, special files not opened).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        use std::os::unix::fs::MetadataExt;
        let ft = m.file_type();
        let desc = if ft.is_symlink() {
            format!(
                "link -> {}",
                fs::read_link(&p)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default()
            )
        } else if ft.is_dir() {
            format!("dir {:o}", m.mode())
        } else if ft.is_file() {
            let hash = if m.len() <= 1 << 20 {
                fs::read(&p).map(|b| hash_bytes(&b)).unwrap_or(0)
            } else {
                0
            };
            format!("file {:o} {} {} {:x}", m.mode(), m.len(), m.mtime(), hash)
        } else {
            format!("special {:o}", m.mode())
        };
        out.insert(p.strip_prefix(base).unwrap().to_path_buf(), desc);
        if ft.is_dir() {
            walk(base, &p, out);
        }
    }
}

pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

pub fn diff(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let mut changes = Vec::new();
    for (p, d) in before {
        match after.get(p) {
            None => changes.push(format!("removed {}", p.display())),
            Some(a) if a != d => changes.push(format!("changed {}: {d} -> {a}", p.display())),
            _ => {}
        }
    }
    for p in after.keys() {
        if !before.contains_key(p) {
            changes.push(format!("created {}", p.display()));
        }
    }
    changes
}

pub fn is_empty_or_missing(dir: &Path) -> bool {
    match fs::read_dir(dir) {
        Ok(mut rd) => rd.next().is_none(),
        Err(_) => true,
    }
}

/// Regular files under `dir` that contain `marker`.
pub fn files_containing(dir: &Path, marker: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for (rel, desc) in snapshot(dir) {
        if desc.starts_with("file ") && file_contains(&dir.join(&rel), marker) {
            hits.push(rel.display().to_string());
        }
    }
    hits
}

/// Streams the file (an accepted asset may be hundreds of MiB) in 1 MiB
/// chunks, keeping an overlap so a marker across two chunks is seen.
fn file_contains(path: &Path, marker: &[u8]) -> bool {
    use std::io::Read;
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buf[..n]);
        if carry.windows(marker.len()).any(|w| w == marker) {
            return true;
        }
        let keep = marker.len().saturating_sub(1).min(carry.len());
        carry.drain(..carry.len() - keep);
    }
}

// ---------------------------------------------------------------- the recipe

/// What unitpack itself reads from a directive value.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(value_text).collect(),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------- the control file

const FIELDS: &[&str] = &[
    "Package",
    "Version",
    "Architecture",
    "Maintainer",
    "Installed-Size",
    "Depends",
    "Recommends",
    "Suggests",
    "Breaks",
    "Conflicts",
    "Replaces",
    "Provides",
    "Section",
    "Priority",
    "Homepage",
    "Description",
];
const REQUIRED: &[&str] = &[
    "Package",
    "Version",
    "Architecture",
    "Maintainer",
    "Installed-Size",
    "Section",
    "Priority",
    "Description",
];

pub fn control(text: &str, recipe: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(c) = text
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || c == '\u{2028}')
    {
        out.push(v("control-field", format!("control file contains {c:?}")));
    }
    let pkg = &recipe["package"];
    let mut seen: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with(' ') {
            if seen.last().map(|(k, _)| k.as_str()) != Some("Description") {
                out.push(v(
                    "control-field",
                    format!("continuation line outside Description: {line:?}"),
                ));
            }
            continue;
        }
        let Some((k, val)) = line.split_once(": ") else {
            out.push(v("control-field", format!("line is not a field: {line:?}")));
            continue;
        };
        if !FIELDS.contains(&k) {
            out.push(v("control-field", format!("unexpected field {k:?}")));
        }
        if seen.iter().any(|(s, _)| s == k) {
            out.push(v("control-field", format!("field {k} twice")));
        }
        seen.push((k.to_string(), val.to_string()));
    }
    let get = |k: &str| seen.iter().find(|(s, _)| s == k).map(|(_, v)| v.as_str());
    for k in REQUIRED {
        if get(k).is_none() {
            out.push(v("control-field", format!("field {k} missing")));
        }
    }
    for (field, key) in [
        ("Recommends", "recommends"),
        ("Suggests", "suggests"),
        ("Breaks", "breaks"),
        ("Conflicts", "conflicts"),
        ("Replaces", "replaces"),
        ("Provides", "provides"),
    ] {
        let given = !str_list(pkg.get(key)).is_empty();
        if get(field).is_some() != given {
            out.push(v(
                "control-field",
                format!(
                    "{field} present: {}, recipe's {key}: {given}",
                    get(field).is_some()
                ),
            ));
        }
    }
    for (field, key) in [
        ("Package", "name"),
        ("Maintainer", "maintainer"),
        ("Homepage", "homepage"),
    ] {
        let want = match pkg.get(key) {
            // See `deb_paths`: a number's source text is lost.
            Some(Value::String(s)) => Some(s.trim().to_string()),
            None => None,
            Some(_) => continue,
        };
        // dpkg trims field values.
        let got = get(field).map(|s| s.trim().to_string());
        if key == "homepage" && want.is_none() && got.is_none() {
            continue;
        }
        if got != want {
            out.push(v(
                "control-field",
                format!("{field} is {got:?}, recipe says {want:?}"),
            ));
        }
    }
    if seen.last().map(|(k, _)| k.as_str()) != Some("Description") {
        out.push(v("control-field", "Description is not the last field"));
    }
    out
}

// ---------------------------------------------------------------- scripts

pub struct ScriptChecker {
    pub shellcheck: bool,
    cache: HashMap<u64, Option<String>>,
    pub runs: u64,
}

impl ScriptChecker {
    pub fn new(shellcheck: bool) -> ScriptChecker {
        ScriptChecker {
            shellcheck,
            cache: HashMap::new(),
            runs: 0,
        }
    }

    /// `dash -n` and `shellcheck -s sh -S style` on each maintainer script;
    /// results cached by content (most cases share their scripts).
    pub fn check(&mut self, control_dir: &Path, with_shellcheck: bool) -> Vec<Violation> {
        let mut out = Vec::new();
        for name in ["preinst", "postinst", "prerm", "postrm"] {
            let p = control_dir.join(name);
            let Ok(bytes) = fs::read(&p) else { continue };
            if !bytes.starts_with(b"#!/bin/sh\n") {
                out.push(v(
                    "script-shebang",
                    format!("{name} does not start with #!/bin/sh"),
                ));
            }
            let key = hash_bytes(&bytes) ^ (with_shellcheck && self.shellcheck) as u64;
            let verdict = match self.cache.get(&key) {
                Some(r) => r.clone(),
                None => {
                    let r = self.run(&p, with_shellcheck && self.shellcheck);
                    if self.cache.len() > 20_000 {
                        self.cache.clear();
                    }
                    self.cache.insert(key, r.clone());
                    r
                }
            };
            if let Some(msg) = verdict {
                let inv = if msg.starts_with("dash") {
                    "script-dash-n"
                } else {
                    "script-shellcheck"
                };
                out.push(v(inv, format!("{name}: {msg}")));
            }
        }
        out
    }

    fn run(&mut self, p: &Path, shellcheck: bool) -> Option<String> {
        let dash = Command::new("dash").arg("-n").arg(p).output().ok()?;
        if !dash.status.success() {
            return Some(format!(
                "dash -n: {}",
                String::from_utf8_lossy(&dash.stderr).trim()
            ));
        }
        if shellcheck {
            self.runs += 1;
            let sc = Command::new("shellcheck")
                .args(["-s", "sh", "-S", "style", "-f", "gcc"])
                .arg(p)
                .output()
                .ok()?;
            if !sc.status.success() {
                let text = String::from_utf8_lossy(&sc.stdout)
                    .replace(&format!("{}:", p.display()), "line ");
                let first: Vec<&str> = text.lines().take(3).collect();
                return Some(format!("shellcheck: {}", first.join(" | ")));
            }
        }
        None
    }
}

// ---------------------------------------------------------------- unit files

/// `(section, key, value)` as systemd reads a unit file: `\n`, `\r` and NUL end
/// lines, `#`/`;` comments, a trailing backslash continues the line.
pub fn parse_unit(text: &[u8]) -> Vec<(String, String, String)> {
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<String> = None;
    for raw in text.split(['\n', '\r', '\0']) {
        let line = raw.trim_matches(|c: char| c == ' ' || c == '\t');
        let mut full = match pending.take() {
            Some(p) if line.starts_with(['#', ';']) => {
                pending = Some(p);
                continue;
            }
            Some(mut p) => {
                p.push_str(line);
                p
            }
            None if line.is_empty() || line.starts_with(['#', ';']) => continue,
            None => line.to_string(),
        };
        if full.ends_with('\\') {
            full.pop();
            full.push(' ');
            pending = Some(full);
            continue;
        }
        if full.starts_with('[') && full.ends_with(']') {
            section = full[1..full.len() - 1].to_string();
            continue;
        }
        match full.split_once('=') {
            Some((k, val)) => out.push((
                section.clone(),
                k.trim().to_string(),
                val.trim().to_string(),
            )),
            None => out.push((
                section.clone(),
                String::from("<not an assignment>"),
                full.clone(),
            )),
        }
    }
    if let Some(p) = pending {
        out.push((section, String::from("<unterminated continuation>"), p));
    }
    out
}

/// The source text of every plain scalar value, by dotted path (`units[0].sections.
/// Service.Nice`, `…ExecStart[1]`), read event by event with yaml-rust2.
pub fn plain_scalars(text: &str) -> HashMap<String, String> {
    use yaml_rust2::parser::{Event, Parser};
    use yaml_rust2::scanner::TScalarStyle;
    enum Frame {
        Map(String, Option<String>),
        Seq(String, usize),
    }
    let mut out = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let join = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_string()
        } else {
            format!("{p}.{k}")
        }
    };
    let mut parser = Parser::new_from_str(text);
    // The path of the node that starts now; None for a mapping key (remembered).
    let next = |stack: &mut Vec<Frame>, key_text: &str| -> Option<String> {
        match stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq(p, i)) => {
                *i += 1;
                Some(format!("{p}[{}]", *i - 1))
            }
            Some(Frame::Map(p, key)) => match key.take() {
                Some(k) => Some(join(p, &k)),
                None => {
                    *key = Some(key_text.to_string());
                    None
                }
            },
        }
    };
    while let Ok((ev, _)) = parser.next_token() {
        match ev {
            Event::StreamEnd => break,
            Event::Scalar(value, style, _, _) => {
                if let Some(path) = next(&mut stack, &value) {
                    if style == TScalarStyle::Plain {
                        out.insert(path, value);
                    }
                }
            }
            Event::Alias(_) => {
                next(&mut stack, "*");
            }
            Event::MappingStart(..) => {
                let path = next(&mut stack, "?").unwrap_or_default();
                stack.push(Frame::Map(path, None));
            }
            Event::SequenceStart(..) => {
                let path = next(&mut stack, "?").unwrap_or_default();
                stack.push(Frame::Seq(path, 0));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
        if stack.len() > 64 {
            break;
        }
    }
    out
}

const UNIT_DIRS: &[&str] = &[
    "usr/lib/systemd/user",
    "lib/systemd/user",
    "lib/systemd/system",
    "usr/lib/systemd/system",
];

/// Every unit of the recipe is in the package and reads back as the recipe
/// gave it: its directives (inline units) or its bytes (`file:` units).
pub fn units(recipe: &Value, text: &str, recipe_dir: &Path, data: &Path) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(Value::Sequence(units)) = recipe.get("units") else {
        return out;
    };
    let sources = plain_scalars(text);
    // A directive's number or boolean is the unit's text as written in the recipe.
    let as_written = |path: String, v: &Value| match v {
        Value::Number(_) | Value::Bool(_) => sources.get(&path).cloned().or_else(|| value_text(v)),
        _ => value_text(v),
    };
    for (ui, u) in units.iter().enumerate() {
        let file = u.get("file").and_then(value_text);
        let name = u
            .get("name")
            .and_then(value_text)
            .or_else(|| {
                file.as_ref()
                    .map(|f| f.rsplit('/').next().unwrap_or("").to_string())
            })
            .unwrap_or_default();
        // A user and a system unit may share a name: look in the unit's scope.
        let dirs: &[&str] = match u.get("scope").and_then(value_text).as_deref() {
            Some("user") => &UNIT_DIRS[..2],
            Some("system") => &UNIT_DIRS[2..],
            _ => UNIT_DIRS,
        };
        let found = dirs.iter().map(|d| data.join(d).join(&name)).find(|p| {
            fs::symlink_metadata(p)
                .map(|m| m.is_file())
                .unwrap_or(false)
        });
        let Some(path) = found else {
            out.push(v(
                "unit-missing",
                format!("unit {name:?} is not in a unit directory of the package"),
            ));
            continue;
        };
        let got = fs::read(&path).unwrap_or_default();
        if let Some(f) = file {
            let src = recipe_dir.join(&f);
            match fs::symlink_metadata(&src) {
                Ok(m) if m.is_file() => {
                    if fs::read(&src).map(|b| b != got).unwrap_or(true) {
                        out.push(v("unit-roundtrip", format!("unit {name:?} differs from its file {f:?}")));
                    }
                }
                _ => out.push(v("unit-file-not-regular-accepted", format!("unit {name:?}: file {f:?} is not a regular file in the recipe dir, yet accepted"))),
            }
            continue;
        }
        let mut want = Vec::new();
        if let Some(Value::Mapping(sections)) = u.get("sections") {
            for (s, directives) in sections {
                let s = value_text(s).unwrap_or_default();
                let Value::Mapping(directives) = directives else {
                    continue;
                };
                for (k, val) in directives {
                    let k = value_text(k).unwrap_or_default();
                    match val {
                        Value::Sequence(items) => {
                            for (n, i) in items.iter().enumerate() {
                                let path = format!("units[{ui}].sections.{s}.{k}[{n}]");
                                want.push((
                                    s.clone(),
                                    k.clone(),
                                    as_written(path, i).unwrap_or_default().trim().to_string(),
                                ));
                            }
                        }
                        other => want.push((
                            s.clone(),
                            k.clone(),
                            as_written(format!("units[{ui}].sections.{s}.{k}"), other)
                                .unwrap_or_default()
                                .trim()
                                .to_string(),
                        )),
                    }
                }
            }
        }
        // Sections may come in another order (systemd does not care); the
        // directives of each section may not.
        let by_section = |list: &[(String, String, String)]| {
            let mut m: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            for (s, k, val) in list {
                m.entry(s.clone())
                    .or_default()
                    .push((k.clone(), val.clone()));
            }
            m
        };
        let parsed = parse_unit(&got);
        if by_section(&parsed) != by_section(&want) {
            let first = parsed
                .iter()
                .zip(want.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(parsed.len().min(want.len()));
            out.push(v(
                "unit-roundtrip",
                format!(
                    "unit {name:?} reads back as {} directives, recipe gave {}; first difference at {first}: got {:?}, want {:?}",
                    parsed.len(),
                    want.len(),
                    parsed.get(first),
                    want.get(first)
                ),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------- package paths

/// The data archive's paths (`dpkg-deb -c`): none twice, nothing under dpkg's
/// own database, nothing of the recipe's inside the package's unitpack
/// directory or the lintian overrides but what unitpack writes there, and no
/// unit file in a unit directory that the recipe does not name.
pub fn deb_paths(listing: &str, recipe: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    // A plain `name: 1e3` is the string "1e3" to unitpack's typed schema but a
    // number to `Value`, whose source text is lost: such names are not compared.
    let pkg = match recipe["package"].get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => return out,
    };
    let mut units: Vec<String> = Vec::new();
    if let Some(Value::Sequence(us)) = recipe.get("units") {
        for u in us {
            let file = u.get("file").and_then(value_text);
            if let Some(n) = u
                .get("name")
                .and_then(value_text)
                .or_else(|| file.map(|f| f.rsplit('/').next().unwrap_or("").to_string()))
            {
                // A `follow: seat` unit brings its follower, a system service named
                // after it: `a.service` → `unitpack-seat-a.service`, `a.socket` →
                // `unitpack-seat-a-socket.service` (docs/designs.md).
                if u.get("follow").is_some() {
                    units.push(match n.rsplit_once('.') {
                        Some((stem, "service")) | Some((stem, "")) => {
                            format!("unitpack-seat-{stem}.service")
                        }
                        Some((stem, kind)) => format!("unitpack-seat-{stem}-{kind}.service"),
                        None => format!("unitpack-seat-{n}.service"),
                    });
                }
                units.push(n);
            }
        }
    }
    // Drop-ins live in `UNIT.d/` of the unit they change.
    let mut dropin_dirs: Vec<String> = Vec::new();
    if let Some(Value::Sequence(ds)) = recipe.get("dropins") {
        for d in ds {
            if let Some(unit) = d.get("unit").and_then(value_text) {
                dropin_dirs.push(format!("{unit}.d/"));
            }
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for line in listing.lines() {
        let Some(i) = line.find(" ./") else { continue };
        let is_file = line.starts_with('-');
        let mut path = line[i + 2..].to_string();
        if line.starts_with('l') {
            if let Some(j) = path.find(" -> ") {
                path.truncate(j);
            }
        }
        let path = path.trim_end_matches('/').to_string();
        if seen.contains(&path) {
            out.push(v(
                "deb-paths",
                format!("{path:?} twice in the data archive"),
            ));
        }
        seen.push(path.clone());
        if path.starts_with("/var/lib/dpkg") {
            out.push(v(
                "deb-paths",
                format!("{path:?} is dpkg's, not the package's"),
            ));
        }
        if let Some(rest) = path.strip_prefix("/usr/share/unitpack/") {
            if is_file && rest != format!("{pkg}/manifest") {
                out.push(v(
                    "deb-paths",
                    format!("{path:?} in the package's unitpack directory"),
                ));
            }
        }
        if let Some(rest) = path.strip_prefix("/usr/share/lintian/overrides/") {
            if is_file && rest != pkg {
                out.push(v(
                    "deb-paths",
                    format!("{path:?} among the lintian overrides"),
                ));
            }
        }
        for d in UNIT_DIRS {
            if let Some(name) = path.strip_prefix(&format!("/{d}/")) {
                let dropin = name.ends_with(".conf")
                    && dropin_dirs.iter().any(|d| {
                        name.strip_prefix(d.as_str())
                            .is_some_and(|f| !f.contains('/'))
                    });
                if is_file && !dropin && !units.iter().any(|u| u == name) {
                    out.push(v(
                        "deb-paths",
                        format!("{path:?} in a unit directory is not a unit of the recipe"),
                    ));
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------- the .bb

#[derive(Clone, Copy, Debug, PartialEq)]
enum Hole {
    /// Inside a bitbake "…" string.
    Quoted,
    /// In do_install: shell words.
    Shell,
    /// A whole value: `"\` (a list follows), `"…"`, or bare words.
    Value,
    /// In another shell function (pkg_postinst, pkg_prerm, …): shell words separated
    /// by spaces (unit names, `foo@*.service` patterns in single quotes).
    Words,
    /// In a comment: anything on the line.
    Comment,
}

#[derive(Debug)]
enum Seg {
    Lit(String),
    Hole(Hole),
}

/// Line shapes of a template: literal text and holes, each hole limited to
/// what its context can hold without starting something new.
pub struct BbShapes {
    lines: Vec<Vec<Seg>>,
}

/// Bitbake variables the generator itself writes; anything else `${…}` in a
/// value is the recipe author's and must not reach the .bb unescaped.
const BB_VARS: &[&str] = &[
    "D",
    "S",
    "PN",
    "datadir",
    "sysconfdir",
    "systemd_user_unitdir",
    "systemd_system_unitdir",
    "systemd_unitdir",
    "COMMON_LICENSE_DIR",
    "libdir",
    "bindir",
    "sbindir",
    "base_libdir",
    "nonarch_base_libdir",
    "nonarch_libdir",
    "base_bindir",
    "base_sbindir",
    "prefix",
    "localstatedir",
    "docdir",
    "UNITPACK_USER_AUTO_ENABLE",
    // The helper relation, empty on releases whose Rust cannot build the helper.
    "UNITPACK_HELPER",
];
const VAR_MARK: char = '\u{e000}';

fn normalize(line: &str) -> String {
    let mut s = line.to_string();
    for var in BB_VARS {
        s = s.replace(&format!("${{{var}}}"), &VAR_MARK.to_string());
    }
    s
}

fn shell_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "@:._/+%=,~-".contains(c) || c == VAR_MARK
}

fn quoted_ok(s: &str) -> bool {
    !s.contains("${")
        && !s
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

impl BbShapes {
    pub fn from_template(text: &str) -> BbShapes {
        let mut lines = Vec::new();
        let mut in_install = false;
        let mut in_func = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("{{#") || t.starts_with("{{/") || t == "{{else}}" {
                continue;
            }
            if t.starts_with("do_install()") {
                in_install = true;
            } else if t.ends_with("() {") {
                in_func = true;
            }
            let line = normalize(line);
            let mut segs = Vec::new();
            let mut rest = line.as_str();
            let mut quotes = 0;
            let mut comment = line.trim_start().starts_with('#');
            while let Some(i) = rest.find("{{") {
                let lit = &rest[..i];
                quotes += lit.matches('"').count();
                comment |= lit.contains(" #");
                segs.push(Seg::Lit(lit.to_string()));
                let end = rest[i..]
                    .find("}}")
                    .map(|e| i + e + 2)
                    .unwrap_or(rest.len());
                segs.push(Seg::Hole(if comment {
                    Hole::Comment
                } else if quotes % 2 == 1 {
                    Hole::Quoted
                } else if in_install {
                    Hole::Shell
                } else if in_func {
                    Hole::Words
                } else {
                    Hole::Value
                }));
                rest = &rest[end..];
            }
            segs.push(Seg::Lit(rest.to_string()));
            if t == "}" {
                in_install = false;
                in_func = false;
            }
            lines.push(segs);
        }
        BbShapes { lines }
    }

    /// Lines of a generated .bb that no template line makes.
    pub fn check(&self, bb: &str) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut in_list = false;
        for (n, raw) in bb.split('\n').enumerate() {
            if raw.is_empty() && n + 1 == bb.split('\n').count() {
                break;
            }
            let line = normalize(raw);
            if in_list {
                if line == "\"" {
                    in_list = false;
                    continue;
                }
                let ok = line
                    .strip_prefix("    ")
                    .and_then(|l| l.strip_suffix(" \\"))
                    .is_some_and(|item| !item.is_empty() && item.chars().all(shell_char));
                if !ok {
                    out.push(v(
                        "bb-line-shape",
                        format!("line {}: list item {raw:?}", n + 1),
                    ));
                }
                continue;
            }
            let mut opens_list = false;
            if !self
                .lines
                .iter()
                .any(|segs| matches(segs, &line, &mut opens_list))
            {
                out.push(v(
                    "bb-line-shape",
                    format!("line {}: no template line makes {raw:?}", n + 1),
                ));
            }
            in_list = opens_list;
        }
        out
    }
}

fn matches(segs: &[Seg], s: &str, opens_list: &mut bool) -> bool {
    match segs.split_first() {
        None => s.is_empty(),
        Some((Seg::Lit(l), rest)) => s
            .strip_prefix(l.as_str())
            .is_some_and(|r| matches(rest, r, opens_list)),
        Some((Seg::Hole(h), rest)) => {
            // Every split point: holes are short and lines few.
            let mut ends: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
            ends.push(s.len());
            for &e in ends.iter().rev() {
                let (hole, r) = s.split_at(e);
                let ok = match h {
                    Hole::Comment => true,
                    Hole::Quoted => quoted_ok(hole),
                    Hole::Shell => !hole.is_empty() && hole.chars().all(shell_char),
                    Hole::Words => {
                        !hole.is_empty()
                            && !hole.contains("  ")
                            && hole.chars().all(|c| shell_char(c) || c == ' ' || c == '*')
                    }
                    Hole::Value => {
                        if hole == "\"\\"
                            && rest
                                .iter()
                                .all(|s| matches!(s, Seg::Lit(l) if l.is_empty()))
                        {
                            if r.is_empty() {
                                *opens_list = true;
                                return true;
                            }
                            false
                        } else if let Some(inner) =
                            hole.strip_prefix('"').and_then(|h| h.strip_suffix('"'))
                        {
                            inner.chars().all(|c| shell_char(c) || c == ' ')
                        } else {
                            !hole.is_empty()
                                && hole
                                    .chars()
                                    .all(|c| c.is_ascii_alphanumeric() || "_- ".contains(c))
                        }
                    }
                };
                if ok && matches(rest, r, opens_list) {
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_layer_matches_its_template() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let shapes = BbShapes::from_template(
            &fs::read_to_string(repo.join("templates/yocto/recipe.bb.hbs")).unwrap(),
        );
        let mut checked = 0;
        for dir in fs::read_dir(repo.join("meta-layer/recipes-unitpack")).unwrap() {
            let dir = dir.unwrap().path();
            if dir.ends_with("unitpack-check") {
                continue;
            }
            for f in fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|x| x == "bb") {
                    let bad = shapes.check(&fs::read_to_string(&f).unwrap());
                    assert!(bad.is_empty(), "{}: {bad:?}", f.display());
                    checked += 1;
                }
            }
        }
        assert!(checked >= 2);
        // An injected command, a second line, an unknown variable: all caught.
        for evil in [
            "    install -d ${D}${datadir}/x;touch${IFS}pwned\n",
            "SUMMARY = \"a\"\nX = \"b\"\n",
            "DESCRIPTION = \"${@os.system('id')}\"\n",
            "SRC_URI = \"\\\n    file://a;b \\\n\"\n",
        ] {
            assert!(!shapes.check(evil).is_empty(), "{evil:?} passed");
        }
    }

    #[test]
    fn markers_are_found_across_chunks() {
        let dir = std::env::temp_dir().join(format!("unitpack-fuzz-marker-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut big = vec![b'x'; (1 << 20) - 3];
        big.extend_from_slice(b"MARKER");
        fs::write(dir.join("a"), &big).unwrap();
        fs::write(dir.join("b"), b"nothing").unwrap();
        assert_eq!(files_containing(&dir, b"MARKER"), ["a"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_followed_units_follower_is_a_unit_of_the_recipe() {
        let recipe: Value = serde_yaml::from_str(
            "package: {name: pk}\nunits:\n  - {name: snd.socket, scope: user, follow: seat}\n  - {name: a.service, scope: user, follow: seat}\n",
        )
        .unwrap();
        let listing = "\
-rw-r--r-- root/root 1 2026-01-01 00:00 ./lib/systemd/system/unitpack-seat-snd-socket.service
-rw-r--r-- root/root 1 2026-01-01 00:00 ./lib/systemd/system/unitpack-seat-a.service
-rw-r--r-- root/root 1 2026-01-01 00:00 ./usr/lib/systemd/user/snd.socket
";
        assert!(deb_paths(listing, &recipe).is_empty());
        let stray = "-rw-r--r-- root/root 1 2026-01-01 00:00 ./lib/systemd/system/unitpack-seat-snd.service\n";
        assert_eq!(deb_paths(stray, &recipe).len(), 1);
    }

    #[test]
    fn unit_parsing_follows_systemd() {
        let got =
            parse_unit(b"# c\n[Service]\nExecStart=/bin/a \\\n  b\nUser=x\0ExecStartPre=/evil\n");
        assert_eq!(
            got,
            [
                (
                    String::from("Service"),
                    String::from("ExecStart"),
                    String::from("/bin/a  b")
                ),
                (
                    String::from("Service"),
                    String::from("User"),
                    String::from("x")
                ),
                (
                    String::from("Service"),
                    String::from("ExecStartPre"),
                    String::from("/evil")
                ),
            ]
        );
    }
}
