//! The board's stack for `ubuntu-xenial`: systemd 229, dpkg 1.18.4 and apt 1.2.35, the
//! trees `scripts/vendor/{systemd-229,dpkg-1.18.4 --root-tree,apt-1.2.35}` build from the
//! pinned sources, laid over a Debian 12 root as `tests/e2e/systemd229.sh` does (the
//! e2e flows have booted that root since the board's stack was first built).
//!
//! verify does not compile them itself: systemd 229 alone takes about 10 minutes to
//! build on 2 cores (25 cross-built for armhf), and the project already keeps one build
//! per machine, keyed by the tarballs' sha256. verify takes the finished trees from
//! `--stack DIR`, `$UNITPACK_BOARD_STACK`, or the vendor scripts' cache
//! (`$UNITPACK_TOOLS/vendor`, default `/opt/unitpack-tools/vendor`), and keys the root
//! by the trees' content.

use super::exec;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Bumped when [`Stack::lay_over`] changes what it does to a root: the trees and the
/// Debian root alone do not say it.
const LAYOUT: &str = "stack-layout 1";

/// One tree of the stack.
#[derive(Debug, Clone)]
pub struct Tree {
    /// `systemd-229`, `dpkg-1.18.4` or `apt-1.2.35`.
    pub name: &'static str,
    /// The tree's `root/` (what `make install DESTDIR=` wrote).
    pub path: PathBuf,
    /// sha256 over every path, type, mode, link target and content in it (empty until
    /// [`Stack::hash`]).
    pub sha256: String,
}

/// The board's systemd, dpkg and apt.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Names the cached root (`systemd229-bookworm-amd64-…`).
    pub label: &'static str,
    pub systemd: Tree,
    pub dpkg: Tree,
    pub apt: Tree,
    /// The user units the target's own packages enable for every user (the profile's
    /// vendor units): the only global user enablements left in the root.
    pub global_user_units: Vec<String>,
}

/// The vendor scripts' cache directory names of each tree (`NAME-SHA16`), by arch.
fn cache_names(arch: &str) -> Option<[(&'static str, String); 3]> {
    match arch {
        "amd64" => Some([
            ("systemd-229", "systemd-229-".into()),
            ("dpkg-1.18.4", "dpkg-1.18.4-root-amd64-".into()),
            ("apt-1.2.35", "apt-1.2.35-".into()),
        ]),
        // scripts/vendor's names for the cross-built trees (apt's armhf build is
        // "-lfs": large-file offsets, as a 32-bit board's apt must have).
        "armhf" => Some([
            ("systemd-229", "systemd-229-armhf-".into()),
            ("dpkg-1.18.4", "dpkg-1.18.4-root-armhf-".into()),
            ("apt-1.2.35", "apt-1.2.35-armhf-lfs-".into()),
        ]),
        _ => None,
    }
}

/// The commands that build the trees verify needs.
fn build_commands(arch: &str) -> String {
    format!(
        "scripts/vendor/systemd-229 --arch {arch}; scripts/vendor/dpkg-1.18.4 --root-tree --arch {arch}; scripts/vendor/apt-1.2.35 --arch {arch} (in a unitpack checkout, with the pinned tarballs in $UNITPACK_VENDOR or ../shared/vendor)"
    )
}

/// Where the trees are looked for when `--stack` is not given.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("UNITPACK_BOARD_STACK").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    let tools = std::env::var_os("UNITPACK_TOOLS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/unitpack-tools"));
    tools.join("vendor")
}

