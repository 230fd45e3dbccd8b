//! The input layer: every byte unitpack reads from outside (recipes, the unit files and
//! assets they name, snippets, `.deb`s and repository files) comes through here. Opens
//! never follow a symlink in the last component and never block on a FIFO; reads are
//! bounded by a size chosen per kind of input.
//!
//! Files a recipe names are resolved relative to its directory by one resolver: every component is looked at with `symlink_metadata` and a symlink
//! anywhere is refused, so nothing outside the recipe's directory is read; anything
//! that is not a regular file or a directory (FIFO, socket, device) is refused before
//! it is opened, so nothing can block a build or be read without end.

use std::fs::{File, FileType};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// What a source path leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// `rel` (as written in the recipe) below `dir`, checked component by component.
pub fn resolve(dir: &Path, rel: &str) -> Result<(PathBuf, Kind), String> {
    let path = Path::new(rel);
    if rel.is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "{rel:?} must be a path inside the recipe's directory (no leading '/', no '..')"
        ));
    }
    let names: Vec<_> = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    if names.is_empty() {
        return Err(format!("{rel:?} names the recipe's directory itself"));
    }
    let mut full = dir.to_path_buf();
    for (i, name) in names.iter().enumerate() {
        full.push(name);
        let ft = std::fs::symlink_metadata(&full)
            .map_err(|e| format!("{}: {e}", full.display()))?
            .file_type();
        if ft.is_symlink() {
            return Err(format!(
                "{} is a symlink; unitpack follows no symlink in a source path",
                full.display()
            ));
        }
        let last = i + 1 == names.len();
        if !last && !ft.is_dir() {
            return Err(format!("{} is not a directory", full.display()));
        }
        if last {
            return match kind(ft) {
                Some(k) => Ok((full, k)),
                None => Err(special(&full, ft)),
            };
        }
    }
    unreachable!("the loop returns at the last component")
}

fn kind(ft: FileType) -> Option<Kind> {
    if ft.is_file() {
        Some(Kind::File)
    } else if ft.is_dir() {
        Some(Kind::Dir)
    } else {
        None
    }
}

/// The message for a file that is neither a regular file nor a directory.
pub fn special(path: &Path, ft: FileType) -> String {
    let what = if ft.is_symlink() {
        "a symlink"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "of an unknown type"
    };
    format!(
        "{} is {what}, not a regular file or a directory (nothing else is packaged or read)",
        path.display()
    )
}

/// Open a regular file for reading: a symlink in the last component is not followed
/// and a FIFO does not block the open; the type is checked on the open file.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let ft = file.metadata()?.file_type();
    if !ft.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            special(path, ft),
        ));
    }
    Ok(file)
}

/// A text file read whole, at most `limit` bytes, through [`open_regular`].
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    let file = open_regular(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{} is larger than {} KiB, which no recipe or unit file needs",
            path.display(),
            limit / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// A file read whole as bytes, at most `limit` bytes, through [`open_regular`].
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = open_regular(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{} is larger than {} KiB, the bound for this kind of input",
            path.display(),
            limit / 1024
        ));
    }
    Ok(bytes)
}

/// Largest recipe read.
pub const MAX_RECIPE: u64 = 1024 * 1024;
/// Largest unit file read.
pub const MAX_UNIT_FILE: u64 = 256 * 1024;
/// Largest maintainer-script snippet read (it is passed as one `sh -c` argument, which
/// Linux bounds at 128 KiB).
pub const MAX_SNIPPET: u64 = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_symlinks_in_any_component_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("real")).unwrap();
        std::fs::write(d.join("real/f"), "x").unwrap();
        std::os::unix::fs::symlink("real", d.join("link")).unwrap();
        std::os::unix::fs::symlink("/etc", d.join("etc")).unwrap();
        assert_eq!(resolve(d, "real/f").unwrap().1, Kind::File);
        assert_eq!(resolve(d, "./real").unwrap().1, Kind::Dir);
        for bad in [
            "link/f",
            "etc/passwd",
            "link",
            "../x",
            "/etc/passwd",
            "",
            ".",
            "real/f/x",
        ] {
            assert!(resolve(d, bad).is_err(), "{bad}");
        }
        let fifo = d.join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        assert!(resolve(d, "fifo").unwrap_err().contains("FIFO"));
        assert!(read_text(&fifo, 10).is_err());
        assert!(read_text(Path::new("/dev/zero"), 10).is_err());
    }
}
