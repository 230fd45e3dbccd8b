//! `unitpack verify`: boot the user's own packages on the target's own systemd before
//! they ship. The packages are built through the [`Pipeline`] (the same gate and
//! writer as `unitpack build`), a cached root of the target ([`cache`]) boots in a
//! throwaway container ([`container`]), and the checks ([`checks`]) ask the booted
//! system what the plans promise ([`scenario`]): through install, a login, upgrade,
//! remove, reinstall and purge. The verdict is a [`report::Report`].

pub mod cache;
pub mod checks;
pub mod cli;
pub mod container;
pub mod exec;
pub mod install;
pub mod report;
pub mod scenario;
pub mod stack;

use crate::deb::{self, Debs};
use crate::error::{Error, Result};
use crate::format::Packager;
use crate::pipeline::{GateReport, Pipeline};
use crate::plan::{Plan, Role};
use crate::recipe::Recipe;
use crate::unit::Scope;
use report::Report;
use scenario::Scenario;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to verify, and where.
pub struct Options {
    pub inputs: Vec<PathBuf>,
    /// Target profile, overriding the recipes' own.
    pub target: Option<String>,
    /// The booted root's architecture (default: the recipes' own, else amd64).
    pub arch: Option<String>,
    /// The helper package (default: the newest in `$UNITPACK_CHECK_DEBS` or
    /// `target/unitpack-check`).
    pub helper: Option<PathBuf>,
    /// Where the board's stack (systemd 229, dpkg 1.18.4, apt 1.2.35) was built, for
    /// ubuntu-xenial (default: [`stack::default_dir`]).
    pub stack: Option<PathBuf>,
    /// How to install: the target's dpkg or its apt (default: [`install::choose`]).
    pub install: Option<install::Way>,
}

/// The Debian mirror roots are bootstrapped from.
const MIRROR: &str = "http://deb.debian.org/debian";

/// Packages of every root besides debootstrap's minbase: an init, logind with PAM
/// logins, the system bus.
const BASE_PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "libpam-systemd",
    "procps",
];

/// The roots verify can boot, by profile.
enum RootKind {
    /// The suite's own systemd, dpkg and apt.
    Debian(&'static str),
    /// A Debian 12 userland with the board's systemd 229, dpkg 1.18.4 and apt 1.2.35
    /// (as the e2e flows boot it).
    Xenial,
}

/// The target profiles that verify has a root for (`--target` offers these).
pub const BOOTABLE: &[&str] = &["debian-bookworm", "ubuntu-xenial"];

fn root_of(profile: &str) -> Option<RootKind> {
    match profile {
        "debian-bookworm" => Some(RootKind::Debian("bookworm")),
        "ubuntu-xenial" => Some(RootKind::Xenial),
        _ => None,
    }
}

/// Refuse early, saying how to fix it, when this machine cannot verify.
pub fn prerequisites() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Error::Missing {
            what: "verify must run as root (it bootstraps roots and boots containers)".into(),
            how: "run it with sudo".into(),
        });
    }
    for (program, package) in [
        ("systemd-nspawn", "systemd-container"),
        ("debootstrap", "debootstrap"),
        ("nsenter", "util-linux"),
    ] {
        if !exec::on_path(program) {
            return Err(Error::Missing {
                what: format!("{program} is not installed"),
                how: format!("install it with `apt-get install {package}`"),
            });
        }
    }
    Ok(())
}

/// The packages one run verifies: version 1 as the recipes say, version 2 the same
/// recipes one version higher (for the upgrade).
struct Built {
    first: Vec<String>,
    upgrade: Vec<String>,
}

