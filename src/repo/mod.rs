//! A signed Debian repository that apt installs from (xenial's apt 1.2 as Debian 12's):
//! `pool/COMPONENT/PREFIX/SOURCE/*.deb`,
//! `dists/SUITE/COMPONENT/binary-ARCH/Packages{,.gz,.xz}`, `dists/SUITE/Release` with
//! MD5Sum and SHA256 of every index, `InRelease` and `Release.gpg`.
//!
//! The repository is its own database: an add reads the `Packages` indexes it wrote
//! before as one stream in their order (`listing`), merges the changes into it
//! (`merge`), and writes every index of the suite as the stream passes (`pieces`),
//! never holding an index whole, through a `stage::Stage` (all files complete under
//! temporary names, then renamed, signatures last). Nothing is written until every package, the key and the repository have been
//! checked.

mod access;
mod cleanup;
pub mod cli;
mod deb822;
pub(crate) mod debfile;
mod gpg;
mod index;
mod listing;
mod merge;
mod names;
mod pieces;
mod settings;
mod stage;
mod version;

pub use gpg::KeySpec;

use crate::error::{Error, InputError, Result};
use crate::input::{self, Kind, ReadError};
use access::{inside, inside_known, previous_bytes, read_repo_text, syntax};
use debfile::{DebFile, Digests};
use gpg::SigningKey;
use index::{Entry, Stanza};
use stage::Stage;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{Read, Seek, Write};
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
    /// `Valid-Until` = date + this many seconds; `Some(0)`: none, and the suite's
    /// remembered one is forgotten (`--valid-for none`).
    pub valid_for: Option<u64>,
    pub origin: Option<String>,
    pub label: Option<String>,
    /// `Date` of the `Release` and creation time of its signatures.
    pub date: u64,
    /// Whether `date` is SOURCE_DATE_EPOCH (else the clock): said in the messages.
    pub date_from_env: bool,
    /// The clock: a `Valid-Until` before it is refused.
    pub now: u64,
    pub threads: u32,
    pub debs: Vec<PathBuf>,
    /// Packages to take out of the suite's component (`repo remove`).
    pub removals: Vec<Selector>,
    /// Packages to take from another suite of the repository (`repo copy`).
    pub copy: Option<CopyFrom>,
    /// Keep this many newest versions of each package and architecture (`repo prune`).
    pub keep: Option<usize>,
    /// Sign with a key the suite's remembered keys do not include (`--new-key`).
    pub new_key: bool,
}

/// `PACKAGE[=VERSION]`, on one architecture or all.
#[derive(Debug, Clone)]
pub struct Selector {
    pub package: String,
    pub version: Option<String>,
    pub architecture: Option<String>,
}

/// `repo copy --from SUITE`: the same component of another suite; the pool file is
/// shared, only the indexes and signature of the target suite are written.
#[derive(Debug, Clone)]
pub struct CopyFrom {
    pub suite: String,
    pub packages: Vec<Selector>,
}

impl Selector {
    fn describe(&self, suite: &str, component: &str) -> String {
        format!(
            "{suite}/{component} has no {}{}{}",
            self.package,
            self.version
                .as_ref()
                .map(|v| format!("={v}"))
                .unwrap_or_default(),
            self.architecture
                .as_ref()
                .map(|a| format!(" on {a}"))
                .unwrap_or_default()
        )
    }

    fn matches(&self, e: &Entry) -> bool {
        e.package() == self.package
            && self.version.as_deref().is_none_or(|v| v == e.version())
            && self
                .architecture
                .as_deref()
                .is_none_or(|a| a == e.architecture())
    }
}

#[derive(Debug, Default)]
pub struct Report {
    /// Pool paths of the packages added.
    pub added: Vec<String>,
    /// Pool paths of packages given again, byte-identical to what the suite had.
    pub unchanged: Vec<String>,
    /// What the repository is written with but some of its clients will not accept.
    pub warnings: Vec<String>,
    /// `PACKAGE VERSION ARCH` of the packages removed.
    pub removed: Vec<String>,
    /// `PACKAGE VERSION ARCH` of the packages copied from another suite.
    pub copied: Vec<String>,
    /// `PACKAGE VERSION ARCH` of the versions `--keep` dropped.
    pub pruned: Vec<String>,
    /// Settings now remembered in `unitpack-repo.conf` that differ from before.
    pub notes: Vec<String>,
}

