//! What a repository index needs from a `.deb`: its control fields, size and hashes,
//! read in one streaming pass that also writes the copy for the pool (the control member
//! comes before the data member, so the hashes and the copy are finished by draining the
//! rest of the file).

use super::index::Stanza;
use crate::error::{Error, InputError, Result};
use crate::input;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

/// Size and hashes of a file, as `Packages` and `Release` list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub md5: String,
    pub sha256: String,
}

impl Digests {
    #[cfg(test)]
    pub fn of(bytes: &[u8]) -> Digests {
        Digests {
            size: bytes.len() as u64,
            md5: hex(&Md5::digest(bytes)),
            sha256: hex(&Sha256::digest(bytes)),
        }
    }
}

/// A package file: its control stanza (as the package has it) and its digests.
#[derive(Debug, Clone)]
pub struct DebFile {
    pub control: Stanza,
    pub digests: Digests,
}

/// Size, MD5 and SHA256 of bytes given in any number of parts.
#[derive(Default)]
pub struct Digester {
    size: u64,
    md5: Md5,
    sha256: Sha256,
}

impl Digester {
    pub fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.md5.update(bytes);
        self.sha256.update(bytes);
    }

    pub fn finish(self) -> Digests {
        Digests {
            size: self.size,
            md5: hex(&self.md5.finalize()),
            sha256: hex(&self.sha256.finalize()),
        }
    }
}

/// A reader that hashes everything read through it and copies it to `copy`.
struct Hashing<R, W> {
    inner: R,
    copy: W,
    /// A failure to write the copy is the machine's, not the package's: kept apart.
    copy_error: Option<io::Error>,
    digester: Digester,
}

impl<R: Read, W: Write> Hashing<R, W> {
    fn new(inner: R, copy: W) -> Self {
        Hashing {
            inner,
            copy,
            copy_error: None,
            digester: Digester::default(),
        }
    }

    fn finish(self) -> Digests {
        self.digester.finish()
    }
}

impl<R: Read, W: Write> Read for Hashing<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.copy_error.is_none() {
            self.copy_error = self.copy.write_all(&buf[..n]).err();
        }
        self.digester.update(&buf[..n]);
        Ok(n)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Read `path`, copying its bytes to `copy`: a bad package is an input error naming the
/// file. The archive is read the way dpkg reads it (`debian-binary` 2.x, then
/// `control.tar*`, then `data.tar*`, `_`-members ignored between them), every read
/// bounded (see [`input`]): a 512 MiB `control` in a small `.deb` is refused after
/// at most [`input::MAX_DEB_CONTROL`] bytes.
pub fn inspect(path: &Path, copy: impl Write) -> Result<DebFile> {
    let bad = |message: String| -> Error { InputError::new(path, None, "", message).into() };
    let file = match input::open_bounded(path, input::MAX_DEB) {
        Ok(f) => f,
        Err(input::ReadError::NotRegular(m)) => return Err(bad(m)),
        Err(e) => return Err(bad(format!("the package {e}"))),
    };
    let copy = io::BufWriter::with_capacity(1 << 16, copy);
    let reader = BufReader::with_capacity(1 << 16, file.take(input::MAX_DEB + 1));
    let mut ar = Hashing::new(reader, copy);
    let text = read_members(&mut ar).map_err(|e| match e {
        DebError::Bad(m) => bad(m),
        DebError::Io(e) => Error::io(format!("reading {}", path.display()), e),
    })?;
    io::copy(&mut ar, &mut io::sink())
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if ar.digester.size > input::MAX_DEB {
        return Err(bad(format!(
            "the package grew past {} MiB while it was read",
            input::MAX_DEB >> 20
        )));
    }
    if let Some(e) = ar.copy_error.take() {
        return Err(Error::io(
            format!("copying {} into the pool", path.display()),
            e,
        ));
    }
    ar.copy
        .flush()
        .map_err(|e| Error::io(format!("copying {} into the pool", path.display()), e))?;
    let stanza = Stanza::parse_one(&text).map_err(|e| {
        InputError::new(
            path,
            None,
            e.field.clone(),
            format!(
                "DEBIAN/control{}: {}",
                e.line.map(|l| format!(" line {l}")).unwrap_or_default(),
                e.message
            ),
        )
    })?;
    Ok(DebFile {
        control: stanza,
        digests: ar.finish(),
    })
}

