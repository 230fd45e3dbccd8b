//! How verify puts the packages on the target: with the target's `dpkg -i`, or with its
//! `apt-get` from a local repository, as a device installs from the vendor's archive.
//!
//! apt is the way when one recipe of the run depends on a package another one builds
//! (or when `--install apt` asks for it): dpkg installs what it is given, apt resolves
//! the order and the dependencies. The repository is a `unitpack repo` made for the run
//! (the product's own writer, [`crate::repo::add`]), signed by an RSA-3072 key made for
//! the run (xenial's gpgv 1.4 verifies RSA and DSA only), and served into the container
//! as a `file:` source through the read-only packages directory. It holds the run's
//! packages and `unitpack-check` of the run's architecture; the upgrade is published to
//! it when the lifecycle reaches the upgrade, and apt upgrades from it.
//!
//! apt resolves from the root's own archive lists (debootstrap's) and the local
//! repository, and the container has no network to fetch from: a dependency must be
//! installed in the root already (every recipe's `depends:` on the target's archive is,
//! `root_packages` in verify) or be built by a recipe of the run. Anything else is bad
//! input, refused (exit 2) before the install, naming the dependency.

use super::checks::Checker;
use super::container::PACKAGES_DIR;
use super::exec;
use super::report::Check;
use crate::error::{Error, Result};
use crate::recipe::Recipe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SHORT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(300);

/// The suite and component of the local repository.
const SUITE: &str = "verify";
const COMPONENT: &str = "main";
/// The repository and its public key, inside the packages directory.
const REPO_DIR: &str = "repo";
const KEYRING: &str = "repo-key.gpg";
/// The source verify adds to the target's apt (the only file it adds under /etc/apt
/// besides the gpgv setting of the board's apt).
const SOURCE_LIST: &str = "/etc/apt/sources.list.d/unitpack-verify.list";
/// xenial's apt-key verifies with GnuPG 1.4's gpgv (Debian's gpgv1), as on the board.
const GPGV1_CONF: &str = "/etc/apt/apt.conf.d/00unitpack-verify-gpgv1";
/// The Debian package that brings gpgv 1.4 into the board's root.
pub const GPGV1_PACKAGE: &str = "gpgv1";

/// The way the packages are installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Dpkg,
    Apt,
}

impl Way {
    /// As the report says it.
    pub fn describe(self) -> &'static str {
        match self {
            Way::Dpkg => "dpkg",
            Way::Apt => "apt",
        }
    }
}

/// apt when a recipe of the run depends on a package another recipe of the run builds,
/// else dpkg; `forced` (`--install`) decides when given.
pub fn choose(recipes: &[Recipe], forced: Option<Way>) -> Way {
    if let Some(w) = forced {
        return w;
    }
    let built: Vec<&str> = recipes.iter().map(|r| r.package.name.as_str()).collect();
    let inter = recipes.iter().any(|r| {
        r.package.relations.depends.iter().any(|dep| {
            alternatives(dep).any(|name| name != r.package.name && built.contains(&name))
        })
    });
    if inter {
        Way::Apt
    } else {
        Way::Dpkg
    }
}

/// The package names of one `depends:` entry, every alternative, without versions or
/// architecture qualifiers.
pub fn alternatives(dep: &str) -> impl Iterator<Item = &str> {
    dep.split('|').filter_map(|alt| {
        alt.split(|c: char| c == '(' || c == ':' || c == '[' || c.is_whitespace())
            .find(|s| !s.is_empty())
    })
}

/// The refusal of a dependency the target's archive lacks ([`super::cache`]) names the
/// recipe file that depends on it.
pub fn name_the_recipe(e: Error, recipes: &[Recipe]) -> Error {
    let Error::Refused(message) = &e else {
        return e;
    };
    let Some(rest) = message.strip_prefix(super::cache::NOT_IN_ARCHIVE) else {
        return e;
    };
    let missing = rest.split(',').next().unwrap_or("");
    let owners: Vec<String> = recipes
        .iter()
        .filter(|r| {
            r.package.relations.depends.iter().any(|d| {
                alternatives(d)
                    .next()
                    .is_some_and(|n| missing.split_whitespace().any(|m| m == n))
            })
        })
        .map(|r| r.path.display().to_string())
        .collect();
    if owners.is_empty() {
        return e;
    }
    Error::Refused(format!("{} depends on {rest}", owners.join(" and ")))
}

