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
        let last = i + 1 == names.len();
        let ft = std::fs::symlink_metadata(&full)
            .map_err(|e| {
                // The file asked for, then the directory on the way that is missing.
                if !last && e.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "{}: {e}: there is no directory {}",
                        dir.join(path).display(),
                        full.display()
                    )
                } else {
                    format!("{}: {e}", full.display())
                }
            })?
            .file_type();
        if ft.is_symlink() {
            return Err(format!(
                "{} is a symlink; unitpack follows no symlink in a source path",
                full.display()
            ));
        }
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
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW's refusal: say what it means.
            Some(libc::ELOOP) => std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symlink; unitpack does not follow it",
                    path.display()
                ),
            ),
            _ => e,
        })?;
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
    let bytes = read_bytes(path, limit)?;
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
            "{} is larger than {} KiB, the most unitpack reads of this kind of file (docs/trust.md)",
            path.display(),
            limit / 1024
        ));
    }
    Ok(bytes)
}

/// `SOURCE_DATE_EPOCH`, or a fixed default so that builds are reproducible anyway.
/// The default is a recent date: tar warns about entries from 1970.
pub fn source_date_epoch() -> Result<u64, crate::Error> {
    const DEFAULT: u64 = 1_704_067_200; // 2024-01-01T00:00:00Z
    match std::env::var("SOURCE_DATE_EPOCH") {
        Err(_) => Ok(DEFAULT),
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| crate::Error::SourceDateEpoch(v)),
    }
}

/// Largest recipe read.
pub const MAX_RECIPE: u64 = 1024 * 1024;
/// Largest unit file read (`file:` units, `new --from`, `lint --units`).
pub const MAX_UNIT_FILE: u64 = 256 * 1024;
/// Largest maintainer-script snippet read (`scripts:`; it is passed as one `sh -c`
/// argument, which Linux bounds at 128 KiB).
pub const MAX_SNIPPET: u64 = 64 * 1024;

// --- Repository inputs (`unitpack repo`): uploaded packages and the files of an
// existing repository, which an uploader or whoever wrote the repository may control.

/// Largest `.deb` taken into a repository (streamed, never held in memory).
pub const MAX_DEB: u64 = 2 * 1024 * 1024 * 1024;
/// Largest decompressed `control.tar` member of a `.deb` (dpkg's own control files are
/// a few KiB; `md5sums` of a large package a few hundred).
pub const MAX_DEB_CONTROL_TAR: u64 = 16 * 1024 * 1024;
/// Most of a `.deb`'s data member unitpack decompresses (`new --from PACKAGE.deb`).
pub const MAX_DEB_DATA_TAR: u64 = 4 * 1024 * 1024 * 1024;
/// Largest `control` file inside a `.deb`.
pub const MAX_DEB_CONTROL: u64 = 1024 * 1024;
/// Largest `debian-binary` member.
pub const MAX_DEB_VERSION: u64 = 64;
/// Largest existing `dists/SUITE/Release` read back.
pub const MAX_RELEASE: u64 = 16 * 1024 * 1024;
/// Largest existing `Packages` index read back (about 150,000 packages).
pub const MAX_PACKAGES_INDEX: u64 = 256 * 1024 * 1024;
/// Largest secret key file.
pub const MAX_KEY_FILE: u64 = 1024 * 1024;