fn id(e: &Entry) -> String {
    format!("{} {} {}", e.package(), e.version(), e.architecture())
}

type Key = (String, String, String);

pub fn add(o: &AddOptions) -> Result<Report> {
    let mut errors = Vec::new();
    let mut arg = |flag: &str, field: &str, r: std::result::Result<(), String>| {
        if let Err(m) = r {
            errors.push(InputError::new(Path::new(flag), None, field, m));
        }
    };
    arg("--suite", "suite", names::word(&o.suite, "suite"));
    arg(
        "--component",
        "component",
        names::word(&o.component, "component"),
    );
    for a in &o.architectures {
        arg("--arch", "Architecture", names::architecture(a));
    }
    for (flag, field, value) in [
        ("--origin", "Origin", &o.origin),
        ("--label", "Label", &o.label),
    ] {
        if let Some(v) = value {
            let r = if v.is_empty() {
                Err("is empty; leave the option out instead".to_string())
            } else {
                deb822::check_value(field, v, false).map_err(|e| e.message)
            };
            arg(flag, field, r);
        }
    }
    if let Some(c) = &o.copy {
        arg("--from", "suite", names::word(&c.suite, "suite"));
        if c.suite == o.suite {
            arg(
                "--from",
                "suite",
                Err(format!("is the target suite {:?} too", o.suite)),
            );
        }
    }
    if o.keep == Some(0) {
        arg(
            "--keep",
            "keep",
            Err("0 would empty the suite; use `repo remove` for that".into()),
        );
    }
    let copies = o.copy.iter().flat_map(|c| &c.packages);
    for r in o.removals.iter().chain(copies) {
        arg("PACKAGE", "Package", names::package(&r.package));
        if let Some(v) = &r.version {
            arg("PACKAGE=VERSION", "Version", names::version(v));
        }
        if let Some(a) = &r.architecture {
            arg("--arch", "Architecture", names::package_architecture(a));
        }
    }
    check_repo_dir(&o.repo, &mut errors);
    fail_on(&mut errors)?;
    // Two writers of one repository serialize here: each reads the state the other
    // committed. (A repository being created has nothing to lock yet.)
    let _lock = lock(&o.repo)?;
    // Every directory the repository's files are read from or written to, checked
    // before anything is read: a symlinked pool/ or dists/ is refused, not followed.
    let suite_rel = Path::new("dists").join(&o.suite);
    for rel in [Path::new("pool"), Path::new("dists"), &suite_rel] {
        inside(&o.repo, rel, Kind::Dir)?;
    }
    // Under the lock, a staged file can only be a killed run's: remove them.
    remove_stale_temporaries(&o.repo, Path::new("pool"), 0)?;
    remove_stale_temporaries(&o.repo, &suite_rel, 4)?;
    if o.repo.is_dir() {
        // The settings file's (walk_below takes an empty path as the root itself).
        remove_stale_temporaries(&o.repo, Path::new(""), 0)?;
    }

    let key = SigningKey::open(&o.key)?;
    let mut settings = settings::read(&o.repo)?;
    let (remembered, valid_for) = remember(o, &settings, &key)?;
    let (what, fix) = if o.date_from_env {
        (
            "SOURCE_DATE_EPOCH",
            "a repository's Date is when it is published (apt checks Valid-Until and \
             replays against it): unset SOURCE_DATE_EPOCH for `unitpack repo add` \
             (`env -u SOURCE_DATE_EPOCH unitpack repo add …`), or set it to now \
             (SOURCE_DATE_EPOCH=$(date +%s))",
        )
    } else {
        (
            "the system clock",
            "check the clock, or sign with a key valid now",
        )
    };
    key.check_date(o.date, what, fix)?;
    if let Some(until) = valid_for.map(|v| o.date.saturating_add(v)) {
        if until <= o.now {
            return Err(InputError::new(
                Path::new("--valid-for"),
                None,
                "valid-for",
                format!(
                    "Valid-Until would be {}, already past (now {}): every apt would refuse \
                     the repository at once; the Date is {} ({what}); {}",
                    index::release_date(until),
                    index::release_date(o.now),
                    index::release_date(o.date),
                    if o.date_from_env {
                        fix
                    } else {
                        "give a longer --valid-for"
                    }
                ),
            )
            .into());
        }
    }

    // Each package is read once: control fields, hashes and its copy for the pool.
    let mut stage = Stage::in_repository(&o.repo);
    let mut incoming: Vec<(&PathBuf, DebFile, tempfile::NamedTempFile)> = Vec::new();
    for path in &o.debs {
        let mut copy = stage.scratch(Path::new("pool"))?;
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

    let suite_dir = o.repo.join(&suite_rel);
    let previous = read_release(&o.repo, &suite_rel)?;
    not_before_previous(&suite_dir, &previous, o.date, what, fix)?;
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

    // What the target component gains, by key: uploads, then copies. The suite's
    // packages are read once, merged with them in order (`merge`).
    let mut changes: BTreeMap<Key, merge::Change> = BTreeMap::new();
    let mut uploads = merge::Uploads::default();
    let mut report = Report::default();
    // Pool file name → the upload stored there (a map: 10,000 uploads in one add).
    let mut pool_names: BTreeMap<String, &PathBuf> = BTreeMap::new();
    let mut known_dirs = HashSet::new();
    for (n, (path, deb, copy)) in incoming.into_iter().enumerate() {
        let filename = pool_path(&o.component, &deb.control);
        if let Err(m) = names::pool_filename(&filename) {
            errors.push(InputError::new(path, None, "Filename", m));
            continue;
        }
        let entry = Entry::new(&deb.control, &filename, &deb.digests);
        if let Some(other) = changes.get(&entry.key()) {
            // The same package twice in one run.
            if other.entry.sha256() == entry.sha256() {
                uploads.unchanged(n, &filename);
            } else {
                errors.push(merge::upload_conflict(o, &other.entry, &entry, path));
            }
            continue;
        }
        if let Some(other) = pool_names.get(&filename) {
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
        let dest_rel = PathBuf::from(&filename);
        let pool = match inside_known(&o.repo, &dest_rel, Kind::File, &mut known_dirs)? {
            Some(dest) => {
                let on_disk = digest_file(&dest)?;
                if on_disk.sha256 == deb.digests.sha256 {
                    merge::Pool::Present
                } else {
                    merge::Pool::Differs(dest, on_disk.sha256)
                }
            }
            None => merge::Pool::Copy(copy),
        };
        if entry.architecture() != "all" {
            archs.insert(entry.architecture().to_string());
        }
        pool_names.insert(filename, path);
        let source = merge::Source::Upload {
            n,
            path: path.clone(),
            pool,
        };
        changes.insert(entry.key(), merge::Change { entry, source });
    }
    if let Some(from) = &o.copy {
        let first = o.debs.len();
        copy_into(
            o,
            from,
            first,
            &mut changes,
            &mut uploads,
            &mut archs,
            &mut errors,
        )?;
    }
    fail_on(&mut errors)?;
    if archs.is_empty() {
        if previous.is_none() {
            // A suite that was never signed lists nothing: each removal is what is
            // wrong (the merge would say so, but it needs an index to write to).
            for r in &o.removals {
                errors.push(InputError::new(
                    Path::new("PACKAGE"),
                    None,
                    "Package",
                    r.describe(&o.suite, &o.component),
                ));
            }
            fail_on(&mut errors)?;
        }
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
    let mut changes = Some(changes);
    for c in &components {
        let committed = committed_indexes(&previous, c);
        let listing = listing::open(&o.repo, &suite_rel.join(c), &committed)?;
        let dirs: Vec<String> = std::iter::once("all")
            .chain(archs.iter().map(String::as_str))
            .map(|arch| format!("{c}/binary-{arch}"))
            .collect();
        // The files being replaced, held while their pieces may be reused.
        let old: Vec<[Option<Vec<u8>>; 2]> = dirs
            .iter()
            .map(|d| {
                [".xz", ".gz"]
                    .map(|s| previous_bytes(&o.repo, &suite_rel.join(format!("{d}/Packages{s}"))))
            })
            .collect();
        let mut writers = Vec::new();
        for (dir, [xz, gz]) in dirs.iter().zip(&old) {
            let plain = stage.scratch(&suite_rel.join(dir))?;
            writers.push(pieces::Writer::new(
                plain,
                xz.as_deref(),
                gz.as_deref(),
                o.threads,
                pieces::PIECE,
            ));
        }
        let index_dir = suite_dir.join(c);
        let mut text = String::new();
        let mut emit = |e: &Entry| -> Result<()> {
            text.clear();
            index::render(e, &mut text).map_err(|err| {
                InputError::new(&index_dir, None, err.field.clone(), err.to_string())
            })?;
            let arch = e.architecture();
            for (w, dir) in writers.iter_mut().zip(&dirs) {
                if arch == "all" || dir.ends_with(&format!("/binary-{arch}")) {
                    w.push(text.as_bytes())?;
                }
            }
            Ok(())
        };
        if *c == o.component {
            let changes = changes.take().expect("one target component");
            merge::run(
                o,
                &listing,
                changes,
                &mut stage,
                &mut uploads,
                &mut report,
                &mut errors,
                &mut emit,
            )?;
        } else {
            listing.for_each(|e| emit(&e))?;
        }
        for (w, dir) in writers.into_iter().zip(&dirs) {
            let written = w.finish()?;
            let rel = format!("{dir}/Packages");
            // Each file is published under its hash first (Acquire-By-Hash): a client
            // holding the old InRelease fetches the old indexes by their hashes, one
            // holding the new fetches the new; no moment mixes them.
            let by_hash =
                |d: &Digests| suite_rel.join(format!("{dir}/by-hash/SHA256/{}", d.sha256));
            let mut plain = written.plain;
            stage.file(&by_hash(&written.digests), |f| {
                plain
                    .seek(std::io::SeekFrom::Start(0))
                    .and_then(|_| std::io::copy(&mut plain, f))
                    .map(|_| ())
                    .map_err(|e| Error::io(format!("writing {rel}"), e))
            })?;
            stage.adopt(plain, &suite_rel.join(&rel))?;
            files.push((rel.clone(), written.digests));
            for (suffix, file) in [(".gz", &written.gz), (".xz", &written.xz)] {
                let digests = file.digests();
                let rel = format!("{rel}{suffix}");
                for dest in [by_hash(&digests), suite_rel.join(&rel)] {
                    stage.file(&dest, |f| {
                        file.write_to(f)
                            .map_err(|e| Error::io(format!("writing {rel}"), e))
                    })?;
                }
                files.push((rel, digests));
            }
        }
    }
    uploads.report(&mut report);
    fail_on(&mut errors)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let origin = remembered
        .origin
        .clone()
        .or_else(|| field_of(&previous, "Origin"));
    let label = remembered
        .label
        .clone()
        .or_else(|| field_of(&previous, "Label"));
    let components: Vec<String> = components.into_iter().collect();
    let archs: Vec<String> = archs.into_iter().collect();
    let release = index::release(
        &index::ReleaseFields {
            origin: origin.as_deref(),
            label: label.as_deref(),
            suite: &o.suite,
            date: o.date,
            valid_until: valid_for.map(|v| o.date + v),
            architectures: &archs,
            components: &components,
        },
        &files,
    )
    .map_err(|e| InputError::new(&suite_dir.join("Release"), None, e.field.clone(), e.message))?;
    let release_tmp = stage
        .bytes(&suite_rel.join("Release"), release.as_bytes())?
        .to_path_buf();
    let detached = stage
        .bytes(&suite_rel.join("Release.gpg"), b"")?
        .to_path_buf();
    let inrelease = stage
        .bytes(&suite_rel.join("InRelease"), b"")?
        .to_path_buf();
    let previous_signature =
        read_repo_text(&o.repo, &suite_rel.join("Release.gpg"), input::MAX_KEY_FILE)?;
    key.sign(&release_tmp, &inrelease, &detached, o.date)?;
    // After InRelease: the signed state is what counts; a run killed before this
    // rename leaves the settings of the state before (a new key is asked for again).
    let now = settings::Suite {
        origin: origin.clone(),
        label: label.clone(),
        ..remembered
    };
    let before = settings.get(&o.suite).cloned().unwrap_or_default();
    if settings.get(&o.suite) != Some(&now) {
        report
            .notes
            .extend(settings::changes(&o.suite, &before, &now));
        settings.set(&o.suite, now);
        let text = settings
            .render()
            .map_err(|e| InputError::new(&o.repo.join(settings::FILE), None, e.field, e.message))?;
        stage.bytes(Path::new(settings::FILE), text.as_bytes())?;
    }
    if let Some((path, old)) = previous_signature {
        report
            .warnings
            .extend(key.previous_signer_warning(old.as_bytes(), &path)?);
    }
    report.warnings.extend(key.warnings.iter().cloned());
    report.warnings.extend(key.client_warnings(&detached)?);
    stage.commit()?;
    // Keep the indexes of this state and the previous one (a client may still hold
    // its InRelease); older ones go.
    let mut keep: BTreeSet<String> = files.iter().map(|(_, d)| d.sha256.clone()).collect();
    keep.extend(previous_hashes(&previous));
    for c in &components {
        for arch in std::iter::once("all").chain(archs.iter().map(String::as_str)) {
            let rel = suite_rel.join(format!("{c}/binary-{arch}/by-hash/SHA256"));
            prune_by_hash(&o.repo, &rel, &keep)?;
        }
    }
    Ok(report)
}

/// The suite's settings for this run: the command line's values over the remembered
/// ones (a change is noted), and this run's keys, refused when one is not among the
/// remembered keys unless `--new-key` says it is meant. Also the `Valid-For` in force.
fn remember(
    o: &AddOptions,
    settings: &settings::Settings,
    key: &SigningKey,
) -> Result<(settings::Suite, Option<u64>)> {
    let before = settings.get(&o.suite).cloned().unwrap_or_default();
    let fingerprints = key.fingerprints();
    let unknown: Vec<&String> = fingerprints
        .iter()
        .filter(|f| !before.keys.is_empty() && !before.keys.contains(f))
        .collect();
    if !unknown.is_empty() && !o.new_key {
        return Err(InputError::new(
            Path::new("--key"),
            None,
            "key",
            format!(
                "{} signs with {}, which is not among the keys suite {} was signed with \
                 ({}: Signed-By {}); clients trust those: give --new-key if this key is \
                 meant (to rotate: --key OLD --key NEW --new-key, docs/repo.md)",
                o.key
                    .files
                    .iter()
                    .map(|p| p.display().to_string())
                    .chain(o.key.ids.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(", "),
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" and "),
                o.suite,
                settings::FILE,
                before.keys.join(" ")
            ),
        )
        .into());
    }
    let now = settings::Suite {
        valid_for: o.valid_for.or(before.valid_for).filter(|&v| v > 0),
        origin: o.origin.clone().or(before.origin.clone()),
        label: o.label.clone().or(before.label.clone()),
        keys: fingerprints,
    };
    Ok((now.clone(), now.valid_for))
}

/// Refuses a `Date` earlier than the one the suite's signed `Release` has: apt keeps
/// the newer `Release` it holds and ignores an older one as if unchanged (apt 1.2.35,
/// apt-pkg/acquire-item.cc `VerifyVendor`: "Did we get a file older than what we
/// have? … prevention of downgrading"), so clients that had the newer state would
/// never see this one; a fresh client would take it: a replay of the past.
fn not_before_previous(
    suite_dir: &Path,
    previous: &Option<Stanza>,
    date: u64,
    what: &str,
    fix: &str,
) -> Result<()> {
    let Some(text) = previous.as_ref().and_then(|r| r.get("Date")) else {
        return Ok(());
    };
    let path = suite_dir.join("InRelease");
    let Some(before) = settings::parse_date(text) else {
        return Err(InputError::new(&path, None, "Date", format!("{text:?} is not a date")).into());
    };
    if date < before {
        return Err(InputError::new(
            &path,
            None,
            "Date",
            format!(
                "the suite is signed with Date {}; this run's Date {} ({what}) is earlier: \
                 apt keeps the newer Release it has and ignores an older one, so clients \
                 would not see this state; {fix}",
                index::release_date(before),
                index::release_date(date)
            ),
        )
        .into());
    }
    Ok(())
}

/// `repo copy`: the selected packages of the same component of `from.suite`, as
/// changes to the target's, each with its stanza and pool file as the source lists
/// them. Without a version, the newest version of each architecture is taken. Each
/// package picked is numbered from `first` on, the order it is reported in.
fn copy_into(
    o: &AddOptions,
    from: &CopyFrom,
    first: usize,
    changes: &mut BTreeMap<Key, merge::Change>,
    outcomes: &mut merge::Uploads,
    archs: &mut BTreeSet<String>,
    errors: &mut Vec<InputError>,
) -> Result<()> {
    let from_rel = Path::new("dists").join(&from.suite);
    inside(&o.repo, &from_rel, Kind::Dir)?;
    let Some(release) = read_release(&o.repo, &from_rel)? else {
        errors.push(InputError::new(
            Path::new("--from"),
            None,
            "suite",
            format!("{} has no suite {}", o.repo.display(), from.suite),
        ));
        return Ok(());
    };
    // A copy into a new suite publishes the architectures its source does.
    for a in release
        .get("Architectures")
        .unwrap_or("")
        .split_whitespace()
    {
        if a != "all" {
            archs.insert(a.to_string());
        }
    }
    let committed = committed_indexes(&Some(release.clone()), &o.component);
    let source = listing::open(&o.repo, &from_rel.join(&o.component), &committed)?;
    // Only what the selectors name is held, not the source suite.
    let mut picked: Vec<Vec<Entry>> = vec![Vec::new(); from.packages.len()];
    source.for_each(|e| {
        for (s, picked) in from.packages.iter().zip(picked.iter_mut()) {
            if s.matches(&e) {
                picked.push(e.clone());
            }
        }
        Ok(())
    })?;
    let mut picks = 0;
    for (s, mut picked) in from.packages.iter().zip(picked) {
        if s.version.is_none() {
            let mut newest: BTreeMap<String, Entry> = BTreeMap::new();
            for e in picked {
                match newest.get(e.architecture()) {
                    Some(slot) if !version::compare(e.version(), slot.version()).is_gt() => {}
                    _ => {
                        newest.insert(e.architecture().to_string(), e);
                    }
                }
            }
            picked = newest.into_values().collect();
        }
        if picked.is_empty() {
            errors.push(InputError::new(
                Path::new("PACKAGE"),
                None,
                "Package",
                s.describe(&from.suite, &o.component),
            ));
        }
        for e in picked {
            let n = first + picks;
            picks += 1;
            if let Some(other) = changes.get(&e.key()) {
                if other.entry.sha256() == e.sha256() {
                    outcomes.unchanged(n, e.filename());
                    continue;
                }
                errors.push(InputError::new(
                    Path::new("PACKAGE"),
                    None,
                    "",
                    format!(
                        "{} is given as an upload and to copy from {}, with another SHA256",
                        id(&e),
                        from.suite
                    ),
                ));
                continue;
            }
            if e.architecture() != "all" {
                archs.insert(e.architecture().to_string());
            }
            let source = merge::Source::Copy {
                n,
                suite: from.suite.clone(),
            };
            changes.insert(e.key(), merge::Change { entry: e, source });
        }
    }
    Ok(())
}

/// Every package of a suite: (component, package, version, architecture, pool file).
pub fn list(repo: &Path, suite: &str) -> Result<Vec<[String; 5]>> {
    names::word(suite, "suite")
        .map_err(|m| InputError::new(Path::new("--suite"), None, "suite", m))?;
    let suite_rel = Path::new("dists").join(suite);
    let Some(release) = read_release(repo, &suite_rel)? else {
        return Err(InputError::new(repo, None, "suite", format!("has no suite {suite}")).into());
    };
    let mut out = Vec::new();
    for c in release.get("Components").unwrap_or("").split_whitespace() {
        let committed = committed_indexes(&Some(release.clone()), c);
        listing::open(repo, &suite_rel.join(c), &committed)?.for_each(|e| {
            out.push([
                c.to_string(),
                e.package().to_string(),
                e.version().to_string(),
                e.architecture().to_string(),
                e.filename().to_string(),
            ]);
            Ok(())
        })?;
    }
    Ok(out)
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

/// Fields a repository writes itself: a package carrying them is not a `.deb` built
/// by dpkg-deb, and they would shadow the pool's own.
const REPOSITORY_FIELDS: [&str; 6] = ["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"];

/// Every field of an uploaded package's control file: the parser already refused
/// repeated fields, bad field names and control characters; here the fields that
/// become the pool path and the index key must be what Debian Policy allows.
fn check_control(path: &Path, control: &Stanza, errors: &mut Vec<InputError>) {
    let mut check = |field: &str, r: std::result::Result<(), String>| {
        if let Err(m) = r {
            errors.push(InputError::new(path, None, field, m));
        }
    };
    let required = |name: &str| {
        control
            .get(name)
            .ok_or_else(|| format!("DEBIAN/control has no {name} field"))
    };
    check("Package", required("Package").and_then(names::package));
    check("Version", required("Version").and_then(names::version));
    check(
        "Architecture",
        required("Architecture").and_then(names::package_architecture),
    );
    if let Some(source) = control.get("Source") {
        // `name` or `name (version)`, as dpkg-gencontrol writes it.
        let r = match source.split_once(' ') {
            None => names::package(source),
            Some((name, rest)) => names::package(name).and_then(|()| {
                rest.strip_prefix('(')
                    .and_then(|v| v.strip_suffix(')'))
                    .ok_or_else(|| format!("{source:?} is not `NAME` or `NAME (VERSION)`"))
                    .and_then(names::version)
            }),
        };
        check("Source", r);
    }
    for field in REPOSITORY_FIELDS {
        if control.get(field).is_some() {
            check(
                field,
                Err("is written by the repository, never by a package".into()),
            );
        }
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

/// An exclusive lock on the repository directory (flock, released on exit, even by
/// SIGKILL), or `None` when the directory does not exist yet.
fn lock(repo: &Path) -> Result<Option<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(repo)
    {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("opening {}", repo.display()), e)),
    };
    rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(format!("locking {}", repo.display()), e.into()))?;
    Ok(Some(dir))
}

/// The suite's committed `Release`: the text its `InRelease` signs. A run killed
/// after renaming `Release` and before `InRelease` leaves a `Release` clients never
/// trusted; the next writer starts from what they see. `Release` itself is still
/// read and validated (a damaged file is refused, not ignored).
fn read_release(root: &Path, suite_rel: &Path) -> Result<Option<Stanza>> {
    let in_release = read_repo_text(root, &suite_rel.join("InRelease"), input::MAX_RELEASE)?;
    let Some((path, text)) = read_repo_text(root, &suite_rel.join("Release"), input::MAX_RELEASE)?
    else {
        // Release gone, InRelease there: the suite is what InRelease signs. Taking it
        // for a new suite would sign a state without every package it had.
        return match in_release {
            None => Ok(None),
            Some((path, message)) => match signed_text(&message) {
                Some(signed) => parse_release(&path, &signed).map(Some),
                None => Err(InputError::new(
                    &path,
                    None,
                    "",
                    "is not a clear-signed message, and Release beside it is missing: the \
                     suite's signed state cannot be read; restore Release or InRelease from \
                     a backup",
                )
                .into()),
            },
        };
    };
    let plain = parse_release(&path, &text)?;
    let signed = in_release.and_then(|(p, t)| signed_text(&t).map(|s| (p, s)));
    match signed {
        Some((path, signed)) if signed != text => parse_release(&path, &signed).map(Some),
        _ => Ok(Some(plain)),
    }
}

/// The text a clear-signed message signs (RFC 4880 7.1: armor headers end at the
/// first empty line; dash-escaped lines lose their `- `).
fn signed_text(message: &str) -> Option<String> {
    let rest = message.strip_prefix("-----BEGIN PGP SIGNED MESSAGE-----\n")?;
    let (_headers, body) = rest.split_once("\n\n")?;
    let (body, _) = body.split_once("\n-----BEGIN PGP SIGNATURE-----\n")?;
    let mut out = String::new();
    for line in body.split('\n') {
        out.push_str(line.strip_prefix("- ").unwrap_or(line));
        out.push('\n');
    }
    Some(out)
}

/// A `Release`'s fields, each that is used again validated: components and
/// architectures become paths, origin and label are written back.
fn parse_release(path: &Path, text: &str) -> Result<Stanza> {
    let path = path.to_path_buf();
    let stanza = Stanza::parse_one(text).map_err(|e| syntax(&path, e))?;
    let mut errors = Vec::new();
    let mut check = |field: &str, r: std::result::Result<(), String>| {
        if let Err(m) = r {
            errors.push(InputError::new(&path, None, field, m));
        }
    };
    for c in stanza.get("Components").unwrap_or("").split_whitespace() {
        check("Components", names::word(c, "component"));
    }
    for a in stanza.get("Architectures").unwrap_or("").split_whitespace() {
        check("Architectures", names::package_architecture(a));
    }
    for field in ["Suite", "Codename"] {
        if let Some(v) = stanza.get(field) {
            check(field, names::word(v, "suite"));
        }
    }
    for field in ["Origin", "Label"] {
        if let Some(v) = stanza.get(field) {
            check(
                field,
                deb822::check_value(field, v, false).map_err(|e| e.message),
            );
        }
    }
    fail_on(&mut errors)?;
    Ok(stanza)
}

/// Remove `.unitpack-*.tmp` files (a stage's, see stage.rs) in `rel` and, `depth`
/// levels down, in its subdirectories (never through a symlink).
fn remove_stale_temporaries(repo: &Path, rel: &Path, depth: u32) -> Result<()> {
    let Some(dir) = inside(repo, rel, Kind::Dir)? else {
        return Ok(());
    };
    let listing =
        std::fs::read_dir(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in listing.flatten() {
        let name = entry.file_name();
        let Some(n) = name.to_str() else { continue };
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_file() && n.starts_with(".unitpack-") && n.ends_with(".tmp") {
            let path = entry.path();
            std::fs::remove_file(&path)
                .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        } else if ft.is_dir() && depth > 0 {
            remove_stale_temporaries(repo, &rel.join(n), depth - 1)?;
        }
    }
    Ok(())
}

/// The SHA256 hashes a `Release` lists.
fn previous_hashes(release: &Option<Stanza>) -> Vec<String> {
    let list = release.as_ref().and_then(|r| r.get("SHA256")).unwrap_or("");
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|h| names::hex_digest(h, 64).is_ok())
        .map(String::from)
        .collect()
}

/// Remove the by-hash files of `rel` whose hash is not in `keep`.
fn prune_by_hash(repo: &Path, rel: &Path, keep: &BTreeSet<String>) -> Result<()> {
    let Some(dir) = inside(repo, rel, Kind::Dir)? else {
        return Ok(());
    };
    let listing =
        std::fs::read_dir(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in listing.flatten() {
        let name = entry.file_name();
        let stale = name
            .to_str()
            .is_some_and(|n| names::hex_digest(n, 64).is_ok() && !keep.contains(n));
        if stale {
            let path = entry.path();
            std::fs::remove_file(&path)
                .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        }
    }
    Ok(())
}

fn field_of(stanza: &Option<Stanza>, name: &str) -> Option<String> {
    stanza.as_ref().and_then(|s| s.get(name)).map(String::from)
}

/// The SHA256 `release` lists for each `binary-ARCH/Packages` of `component`.
fn committed_indexes(release: &Option<Stanza>, component: &str) -> BTreeMap<String, String> {
    let list = release.as_ref().and_then(|r| r.get("SHA256")).unwrap_or("");
    list.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (hash, _size, path) = (words.next()?, words.next()?, words.next()?);
            let index = path.strip_prefix(component)?.strip_prefix('/')?;
            index
                .ends_with("/Packages")
                .then(|| (index.to_string(), hash.to_string()))
        })
        .collect()
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
    let mut file = match input::open_bounded(path, input::MAX_DEB) {
        Ok(f) => f,
        Err(ReadError::Io(e)) => return Err(Error::io(format!("opening {}", path.display()), e)),
        Err(e) => return Err(InputError::new(path, None, "", e.to_string()).into()),
    };
    let mut digester = debfile::Digester::default();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        digester.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| Error::io("writing into the pool", e))?;
    }
    Ok(digester.finish())
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
