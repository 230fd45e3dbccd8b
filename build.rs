//! Build script of `unitpack`: turns lint's data into the Rust tables that
//! `src/lint/table.rs` includes from `OUT_DIR`, and lists the helper crate's sources
//! (`unitpack-check/`, `unitpack-manifest/`) for `src/yocto/helper.rs` to build into
//! the binary, so that `unitpack yocto` writes the helper's source archive anywhere,
//! not only in a checkout of unitpack.
//!
//! Inputs (checked in, tab-separated, a header line first; extra columns are ignored):
//! - `data/systemd-directives.tsv`: section, directive, first_version,
//!   last_version_seen, status (ok, ignored, obsolete, removed), a copy of
//!   `../shared/systemd-directives.tsv`;
//! - `data/systemd-specifiers.tsv`: specifier (`%` and one letter), first_version,
//!   meaning, a copy of `../shared/systemd-specifiers.tsv`;
//! - `data/systemd-directives-parsed.tsv`: section, directive, parsed_until, unitpack's
//!   own correction (never copied from `../shared`). The status column of the
//!   directives is judged at the newest release, and some directives it calls ignored
//!   or obsolete were parsed for real by older releases (seen in their source:
//!   `tests/lint.rs` checks systemd 229's parser table). Lint applies the status only
//!   above `parsed_until`.
//!
//! `tests/lint.rs` fails when the copies drift from `../shared` (docs/lint.md, "Lint data",
//! says how to refresh them). An error in the data stops the build with the file and
//! line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const DIRECTIVES: &str = "data/systemd-directives.tsv";
const SPECIFIERS: &str = "data/systemd-specifiers.tsv";
const PARSED: &str = "data/systemd-directives-parsed.tsv";
const OUTPUT: &str = "lint_table.rs";

/// One data line: its 1-based line number and its fields.
struct Line {
    number: usize,
    fields: Vec<String>,
}

/// A data file read for the columns it must start with.
struct Tsv {
    name: &'static str,
    lines: Vec<Line>,
}

impl Tsv {
    fn read(top: &Path, name: &'static str, columns: &[&str]) -> Result<Tsv, String> {
        let text = std::fs::read_to_string(top.join(name))
            .map_err(|e| format!("{name}: cannot read it: {e}"))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .ok_or_else(|| format!("{name}:1: empty file, expected a header line"))?
            .split('\t')
            .collect();
        if !header.starts_with(columns) {
            return Err(format!(
                "{name}:1: header {header:?} does not start with {columns:?}"
            ));
        }
        let mut out = Vec::new();
        for (i, line) in lines.enumerate() {
            let number = i + 2;
            let fields: Vec<String> = line.split('\t').map(str::to_string).collect();
            if fields.len() < columns.len() {
                return Err(format!(
                    "{name}:{number}: expected {} tab-separated columns ({}), found {}",
                    columns.len(),
                    columns.join(", "),
                    fields.len()
                ));
            }
            out.push(Line { number, fields });
        }
        Ok(Tsv { name, lines: out })
    }

    fn at(&self, line: &Line) -> String {
        format!("{}:{}", self.name, line.number)
    }

    fn version(&self, line: &Line, column: usize, what: &str) -> Result<u32, String> {
        let text = &line.fields[column];
        text.parse()
            .map_err(|_| format!("{}: {what} {text:?} is not a release number", self.at(line)))
    }
}

fn status(name: &str) -> Option<&'static str> {
    Some(match name {
        "ok" => "Ok",
        "ignored" => "Ignored",
        "obsolete" => "Obsolete",
        "removed" => "Removed",
        _ => return None,
    })
}

struct Directive<'a> {
    section: &'a str,
    name: &'a str,
    first: u32,
    last: u32,
    status: &'a str,
    at: String,
}

