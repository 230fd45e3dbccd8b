//! The Debian package writer: payload + docs + control + maintainer scripts, packed
//! into a reproducible `.deb` and written atomically.

pub mod control;
pub mod docs;
pub mod scripts;
mod templates;

use crate::archive::{self, compress};

use crate::error::{Error, InputError, Result};
use crate::format::Packager;
use crate::plan::{Content, PayloadFile, Plan, Role};
use crate::recipe::HelperRelation;

use md5::{Digest, Md5};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

/// Name of the helper package unit packages depend on.
pub use unitpack_manifest::HELPER_PACKAGE;

#[derive(Debug, Clone)]
pub struct Options {
    /// mtime of every entry (SOURCE_DATE_EPOCH).
    pub mtime: u64,
    /// Compressor threads; the output does not depend on it.
    pub threads: u32,
}

/// The files of the package: the plan's payload plus the docs Debian requires
/// (`scripts`: the maintainer scripts, which decide the lintian overrides).
pub fn files(plan: &Plan, scripts: &[scripts::Script], mtime: u64) -> Result<Vec<PayloadFile>> {
    let p = plan.package();
    let mut files = plan.files.clone();
    let doc = format!("/usr/share/doc/{}", p.name);
    files.push(PayloadFile {
        path: format!("{doc}/copyright"),
        data: docs::copyright(p, mtime).into(),
        mode: 0o644,
        conffile: false,
        role: Role::Doc,
    });
    let changelog = docs::changelog(p, &plan.source_name(), mtime);
    let changelog_name = if p.version.revision.is_some() {
        "changelog.Debian.gz"
    } else {
        "changelog.gz"
    };
    files.push(PayloadFile {
        path: format!("{doc}/{changelog_name}"),
        data: compress(changelog.as_bytes(), crate::profile::Compression::Gzip, 1)?.into(),
        mode: 0o644,
        conffile: false,
        role: Role::Doc,
    });
    files.push(PayloadFile {
        path: format!("/usr/share/lintian/overrides/{}", p.name),
        data: docs::lintian_overrides(plan, scripts).into(),
        mode: 0o644,
        conffile: false,
        role: Role::Doc,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// `Depends:` and `Recommends:` of the package: the recipe's, plus the helper its
/// postinst calls where the recipe's `helper:` puts it.
pub fn relations(plan: &Plan) -> (Vec<String>, Vec<String>) {
    let r = &plan.package().relations;
    let (mut depends, mut recommends) = (r.depends.clone(), r.recommends.clone());
    let named = |list: &[String]| {
        list.iter()
            .any(|r| r.split([' ', '(']).next() == Some(HELPER_PACKAGE))
    };
    if plan.package().name != HELPER_PACKAGE && !named(&depends) && !named(&recommends) {
        match plan.helper() {
            HelperRelation::Depends => depends.push(HELPER_PACKAGE.to_string()),
            HelperRelation::Recommends => recommends.push(HELPER_PACKAGE.to_string()),
            HelperRelation::None => {}
        }
    }
    (depends, recommends)
}

/// `NAME_VERSION_ARCH.deb` (no epoch, as dpkg-deb names it).
/// The control file checked as it will be written, byte for byte: one field a line,
/// no line break or control character a value could smuggle in.
fn control_as_written(plan: &Plan) -> Option<InputError> {
    let package = plan.package();
    let mut depends = package.relations.depends.clone();
    depends.push(HELPER_PACKAGE.to_string());
    let text = control::control(package, &depends, &package.relations.recommends, 0);
    let (field, message) = control::check(&text).err()?;
    let recipe_field = match field.as_str() {
        "Package" => "package.name".to_string(),
        "Description" => "package.description".to_string(),
        f => format!("package.{}", f.to_ascii_lowercase()),
    };
    Some(plan.refuse(&recipe_field, format!("in the control file: {message}")))
}

pub fn file_name(plan: &Plan) -> String {
    let p = plan.package();
    format!(
        "{}_{}_{}.deb",
        p.name,
        p.version.for_filename(),
        p.architecture
    )
}

/// Build the package into `out_dir`, streaming: files → tar → compressor → an
/// unnamed temporary file, then the ar container → a temporary file in the same
/// directory, renamed into place only when complete. Memory does not grow with the
/// payload: assets are read in chunks, and the compressed data (whose size ar needs
/// before it) waits on disk, not in memory.
pub fn write(plan: &Plan, out_dir: &Path, opts: &Options) -> Result<PathBuf> {
    let scripts = scripts::render(plan);
    let files = files(plan, &scripts, opts.mtime)?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let data = data_member(&files, plan.compression(), out_dir, opts)?;
    let control = control_member(plan, &files, &data, scripts, opts.mtime)?;

    let c = plan.compression();
    let dest = out_dir.join(file_name(plan));
    let tmp = tempfile::Builder::new()
        .prefix(".unitpack-")
        .suffix(".deb.tmp")
        .tempfile_in(out_dir)
        .map_err(|e| temp_file_error(out_dir, e))?;
    let DataMember {
        file: mut data_z,
        len: data_z_len,
        ..
    } = data;
    let mut ar = archive::Ar::new(BufWriter::new(tmp.as_file()), opts.mtime);
    ar.append("debian-binary", 4, &b"2.0\n"[..])?;
    ar.append(
        &format!("control.tar.{}", c.extension()),
        control.len() as u64,
        &control[..],
    )?;
    ar.append(
        &format!("data.tar.{}", c.extension()),
        data_z_len,
        &mut data_z,
    )?;
    ar.finish()?
        .flush()
        .map_err(|e| Error::io("writing package", e))?;
    set_mode(tmp.as_file(), 0o644)?;
    tmp.persist(&dest)
        .map_err(|e| Error::io(format!("renaming into {}", dest.display()), e.error))?;
    Ok(dest)
}

/// data.tar, compressed, in an unnamed temporary file (rewound), with what the
/// control member needs to know of it.
struct DataMember {
    file: std::fs::File,
    len: u64,
    /// `md5sums` lines: digest and path of each file, in tar order.
    md5sums: String,
    /// Directories in the tar (each counts 1 KiB in Installed-Size, as dpkg-gencontrol
    /// counts them).
    dirs: u64,
}

fn data_member(
    files: &[PayloadFile],
    c: crate::profile::Compression,
    out_dir: &Path,
    opts: &Options,
) -> Result<DataMember> {
    // Every parent directory once, then files, in path order.
    let mut dirs = BTreeSet::new();
    for f in files {
        let mut p = Path::new(&f.path).parent();
        while let Some(d) = p {
            dirs.insert(d.to_string_lossy().trim_start_matches('/').to_string());
            p = d.parent();
        }
    }
    let ndirs = dirs.len() as u64;
    let mut entries: Vec<archive::Entry> = dirs
        .into_iter()
        .map(|path| archive::Entry {
            path,
            kind: archive::EntryKind::Dir,
        })
        .chain(files.iter().map(|f| archive::Entry {
            path: f.path.trim_start_matches('/').to_string(),
            kind: archive::EntryKind::File {
                data: &f.data,
                mode: f.mode,
            },
        }))
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));

    let mut digests = vec![Md5::new(); entries.len()];
    let spool = tempfile::tempfile_in(out_dir).map_err(|e| temp_file_error(out_dir, e))?;
    let mut z = archive::Compressor::new(
        BufWriter::with_capacity(SPOOL_BUFFER, spool),
        c,
        archive::tar_len(&entries),
        opts.threads,
    )?;
    archive::write_tar(&entries, opts.mtime, &mut z, |i, bytes| {
        digests[i].update(bytes)
    })?;
    let mut file = z
        .finish()?
        .into_inner()
        .map_err(|e| Error::io("writing package", e.into_error()))?;
    let len = file
        .stream_position()
        .map_err(|e| Error::io("writing package", e))?;
    file.rewind().map_err(|e| Error::io("writing package", e))?;
    let md5sums = entries
        .iter()
        .zip(digests)
        .filter(|(e, _)| matches!(e.kind, archive::EntryKind::File { .. }))
        .map(|(e, digest)| format!("{:x}  {}\n", digest.finalize(), e.path))
        .collect();
    Ok(DataMember {
        file,
        len,
        md5sums,
        dirs: ndirs,
    })
}

/// control.tar, compressed: control, md5sums, conffiles, the maintainer scripts.
fn control_member(
    plan: &Plan,
    files: &[PayloadFile],
    data: &DataMember,
    scripts: Vec<scripts::Script>,
    mtime: u64,
) -> Result<Vec<u8>> {
    let installed_size = files
        .iter()
        .map(|f| f.data.len().div_ceil(1024))
        .sum::<u64>()
        + data.dirs;
    let (depends, recommends) = relations(plan);
    let control = control::control(plan.package(), &depends, &recommends, installed_size);
    let conffiles: String = files
        .iter()
        .filter(|f| f.conffile)
        .map(|f| format!("{}\n", f.path))
        .collect();
    let mut control_files: Vec<(String, Content, u32)> = vec![
        ("control".into(), control.into(), 0o644),
        ("md5sums".into(), data.md5sums.clone().into(), 0o644),
    ];
    if !conffiles.is_empty() {
        control_files.push(("conffiles".into(), conffiles.into(), 0o644));
    }
    for s in scripts {
        control_files.push((s.name.to_string(), s.text.into(), 0o755));
    }
    control_files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut entries = vec![archive::Entry {
        path: String::new(),
        kind: archive::EntryKind::Dir,
    }];
    entries.extend(
        control_files
            .iter()
            .map(|(name, data, mode)| archive::Entry {
                path: name.clone(),
                kind: archive::EntryKind::File { data, mode: *mode },
            }),
    );
    let mut tar = Vec::with_capacity(archive::tar_len(&entries) as usize);
    archive::write_tar(&entries, mtime, &mut tar, |_, _| {})?;
    compress(&tar, plan.compression(), 1)
}

fn temp_file_error(out_dir: &Path, e: std::io::Error) -> Error {
    Error::io(
        format!("creating a temporary file in {}", out_dir.display()),
        e,
    )
}

/// The `.deb` format: one package per plan, written into `out_dir`, `jobs` at a time
/// (the compressor threads of one package share the jobs left); `finished` is told of
/// each package when it is written (or failed), for a progress count that means done.
/// The bytes never depend on `jobs`.
pub struct Debs<'a> {
    pub out_dir: &'a Path,
    /// mtime of every entry (SOURCE_DATE_EPOCH).
    pub mtime: u64,
    pub jobs: u32,
    pub finished: &'a (dyn Fn(&Plan) + Sync),
}