/// What the installer needs of the run.
pub struct Setup<'a> {
    pub way: Way,
    /// The packages directory on the host (bind-mounted read-only at [`PACKAGES_DIR`]).
    pub packages_dir: &'a Path,
    /// The `.deb`s of version 1 and of version 2, as the container sees them.
    pub first: &'a [String],
    pub upgrade: &'a [String],
    /// The helper package, as the container sees it.
    pub helper: &'a str,
    /// The packages' names.
    pub names: &'a [String],
    /// The board's apt 1.2.35, which verifies with gpgv 1.4.
    pub gpgv1: bool,
}

pub struct Installer {
    way: Way,
    helper: String,
    first: Vec<String>,
    upgrade: Vec<String>,
    names: Vec<String>,
    repo: Option<LocalRepo>,
    /// Version 2 was published to the local repository.
    published: std::cell::Cell<bool>,
}

/// The run's signed repository and its key.
struct LocalRepo {
    dir: PathBuf,
    /// The secret key (an exported GnuPG key, mode 0600), removed with the directory.
    key: tempfile::TempDir,
    upgrade: Vec<PathBuf>,
    date: u64,
    gpgv1: bool,
}

impl Installer {
    /// For apt: the key made and the repository written with version 1 and the
    /// helper, before anything boots.
    pub fn new(s: &Setup) -> Result<Installer> {
        let host = |inside: &String| -> PathBuf {
            let name = inside.rsplit('/').next().unwrap_or(inside);
            s.packages_dir.join(name)
        };
        let repo = match s.way {
            Way::Dpkg => None,
            Way::Apt => {
                // The apt methods run as _apt, which must read the repository.
                set_mode(s.packages_dir, 0o755)?;
                let key = tempfile::Builder::new()
                    .prefix("unitpack-verify-key-")
                    .tempdir()
                    .map_err(|e| Error::io("making a temporary directory", e))?;
                make_key(key.path())?;
                let date = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let repo = LocalRepo {
                    dir: s.packages_dir.join(REPO_DIR),
                    key,
                    upgrade: s.upgrade.iter().map(host).collect(),
                    date,
                    gpgv1: s.gpgv1,
                };
                let mut debs: Vec<PathBuf> = s.first.iter().map(host).collect();
                debs.push(host(&s.helper.to_string()));
                repo.publish(debs, date)?;
                let keyring = crate::repo::export_key(&repo.spec(), false)?;
                let path = s.packages_dir.join(KEYRING);
                std::fs::write(&path, keyring)
                    .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                Some(repo)
            }
        };
        Ok(Installer {
            way: s.way,
            helper: s.helper.to_string(),
            first: s.first.to_vec(),
            upgrade: s.upgrade.to_vec(),
            names: s.names.to_vec(),
            repo,
            published: std::cell::Cell::new(false),
        })
    }

    pub fn way(&self) -> Way {
        self.way
    }