fn render(top: &Path) -> Result<String, String> {
    let directives_tsv = Tsv::read(
        top,
        DIRECTIVES,
        &[
            "section",
            "directive",
            "first_version",
            "last_version_seen",
            "status",
        ],
    )?;
    let specifiers_tsv = Tsv::read(top, SPECIFIERS, &["specifier", "first_version", "meaning"])?;
    let parsed_tsv = Tsv::read(top, PARSED, &["section", "directive", "parsed_until"])?;

    let mut directives = Vec::new();
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for line in &directives_tsv.lines {
        let f = &line.fields;
        let d = Directive {
            section: &f[0],
            name: &f[1],
            first: directives_tsv.version(line, 2, "first_version")?,
            last: directives_tsv.version(line, 3, "last_version_seen")?,
            status: &f[4],
            at: directives_tsv.at(line),
        };
        if status(d.status).is_none() {
            return Err(format!(
                "{}: unknown status {:?} for {}.{} (ok, ignored, obsolete or removed)",
                d.at, d.status, d.section, d.name
            ));
        }
        if d.first > d.last {
            return Err(format!(
                "{}: {}.{}: first_version {} is after last_version_seen {}",
                d.at, d.section, d.name, d.first, d.last
            ));
        }
        if let Some(i) = seen.insert((d.section, d.name), directives.len()) {
            let other: &Directive = &directives[i];
            return Err(format!(
                "{}: {}.{} is already on {}",
                d.at, d.section, d.name, other.at
            ));
        }
        directives.push(d);
    }

    let mut parsed = Vec::new();
    let mut parsed_seen: HashMap<(&str, &str), String> = HashMap::new();
    for line in &parsed_tsv.lines {
        let (section, name) = (line.fields[0].as_str(), line.fields[1].as_str());
        let until = parsed_tsv.version(line, 2, "parsed_until")?;
        let at = parsed_tsv.at(line);
        let Some(row) = seen
            .get(&(section, name))
            .map(|&i| &directives[i])
            .filter(|d| matches!(d.status, "ignored" | "obsolete"))
        else {
            return Err(format!(
                "{at}: {section}.{name} is not an ignored or obsolete directive of {DIRECTIVES}"
            ));
        };
        if !(row.first <= until && until < row.last) {
            return Err(format!(
                "{at}: {section}.{name}: parsed_until {until} outside {}..{} ({})",
                row.first, row.last, row.at
            ));
        }
        if let Some(other) = parsed_seen.insert((section, name), at.clone()) {
            return Err(format!("{at}: {section}.{name} is already on {other}"));
        }
        parsed.push((section, name, until));
    }

    let mut specifiers = Vec::new();
    let mut letters: HashMap<char, String> = HashMap::new();
    for line in &specifiers_tsv.lines {
        let at = specifiers_tsv.at(line);
        let spec = &line.fields[0];
        let mut chars = spec.chars();
        let (Some('%'), Some(letter), None) = (chars.next(), chars.next(), chars.next()) else {
            return Err(format!(
                "{at}: bad specifier {spec:?}: expected % and one character"
            ));
        };
        if let Some(other) = letters.insert(letter, at.clone()) {
            return Err(format!("{at}: specifier {spec} is already on {other}"));
        }
        let first = specifiers_tsv.version(line, 1, "first_version")?;
        specifiers.push((letter, first, line.fields[2].as_str()));
    }

    // Rust compares &str byte-wise, and so does the sort: the tables can be
    // binary-searched by (section, directive).
    directives.sort_by(|a, b| (a.section, a.name).cmp(&(b.section, b.name)));
    parsed.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    if directives.is_empty() {
        return Err(format!("{DIRECTIVES}: no directives"));
    }
    let versions = directives
        .iter()
        .flat_map(|d| [d.first, d.last])
        .chain(specifiers.iter().map(|s| s.1));
    let (min, max) = versions.fold((u32::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));

    let mut out = String::new();
    let w = &mut out;
    // Writing to a String cannot fail.
    let _ = writeln!(
        w,
        "// @generated by build.rs from {DIRECTIVES},\n// {PARSED} and {SPECIFIERS}.\n"
    );
    let _ = writeln!(
        w,
        "/// Oldest and newest systemd release the data was taken from.\n\
         pub const DATA_RANGE: (u32, u32) = ({min}, {max});\n"
    );
    let _ = writeln!(
        w,
        "/// (section, directive, first release, last release seen, status), sorted by section\n\
         /// then directive.\n\
         pub static DIRECTIVES: &[(&str, &str, u32, u32, Status)] = &["
    );
    for d in &directives {
        let status = status(d.status).unwrap_or_default();
        let _ = writeln!(
            w,
            "    ({:?}, {:?}, {}, {}, Status::{status}),",
            d.section, d.name, d.first, d.last
        );
    }
    let _ = writeln!(
        w,
        "];\n\n\
         /// (section, directive, last release that parsed it for real): the Ignored or Obsolete\n\
         /// status above applies only to later releases. Sorted like DIRECTIVES.\n\
         pub static PARSED_UNTIL: &[(&str, &str, u32)] = &["
    );
    for (section, name, until) in &parsed {
        let _ = writeln!(w, "    ({section:?}, {name:?}, {until}),");
    }
    let _ = writeln!(
        w,
        "];\n\n\
         /// (letter, first release, meaning); `%` is the `%%` escape.\n\
         pub static SPECIFIERS: &[(char, u32, &str)] = &["
    );
    for (letter, first, meaning) in &specifiers {
        let _ = writeln!(w, "    ({letter:?}, {first}, {meaning:?}),");
    }
    let _ = writeln!(w, "];");
    Ok(out)
}