enum DebError {
    Bad(String),
    Io(io::Error),
}

impl From<io::Error> for DebError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            DebError::Bad("truncated: the ar archive ends inside a header or member".into())
        } else {
            DebError::Io(e)
        }
    }
}

fn bad_deb(m: impl Into<String>) -> DebError {
    DebError::Bad(m.into())
}

/// One ar member header: name (GNU `/` terminator dropped) and size.
fn member_header(r: &mut impl Read) -> Result<Option<(String, u64)>, DebError> {
    let mut header = [0u8; 60];
    let mut got = 0;
    while got < header.len() {
        let n = r.read(&mut header[got..])?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(bad_deb("truncated ar member header"))
            };
        }
        got += n;
    }
    if &header[58..60] != b"`\n" {
        return Err(bad_deb("not a .deb: a corrupt ar member header"));
    }
    let name = std::str::from_utf8(&header[..16])
        .map_err(|_| bad_deb("an ar member name that is not ASCII"))?
        .trim_end_matches(' ')
        .trim_end_matches('/')
        .to_string();
    let size = std::str::from_utf8(&header[48..58])
        .ok()
        .map(|s| s.trim_end_matches(' '))
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| bad_deb(format!("ar member {name:?} has no valid size")))?;
    Ok(Some((name, size)))
}

/// Skip what is left of a member and its padding byte.
fn skip(r: &mut impl Read, n: u64) -> Result<(), DebError> {
    let copied = io::copy(&mut r.take(n), &mut io::sink())?;
    if copied < n {
        return Err(bad_deb("truncated: an ar member ends early"));
    }
    Ok(())
}

fn read_members(r: &mut impl Read) -> Result<String, DebError> {
    let (control, ()) = read_members_with(r, |m, c| read_control(m, c), |_, _| Ok(()))?;
    Ok(control)
}

/// The members of a `.deb` in dpkg's order: `on_control` reads the control member,
/// `on_data` the data member (each given the member, bounded to its size, and the
/// compression suffix of its name); what they leave unread is skipped.
fn read_members_with<T, U>(
    r: &mut impl Read,
    on_control: impl FnOnce(&mut dyn Read, &str) -> std::result::Result<T, String>,
    on_data: impl FnOnce(&mut dyn Read, &str) -> std::result::Result<U, String>,
) -> Result<(T, U), DebError> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .map_err(|_| bad_deb("not a .deb (no ar archive header)"))?;
    if &magic != b"!<arch>\n" {
        return Err(bad_deb("not a .deb (no ar archive header)"));
    }
    let next = |r: &mut _, what: &str| {
        member_header(r)?.ok_or_else(|| bad_deb(format!("not a .deb: no {what} member")))
    };
    let (name, size) = next(r, "debian-binary")?;
    if name != "debian-binary" {
        return Err(bad_deb(format!(
            "not a .deb: first ar member is {name:?}, not debian-binary"
        )));
    }
    if size > input::MAX_DEB_VERSION {
        return Err(bad_deb(format!("debian-binary is {size} bytes long")));
    }
    let mut version = vec![0u8; size as usize];
    r.read_exact(&mut version)?;
    skip(r, size % 2)?;
    if !version.starts_with(b"2.") || !version.ends_with(b"\n") {
        return Err(bad_deb(format!(
            "debian-binary says {:?}; dpkg reads format 2.x",
            String::from_utf8_lossy(&version)
        )));
    }
    let (mut name, mut size) = next(r, "control.tar")?;
    while name.starts_with('_') {
        skip(r, size + size % 2)?;
        (name, size) = next(r, "control.tar")?;
    }
    let Some(compression) = name.strip_prefix("control.tar") else {
        return Err(bad_deb(format!(
            "not a .deb: member {name:?} where control.tar was expected"
        )));
    };
    let mut member = r.take(size);
    let control =
        on_control(&mut member, compression).map_err(|m| bad_deb(format!("member {name}: {m}")))?;
    let left = member.limit();
    skip(r, left + size % 2)?;
    let (mut name, mut size) = next(r, "data.tar")?;
    while name.starts_with('_') {
        skip(r, size + size % 2)?;
        (name, size) = next(r, "data.tar")?;
    }
    let compression = match name.strip_prefix("data.tar") {
        Some(c @ ("" | ".gz" | ".xz" | ".zst" | ".bz2" | ".lzma")) => c.to_string(),
        _ => {
            return Err(bad_deb(format!(
                "not a .deb: member {name:?} where data.tar was expected"
            )))
        }
    };
    let mut member = r.take(size);
    let data =
        on_data(&mut member, &compression).map_err(|m| bad_deb(format!("member {name}: {m}")))?;
    let left = member.limit();
    skip(r, left)?;
    Ok((control, data))
}

