//! The cached target roots: one debootstrap per set of inputs, kept under the user's
//! cache directory (`$XDG_CACHE_HOME/unitpack/roots`, else `~/.cache/unitpack/roots`)
//! and keyed by a hash of everything that went into it (suite, architecture, mirror,
//! packages, debootstrap's version, this file's format; for xenial also the sha256 of
//! each tree of the board's stack and how it is laid over, [`super::stack`]). A root is made in a temporary
//! directory beside its final place and renamed there only when complete, under a
//! lock, so two runs never build the same root twice nor see half of one. Runs only
//! ever mount a root as an overlay's lower layer: the cache never changes.

use super::exec;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Bumped when what goes into a root changes in a way the other inputs do not say.
/// tests/support/make-root reuses format-1 Debian roots as its own debootstraps.
const FORMAT: &str = "unitpack-verify-root 1";

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
    /// The board's own init, dpkg and apt laid over the Debian root (xenial).
    pub stack: Option<super::stack::Stack>,
}

impl RootSpec {
    /// Every input of the root, one a line: what the key hashes.
    fn inputs(&self, debootstrap_version: &str) -> String {
        let mut s = format!(
            "{FORMAT}\nsuite {}\narch {}\nmirror {}\npackages {}\ndebootstrap {}\n",
            self.suite,
            self.arch,
            self.mirror,
            self.packages.join(","),
            debootstrap_version
        );
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

/// The root for `spec`, built now if it is not cached.
pub fn root(spec: &RootSpec) -> Result<CachedRoot> {
    let version = debootstrap_version()?;
    let inputs = spec.inputs(&version);
    let key = format!("{:x}", Sha256::digest(inputs.as_bytes()));
    let dir = cache_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("making {}", dir.display()), e))?;
    let name = format!("{}-{}", spec.label(), &key[..16]);
    let path = dir.join(&name);
    let done = path.join(".unitpack-root");
    if done.exists() {
        return Ok(CachedRoot { path, built: false });
    }
    let lock_path = dir.join(format!(".{name}.lock"));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file we hold open; released when it is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(Error::io(
            format!("locking {}", lock_path.display()),
            std::io::Error::last_os_error(),
        ));
    }
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

fn build(spec: &RootSpec, tmp: &Path, inputs: &str) -> Result<()> {
    if let Some(stack) = &spec.stack {
        // The Debian root under the stack is a root of its own in the cache: made (or
        // found) first, copied, and the copy gets the board's programs.
        let base = root(&RootSpec {
            stack: None,
            ..spec.clone()
        })?;
        let mut cp = Command::new("cp");
        cp.args(["-a", "--reflink=auto"]).arg(&base.path).arg(tmp);
        let out = exec::run(cp, Duration::from_secs(600))?;
        exec::check_interrupt()?;
        if !out.ok() {
            return Err(Error::io(
                format!("copying {} to {}", base.path.display(), tmp.display()),
                std::io::Error::other(out.both()),
            ));
        }
        stack.lay_over(tmp, &spec.arch)?;
        return std::fs::write(tmp.join(".unitpack-root"), inputs)
            .map_err(|e| Error::io(format!("writing into {}", tmp.display()), e));
    }
    // Downloaded packages are kept beside the roots (debootstrap checks them against
    // the signed Release), so the next root of the suite does not fetch them again.
    let debs = tmp
        .parent()
        .map(|d| d.join(format!("debs-{}-{}", spec.suite, spec.arch)))
        .unwrap_or_default();
    std::fs::create_dir_all(&debs)
        .map_err(|e| Error::io(format!("making {}", debs.display()), e))?;
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
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
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
            Ok(())
        });
    }
    // A foreign root's second stage runs under qemu-user: several times slower.
    let limit = if spec.arch == "amd64" { 1800 } else { 5400 };
    let out = exec::run(cmd, Duration::from_secs(limit))?;
    exec::check_interrupt()?;
    if !out.ok() {
        let both = out.both();
        // Every package of the root but the base is a recipe's dependency: one the
        // archive lacks is the recipe's error, not the mirror's.
        if let Some(names) = both
            .lines()
            .find_map(|l| l.strip_prefix("E: Couldn't find these debs: "))
        {
            return Err(Error::Refused(format!(
                "{NOT_IN_ARCHIVE}{}, which is neither in Debian {}'s archive ({}, {}) nor \
                 built by a recipe of this run: verify installs a dependency from the target's \
                 archive or from the run's own packages (give the recipe that builds it too)",
                names.trim(),
                spec.suite,
                spec.mirror,
                spec.arch
            )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_key() {
        let spec = RootSpec {
            suite: "bookworm".into(),
            arch: "amd64".into(),
            mirror: "http://deb.debian.org/debian".into(),
            packages: vec!["dbus".into(), "systemd".into()],
            stack: None,
        };
        let base = spec.inputs("1.0.128");
        let mut other = spec.clone();
        other.packages.push("pulseaudio".into());
        assert_ne!(base, other.inputs("1.0.128"));
        assert_ne!(base, spec.inputs("1.0.129"));
        let mut arch = spec.clone();
        arch.arch = "armhf".into();
        assert_ne!(base, arch.inputs("1.0.128"));
    }
}