/// Run every check; the report says what held. `Err` only when the run itself could
/// not be made (bad input, a missing tool, Ctrl-C).
pub fn verify(opts: &Options, gate: impl FnOnce(&GateReport)) -> Result<Report> {
    exec::catch_interrupts();
    let mut report = Report::default();
    let mut phase = Instant::now();
    let mut lap = |report: &mut Report, name: &'static str| {
        report.timings.push((name, phase.elapsed()));
        phase = Instant::now();
    };

    let pipeline = Pipeline::load(&opts.inputs, opts.target.as_deref())?;
    pipeline.lint_gate(gate)?;
    let recipes = pipeline.recipes();
    let arch = arch_of(recipes, opts.arch.as_deref())?;
    let profile = check_targets(recipes, &arch)?;
    let kind = root_of(profile).ok_or_else(|| {
        Error::Refused(format!(
            "verify has no root for target profile {profile} yet; it boots debian-bookworm \
             and ubuntu-xenial (give --target debian-bookworm to verify these recipes there)"
        ))
    })?;
    let mut stack = match kind {
        RootKind::Debian(_) => None,
        RootKind::Xenial => {
            let dir = opts.stack.clone().unwrap_or_else(stack::default_dir);
            let user_units = recipes[0]
                .profile
                .vendor_units
                .iter()
                .filter(|v| v.scope == crate::unit::Scope::User)
                .map(|v| v.unit.clone())
                .collect();
            Some(stack::Stack::xenial(&dir, &arch, user_units)?)
        }
    };
    let systemd_version = recipes[0].profile.systemd;
    prerequisites()?;
    let slow = emulation(&arch)?;
    report.arch = arch.clone();
    report.target = profile.to_string();
    report.packages = recipes.iter().map(|r| r.package.name.clone()).collect();
    let helper = find_helper(opts, &arch)?;
    let way = install::choose(recipes, opts.install);
    report.install = way.describe();

    let packages = tempfile::Builder::new()
        .prefix("unitpack-verify-debs-")
        .tempdir()
        .map_err(|e| Error::io("making a temporary directory", e))?;
    let built = build(&pipeline, packages.path())?;
    let helper_inside = format!("{}/unitpack-check.deb", container::PACKAGES_DIR);
    copy_helper(&helper, &packages.path().join("unitpack-check.deb"))?;
    let installer = install::Installer::new(&install::Setup {
        way,
        packages_dir: packages.path(),
        first: &built.first,
        upgrade: &built.upgrade,
        helper: &helper_inside,
        names: &report.packages,
        gpgv1: stack.is_some(),
    })?;
    lap(&mut report, "build");

    if let Some(s) = &mut stack {
        s.hash()?;
    }
    let legacy_cgroups = stack.is_some();
    let spec = cache::RootSpec {
        // The board's stack goes over a Debian 12 userland, as in the e2e flows.
        suite: match kind {
            RootKind::Debian(suite) => suite,
            RootKind::Xenial => "bookworm",
        }
        .to_string(),
        arch: arch.clone(),
        mirror: MIRROR.to_string(),
        packages: root_packages(recipes, way, stack.is_some()),
        base: BASE_PACKAGES.iter().map(|s| s.to_string()).collect(),
        stack,
    };
    let root = cache::root(&spec).map_err(|e| install::name_the_recipe(e, recipes))?;
    report.cold = root.built;
    lap(&mut report, "root");

    let name = format!("unitpack-verify-{}", std::process::id());
    let _cgroup = container::Cgroup::enter(&name)?;
    let mut ct = container::Container::boot(&container::Boot {
        lower: &root.path,
        name: &name,
        packages: packages.path(),
        legacy_cgroups,
        limit: Duration::from_secs(60) * slow,
        emulated: arch != "amd64",
    })?;
    let plans = recipes.iter().map(Plan::new).collect::<Result<Vec<_>>>()?;
    let scenarios: Vec<Scenario> = plans.iter().map(Scenario::of).collect();
    let unit_files: Vec<String> = plans
        .iter()
        .flat_map(|p| p.files.iter())
        .filter(|f| matches!(f.role, Role::Unit { .. }))
        .map(|f| f.path.clone())
        .collect();
    let dropins: Vec<checks::DropIn> = recipes
        .iter()
        .flat_map(|r| r.dropins.iter())
        .map(|d| checks::DropIn {
            scope: d.scope,
            unit: d.unit.to_string(),
            name: d.name.clone(),
            restart: d.restart,
        })
        .collect();
    let names = report.packages.clone();
    let outcome = lifecycle(
        &mut checks::Checker {
            ct: &ct,
            report: &mut report,
            slow,
            systemd: systemd_version,
        },
        &Lifecycle {
            installer: &installer,
            scenarios: &scenarios,
            unit_files: &unit_files,
            dropins: &dropins,
            packages: &names,
            versions: recipes
                .iter()
                .map(|r| {
                    (
                        r.package.version.full(),
                        upgraded(&r.package.version).full(),
                    )
                })
                .collect(),
        },
        &mut |r: &mut Report, n| lap(r, n),
    );
    ct.stop();
    lap(&mut report, "stop");
    outcome?;
    exec::check_interrupt()?;
    Ok(report)
}

