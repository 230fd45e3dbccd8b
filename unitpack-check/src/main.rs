//! unitpack-check: tells whether the systemd units a unitpack package installed
//! can work on this system. Std only, so that it builds static and small for armhf.

// Size on the board: the helper's own C `main` (below) replaces std's start-up,
// whose stack-guard probe links ~53 KB of static glibc (see rt.rs).
#![cfg_attr(not(test), no_main)]

mod checks;
mod manifest;
mod report;
mod root;
mod rt;
mod seat;
mod unitfile;
mod wait;

#[cfg(test)]
mod testutil;

use checks::Ctx;
use manifest::{Manifest, MANIFEST_DIR};
use report::{Finding, PackageReport, Severity};
use root::Root;
use std::io::Write;
use std::time::Duration;

const VERSION: &str = env!("CARGO_PKG_VERSION");

const HELP: &str = "\
unitpack-check: check that the systemd units of unitpack packages can work here

Usage:
  unitpack-check postinst PACKAGE [--root DIR] [--uid UID] [--json]
      Run every check for one installed package (called by its postinst).
      Prints warnings and errors to stderr. Exits 0, unless the package's
      manifest says `strict 1` and an error-level check failed: then exits 1.
  unitpack-check doctor [--root DIR] [--uid UID] [--json] [PACKAGE...]
      Report every check for every installed unitpack package (or the ones
      named). Exits 1 if any check found an error, else 0.
  unitpack-check wait-runtime-dir [--timeout S] [--uid UID] [--root DIR]
      For ExecStartPre=: wait up to S seconds (default 5, decimals allowed)
      until /run/user/UID exists and is owned by UID (default: the caller).
      Exits 1 with the likely cause when it does not.
  unitpack-check follow-seat UNIT [--seat SEAT] [--interval MS] [--root DIR]
                             [--systemctl PROGRAM] [--once]
      Run the user unit UNIT only in the manager of the user whose session is the
      active local (not remote) session of SEAT (default seat0), and move it when
      that changes (a system service made by unitpack for `follow: seat`). Runs
      until SIGTERM, then stops the unit it started. --once: reconcile and exit.
  unitpack-check --version | --help

Options:
  --root DIR   read every path under DIR (a chroot, an image, a test root)
  --uid UID    also check /run/user/UID (doctor, postinst), or wait for it
  --json       machine-readable output on stdout

Checks (stable codes):
  UC000  the package's manifest (/usr/share/unitpack/PACKAGE/manifest) is well-formed
  UC001  systemd is PID 1 (/run/systemd/system); if not, runtime checks are skipped
  UC002  logind: systemd-logind installed, pam_systemd in the PAM session stack,
         /run/user and /run/user/UID present at runtime (needed by user units)
  UC003  a Requires=/Wants=/After= on dbus.service or dbus.socket is satisfiable in
         the unit's own scope (user units need dbus-user-session on Debian/Ubuntu)
  UC004  every Exec*= program exists and is executable (absolute paths for systemd 229)
  UC005  the enable symlinks exist and point at the unit; the unit is not masked
  UC006  no other enabled unit of the same scope runs the same program; units the
         package takes over are disabled
  UC007  the unit files listed in the manifest are installed
  UC008  files skipped unread: FIFOs, devices, sockets, files over 1 MiB, unit
         directories over 4096 entries (never opened, so the helper cannot hang)

Exit status: 0 success, 1 check failure (see above), 2 usage error.
";

struct Args {
    command: String,
    root: String,
    json: bool,
    uid: Option<u32>,
    timeout: Option<Duration>,
    positional: Vec<String>,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        command: String::new(),
        root: String::from("/"),
        json: false,
        uid: None,
        timeout: None,
        positional: Vec::new(),
    };
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        let (opt, inline) = match arg.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (arg, None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            argv.get(i)
                .cloned()
                .ok_or(format!("{} needs a value", name))
        };
        match opt {
            "--help" | "-h" => a.command = String::from("help"),
            "--version" | "-V" => a.command = String::from("version"),
            "--json" => a.json = true,
            "--root" => a.root = value("--root")?,
            "--uid" => {
                let v = value("--uid")?;
                a.uid = Some(
                    v.parse()
                        .map_err(|_| format!("--uid: `{}` is not a number", v))?,
                );
            }
            "--timeout" => {
                let v = value("--timeout")?;
                a.timeout = Some(
                    wait::parse_timeout(&v)
                        .ok_or(format!("--timeout: `{}` is not a number of seconds", v))?,
                );
            }
            o if o.starts_with('-') && o.len() > 1 => return Err(format!("unknown option {}", o)),
            _ if a.command.is_empty() => a.command = arg.to_string(),
            _ => a.positional.push(arg.to_string()),
        }
        i += 1;
    }
    if a.root.is_empty() {
        return Err(String::from("--root needs a directory"));
    }
    Ok(a)
}

