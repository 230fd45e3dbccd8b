//! The `unitpack-check` recipe (`inherit cargo`) and the one source archive it
//! fetches, `unitpack-check-VERSION.tar.gz`, a file of the layer (`files/`, fetched
//! as `file://`, so a clone of the layer builds offline): the helper crate, the crates
//! it depends on by path (`../NAME`, std only), a workspace `Cargo.toml` and a
//! `version = 3` Cargo.lock (the oldest cargo of the layer's series reads it), so
//! that bitbake builds it with no network. The archive is reproducible: sorted
//! entries owned by root, one mtime (SOURCE_DATE_EPOCH), gzip without a timestamp.

use super::{bitbake, license, recipe, LayerFile, Templates, HELPER};
use crate::archive::{self, Entry, EntryKind};
use crate::error::{Error, InputError, Result};
use crate::plan::Content;
use crate::profile::Compression;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Serialize)]
struct Context {
    summary: String,
    description: String,
    homepage: Option<String>,
    license: String,
    lic_files_chksum: String,
    src_uri: String,
    /// The archive's top directory (`S`), with `${PV}` for the version.
    top: String,
    /// `rust-version` when kirkstone's Rust (1.59) is too old for it: the recipe then
    /// skips itself on kirkstone.
    skip_on_kirkstone: Option<String>,
    /// The manual page's path below `S`, when the crate has one.
    man_page: Option<String>,
}

/// Rust of the oldest release in the layer's series (kirkstone's cargo_1.59.0.bb).
const KIRKSTONE_RUST: (u32, u32) = (1, 59);

