//! The cached target roots, kept under the user's cache directory
//! (`$XDG_CACHE_HOME/unitpack/roots`, else `~/.cache/unitpack/roots`) and keyed by a
//! hash of everything that went into each (suite, architecture, mirror, packages,
//! debootstrap's version, this file's format; for xenial also the sha256 of each tree
//! of the board's stack and how it is laid over, [`super::stack`]). One debootstrap per
//! (suite, architecture, mirror, debootstrap): the base root, minbase and the packages
//! every root has. A root with more packages is a copy of the base with them installed
//! by the root's own apt, from the package lists debootstrap left in it (the same
//! archive snapshot, no update), so a recipe with a new dependency costs an install,
//! not a debootstrap (armhf: its maintainer scripts under qemu, not a second stage).
//! A root is made in a temporary directory beside its final place and renamed there
//! only when complete, under a lock, so two runs never build the same root twice nor
//! see half of one. Runs only ever mount a root as an overlay's lower layer: the cache
//! never changes.

use super::exec;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Bumped when what goes into a root changes in a way the other inputs do not say.
/// Format 1: a debootstrap (minbase and `packages`), then `apt-get clean`.
/// tests/support/make-root reuses format-1 and format-2 Debian roots as its own
/// debootstraps.
const FORMAT: &str = "unitpack-verify-root 1";
/// Format 2: the format-1 root of `base` copied, `extra` installed by its apt without
/// recommends and with services kept from starting, then `apt-get clean`, and apt's
/// marks of what it pulled in removed (a debootstrap marks nothing).
const DERIVED_FORMAT: &str = "unitpack-verify-root 2";

/// How the refusal of a dependency the archive lacks begins (the caller, which knows
/// the recipes, names the one that depends on it instead).
pub const NOT_IN_ARCHIVE: &str = "a recipe depends on ";

/// What a root is made of.
#[derive(Debug, Clone)]
pub struct RootSpec {
    pub suite: String,
    pub arch: String,
    pub mirror: String,
    /// Packages besides debootstrap's minbase, sorted and deduplicated.
    pub packages: Vec<String>,
    /// The packages of the suite's base root, which every root of it has: a root with
    /// more is derived from that one.
    pub base: Vec<String>,
    /// The board's own init, dpkg and apt laid over the Debian root (xenial).
    pub stack: Option<super::stack::Stack>,
}

impl RootSpec {
    /// The base root this one is derived from, and the packages it adds; `None` for a
    /// root debootstrap makes whole (the base itself, or a set without the base in it).
    fn derived_from(&self) -> Option<(RootSpec, Vec<String>)> {
        let mut base = self.base.clone();
        base.sort();
        base.dedup();
        if base.is_empty() || !base.iter().all(|p| self.packages.contains(p)) {
            return None;
        }
        let extra: Vec<String> = self
            .packages
            .iter()
            .filter(|p| !base.contains(p))
            .cloned()
            .collect();
        if extra.is_empty() {
            return None;
        }
        let spec = RootSpec {
            packages: base.clone(),
            base,
            stack: None,
            ..self.clone()
        };
        Some((spec, extra))
    }

    /// Every input of the root, one a line: what the key hashes.
    fn inputs(&self, debootstrap_version: &str) -> String {
        let derived = self.derived_from();
        let mut s = format!(
            "{}\nsuite {}\narch {}\nmirror {}\npackages {}\ndebootstrap {}\n",
            if derived.is_some() {
                DERIVED_FORMAT
            } else {
                FORMAT
            },
            self.suite,
            self.arch,
            self.mirror,
            self.packages.join(","),
            debootstrap_version
        );
        if let Some((base, extra)) = derived {
            s.push_str(&format!(
                "base {}\nextra {}\n",
                key(&base.inputs(debootstrap_version)),
                extra.join(",")
            ));
        }
        if let Some(stack) = &self.stack {
            s.push_str(&stack.inputs());
        }
        s
    }

    /// The name of its directory in the cache.
    fn label(&self) -> String {
        match &self.stack {
            Some(stack) => format!("{}-{}-{}", stack.label, self.suite, self.arch),
            None => format!("{}-{}", self.suite, self.arch),
        }
    }
}

fn key(inputs: &str) -> String {
    format!("{:x}", Sha256::digest(inputs.as_bytes()))
}