/// Why a bounded read failed: the caller decides whose fault each is.
#[derive(Debug)]
pub enum ReadError {
    /// Not there (callers of optional files treat it as absent).
    Missing,
    /// A symlink, a FIFO, a device, a directory: refused before any blocking read.
    NotRegular(String),
    /// Larger than the bound of its kind.
    TooLarge { limit: u64 },
    /// Any other I/O error.
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing => write!(f, "does not exist"),
            ReadError::NotRegular(m) => write!(f, "{m}"),
            ReadError::TooLarge { limit } => write!(
                f,
                "is larger than {}, the bound for this kind of input",
                human_size(*limit)
            ),
            ReadError::Io(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// [`open_regular`] with its failure typed, and the file's size checked against
/// `limit` before anything is read (a sparse 1 GiB file is refused at once).
pub fn open_bounded(path: &Path, limit: u64) -> Result<File, ReadError> {
    let file = open_regular(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::Missing,
        std::io::ErrorKind::InvalidInput => ReadError::NotRegular(e.to_string()),
        _ if e.raw_os_error() == Some(libc::ELOOP) => ReadError::NotRegular(format!(
            "{} is a symlink, which is not followed",
            path.display()
        )),
        _ => ReadError::Io(e),
    })?;
    let size = file.metadata().map_err(ReadError::Io)?.len();
    if size > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(file)
}

/// At most `limit` bytes of `reader`; more is an error, not a truncation.
pub fn read_to_limit(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// A whole file through [`open_bounded`] (the bound is checked again while reading:
/// the file may grow).
pub fn read_file_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_to_limit(open_bounded(path, limit)?, limit)
}

/// The names of the regular files of `dir` (no symlink followed) that end in one of
/// `suffixes`, sorted; nothing when `dir` cannot be listed. Names only: a file named is
/// read later through this module like any other.
pub fn file_names_in(dir: &Path, suffixes: &[&str]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| suffixes.iter().any(|s| n.ends_with(s)))
        .collect();
    names.sort();
    names
}

/// What a directory entry is, by its own type (a symlink is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// The entries of `dir` by name and type (no symlink followed), sorted. Names only:
/// a file named is read later through this module like any other.
pub fn entries_in(dir: &Path) -> Result<Vec<(String, EntryKind)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let t = e
            .file_type()
            .map_err(|err| format!("{}: {err}", e.path().display()))?;
        let kind = if t.is_symlink() {
            EntryKind::Symlink
        } else if t.is_file() {
            EntryKind::File
        } else if t.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::Other
        };
        if let Ok(name) = e.file_name().into_string() {
            out.push((name, kind));
        }
    }
    out.sort();
    Ok(out)
}