/// The C entry point (`#![no_main]`): std's start-up does not run, `rt` does what of
/// it the helper needs.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: std::ffi::c_int, argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    rt::init();
    // SAFETY: argc and argv are C's.
    let code = match unsafe { rt::args(argc, argv) } {
        // A panic ends the process as it would from std's `main`: 101 (with
        // panic = "abort", as for the armhf build, it aborts before this).
        Ok(argv) => std::panic::catch_unwind(|| command(&argv)).unwrap_or(101),
        Err(e) => usage_error(&e),
    };
    std::process::exit(code);
}

#[cfg_attr(test, allow(dead_code))]
fn command(argv: &[String]) -> i32 {
    // follow-seat is a long-running service with options of its own.
    if argv.first().map(String::as_str) == Some("follow-seat") {
        return match seat::parse_args(&argv[1..]) {
            Ok(o) => seat::run(o),
            Err(e) => usage_error(&e),
        };
    }
    match parse_args(argv) {
        Ok(a) => run(a),
        Err(e) => usage_error(&e),
    }
}

fn usage_error(msg: &str) -> i32 {
    eprintln!("unitpack-check: {}\nTry `unitpack-check --help`.", msg);
    2
}

fn run(a: Args) -> i32 {
    let reads_root = matches!(
        a.command.as_str(),
        "postinst" | "doctor" | "wait-runtime-dir"
    );
    if reads_root && !std::path::Path::new(&a.root).is_dir() {
        return usage_error(&format!("--root {}: not a directory", a.root));
    }
    match a.command.as_str() {
        "help" => {
            print!("{}", HELP);
            0
        }
        "version" => {
            println!("unitpack-check {}", VERSION);
            0
        }
        "postinst" => match a.positional.as_slice() {
            [pkg] => postinst(&a, pkg),
            _ => usage_error("postinst needs exactly one PACKAGE"),
        },
        "doctor" => doctor(&a),
        "wait-runtime-dir" => {
            if !a.positional.is_empty() {
                return usage_error("wait-runtime-dir takes no arguments");
            }
            let uid = match a.uid.or_else(root::caller_uid) {
                Some(u) => u,
                None => return usage_error("cannot tell the caller's uid; pass --uid"),
            };
            let timeout = a.timeout.unwrap_or(Duration::from_secs(5));
            match wait::wait(&Root::new(&a.root), uid, timeout) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("unitpack-check: {}", e);
                    1
                }
            }
        }
        "" => usage_error("missing command (postinst, doctor or wait-runtime-dir)"),
        other => usage_error(&format!("unknown command `{}`", other)),
    }
}

