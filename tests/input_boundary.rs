//! One trust boundary (issue 21): every byte from outside comes in through
//! `src/input.rs` (bounded, no symlink followed, no FIFO waited on). This test scans the
//! sources for the calls that open or list files and fails on any outside
//! `src/input.rs` that is not on the list below with its reason, naming each offender
//! by file, line and call.

mod common;

use std::collections::BTreeMap;

/// Calls that open, read or list a file or directory.
const OPENERS: &[&str] = &[
    "File::open(",
    "fs::read(",
    "fs::read_to_string(",
    "OpenOptions::new()",
    "fs::read_dir(",
    "WalkDir::new(",
    "fs::read_link(",
    "fs::copy(",
];

/// Allowed outside src/input.rs: (file, call, how many, why). Each is an output writer
/// or a listing of names whose files are then read through src/input.rs.
const ALLOWED: &[(&str, &str, usize, &str)] = &[
    (
        "src/scaffold.rs",
        "OpenOptions::new()",
        1,
        "writes the new recipe (create_new: never replaces a file); output",
    ),
    (
        "src/scaffold.rs",
        "fs::read_dir(",
        1,
        "lists a `new --from` directory by readdir types (no symlink followed); each unit is read by input::read_text",
    ),
    (
        "src/recipe/set.rs",
        "fs::read_dir(",
        1,
        "lists a directory of recipes named on the command line; each recipe is read by input::read_text",
    ),
    (
        "src/lint/mod.rs",
        "fs::read_dir(",
        1,
        "lists a `lint --units` directory by readdir types (no symlink followed); each unit is read by input::read_text",
    ),
    (
        "src/recipe/validate/assets.rs",
        "WalkDir::new(",
        1,
        "lists an asset directory (walkdir follows no symlink); each file is checked by input::open_regular and packaged through it (plan.rs)",
    ),
    (
        "src/repo/mod.rs",
        "fs::read_dir(",
        3,
        "lists repository directories that `inside` resolved with no symlink followed (emptiness, pool and index names); every file is then read through crate::input",
    ),
    (
        "src/repo/mod.rs",
        "OpenOptions::new()",
        1,
        "opens the repository directory itself (O_DIRECTORY) to hold its flock; no byte is read",
    ),
    (
        "src/repo/stage.rs",
        "OpenOptions::new()",
        1,
        "opens its own staged output file to date it after the file it replaces; output",
    ),
    (
        "src/repo/cleanup.rs",
        "fs::read_dir(",
        1,
        "lists the temporary directory for private GnuPG homes a killed `repo add` left (its own, by owner and name prefix); nothing in them is read",
    ),
    (
        "src/yocto/helper.rs",
        "WalkDir::new(",
        1,
        "lists the `--helper DIR` crate's src/ (no symlink followed, anything but a regular file refused); each file is read through crate::input",
    ),
    (
        "src/verify/container.rs",
        "fs::read_to_string(",
        2,
        "kernel interfaces, not files from outside: /proc/self/cgroup and a /proc/PID/status while finding the container's PID 1",
    ),
    (
        "src/verify/container.rs",
        "fs::read_dir(",
        2,
        "lists /proc and the launcher's own cgroup directory (kernel interfaces) to find and clean up the container's processes",
    ),
    (
        "src/verify/mod.rs",
        "fs::read_dir(",
        1,
        "lists the helper's build directory for unitpack-check_*_ARCH.deb; the package is copied into the container by path, never read here",
    ),
    (
        "src/verify/stack.rs",
        "fs::read_dir(",
        2,
        "lists the board stack's directory for the vendor builds' names, and walks a build's tree to hash it; each file is read by input::open_regular",
    ),
    (
        "src/verify/stack.rs",
        "fs::read_link(",
        1,
        "a link's target in a vendor build's tree, hashed into the cached root's key; never followed",
    ),
    (
        "src/yocto/mod.rs",
        "fs::read_dir(",
        1,
        "lists the output directory `yocto -o` would replace; output",
    ),
];

/// (file, call) → the lines that make it, test modules and comments left out.
fn sites() -> BTreeMap<(String, String), Vec<usize>> {
    let root = common::repo();
    let mut found: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root.join("src")).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == "src/input.rs" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start() == "#[cfg(test)]" {
                break; // unit tests read their own fixtures
            }
            let code = line.split("//").next().unwrap_or("");
            for opener in OPENERS {
                let n = code.matches(opener).count();
                for _ in 0..n {
                    found
                        .entry((rel.clone(), opener.to_string()))
                        .or_default()
                        .push(i + 1);
                }
            }
        }
    }
    found
}

#[test]
fn only_the_input_module_opens_input() {
    let found = sites();
    let mut offenders = Vec::new();
    for ((file, call), lines) in &found {
        let allowed = ALLOWED
            .iter()
            .find(|(f, c, _, _)| f == file && c == call)
            .map(|a| a.2);
        if allowed != Some(lines.len()) {
            for line in lines {
                offenders.push(format!(
                    "{file}:{line}: {call}… (allowed here: {})",
                    allowed.unwrap_or(0)
                ));
            }
        }
    }
    for (file, call, n, _) in ALLOWED {
        if !found.contains_key(&(file.to_string(), call.to_string())) {
            offenders.push(format!(
                "{file}: {call}… is listed ({n}) but no longer there: remove it from the list"
            ));
        }
    }
    assert!(
        offenders.is_empty(),
        "files opened outside src/input.rs (read through crate::input instead, or list an output writer with its reason):\n{}",
        offenders.join("\n")
    );
}

/// The scan finds what it looks for (it would pass vacuously if the patterns drifted
/// from how the code is written).
#[test]
fn the_scan_sees_the_known_sites() {
    let found = sites();
    assert!(found.contains_key(&("src/scaffold.rs".into(), "OpenOptions::new()".into())));
    assert!(found.contains_key(&("src/recipe/set.rs".into(), "fs::read_dir(".into())));
    let input = std::fs::read_to_string(common::repo().join("src/input.rs")).unwrap();
    assert!(input.contains("OpenOptions::new()"));
}
