//! Reading the target filesystem under a root directory (`--root DIR`), as a
//! chroot would see it: absolute symlinks are resolved inside the root, never on
//! the host.

use std::cell::RefCell;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

const MAX_SYMLINK_HOPS: u32 = 40;

/// The largest file the helper reads (manifest, unit file, PAM file). Real
/// ones are a few KB; anything bigger is refused, not read, so a hostile or
/// broken root cannot make the helper (and dpkg, which waits for it) eat memory.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Entries read from one directory; the rest are skipped (and reported).
pub const MAX_DIR_ENTRIES: usize = 4096;

/// `O_NONBLOCK` (the same value on every Linux architecture unitpack targets;
/// std has no constant and the helper takes no libc dependency). Files are
/// only opened after lstat says they are regular, but a FIFO swapped in
/// between must not block the open.
const O_NONBLOCK: i32 = 0o4000;

/// Why a file was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    Missing,
    /// A FIFO, device, socket or directory: never opened.
    NotRegular(&'static str),
    /// Bigger than `MAX_FILE_BYTES`: never read.
    TooBig(u64),
    Io(String),
}

impl Unreadable {
    /// Skipped for safety (as opposed to absent or broken).
    pub fn is_skip(&self) -> bool {
        matches!(self, Unreadable::NotRegular(_) | Unreadable::TooBig(_))
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Unreadable::Missing => write!(f, "no such file"),
            Unreadable::NotRegular(kind) => {
                write!(f, "is a {}, not a regular file; not opened", kind)
            }
            Unreadable::TooBig(n) => write!(
                f,
                "is {} bytes, more than the {} bytes the helper reads; not read",
                n, MAX_FILE_BYTES
            ),
            Unreadable::Io(e) => write!(f, "{}", e),
        }
    }
}

/// A file or directory the helper refused to read, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

fn kind_of(ft: &fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_symlink() {
        "symlink"
    } else {
        "special file"
    }
}

/// Reads a regular file of at most `MAX_FILE_BYTES`, never blocking: the type
/// and size are checked before opening, the open is non-blocking, and both are
/// checked again on the open file (it may have been replaced meanwhile).
fn read_bounded(path: &std::path::Path) -> Result<String, Unreadable> {
    let check = |meta: &fs::Metadata| -> Result<(), Unreadable> {
        if !meta.file_type().is_file() {
            return Err(Unreadable::NotRegular(kind_of(&meta.file_type())));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(Unreadable::TooBig(meta.len()));
        }
        Ok(())
    };
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Unreadable::Missing,
        _ => Unreadable::Io(e.to_string()),
    };
    check(&fs::symlink_metadata(path).map_err(io)?)?;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    check(&file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Unreadable::TooBig(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| Unreadable::Io(String::from("not UTF-8")))
}

pub struct Root {
    base: PathBuf,
    /// Directories met while resolving: path → link target (`None`: not a
    /// link). Only components that exist and are not the last one are kept,
    /// so files appearing later (wait-runtime-dir) are still seen. Saves most
    /// lstat calls: a doctor run resolves the same few directories many times.
    dirs: RefCell<Vec<(String, Option<String>)>>,
    /// Every file or directory refused so far, in order (repeats included).
    skipped: RefCell<Vec<Skipped>>,
}

impl Root {
    pub fn new(base: &str) -> Root {
        Root {
            base: PathBuf::from(base),
            dirs: RefCell::new(Vec::new()),
            skipped: RefCell::new(Vec::new()),
        }
    }

    /// lstat of a resolved path: `None` if missing, `Some(None)` if not a
    /// symlink, `Some(Some(target))` if a symlink.
    fn lstat(&self, here: &str, cache: bool) -> Option<Option<String>> {
        if cache {
            if let Some((_, kind)) = self.dirs.borrow().iter().find(|(p, _)| p == here) {
                return Some(kind.clone());
            }
        }
        let meta = fs::symlink_metadata(self.host(here)).ok()?;
        let kind = if meta.file_type().is_symlink() {
            Some(
                fs::read_link(self.host(here))
                    .ok()?
                    .to_string_lossy()
                    .into_owned(),
            )
        } else {
            None
        };
        if cache {
            self.dirs
                .borrow_mut()
                .push((here.to_string(), kind.clone()));
        }
        Some(kind)
    }

    pub fn display(&self) -> String {
        self.base.to_string_lossy().into_owned()
    }

    /// Host path of a target path, following no symlinks.
    pub fn host(&self, abs: &str) -> PathBuf {
        self.base.join(abs.trim_start_matches('/'))
    }

    /// Follows every symlink of `abs` inside the root. Returns the target path
    /// (absolute, no symlinks left) or `None` if a component is missing or the
    /// links loop.
    pub fn resolve(&self, abs: &str) -> Option<String> {
        let mut done: Vec<String> = Vec::new();
        let mut todo: Vec<String> = split_rev(abs);
        let mut hops = 0;
        while let Some(comp) = todo.pop() {
            match comp.as_str() {
                "" | "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            done.push(comp);
            let here = join_abs(&done);
            let last = todo.iter().all(|c| c.is_empty() || c == ".");
            if let Some(target) = self.lstat(&here, !last)? {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return None;
                }
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(split_rev(&target));
            }
        }
        Some(join_abs(&done))
    }