    /// The helper and the fresh user, before the packages (part of the baseline). With
    /// apt: the source added, the repository fetched, and the helper installed from it.
    pub fn prepare(&self, c: &mut Checker) -> Result<bool> {
        let Some(repo) = &self.repo else {
            return c.prepare(&self.helper);
        };
        let mut script = format!(
            "printf 'deb [signed-by={PACKAGES_DIR}/{KEYRING}] file:{PACKAGES_DIR}/{REPO_DIR} \
             {SUITE} {COMPONENT}\\n' > {SOURCE_LIST}"
        );
        if repo.gpgv1 {
            script.push_str(&format!(
                " && printf 'Apt::Key::gpgvcommand \"gpgv1\";\\n' > {GPGV1_CONF}"
            ));
        }
        let out = run(c, &["sh", "-c", &script], SHORT)?;
        if !record(
            c,
            "install",
            format!("the local repository added to apt ({SOURCE_LIST})"),
            out.ok(),
            out.both(),
        ) {
            return Ok(false);
        }
        if repo.gpgv1 {
            let out = run(c, &["gpgv1", "--version"], SHORT)?;
            let first = out.stdout.lines().next().unwrap_or("").to_string();
            let config = run(c, &["apt-config", "dump"], SHORT)?;
            let set = config
                .stdout
                .lines()
                // apt's keys are case-insensitive; dump spells the tree as first set.
                .any(|l| l.eq_ignore_ascii_case("APT::Key::gpgvcommand \"gpgv1\";"));
            let held = out.ok() && first.contains(" 1.4.") && set;
            record(
                c,
                "install",
                "apt-key verifies with gpgv 1.4 (Apt::Key::gpgvcommand gpgv1), as on the board"
                    .into(),
                held,
                format!(
                    "gpgv1 --version: {first:?}; apt-config dump sets it: {set}\n{}",
                    out.stderr
                ),
            );
            if !held {
                return Ok(false);
            }
        }
        if !self.update(c, "install")? {
            return Ok(false);
        }
        let ok = self.apt(
            c,
            "install",
            "unitpack-check installed with the target's apt from the local repository",
            &["install", deb_helper()],
        )?;
        let uid = super::checks::UID.to_string();
        let user = run(
            c,
            &[
                "useradd",
                "-m",
                "-u",
                &uid,
                "-s",
                "/bin/sh",
                super::checks::USER,
            ],
            SHORT,
        )?;
        let user = record(
            c,
            "install",
            format!(
                "a fresh user {} (uid {}) made",
                super::checks::USER,
                super::checks::UID
            ),
            user.ok(),
            user.both(),
        );
        Ok(ok && user)
    }

    /// Install version 1 (`second` false), or version 2 (upgrade, reinstall). With apt
    /// the first install is simulated first: a dependency apt cannot resolve from the
    /// root and the local repository is refused, naming it. Version 2 is published when
    /// first asked for.
    pub fn install(&self, c: &mut Checker, step: &'static str, second: bool) -> Result<bool> {
        let Some(repo) = &self.repo else {
            let debs = if second { &self.upgrade } else { &self.first };
            return c.dpkg_install(step, debs);
        };
        if !second {
            self.resolvable(c)?;
        } else if !self.published.get() {
            repo.publish(repo.upgrade.clone(), repo.date + 1)?;
            self.published.set(true);
            if !self.update(c, step)? {
                return Ok(false);
            }
        }
        let mut args = vec!["install"];
        args.extend(self.names.iter().map(String::as_str));
        self.apt(
            c,
            step,
            &format!(
                "apt-get install {} from the local repository",
                self.names.join(" ")
            ),
            &args,
        )
    }

    /// Remove (`-r`) or purge (`-P`) the packages.
    pub fn remove(&self, c: &mut Checker, step: &'static str, action: &str) -> Result<bool> {
        if self.repo.is_none() {
            return c.dpkg_remove(step, action, &self.names);
        }
        let verb = if action == "-P" { "purge" } else { "remove" };
        let mut args = vec![verb];
        args.extend(self.names.iter().map(String::as_str));
        self.apt(
            c,
            step,
            &format!("apt-get {verb} {}", self.names.join(" ")),
            &args,
        )
    }

    /// `apt-get update` of the local repository alone (the archive's lists, which the
    /// container cannot fetch again, are kept): signed and verified, no warning.
    fn update(&self, c: &mut Checker, step: &'static str) -> Result<bool> {
        let out = run(
            c,
            &[
                "apt-get",
                "update",
                "-o",
                "Dir::Etc::sourcelist=sources.list.d/unitpack-verify.list",
                "-o",
                "Dir::Etc::sourceparts=-",
                "-o",
                "APT::Get::List-Cleanup=0",
            ],
            LONG,
        )?;
        let warned = out
            .both()
            .lines()
            .any(|l| l.starts_with("W:") || l.starts_with("E:"));
        Ok(record(
            c,
            step,
            "apt-get update: the local repository's signed Release verified, no warning".into(),
            out.ok() && !warned,
            out.both(),
        ))
    }

    /// `apt-get -y ARGS`, non-interactive, recorded as `what`.
    fn apt(&self, c: &mut Checker, step: &'static str, what: &str, args: &[&str]) -> Result<bool> {
        let mut all = vec![
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "-y",
            "--no-install-recommends",
        ];
        all.extend(args);
        let out = run(c, &all, LONG)?;
        Ok(record(c, step, what.to_string(), out.ok(), out.both()))
    }

