//! The `.deb` container: an ar archive of `debian-binary`, `control.tar.*` and
//! `data.tar.*`, written so that dpkg 1.18.4 reads it: GNU tar headers (octal
//! numbers, `L` records for long names, no pax headers), `./`-prefixed sorted
//! entries owned by root, and one fixed mtime for reproducibility.

use crate::error::{Error, Result};
use crate::profile::Compression;
use std::io::Write;

pub enum EntryKind<'a> {
    Dir,
    File { data: &'a [u8], mode: u32 },
}

pub struct Entry<'a> {
    /// Path inside the archive without the leading `./` (empty for the root).
    pub path: String,
    pub kind: EntryKind<'a>,
}

/// A tar stream of `entries` (already sorted, parents before children).
pub fn tar(entries: &[Entry<'_>], mtime: u64) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let (name, size, mode, kind) = match &entry.kind {
            EntryKind::Dir => {
                let name = if entry.path.is_empty() {
                    "./".to_string()
                } else {
                    format!("./{}/", entry.path)
                };
                (name, 0, 0o755, tar::EntryType::Directory)
            }
            EntryKind::File { data, mode } => (
                format!("./{}", entry.path),
                data.len() as u64,
                *mode,
                tar::EntryType::Regular,
            ),
        };
        let mut header = header(name.as_bytes(), size, mode, kind, mtime)?;
        if name.len() > 100 {
            // GNU long name record, as dpkg-deb writes it: a `././@LongLink` entry of
            // type L whose data is the name, followed by the entry with a cut name.
            let mut long = name.clone().into_bytes();
            long.push(0);
            let ll = header_raw(
                b"././@LongLink",
                long.len() as u64,
                0o644,
                tar::EntryType::GNULongName,
                mtime,
            )?;
            append(&mut builder, &ll, &long)?;
            header = header_raw(&name.as_bytes()[..100], size, mode, kind, mtime)?;
        }
        let data: &[u8] = match &entry.kind {
            EntryKind::Dir => &[],
            EntryKind::File { data, .. } => data,
        };
        append(&mut builder, &header, data)?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::io("finishing tar stream", e))
}

fn append(builder: &mut tar::Builder<Vec<u8>>, header: &tar::Header, data: &[u8]) -> Result<()> {
    builder
        .append(header, data)
        .map_err(|e| Error::io("writing tar entry", e))
}

fn header(
    name: &[u8],
    size: u64,
    mode: u32,
    kind: tar::EntryType,
    mtime: u64,
) -> Result<tar::Header> {
    header_raw(&name[..name.len().min(100)], size, mode, kind, mtime)
}

/// A GNU header with the name bytes copied as they are (tar-rs would strip `./`).
fn header_raw(
    name: &[u8],
    size: u64,
    mode: u32,
    kind: tar::EntryType,
    mtime: u64,
) -> Result<tar::Header> {
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

/// Compress with settings that depend only on the input, never on the machine:
/// the multi-threaded xz encoder cuts fixed-size blocks, so any thread count gives the
/// same bytes.
pub fn compress(data: &[u8], compression: Compression, threads: u32) -> Result<Vec<u8>> {
    match compression {
        Compression::Gzip => {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(3)
                .write(Vec::new(), flate2::Compression::best());
            enc.write_all(data).map_err(|e| Error::io("gzip", e))?;
            enc.finish().map_err(|e| Error::io("gzip", e))
        }
        Compression::Xz => xz(data, threads),
    }
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
/// for 2 % more bytes (~50 B a member).
const XZ_SMALL: u64 = 256 << 10;

fn xz(data: &[u8], threads: u32) -> Result<Vec<u8>> {
    use liblzma::stream::{
        Action, Check, Filters, LzmaOptions, MatchFinder, Mode, MtStreamBuilder, Status, Stream,
    };
    let len = data.len() as u64;
    let dict = len.next_power_of_two().clamp(XZ_MIN_DICT, XZ_MAX_DICT);
    let mut opts = LzmaOptions::new_preset(XZ_PRESET)
        .map_err(|e| Error::Failed(format!("xz options: {e}")))?;
    opts.dict_size(dict as u32);
    if len <= XZ_SMALL {
        opts.mode(Mode::Fast).match_finder(MatchFinder::HashChain4);
    }
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    // An input that fits in one block goes to the single-threaded encoder: the
    // multi-threaded one would cut the same single block but pay for starting a
    // worker and handing the data over. The choice depends on the length only, so
    // the bytes still do not depend on the thread count.
    let mut stream = if len <= XZ_BLOCK {
        Stream::new_stream_encoder(&filters, Check::Crc64)
    } else {
        MtStreamBuilder::new()
            .threads(threads.max(1))
            .block_size(XZ_BLOCK)
            .filters(filters)
            .check(Check::Crc64)
            .encoder()
    }
    .map_err(|e| Error::Failed(format!("xz encoder: {e}")))?;
    // The whole input in one call, straight into the output vector.
    let mut out = Vec::with_capacity(data.len() / 2 + 4096);
    let mut input = data;
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(4096));
        }
        let before = stream.total_in();
        let status = stream
            .process_vec(input, &mut out, Action::Finish)
            .map_err(|e| Error::Failed(format!("xz: {e}")))?;
        input = &input[(stream.total_in() - before) as usize..];
        if status == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// The ar container. Member names are at most 15 characters (dpkg 1.18.4).
pub fn ar(members: &[(&str, &[u8])], mtime: u64) -> Result<Vec<u8>> {
    let mut builder = ar::Builder::new(Vec::new());
    for (name, data) in members {
        debug_assert!(name.len() <= 15);
        let mut header = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(0o100644);
        builder
            .append(&header, *data)
            .map_err(|e| Error::io("writing ar member", e))?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::io("finishing ar archive", e))
}