struct Lifecycle<'a> {
    installer: &'a install::Installer,
    scenarios: &'a [Scenario],
    unit_files: &'a [String],
    dropins: &'a [checks::DropIn],
    packages: &'a [String],
    /// (version 1, version 2) of each package.
    versions: Vec<(String, String)>,
}

/// boot → install → login → upgrade → remove → reinstall → purge, each step's checks
/// recorded; a step whose precondition failed ends the run (its checks say why).
fn lifecycle(
    c: &mut checks::Checker,
    l: &Lifecycle,
    lap: &mut dyn FnMut(&mut Report, &'static str),
) -> Result<()> {
    if !c.booted()? {
        return Ok(());
    }
    lap(c.report, "boot");
    if !l.installer.prepare(c)? {
        return Ok(());
    }
    let before = c.listing()?;
    let installed = |c: &mut checks::Checker, step, second: bool| -> Result<()> {
        for (p, (v1, v2)) in l.packages.iter().zip(&l.versions) {
            let v = if second { v2 } else { v1 };
            c.status(step, p, &format!("install ok installed {v}"))?;
        }
        for s in l.scenarios {
            c.enabled_and_running(step, s)?;
        }
        Ok(())
    };
    let pids = c.restart_pids(l.dropins)?;
    if !l.installer.install(c, "install", false)? {
        return Ok(());
    }
    installed(c, "install", false)?;
    c.dropins("install", Scope::System, l.dropins, true)?;
    c.restarted("install", l.dropins, &pids)?;
    lap(c.report, "install");
    let user_units = l.scenarios.iter().any(Scenario::has_user_units);
    let user_dropins = l.dropins.iter().any(|d| d.scope == Scope::User);
    if user_units || user_dropins {
        let all = l.scenarios.iter().fold(
            Scenario {
                package: String::new(),
                promises: Vec::new(),
                takeovers: Vec::new(),
                links: Vec::new(),
                seat: Vec::new(),
            },
            |mut all, s| {
                all.promises.extend(s.promises.iter().cloned());
                all
            },
        );
        let logged_in = c.login(&all)?;
        if logged_in {
            c.dropins("login", Scope::User, l.dropins, true)?;
            c.doctor("login", l.packages, Some(checks::UID))?;
            if user_units {
                c.second_login(&all)?;
            }
        }
        c.logout()?;
    } else {
        c.doctor("install", l.packages, None)?;
    }
    lap(c.report, "login");
    let seat: Vec<scenario::SeatPromise> = l
        .scenarios
        .iter()
        .flat_map(|s| s.seat.iter().cloned())
        .collect();
    if !seat.is_empty() {
        c.seat("seat", &seat)?;
        lap(c.report, "seat");
    }
    let bound: Vec<&scenario::Promise> = l
        .scenarios
        .iter()
        .flat_map(Scenario::bound_to_root)
        .collect();
    if !bound.is_empty() {
        c.root_login("root-login", &bound)?;
        lap(c.report, "root-login");
    }
    let disabled = c.admin_disable("upgrade", l.scenarios)?;
    let upgraded = l.installer.install(c, "upgrade", true)?;
    if upgraded {
        c.admin_disable_kept("upgrade", &disabled)?;
        installed(c, "upgrade", true)?;
    }
    lap(c.report, "upgrade");
    let pids = c.restart_pids(l.dropins)?;
    let connections = c.connect("remove", l.scenarios)?;
    if l.installer.remove(c, "remove", "-r")? {
        for p in l.packages {
            c.status("remove", p, "deinstall ok config-files")?;
        }
        for s in l.scenarios {
            c.stopped("remove", s, l.unit_files)?;
        }
        c.dropins("remove", Scope::System, l.dropins, false)?;
        c.restarted("remove", l.dropins, &pids)?;
        c.connections_stopped("remove", &connections)?;
    }
    lap(c.report, "remove");
    if l.installer.install(c, "reinstall", true)? {
        installed(c, "reinstall", true)?;
    }
    lap(c.report, "reinstall");
    if l.installer.remove(c, "purge", "-P")? {
        for p in l.packages {
            c.status("purge", p, "")?;
        }
        for s in l.scenarios {
            c.nothing_left(&before, s)?;
        }
    }
    lap(c.report, "purge");
    Ok(())
}

/// Every recipe targets the same profile, and its packages run on `arch`.
fn check_targets<'r>(recipes: &'r [Recipe], arch: &str) -> Result<&'r str> {
    let first = recipes.first().ok_or_else(|| {
        Error::Refused("verify: no recipe given (name recipe files or directories)".into())
    })?;
    let profile = first.profile.name.as_str();
    for r in recipes {
        if r.profile.name != profile {
            return Err(Error::Refused(format!(
                "{} targets {} and {} targets {}: verify boots one target at a time (give --target)",
                first.path.display(),
                profile,
                r.path.display(),
                r.profile.name
            )));
        }
        let a = r.package.architecture.as_str();
        if a != "all" && a != arch {
            return Err(Error::Refused(format!(
                "{}: package.architecture is {a}, the run is for {arch} (give --arch {a})",
                r.path.display()
            )));
        }
    }
    Ok(profile)
}

