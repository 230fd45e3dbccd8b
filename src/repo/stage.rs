//! All-or-nothing writes into a repository: every file is first written in full under a
//! temporary name beside its destination; [`Stage::commit`] then renames them in the
//! order they were staged (pool, indexes, `Release`, signatures last). Dropped without
//! a commit, the stage removes its temporary files and the directories it created.
//!
//! A stage made [`Stage::in_repository`] takes destinations relative to the
//! repository and checks each directory on the way without following symlinks: it
//! never writes through a symlinked `pool/`, `dists/` or component directory.

use super::cleanup;
use crate::error::{Error, InputError, Result};
use crate::input::{self, Kind};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Default)]
pub struct Stage {
    /// Destinations are relative to it, and checked below it.
    root: Option<PathBuf>,
    files: Vec<(tempfile::TempPath, PathBuf)>,
    created_dirs: Vec<PathBuf>,
    /// Everything this stage told [`cleanup`] to remove on a signal.
    registered: Vec<PathBuf>,
    committed: bool,
    /// Directories below the root already found (or made) directories in this run:
    /// each is looked at once, not once per file staged below it.
    known_dirs: std::collections::HashSet<PathBuf>,
}

impl Stage {
    pub fn in_repository(root: &Path) -> Stage {
        let mut stage = Stage::default();
        stage.root = Some(root.to_path_buf());
        stage
    }

    /// Where `dest` is on disk; inside a repository, it must not be (or pass through) a
    /// symlink, and must not be a directory or special file.
    fn place(&mut self, dest: &Path) -> Result<PathBuf> {
        match &self.root {
            None => Ok(dest.to_path_buf()),
            Some(root) => {
                input::walk_below_known(root, dest, Kind::File, &mut self.known_dirs)
                    .map_err(|m| InputError::new(root, None, "repo", m))?;
                Ok(root.join(dest))
            }
        }
    }

    /// A temporary file in `dir` whose destination is not known yet: [`Stage::adopt`]
    /// it, or drop it (which removes it).
    pub fn scratch(&mut self, dir: &Path) -> Result<tempfile::NamedTempFile> {
        let dir = self.mkdirs(dir)?;
        let tmp = temp_in(&dir)?;
        self.register_file(tmp.path());
        Ok(tmp)
    }

    fn register_file(&mut self, path: &Path) {
        cleanup::register_file(path);
        self.registered.push(path.to_path_buf());
    }

    /// Rename `tmp` (from [`Stage::scratch`], same file system) to `dest` at commit.
    pub fn adopt(&mut self, tmp: tempfile::NamedTempFile, dest: &Path) -> Result<()> {
        self.mkdirs(
            dest.parent()
                .expect("destinations are inside the repository"),
        )?;
        let dest = self.place(dest)?;
        self.files.push((tmp.into_temp_path(), dest));
        Ok(())
    }

    /// A temporary file beside `dest`, filled by `fill`, renamed at commit.
    pub fn file(
        &mut self,
        dest: &Path,
        fill: impl FnOnce(&mut std::fs::File) -> Result<()>,
    ) -> Result<&Path> {
        let dir = dest
            .parent()
            .expect("destinations are inside the repository");
        let dir = self.mkdirs(dir)?;
        let dest = &self.place(dest)?;
        let mut tmp = temp_in(&dir)?;
        self.register_file(tmp.path());
        fill(tmp.as_file_mut())?;
        tmp.as_file_mut()
            .flush()
            .map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
        self.files.push((tmp.into_temp_path(), dest.to_path_buf()));
        Ok(&self.files.last().unwrap().0)
    }

    pub fn bytes(&mut self, dest: &Path, bytes: &[u8]) -> Result<&Path> {
        self.file(dest, |f| {
            f.write_all(bytes)
                .map_err(|e| Error::io(format!("writing {}", dest.display()), e))
        })
    }

    /// Make `dir` (relative to the root, if any) and the directories above it; returns
    /// where it is on disk.
    fn mkdirs(&mut self, dir: &Path) -> Result<PathBuf> {
        let Some(root) = self.root.clone() else {
            self.mkdirs_anywhere(dir)?;
            return Ok(dir.to_path_buf());
        };
        if std::fs::symlink_metadata(&root).is_err() {
            // A new repository (its parent was checked to exist).
            std::fs::create_dir(&root)
                .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
            cleanup::register_dir(&root);
            self.registered.push(root.clone());
            self.created_dirs.push(root.clone());
        }
        let mut rel = PathBuf::new();
        for c in dir.components() {
            rel.push(c);
            if self.known_dirs.contains(&rel) {
                continue;
            }
            let found = input::walk_below_known(&root, &rel, Kind::Dir, &mut self.known_dirs)
                .map_err(|m| InputError::new(&root, None, "repo", m))?;
            if found.is_none() {
                let full = root.join(&rel);
                std::fs::create_dir(&full)
                    .map_err(|e| Error::io(format!("creating {}", full.display()), e))?;
                cleanup::register_dir(&full);
                self.registered.push(full.clone());
                self.created_dirs.push(full);
                self.known_dirs.insert(rel.clone());
            }
        }
        Ok(root.join(dir))
    }

    fn mkdirs_anywhere(&mut self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut d = dir;
        while !d.as_os_str().is_empty() && !d.exists() {
            missing.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        for m in missing.into_iter().rev() {
            std::fs::create_dir(&m)
                .map_err(|e| Error::io(format!("creating {}", m.display()), e))?;
            self.created_dirs.push(m);
        }
        Ok(())
    }

    /// Rename every staged file into place, in staging order.
    /// A signal waits until the renames are done (see [`cleanup`]).
    pub fn commit(mut self) -> Result<()> {
        self.committed = true;
        let mut registry = cleanup::hold();
        registry.forget(&self.registered);
        for (tmp, dest) in std::mem::take(&mut self.files) {
            newer_than_replaced(&tmp, &dest)?;
            tmp.persist(&dest)
                .map_err(|e| Error::io(format!("renaming into {}", dest.display()), e.error))?;
        }
        Ok(())
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        self.files.clear(); // TempPath removes its file
        for d in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        cleanup::forget(&self.registered);
    }
}

/// A file that replaces another gets a later modification time (in whole seconds)
/// than the one it replaces. Web servers answer apt's If-Modified-Since from the
/// mtime in seconds: two publications within one second would otherwise leave every
/// client that fetched the first with "304 Not Modified", and so with the old state.
fn newer_than_replaced(tmp: &Path, dest: &Path) -> Result<()> {
    use std::time::{Duration, UNIX_EPOCH};
    let Ok(old) = std::fs::symlink_metadata(dest).and_then(|m| m.modified()) else {
        return Ok(()); // nothing replaced
    };
    let secs = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(tmp)
        .map_err(|e| Error::io(format!("opening {}", tmp.display()), e))?;
    let new = file
        .metadata()
        .and_then(|m| m.modified())
        .map_err(|e| Error::io(format!("reading the time of {}", tmp.display()), e))?;
    if secs(new) <= secs(old) {
        file.set_modified(UNIX_EPOCH + Duration::from_secs(secs(old) + 1))
            .map_err(|e| Error::io(format!("dating {}", tmp.display()), e))?;
    }
    Ok(())
}

/// Created 0644 (minus the umask): a repository is read by a web server.
fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(".unitpack-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))
}
