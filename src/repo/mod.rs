//! A signed Debian repository that apt installs from (xenial's apt 1.2 as Debian 12's):
//! `pool/COMPONENT/PREFIX/SOURCE/*.deb`,
//! `dists/SUITE/COMPONENT/binary-ARCH/Packages{,.gz,.xz}`, `dists/SUITE/Release` with
//! MD5Sum and SHA256 of every index, `InRelease` and `Release.gpg`.
//!
//! The repository is its own database: an add reads the `Packages` indexes it wrote
//! before, merges the new packages, and rewrites every index of the suite through a
//! `stage::Stage` (all files complete under temporary names, then renamed, signatures
//! last). Nothing is written until every package, the key and the repository have been
//! checked.

pub mod cli;
mod debfile;
mod gpg;
mod index;
mod stage;

pub use gpg::KeySpec;

use crate::error::{Error, InputError, Result};
use debfile::{DebFile, Digests};
use gpg::SigningKey;
use index::{Entry, Stanza};
use stage::Stage;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct AddOptions {
    pub repo: PathBuf,
    pub suite: String,
    pub component: String,
    pub key: KeySpec,
    /// Architectures to publish indexes for, besides those already in the suite and
    /// those of the packages added.
    pub architectures: Vec<String>,
    /// `Valid-Until` = date + this many seconds.
    pub valid_for: Option<u64>,
    pub origin: Option<String>,
    pub label: Option<String>,
    /// `Date` of the `Release` and creation time of its signatures.
    pub date: u64,
    pub threads: u32,
    pub debs: Vec<PathBuf>,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Pool paths of the packages added.
    pub added: Vec<String>,
    /// Pool paths of packages given again, byte-identical to what the suite had.
    pub unchanged: Vec<String>,
    /// What the repository is written with but some of its clients will not accept.
    pub warnings: Vec<String>,
}

type Key = (String, String, String);