/// The architectures verify boots: the host's, and armhf under qemu-user.
const ARCHES: &[&str] = &["amd64", "armhf"];

/// The run's architecture: `--arch`, else the one the recipes' packages are built for
/// (`package.architecture` other than `all`), else amd64.
fn arch_of(recipes: &[Recipe], given: Option<&str>) -> Result<String> {
    let arch = match given {
        Some(a) => a.to_string(),
        None => recipes
            .iter()
            .map(|r| r.package.architecture.as_str())
            .find(|a| *a != "all")
            .unwrap_or("amd64")
            .to_string(),
    };
    if !ARCHES.contains(&arch.as_str()) {
        return Err(Error::Refused(format!(
            "verify boots {} roots, not {arch}",
            ARCHES.join(" and ")
        )));
    }
    Ok(arch)
}

/// How much slower than native the root runs (timeouts and the "stays up" window are
/// multiplied by it): 1 on the host's architecture; for armhf, 4 under qemu-user (as
/// the e2e flows), which must be registered with binfmt_misc and its fix-binary flag
/// (`F`: the interpreter is opened on the host, so it works inside the root without a
/// copy of qemu there). verify does not register it itself: that is a change to the
/// host outside its cache.
fn emulation(arch: &str) -> Result<u32> {
    if arch == "amd64" {
        return Ok(1);
    }
    binfmt(arch, Path::new("/proc/sys/fs/binfmt_misc/qemu-arm"))?;
    Ok(4)
}

/// qemu-arm's binfmt_misc `entry` is there, enabled and fix-binary.
fn binfmt(arch: &str, entry: &Path) -> Result<()> {
    let how = "install qemu-user-static (`apt-get install qemu-user-static`, which registers \
               qemu-arm with binfmt_misc), or register it now with `systemctl restart \
               systemd-binfmt` (or write /usr/lib/binfmt.d/qemu-arm.conf's line into \
               /proc/sys/fs/binfmt_misc/register)";
    let text = crate::input::read_text(entry, 4096).map_err(|_| {
        Error::Refused(format!(
            "verify --arch {arch} runs the root under qemu-user, and qemu-arm is not \
             registered with binfmt_misc ({} is missing): {how}",
            entry.display()
        ))
    })?;
    let problem = if !text.lines().any(|l| l == "enabled") {
        Some("is disabled")
    } else if !text
        .lines()
        .any(|l| l.strip_prefix("flags: ").is_some_and(|f| f.contains('F')))
    {
        Some("lacks the fix-binary flag F (the root holds no qemu of its own)")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(Error::Refused(format!(
            "verify --arch {arch} runs the root under qemu-user, and qemu-arm's binfmt_misc \
             entry ({}) {problem}: {how}",
            entry.display()
        )));
    }
    Ok(())
}

/// The version an upgrade is tested with: above the recipe's in dpkg's order.
fn upgraded(v: &crate::recipe::Version) -> crate::recipe::Version {
    let mut v = v.clone();
    match &mut v.revision {
        Some(r) => r.push_str("+verify1"),
        None => v.upstream.push_str("+verify1"),
    }
    v
}

/// Build version 1 through the pipeline, and version 2 of the same plans through the
/// same `.deb` writer (its check first, as the pipeline does).
fn build(pipeline: &Pipeline, out_dir: &Path) -> Result<Built> {
    let mtime = crate::input::source_date_epoch()?;
    let debs = Debs {
        out_dir,
        mtime,
        jobs: 1,
        finished: &|_| {},
    };
    let first = pipeline
        .write(&debs)?
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let next: Vec<Recipe> = pipeline
        .recipes()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.package.version = upgraded(&r.package.version);
            r
        })
        .collect();
    let plans = next.iter().map(Plan::new).collect::<Result<Vec<_>>>()?;
    let errors = debs.check(&plans)?;
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    let upgrade = debs
        .write(&plans)?
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let inside = |paths: Vec<PathBuf>| {
        paths
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    container::PACKAGES_DIR,
                    p.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default()
                )
            })
            .collect()
    };
    Ok(Built {
        first: inside(first),
        upgrade: inside(upgrade),
    })
}

