//! One test case: a recipe (as a tree, or as text once mangled at byte level)
//! and the files beside it, including what git cannot hold (FIFOs, huge sparse
//! files), which `materialize` makes and a saved reproducer's `fixtures.sh` remakes.

use crate::yaml::Node;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug)]
pub enum Fixture {
    File {
        path: String,
        bytes: Vec<u8>,
        exec: bool,
    },
    Dir {
        path: String,
    },
    Symlink {
        path: String,
        target: String,
    },
    Fifo {
        path: String,
    },
    Sparse {
        path: String,
        len: u64,
    },
}

impl Fixture {
    pub fn path(&self) -> &str {
        match self {
            Fixture::File { path, .. }
            | Fixture::Dir { path }
            | Fixture::Symlink { path, .. }
            | Fixture::Fifo { path }
            | Fixture::Sparse { path, .. } => path,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    /// `None` once the text was mutated below the YAML level.
    pub tree: Option<Node>,
    pub text: String,
    pub fixtures: Vec<Fixture>,
    /// The file name of the recipe (itself hostile sometimes).
    pub recipe_name: String,
    /// `yocto -o` gets a directory that is not a unitpack layer.
    pub foreign_layer: bool,
    /// Where the case came from (seed file and mutations), for the report.
    pub history: Vec<String>,
}

impl Case {
    pub fn set_tree(&mut self, tree: Node) {
        self.text = tree.emit();
        self.tree = Some(tree);
    }

    /// Writes the recipe and its fixtures into `dir` (which must not exist).
    pub fn materialize(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        for f in &self.fixtures {
            let p = dir.join(f.path());
            if !p.starts_with(dir) || f.path().split('/').any(|c| c == "..") {
                continue;
            }
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)?;
            }
            let _ = fs::remove_file(&p);
            match f {
                Fixture::File { bytes, exec, .. } => {
                    fs::write(&p, bytes)?;
                    if *exec {
                        fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
                    }
                }
                Fixture::Dir { .. } => fs::create_dir_all(&p)?,
                Fixture::Symlink { target, .. } => std::os::unix::fs::symlink(target, &p)?,
                Fixture::Fifo { .. } => {
                    let ok = Command::new("mkfifo").arg(&p).status()?.success();
                    if !ok {
                        return Err(io::Error::other("mkfifo failed"));
                    }
                }
                Fixture::Sparse { len, .. } => fs::File::create(&p)?.set_len(*len)?,
            }
        }
        fs::write(dir.join(&self.recipe_name), &self.text)
    }

    /// A reproducer: the recipe and regular fixtures as files, the rest made by
    /// `fixtures.sh`, and how to run it.
    pub fn save(&self, dir: &Path, readme: &str) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut script = String::from(
            "#!/bin/sh\n# Makes the fixtures git cannot hold. Run in this directory.\nset -e\n",
        );
        for f in &self.fixtures {
            match f {
                Fixture::Fifo { path } => script.push_str(&format!("rm -f '{path}'; mkdir -p \"$(dirname '{path}')\"; mkfifo '{path}'\n")),
                Fixture::Sparse { path, len } => script.push_str(&format!("rm -f '{path}'; mkdir -p \"$(dirname '{path}')\"; truncate -s {len} '{path}'\n")),
                Fixture::Symlink { path, target } => script.push_str(&format!("rm -f '{path}'; mkdir -p \"$(dirname '{path}')\"; ln -s '{target}' '{path}'\n")),
                _ => {}
            }
        }
        let regular: Vec<Fixture> = self
            .fixtures
            .iter()
            .filter(|f| matches!(f, Fixture::File { .. } | Fixture::Dir { .. }))
            .cloned()
            .collect();
        let plain = Case {
            fixtures: regular,
            ..self.clone()
        };
        plain.materialize(dir)?;
        fs::write(dir.join("fixtures.sh"), script)?;
        fs::write(dir.join("README.txt"), readme)?;
        fs::write(
            dir.join("recipe-name.txt"),
            format!("{:?}\n", self.recipe_name),
        )
    }
}
