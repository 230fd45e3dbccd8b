//! UC004: every program an Exec*= line runs exists under the root and is executable.

use super::{Ctx, Unit};
use crate::report::{Finding, Severity};
use crate::root::{is_executable_file, Root};
use crate::unitfile::exec_program;

pub const CODE: &str = "UC004";

const EXEC_KEYS: &[&str] = &[
    "ExecCondition",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPre",
    "ExecStopPost",
];

/// systemd ≥ 239 looks relative names up in this fixed list.
const SEARCH_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

pub fn check(ctx: &Ctx, units: &[Unit], out: &mut Vec<Finding>) {
    for u in units {
        let file = match &u.file {
            Some(f) => f,
            None => continue,
        };
        let name = Some(u.entry.name.as_str());
        let before = out.len();
        let mut checked = 0;
        for (_, key, value) in file.assignments(EXEC_KEYS) {
            let exec = match exec_program(value) {
                Some(e) => e,
                None => continue,
            };
            let prog = exec.program;
            // A missing program only fails the unit when its failure is not ignored.
            let severity = if exec.ignore_failure {
                Severity::Warning
            } else {
                Severity::Error
            };
            if prog.contains('%') || prog.contains('$') {
                out.push(Finding::new(
                    CODE,
                    Severity::Info,
                    name,
                    format!(
                        "{}={}: not checked (specifiers or variables are expanded at run time)",
                        key, prog
                    ),
                ));
                continue;
            }
            checked += 1;
            if !prog.starts_with('/') {
                out.push(relative(ctx.root, key, prog, severity, name));
                continue;
            }
            match ctx.root.metadata(prog) {
                Some(m) if is_executable_file(&m) => {}
                Some(m) if m.is_file() => out.push(
                    Finding::new(
                        CODE,
                        severity,
                        name,
                        format!("{}={} is not executable", key, prog),
                    )
                    .fix(format!(
                        "chmod 755 {} (or fix the package that ships it)",
                        prog
                    )),
                ),
                Some(_) => out.push(
                    Finding::new(
                        CODE,
                        severity,
                        name,
                        format!("{}={} is not a regular file", key, prog),
                    )
                    .fix(String::from("point the unit at the program itself")),
                ),
                None => out.push(
                    Finding::new(
                        CODE,
                        severity,
                        name,
                        format!("{}={} does not exist", key, prog),
                    )
                    .fix(format!("install the package that provides {}", prog)),
                ),
            }
        }
        if out.len() == before {
            out.push(Finding::new(
                CODE,
                Severity::Ok,
                name,
                format!("{} program(s) exist and are executable", checked),
            ));
        }
    }
}

fn relative(root: &Root, key: &str, prog: &str, severity: Severity, unit: Option<&str>) -> Finding {
    let found = SEARCH_PATH
        .iter()
        .map(|d| format!("{}/{}", d, prog))
        .find(|p| {
            root.metadata(p)
                .map(|m| is_executable_file(&m))
                .unwrap_or(false)
        });
    match found {
        Some(abs) => Finding::new(
            CODE,
            Severity::Warning,
            unit,
            format!(
                "{}={} is relative: systemd before 239 (229 on Ubuntu 16.04) needs an absolute path",
                key, prog
            ),
        )
        .fix(format!("use {}", abs)),
        None => Finding::new(
            CODE,
            severity,
            unit,
            format!(
                "{}={} is relative and not found in the search path; systemd before 239 (229 on Ubuntu 16.04) needs an absolute path",
                key, prog
            ),
        )
        .fix(String::from("use the absolute path of an installed program")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::design_a;
    use crate::checks::load_units;

    fn run(fr: &crate::testutil::FakeRoot, m: &crate::manifest::Manifest) -> Vec<Finding> {
        let root = fr.root();
        let units = load_units(&root, m);
        let mut out = Vec::new();
        check(&Ctx::new(&root, false, None), &units, &mut out);
        out
    }

    fn set_service(fr: &crate::testutil::FakeRoot, service: &str) {
        fr.write(
            "/usr/lib/systemd/user/my_pulseaudio.service",
            &format!("[Unit]\nDescription=x\n[Service]\n{}", service),
        );
    }

    #[test]
    fn present_program_is_ok() {
        let (fr, m) = design_a();
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Ok);
        assert_eq!(out[0].verdict, "1 program(s) exist and are executable");
    }

    #[test]
    fn missing_and_non_executable() {
        let (fr, m) = design_a();
        fr.write("/usr/bin/plain", "data");
        set_service(
            &fr,
            "ExecStartPre=-/usr/bin/gone\nExecStart=/usr/bin/plain\nExecStop=/usr/bin/missing --now\nExecStartPost=/usr\n",
        );
        let out = run(&fr, &m);
        let lines: Vec<String> = out.iter().map(|f| f.line()).collect();
        assert_eq!(
            lines,
            [
                "UC004 warning: my_pulseaudio.service: ExecStartPre=/usr/bin/gone does not exist (fix: install the package that provides /usr/bin/gone)",
                "UC004 error: my_pulseaudio.service: ExecStart=/usr/bin/plain is not executable (fix: chmod 755 /usr/bin/plain (or fix the package that ships it))",
                "UC004 error: my_pulseaudio.service: ExecStop=/usr/bin/missing does not exist (fix: install the package that provides /usr/bin/missing)",
                "UC004 error: my_pulseaudio.service: ExecStartPost=/usr is not a regular file (fix: point the unit at the program itself)",
            ]
        );
    }

    #[test]
    fn prefixes_are_stripped_and_links_followed_in_root() {
        let (fr, m) = design_a();
        fr.symlink("/usr/bin/pa-link", "/etc/alternatives/pa");
        fr.symlink("/etc/alternatives/pa", "/usr/bin/pulseaudio");
        set_service(&fr, "ExecStart=!!@/usr/bin/pa-link pa --daemonize=no\nExecStartPre=+-:/usr/bin/pulseaudio --check\n");
        let out = run(&fr, &m);
        assert_eq!(out.len(), 1, "{:?}", out);
        assert_eq!(out[0].verdict, "2 program(s) exist and are executable");
    }

    #[test]
    fn relative_programs() {
        let (fr, m) = design_a();
        set_service(
            &fr,
            "ExecStart=pulseaudio --start\nExecStop=nosuchprog\nExecStartPre=%h/bin/x\n",
        );
        let out = run(&fr, &m);
        assert_eq!(out.len(), 3, "{:?}", out);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[0].fix.as_deref(), Some("use /usr/bin/pulseaudio"));
        assert!(out[0].verdict.contains("systemd before 239"));
        assert_eq!(out[1].severity, Severity::Error);
        assert!(out[1]
            .verdict
            .starts_with("ExecStop=nosuchprog is relative and not found"));
        assert_eq!(out[2].severity, Severity::Info);
    }
}