pub fn add(o: &AddOptions) -> Result<Report> {
    let mut errors = Vec::new();
    check_word(&o.suite, "suite", &mut errors);
    check_word(&o.component, "component", &mut errors);
    for a in &o.architectures {
        check_arch(a, Path::new("--arch"), &mut errors);
    }
    check_repo_dir(&o.repo, &mut errors);
    fail_on(&mut errors)?;

    let key = SigningKey::open(&o.key)?;
    key.check_date(o.date, "SOURCE_DATE_EPOCH, or now")?;

    // Each package is read once: control fields, hashes and its copy for the pool.
    let mut stage = Stage::default();
    let mut incoming: Vec<(&PathBuf, DebFile, tempfile::NamedTempFile)> = Vec::new();
    for path in &o.debs {
        let mut copy = stage.scratch(&o.repo.join("pool"))?;
        match debfile::inspect(path, copy.as_file_mut()) {
            Ok(deb) => {
                check_control(path, &deb.control, &mut errors);
                incoming.push((path, deb, copy));
            }
            Err(Error::Input(mut e)) => errors.append(&mut e),
            Err(e) => return Err(e),
        }
    }
    fail_on(&mut errors)?;

    let suite_dir = o.repo.join("dists").join(&o.suite);
    let previous = read_release(&suite_dir)?;
    let listed = |field: &str| -> Vec<String> {
        previous
            .as_ref()
            .and_then(|r| r.get(field))
            .map(|v| v.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    };
    let mut components: BTreeSet<String> = listed("Components").into_iter().collect();
    components.insert(o.component.clone());
    let mut archs: BTreeSet<String> = listed("Architectures")
        .into_iter()
        .filter(|a| a != "all")
        .collect();
    archs.extend(o.architectures.iter().cloned());

    let mut contents: BTreeMap<String, BTreeMap<Key, Entry>> = BTreeMap::new();
    for c in &components {
        contents.insert(c.clone(), read_component(&suite_dir.join(c))?);
    }

    let mut report = Report::default();
    let mut copies: Vec<(&PathBuf, String)> = Vec::new();
    let current = contents.get_mut(&o.component).expect("inserted above");
    for (path, deb, copy) in incoming {
        let filename = pool_path(&o.component, &deb.control);
        let entry = Entry::new(&deb.control, &filename, &deb.digests);
        match current.get(&entry.key()) {
            Some(old) if old.sha256() == entry.sha256() => {
                report.unchanged.push(filename);
                continue;
            }
            Some(old) => {
                let (p, v, a) = entry.key();
                errors.push(InputError::new(
                    path,
                    None,
                    "",
                    format!(
                        "{}/{} already has {p} {v} ({a}) as {} with SHA256 {}; this file \
                         differs (SHA256 {}): publish it under a new version",
                        o.suite,
                        o.component,
                        old.filename(),
                        old.sha256(),
                        entry.sha256()
                    ),
                ));
                continue;
            }
            None => {}
        }
        let dest = o.repo.join(&filename);
        if let Some((other, _)) = copies.iter().find(|(_, f)| f == &filename) {
            // Versions that differ only by epoch share a pool file name.
            errors.push(InputError::new(
                path,
                None,
                "Version",
                format!(
                    "would be stored as {filename}, as {} would",
                    other.display()
                ),
            ));
            continue;
        }
        if dest.exists() {
            let on_disk = digest_file(&dest)?;
            if on_disk.sha256 != deb.digests.sha256 {
                errors.push(InputError::new(
                    path,
                    None,
                    "",
                    format!(
                        "{} exists with different contents (SHA256 {})",
                        dest.display(),
                        on_disk.sha256
                    ),
                ));
                continue;
            }
        } else {
            stage.adopt(copy, &dest)?;
            copies.push((path, filename.clone()));
        }
        if entry.architecture() != "all" {
            archs.insert(entry.architecture().to_string());
        }
        current.insert(entry.key(), entry);
        report.added.push(filename);
    }
    fail_on(&mut errors)?;
    if archs.is_empty() {
        return Err(InputError::new(
            &o.repo,
            None,
            "arch",
            "no architecture to publish: only arch-all packages; name the clients' \
             architectures with --arch (e.g. --arch amd64 --arch armhf)",
        )
        .into());
    }

    let mut files: Vec<(String, Digests)> = Vec::new();
    for (c, entries) in &contents {
        for arch in std::iter::once("all").chain(archs.iter().map(String::as_str)) {
            let listed: Vec<&Entry> = entries
                .values()
                .filter(|e| e.architecture() == arch || e.architecture() == "all")
                .collect();
            let text = index::packages(&listed);
            let rel = format!("{c}/binary-{arch}/Packages");
            let gz =
                crate::archive::compress(text.as_bytes(), crate::profile::Compression::Gzip, 1)?;
            let xz = crate::archive::compress(
                text.as_bytes(),
                crate::profile::Compression::Xz,
                o.threads,
            )?;
            for (suffix, bytes) in [("", text.as_bytes()), (".gz", &gz), (".xz", &xz)] {
                let rel = format!("{rel}{suffix}");
                stage.bytes(&suite_dir.join(&rel), bytes)?;
                files.push((rel, Digests::of(bytes)));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let origin = o.origin.clone().or_else(|| field_of(&previous, "Origin"));
    let label = o.label.clone().or_else(|| field_of(&previous, "Label"));
    let components: Vec<String> = components.into_iter().collect();
    let archs: Vec<String> = archs.into_iter().collect();
    let release = index::release(
        &index::ReleaseFields {
            origin: origin.as_deref(),
            label: label.as_deref(),
            suite: &o.suite,
            date: o.date,
            valid_until: o.valid_for.map(|v| o.date + v),
            architectures: &archs,
            components: &components,
        },
        &files,
    );
    let release_tmp = stage
        .bytes(&suite_dir.join("Release"), release.as_bytes())?
        .to_path_buf();
    let detached = stage
        .bytes(&suite_dir.join("Release.gpg"), b"")?
        .to_path_buf();
    let inrelease = stage
        .bytes(&suite_dir.join("InRelease"), b"")?
        .to_path_buf();
    key.sign(&release_tmp, &inrelease, &detached, o.date)?;
    report.warnings.extend(key.client_warning(&detached)?);
    stage.commit()?;
    Ok(report)
}

/// The public half of the signing key, for `signed-by=`.
pub fn export_key(spec: &KeySpec, armor: bool) -> Result<Vec<u8>> {
    SigningKey::open(spec)?.export_public(armor)
}

fn fail_on(errors: &mut Vec<InputError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Input(std::mem::take(errors)))
    }
}

/// Suite and component names become path components and words of `Release`.
fn check_word(value: &str, field: &str, errors: &mut Vec<InputError>) {
    let ok = value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ok {
        errors.push(InputError::new(
            Path::new(&format!("--{field}")),
            None,
            field,
            format!("{value:?} is not a {field} name (letters, digits, `.`, `_`, `-`)"),
        ));
    }
}

fn check_arch(arch: &str, file: &Path, errors: &mut Vec<InputError>) {
    let ok = arch.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && arch
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !matches!(arch, "all" | "any" | "source");
    if !ok {
        errors.push(InputError::new(
            file,
            None,
            "Architecture",
            format!("{arch:?} is not a Debian architecture name such as amd64 or armhf"),
        ));
    }
}

/// The fields that become the pool path must be what Debian Policy allows.
fn check_control(path: &Path, control: &Stanza, errors: &mut Vec<InputError>) {
    let name_ok = |s: &str| {
        s.len() >= 2
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c))
    };
    let package = control.get("Package").unwrap_or("");
    if !name_ok(package) {
        errors.push(InputError::new(
            path,
            None,
            "Package",
            format!("{package:?} is not a package name (Policy 5.6.1)"),
        ));
    }
    if let Some(source) = control.get("Source") {
        let name = source.split_whitespace().next().unwrap_or("");
        if !name_ok(name) {
            errors.push(InputError::new(
                path,
                None,
                "Source",
                format!("{source:?} is not a source package name"),
            ));
        }
    }
    let version = control.get("Version").unwrap_or("");
    if !version.starts_with(|c: char| c.is_ascii_digit()) && !version.contains(':')
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c))
    {
        errors.push(InputError::new(
            path,
            None,
            "Version",
            format!("{version:?} is not a Debian version (Policy 5.6.12)"),
        ));
    }
    let arch = control.get("Architecture").unwrap_or("");
    if arch != "all" {
        check_arch(arch, path, errors);
    }
}