/// Where the caches live.
pub fn cache_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(".cache"),
            None => {
                return Err(Error::Missing {
                    what: "neither XDG_CACHE_HOME nor HOME is set".into(),
                    how: "set XDG_CACHE_HOME to where verify may keep its roots".into(),
                })
            }
        },
    };
    Ok(base.join("unitpack").join("roots"))
}

/// A cached root, ready to be an overlay's lower layer.
pub struct CachedRoot {
    pub path: PathBuf,
    /// It was built by this call (a cold run).
    pub built: bool,
}

/// An exclusive lock on the file at `path` (made if missing), held until the returned
/// file is dropped.
fn lock_exclusive(path: &Path) -> Result<std::fs::File> {
    let lock = std::fs::File::create(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file we hold open; released when it is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(Error::io(
            format!("locking {}", path.display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(lock)
}

/// `cmd` (debootstrap, or apt-get in a derived root) run while it alone writes the
/// suite's downloads folder `debs`. Two roots made at once (two verify runs, or a
/// test's threads building the armhf sets with and without dbus-user-session) share
/// it, and apt's own lock there refuses the second instead of waiting: they take turns.
fn run_on_downloads(cmd: Command, spec: &RootSpec, debs: &Path) -> Result<exec::Output> {
    let _turn = lock_exclusive(&debs.join(".unitpack-install.lock"))?;
    exec::run(cmd, limit(spec))
}

/// The root for `spec`, built now if it is not cached.
pub fn root(spec: &RootSpec) -> Result<CachedRoot> {
    let version = debootstrap_version()?;
    let inputs = spec.inputs(&version);
    let key = key(&inputs);
    let dir = cache_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("making {}", dir.display()), e))?;
    let name = format!("{}-{}", spec.label(), &key[..16]);
    let path = dir.join(&name);
    let done = path.join(".unitpack-root");
    if done.exists() {
        return Ok(CachedRoot { path, built: false });
    }
    let _lock = lock_exclusive(&dir.join(format!(".{name}.lock")))?;
    if done.exists() {
        return Ok(CachedRoot { path, built: false });
    }
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let built = build(spec, &tmp, &inputs);
    if built.is_err() || exec::interrupted() {
        let _ = std::fs::remove_dir_all(&tmp);
        built?;
        exec::check_interrupt()?;
    }
    std::fs::rename(&tmp, &path)
        .map_err(|e| Error::io(format!("renaming into {}", path.display()), e))?;
    Ok(CachedRoot { path, built: true })
}

fn debootstrap_version() -> Result<String> {
    let mut cmd = Command::new("dpkg-query");
    cmd.args(["-W", "-f=${Version}", "debootstrap"]);
    let out = exec::run(cmd, Duration::from_secs(30))?;
    Ok(if out.ok() {
        out.text().to_string()
    } else {
        "unknown".into()
    })
}

/// A copy of the cached root at `from`, sharing its blocks where the file system can.
fn copy(from: &Path, to: &Path) -> Result<()> {
    let mut cp = Command::new("cp");
    cp.args(["-a", "--reflink=auto"]).arg(from).arg(to);
    let out = exec::run(cp, Duration::from_secs(600))?;
    exec::check_interrupt()?;
    if !out.ok() {
        return Err(Error::io(
            format!("copying {} to {}", from.display(), to.display()),
            std::io::Error::other(out.both()),
        ));
    }
    Ok(())
}

/// Downloaded packages are kept beside the roots (debootstrap and apt check them
/// against the signed Release), so the next root of the suite does not fetch them again.
fn debs_dir(spec: &RootSpec, tmp: &Path) -> Result<PathBuf> {
    let debs = tmp
        .parent()
        .map(|d| d.join(format!("debs-{}-{}", spec.suite, spec.arch)))
        .unwrap_or_default();
    std::fs::create_dir_all(&debs)
        .map_err(|e| Error::io(format!("making {}", debs.display()), e))?;
    Ok(debs)
}

/// A foreign root's programs run under qemu-user: several times slower.
fn limit(spec: &RootSpec) -> Duration {
    Duration::from_secs(if spec.arch == "amd64" { 1800 } else { 5400 })
}

/// The refusal of dependencies the archive lacks, `names` separated by spaces.
fn not_in_archive(spec: &RootSpec, names: &str) -> Error {
    Error::Refused(format!(
        "{NOT_IN_ARCHIVE}{}, which is neither in Debian {}'s archive ({}, {}) nor \
         built by a recipe of this run: verify installs a dependency from the target's \
         archive or from the run's own packages (give the recipe that builds it too)",
        names.trim(),
        spec.suite,
        spec.mirror,
        spec.arch
    ))
}

fn build(spec: &RootSpec, tmp: &Path, inputs: &str) -> Result<()> {
    if let Some(stack) = &spec.stack {
        // The Debian root under the stack is a root of its own in the cache: made (or
        // found) first, copied, and the copy gets the board's programs.
        let base = root(&RootSpec {
            stack: None,
            ..spec.clone()
        })?;
        copy(&base.path, tmp)?;
        stack.lay_over(tmp, &spec.arch)?;
        return std::fs::write(tmp.join(".unitpack-root"), inputs)
            .map_err(|e| Error::io(format!("writing into {}", tmp.display()), e));
    }
    if let Some((base_spec, extra)) = spec.derived_from() {
        let base = root(&base_spec)?;
        copy(&base.path, tmp)?;
        install_extra(spec, tmp, &extra, &base.path)?;
        return std::fs::write(tmp.join(".unitpack-root"), inputs)
            .map_err(|e| Error::io(format!("writing into {}", tmp.display()), e));
    }
    let debs = debs_dir(spec, tmp)?;
    let mut cmd = Command::new("debootstrap");
    cmd.arg("--variant=minbase")
        .arg(format!("--cache-dir={}", debs.display()))
        .arg(format!("--arch={}", spec.arch))
        .arg(format!("--include={}", spec.packages.join(",")))
        .arg(&spec.suite)
        .arg(tmp)
        .arg(&spec.mirror);
    // In a mount namespace of its own: the /proc and /sys it mounts in the new root go
    // with it however it ends, so removing a half-made root never walks into a mount.
    in_own_mounts(&mut cmd, Vec::new())?;
    let out = run_on_downloads(cmd, spec, &debs)?;
    exec::check_interrupt()?;
    if !out.ok() {
        let both = out.both();
        // Every package of the root but the base is a recipe's dependency: one the
        // archive lacks is the recipe's error, not the mirror's.
        if let Some(names) = both
            .lines()
            .find_map(|l| l.strip_prefix("E: Couldn't find these debs: "))
        {
            return Err(not_in_archive(spec, names));
        }
        let tail: Vec<&str> = both.lines().rev().take(20).collect();
        return Err(Error::Missing {
            what: format!(
                "debootstrap of {} {} failed:\n{}",
                spec.suite,
                spec.arch,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ),
            how: format!("check that {} is reachable", spec.mirror),
        });
    }
    let mut clean = Command::new("chroot");
    clean.arg(tmp).args(["apt-get", "clean"]);
    exec::run(clean, Duration::from_secs(120))?;
    std::fs::write(tmp.join(".unitpack-root"), inputs)
        .map_err(|e| Error::io(format!("writing into {}", tmp.display()), e))
}

/// A mount for [`in_own_mounts`]: proc at a path, or a directory bound over another.
enum Mount {
    Proc(PathBuf),
    Bind(PathBuf, PathBuf),
}

/// `cmd` runs in a mount namespace of its own with `mounts` made in it: they go with it
/// however it ends.
fn in_own_mounts(cmd: &mut Command, mounts: Vec<Mount>) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| {
            Error::io(
                format!("mounting on {}", p.display()),
                std::io::Error::other("a NUL in the path"),
            )
        })
    };
    // (source, target, type, flags), made before the fork: nothing allocates after it.
    let mut made: Vec<(CString, CString, CString, libc::c_ulong)> = Vec::new();
    for m in &mounts {
        made.push(match m {
            Mount::Proc(at) => (c"proc".into(), c(at)?, c"proc".into(), 0),
            Mount::Bind(from, at) => (c(from)?, c(at)?, c"none".into(), libc::MS_BIND),
        });
    }
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            for (source, target, fstype, flags) in &made {
                if libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    fstype.as_ptr(),
                    *flags,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    Ok(())
}