    /// Metadata of the file `abs` names after resolving symlinks inside the root.
    pub fn metadata(&self, abs: &str) -> Option<fs::Metadata> {
        let resolved = self.resolve(abs)?;
        fs::metadata(self.host(&resolved)).ok()
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.metadata(abs).is_some()
    }

    pub fn is_dir(&self, abs: &str) -> bool {
        self.metadata(abs).map(|m| m.is_dir()).unwrap_or(false)
    }

    /// Reads the file `abs` names (see `read_bounded`); a refused file is
    /// also recorded in `skipped`.
    pub fn read_to_string(&self, abs: &str) -> Result<String, Unreadable> {
        let resolved = self.resolve(abs).ok_or(Unreadable::Missing)?;
        let result = read_bounded(&self.host(&resolved));
        if let Err(e) = &result {
            if e.is_skip() {
                self.skip(abs, e.to_string());
            }
        }
        result
    }

    fn skip(&self, abs: &str, reason: String) {
        self.skipped.borrow_mut().push(Skipped {
            path: abs.to_string(),
            reason,
        });
    }

    /// How many refusals were recorded so far; with `skipped_since`, tells
    /// what one part of a run skipped.
    pub fn skipped_len(&self) -> usize {
        self.skipped.borrow().len()
    }

    pub fn skipped_since(&self, start: usize, end: usize) -> Vec<Skipped> {
        let all = self.skipped.borrow();
        all.get(start..end).map(|s| s.to_vec()).unwrap_or_default()
    }

