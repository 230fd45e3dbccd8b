//! What a repository index needs from a `.deb`: its control fields, size and hashes,
//! read in one streaming pass that also writes the copy for the pool (the control member
//! comes before the data member, so the hashes and the copy are finished by draining the
//! rest of the file).

use super::index::Stanza;
use crate::error::{Error, InputError, Result};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::fs::File;
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

/// A reader that hashes everything read through it and copies it to `copy`.
struct Hashing<R, W> {
    inner: R,
    copy: W,
    /// A failure to write the copy is the machine's, not the package's: kept apart.
    copy_error: Option<io::Error>,
    size: u64,
    md5: Md5,
    sha256: Sha256,
}

impl<R: Read, W: Write> Hashing<R, W> {
    fn new(inner: R, copy: W) -> Self {
        Hashing {
            inner,
            copy,
            copy_error: None,
            size: 0,
            md5: Md5::new(),
            sha256: Sha256::new(),
        }
    }

    fn finish(self) -> Digests {
        Digests {
            size: self.size,
            md5: hex(&self.md5.finalize()),
            sha256: hex(&self.sha256.finalize()),
        }
    }
}

impl<R: Read, W: Write> Read for Hashing<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.copy_error.is_none() {
            self.copy_error = self.copy.write_all(&buf[..n]).err();
        }
        self.size += n as u64;
        self.md5.update(&buf[..n]);
        self.sha256.update(&buf[..n]);
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
/// file.
pub fn inspect(path: &Path, copy: impl Write) -> Result<DebFile> {
    let bad = |message: String| -> Error { InputError::new(path, None, "", message).into() };
    let file = File::open(path).map_err(|e| bad(format!("cannot open the package: {e}")))?;
    let copy = io::BufWriter::with_capacity(1 << 16, copy);
    let reader = BufReader::with_capacity(1 << 16, file);
    let mut archive = ar::Archive::new(Hashing::new(reader, copy));
    let mut members = Vec::new();
    let mut control = None;
    while let Some(entry) = archive.next_entry() {
        let entry = entry.map_err(|e| bad(format!("not a .deb (ar archive): {e}")))?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        if let Some(compression) = name.strip_prefix("control.tar") {
            let text =
                read_control(entry, compression).map_err(|e| bad(format!("member {name}: {e}")))?;
            control = Some(text);
            members.push(name);
            break;
        }
        members.push(name);
    }
    if members.first().map(String::as_str) != Some("debian-binary") {
        return Err(bad(format!(
            "not a .deb: first ar member is {:?}, not debian-binary",
            members.first().map_or("nothing", String::as_str)
        )));
    }
    let text = control.ok_or_else(|| bad("no control.tar member".into()))?;
    let mut rest = archive
        .into_inner()
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    io::copy(&mut rest, &mut io::sink())
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if let Some(e) = rest.copy_error.take() {
        return Err(Error::io(
            format!("copying {} into the pool", path.display()),
            e,
        ));
    }
    rest.copy
        .flush()
        .map_err(|e| Error::io(format!("copying {} into the pool", path.display()), e))?;
    let stanza = Stanza::parse_one(&text).map_err(|m| bad(format!("DEBIAN/control: {m}")))?;
    for field in ["Package", "Version", "Architecture"] {
        if stanza.get(field).is_none_or(str::is_empty) {
            return Err(bad(format!("DEBIAN/control has no {field} field")));
        }
    }
    Ok(DebFile {
        control: stanza,
        digests: rest.finish(),
    })
}

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
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path == Path::new("./control") || path == Path::new("control") {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| format!("control: {e}"))?;
            return Ok(text);
        }
    }
    Err("no control file in it".into())
}