/// Installs `extra` into the copy of the base root at `tmp` with the root's own apt, as
/// debootstrap would have with them in `--include`: dependencies but no
/// recommendations, from the lists debootstrap left (the base's snapshot of the
/// archive), no service started (policy-rc.d, no init running in a chroot).
fn install_extra(spec: &RootSpec, tmp: &Path, extra: &[String], base: &Path) -> Result<()> {
    let debs = debs_dir(spec, tmp)?;
    let _ = std::fs::remove_file(tmp.join(".unitpack-root"));
    let policy = tmp.join("usr/sbin/policy-rc.d");
    std::fs::write(&policy, "#!/bin/sh\nexit 101\n")
        .map_err(|e| Error::io(format!("writing {}", policy.display()), e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("writing {}", policy.display()), e))?;
    }
    let mut wanted = extra.to_vec();
    // debootstrap takes the package a dependency names, where apt counts one that
    // provides it (pulseaudio's lsb-base, which sysvinit-utils provides):
    // rounds of install add what debootstrap would have, so the root is the same.
    let mut rounds = 0;
    while !wanted.is_empty() {
        rounds += 1;
        if rounds > 8 {
            return Err(Error::Missing {
                what: format!(
                    "installing {} into a copy of the {} {} base root: after 8 rounds \
                     dependencies still name {}, not installed",
                    extra.join(" "),
                    spec.suite,
                    spec.arch,
                    wanted.join(" ")
                ),
                how: "report it: verify cannot make this root as debootstrap would".into(),
            });
        }
        apt_install(spec, tmp, &wanted, &debs, base, extra)?;
        wanted = named_but_missing(tmp)?;
    }
    std::fs::remove_file(&policy)
        .map_err(|e| Error::io(format!("removing {}", policy.display()), e))?;
    let mut clean = Command::new("chroot");
    clean.arg(tmp).args(["apt-get", "clean"]);
    exec::run(clean, Duration::from_secs(120))?;
    let marks = tmp.join("var/lib/apt/extended_states");
    if marks.exists() {
        std::fs::remove_file(&marks)
            .map_err(|e| Error::io(format!("removing {}", marks.display()), e))?;
    }
    Ok(())
}

