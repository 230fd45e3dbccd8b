//! The unit-file targets (issue 21): `unitpack new NAME --from FILE` and `unitpack lint
//! --units DIR`, on unit files mutated the ways systemd's reader is sensitive to
//! (continuations, comments inside them, repeated sections, long lines, hidden
//! characters) and on files that are not regular (FIFOs, symlinks out, huge sparse
//! files). Invariants: `new` exits 0 or 2 and `lint --units` 0, 1 or 2 (never a
//! signal, a panic, a timeout or more than the RSS bound); `new` writes its recipe and
//! nothing else, and what it writes loads; nothing outside the output changes; a unit
//! that is not a regular file is reported by `lint --units`, never skipped.

use crate::rng::Rng;
use std::fs;
use std::path::{Path, PathBuf};

/// What the file named like a unit is.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Regular,
    Fifo,
    /// A symlink to the canary unit outside the directory.
    SymlinkOut,
    /// A sparse file of this many bytes.
    Sparse(u64),
}

#[derive(Clone, Debug)]
pub struct UnitCase {
    pub name: String,
    pub text: String,
    pub kind: Kind,
    pub history: Vec<String>,
}

/// Unit files to start from: the lint corpus's and a few of this machine's packages'.
pub fn seeds(repo: &Path) -> Vec<UnitCase> {
    let mut out = Vec::new();
    let mut dirs = vec![repo.join("tests/lint/units")];
    dirs.extend(["/lib/systemd/system", "/usr/lib/systemd/user"].map(PathBuf::from));
    for dir in dirs {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths.into_iter().take(40) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let regular = path.symlink_metadata().is_ok_and(|m| m.is_file());
            if !regular || !name.contains('.') {
                continue;
            }
            if let Ok(text) = fs::read_to_string(&path) {
                out.push(UnitCase {
                    name,
                    text,
                    kind: Kind::Regular,
                    history: Vec::new(),
                });
            }
        }
    }
    out.push(UnitCase {
        name: "two-sections.service".into(),
        text: "[Service]\nExecStart=/bin/true\n[Unit]\nDescription=x\n[Service]\nUser=nobody\n"
            .into(),
        kind: Kind::Regular,
        history: Vec::new(),
    });
    out
}

const INSERTS: &[&str] = &[
    " \\",
    "\\\\",
    "# comment \\",
    "; comment",
    "[Service]",
    "[Unit]",
    "[Install]\nWantedBy=multi-user.target",
    "\u{202e}",
    "\u{200b}",
    "\u{feff}",
    "\0",
    "\r",
    "\u{b}",
    "=",
    "User=root",
    "SocketMode=0o600",
    ".include /etc/passwd",
    "%",
];

const NAMES: &[&str] = &[
    "a.service",
    "a.socket",
    "a@.service",
    "a@b.service",
    "noext",
    "a.exe",
    ".service",
    "a b.service",
    "a\nb.service",
];

pub fn mutate(case: &mut UnitCase, rng: &mut Rng) {
    for _ in 0..1 + rng.below(3) {
        let mut lines: Vec<String> = case.text.split('\n').map(String::from).collect();
        let i = rng.below(lines.len());
        let done = match rng.below(12) {
            0 => {
                let ins = rng.word(INSERTS).to_string();
                lines.insert(i, ins.clone());
                format!("line {ins:?} inserted at {i}")
            }
            1 => {
                let ins = rng.word(INSERTS).to_string();
                lines[i].push_str(&ins);
                format!("{ins:?} appended to line {i}")
            }
            2 => {
                lines[i].push_str(" \\");
                lines.insert((i + 1).min(lines.len()), "# inside a continuation".into());
                format!("continuation then a comment at line {i}")
            }
            3 => {
                let l = lines[i].clone();
                lines.insert(i, l);
                format!("line {i} duplicated")
            }
            4 => {
                lines.remove(i);
                format!("line {i} deleted")
            }
            5 => {
                lines[i].push_str(&"x".repeat(1 + rng.below(5000)));
                format!("line {i} made long")
            }
            6 => {
                let n = 1 + rng.below(300);
                case.name = format!("{}.service", "n".repeat(n));
                format!("name of {n} characters")
            }
            7 => {
                case.name = rng.word(NAMES).to_string();
                format!("name {:?}", case.name)
            }
            8 => {
                case.kind = match rng.below(3) {
                    0 => Kind::Fifo,
                    1 => Kind::SymlinkOut,
                    _ => Kind::Sparse(320 << 20),
                };
                format!("file made {:?}", case.kind)
            }
            9 => {
                lines.truncate(i + 1);
                lines.push("Description=end \\".into());
                format!("continuation at the end after line {i}")
            }
            10 => {
                lines.insert(i, " \t ".into());
                format!("whitespace line at {i}")
            }
            _ => {
                let l = &mut lines[i];
                *l = format!("  {l}  ");
                format!("line {i} padded")
            }
        };
        case.text = lines.join("\n");
        case.history.push(done);
    }
}

/// Write the case into `dir` (its only file, beside nothing else); returns its path.
pub fn materialize(case: &UnitCase, dir: &Path, canary_unit: &Path) -> std::io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let name = if case.name.contains(['/', '\0']) || case.name.is_empty() {
        "bad-name.service".to_string()
    } else {
        case.name.clone()
    };
    let path = dir.join(name);
    match &case.kind {
        Kind::Regular => fs::write(&path, &case.text)?,
        Kind::Fifo => {
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Kind::SymlinkOut => std::os::unix::fs::symlink(canary_unit, &path)?,
        Kind::Sparse(len) => fs::File::create(&path)?.set_len(*len)?,
    }
    Ok(path)
}

/// systemd's unit-name grammar, as `lint --units` selects files (independently written).
pub fn named_like_a_unit(name: &str) -> bool {
    const TYPES: &[&str] = &[
        "service",
        "socket",
        "device",
        "mount",
        "automount",
        "swap",
        "target",
        "path",
        "timer",
        "slice",
        "scope",
    ];
    let Some((stem, suffix)) = name.rsplit_once('.') else {
        return false;
    };
    name.len() <= 255
        && TYPES.contains(&suffix)
        && !stem.is_empty()
        && !stem.starts_with(['.', '-', '@'])
        && stem.matches('@').count() <= 1
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '@'))
}