/// A URL that is not anyone's real address: an RFC 2606 name (`example.com`,
/// `*.invalid`, ...). The crate's `homepage`/`repository` may be one until the project
/// has a public home; the recipe then names no HOMEPAGE rather than a wrong one.
fn is_placeholder(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    ["invalid", "example", "test", "localhost"]
        .iter()
        .any(|tld| host == *tld || host.ends_with(&format!(".{tld}")))
        || ["example.com", "example.org", "example.net"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// Files of a crate's `src/` left out of the archive: test-only modules
/// (`#[cfg(test)] mod testutil;`), which the build does not compile.
const TEST_ONLY: &[&str] = &["testutil.rs"];

/// The fields of `[package]` the recipe needs.
struct Manifest {
    name: String,
    version: String,
    license: String,
    description: String,
    /// `homepage`, else `repository`.
    homepage: Option<String>,
    rust_version: Option<String>,
}

/// One crate of the archive: its directory name there, `[package]` and files (by path
/// relative to the crate).
struct Crate {
    /// Its Cargo.toml, for errors.
    label: String,
    dir: String,
    manifest: Manifest,
    /// Names of the crates it depends on (by path, beside it).
    deps: Vec<String>,
    files: BTreeMap<String, Vec<u8>>,
}

/// The helper recipe, its source archive, and the helper's rust-version when kirkstone's
/// Rust is too old for it (the recipe then skips itself there).
pub(super) fn render(
    source: HelperSource,
    templates: &Templates,
    mtime: u64,
) -> Result<(Vec<LayerFile>, Option<String>)> {
    let helper = load_crate(source, None)?;
    let toml_path = helper.label.clone();
    let fail = |message: String| Error::HelperSource {
        label: toml_path.clone(),
        message,
    };
    let version = helper.manifest.version.clone();
    let skip_on_kirkstone = helper
        .manifest
        .rust_version
        .clone()
        .filter(|v| newer_than(v, KIRKSTONE_RUST));
    let m = &helper.manifest;
    if m.name != HELPER {
        return Err(fail(format!(
            "the helper crate is named {:?}, expected {HELPER:?}",
            m.name
        )));
    }
    bitbake::check_version(&version).map_err(fail)?;
    let (license, common_chksum) = license::oe_license(&m.license)
        .ok_or_else(|| fail(format!("license {:?} has no OpenEmbedded name", m.license)))?;
    let description = bitbake::text(&m.description).map_err(fail)?;
    let homepage = m
        .homepage
        .as_deref()
        .filter(|u| !is_placeholder(u))
        .map(bitbake::url)
        .transpose()
        .map_err(fail)?;

    let mut crates = vec![];
    for dep in &helper.deps {
        let c = load_crate(source, Some(dep))?;
        if !c.deps.is_empty() {
            return Err(Error::HelperSource {
                label: c.label,
                message: "the crates the helper depends on must have no dependencies themselves"
                    .into(),
            });
        }
        crates.push(c);
    }
    // The follower units' Documentation= names this page; a helper crate given with
    // --helper may lack it, and then the recipe installs none rather than failing.
    let man_page = helper
        .files
        .contains_key(MAN_PAGE)
        .then(|| format!("{}/{MAN_PAGE}", helper.dir));
    crates.push(helper);
    crates.sort_by(|a, b| a.dir.cmp(&b.dir));

    // Each crate's own license text, when it has one, is what LIC_FILES_CHKSUM should
    // point at (OE's common copy otherwise).
    let lic_files_chksum = {
        use md5::{Digest, Md5};
        let sums: Vec<String> = crates
            .iter()
            .filter_map(|c| {
                let text = c.files.get("LICENSE")?;
                Some(format!(
                    "file://{}/LICENSE;md5={:x}",
                    c.dir,
                    Md5::digest(text)
                ))
            })
            .collect();
        if sums.is_empty() {
            common_chksum
        } else {
            sums.join(" ")
        }
    };

    let top = format!("{HELPER}-{version}");
    // The archive is a file of the layer, so that a clone of the layer builds the
    // helper with an empty DL_DIR and no network (and `--runall=fetch` works).
    let archive = LayerFile {
        path: format!("{}/files/{}", recipe::dir(HELPER), archive_name(&version)),
        data: Content::from(archive(&top, &crates, mtime)?),
    };
    let src_uri = format!("file://{HELPER}-${{PV}}.tar.gz");
    let context = Context {
        // Shorter than any DESCRIPTION (oelint.vars.descriptiontoobrief).
        summary: "On-target checks for units packaged by unitpack".into(),
        description,
        homepage,
        license: license.into(),
        lic_files_chksum,
        src_uri,
        top: format!("{HELPER}-${{PV}}"),
        skip_on_kirkstone: skip_on_kirkstone.clone(),
        man_page,
    };
    let bb = LayerFile {
        path: recipe::bb_path(HELPER, &version),
        data: Content::from(templates.render("helper", &context)?),
    };
    Ok((vec![bb, archive], skip_on_kirkstone))
}

/// The archive's file name for the helper's `version`.
pub fn archive_name(version: &str) -> String {
    format!("{HELPER}-{version}.tar.gz")
}

/// The gzipped tar of the crates below `top/`, with a workspace of them.
fn archive(top: &str, crates: &[Crate], mtime: u64) -> Result<Vec<u8>> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    files.insert(format!("{top}/Cargo.toml"), workspace_toml(crates).into());
    files.insert(format!("{top}/Cargo.lock"), lock(crates).into());
    for c in crates {
        for (rel, data) in &c.files {
            files.insert(format!("{top}/{}/{rel}", c.dir), data.clone());
        }
    }
    let contents: Vec<(String, Content)> = files
        .into_iter()
        .map(|(path, data)| (path, Content::from(data)))
        .collect();
    // Directories, then sorted by component so that parents come before children.
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in &contents {
        let mut p = path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(parent.to_string());
            p = parent;
        }
    }
    let mut entries: Vec<Entry<'_>> = dirs
        .into_iter()
        .map(|path| Entry {
            path,
            kind: EntryKind::Dir,
        })
        .chain(contents.iter().map(|(path, data)| Entry {
            path: path.clone(),
            kind: EntryKind::File { data, mode: 0o644 },
        }))
        .collect();
    entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    let len = archive::tar_len(&entries);
    let mut gz = archive::Compressor::new(
        Vec::with_capacity(len as usize / 3),
        Compression::Gzip,
        len,
        1,
    )?;
    archive::write_tar(&entries, mtime, &mut gz, |_, _| {})?;
    gz.finish()
}

fn workspace_toml(crates: &[Crate]) -> String {
    let quoted = |names: Vec<&str>| {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "# The source archive of {HELPER}, written by `unitpack yocto`: the helper and the\n\
         # crates it depends on, built offline with the Cargo.lock beside this file.\n\
         [workspace]\n\
         members = [{}]\n\
         default-members = [{HELPER:?}]\n\
         resolver = \"2\"\n",
        quoted(crates.iter().map(|c| c.dir.as_str()).collect()),
    )
}

/// A `version = 3` lock file of crates that depend only on each other.
fn lock(crates: &[Crate]) -> String {
    let mut by_name: Vec<&Crate> = crates.iter().collect();
    by_name.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    let mut out = String::from(
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n",
    );
    for c in by_name {
        out.push_str(&format!(
            "\n[[package]]\nname = \"{}\"\nversion = \"{}\"\n",
            c.manifest.name, c.manifest.version
        ));
        if !c.deps.is_empty() {
            let mut deps: Vec<&str> = crates
                .iter()
                .filter(|d| c.deps.contains(&d.dir))
                .map(|d| d.manifest.name.as_str())
                .collect();
            deps.sort();
            out.push_str("dependencies = [\n");
            for d in deps {
                out.push_str(&format!(" \"{d}\",\n"));
            }
            out.push_str("]\n");
        }
    }
    out
}

