//! One throwaway container: the cached root under an overlay whose upper layer is a
//! tmpfs, both mounted in a mount namespace that only `systemd-nspawn` and its
//! container live in. Nothing is mounted on the host: when nspawn ends, however it
//! ends (Ctrl-C, a kill of the launcher), the kernel takes the namespace, the overlay
//! and every byte written in the container with it, and the cache stays as it was.
//!
//! Before it boots anything the launcher moves itself into a cgroup of its own
//! ([`Cgroup`]): the host's PID 1 is not always systemd, and then every nspawn takes the
//! cgroup it runs in as its container's, so two runs at once would manage the same
//! `system.slice` (../shared/vendor/README.md).

use super::exec::{self, Output};
use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The launcher's own cgroup in every writable hierarchy; left and removed on drop.
pub struct Cgroup {
    /// (hierarchy mount, the cgroup we came from, the one we made).
    moved: Vec<(PathBuf, String, PathBuf)>,
}

impl Cgroup {
    pub fn enter(name: &str) -> Result<Cgroup> {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| Error::io("reading /proc/self/cgroup", e))?;
        // (mount point, the controller field of /proc/self/cgroup)
        let hierarchies: &[(&str, &str)] = &[
            ("/sys/fs/cgroup/systemd", "name=systemd"),
            ("/sys/fs/cgroup/unified", ""),
            ("/sys/fs/cgroup", ""),
        ];
        let mut cgroup = Cgroup { moved: Vec::new() };
        let pid = std::process::id().to_string();
        for (mount, field) in hierarchies {
            let mount = Path::new(mount);
            // A pure cgroup2 machine has cgroup.procs at /sys/fs/cgroup itself; a hybrid
            // one has it under unified/ (and /sys/fs/cgroup is a tmpfs).
            if !mount.join("cgroup.procs").exists()
                || cgroup.moved.iter().any(|(m, ..)| m.starts_with(mount))
            {
                continue;
            }
            let from = own
                .lines()
                .filter_map(|l| {
                    let mut parts = l.splitn(3, ':');
                    parts.next();
                    parts.next().zip(parts.next())
                })
                .find(|(f, _)| f == field)
                .map(|(_, p)| p.to_string())
                .unwrap_or_else(|| "/".into());
            let dir = mount.join(name);
            std::fs::create_dir(&dir)
                .map_err(|e| Error::io(format!("making cgroup {}", dir.display()), e))?;
            let procs = dir.join("cgroup.procs");
            if let Err(e) = std::fs::write(&procs, &pid) {
                let _ = std::fs::remove_dir(&dir);
                return Err(Error::io(format!("moving into {}", procs.display()), e));
            }
            cgroup.moved.push((mount.to_path_buf(), from, dir));
        }
        if cgroup.moved.is_empty() {
            return Err(Error::Missing {
                what: "no writable cgroup hierarchy under /sys/fs/cgroup".into(),
                how: "run verify as root on a machine with cgroups mounted".into(),
            });
        }
        Ok(cgroup)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let pid = std::process::id().to_string();
        for (mount, from, dir) in &self.moved {
            let back = mount
                .join(from.trim_start_matches('/'))
                .join("cgroup.procs");
            let _ = std::fs::write(back, &pid);
            remove_cgroup_tree(dir);
        }
    }
}

/// Remove a cgroup and the ones the container's systemd made below it, deepest first.
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// How to boot a container.
pub struct Boot<'a> {
    /// The cached root: the overlay's lower layer, never written.
    pub lower: &'a Path,
    pub name: &'a str,
    /// A host directory bound read-only at `/var/tmp/unitpack-verify`.
    pub packages: &'a Path,
    /// systemd 229 knows only the legacy cgroup tree.
    pub legacy_cgroups: bool,
    /// Time allowed for the boot (longer under qemu).
    pub limit: Duration,
    /// The root runs under qemu-user: see [`Container::stop`].
    pub emulated: bool,
}

/// Where the packages are inside the container.
pub const PACKAGES_DIR: &str = "/var/tmp/unitpack-verify";

pub struct Container {
    nspawn: Option<Child>,
    pid1: u32,
    /// Mount points (empty on the host) and the console log.
    work: tempfile::TempDir,
    pub name: String,
    emulated: bool,
}

