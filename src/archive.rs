//! Archives written byte for byte, shared by the `.deb` writer, the Yocto layer's
//! helper source archive and the repository's compressed indexes.
//!
//! The `.deb` container: an ar archive of `debian-binary`, `control.tar.*` and
//! `data.tar.*`, written so that dpkg 1.18.4 reads it: GNU tar headers (octal
//! numbers, `L` records for long names, no pax headers), `./`-prefixed sorted
//! entries owned by root, and one fixed mtime for reproducibility.

use crate::error::{Error, Result};
use crate::plan::Content;
use crate::profile::Compression;
use std::io::{Read, Write};

pub enum EntryKind<'a> {
    Dir,
    File { data: &'a Content, mode: u32 },
}

pub struct Entry<'a> {
    /// Path inside the archive without the leading `./` (empty for the root).
    pub path: String,
    pub kind: EntryKind<'a>,
}

impl Entry<'_> {
    fn name(&self) -> String {
        match self.kind {
            EntryKind::Dir if self.path.is_empty() => "./".to_string(),
            EntryKind::Dir => format!("./{}/", self.path),
            EntryKind::File { .. } => format!("./{}", self.path),
        }
    }

    fn size(&self) -> u64 {
        match self.kind {
            EntryKind::Dir => 0,
            EntryKind::File { data, .. } => data.len(),
        }
    }
}

const BLOCK: u64 = 512;
/// Two zero blocks end a tar stream.
const END: [u8; 1024] = [0; 1024];

/// Length of the tar stream of `entries`, known before a byte is read: the
/// compressor's settings depend on it.
pub fn tar_len(entries: &[Entry<'_>]) -> u64 {
    entries
        .iter()
        .map(|e| {
            let name = e.name().len() as u64;
            let long = if name > 100 {
                BLOCK + (name + 1).next_multiple_of(BLOCK)
            } else {
                0
            };
            long + BLOCK + e.size().next_multiple_of(BLOCK)
        })
        .sum::<u64>()
        + END.len() as u64
}

/// Write the tar stream of `entries` (already sorted, parents before children) to
/// `out`, streaming file contents; `seen(i, bytes)` sees the bytes of entry `i` as
/// they pass (for md5sums).
pub fn write_tar(
    entries: &[Entry<'_>],
    mtime: u64,
    out: &mut impl Write,
    mut seen: impl FnMut(usize, &[u8]),
) -> Result<()> {
    let put = |out: &mut dyn Write, bytes: &[u8]| {
        out.write_all(bytes)
            .map_err(|e| Error::io("writing tar entry", e))
    };
    for (i, entry) in entries.iter().enumerate() {
        let name = entry.name();
        let size = entry.size();
        let (mode, kind) = match entry.kind {
            EntryKind::Dir => (0o755, tar::EntryType::Directory),
            EntryKind::File { mode, .. } => (mode, tar::EntryType::Regular),
        };
        if name.len() > 100 {
            // GNU long name record, as dpkg-deb writes it: a `././@LongLink` entry of
            // type L whose data is the name, followed by the entry with a cut name.
            let mut long = name.clone().into_bytes();
            long.push(0);
            let ll = header(
                b"././@LongLink",
                long.len() as u64,
                0o644,
                tar::EntryType::GNULongName,
                mtime,
            )?;
            put(out, ll.as_bytes())?;
            put(out, &long)?;
            put(out, padding(long.len() as u64))?;
        }
        put(
            out,
            header(name.as_bytes(), size, mode, kind, mtime)?.as_bytes(),
        )?;
        if let EntryKind::File { data, .. } = entry.kind {
            data.stream(|chunk| {
                seen(i, chunk);
                put(out, chunk)
            })?;
            put(out, padding(size))?;
        }
    }
    put(out, &END)
}

/// Zeros that fill the last block of `len` bytes of data.
fn padding(len: u64) -> &'static [u8] {
    &END[..(len.next_multiple_of(BLOCK) - len) as usize]
}

/// A GNU header with the name bytes copied as they are (tar-rs would strip `./`),
/// cut to the header's 100 bytes (a longer name is in the LongLink record before it).
fn header(
    name: &[u8],
    size: u64,
    mode: u32,
    kind: tar::EntryType,
    mtime: u64,
) -> Result<tar::Header> {
    let name = &name[..name.len().min(100)];
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().expect("GNU header").name[..name.len()].copy_from_slice(name);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_entry_type(kind);
    h.set_username("root")
        .map_err(|e| Error::io("tar header", e))?;
    h.set_groupname("root")
        .map_err(|e| Error::io("tar header", e))?;
    h.set_cksum();
    Ok(h)
}

/// A compressor writing into `W`, with settings that depend only on the length of
/// its input (`len`, known up front), never on the machine or how the input is cut.
pub enum Compressor<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
}