/// The files of the crate in `dir` the archive carries: Cargo.toml, LICENSE, README.md,
/// build.rs when present, `src/` but its test-only modules.
/// Where the helper's crates are read from.
#[derive(Debug, Clone, Copy)]
pub enum HelperSource<'a> {
    /// A checkout: the helper crate's directory (`--helper DIR`), the crates it depends
    /// on beside it.
    Dir(&'a Path),
    /// The sources built into unitpack (build.rs), so that `unitpack yocto` works in
    /// any repository of recipes.
    BuiltIn,
}

include!(concat!(env!("OUT_DIR"), "/helper_sources.rs"));

/// The helper crate (`dep` None) or one it depends on, from `source`.
fn load_crate(source: HelperSource, dep: Option<&str>) -> Result<Crate> {
    let (label, files, dir_name) = match source {
        HelperSource::Dir(helper_dir) => {
            let dir = match dep {
                None => helper_dir.to_path_buf(),
                Some(d) => helper_dir.parent().unwrap_or(Path::new(".")).join(d),
            };
            let name = dir.file_name().and_then(|n| n.to_str()).map(str::to_string);
            (
                dir.join("Cargo.toml").display().to_string(),
                files_on_disk(&dir)?,
                name,
            )
        }
        HelperSource::BuiltIn => {
            let krate = dep.unwrap_or(HELPER);
            let files: BTreeMap<String, Vec<u8>> = HELPER_SOURCES
                .iter()
                .filter(|(c, _, _)| *c == krate)
                .map(|(_, rel, data)| (rel.to_string(), data.to_vec()))
                .collect();
            if files.is_empty() {
                return Err(Error::HelperSource {
                    label: krate.to_string(),
                    message: "not built into unitpack (build.rs lists the helper's crates); pass --helper DIR".into(),
                });
            }
            (
                format!("{krate}/Cargo.toml (built into unitpack)"),
                files,
                Some(krate.to_string()),
            )
        }
    };
    crate_from_files(label, files, dep.is_none(), dir_name)
}

/// The helper's manual page, in its crate's top directory.
const MAN_PAGE: &str = "unitpack-check.1";