impl Container {
    pub fn boot(b: &Boot) -> Result<Container> {
        let work = tempfile::Builder::new()
            .prefix("unitpack-verify-")
            .tempdir()
            .map_err(|e| Error::io("making a temporary directory", e))?;
        for p in [b.lower, work.path(), b.packages] {
            let s = p.as_os_str().as_bytes();
            if s.contains(&b',') || s.contains(&b':') {
                return Err(Error::Missing {
                    what: format!("{} holds ',' or ':'", p.display()),
                    how: "overlayfs and nspawn options cannot name it; set XDG_CACHE_HOME or TMPDIR to a plain path".into(),
                });
            }
        }
        let layer = work.path().join("layer");
        let root = work.path().join("root");
        for d in [&layer, &root] {
            std::fs::create_dir(d).map_err(|e| Error::io(format!("making {}", d.display()), e))?;
        }
        let cstr = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("no NUL in a path");
        let (c_layer, c_root) = (cstr(&layer), cstr(&root));
        let (c_upper, c_work) = (cstr(&layer.join("upper")), cstr(&layer.join("work")));
        let options = CString::new(format!(
            "lowerdir={},upperdir={},workdir={}",
            b.lower.display(),
            layer.join("upper").display(),
            layer.join("work").display()
        ))
        .expect("no NUL");
        let console = std::fs::File::create(work.path().join("console.log"))
            .map_err(|e| Error::io("making the console log", e))?;
        let console_err = console
            .try_clone()
            .map_err(|e| Error::io("making the console log", e))?;
        let mut cmd = Command::new("systemd-nspawn");
        cmd.args([
            "-q",
            "--boot",
            "--register=no",
            "--keep-unit",
            "--console=pipe",
        ])
        .arg("-M")
        .arg(b.name)
        .arg("-D")
        .arg(&root)
        .arg(format!("--bind-ro={}:{PACKAGES_DIR}", b.packages.display()))
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(console_err)
        // Ctrl-C reaches the launcher only; the launcher halts the container.
        .process_group(0);
        if b.legacy_cgroups {
            cmd.env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "0");
        }
        // SAFETY: only async-signal-safe system calls between fork and exec, on
        // strings made before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let null = std::ptr::null();
                let check = |r: libc::c_int| {
                    if r == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                };
                check(libc::unshare(libc::CLONE_NEWNS))?;
                check(libc::mount(
                    null,
                    c"/".as_ptr(),
                    null,
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    c"tmpfs".as_ptr(),
                    c_layer.as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    c"mode=0755".as_ptr().cast(),
                ))?;
                check(libc::mkdir(c_upper.as_ptr(), 0o755))?;
                check(libc::mkdir(c_work.as_ptr(), 0o755))?;
                check(libc::mount(
                    c"overlay".as_ptr(),
                    c_root.as_ptr(),
                    c"overlay".as_ptr(),
                    0,
                    options.as_ptr().cast(),
                ))
            });
        }
        let nspawn = cmd
            .spawn()
            .map_err(|e| Error::io("starting systemd-nspawn", e))?;
        let mut ct = Container {
            pid1: 0,
            nspawn: Some(nspawn),
            work,
            name: b.name.to_string(),
            emulated: b.emulated,
        };
        let nspawn_pid = ct.nspawn.as_ref().map_or(0, Child::id);
        let found = exec::until(b.limit, Duration::from_millis(50), || {
            match find_pid1(nspawn_pid) {
                Some(p) => {
                    ct.pid1 = p;
                    true
                }
                None => ct.exited(),
            }
        });
        exec::check_interrupt()?;
        if !found {
            return Err(Error::Missing {
                what: format!(
                    "the container did not start; systemd-nspawn said:\n{}",
                    ct.console_tail(30)
                ),
                how: "see systemd-nspawn(1); the cached root can be rebuilt by removing it".into(),
            });
        }
        Ok(ct)
    }

    fn exited(&mut self) -> bool {
        self.nspawn
            .as_mut()
            .is_none_or(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// The last lines nspawn and the container printed on the console.
    pub fn console_tail(&self, lines: usize) -> String {
        // What the container printed is as long as the packages under test make it.
        let text = crate::input::read_text(&self.work.path().join("console.log"), 16 << 20)
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// A command inside the container (all its namespaces), with a clean environment.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.pid1.to_string())
            .arg("-a")
            .args([
                "env",
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8",
                "TERM=dumb",
                "SYSTEMD_PAGER=",
            ])
            .args(args);
        cmd
    }

    /// Run a command inside the container.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], limit: Duration) -> Result<Output> {
        exec::run(self.command(args), limit)
    }

    /// Halt the container (SIGTERM to nspawn is an orderly power-off), then kill what
    /// is left. The overlay goes with nspawn's mount namespace.
    pub fn stop(&mut self) {
        let Some(mut nspawn) = self.nspawn.take() else {
            return;
        };
        let pid = nspawn.id() as libc::pid_t;
        // nspawn halts the container with SIGRTMIN+4 to its init, which qemu-user does
        // not deliver as that signal: the halt would wait out the 15 s below (seen on
        // every armhf run). systemd is asked directly instead, the signals stay the
        // fallback.
        if self.emulated && self.pid1 != 0 {
            let _ = self.run(
                &["systemctl", "--no-block", "poweroff"],
                Duration::from_secs(20),
            );
            let gone = (0..300).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                !matches!(nspawn.try_wait(), Ok(None))
            });
            if gone {
                return;
            }
        }
        for (signal, wait) in [(libc::SIGTERM, 15), (libc::SIGTERM, 5)] {
            // SAFETY: our own child, not yet reaped (so the PID is still ours).
            unsafe { libc::kill(pid, signal) };
            let gone = (0..wait * 10).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                !matches!(nspawn.try_wait(), Ok(None))
            });
            if gone {
                return;
            }
        }
        if self.pid1 != 0 && find_pid1(nspawn.id()) == Some(self.pid1) {
            // SAFETY: still the container's init, the child of our nspawn.
            unsafe { libc::kill(self.pid1 as libc::pid_t, libc::SIGKILL) };
        }
        let _ = nspawn.kill();
        let _ = nspawn.wait();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The child of `nspawn` that is PID 1 of its own PID namespace: the container's init.
/// Found by parentage, never by a name pattern (other containers may be running).
fn find_pid1(nspawn: u32) -> Option<u32> {
    let parent = format!("PPid:\t{nspawn}");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        if !status.lines().any(|l| l == parent) {
            continue;
        }
        let ns_pid = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|l| l.split_whitespace().last());
        if ns_pid == Some("1") {
            return Some(pid);
        }
    }
    None
}