fn main() {
    let top = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    for name in [DIRECTIVES, SPECIFIERS, PARSED] {
        println!("cargo:rerun-if-changed={name}");
    }
    let table = match render(&top) {
        Ok(table) => table,
        Err(e) => {
            eprintln!("error: lint data: {e}");
            std::process::exit(1);
        }
    };
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let out = out_dir.join(OUTPUT);
    if let Err(e) = std::fs::write(&out, table) {
        eprintln!("error: writing {}: {e}", out.display());
        std::process::exit(1);
    }
    match yocto_profiles(&top) {
        Ok(list) => {
            let out = out_dir.join(YOCTO_PROFILES_OUTPUT);
            if let Err(e) = std::fs::write(&out, list) {
                eprintln!("error: writing {}: {e}", out.display());
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("error: Yocto profiles: {e}");
            std::process::exit(1);
        }
    }
    let sources = match helper_sources(&top) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: helper sources: {e}");
            std::process::exit(1);
        }
    };
    let out = out_dir.join(HELPER_OUTPUT);
    if let Err(e) = std::fs::write(&out, sources) {
        eprintln!("error: writing {}: {e}", out.display());
        std::process::exit(1);
    }
}

/// `src/profile.rs` includes the list of `profiles/yocto-*.yaml` from here, in name
/// order (release order: Yocto's code names are alphabetical from kirkstone on), so
/// that a Yocto release is added by its profile file alone.
const YOCTO_PROFILES_OUTPUT: &str = "yocto_profiles.rs";

fn yocto_profiles(top: &Path) -> Result<String, String> {
    let dir = top.join("profiles");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("yocto-") && n.ends_with(".yaml"))
        .collect();
    names.sort();
    let mut out = String::from("&[\n");
    for n in &names {
        let path = dir.join(n);
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            n.trim_end_matches(".yaml"),
            path.display().to_string()
        );
    }
    out.push(']');
    Ok(out)
}

/// The crates of the helper's source archive, each a directory beside this one.
const HELPER_CRATES: &[&str] = &["unitpack-check", "unitpack-manifest"];
/// Files of a crate's top directory that the archive may hold (besides `src/`).
const HELPER_TOP_FILES: &[&str] = &[
    "Cargo.toml",
    "LICENSE",
    "README.md",
    "build.rs",
    "unitpack-check.1",
];
const HELPER_OUTPUT: &str = "helper_sources.rs";

/// `(crate, path in the crate, bytes)` of every file the archive may hold, sorted.
fn helper_sources(top: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    for krate in HELPER_CRATES {
        let dir = top.join(krate);
        println!("cargo:rerun-if-changed={}", dir.display());
        for name in HELPER_TOP_FILES {
            let p = dir.join(name);
            println!("cargo:rerun-if-changed={}", p.display());
            if p.is_file() {
                files.push((krate.to_string(), name.to_string(), p));
            }
        }
        walk(&dir, &dir.join("src"), krate, &mut files)?;
    }
    files.sort();
    let mut out = String::from(
        "/// Generated by build.rs: the helper's crates, as files.\npub(crate) const HELPER_SOURCES: &[(&str, &str, &[u8])] = &[\n",
    );
    for (krate, rel, path) in &files {
        writeln!(
            out,
            "    ({krate:?}, {rel:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    Ok(out)
}

fn walk(
    crate_dir: &Path,
    dir: &Path,
    krate: &str,
    files: &mut Vec<(String, String, PathBuf)>,
) -> Result<(), String> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|e| {
            e.map(|e| e.path())
                .map_err(|e| format!("{}: {e}", dir.display()))
        })
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            walk(crate_dir, &p, krate, files)?;
        } else if meta.is_file() {
            let rel = p
                .strip_prefix(crate_dir)
                .expect("below the crate")
                .to_str()
                .ok_or_else(|| format!("{} is not UTF-8", p.display()))?
                .to_string();
            println!("cargo:rerun-if-changed={}", p.display());
            files.push((krate.to_string(), rel, p));
        } else {
            return Err(format!("{} is not a regular file", p.display()));
        }
    }
    Ok(())
}
