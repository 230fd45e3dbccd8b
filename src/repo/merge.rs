//! One pass over the target component: the suite's packages, as [`listing`] reads
//! them in order, merged with what a run adds (uploads, copies), less what it removes,
//! pruned to `--keep` versions; each package kept goes on to the indexes being
//! written. Nothing is held but the changes and one package's versions.
//!
//! [`listing`]: super::listing

use super::index::Entry;
use super::listing::Listing;
use super::stage::Stage;
use super::{id, version, AddOptions, Key, Report};
use crate::error::{InputError, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A package this run puts into the component.
pub struct Change {
    pub entry: Entry,
    pub source: Source,
}

pub enum Source {
    /// A package file given on the command line (the `n`th).
    Upload { n: usize, path: PathBuf, pool: Pool },
    /// Taken from another suite (`repo copy`), whose pool file it shares.
    Copy { suite: String },
}

/// An upload's pool file.
pub enum Pool {
    /// Its copy, to put in the pool if the package is new.
    Copy(tempfile::NamedTempFile),
    /// The pool has these bytes already.
    Present,
    /// The pool has another file of that name: its path and SHA256 (refused if the
    /// package is new; a package the suite lists with another hash is refused as such).
    Differs(PathBuf, String),
}

/// What happened to each upload, by its place on the command line: reported in that
/// order.
#[derive(Default)]
pub struct Uploads {
    outcomes: Vec<(usize, bool, String)>,
}

impl Uploads {
    pub fn unchanged(&mut self, n: usize, filename: &str) {
        self.outcomes.push((n, false, filename.to_string()));
    }

    fn added(&mut self, n: usize, filename: &str) {
        self.outcomes.push((n, true, filename.to_string()));
    }

    pub fn report(mut self, report: &mut Report) {
        self.outcomes.sort_by_key(|(n, _, _)| *n);
        for (_, added, filename) in self.outcomes {
            if added {
                report.added.push(filename);
            } else {
                report.unchanged.push(filename);
            }
        }
    }
}

/// The merge of `listing` with `changes`, each package kept given to `emit` in order.
/// Conflicts and removals that match nothing are pushed to `errors`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    o: &AddOptions,
    listing: &Listing,
    changes: BTreeMap<Key, Change>,
    stage: &mut Stage,
    uploads: &mut Uploads,
    report: &mut Report,
    errors: &mut Vec<InputError>,
    emit: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    let mut m = Merge {
        o,
        errors,
        removed: vec![false; o.removals.len()],
        group: Vec::new(),
        stage,
        uploads,
        report,
        emit,
    };
    let mut pending = changes.into_values().peekable();
    listing.for_each(|old| {
        while let Some(c) = pending.next_if(|c| c.entry.order() < old.order()) {
            m.add(c)?;
        }
        if let Some(c) = pending.next_if(|c| c.entry.order() == old.order()) {
            if c.entry.sha256() == old.sha256() {
                if let Source::Upload { n, .. } = c.source {
                    m.uploads.unchanged(n, old.filename());
                } else {
                    m.report.unchanged.push(old.filename().to_string());
                }
            } else {
                m.errors.push(conflict(o, &old, &c));
            }
        }
        m.keep(old)
    })?;
    for c in pending {
        m.add(c)?;
    }
    m.end_group()?;
    for (r, hit) in o.removals.iter().zip(&m.removed) {
        if !hit {
            m.errors.push(InputError::new(
                Path::new("PACKAGE"),
                None,
                "Package",
                r.describe(&o.suite, &o.component),
            ));
        }
    }
    Ok(())
}

fn conflict(o: &AddOptions, old: &Entry, new: &Change) -> InputError {
    let suite = format!("{}/{}", o.suite, o.component);
    match &new.source {
        Source::Upload { path, .. } => InputError::new(
            path,
            None,
            "",
            format!(
                "{suite} already has {} {} ({}) as {} with SHA256 {}; this file differs \
                 (SHA256 {}): publish it under a new version",
                old.package(),
                old.version(),
                old.architecture(),
                old.filename(),
                old.sha256(),
                new.entry.sha256()
            ),
        ),
        Source::Copy { suite: from } => InputError::new(
            Path::new("PACKAGE"),
            None,
            "",
            format!(
                "{suite} already has {} as {} with SHA256 {}; {from} lists it as {} with \
                 SHA256 {}: remove it from {} first",
                id(old),
                old.filename(),
                old.sha256(),
                new.entry.filename(),
                new.entry.sha256(),
                o.suite
            ),
        ),
    }
}

struct Merge<'a> {
    o: &'a AddOptions,
    errors: &'a mut Vec<InputError>,
    /// Which of `o.removals` matched a package.
    removed: Vec<bool>,
    /// For `--keep`: the entries of the package being read (its versions are next to
    /// each other in the indexes' order).
    group: Vec<Entry>,
    stage: &'a mut Stage,
    uploads: &'a mut Uploads,
    report: &'a mut Report,
    emit: &'a mut dyn FnMut(&Entry) -> Result<()>,
}

impl Merge<'_> {
    /// A package the component did not have.
    fn add(&mut self, c: Change) -> Result<()> {
        match c.source {
            Source::Upload { n, pool, path } => match pool {
                Pool::Copy(copy) => {
                    self.stage.adopt(copy, Path::new(c.entry.filename()))?;
                    self.uploads.added(n, c.entry.filename());
                }
                Pool::Present => self.uploads.added(n, c.entry.filename()),
                Pool::Differs(dest, sha256) => {
                    self.errors.push(InputError::new(
                        &path,
                        None,
                        "",
                        format!(
                            "{} exists with different contents (SHA256 {sha256})",
                            dest.display()
                        ),
                    ));
                    return Ok(());
                }
            },
            Source::Copy { .. } => self.report.copied.push(id(&c.entry)),
        }
        self.keep(c.entry)
    }

    /// A package in the component after this run's additions: removed, held for
    /// `--keep`, or written.
    fn keep(&mut self, e: Entry) -> Result<()> {
        let mut hit = false;
        for (r, removed) in self.o.removals.iter().zip(self.removed.iter_mut()) {
            if r.matches(&e) {
                *removed = true;
                hit = true;
            }
        }
        if hit {
            self.report.removed.push(id(&e));
            return Ok(());
        }
        if self.o.keep.is_none() {
            return (self.emit)(&e);
        }
        if self
            .group
            .first()
            .is_some_and(|g| g.package() != e.package())
        {
            self.end_group()?;
        }
        self.group.push(e);
        Ok(())
    }

    /// The versions of the package held beyond the `keep` newest (Debian ordering)
    /// of each architecture are dropped; the others are written, in order.
    fn end_group(&mut self) -> Result<()> {
        let Some(keep) = self.o.keep else {
            return Ok(());
        };
        let group = std::mem::take(&mut self.group);
        let mut by_arch: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, e) in group.iter().enumerate() {
            by_arch.entry(e.architecture()).or_default().push(i);
        }
        let mut dropped = BTreeSet::new();
        for mut versions in by_arch.into_values() {
            versions.sort_by(|&a, &b| version::compare(group[b].version(), group[a].version()));
            dropped.extend(versions.into_iter().skip(keep));
        }
        for (i, e) in group.iter().enumerate() {
            if dropped.contains(&i) {
                self.report.pruned.push(id(e));
            } else {
                (self.emit)(e)?;
            }
        }
        Ok(())
    }
}
