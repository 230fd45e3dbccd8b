//! The Debian package writer: payload + docs + control + maintainer scripts, packed
//! into a reproducible `.deb` and written atomically.

mod archive;
pub mod control;
pub mod docs;

pub use archive::compress;

use crate::error::{Error, Result};
use crate::plan::{self, PayloadFile};
use crate::recipe::Recipe;
use crate::scripts;
use md5::{Digest, Md5};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the helper package unit packages depend on.
pub const HELPER_PACKAGE: &str = "unitpack-check";

#[derive(Debug, Clone)]
pub struct Options {
    /// mtime of every entry (SOURCE_DATE_EPOCH).
    pub mtime: u64,
    /// Compressor threads; the output does not depend on it.
    pub threads: u32,
}

/// The files of the package: payload plus the docs Debian requires.
pub fn files(recipe: &Recipe, mtime: u64) -> Result<Vec<PayloadFile>> {
    let p = &recipe.package;
    let mut files = plan::payload(recipe)?;
    let doc = format!("/usr/share/doc/{}", p.name);
    files.push(PayloadFile {
        path: format!("{doc}/copyright"),
        data: docs::copyright(p, mtime).into_bytes(),
        mode: 0o644,
        conffile: false,
    });
    let recipe_name = recipe
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let changelog = docs::changelog(p, &recipe_name, mtime);
    let changelog_name = if p.version.revision.is_some() {
        "changelog.Debian.gz"
    } else {
        "changelog.gz"
    };
    files.push(PayloadFile {
        path: format!("{doc}/{changelog_name}"),
        data: compress(changelog.as_bytes(), crate::profile::Compression::Gzip, 1)?,
        mode: 0o644,
        conffile: false,
    });
    files.push(PayloadFile {
        path: format!("/usr/share/lintian/overrides/{}", p.name),
        data: docs::lintian_overrides(recipe).into_bytes(),
        mode: 0o644,
        conffile: false,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// `Depends:` of the package: the recipe's, plus the helper its postinst calls.
pub fn depends(recipe: &Recipe) -> Vec<String> {
    let mut d = recipe.package.relations.depends.clone();
    if recipe.package.name != HELPER_PACKAGE
        && !d
            .iter()
            .any(|r| r.split([' ', '(']).next() == Some(HELPER_PACKAGE))
    {
        d.push(HELPER_PACKAGE.to_string());
    }
    d
}

/// `NAME_VERSION_ARCH.deb` (no epoch, as dpkg-deb names it).
pub fn file_name(recipe: &Recipe) -> String {
    let p = &recipe.package;
    format!(
        "{}_{}_{}.deb",
        p.name,
        p.version.for_filename(),
        p.architecture
    )
}

/// The bytes of the package.
pub fn build(recipe: &Recipe, opts: &Options) -> Result<Vec<u8>> {
    let files = files(recipe, opts.mtime)?;

    // data.tar: every parent directory once, then files, in path order.
    let mut dirs = BTreeSet::new();
    for f in &files {
        let mut p = Path::new(&f.path).parent();
        while let Some(d) = p {
            dirs.insert(d.to_string_lossy().trim_start_matches('/').to_string());
            p = d.parent();
        }
    }
    let mut paths: Vec<(String, Option<&PayloadFile>)> =
        dirs.into_iter().map(|d| (d, None)).collect();
    paths.extend(
        files
            .iter()
            .map(|f| (f.path.trim_start_matches('/').to_string(), Some(f))),
    );
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    let data_entries: Vec<archive::Entry> = paths
        .iter()
        .map(|(path, file)| archive::Entry {
            path: path.clone(),
            kind: match file {
                None => archive::EntryKind::Dir,
                Some(f) => archive::EntryKind::File {
                    data: &f.data,
                    mode: f.mode,
                },
            },
        })
        .collect();
    let data_tar = archive::tar(&data_entries, opts.mtime)?;

    // control.tar: control, md5sums, conffiles, scripts.
    let ndirs = paths.iter().filter(|(_, f)| f.is_none()).count() as u64;
    let installed_size = files
        .iter()
        .map(|f| (f.data.len() as u64).div_ceil(1024))
        .sum::<u64>()
        + ndirs;
    let control = control::control(&recipe.package, &depends(recipe), installed_size);
    let md5sums: String = files
        .iter()
        .map(|f| {
            format!(
                "{:x}  {}\n",
                Md5::digest(&f.data),
                f.path.trim_start_matches('/')
            )
        })
        .collect();
    let conffiles: String = files
        .iter()
        .filter(|f| f.conffile)
        .map(|f| format!("{}\n", f.path))
        .collect();
    let scripts = scripts::render(recipe);
    let mut control_files: Vec<(String, Vec<u8>, u32)> = vec![
        ("control".into(), control.into_bytes(), 0o644),
        ("md5sums".into(), md5sums.into_bytes(), 0o644),
    ];
    if !conffiles.is_empty() {
        control_files.push(("conffiles".into(), conffiles.into_bytes(), 0o644));
    }
    for s in scripts {
        control_files.push((s.name.to_string(), s.text.into_bytes(), 0o755));
    }
    control_files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut control_entries = vec![archive::Entry {
        path: String::new(),
        kind: archive::EntryKind::Dir,
    }];
    control_entries.extend(
        control_files
            .iter()
            .map(|(name, data, mode)| archive::Entry {
                path: name.clone(),
                kind: archive::EntryKind::File { data, mode: *mode },
            }),
    );
    let control_tar = archive::tar(&control_entries, opts.mtime)?;

    let c = recipe.compression;
    let control_member = format!("control.tar.{}", c.extension());
    let data_member = format!("data.tar.{}", c.extension());
    let control_z = compress(&control_tar, c, 1)?;
    let data_z = compress(&data_tar, c, opts.threads)?;
    archive::ar(
        &[
            ("debian-binary", b"2.0\n"),
            (&control_member, &control_z),
            (&data_member, &data_z),
        ],
        opts.mtime,
    )
}

/// Build the package into `out_dir`, atomically: a temporary file in the same
/// directory, renamed into place only when complete.
pub fn write(recipe: &Recipe, out_dir: &Path, opts: &Options) -> Result<PathBuf> {
    let bytes = build(recipe, opts)?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let dest = out_dir.join(file_name(recipe));
    let mut tmp = tempfile::Builder::new()
        .prefix(".unitpack-")
        .suffix(".deb.tmp")
        .tempfile_in(out_dir)
        .map_err(|e| {
            Error::io(
                format!("creating a temporary file in {}", out_dir.display()),
                e,
            )
        })?;
    tmp.write_all(&bytes)
        .map_err(|e| Error::io("writing package", e))?;
    set_mode(tmp.as_file(), 0o644)?;
    tmp.persist(&dest)
        .map_err(|e| Error::io(format!("renaming into {}", dest.display()), e.error))?;
    Ok(dest)
}

fn set_mode(file: &std::fs::File, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("setting package permissions", e))
}