/// The root's packages: the base, and what the recipes depend on (first alternative,
/// no version), so that dpkg finds every dependency installed and a recipe that
/// forgot one (dbus-user-session for a user bus) fails as it would on a device. apt
/// on the board's stack verifies with gpgv 1.4, Debian's gpgv1.
fn root_packages(recipes: &[Recipe], way: install::Way, board: bool) -> Vec<String> {
    let built: Vec<&str> = recipes.iter().map(|r| r.package.name.as_str()).collect();
    let mut out: Vec<String> = BASE_PACKAGES.iter().map(|s| s.to_string()).collect();
    for r in recipes {
        for dep in &r.package.relations.depends {
            let name = dep
                .split('|')
                .next()
                .unwrap_or("")
                .split(|c: char| c == '(' || c == ':' || c.is_whitespace())
                .find(|s| !s.is_empty())
                .unwrap_or("");
            if !name.is_empty() && name != deb::HELPER_PACKAGE && !built.contains(&name) {
                out.push(name.to_string());
            }
        }
    }
    if way == install::Way::Apt && board {
        out.push(install::GPGV1_PACKAGE.to_string());
    }
    out.sort();
    out.dedup();
    out
}

/// The helper package for the run's architecture.
fn find_helper(opts: &Options, arch: &str) -> Result<PathBuf> {
    if let Some(h) = &opts.helper {
        return Ok(h.clone());
    }
    let dir = std::env::var_os("UNITPACK_CHECK_DEBS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/unitpack-check"));
    let suffix = format!("_{arch}.deb");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with("unitpack-check_") && f.ends_with(&suffix))
        })
        .collect();
    found.sort();
    found.pop().ok_or_else(|| Error::Missing {
        what: format!(
            "no unitpack-check_*{suffix} in {} (the helper every package's postinst runs)",
            dir.display()
        ),
        how: "build it with scripts/cross-build (writes target/unitpack-check/), or give --helper FILE.deb or UNITPACK_CHECK_DEBS=DIR".into(),
    })
}

fn copy_helper(from: &Path, to: &Path) -> Result<()> {
    let what = || format!("reading the helper package {}", from.display());
    let mut src = crate::input::open_regular(from).map_err(|e| Error::io(what(), e))?;
    let mut dst =
        std::fs::File::create(to).map_err(|e| Error::io(format!("writing {}", to.display()), e))?;
    std::io::copy(&mut src, &mut dst).map_err(|e| Error::io(what(), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--target` offers exactly the profiles verify has a root for.
    #[test]
    fn bootable_profiles_have_roots() {
        for name in BOOTABLE {
            assert!(root_of(name).is_some(), "{name}");
            assert!(crate::profile::find(name).is_some(), "{name}");
        }
        let others = crate::profile::names();
        let rooted = others.iter().filter(|n| root_of(n).is_some()).count();
        assert_eq!(rooted, BOOTABLE.len());
    }

    #[test]
    fn armhf_needs_qemu_arm_registered_enabled_and_fix_binary() {
        let d = tempfile::tempdir().unwrap();
        let entry = d.path().join("qemu-arm");
        let refused = |why: &str| {
            let e = binfmt("armhf", &entry).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            let text = e.to_string();
            assert!(
                text.contains(why) && text.contains("apt-get install qemu-user-static"),
                "{text}"
            );
        };
        refused("is missing");
        let ok =
            "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\nflags: POF\noffset 0\n";
        std::fs::write(&entry, ok.replace("enabled", "disabled")).unwrap();
        refused("is disabled");
        std::fs::write(&entry, ok.replace("POF", "PO")).unwrap();
        refused("lacks the fix-binary flag F");
        std::fs::write(&entry, ok).unwrap();
        binfmt("armhf", &entry).unwrap();
    }

    #[test]
    fn the_upgrade_version_sorts_above() {
        let v = crate::recipe::Version {
            epoch: None,
            upstream: "1.0.0".into(),
            revision: Some("1".into()),
        };
        assert_eq!(upgraded(&v).full(), "1.0.0-1+verify1");
        let v = crate::recipe::Version {
            revision: None,
            ..v
        };
        assert_eq!(upgraded(&v).full(), "1.0.0+verify1");
    }
}