impl Stack {
    /// The xenial stack for `arch` under `dir`; refused (exit 2), saying how to build
    /// it, when a tree is missing or two builds of one are there.
    pub fn xenial(dir: &Path, arch: &str, global_user_units: Vec<String>) -> Result<Stack> {
        let names = cache_names(arch).ok_or_else(|| {
            Error::Refused(format!(
                "verify has no board stack for {arch}: ubuntu-xenial boots on amd64 and armhf"
            ))
        })?;
        let entries: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        let mut trees = Vec::new();
        for (name, prefix) in names {
            // NAME-<16 hex digits of the tarball's sha256>, finished (.unitpack-built).
            let mut found: Vec<&String> = entries
                .iter()
                .filter(|e| {
                    e.strip_prefix(&prefix)
                        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                        && dir.join(e).join(".unitpack-built").is_file()
                        && dir.join(e).join("root").is_dir()
                })
                .collect();
            found.sort();
            match found.as_slice() {
                [one] => trees.push(Tree {
                    name,
                    path: dir.join(one).join("root"),
                    sha256: String::new(),
                }),
                [] => {
                    return Err(Error::Refused(format!(
                        "no finished build of {name} for {arch} in {} ({prefix}<sha>/root): ubuntu-xenial boots the board's systemd 229, dpkg 1.18.4 and apt 1.2.35; build them with: {} -- or give --stack DIR (or UNITPACK_BOARD_STACK) naming where they are",
                        dir.display(),
                        build_commands(arch)
                    )))
                }
                several => {
                    return Err(Error::Refused(format!(
                        "{} builds of {name} in {} ({}): remove the stale one or give --stack DIR",
                        several.len(),
                        dir.display(),
                        several
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
        }
        let [systemd, dpkg, apt]: [Tree; 3] = trees.try_into().expect("three trees");
        Ok(Stack {
            label: "systemd229",
            systemd,
            dpkg,
            apt,
            global_user_units,
        })
    }

    /// Hash each tree's content (23 MB on amd64): part of finding the cached root,
    /// after the quick refusals.
    pub fn hash(&mut self) -> Result<()> {
        for t in [&mut self.systemd, &mut self.dpkg, &mut self.apt] {
            t.sha256 = tree_sha256(&t.path)?;
        }
        Ok(())
    }

    /// What the root's key hashes of the stack ([`Stack::hash`] first).
    pub fn inputs(&self) -> String {
        let mut s: String = [&self.systemd, &self.dpkg, &self.apt]
            .iter()
            .map(|t| format!("stack {} {}\n", t.name, t.sha256))
            .collect();
        s.push_str(&format!(
            "global user units {}\n{LAYOUT}\n",
            self.global_user_units.join(",")
        ));
        s
    }

    /// Replace the Debian root's systemd, dpkg and apt by the board's (as
    /// `overlay_229` and `overlay_board_tools` in tests/e2e/systemd229.sh), and check
    /// each program says the version it must.
    pub fn lay_over(&self, root: &Path, arch: &str) -> Result<()> {
        let triplet = match arch {
            "armhf" => "arm-linux-gnueabihf",
            _ => "x86_64-linux-gnu",
        };
        remove_debian_systemd(root, arch)?;
        // Everything 229 installs but its libraries and headers: Debian 12's dbus-daemon
        // keeps linking Debian's libsystemd0 (229's programs link only libc, libcap,
        // libacl, libpam, libmount). Debian's /etc/pam.d/systemd-user stays (229's own
        // names Fedora's system-auth).
        copy_tree(
            &self.systemd.path,
            root,
            &[
                "./usr/include".into(),
                format!("./usr/lib/{triplet}"),
                format!("./lib/{triplet}/lib*.so*"),
                "./etc/pam.d".into(),
            ],
            ".",
        )?;
        // The console is a pipe: a getty on it only fights the launcher for it.
        let getty = root.join("etc/systemd/system/console-getty.service");
        let _ = std::fs::remove_file(&getty);
        std::os::unix::fs::symlink("/dev/null", &getty)
            .map_err(|e| Error::io(format!("masking {}", getty.display()), e))?;
        // dpkg's programs only: its database in the root stays (same formats).
        copy_tree(&self.dpkg.path, root, &[], "./usr")?;
        copy_tree(&self.apt.path, root, &[], ".")?;
        chroot(root, &["ldconfig"])?;
        self.keep_target_user_units(root)?;
        // apt 2.x keeps a directory auxfiles/ among the lists, which 1.2.35 fails to
        // unlink at every update: a board never had it.
        let _ = std::fs::remove_dir_all(root.join("var/lib/apt/lists/auxfiles"));
        for (args, want) in [
            (&["/lib/systemd/systemd", "--version"][..], "systemd 229"),
            (&["dpkg", "--version"][..], "version 1.18.4 "),
            (&["apt-get", "--version"][..], "apt 1.2.35 "),
        ] {
            let out = chroot(root, args)?;
            let first = out.stdout.lines().next().unwrap_or("").to_string();
            if !first.contains(want) {
                return Err(Error::Missing {
                    what: format!(
                        "the board's stack did not take: `{}` in the new root says {first:?}",
                        args.join(" ")
                    ),
                    how: format!("rebuild the trees: {}", build_commands(arch)),
                });
            }
        }
        Ok(())
    }
}

impl Stack {
    /// Debian 12's packages enable user units for every user that xenial's do not
    /// (xenial's PulseAudio 8.0 ships none). Debian's keep out of root's session with
    /// `ConditionUser=!root`, which 229 does not know (added in 235) and ignores: left
    /// enabled, root's manager would start Debian's PulseAudio on 229, and a system
    /// daemon for root (design B) would fail with "Daemon already running", as no board
    /// does. The root keeps only the profile's own.
    fn keep_target_user_units(&self, root: &Path) -> Result<()> {
        let dir = root.join("etc/systemd/user");
        if !dir.is_dir() {
            return Ok(());
        }
        let mut find = Command::new("find");
        find.arg(&dir).args([
            "-mindepth",
            "2",
            "-maxdepth",
            "2",
            "-type",
            "l",
            "(",
            "-path",
            "*.wants/*",
            "-o",
            "-path",
            "*.requires/*",
            ")",
            "-print0",
        ]);
        let out = exec::run(find, Duration::from_secs(60))?;
        if !out.ok() {
            return Err(Error::io(
                format!("listing {}", dir.display()),
                std::io::Error::other(out.both()),
            ));
        }
        for link in out.stdout.split('\0').filter(|l| !l.is_empty()) {
            let link = Path::new(link);
            let name = link.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !self.global_user_units.iter().any(|u| u == name) {
                std::fs::remove_file(link)
                    .map_err(|e| Error::io(format!("removing {}", link.display()), e))?;
                // A board that never enabled one has no such directory (229's
                // `systemctl` removes it once empty: a purge would seem to take it).
                if let Some(parent) = link.parent() {
                    let _ = std::fs::remove_dir(parent);
                }
            }
        }
        Ok(())
    }
}

/// Debian 12's systemd, systemd-sysv and libpam-systemd files go, but for /etc and
/// /usr/share: 229 parses neither 252's tmpfiles syntax nor its newer directives; its
/// configuration stays, as do other packages' units. Directories stay (and /bin, /lib,
/// /sbin: links to directories here).
fn remove_debian_systemd(root: &Path, arch: &str) -> Result<()> {
    let canonical_root = root
        .canonicalize()
        .map_err(|e| Error::io(format!("resolving {}", root.display()), e))?;
    for pkg in ["systemd", "systemd-sysv", "libpam-systemd"] {
        let info = root.join("var/lib/dpkg/info");
        let list = [format!("{pkg}.list"), format!("{pkg}:{arch}.list")]
            .into_iter()
            .map(|n| info.join(n))
            .find(|p| p.is_file());
        let Some(list) = list else { continue };
        let text = crate::input::read_text(&list, 16 << 20).map_err(|e| {
            Error::io(
                format!("reading {}", list.display()),
                std::io::Error::other(e),
            )
        })?;
        for f in text.lines() {
            if f.starts_with("/etc/") || f.starts_with("/usr/share/") || f.is_empty() {
                continue;
            }
            let p = root.join(f.trim_start_matches('/'));
            // Only ever inside the root: a parent that resolves elsewhere (an absolute
            // link) is left alone.
            let inside = p
                .parent()
                .and_then(|d| d.canonicalize().ok())
                .is_some_and(|d| d.starts_with(&canonical_root));
            if !inside || p.is_dir() {
                continue;
            }
            if std::fs::symlink_metadata(&p).is_ok() {
                std::fs::remove_file(&p)
                    .map_err(|e| Error::io(format!("removing {}", p.display()), e))?;
            }
        }
    }
    Ok(())
}

/// `tar -C FROM -cf - EXCLUDES WHAT | tar -C TO -xf - --keep-directory-symlink`: modes,
/// owners and links as built; /bin, /sbin and /lib stay links into /usr.
fn copy_tree(from: &Path, to: &Path, excludes: &[String], what: &str) -> Result<()> {
    let mut create = Command::new("tar");
    create.arg("-C").arg(from).arg("-cf").arg("-");
    for e in excludes {
        create.arg(format!("--exclude={e}"));
    }
    create
        .arg(what)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut writer = create.spawn().map_err(|e| Error::io("running tar", e))?;
    let pipe = writer.stdout.take().expect("piped");
    let mut extract = Command::new("tar");
    extract
        .arg("-C")
        .arg(to)
        .args(["-xf", "-", "--keep-directory-symlink"])
        .stdin(pipe);
    let read = exec::run_with_stdin(extract, Duration::from_secs(600));
    let wrote = writer.wait().map_err(|e| Error::io("running tar", e))?;
    let read = read?;
    if !read.ok() || !wrote.success() {
        return Err(Error::io(
            format!("copying {} into {}", from.display(), to.display()),
            std::io::Error::other(read.both()),
        ));
    }
    Ok(())
}

fn chroot(root: &Path, args: &[&str]) -> Result<exec::Output> {
    let mut cmd = Command::new("chroot");
    cmd.arg(root).args(args);
    let out = exec::run(cmd, Duration::from_secs(120))?;
    if !out.ok() {
        return Err(Error::io(
            format!("running {} in {}", args.join(" "), root.display()),
            std::io::Error::other(out.both()),
        ));
    }
    Ok(out)
}

/// sha256 over the tree: each entry's path, type and mode in name order, a link's
/// target, a file's content.
pub fn tree_sha256(dir: &Path) -> Result<String> {
    fn walk(base: &Path, dir: &Path, h: &mut Sha256) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let meta = std::fs::symlink_metadata(&p)
                .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
            let rel = p.strip_prefix(base).unwrap_or(&p);
            h.update(rel.as_os_str().as_encoded_bytes());
            h.update(format!("\0{:o}\0", meta.permissions().mode()).as_bytes());
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p)
                    .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
                h.update(target.as_os_str().as_encoded_bytes());
            } else if meta.is_dir() {
                walk(base, &p, h)?;
            } else if meta.is_file() {
                let mut f = crate::input::open_regular(&p)
                    .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
                let n = std::io::copy(&mut f, h)
                    .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
                h.update(format!("\0{n}").as_bytes());
            }
            h.update(b"\n");
        }
        Ok(())
    }
    let mut h = Sha256::new();
    walk(dir, dir, &mut h)?;
    Ok(format!("{:x}", h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_or_mode_changes_the_tree_hash() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("bin")).unwrap();
        std::fs::write(d.path().join("bin/a"), "one").unwrap();
        let first = tree_sha256(d.path()).unwrap();
        assert_eq!(first, tree_sha256(d.path()).unwrap());
        std::fs::write(d.path().join("bin/a"), "two").unwrap();
        let second = tree_sha256(d.path()).unwrap();
        assert_ne!(first, second);
        std::fs::set_permissions(
            d.path().join("bin/a"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert_ne!(second, tree_sha256(d.path()).unwrap());
    }

    #[test]
    fn a_missing_tree_is_refused_with_the_commands_that_build_it() {
        let d = tempfile::tempdir().unwrap();
        let err = Stack::xenial(d.path(), "amd64", Vec::new()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains("scripts/vendor/systemd-229 --arch amd64"),
            "{text}"
        );
        assert!(text.contains("--stack DIR"), "{text}");
    }

    #[test]
    fn each_arch_takes_its_own_builds() {
        let d = tempfile::tempdir().unwrap();
        for name in [
            "systemd-229-325747964b059cd7",
            "systemd-229-armhf-325747964b059cd7",
            "dpkg-1.18.4-root-amd64-d3492e3c50b2e9f9",
            "dpkg-1.18.4-root-armhf-d3492e3c50b2e9f9",
            "apt-1.2.35-1c6bd9e0d783400d",
            "apt-1.2.35-armhf-lfs-1c6bd9e0d783400d",
        ] {
            std::fs::create_dir_all(d.path().join(name).join("root")).unwrap();
            std::fs::write(d.path().join(name).join(".unitpack-built"), "").unwrap();
        }
        let amd64 = Stack::xenial(d.path(), "amd64", Vec::new()).unwrap();
        let armhf = Stack::xenial(d.path(), "armhf", Vec::new()).unwrap();
        for (tree, arch) in [
            (&amd64.systemd, None),
            (&amd64.dpkg, Some("amd64")),
            (&amd64.apt, None),
            (&armhf.systemd, Some("armhf")),
            (&armhf.dpkg, Some("armhf")),
            (&armhf.apt, Some("armhf-lfs")),
        ] {
            let dir = tree.path.parent().unwrap().file_name().unwrap();
            let dir = dir.to_str().unwrap();
            match arch {
                Some(a) => assert!(dir.contains(&format!("-{a}-")), "{dir}"),
                None => assert!(!dir.contains("armhf"), "{dir}"),
            }
        }
        // An armhf tree missing is refused with the armhf commands.
        std::fs::remove_file(
            d.path()
                .join("apt-1.2.35-armhf-lfs-1c6bd9e0d783400d/.unitpack-built"),
        )
        .unwrap();
        let text = Stack::xenial(d.path(), "armhf", Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("no finished build of apt-1.2.35 for armhf")
                && text.contains("scripts/vendor/apt-1.2.35 --arch armhf"),
            "{text}"
        );
    }
}
