//! The author's maintainer-script snippets cannot break their slot (issue 21, classes 3
//! and 4): hostile snippets run in the generated scripts under dash, in a root given as
//! DPKG_ROOT (as `dpkg --root --force-script-chrootless` runs them), and unitpack's own
//! steps after the snippet still run. systemctl is a stub that fails, so the scripts
//! make the links themselves, and nothing outside the root is touched.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const VENDOR_LINK: &str = "etc/systemd/user/default.target.wants/pulseaudio.service";
const VENDOR_TARGET: &str = "/usr/lib/systemd/user/pulseaudio.service";
const OWN_LINK: &str = "etc/systemd/user/default.target.wants/my_pulseaudio.service";

/// The seed recipe (a user unit taking over Debian's pulseaudio units) with `prerm:`
/// and `postinst:` snippets; its maintainer scripts as rendered, by name.
fn scripts_with(prerm: &str, postinst: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(seed("pulseaudio-user.yaml")).unwrap()
        + "scripts:\n  prerm: prerm.sh\n  postinst: postinst.sh\n";
    let (dir, recipe) = recipe_dir(&text, &[("prerm.sh", prerm), ("postinst.sh", postinst)]);
    let recipe = unitpack::recipe::load(&recipe, None).unwrap();
    let plan = unitpack::plan::Plan::new(&recipe).unwrap();
    drop(dir);
    unitpack::deb::scripts::render(&plan)
        .into_iter()
        .map(|s| (s.name.to_string(), s.text))
        .collect()
}

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// A root with Debian's pulseaudio enabled for every user, and a bin/ of stubs.
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let link = root.join(VENDOR_LINK);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(VENDOR_TARGET, &link).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        // systemctl fails as it would without a systemd: the scripts' own links then.
        let stub = bin.join("systemctl");
        std::fs::write(&stub, "#!/bin/sh\nexit 1\n").unwrap();
        Command::new("chmod").arg("+x").arg(&stub).status().unwrap();
        Sandbox { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Run SCRIPT with ARGS under dash; its exit status and stderr.
    fn run(&self, scripts: &[(String, String)], script: &str, args: &[&str]) -> (bool, String) {
        let (_, text) = scripts.iter().find(|(n, _)| n == script).unwrap();
        let path = self.dir.path().join(script);
        std::fs::write(&path, text).unwrap();
        let out = Command::new("dash")
            .arg(&path)
            .args(args)
            .env("DPKG_ROOT", self.root())
            .env(
                "PATH",
                format!(
                    "{}:/usr/sbin:/usr/bin:/sbin:/bin",
                    self.dir.path().join("bin").display()
                ),
            )
            .output()
            .expect("dash runs (apt-get install dash)");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn link(&self, rel: &str) -> Option<String> {
        std::fs::read_link(self.root().join(rel))
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("log")).unwrap_or_default()
    }
}

/// Snippets that end, reconfigure or redefine the script around them, were they run in
/// it: each runs in its own sh, and the take-over is still undone after it.
#[test]
fn hostile_snippets_leave_unitpacks_steps_running() {
    let logging = "echo \"$0 $*\" >> \"$DPKG_ROOT/log\"\n";
    let hostile = [
        "exit 0\n",
        "set +e\nexit 0\n",
        "unitpack_restore() { :; }\nunitpack_remove_links() { :; }\n",
        "trap 'exit 0' EXIT\nexec 3>&1\n",
        // The here-document's default delimiter as a line of the snippet.
        ": <<'UNITPACK_SNIPPET_END'\nx\nUNITPACK_SNIPPET_END\nexit 0\n",
        "cd /\nUNITPACK_ROOT=/nonexistent\nUNITPACK_STATE=/nonexistent\nexport UNITPACK_ROOT\n",
    ];
    for snippet in hostile {
        let scripts = scripts_with(
            &format!("{logging}{snippet}"),
            &format!("{logging}{snippet}"),
        );
        let sandbox = Sandbox::new();
        let (ok, err) = sandbox.run(&scripts, "postinst", &["configure", ""]);
        assert!(ok, "{snippet:?}: postinst failed: {err}");
        assert_eq!(sandbox.link(VENDOR_LINK), None, "{snippet:?}: take-over");
        assert_eq!(
            sandbox.link(OWN_LINK).as_deref(),
            Some("/usr/lib/systemd/user/my_pulseaudio.service"),
            "{snippet:?}: postinst enabled its unit"
        );

        let (ok, err) = sandbox.run(&scripts, "prerm", &["remove"]);
        assert!(ok, "{snippet:?}: prerm failed: {err}");
        assert_eq!(
            sandbox.link(VENDOR_LINK).as_deref(),
            Some(VENDOR_TARGET),
            "{snippet:?}: the prerm's own step after the snippet (restore the vendor unit) did not run"
        );
        let (ok, err) = sandbox.run(&scripts, "postrm", &["purge"]);
        assert!(ok, "{snippet:?}: postrm failed: {err}");
        assert_eq!(sandbox.link(OWN_LINK), None, "{snippet:?}: purge");
        assert!(!sandbox.root().join("var/lib/unitpack").exists());
        // The snippets ran, each once, with dpkg's arguments and the script's $0.
        let log = sandbox.log();
        let lines: Vec<_> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{snippet:?}: {log}");
        assert!(lines[0].ends_with("/postinst configure "), "{log}");
        assert!(lines[1].ends_with("/prerm remove"), "{log}");
    }
}

