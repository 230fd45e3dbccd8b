//! All-or-nothing writes into a repository: every file is first written in full under a
//! temporary name beside its destination; [`Stage::commit`] then renames them in the
//! order they were staged (pool, indexes, `Release`, signatures last). Dropped without
//! a commit, the stage removes its temporary files and the directories it created.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Default)]
pub struct Stage {
    files: Vec<(tempfile::TempPath, PathBuf)>,
    created_dirs: Vec<PathBuf>,
    committed: bool,
}

impl Stage {
    /// A temporary file in `dir` whose destination is not known yet: [`Stage::adopt`]
    /// it, or drop it (which removes it).
    pub fn scratch(&mut self, dir: &Path) -> Result<tempfile::NamedTempFile> {
        self.mkdirs(dir)?;
        temp_in(dir)
    }

    /// Rename `tmp` (from [`Stage::scratch`], same file system) to `dest` at commit.
    pub fn adopt(&mut self, tmp: tempfile::NamedTempFile, dest: &Path) -> Result<()> {
        self.mkdirs(
            dest.parent()
                .expect("destinations are inside the repository"),
        )?;
        self.files.push((tmp.into_temp_path(), dest.to_path_buf()));
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
        self.mkdirs(dir)?;
        let mut tmp = temp_in(dir)?;
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

    fn mkdirs(&mut self, dir: &Path) -> Result<()> {
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
    pub fn commit(mut self) -> Result<()> {
        self.committed = true;
        for (tmp, dest) in std::mem::take(&mut self.files) {
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
    }
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