/// The repository directory: created when missing (its parent must exist); if it
/// exists and holds files, they must look like a repository.
fn check_repo_dir(repo: &Path, errors: &mut Vec<InputError>) {
    let mut bad = |m: &str| errors.push(InputError::new(repo, None, "repo", m));
    if repo.exists() {
        if !repo.is_dir() {
            return bad("is not a directory");
        }
        let empty = std::fs::read_dir(repo).map(|mut d| d.next().is_none());
        match empty {
            Err(e) => bad(&format!("cannot be read: {e}")),
            Ok(false) if !repo.join("dists").is_dir() && !repo.join("pool").is_dir() => bad(
                "is not empty and not a repository (no dists/ or pool/); refusing to write into it",
            ),
            Ok(_) => {}
        }
    } else {
        let parent = match repo.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            bad(&format!(
                "does not exist, nor does its parent {}",
                parent.display()
            ));
        }
    }
}

fn read_release(suite_dir: &Path) -> Result<Option<Stanza>> {
    let path = suite_dir.join("Release");
    match std::fs::read_to_string(&path) {
        Ok(text) => Stanza::parse_one(&text)
            .map(Some)
            .map_err(|m| InputError::new(&path, None, "", m).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

fn field_of(stanza: &Option<Stanza>, name: &str) -> Option<String> {
    stanza.as_ref().and_then(|s| s.get(name)).map(String::from)
}

/// Every package the component lists, from its `binary-*/Packages` (arch-all ones
/// appear in each; they are one entry).
fn read_component(dir: &Path) -> Result<BTreeMap<Key, Entry>> {
    let mut out: BTreeMap<Key, Entry> = BTreeMap::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    let mut indexes: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("binary-"))
        })
        .map(|p| p.join("Packages"))
        .collect();
    indexes.sort();
    for path in indexes {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let stanzas = Stanza::parse_all(&text).map_err(|m| InputError::new(&path, None, "", m))?;
        for stanza in stanzas {
            let entry = Entry { stanza };
            match out.get(&entry.key()) {
                Some(old) if old.sha256() != entry.sha256() => {
                    return Err(InputError::new(
                        &path,
                        None,
                        "",
                        format!(
                            "lists {} {} ({}) with another SHA256 than a sibling index: \
                             the repository is inconsistent",
                            entry.package(),
                            entry.version(),
                            entry.architecture()
                        ),
                    )
                    .into())
                }
                Some(_) => {}
                None => {
                    out.insert(entry.key(), entry);
                }
            }
        }
    }
    Ok(out)
}

/// `pool/COMPONENT/PREFIX/SOURCE/PACKAGE_VERSION_ARCH.deb`, PREFIX being `libX` for
/// sources named lib*, else the first letter; the file name drops the epoch.
fn pool_path(component: &str, control: &Stanza) -> String {
    let package = control.get("Package").unwrap_or_default();
    let source = control
        .get("Source")
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or(package);
    let prefix = if source.starts_with("lib") && source.len() > 3 {
        &source[..4]
    } else {
        &source[..1]
    };
    let version = control.get("Version").unwrap_or_default();
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let arch = control.get("Architecture").unwrap_or_default();
    format!("pool/{component}/{prefix}/{source}/{package}_{version}_{arch}.deb")
}

fn digest_file(path: &Path) -> Result<Digests> {
    let mut sink = std::io::sink();
    hashing_copy(path, &mut sink)
}

fn hashing_copy(path: &Path, out: &mut dyn Write) -> Result<Digests> {
    use md5::Md5;
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let (mut md5, mut sha, mut size) = (Md5::new(), Sha256::new(), 0u64);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha.update(&buf[..n]);
        size += n as u64;
        out.write_all(&buf[..n])
            .map_err(|e| Error::io("writing into the pool", e))?;
    }
    Ok(Digests {
        size,
        md5: debfile::hex(&md5.finalize()),
        sha256: debfile::hex(&sha.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(text: &str) -> Stanza {
        Stanza::parse_one(text).unwrap()
    }

    #[test]
    fn pool_paths_follow_debian() {
        let c = control("Package: unitpack-check\nVersion: 1:0.1.0-1\nArchitecture: armhf\n");
        assert_eq!(
            pool_path("main", &c),
            "pool/main/u/unitpack-check/unitpack-check_0.1.0-1_armhf.deb"
        );
        let c = control(
            "Package: libfoo1\nSource: libfoo (1.2-1)\nVersion: 1.2-1+b1\nArchitecture: amd64\n",
        );
        assert_eq!(
            pool_path("contrib", &c),
            "pool/contrib/libf/libfoo/libfoo1_1.2-1+b1_amd64.deb"
        );
    }
}
