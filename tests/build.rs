//! Building the seed recipes and reading the packages back with Debian's own tools.

mod common;

use common::*;
use std::io::Read;
use std::path::Path;

const SEEDS: &[(&str, &str)] = &[
    ("pulseaudio-user.yaml", "my-pulseaudio-user"),
    ("pulseaudio-root-path.yaml", "my-pulseaudio-root-path"),
];

#[test]
fn seeds_build_and_dpkg_reads_them() {
    let out = tempfile::tempdir().unwrap();
    for (recipe, package) in SEEDS {
        let deb = build(&seed(recipe), out.path());
        assert_eq!(
            deb.file_name().unwrap().to_str().unwrap(),
            format!("{package}_1.0.0-1_all.deb")
        );
        let deb_s = deb.to_str().unwrap();
        let info = stdout("dpkg-deb", &["--info", deb_s]);
        assert!(info.contains(&format!("Package: {package}")), "{info}");
        assert_eq!(
            stdout("dpkg-deb", &["--field", deb_s, "Architecture"]).trim(),
            "all"
        );
        assert_eq!(
            stdout("dpkg-deb", &["--field", deb_s, "Version"]).trim(),
            "1.0.0-1"
        );
        let depends = stdout("dpkg-deb", &["--field", deb_s, "Depends"]);
        assert!(depends.contains("unitpack-check"), "{depends}");
        let contents = stdout("dpkg-deb", &["--contents", deb_s]);
        for line in contents.lines() {
            assert!(line.contains(" root/root "), "not owned by root: {line}");
        }
        assert!(
            contents.contains(&format!("./usr/share/doc/{package}/copyright")),
            "{contents}"
        );

        // Unit files inside are byte-equal to what `unitpack render` prints.
        let root = tempfile::tempdir().unwrap();
        stdout("dpkg-deb", &["-x", deb_s, root.path().to_str().unwrap()]);
        let rendered = unitpack().arg("render").arg(seed(recipe)).output().unwrap();
        assert!(rendered.status.success());
        let listing = String::from_utf8(rendered.stdout).unwrap();
        let unit_paths: Vec<&str> = listing
            .lines()
            .filter_map(|l| l.strip_prefix("==> ").and_then(|l| l.strip_suffix(" <==")))
            .filter(|p| p.contains("/systemd/"))
            .collect();
        assert!(!unit_paths.is_empty());
        for path in unit_paths {
            let expected = unitpack()
                .arg("render")
                .arg(seed(recipe))
                .args(["--only", path])
                .output()
                .unwrap();
            assert!(expected.status.success());
            let shipped = std::fs::read(root.path().join(path.trim_start_matches('/'))).unwrap();
            assert_eq!(shipped, expected.stdout, "{path} differs from render");
        }
    }
}

#[test]
fn user_seed_ships_units_where_xenial_looks() {
    let out = tempfile::tempdir().unwrap();
    let deb = build(&seed("pulseaudio-user.yaml"), out.path());
    let contents = stdout("dpkg-deb", &["--contents", deb.to_str().unwrap()]);
    assert!(
        contents.contains("./usr/lib/systemd/user/my_pulseaudio.service"),
        "{contents}"
    );
    let deb = build(&seed("pulseaudio-root-path.yaml"), out.path());
    let contents = stdout("dpkg-deb", &["--contents", deb.to_str().unwrap()]);
    assert!(
        contents.contains("./lib/systemd/system/my_pulseaudio.service"),
        "{contents}"
    );
}

