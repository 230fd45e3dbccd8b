//! Reading the target filesystem under a root directory (`--root DIR`), as a
//! chroot would see it: absolute symlinks are resolved inside the root, never on
//! the host.

use std::cell::RefCell;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

const MAX_SYMLINK_HOPS: u32 = 40;

pub struct Root {
    base: PathBuf,
    /// Directories met while resolving: path → link target (`None`: not a
    /// link). Only components that exist and are not the last one are kept,
    /// so files appearing later (wait-runtime-dir) are still seen. Saves most
    /// lstat calls: a doctor run resolves the same few directories many times.
    dirs: RefCell<Vec<(String, Option<String>)>>,
}

impl Root {
    pub fn new(base: &str) -> Root {
        Root {
            base: PathBuf::from(base),
            dirs: RefCell::new(Vec::new()),
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

    pub fn read_to_string(&self, abs: &str) -> std::io::Result<String> {
        match self.resolve(abs) {
            Some(p) => fs::read_to_string(self.host(&p)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file",
            )),
        }
    }

    /// Names in directory `abs` (resolved inside the root), sorted; empty if it
    /// is missing.
    pub fn list_dir(&self, abs: &str) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(dir) = self.resolve(abs) {
            if let Ok(rd) = fs::read_dir(self.host(&dir)) {
                for entry in rd.flatten() {
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