/// Unbalanced parentheses (`:` `)` `exit 0` `(` `:` escaped the subshell of unitpack
/// 0.1): now a syntax error of the snippet's own sh, which fails the script (dpkg
/// reports it) instead of skipping unitpack's steps in silence.
#[test]
fn unbalanced_snippet_fails_instead_of_ending_the_script() {
    let snippet = ":\n)\nexit 0\n(\n:\n";
    let scripts = scripts_with(snippet, "true\n");
    let sandbox = Sandbox::new();
    let (ok, _) = sandbox.run(&scripts, "postinst", &["configure", ""]);
    assert!(ok);
    let (ok, err) = sandbox.run(&scripts, "prerm", &["remove"]);
    assert!(!ok, "prerm with a broken snippet succeeded: {err}");
    // And the build refuses it first, naming the file (shellcheck on the snippet alone).
    let text = std::fs::read_to_string(seed("pulseaudio-user.yaml")).unwrap()
        + "scripts:\n  prerm: prerm.sh\n";
    let (dir, recipe) = recipe_dir(&text, &[("prerm.sh", snippet)]);
    let out = run_build(&recipe, &dir.path().join("out"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2:", dir.path().join("prerm.sh").display())),
        "{stderr}"
    );
}

/// A snippet's file name is never written into a script: a newline in it cannot put
/// shell there.
#[test]
fn snippet_file_name_is_not_written() {
    let name = "hook\nexit 0\n#.sh";
    let text = std::fs::read_to_string(seed("pulseaudio-user.yaml")).unwrap()
        + "scripts:\n  prerm: \"hook\\nexit 0\\n#.sh\"\n";
    let (dir, recipe) = recipe_dir(&text, &[(name, "true\n")]);
    match unitpack::recipe::load(&recipe, None) {
        Ok(recipe) => {
            let plan = unitpack::plan::Plan::new(&recipe).unwrap();
            for script in unitpack::deb::scripts::render(&plan) {
                assert!(!script.text.contains("hook"), "{}", script.text);
                assert!(!script.text.contains("\nexit 0\n#"), "{}", script.text);
            }
        }
        // Refused as a file name is fine too, with the field named.
        Err(e) => assert!(e.to_string().contains("scripts.prerm"), "{e}"),
    }
    drop(dir);
}

/// Snippets are bounded before they are read and before shellcheck: a sparse 1 GiB
/// file is refused at once, naming it.
#[test]
fn oversized_snippet_refused_before_reading() {
    let text = format!("{MINIMAL}scripts:\n  postinst: hook.sh\n");
    let (dir, recipe) = recipe_dir(&text, &[("hook.sh", "")]);
    let hook = dir.path().join("hook.sh");
    std::fs::File::options()
        .write(true)
        .open(&hook)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let started = std::time::Instant::now();
    let out = run_build(&recipe, &dir.path().join("out"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&hook.display().to_string()) && stderr.contains("scripts.postinst"),
        "{stderr}"
    );
    assert!(stderr.contains("64 KiB"), "{stderr}");
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    // Just under the bound is accepted.
    let ok = "true\n".repeat(64 * 1024 / 5 - 1);
    std::fs::write(&hook, &ok).unwrap();
    assert!(Path::new(&hook).metadata().unwrap().len() <= 64 * 1024);
    build(&recipe, &dir.path().join("out"));
}