/// Real packages of the root's lists that an installed package's dependency without
/// alternatives names and that are not installed.
fn named_but_missing(tmp: &Path) -> Result<Vec<String>> {
    let mut query = Command::new("chroot");
    query.arg(tmp).args([
        "dpkg-query",
        "-W",
        "-f=${db:Status-Status} ${Package} ${Pre-Depends}, ${Depends}\n",
    ]);
    let out = exec::run(query, Duration::from_secs(300))?;
    if !out.ok() {
        return Err(Error::io(
            format!("listing the packages of {}", tmp.display()),
            std::io::Error::other(out.both()),
        ));
    }
    let mut installed = Vec::new();
    let mut named = Vec::new();
    for line in out.text().lines() {
        let mut words = line.splitn(3, ' ');
        if words.next() != Some("installed") {
            continue;
        }
        installed.push(words.next().unwrap_or("").to_string());
        // Alternatives are left as apt chose them: debootstrap too takes one already
        // chosen (usr-is-merged for usrmerge | usr-is-merged).
        for dep in words.next().unwrap_or("").split(',') {
            if dep.contains('|') {
                continue;
            }
            if let Some(name) = dep
                .split(|c: char| c == '(' || c == ':' || c.is_whitespace())
                .find(|s| !s.is_empty())
            {
                named.push(name.to_string());
            }
        }
    }
    named.sort();
    named.dedup();
    named.retain(|n| !installed.contains(n));
    if named.is_empty() {
        return Ok(named);
    }
    // Of those, the ones the lists have as packages of their own (not only provided).
    let mut show = Command::new("chroot");
    show.arg(tmp)
        .args(["apt-cache", "show", "--no-all-versions", "--"])
        .args(&named);
    let out = exec::run(show, Duration::from_secs(300))?;
    let mut real: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Package: "))
        .map(|n| n.trim().to_string())
        .filter(|n| named.contains(n))
        .collect();
    real.sort();
    real.dedup();
    Ok(real)
}