#[test]
fn maintainer_scripts_pass_shellcheck() {
    let out = tempfile::tempdir().unwrap();
    // The seeds, and the recipes of the e2e tests (templates, timers, drop-ins, ...).
    let mut recipes: Vec<_> = SEEDS.iter().map(|(r, _)| seed(r)).collect();
    let mut e2e: Vec<_> = std::fs::read_dir(repo().join("tests/e2e/recipes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    e2e.sort();
    recipes.extend(e2e);
    for path in &recipes {
        let recipe = path.file_name().unwrap().to_str().unwrap();
        let deb = build(path, out.path());
        let control = out.path().join(format!("control-{recipe}"));
        stdout(
            "dpkg-deb",
            &["-e", deb.to_str().unwrap(), control.to_str().unwrap()],
        );
        for script in ["postinst", "prerm", "postrm"] {
            let path = control.join(script);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("#!/bin/sh\n"),
                "{script} is not a POSIX sh script"
            );
            assert!(text.contains("\nset -e\n"));
            let check = run(
                "shellcheck",
                &["-s", "sh", "-S", "style", path.to_str().unwrap()],
            );
            assert!(
                check.status.success(),
                "shellcheck {recipe} {script}:\n{}",
                String::from_utf8_lossy(&check.stdout)
            );
            // dash is the /bin/sh of Debian and Ubuntu: the script must at least parse.
            let parse = run("dash", &["-n", path.to_str().unwrap()]);
            assert!(parse.status.success(), "dash -n {script}");
        }
    }
}

#[test]
fn lintian_reports_no_errors_or_warnings() {
    let out = tempfile::tempdir().unwrap();
    let debs: Vec<String> = SEEDS
        .iter()
        .map(|(r, _)| build(&seed(r), out.path()).to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["--fail-on", "error,warning", "--no-tag-display-limit"];
    args.extend(debs.iter().map(String::as_str));
    let result = run("lintian", &args);
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "lintian:\n{text}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("E: ") || l.starts_with("W: ")),
        "{text}"
    );
}

/// Issue 25, item 1: what `unitpack new` writes builds a package that the docs/ci.md
/// pipeline's `lintian --fail-on error` accepts (it said extended-description-is-empty).
#[test]
fn a_new_recipe_passes_lintian_as_docs_ci_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("my-sync.yaml");
    let new = unitpack()
        .args(["new", "my-sync", "-o"])
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );
    let deb = build(&recipe, &dir.path().join("out"));
    let result = run("lintian", &["--fail-on", "error", deb.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "lintian:\n{text}");
    assert!(!text.lines().any(|l| l.starts_with("E: ")), "{text}");
}