impl Packager for Debs<'_> {
    /// The result of each plan, in the order of the plans: every package is attempted.
    type Written = Vec<Result<PathBuf>>;

    /// No two packages would be written to the same file (the compression was checked
    /// against the target's dpkg when the recipe loaded), and the author's script
    /// snippets pass shellcheck inside the maintainer scripts they land in.
    fn check(&self, plans: &[Plan]) -> Result<Vec<InputError>> {
        let mut errors = Vec::new();
        for plan in plans {
            errors.extend(control_as_written(plan));
            match scripts::check_snippets(plan.snippets()) {
                Ok(()) => {}
                Err(crate::Error::Input(mut found)) => errors.append(&mut found),
                Err(other) => return Err(other),
            }
        }
        let mut names: BTreeMap<String, &Path> = BTreeMap::new();
        for plan in plans {
            if let Some(first) = names.insert(file_name(plan), plan.source()) {
                errors.push(plan.refuse(
                    "package.name",
                    format!(
                        "{} would overwrite the package of {}",
                        file_name(plan),
                        first.display()
                    ),
                ));
            }
        }
        Ok(errors)
    }

    fn write(&self, plans: &[Plan]) -> Result<Self::Written> {
        Ok(write_all(
            plans,
            self.out_dir,
            self.mtime,
            self.jobs,
            self.finished,
        ))
    }
}

fn write_all(
    plans: &[Plan],
    out_dir: &Path,
    mtime: u64,
    jobs: u32,
    finished: &(dyn Fn(&Plan) + Sync),
) -> Vec<Result<PathBuf>> {
    let workers = (jobs as usize).clamp(1, plans.len().max(1));
    let opts = Options {
        mtime,
        threads: (jobs / workers as u32).max(1),
    };
    if workers == 1 {
        return plans
            .iter()
            .map(|plan| {
                let written = write(plan, out_dir, &opts);
                finished(plan);
                written
            })
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<PathBuf>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(plan) = plans.get(i) else {
                            return done;
                        };
                        let written = write(plan, out_dir, &opts);
                        finished(plan);
                        done.push((i, written));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a package build panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Write buffer in front of the spooled data member.
const SPOOL_BUFFER: usize = 256 << 10;

fn set_mode(file: &std::fs::File, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("setting package permissions", e))
}