    /// apt can install the packages from what the root has and the local repository
    /// holds, fetching nothing from the archive: else bad input, naming what is missing.
    fn resolvable(&self, c: &mut Checker) -> Result<()> {
        let mut args = vec!["apt-get", "-s", "--no-install-recommends", "install"];
        args.extend(self.names.iter().map(String::as_str));
        let out = run(c, &args, LONG)?;
        let from_repo: Vec<&str> = self
            .names
            .iter()
            .map(String::as_str)
            .chain([deb_helper()])
            .collect();
        match unresolved(out.ok(), &out.both(), &from_repo) {
            None => Ok(()),
            Some(why) => Err(Error::Refused(format!(
                "apt cannot install {} offline: {why}. verify installs from the root and the \
                 run's local repository only (the container has no network): a dependency \
                 must be a package of the target's archive that the recipes' `depends:` name \
                 (it is then in the root), or be built by a recipe given to this run",
                self.names.join(" ")
            ))),
        }
    }
}

fn deb_helper() -> &'static str {
    crate::deb::HELPER_PACKAGE
}

/// What keeps apt's simulated install (`apt-get -s install`, its output `text`) from
/// being done offline: an unmet dependency (apt's own lines), or a package apt would
/// fetch from the archive (one not in `from_repo`).
fn unresolved(ok: bool, text: &str, from_repo: &[&str]) -> Option<String> {
    if !ok {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.contains("Depends:") || l.starts_with("E:"))
            .filter(|l| !l.starts_with("E: Unable to correct problems"))
            .collect();
        return Some(if lines.is_empty() {
            text.trim().to_string()
        } else {
            lines.join("; ")
        });
    }
    let fetched: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|p| !from_repo.contains(p))
        .collect();
    (!fetched.is_empty()).then(|| {
        format!(
            "it would fetch {} from the target's archive",
            fetched.join(", ")
        )
    })
}

impl LocalRepo {
    fn spec(&self) -> crate::repo::KeySpec {
        crate::repo::KeySpec {
            files: vec![self.key.path().join("secret.key")],
            ids: Vec::new(),
            passphrase_file: None,
        }
    }

    /// `unitpack repo add` of `debs` to the run's repository, dated `date`.
    fn publish(&self, debs: Vec<PathBuf>, date: u64) -> Result<()> {
        crate::repo::add(&crate::repo::AddOptions {
            repo: self.dir.clone(),
            suite: SUITE.into(),
            component: COMPONENT.into(),
            key: self.spec(),
            architectures: Vec::new(),
            valid_for: None,
            origin: None,
            label: None,
            date,
            date_from_env: false,
            now: date,
            threads: 1,
            debs,
            removals: Vec::new(),
            copy: None,
            keep: None,
            new_key: false,
        })?;
        Ok(())
    }
}