#[test]
fn builds_are_reproducible_for_any_thread_count() {
    for (recipe, _) in SEEDS {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let da = build(&seed(recipe), a.path());
        let out = unitpack()
            .arg("build")
            .arg(seed(recipe))
            .arg("-o")
            .arg(b.path())
            .args(["-j", "1"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let db = b.path().join(da.file_name().unwrap());
        assert_eq!(sha256(&da), sha256(&db), "{recipe}: builds differ");

        // A different SOURCE_DATE_EPOCH must show in the bytes (the mtimes are real).
        let c = tempfile::tempdir().unwrap();
        let out = unitpack()
            .env("SOURCE_DATE_EPOCH", "1600000000")
            .arg("build")
            .arg(seed(recipe))
            .arg("-o")
            .arg(c.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_ne!(sha256(&da), sha256(&c.path().join(da.file_name().unwrap())));
    }
}

/// The container layout dpkg 1.18.4 reads: ar members in order, short names, GNU/ustar
/// tar headers without pax records, entries owned by root with the fixed mtime.
#[test]
fn archive_format_suits_dpkg_1_18_4() {
    let out = tempfile::tempdir().unwrap();
    let deb = build(&seed("pulseaudio-user.yaml"), out.path());
    let bytes = std::fs::read(&deb).unwrap();
    let mut archive = ar::Archive::new(bytes.as_slice());
    let mut names = Vec::new();
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8(entry.header().identifier().to_vec()).unwrap();
        assert!(name.len() <= 15, "{name}");
        assert_eq!(entry.header().mtime(), EPOCH.parse::<u64>().unwrap());
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == "debian-binary" {
            assert_eq!(data, b"2.0\n");
        } else {
            let mut tar_bytes = Vec::new();
            liblzma::read::XzDecoder::new(data.as_slice())
                .read_to_end(&mut tar_bytes)
                .unwrap();
            check_tar(&tar_bytes);
        }
        names.push(name);
    }
    assert_eq!(names, ["debian-binary", "control.tar.xz", "data.tar.xz"]);
}

fn check_tar(bytes: &[u8]) {
    let mut archive = tar::Archive::new(bytes);
    let mut previous = String::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        let kind = h.entry_type();
        assert!(
            matches!(kind, tar::EntryType::Regular | tar::EntryType::Directory),
            "unexpected entry type {kind:?}"
        );
        let path = String::from_utf8(entry.path_bytes().to_vec()).unwrap();
        assert!(path.starts_with("./"), "{path}");
        assert!(
            path > previous,
            "entries not sorted: {previous} then {path}"
        );
        previous = path;
        assert_eq!(h.uid().unwrap(), 0);
        assert_eq!(h.gid().unwrap(), 0);
        assert_eq!(h.username().unwrap(), Some("root"));
        assert_eq!(h.mtime().unwrap(), EPOCH.parse::<u64>().unwrap());
        // Numeric fields are octal text, never base-256 (dpkg < 1.18.24).
        let raw = h.as_bytes();
        for field in [
            &raw[100..108],
            &raw[108..116],
            &raw[116..124],
            &raw[124..136],
            &raw[136..148],
        ] {
            assert_eq!(
                field[0] & 0x80,
                0,
                "base-256 field in {}",
                entry.path().unwrap().display()
            );
        }
    }
}

#[test]
fn long_paths_use_gnu_long_names() {
    let long = "a".repeat(120);
    let text = format!(
        "{}assets:\n  - source: files\n    dest: /usr/share/demo-units/{long}\n",
        MINIMAL
    );
    let (dir, recipe) = recipe_dir(&text, &[("files/f.txt", "hello\n")]);
    let deb = build(&recipe, &dir.path().join("out"));
    let contents = stdout("dpkg-deb", &["--contents", deb.to_str().unwrap()]);
    assert!(
        contents.contains(&format!("./usr/share/demo-units/{long}/f.txt")),
        "{contents}"
    );
    let root = dir.path().join("root");
    stdout(
        "dpkg-deb",
        &["-x", deb.to_str().unwrap(), root.to_str().unwrap()],
    );
    let got =
        std::fs::read_to_string(root.join(format!("usr/share/demo-units/{long}/f.txt"))).unwrap();
    assert_eq!(got, "hello\n");
}

#[test]
fn assets_conffiles_and_modes() {
    let text = format!(
        "{}assets:\n  - source: conf\n    dest: /etc/demo\n  - source: bin/tool\n    dest: /usr/lib/demo/tool\n    mode: \"0755\"\n",
        MINIMAL
    );
    let (dir, recipe) = recipe_dir(
        &text,
        &[
            ("conf/a.conf", "a=1\n"),
            ("conf/sub/b.conf", "b=2\n"),
            ("bin/tool", "#!/bin/sh\n"),
        ],
    );
    let deb = build(&recipe, &dir.path().join("out"));
    let control = dir.path().join("control");
    stdout(
        "dpkg-deb",
        &["-e", deb.to_str().unwrap(), control.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles")).unwrap(),
        "/etc/demo/a.conf\n/etc/demo/sub/b.conf\n"
    );
    let md5sums = std::fs::read_to_string(control.join("md5sums")).unwrap();
    assert!(md5sums.contains("  etc/demo/sub/b.conf\n"), "{md5sums}");
    let contents = stdout("dpkg-deb", &["--contents", deb.to_str().unwrap()]);
    assert!(
        contents
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("./usr/lib/demo/tool")),
        "{contents}"
    );
    assert!(
        contents
            .lines()
            .any(|l| l.starts_with("-rw-r--r--") && l.ends_with("./etc/demo/a.conf")),
        "{contents}"
    );
    // md5sums agree with what dpkg extracts.
    let root = dir.path().join("root");
    stdout(
        "dpkg-deb",
        &["-x", deb.to_str().unwrap(), root.to_str().unwrap()],
    );
    let check = std::process::Command::new("md5sum")
        .arg("-c")
        .arg(control.join("md5sums"))
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let installed = stdout(
        "dpkg-deb",
        &["--field", deb.to_str().unwrap(), "Installed-Size"],
    );
    assert!(installed.trim().parse::<u64>().unwrap() > 0);
}

#[test]
fn gzip_compression_is_selectable() {
    let text = format!("{MINIMAL}compression: gzip\n");
    let (dir, recipe) = recipe_dir(&text, &[]);
    let deb = build(&recipe, &dir.path().join("out"));
    let info = stdout("dpkg-deb", &["--info", deb.to_str().unwrap()]);
    assert!(info.contains("Package: demo-units"));
    let listing = stdout("ar", &["t", deb.to_str().unwrap()]);
    assert_eq!(listing, "debian-binary\ncontrol.tar.gz\ndata.tar.gz\n");
}

#[test]
fn build_without_arguments_builds_every_shipped_recipe() {
    let out = tempfile::tempdir().unwrap();
    let output = unitpack()
        .arg("build")
        .arg("-o")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut built: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    built.sort();
    let recipes = std::fs::read_dir(repo().join("recipes")).unwrap().count();
    assert_eq!(built.len(), recipes, "{built:?}");
    assert!(built.iter().all(|f| f.ends_with(".deb")));
    assert!(Path::new(&out.path().join("my-pulseaudio-user_1.0.0-1_all.deb")).exists());
}

/// `helper:` puts unitpack-check in Depends (the default with units), Recommends, or
/// nowhere; a package without units does not pull it in.
#[test]
fn helper_relation_is_the_recipes_choice() {
    let field = |text: &str, name: &str| {
        let (dir, recipe) = recipe_dir(text, &[]);
        let deb = build(&recipe, &dir.path().join("out"));
        stdout("dpkg-deb", &["--field", deb.to_str().unwrap(), name])
    };
    assert_eq!(
        field(MINIMAL, "Depends").trim(),
        "dbus-user-session, unitpack-check"
    );
    let recommends = format!("{MINIMAL}helper: recommends\n");
    assert_eq!(field(&recommends, "Depends").trim(), "dbus-user-session");
    assert_eq!(field(&recommends, "Recommends").trim(), "unitpack-check");
    let none = format!("{MINIMAL}helper: none\n");
    let control = field(&none, "");
    assert!(!control.contains("unitpack-check"), "{control}");
    let no_units = MINIMAL.split("units:\n").next().unwrap().to_string();
    let control = field(&no_units, "");
    assert!(!control.contains("unitpack-check"), "{control}");
    let asked = format!("{no_units}helper: depends\n");
    assert!(field(&asked, "Depends").contains("unitpack-check"));
}

/// The author's script snippets are carried verbatim into the scripts, and shellcheck
/// findings in them fail the build with the snippet's file and line.
#[test]
fn script_snippets_are_spliced_and_shellchecked() {
    let text = format!("{MINIMAL}scripts:\n  postinst: hook.sh\n");
    let hook = "echo \"hello from $1\"\n\n  # kept as written   \n";
    let (dir, recipe) = recipe_dir(&text, &[("hook.sh", hook)]);
    let deb = build(&recipe, &dir.path().join("out"));
    let control = dir.path().join("control");
    stdout(
        "dpkg-deb",
        &["-e", deb.to_str().unwrap(), control.to_str().unwrap()],
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    let block = format!(
        "esac\n# The recipe's own postinst code, run by a sh of its own with dpkg's arguments.\n\
         unitpack_snippet=$(cat <<'UNITPACK_SNIPPET_END'\n{hook}UNITPACK_SNIPPET_END\n)\n\
         sh -c \"$unitpack_snippet\" \"$0\" \"$@\"\n"
    );
    assert!(postinst.contains(&block), "{postinst}");
    let prerm = std::fs::read_to_string(control.join("prerm")).unwrap();
    assert!(!prerm.contains("recipe's own"), "{prerm}");

    let bad = "unused=1\necho ok\n";
    let (dir, recipe) = recipe_dir(&text, &[("hook.sh", bad)]);
    let out = run_build(&recipe, &dir.path().join("out"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let hook_path = dir.path().join("hook.sh");
    assert!(
        stderr.contains(&format!(
            "{}:1:1: scripts.postinst: shellcheck: warning: unused appears unused",
            hook_path.display()
        )),
        "{stderr}"
    );
    assert!(
        !dir.path().join("out").exists()
            || std::fs::read_dir(dir.path().join("out"))
                .unwrap()
                .next()
                .is_none()
    );
}

/// The `.deb` format's own check, before anything is written: two plans that would
/// write the same file are refused with the second recipe's file, line and field.
#[test]
fn deb_format_refuses_two_packages_with_one_file_name() {
    use unitpack::format::Packager;
    let r = unitpack::recipe::load(&seed("pulseaudio-user.yaml"), None).unwrap();
    let again = unitpack::recipe::load(&seed("pulseaudio-user.yaml"), None).unwrap();
    let plans = vec![
        unitpack::plan::Plan::new(&r).unwrap(),
        unitpack::plan::Plan::new(&again).unwrap(),
    ];
    let out = tempfile::tempdir().unwrap();
    let debs = unitpack::deb::Debs {
        out_dir: out.path(),
        mtime: 0,
        jobs: 1,
        finished: &|_| {},
    };
    let errors = debs.check(&plans).unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "package.name");
    assert!(errors[0].location.is_some());
    assert!(
        errors[0].message.contains("would overwrite"),
        "{}",
        errors[0]
    );
    assert!(debs.check(&plans[..1]).unwrap().is_empty());
}