/// A package read for `unitpack new --from`: the files of its control member
/// (`control`, `postinst`, ...) and the entries of its data member.
#[derive(Debug, Default)]
pub struct Unpacked {
    /// Regular files of the control member by name (`./` dropped), each at most
    /// [`input::MAX_DEB_CONTROL`] bytes.
    pub control: Vec<(String, Vec<u8>)>,
    /// Entries of the data member, paths relative to `/` (`./` dropped).
    pub data: Vec<DataEntry>,
}

#[derive(Debug)]
pub struct DataEntry {
    pub path: String,
    pub kind: DataKind,
}

#[derive(Debug)]
pub enum DataKind {
    /// A regular file: its bytes when the caller asked to keep them.
    File(Option<Vec<u8>>),
    /// A symlink (in a unit directory: an alias or a mask; in `*.wants/`: an enable
    /// link, whose name is what counts).
    Symlink,
    Dir,
    /// A hard link, device or FIFO.
    Other,
}

/// Read the package at `path` whole: its control files, and its data entries with the
/// bytes of the regular files `keep` names (each at most `keep_limit` bytes). Every
/// read is bounded as [`inspect`]'s, the data member too ([`input::MAX_DEB_DATA_TAR`]
/// decompressed). A bad package is an input error naming the file.
pub fn unpack(path: &Path, keep: &dyn Fn(&str) -> bool, keep_limit: u64) -> Result<Unpacked> {
    let bad = |message: String| -> Error { InputError::new(path, None, "", message).into() };
    let file = match input::open_bounded(path, input::MAX_DEB) {
        Ok(f) => f,
        Err(input::ReadError::NotRegular(m)) => return Err(bad(m)),
        Err(e) => return Err(bad(format!("the package {e}"))),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file.take(input::MAX_DEB + 1));
    let (control, data) = read_members_with(
        &mut reader,
        |member, compression| {
            let mut files = Vec::new();
            walk_tar(
                member,
                compression,
                input::MAX_DEB_CONTROL_TAR,
                &mut |path, kind, entry| {
                    if let DataKind::File(_) = kind {
                        let bytes = input::read_to_limit(entry, input::MAX_DEB_CONTROL)
                            .map_err(|e| format!("{path} {e}"))?;
                        files.push((path, bytes));
                    }
                    Ok(())
                },
            )?;
            Ok(files)
        },
        |member, compression| {
            let mut entries = Vec::new();
            walk_tar(
                member,
                compression,
                input::MAX_DEB_DATA_TAR,
                &mut |path, kind, entry| {
                    let kind = match kind {
                        DataKind::File(_) if keep(&path) => DataKind::File(Some(
                            input::read_to_limit(entry, keep_limit)
                                .map_err(|e| format!("{path} {e}"))?,
                        )),
                        k => k,
                    };
                    entries.push(DataEntry { path, kind });
                    Ok(())
                },
            )?;
            Ok(entries)
        },
    )
    .map_err(|e| match e {
        DebError::Bad(m) => bad(m),
        DebError::Io(e) => Error::io(format!("reading {}", path.display()), e),
    })?;
    Ok(Unpacked { control, data })
}