impl<W: Write> Compressor<W> {
    pub fn new(out: W, compression: Compression, len: u64, threads: u32) -> Result<Self> {
        Ok(match compression {
            // No time in the header; OS "Unix", as gzip -n writes it.
            Compression::Gzip => Compressor::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(3)
                    .write(out, flate2::Compression::best()),
            ),
            Compression::Xz => Compressor::Xz(liblzma::write::XzEncoder::new_stream(
                out,
                xz(len, threads)?,
            )),
        })
    }

    /// Flush the end of the stream; the writer back.
    pub fn finish(self) -> Result<W> {
        match self {
            Compressor::Gzip(enc) => enc.finish(),
            Compressor::Xz(enc) => enc.finish(),
        }
        .map_err(|e| Error::io("compressing", e))
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Compressor::Gzip(enc) => enc.write(buf),
            Compressor::Xz(enc) => enc.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Compressor::Gzip(enc) => enc.write_all(buf),
            Compressor::Xz(enc) => enc.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Compressor::Gzip(enc) => enc.flush(),
            Compressor::Xz(enc) => enc.flush(),
        }
    }
}

/// `data` compressed, in memory (small members: control.tar, changelogs).
pub fn compress(data: &[u8], compression: Compression, threads: u32) -> Result<Vec<u8>> {
    let out = Vec::with_capacity(data.len() / 2 + 4096);
    let mut enc = Compressor::new(out, compression, data.len() as u64, threads)?;
    enc.write_all(data)
        .map_err(|e| Error::io("compressing", e))?;
    enc.finish()
}

const XZ_PRESET: u32 = 6;
/// The preset-6 dictionary; smaller inputs get a dictionary that just holds them,
/// which compresses identically and spares the encoder 90 MB of set-up.
const XZ_MAX_DICT: u64 = 8 << 20;
const XZ_MIN_DICT: u64 = 64 << 10;
/// Block size of the multi-threaded encoder (xz's own default for preset 6).
const XZ_BLOCK: u64 = 3 * XZ_MAX_DICT;
/// Up to this size (control.tar, the data.tar of a package of unit files) the
/// encoder runs in fast mode with a hash-chain match finder: on the seed's two
/// 13 KB tars that is a fifth of preset 6's instructions (half of the whole build)
/// for 2 % more bytes (~50 B a member). Hashing 3 bytes rather than 4 halves the
/// table the encoder must clear (264 KB, not 528 KB; 128 fewer page faults in a
/// seed build) and gave the seed package the same size.
const XZ_SMALL: u64 = 256 << 10;

/// The xz encoder for an input of `len` bytes.
fn xz(len: u64, threads: u32) -> Result<liblzma::stream::Stream> {
    use liblzma::stream::{
        Check, Filters, LzmaOptions, MatchFinder, Mode, MtStreamBuilder, Stream,
    };
    let dict = len.next_power_of_two().clamp(XZ_MIN_DICT, XZ_MAX_DICT);
    let mut opts = LzmaOptions::new_preset(XZ_PRESET).map_err(|e| Error::Internal {
        what: "xz options".into(),
        message: e.to_string(),
    })?;
    opts.dict_size(dict as u32);
    if len <= XZ_SMALL {
        opts.mode(Mode::Fast).match_finder(MatchFinder::HashChain3);
    }
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    // An input that fits in one block goes to the single-threaded encoder: the
    // multi-threaded one would cut the same single block but pay for starting a
    // worker and handing the data over. The choice depends on the length only, so
    // the bytes still do not depend on the thread count.
    if len <= XZ_BLOCK {
        Stream::new_stream_encoder(&filters, Check::Crc64)
    } else {
        MtStreamBuilder::new()
            .threads(threads.max(1))
            .block_size(XZ_BLOCK)
            .filters(filters)
            .check(Check::Crc64)
            .encoder()
    }
    .map_err(|e| Error::Internal {
        what: "xz encoder".into(),
        message: e.to_string(),
    })
}

/// The ar container. Member names are at most 15 characters (dpkg 1.18.4); a
/// member read from a file is copied without passing through memory
/// (`copy_file_range`).
pub struct Ar<W: Write> {
    builder: ar::Builder<W>,
    mtime: u64,
}

impl<W: Write> Ar<W> {
    pub fn new(out: W, mtime: u64) -> Self {
        Ar {
            builder: ar::Builder::new(out),
            mtime,
        }
    }

    pub fn append(&mut self, name: &str, len: u64, data: impl Read) -> Result<()> {
        debug_assert!(name.len() <= 15);
        let mut header = ar::Header::new(name.as_bytes().to_vec(), len);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(0o100644);
        self.builder
            .append(&header, data)
            .map_err(|e| Error::io("writing ar member", e))
    }