/// An RSA-3072 signing key without passphrase, made in a GnuPG home of its own under
/// `dir` and exported (armored: the output is read as text) to `dir/secret.key`; the
/// home's agent is stopped after.
fn make_key(dir: &Path) -> Result<()> {
    let home = dir.join("gnupg");
    std::fs::create_dir(&home)
        .and_then(|()| set_mode_io(&home, 0o700))
        .map_err(|e| Error::io(format!("making {}", home.display()), e))?;
    let gpg = |args: &[&str]| -> Result<exec::Output> {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir")
            .arg(&home)
            .args(["--batch", "--no-tty", "--passphrase", ""])
            .args(args);
        exec::run(cmd, Duration::from_secs(120))
    };
    let made = gpg(&[
        "--quick-gen-key",
        "unitpack verify <verify@unitpack.invalid>",
        "rsa3072",
        "sign",
        "never",
    ]);
    let exported = match &made {
        Ok(o) if o.ok() => gpg(&["--armor", "--export-secret-keys"]),
        _ => made,
    };
    let mut kill = Command::new("gpgconf");
    kill.arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"]);
    let _ = exec::run(kill, Duration::from_secs(30));
    let out = exported?;
    if !out.ok() || out.stdout.is_empty() {
        return Err(Error::Tool {
            program: "gpg",
            message: format!("making the run's signing key failed: {}", out.both()),
        });
    }
    let path = dir.join("secret.key");
    std::fs::write(&path, out.stdout.as_bytes())
        .and_then(|()| set_mode_io(&path, 0o600))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn set_mode_io(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    set_mode_io(path, mode).map_err(|e| Error::io(format!("chmod {}", path.display()), e))
}

fn run(c: &Checker, args: &[&str], limit: Duration) -> Result<exec::Output> {
    c.ct.run(args, limit * c.slow)
}

fn record(c: &mut Checker, step: &'static str, what: String, held: bool, detail: String) -> bool {
    c.report.checks.push(Check {
        step,
        unit: None,
        what,
        held,
        detail,
    });
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    /// apt for a run where one recipe depends on another's package; dpkg for the seed
    /// recipe alone, whose dependencies are the archive's; `--install` decides.
    #[test]
    fn apt_when_a_recipe_depends_on_another_of_the_run() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let load = |p: &str| crate::recipe::load(&root.join(p), None).unwrap();
        let pair = [
            load("tests/verify/apt/base.yaml"),
            load("tests/verify/apt/app.yaml"),
        ];
        assert_eq!(choose(&pair, None), Way::Apt);
        assert_eq!(choose(&pair, Some(Way::Dpkg)), Way::Dpkg);
        assert_eq!(choose(&pair[1..], None), Way::Dpkg);
        let seed = [load("recipes/pulseaudio-user.yaml")];
        assert_eq!(choose(&seed, None), Way::Dpkg);
        assert_eq!(choose(&seed, Some(Way::Apt)), Way::Apt);
    }

    /// debootstrap's refusal names the recipe that depends on what the archive lacks.
    #[test]
    fn a_dependency_no_archive_has_names_its_recipe() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let load = |p: &str| crate::recipe::load(&root.join(p), None).unwrap();
        let recipes = [
            load("tests/verify/apt/base.yaml"),
            load("tests/verify/apt-broken/missing-dependency.yaml"),
        ];
        let e = Error::Refused(format!(
            "{}unitpack-verify-nowhere, which is neither in the archive",
            super::super::cache::NOT_IN_ARCHIVE
        ));
        let text = name_the_recipe(e, &recipes).to_string();
        assert!(
            text.contains(
                "tests/verify/apt-broken/missing-dependency.yaml depends on \
                 unitpack-verify-nowhere, which is neither in the archive"
            ),
            "{text}"
        );
        let other = Error::Refused("something else".into());
        assert_eq!(
            name_the_recipe(other, &recipes).to_string(),
            "something else"
        );
    }

    #[test]
    fn alternatives_are_names_without_versions() {
        let got: Vec<&str> = alternatives("a (>= 1) | b:any | c [amd64]").collect();
        assert_eq!(got, ["a", "b", "c"]);
    }

    /// An unmet dependency is refused with apt's own line naming it; a package apt
    /// would download from the archive is refused by name; the run's own are fine.
    #[test]
    fn what_apt_cannot_do_offline_is_named() {
        let unmet = "Reading package lists...\nSome packages could not be installed.\n\
                     The following packages have unmet dependencies:\n \
                     app : Depends: base (>= 9) but 1.0-1 is to be installed\n\
                     E: Unable to correct problems, you have held broken packages.\n";
        assert_eq!(
            unresolved(false, unmet, &["app", "base"]).unwrap(),
            "app : Depends: base (>= 9) but 1.0-1 is to be installed"
        );
        let fetch = "Inst base (1.0-1 verify [all])\nInst libfoo1 (2.0 Debian:12 [amd64])\n\
                     Inst app (1.0-1 verify [all])\nConf base (1.0-1 verify [all])\n";
        assert_eq!(
            unresolved(true, fetch, &["app", "base"]).unwrap(),
            "it would fetch libfoo1 from the target's archive"
        );
        let fine = "Inst base (1.0-1 verify [all])\nInst app (1.0-1 verify [all])\n";
        assert_eq!(unresolved(true, fine, &["app", "base"]), None);
    }
}