    /// Names in directory `abs` (resolved inside the root), sorted; empty if it
    /// is missing.
    pub fn list_dir(&self, abs: &str) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(dir) = self.resolve(abs) {
            if let Ok(rd) = fs::read_dir(self.host(&dir)) {
                for entry in rd.flatten() {
                    if names.len() == MAX_DIR_ENTRIES {
                        self.skip(
                            abs,
                            format!(
                                "has more than {} entries; the rest were not read",
                                MAX_DIR_ENTRIES
                            ),
                        );
                        break;
                    }
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        sort_by_key(&mut names, |s| s.as_str());
        names
    }

    /// The raw target of the symlink at `abs` (its parent directories are
    /// resolved inside the root). `Err(true)` if nothing is there, `Err(false)`
    /// if something is there but is not a symlink.
    pub fn read_link(&self, abs: &str) -> Result<String, bool> {
        let (parent, name) = split_parent(abs);
        let parent = self.resolve(parent).ok_or(true)?;
        let host = self.host(&parent).join(name);
        let meta = fs::symlink_metadata(&host).map_err(|_| true)?;
        if !meta.file_type().is_symlink() {
            return Err(false);
        }
        let target = fs::read_link(&host).map_err(|_| true)?;
        Ok(target.to_string_lossy().into_owned())
    }
}

pub fn is_executable_file(meta: &fs::Metadata) -> bool {
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

pub fn owner_uid(meta: &fs::Metadata) -> u32 {
    meta.uid()
}

/// Insertion sort by a string key. The lists here are short, and std's
/// sort costs several KB of code per element type in the static binary.
pub fn sort_by_key<T>(v: &mut [T], key: impl Fn(&T) -> &str) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && key(&v[j - 1]) > key(&v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Splits `/a/b` into (`/a`, `b`).
pub fn split_parent(abs: &str) -> (&str, &str) {
    let trimmed = abs.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => ("/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (".", trimmed),
    }
}

pub fn basename(path: &str) -> &str {
    split_parent(path).1
}

/// Path components in reverse order, so `Vec::pop` yields them front to back.
fn split_rev(path: &str) -> Vec<String> {
    path.split('/').rev().map(String::from).collect()
}

fn join_abs(comps: &[String]) -> String {
    if comps.is_empty() {
        return String::from("/");
    }
    let mut s = String::new();
    for c in comps {
        s.push('/');
        s.push_str(c);
    }
    s
}

/// Real uid of this process, read from /proc (no libc binding needed).
pub fn caller_uid() -> Option<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if let Some(rest) = line.strip_prefix("Uid:") {
                if let Some(first) = rest.split_whitespace().next() {
                    return first.parse().ok();
                }
            }
        }
    }
    fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    #[test]
    fn absolute_links_resolve_inside_the_root() {
        let fr = FakeRoot::new();
        fr.write("/usr/bin/real", "x");
        fr.symlink("/etc/alternatives/tool", "/usr/bin/real");
        fr.symlink("/usr/bin/tool", "/etc/alternatives/tool");
        fr.symlink("/lib", "usr/lib");
        fr.write("/usr/lib/systemd/systemd-logind", "");
        let root = fr.root();
        assert_eq!(
            root.resolve("/usr/bin/tool").as_deref(),
            Some("/usr/bin/real")
        );
        assert_eq!(
            root.resolve("/lib/systemd/systemd-logind").as_deref(),
            Some("/usr/lib/systemd/systemd-logind")
        );
        assert!(root.exists("/lib/systemd/systemd-logind"));
    }

    #[test]
    fn host_absolute_link_does_not_escape() {
        let fr = FakeRoot::new();
        // /bin/sh exists on the host, but not in the fake root.
        fr.symlink("/usr/bin/escape", "/bin/sh");
        assert_eq!(fr.root().resolve("/usr/bin/escape"), None);
    }

    #[test]
    fn dotdot_and_loops() {
        let fr = FakeRoot::new();
        fr.write("/a/b/file", "");
        fr.symlink("/a/c/up", "../b/file");
        fr.symlink("/loop1", "/loop2");
        fr.symlink("/loop2", "/loop1");
        let root = fr.root();
        assert_eq!(root.resolve("/a/c/up").as_deref(), Some("/a/b/file"));
        assert_eq!(root.resolve("/loop1"), None);
    }

    #[test]
    fn files_appearing_later_are_seen() {
        let fr = FakeRoot::new();
        fr.mkdir("/run/user");
        let root = fr.root();
        assert!(!root.exists("/run/user/1000"));
        fr.mkdir("/run/user/1000");
        assert!(root.exists("/run/user/1000"));
        fr.symlink("/run/user/1000/link", "/run/user");
        assert_eq!(
            root.resolve("/run/user/1000/link/1000").as_deref(),
            Some("/run/user/1000")
        );
    }

    #[test]
    fn read_link_reports_kind() {
        let fr = FakeRoot::new();
        fr.symlink("/etc/l", "/x");
        fr.write("/etc/f", "");
        let root = fr.root();
        assert_eq!(root.read_link("/etc/l"), Ok(String::from("/x")));
        assert_eq!(root.read_link("/etc/f"), Err(false));
        assert_eq!(root.read_link("/etc/none"), Err(true));
    }

    #[test]
    fn refuses_fifos_and_files_over_the_cap() {
        let fr = FakeRoot::new();
        fr.mkdir("/u");
        let fifo = fr.path("/u/fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        fr.write("/u/max", &"x".repeat(MAX_FILE_BYTES as usize));
        fr.write("/u/over", &"x".repeat(MAX_FILE_BYTES as usize + 1));
        fs::File::create(fr.path("/u/sparse"))
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        fr.mkdir("/u/dir");
        fr.symlink("/u/link", "/u/fifo");
        let root = fr.root();
        assert_eq!(
            root.read_to_string("/u/fifo"),
            Err(Unreadable::NotRegular("FIFO"))
        );
        assert_eq!(
            root.read_to_string("/u/link"),
            Err(Unreadable::NotRegular("FIFO"))
        );
        assert_eq!(root.read_to_string("/u/max").unwrap().len(), 1 << 20);
        assert_eq!(
            root.read_to_string("/u/over"),
            Err(Unreadable::TooBig(MAX_FILE_BYTES + 1))
        );
        assert_eq!(
            root.read_to_string("/u/sparse"),
            Err(Unreadable::TooBig(1 << 40))
        );
        assert_eq!(
            root.read_to_string("/u/dir"),
            Err(Unreadable::NotRegular("directory"))
        );
        assert_eq!(root.read_to_string("/u/none"), Err(Unreadable::Missing));
        let skipped = root.skipped_since(0, root.skipped_len());
        let paths: Vec<&str> = skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/u/fifo", "/u/link", "/u/over", "/u/sparse", "/u/dir"]
        );
    }

    #[test]
    fn huge_directories_are_cut_and_reported() {
        let fr = FakeRoot::new();
        fr.mkdir("/d");
        for i in 0..MAX_DIR_ENTRIES + 3 {
            fs::File::create(fr.path(&format!("/d/{}", i))).unwrap();
        }
        let root = fr.root();
        assert_eq!(root.list_dir("/d").len(), MAX_DIR_ENTRIES);
        let skipped = root.skipped_since(0, root.skipped_len());
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].reason.contains("more than 4096 entries"));
    }

    #[test]
    fn insertion_sort_is_stable_and_ordered() {
        let mut v = vec![("b", 1), ("a", 2), ("c", 3), ("a", 4)];
        sort_by_key(&mut v, |x| x.0);
        assert_eq!(v, [("a", 2), ("a", 4), ("b", 1), ("c", 3)]);
        let mut e: Vec<&str> = Vec::new();
        sort_by_key(&mut e, |x| x);
        assert!(e.is_empty());
    }

    #[test]
    fn split_parent_cases() {
        assert_eq!(split_parent("/a/b"), ("/a", "b"));
        assert_eq!(split_parent("/a"), ("/", "a"));
        assert_eq!(basename("/usr/bin/pulseaudio"), "pulseaudio");
    }

    #[test]
    fn caller_uid_matches_proc_owner() {
        let uid = caller_uid().expect("uid");
        let owner = fs::metadata("/proc/self").unwrap().uid();
        assert_eq!(uid, owner);
    }
}