    pub fn finish(self) -> Result<W> {
        self.builder
            .into_inner()
            .map_err(|e| Error::io("finishing ar archive", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn bytes(n: usize, seed: u8) -> Content {
        Content::Bytes((0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect())
    }

    /// Entries around every boundary the writer has: names of 99 to 101 bytes (the
    /// GNU long-name record starts above 100, with `./` counted), a name longer than a
    /// block, and file sizes around a block.
    fn corpus(contents: &[Content]) -> Vec<Entry<'_>> {
        let mut entries = vec![Entry {
            path: String::new(),
            kind: EntryKind::Dir,
        }];
        let names = [
            "a".to_string(),
            "d".repeat(97),
            "e".repeat(98),
            "f".repeat(99),
            format!("usr/{}", "g".repeat(600)),
        ];
        for (i, data) in contents.iter().enumerate() {
            entries.push(Entry {
                path: format!("{}{i}", names[i % names.len()]),
                kind: EntryKind::File {
                    data,
                    mode: if i % 2 == 0 { 0o644 } else { 0o755 },
                },
            });
        }
        entries.push(Entry {
            path: "h".repeat(150),
            kind: EntryKind::Dir,
        });
        entries
    }

    #[test]
    fn tar_len_is_the_length_written_and_a_reference_reader_agrees() {
        let contents: Vec<Content> = [0, 1, 511, 512, 513, 1024, 5000, 3, 100, 0]
            .iter()
            .enumerate()
            .map(|(i, &n)| bytes(n, i as u8))
            .collect();
        let entries = corpus(&contents);
        let mut out = Vec::new();
        let mut seen = vec![0usize; entries.len()];
        write_tar(&entries, 1_700_000_000, &mut out, |i, b| seen[i] += b.len()).unwrap();
        assert_eq!(tar_len(&entries), out.len() as u64);
        assert_eq!(out.len() as u64 % BLOCK, 0);

        // The `tar` crate reads what dpkg-deb would: names, modes, sizes, data.
        let mut archive = tar::Archive::new(out.as_slice());
        let read: Vec<(String, u32, Vec<u8>, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
                let mode = e.header().mode().unwrap();
                let mtime = e.header().mtime().unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (name, mode, data, mtime)
            })
            .collect();
        assert_eq!(read.len(), entries.len());
        for ((entry, (name, mode, data, mtime)), n) in entries.iter().zip(&read).zip(&seen) {
            assert_eq!(name, &entry.name());
            assert_eq!(*mtime, 1_700_000_000);
            match entry.kind {
                EntryKind::Dir => assert_eq!(*mode, 0o755),
                EntryKind::File {
                    data: Content::Bytes(want),
                    mode: want_mode,
                } => {
                    assert_eq!(data, want, "{name}");
                    assert_eq!(*mode, want_mode);
                    assert_eq!(*n, want.len(), "seen() saw every byte of {name}");
                }
                EntryKind::File { .. } => unreachable!(),
            }
        }
    }

    #[test]
    fn ar_members_read_back_with_the_ar_crate() {
        let mut ar = Ar::new(Vec::new(), 1_700_000_000);
        ar.append("debian-binary", 4, &b"2.0\n"[..]).unwrap();
        // An odd length gets ar's padding byte.
        ar.append("control.tar.xz", 3, &b"abc"[..]).unwrap();
        ar.append("data.tar.xz", 0, &b""[..]).unwrap();
        let out = ar.finish().unwrap();
        let mut archive = ar::Archive::new(out.as_slice());
        let mut members = Vec::new();
        while let Some(m) = archive.next_entry() {
            let mut m = m.unwrap();
            let name = String::from_utf8(m.header().identifier().to_vec()).unwrap();
            assert_eq!(m.header().mtime(), 1_700_000_000);
            let mut data = Vec::new();
            m.read_to_end(&mut data).unwrap();
            members.push((name, data));
        }
        assert_eq!(
            members,
            [
                ("debian-binary".to_string(), b"2.0\n".to_vec()),
                ("control.tar.xz".to_string(), b"abc".to_vec()),
                ("data.tar.xz".to_string(), Vec::new()),
            ]
        );
    }

    #[test]
    fn compressed_data_decompresses_to_the_input_and_is_the_same_every_time() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let xz = compress(&data, Compression::Xz, 1).unwrap();
        assert_eq!(compress(&data, Compression::Xz, 2).unwrap(), xz);
        let mut back = Vec::new();
        liblzma::read::XzDecoder::new(xz.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let gz = compress(&data, Compression::Gzip, 1).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
