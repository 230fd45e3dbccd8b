//! What `unitpack repo` leaves behind when it is stopped: nothing it can help.
//!
//! The private GnuPG home holds the imported secret key unencrypted, and gpg starts an
//! agent for it. On a normal return or an error, [`GnupgHome`]'s `Drop` stops the agent
//! and removes the home, and the stage removes its temporary files. On SIGINT, SIGTERM
//! or SIGHUP, a watcher thread ([`install`]) does the same for everything registered
//! here, then exits with 128 + the signal's number. A commit of the stage holds the
//! registry's lock ([`hold`]), so a signal waits for it to finish: a signal never
//! leaves half the renames done.
//!
//! SIGKILL cannot be caught. The home is then left where the operating system or a
//! later run removes it: under `$XDG_RUNTIME_DIR` (a per-user tmpfs, emptied at logout
//! and reboot) when it is set, else the temporary directory; each home records the
//! process that made it, and every later `unitpack repo` run stops the agent of, and
//! removes, each home whose process is gone ([`GnupgHome::new`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, Once};

const HOME_PREFIX: &str = "unitpack-gnupg-";
const OWNER_FILE: &str = "unitpack-owner.pid";

/// Paths to remove if a signal stops the process.
#[derive(Default)]
pub struct Registry {
    homes: Vec<PathBuf>,
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    homes: Vec::new(),
    files: Vec::new(),
    dirs: Vec::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while the lock was held does not make the paths less worth removing.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Start the watcher (once per process): SIGINT, SIGTERM and SIGHUP clean up and exit.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let mut r = registry();
                clean(&mut r);
                std::process::exit(128 + signal);
            }
        });
    });
}

/// Hold the registry while a stage commits, so a signal does not cut the renames short.
pub fn hold() -> MutexGuard<'static, Registry> {
    registry()
}

fn clean(r: &mut Registry) {
    for home in r.homes.drain(..) {
        remove_home(&home);
    }
    for file in r.files.drain(..) {
        let _ = std::fs::remove_file(file);
    }
    for dir in r.dirs.drain(..).rev() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// A staged file or created directory, removed on a signal.
pub fn register_file(path: &Path) {
    registry().files.push(path.to_path_buf());
}

pub fn register_dir(path: &Path) {
    registry().dirs.push(path.to_path_buf());
}

/// Forget paths that were renamed into place or removed.
pub fn forget(paths: &[PathBuf]) {
    registry().forget(paths);
}

impl Registry {
    pub fn forget(&mut self, paths: &[PathBuf]) {
        // A set: a stage of 10,000 packages forgets 20,000 paths at once; scanning the
        // list for each made such a `repo add` take 29.8 s of CPU instead of 4.4 s.
        let paths: std::collections::HashSet<&PathBuf> = paths.iter().collect();
        self.files.retain(|p| !paths.contains(p));
        self.dirs.retain(|p| !paths.contains(p));
    }
}

fn remove_home(home: &Path) {
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home)
        .args(["--kill", "gpg-agent"])
        .output();
    let _ = std::fs::remove_dir_all(home);
}

/// A private GnuPG home (0700), removed with its agent on drop or on a signal.
pub struct GnupgHome {
    dir: Option<tempfile::TempDir>,
}

impl GnupgHome {
    pub fn new() -> std::io::Result<GnupgHome> {
        let base = base_dir();
        let dir = tempfile::Builder::new()
            .prefix(HOME_PREFIX)
            .tempdir_in(&base)?;
        registry().homes.push(dir.path().to_path_buf());
        std::fs::write(
            dir.path().join(OWNER_FILE),
            format!("{}\n", std::process::id()),
        )?;
        sweep(&base, dir.path());
        Ok(GnupgHome { dir: Some(dir) })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("set until drop").path()
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            let mut r = registry();
            remove_home(&path);
            drop(dir);
            r.homes.retain(|h| h != &path);
        }
    }
}

/// `$XDG_RUNTIME_DIR` (tmpfs, private to the user) when it is a directory, else the
/// temporary directory.
fn base_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Remove the homes in `base` that a killed run left: ours (same owner as `mine`),
/// holding an owner file whose process is gone.
fn sweep(base: &Path, mine: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::symlink_metadata(mine).map(|m| m.uid()) else {
        return;
    };
    let Ok(listing) = std::fs::read_dir(base) else {
        return;
    };
    for entry in listing.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(HOME_PREFIX));
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !ours || path == mine || !meta.is_dir() || meta.uid() != me {
            continue;
        }
        let owner = crate::input::read_file_bounded(&path.join(OWNER_FILE), 32)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.trim().parse::<u32>().ok());
        if let Some(pid) = owner {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                remove_home(&path);
            }
        }
    }
}