/// `apt-get install` of `packages` in the root at `tmp`, the suite's downloaded packages
/// at its archives.
fn apt_install(
    spec: &RootSpec,
    tmp: &Path,
    packages: &[String],
    debs: &Path,
    base: &Path,
    extra: &[String],
) -> Result<()> {
    let mut cmd = Command::new("chroot");
    cmd.arg(tmp)
        .args([
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "--",
        ])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    in_own_mounts(
        &mut cmd,
        vec![
            Mount::Proc(tmp.join("proc")),
            Mount::Bind(debs.to_path_buf(), tmp.join("var/cache/apt/archives")),
        ],
    )?;
    let out = run_on_downloads(cmd, spec, debs)?;
    exec::check_interrupt()?;
    if !out.ok() {
        let both = out.both();
        // Every package added to the base is a recipe's dependency: one the archive
        // lacks is the recipe's error, not the mirror's.
        let missing: Vec<&str> = both
            .lines()
            .filter_map(|l| {
                l.strip_prefix("E: Unable to locate package ").or_else(|| {
                    l.strip_prefix("E: Package '")
                        .and_then(|r| r.split_once("' has no installation candidate"))
                        .map(|(n, _)| n)
                })
            })
            .map(str::trim)
            .collect();
        if !missing.is_empty() {
            return Err(not_in_archive(spec, &missing.join(" ")));
        }
        let tail: Vec<&str> = both.lines().rev().take(20).collect();
        return Err(Error::Missing {
            what: format!(
                "installing {} into a copy of the {} {} base root failed:\n{}",
                extra.join(" "),
                spec.suite,
                spec.arch,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ),
            how: format!(
                "check that {} is reachable; if the archive no longer has the base root's \
                 packages (404 above), remove {} and the next run bootstraps it again",
                spec.mirror,
                base.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(packages: &[&str]) -> RootSpec {
        RootSpec {
            suite: "bookworm".into(),
            arch: "amd64".into(),
            mirror: "http://deb.debian.org/debian".into(),
            packages: packages.iter().map(|s| s.to_string()).collect(),
            base: vec!["systemd".into(), "dbus".into()],
            stack: None,
        }
    }

    #[test]
    fn every_input_changes_the_key() {
        let spec = spec(&["dbus", "pulseaudio", "systemd"]);
        let base = spec.inputs("1.0.128");
        let mut other = spec.clone();
        other.packages.push("vim".into());
        assert_ne!(base, other.inputs("1.0.128"));
        assert_ne!(base, spec.inputs("1.0.129"));
        let mut arch = spec.clone();
        arch.arch = "armhf".into();
        assert_ne!(base, arch.inputs("1.0.128"));
        let mut mirror = spec.clone();
        mirror.mirror = "http://ftp.de.debian.org/debian".into();
        assert_ne!(base, mirror.inputs("1.0.128"));
        // Another base under the same packages: another root.
        let mut under = spec.clone();
        under.base.push("procps".into());
        under.packages.push("procps".into());
        under.packages.sort();
        let mut whole = spec.clone();
        whole.packages.push("procps".into());
        whole.packages.sort();
        whole.base = vec!["dbus".into()];
        assert_ne!(under.inputs("1.0.128"), whole.inputs("1.0.128"));
    }

    #[test]
    fn the_base_root_is_a_format_1_debootstrap_as_before() {
        // The inputs of a root made whole are what format 1 always hashed, so roots
        // already cached (and tests/support/make-root's reading of them) stay valid.
        assert_eq!(
            spec(&["dbus", "systemd"]).inputs("1.0.128"),
            "unitpack-verify-root 1\nsuite bookworm\narch amd64\n\
             mirror http://deb.debian.org/debian\npackages dbus,systemd\ndebootstrap 1.0.128\n"
        );
        assert!(spec(&["dbus", "systemd"]).derived_from().is_none());
        // Without every base package in it, a set is bootstrapped whole.
        assert!(spec(&["dbus", "vim"]).derived_from().is_none());
    }

    #[test]
    fn a_larger_set_is_the_base_and_its_extra_packages() {
        let s = spec(&["dbus", "dbus-user-session", "pulseaudio", "systemd"]);
        let (base, extra) = s.derived_from().expect("derived");
        assert_eq!(base.packages, ["dbus", "systemd"]);
        assert_eq!(extra, ["dbus-user-session", "pulseaudio"]);
        let inputs = s.inputs("1.0.128");
        assert!(inputs.starts_with("unitpack-verify-root 2\n"), "{inputs}");
        assert!(inputs.contains("\npackages dbus,dbus-user-session,pulseaudio,systemd\n"));
        assert!(inputs.contains(&format!("\nbase {}\n", key(&base.inputs("1.0.128")))));
        assert!(inputs.ends_with("\nextra dbus-user-session,pulseaudio\n"));
    }
}
