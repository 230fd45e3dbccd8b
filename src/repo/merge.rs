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
    /// Taken from another suite (`repo copy`), whose pool file it shares; the `n`th
    /// package the selectors picked, counted on from the uploads.
    Copy { n: usize, suite: String },
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

#[derive(Clone, Copy)]
enum Outcome {
    Added,
    Unchanged,
    Copied,
}

/// What happened to each upload and each package copied, by its place on the command
/// line (a copy's: its selector's, then the order the selector picks in): reported in
/// that order, not in the indexes' (a string order, where 1.10 comes before 1.9).
/// Removals likewise, by selector.
#[derive(Default)]
pub struct Uploads {
    outcomes: Vec<(usize, Outcome, String)>,
    removed: Vec<(usize, String)>,
}

impl Uploads {
    pub fn unchanged(&mut self, n: usize, filename: &str) {
        self.outcomes
            .push((n, Outcome::Unchanged, filename.to_string()));
    }

    fn added(&mut self, n: usize, filename: &str) {
        self.outcomes
            .push((n, Outcome::Added, filename.to_string()));
    }

    pub fn report(mut self, report: &mut Report) {
        self.outcomes.sort_by_key(|(n, _, _)| *n);
        for (_, outcome, what) in self.outcomes {
            match outcome {
                Outcome::Added => report.added.push(what),
                Outcome::Unchanged => report.unchanged.push(what),
                Outcome::Copied => report.copied.push(what),
            }
        }
        self.removed.sort_by_key(|(r, _)| *r);
        report
            .removed
            .extend(self.removed.into_iter().map(|(_, what)| what));
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
                match c.source {
                    Source::Upload { n, .. } => m.uploads.unchanged(n, old.filename()),
                    Source::Copy { n, .. } => m.uploads.unchanged(n, c.entry.filename()),
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

/// The upload at `path` is `new`, which the suite (or an earlier upload of the run)
/// has as `old`, with other bytes.
pub fn upload_conflict(o: &AddOptions, old: &Entry, new: &Entry, path: &Path) -> InputError {
    InputError::new(
        path,
        None,
        "",
        format!(
            "{}/{} already has {} {} ({}) as {} with SHA256 {}; this file differs \
             (SHA256 {}): publish it under a new version",
            o.suite,
            o.component,
            old.package(),
            old.version(),
            old.architecture(),
            old.filename(),
            old.sha256(),
            new.sha256()
        ),
    )
}

fn conflict(o: &AddOptions, old: &Entry, new: &Change) -> InputError {
    let suite = format!("{}/{}", o.suite, o.component);
    match &new.source {
        Source::Upload { path, .. } => upload_conflict(o, old, &new.entry, path),
        Source::Copy { suite: from, .. } => InputError::new(
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
            Source::Copy { n, .. } => {
                self.uploads
                    .outcomes
                    .push((n, Outcome::Copied, id(&c.entry)));
            }
        }
        self.keep(c.entry)
    }

    /// A package in the component after this run's additions: removed, held for
    /// `--keep`, or written.
    fn keep(&mut self, e: Entry) -> Result<()> {
        let mut first = None;
        for (i, (r, removed)) in self
            .o
            .removals
            .iter()
            .zip(self.removed.iter_mut())
            .enumerate()
        {
            if r.matches(&e) {
                *removed = true;
                first.get_or_insert(i);
            }
        }
        if let Some(r) = first {
            self.uploads.removed.push((r, id(&e)));
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
            // Reported by architecture, newest first.
            for i in versions.into_iter().skip(keep) {
                self.report.pruned.push(id(&group[i]));
                dropped.insert(i);
            }
        }
        for (i, e) in group.iter().enumerate() {
            if !dropped.contains(&i) {
                (self.emit)(e)?;
            }
        }
        Ok(())
    }
}