fn valid_package_name(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('.')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// Reads and parses PACKAGE's manifest under the root.
fn load(root: &Root, package: &str) -> Result<Manifest, String> {
    let path = manifest::manifest_path(package);
    if !valid_package_name(package) {
        return Err(format!("`{}` is not a valid package name", package));
    }
    let text = root.read_to_string(&path).map_err(|e| {
        if e.is_skip() {
            format!("{} {}", path, e)
        } else {
            format!(
                "cannot read {}: {} (is {} an installed unitpack package?)",
                path, e, package
            )
        }
    })?;
    let m = manifest::parse(&text, &path).map_err(|e| e.to_string())?;
    if m.package != package {
        return Err(format!(
            "{}: names package `{}`, not `{}`",
            path, m.package, package
        ));
    }
    Ok(m)
}

fn check_package(ctx: &Ctx, package: &str) -> (PackageReport, bool) {
    match load(ctx.root, package) {
        Ok(m) => (
            PackageReport {
                package: package.to_string(),
                findings: checks::run_package(ctx, &m),
            },
            m.strict,
        ),
        Err(e) => (
            PackageReport {
                package: package.to_string(),
                findings: vec![Finding::new("UC000", Severity::Error, None, e).fix(format!(
                    "reinstall {} (its manifest is written by unitpack)",
                    package
                ))],
            },
            false,
        ),
    }
}

fn postinst(a: &Args, package: &str) -> i32 {
    let root = Root::new(&a.root);
    let running = checks::systemd::is_running(&root);
    let ctx = Ctx::new(&root, running, a.uid);
    let (report, strict) = check_package(&ctx, package);
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for f in &report.findings {
        if f.severity >= Severity::Warning {
            let _ = writeln!(err, "unitpack-check: {}", f.line());
        }
    }
    if a.json {
        let mut s = String::new();
        report::json_package(&mut s, &report, running);
        println!("{}", s);
    }
    let errors = report.count(Severity::Error);
    if strict && errors > 0 {
        let _ = writeln!(
            err,
            "unitpack-check: {}: {} error(s) and the package asks for strict checks (manifest `strict 1`): failing its configuration; fix the errors above, then run `dpkg --configure -a`",
            package, errors
        );
        return 1;
    }
    0
}

fn doctor(a: &Args) -> i32 {
    let root = Root::new(&a.root);
    let running = checks::systemd::is_running(&root);
    let ctx = Ctx::new(&root, running, a.uid);
    let mut packages = a.positional.clone();
    if packages.is_empty() {
        packages = root
            .list_dir(MANIFEST_DIR)
            .into_iter()
            .filter(|p| root.exists(&manifest::manifest_path(p)))
            .collect();
    }
    root::sort_by_key(&mut packages, |p| p.as_str());
    packages.dedup();
    let reports: Vec<PackageReport> = packages.iter().map(|p| check_package(&ctx, p).0).collect();
    let errors: usize = reports.iter().map(|r| r.count(Severity::Error)).sum();
    let warnings: usize = reports.iter().map(|r| r.count(Severity::Warning)).sum();

    let mut out = String::new();
    if a.json {
        out = report::json_doctor(&reports, running);
        out.push('\n');
    } else {
        out.push_str("unitpack-check ");
        out.push_str(VERSION);
        out.push_str(" doctor, root ");
        out.push_str(&root.display());
        out.push('\n');
        if reports.is_empty() {
            out.push_str("no unitpack package is installed (no ");
            out.push_str(MANIFEST_DIR);
            out.push_str("/*/manifest)\n");
        }
        for r in &reports {
            out.push('\n');
            out.push_str(&r.package);
            out.push_str(":\n");
            for f in &r.findings {
                out.push_str("  ");
                out.push_str(&f.line());
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "\nsummary: {} package(s), {} error(s), {} warning(s)\n",
            reports.len(),
            errors,
            warnings
        ));
    }
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let _ = lock.write_all(out.as_bytes());
    let _ = lock.flush();
    if errors > 0 {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Result<Args, String> {
        parse_args(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_options_in_any_order() {
        let a = args(&["doctor", "--root=/mnt", "b", "--json", "--uid", "1000", "a"]).unwrap();
        assert_eq!(a.command, "doctor");
        assert_eq!(a.root, "/mnt");
        assert!(a.json);
        assert_eq!(a.uid, Some(1000));
        assert_eq!(a.positional, ["b", "a"]);
        let a = args(&["wait-runtime-dir", "--timeout", "0.5"]).unwrap();
        assert_eq!(a.timeout, Some(Duration::from_millis(500)));
    }

    #[test]
    fn rejects_bad_options() {
        assert_eq!(
            args(&["doctor", "--bogus"]).err().unwrap(),
            "unknown option --bogus"
        );
        assert_eq!(
            args(&["doctor", "--root"]).err().unwrap(),
            "--root needs a value"
        );
        assert!(args(&["doctor", "--uid", "me"])
            .err()
            .unwrap()
            .contains("not a number"));
        assert!(args(&["wait-runtime-dir", "--timeout", "soon"]).is_err());
    }

    #[test]
    fn package_names() {
        assert!(valid_package_name("my-pulseaudio-user"));
        assert!(valid_package_name("libfoo2.0+x"));
        assert!(!valid_package_name("../etc"));
        assert!(!valid_package_name("a/b"));
        assert!(!valid_package_name(""));
    }

    #[test]
    fn load_reports_missing_and_mismatched_manifests() {
        let (fr, _) = checks::fixtures::design_a();
        let root = fr.root();
        assert!(load(&root, "my-pulseaudio-user").is_ok());
        let e = load(&root, "nothere").unwrap_err();
        assert!(
            e.starts_with("cannot read /usr/share/unitpack/nothere/manifest"),
            "{}",
            e
        );
        fr.write(
            "/usr/share/unitpack/other/manifest",
            "format\t1\npackage\tsomething\n",
        );
        let e = load(&root, "other").unwrap_err();
        assert!(
            e.contains("names package `something`, not `other`"),
            "{}",
            e
        );
        fr.write(
            "/usr/share/unitpack/bad/manifest",
            "format\t1\npackage\tbad\nlink\t/a\n",
        );
        let e = load(&root, "bad").unwrap_err();
        assert_eq!(e, "/usr/share/unitpack/bad/manifest:3: `link` record needs 2 TAB-separated fields, found 1");
    }
}