/// Cargo.toml, LICENSE, README.md, build.rs, the manual page and src/ of the crate in
/// `dir`: regular files only.
fn files_on_disk(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    files.insert(
        "Cargo.toml".to_string(),
        read_text(&dir.join("Cargo.toml"))?.into_bytes(),
    );
    for name in ["LICENSE", "README.md", "build.rs", MAN_PAGE] {
        let p = dir.join(name);
        if p.exists() {
            files.insert(name.to_string(), read(&p)?);
        }
    }
    let src = dir.join("src");
    for entry in walkdir::WalkDir::new(&src)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| Error::HelperSource {
            label: src.display().to_string(),
            message: e.to_string(),
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        if !entry.file_type().is_file() {
            return Err(Error::HelperSource {
                label: entry.path().display().to_string(),
                message: "not a regular file; the helper's archive holds only files".into(),
            });
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir stays below its root");
        let rel = rel.to_str().ok_or_else(|| Error::HelperSource {
            label: rel.display().to_string(),
            message: "not a valid UTF-8 path".into(),
        })?;
        files.insert(rel.to_string(), read(entry.path())?);
    }
    Ok(files)
}

/// A crate from its files; `label` names its Cargo.toml in errors.
fn crate_from_files(
    label: String,
    mut files: BTreeMap<String, Vec<u8>>,
    helper: bool,
    dir_name: Option<String>,
) -> Result<Crate> {
    let fail = |message: String| Error::HelperSource {
        label: label.clone(),
        message,
    };
    let toml = String::from_utf8(files.get("Cargo.toml").cloned().unwrap_or_default())
        .map_err(|_| fail("Cargo.toml is not UTF-8".into()))?;
    let manifest = manifest(&toml).map_err(fail)?;
    let deps = path_dependencies(&toml).map_err(fail)?;
    if let Some(d) = deps
        .iter()
        .find(|d| **d == manifest.name || d.contains('/'))
    {
        return Err(fail(format!("cannot ship the dependency ../{d}")));
    }
    let dir = if helper {
        manifest.name.clone()
    } else {
        dir_name.ok_or_else(|| fail("the crate's directory has no UTF-8 name".into()))?
    };
    files.retain(|rel, _| {
        !(rel.starts_with("src/")
            && rel
                .rsplit('/')
                .next()
                .is_some_and(|n| TEST_ONLY.contains(&n)))
    });
    Ok(Crate {
        label,
        dir,
        manifest,
        deps,
        files,
    })
}

/// Largest file of the helper's crates read (a source file, the licence, Cargo.toml).
const MAX_HELPER_FILE: u64 = 1024 * 1024;

/// A file of the helper's crate (`--helper DIR`): bounded, a regular file, no symlink
/// followed; a failure is bad input naming the file.
fn read(path: &Path) -> Result<Vec<u8>> {
    crate::input::read_bytes(path, MAX_HELPER_FILE)
        .map_err(|m| InputError::new(path, None, "--helper", m).into())
}

fn read_text(path: &Path) -> Result<String> {
    crate::input::read_text(path, MAX_HELPER_FILE)
        .map_err(|m| InputError::new(path, None, "--helper", m).into())
}

/// `key = "value"` lines of the `[package]` table. The crate must be standalone:
/// values inherited from a workspace would be lost in the archive.
fn manifest(toml: &str) -> std::result::Result<Manifest, String> {
    let mut section = "";
    let (mut name, mut version, mut license, mut description) = (None, None, None, None);
    let (mut homepage, mut repository, mut rust_version) = (None, None, None);
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if line.contains("workspace = true") || line.contains(".workspace") {
            return Err(format!(
                "{line:?} inherits from the workspace; the crate in the helper's archive must stand alone"
            ));
        }
        if section != "[package]" {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            continue;
        };
        match key.trim() {
            "name" => name = Some(value.to_string()),
            "version" => version = Some(value.to_string()),
            "license" => license = Some(value.to_string()),
            "description" => description = Some(value.to_string()),
            "homepage" => homepage = Some(value.to_string()),
            "repository" => repository = Some(value.to_string()),
            "rust-version" => rust_version = Some(value.to_string()),
            _ => {}
        }
    }
    let need =
        |v: Option<String>, k: &str| v.ok_or_else(|| format!("[package] has no {k} = \"…\""));
    Ok(Manifest {
        name: need(name, "name")?,
        version: need(version, "version")?,
        license: need(license, "license")?,
        description: need(description, "description")?,
        homepage: homepage.or(repository),
        rust_version,
    })
}

/// `version` (`1.75`, `1.75.0`) is above `major.minor`; an unreadable one counts as
/// newer (the skip is the safe side).
fn newer_than(version: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = version.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b))) => (a, b) > (major, minor),
        (Some(Ok(a)), None) => a > major,
        _ => true,
    }
}