/// What is at `root/rel`, looked at component by component without following any
/// symlink: `Ok(None)` when something is missing (from that component on, nothing
/// exists), an error naming the first symlink or non-directory on the way, or `last`
/// when the last component exists and is not of that kind.
pub fn walk_below(root: &Path, rel: &Path, last: Kind) -> Result<Option<PathBuf>, String> {
    let mut full = root.to_path_buf();
    let names: Vec<_> = rel.components().collect();
    for (i, c) in names.iter().enumerate() {
        let Component::Normal(name) = c else {
            return Err(format!(
                "{} leaves {}: only plain names are allowed below it",
                rel.display(),
                root.display()
            ));
        };
        full.push(name);
        let ft = match std::fs::symlink_metadata(&full) {
            Ok(m) => m.file_type(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", full.display())),
        };
        if ft.is_symlink() {
            return Err(format!(
                "{} is a symlink; nothing inside the repository is followed",
                full.display()
            ));
        }
        let want = if i + 1 == names.len() {
            last
        } else {
            Kind::Dir
        };
        if kind(ft) != Some(want) {
            return Err(match (want, kind(ft)) {
                (Kind::Dir, Some(Kind::File)) => format!("{} is not a directory", full.display()),
                (Kind::File, Some(Kind::Dir)) => format!("{} is a directory", full.display()),
                _ => special(&full, ft),
            });
        }
    }
    Ok(Some(full))
}

/// [`walk_below`] for many paths below one root in one run: a directory `known` holds
/// (relative to `root`, found a directory by an earlier call) is not looked at again,
/// so 10,000 pool files in one directory cost one look each rather than one per
/// component. `known` must not outlive the run (and its lock on the repository).
pub fn walk_below_known(
    root: &Path,
    rel: &Path,
    last: Kind,
    known: &mut std::collections::HashSet<PathBuf>,
) -> Result<Option<PathBuf>, String> {
    let names: Vec<Component> = rel.components().collect();
    let prefix = |i: usize| names[..i].iter().collect::<PathBuf>();
    let start = (1..names.len())
        .rev()
        .find(|&i| known.contains(&prefix(i)))
        .unwrap_or(0);
    let rest: PathBuf = names[start..].iter().collect();
    let found = walk_below(&root.join(prefix(start)), &rest, last)?;
    if found.is_some() {
        let dirs = if last == Kind::Dir {
            names.len()
        } else {
            names.len().saturating_sub(1)
        };
        for i in start + 1..=dirs {
            known.insert(prefix(i));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file below a missing directory is named whole, not by the directory.
    #[test]
    fn a_missing_file_is_named_whole() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let err = resolve(d, "units/nothere.service").unwrap_err();
        assert!(
            err.starts_with(&format!("{}: ", d.join("units/nothere.service").display())),
            "{err}"
        );
        assert!(
            err.ends_with(&format!(
                "there is no directory {}",
                d.join("units").display()
            )),
            "{err}"
        );
        let err = resolve(d, "nothere.service").unwrap_err();
        assert!(
            err.starts_with(&format!("{}: ", d.join("nothere.service").display())),
            "{err}"
        );
    }

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

    #[test]
    fn bounded_reads_refuse_fifos_symlinks_and_large_files_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let fifo = d.join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        assert!(matches!(
            read_file_bounded(&fifo, 10),
            Err(ReadError::NotRegular(_))
        ));
        let sparse = std::fs::File::create(d.join("sparse")).unwrap();
        sparse.set_len(1 << 30).unwrap();
        assert!(matches!(
            read_file_bounded(&d.join("sparse"), 1 << 20),
            Err(ReadError::TooLarge { .. })
        ));
        std::os::unix::fs::symlink("sparse", d.join("link")).unwrap();
        assert!(matches!(
            read_file_bounded(&d.join("link"), 1 << 40),
            Err(ReadError::NotRegular(_))
        ));
        assert!(matches!(
            read_file_bounded(&d.join("none"), 1),
            Err(ReadError::Missing)
        ));
        assert!(matches!(
            read_to_limit(&b"abcd"[..], 3),
            Err(ReadError::TooLarge { limit: 3 })
        ));
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::os::unix::fs::symlink("a", d.join("s")).unwrap();
        assert!(walk_below(d, Path::new("a/b"), Kind::Dir)
            .unwrap()
            .is_some());
        assert!(walk_below(d, Path::new("a/b/c/d"), Kind::File)
            .unwrap()
            .is_none());
        assert!(walk_below(d, Path::new("s/b"), Kind::Dir).is_err());
        assert!(walk_below(d, Path::new("a/../s"), Kind::Dir).is_err());
        assert!(walk_below(d, Path::new("a/b"), Kind::File).is_err());
    }

    #[test]
    fn walking_with_known_directories_checks_what_is_not_known() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("pool/a")).unwrap();
        std::fs::create_dir_all(d.join("real")).unwrap();
        std::fs::write(d.join("pool/a/f"), "x").unwrap();
        std::os::unix::fs::symlink("../real", d.join("pool/s")).unwrap();
        std::os::unix::fs::symlink("f", d.join("pool/a/l")).unwrap();
        let mut known = std::collections::HashSet::new();
        let f = walk_below_known(d, Path::new("pool/a/f"), Kind::File, &mut known);
        assert_eq!(f.unwrap(), Some(d.join("pool/a/f")));
        assert!(known.contains(Path::new("pool")) && known.contains(Path::new("pool/a")));
        assert_eq!(known.len(), 2);
        assert_eq!(
            walk_below_known(d, Path::new("pool/a/g"), Kind::File, &mut known).unwrap(),
            None
        );
        for bad in ["pool/a/l", "pool/s/f", "pool/../real", "pool/a/f/g"] {
            let r = walk_below_known(d, Path::new(bad), Kind::File, &mut known);
            assert!(r.is_err(), "{bad}: {r:?}");
        }
        assert!(walk_below_known(d, Path::new("pool/a"), Kind::File, &mut known).is_err());
        assert_eq!(known.len(), 2);
    }
}