/// What [`walk_tar`] calls for each entry: its path, kind and the entry to read.
type Visit<'a> = dyn FnMut(String, DataKind, &mut dyn Read) -> std::result::Result<(), String> + 'a;

/// Each entry of a compressed tar member, at most `limit` decompressed bytes read:
/// `visit` gets its path (`./` dropped), its kind (a file's bytes not read) and the
/// entry to read them from.
fn walk_tar(
    member: &mut dyn Read,
    compression: &str,
    limit: u64,
    visit: &mut Visit<'_>,
) -> std::result::Result<(), String> {
    let reader: Box<dyn Read + '_> = match compression {
        "" => Box::new(member),
        ".gz" => Box::new(flate2::read::GzDecoder::new(member)),
        ".xz" => Box::new(liblzma::read::XzDecoder::new(member)),
        other => {
            return Err(format!(
                "compression {other:?} is not read by unitpack (gz and xz are); unpack it with `dpkg-deb -R` and give the directory"
            ))
        }
    };
    let hit = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut tar = tar::Archive::new(Bounded {
        inner: reader,
        left: limit,
        hit: hit.clone(),
    });
    let too_large = || format!("larger than {} MiB unpacked", limit >> 20);
    for entry in tar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| {
            if hit.get() {
                too_large()
            } else {
                e.to_string()
            }
        })?;
        let raw = entry.path().map_err(|e| e.to_string())?.into_owned();
        let path = raw
            .to_str()
            .ok_or_else(|| format!("{} is not a UTF-8 path", raw.display()))?
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let header = entry.header();
        let kind = match header.entry_type() {
            t if t.is_file() => DataKind::File(None),
            t if t.is_dir() => DataKind::Dir,
            t if t.is_symlink() => DataKind::Symlink,
            _ => DataKind::Other,
        };
        visit(path, kind, &mut entry)?;
    }
    if hit.get() {
        return Err(too_large());
    }
    Ok(())
}

/// The `control` file of a `control.tar*`: the decompressed member is read at most
/// [`input::MAX_DEB_CONTROL_TAR`] bytes far, the file itself at most
/// [`input::MAX_DEB_CONTROL`].
fn read_control(member: impl Read, compression: &str) -> std::result::Result<String, String> {
    let reader: Box<dyn Read> = match compression {
        "" => Box::new(member),
        ".gz" => Box::new(flate2::read::GzDecoder::new(member)),
        ".xz" => Box::new(liblzma::read::XzDecoder::new(member)),
        other => {
            return Err(format!(
                "compression {other:?} is not supported (xenial's dpkg reads gz and xz)"
            ))
        }
    };
    let limit = input::MAX_DEB_CONTROL_TAR;
    let hit = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut tar = tar::Archive::new(Bounded {
        inner: reader,
        left: limit,
        hit: hit.clone(),
    });
    let too_large = || {
        format!(
            "the control archive holds no control file in its first {} MiB",
            limit >> 20
        )
    };
    for entry in tar.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| {
            if hit.get() {
                too_large()
            } else {
                e.to_string()
            }
        })?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path == Path::new("./control") || path == Path::new("control") {
            if !entry.header().entry_type().is_file() {
                return Err("control is not a regular file".into());
            }
            let bytes = input::read_to_limit(entry, input::MAX_DEB_CONTROL)
                .map_err(|e| format!("control {e}"))?;
            return String::from_utf8(bytes).map_err(|_| "control is not UTF-8".into());
        }
    }
    if hit.get() {
        return Err(too_large());
    }
    Err("no control file in it".into())
}

/// At most `left` bytes of `inner`; `hit` says whether a read found the limit.
struct Bounded<R> {
    inner: R,
    left: u64,
    hit: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            self.hit.set(true);
            return Ok(0);
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The fields of a control file (one deb822 paragraph, read strictly), in order.
pub fn control_stanza(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    Stanza::parse_one(text)
        .map(|s| s.fields)
        .map_err(|e| e.to_string())
}