/// The dependencies of the crate, all of the form `NAME = { path = "../NAME" }`: the
/// archive is built offline, so a crate from a registry (or a dev- or build-dependency,
/// which Cargo.lock would have to name) is refused.
fn path_dependencies(toml: &str) -> std::result::Result<Vec<String>, String> {
    let mut section = "";
    let mut deps = Vec::new();
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            if section.contains("dependencies") && section != "[dependencies]" {
                return Err(format!(
                    "{section}: the helper's archive is built offline and carries only path dependencies in [dependencies]"
                ));
            }
            continue;
        }
        if section != "[dependencies]" || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            format!(
                "dependency {line:?}: the helper's archive is built offline; only `NAME = {{ path = \"../NAME\" }}` (a std-only crate beside it) can be shipped"
            )
        };
        let (name, value) = line.split_once('=').ok_or_else(bad)?;
        let name = name.trim();
        let path = value
            .trim()
            .strip_prefix('{')
            .and_then(|v| v.strip_suffix('}'))
            .map(str::trim)
            .and_then(|v| v.strip_prefix("path"))
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('='))
            .map(str::trim)
            .and_then(|v| v.strip_prefix("\"../"))
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(bad)?;
        if path != name {
            return Err(bad());
        }
        deps.push(name.to_string());
    }
    Ok(deps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_table() {
        let m = manifest("[package]\nname = \"x\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\ndescription = \"d\"\n[[bin]]\nname = \"y\"\n").unwrap();
        assert_eq!((m.name.as_str(), m.version.as_str()), ("x", "0.1.0"));
        assert!(manifest("[package]\nname = \"x\"\nversion.workspace = true\n").is_err());
        assert!(manifest("[package]\nname = \"x\"\n").is_err());
    }

    #[test]
    fn only_path_dependencies_beside_the_crate() {
        assert_eq!(
            path_dependencies("[package]\nname = \"x\"\n[dependencies]\n# none\n"),
            Ok(vec![])
        );
        assert_eq!(
            path_dependencies(
                "[dependencies]\n# the format\nunitpack-manifest = { path = \"../unitpack-manifest\" }\n[package.metadata.deb]\nname = \"x\"\n"
            ),
            Ok(vec!["unitpack-manifest".to_string()])
        );
        for bad in [
            "[dependencies]\nserde = \"1\"\n",
            "[dependencies]\nm = { path = \"../other\" }\n",
            "[dependencies]\nm = { path = \"m\" }\n",
            "[dependencies]\nm = { path = \"../m\", features = [\"x\"] }\n",
            "[dev-dependencies]\nfoo = \"1\"\n",
            "[build-dependencies]\nfoo = { path = \"../foo\" }\n",
            "[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n",
        ] {
            assert!(path_dependencies(bad).is_err(), "{bad}");
        }
    }

    fn krate(dir: &str, deps: &[&str]) -> Crate {
        Crate {
            label: format!("{dir}/Cargo.toml"),
            dir: dir.into(),
            manifest: Manifest {
                name: dir.into(),
                version: "0.1.0".into(),
                license: "MIT".into(),
                description: "d".into(),
                homepage: None,
                rust_version: None,
            },
            deps: deps.iter().map(|d| d.to_string()).collect(),
            files: BTreeMap::from([("src/main.rs".to_string(), b"fn main() {}\n".to_vec())]),
        }
    }

    #[test]
    fn lock_and_workspace() {
        let crates = [krate("a-lib", &[]), krate("unitpack-check", &["a-lib"])];
        assert_eq!(
            lock(&crates),
            "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n\n\
             [[package]]\nname = \"a-lib\"\nversion = \"0.1.0\"\n\n\
             [[package]]\nname = \"unitpack-check\"\nversion = \"0.1.0\"\ndependencies = [\n \"a-lib\",\n]\n"
        );
        let ws = workspace_toml(&crates);
        assert!(
            ws.contains("members = [\"a-lib\", \"unitpack-check\"]\n"),
            "{ws}"
        );
        assert!(
            ws.contains("default-members = [\"unitpack-check\"]\n"),
            "{ws}"
        );
    }

    #[test]
    fn archive_is_sorted_owned_by_root_and_dated() {
        let crates = [krate("a-lib", &[]), krate("unitpack-check", &["a-lib"])];
        let gz = archive("top-1", &crates, 1_700_000_000).unwrap();
        assert_eq!(gz, archive("top-1", &crates, 1_700_000_000).unwrap());
        assert_ne!(gz, archive("top-1", &crates, 1_600_000_000).unwrap());
        // gzip header: no mtime (bytes 4..8), OS Unix.
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&gz[4..8], &[0, 0, 0, 0]);
        assert_eq!(gz[9], 3);
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
        let mut names = Vec::new();
        for e in tar.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.mtime().unwrap(), 1_700_000_000);
            names.push(e.path().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(
            names,
            [
                "./top-1/",
                "./top-1/Cargo.lock",
                "./top-1/Cargo.toml",
                "./top-1/a-lib/",
                "./top-1/a-lib/src/",
                "./top-1/a-lib/src/main.rs",
                "./top-1/unitpack-check/",
                "./top-1/unitpack-check/src/",
                "./top-1/unitpack-check/src/main.rs",
            ]
        );
    }

    #[test]
    fn rust_versions_against_kirkstone() {
        assert!(newer_than("1.75", KIRKSTONE_RUST));
        assert!(newer_than("1.60.0", KIRKSTONE_RUST));
        assert!(!newer_than("1.59", KIRKSTONE_RUST));
        assert!(!newer_than("1.56.1", KIRKSTONE_RUST));
        assert!(newer_than("x", KIRKSTONE_RUST));
    }

    #[test]
    fn the_built_in_helper_carries_the_manual_page_its_units_name() {
        let helper = load_crate(HelperSource::BuiltIn, None).unwrap();
        let page = helper
            .files
            .get(MAN_PAGE)
            .expect("the manual page is built in");
        // man:NAME(SECTION) → NAME.SECTION, whose .TH line says NAME and SECTION.
        let named = crate::follow::DOCUMENTATION
            .strip_prefix("man:")
            .and_then(|m| m.strip_suffix(')'))
            .and_then(|m| m.split_once('('))
            .expect("man:NAME(SECTION)");
        assert_eq!(MAN_PAGE, format!("{}.{}", named.0, named.1));
        let th = format!(".TH {} {} ", named.0.to_uppercase(), named.1);
        assert!(page.starts_with(th.as_bytes()), "{th}");
    }
}
