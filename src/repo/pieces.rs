//! Compressed indexes made of pieces a later run can reuse, so that adding one package
//! to a large repository recompresses the piece that changed, not the whole index.
//!
//! The text is cut at stanza boundaries chosen by the stanzas' own bytes
//! ([`chunks`]): inserting or removing a stanza changes the piece it falls in and
//! leaves the others as they were. Each piece is compressed on its own, and the file
//! stays one ordinary stream that every reader takes as it always did (apt 1.2.35 reads
//! only the first of concatenated xz streams, so the pieces are not streams):
//!
//! - `.xz`: one stream, one block per piece (blocks are independent in the format; the
//!   stream's index lists their sizes, as liblzma's multi-threaded encoder writes it);
//! - `.gz`: one member, one run of deflate blocks per piece, each ending with a full
//!   flush (no match reaches back across it) and the piece sizes in the header's
//!   `FEXTRA` field, which readers skip.
//!
//! Nothing read back is trusted: a piece of the previous file is reused only when it
//! decompresses, on its own, to exactly the text wanted there (decompressing costs about
//! a tenth of compressing); the `.gz` as a whole is decompressed and compared once more.
//! A damaged or tampered previous file costs time, never a wrong index. The pieces'
//! bytes depend on their text only, so a repository built in one run and the same one
//! built package by package get the same files.

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Read, Write};

/// Mean size of a piece. Smaller pieces make one added package cheaper and the file
/// larger (each piece starts without a dictionary).
/// On a 5 MB `Packages` of 10,000 stanzas, xz -6 in blocks of 128 KiB gave a file
/// 4.8 % larger than one block, 256 KiB 1.9 %, 512 KiB 0.2 %; one piece of 256 KiB
/// costs about 60 ms to compress.
pub const PIECE: usize = 256 << 10;

/// 64-bit FNV-1a: fixed here, since the cut points must never change between versions
/// or machines.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `text` cut into pieces at stanza starts: a stanza (its lines and the blank line
/// after it) ends a piece with a probability proportional to its length (so pieces
/// average `piece` bytes whatever the stanzas' size), decided by its hash alone; a
/// piece also ends once it reaches four times `piece`.
pub fn chunks(text: &[u8], piece: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < text.len() {
        let end = match text[at..].windows(2).position(|w| w == b"\n\n") {
            Some(i) => at + i + 2,
            None => text.len(),
        };
        let stanza = &text[at..end];
        let threshold =
            (stanza.len() as u128 * (1u128 << 64) / piece as u128).min(u128::from(u64::MAX));
        if u128::from(fnv(stanza)) < threshold || end - start >= 4 * piece || end == text.len() {
            out.push(&text[start..end]);
            start = end;
        }
        at = end;
    }
    out
}

fn internal(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Internal {
        what: what.into(),
        message: e.to_string(),
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(bytes);
    c.sum()
}

/// How many pieces were reused and how many compressed (for tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub reused: usize,
    pub compressed: usize,
}

/// A compressed piece; `unpadded` is its size without an xz block's padding. A reused
/// piece borrows its bytes from the previous file, which outlives the new one's
/// assembly: no run holds a second copy of what it reuses.
struct Piece<'a> {
    bytes: Cow<'a, [u8]>,
    unpadded: u64,
}

/// Compress the pieces of `wanted` not found in `reuse` (on up to `threads` threads).
fn fill<'a>(
    wanted: &[&[u8]],
    reuse: impl Fn(&[u8]) -> Option<Piece<'a>>,
    compress: impl Fn(&[u8]) -> Result<Piece<'a>> + Sync,
    threads: u32,
    counts: &mut Counts,
) -> Result<Vec<Piece<'a>>> {
    let mut out: Vec<Option<Piece<'a>>> = wanted.iter().map(|c| reuse(c)).collect();
    let todo: Vec<usize> = (0..wanted.len()).filter(|&i| out[i].is_none()).collect();
    counts.reused = wanted.len() - todo.len();
    counts.compressed = todo.len();
    let threads = (threads.max(1) as usize).min(todo.len().max(1));
    let done: Vec<Result<Vec<(usize, Piece<'a>)>>> = if threads == 1 {
        vec![todo
            .iter()
            .map(|&i| Ok((i, compress(wanted[i])?)))
            .collect()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let todo = &todo;
                    let compress = &compress;
                    s.spawn(move || {
                        todo.iter()
                            .skip(t)
                            .step_by(threads)
                            .map(|&i| Ok((i, compress(wanted[i])?)))
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("compressing a piece does not panic"))
                .collect()
        })
    };
    for part in done {
        for (i, bytes) in part? {
            out[i] = Some(bytes);
        }
    }
    Ok(out
        .into_iter()
        .map(|p| p.expect("every piece filled"))
        .collect())
}

// ---- xz ----

const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
/// Stream flags: check CRC64.
const XZ_FLAGS: [u8; 2] = [0, 4];
/// Largest dictionary of a piece: pieces run up to four times [`PIECE`], and an
/// encoder takes about 10 times its dictionary (9 MB at 1 MiB, a third of the peak
/// heap of a new repository of 2,000); a stanza's matches are in the stanzas just
/// before it.
const XZ_DICT: u64 = PIECE as u64;
/// A tampered block cannot make the decoder allocate more than this.
const XZ_MEMLIMIT: u64 = 64 << 20;

fn xz_header() -> Vec<u8> {
    let mut h = XZ_MAGIC.to_vec();
    h.extend_from_slice(&XZ_FLAGS);
    h.extend_from_slice(&crc32(&XZ_FLAGS).to_le_bytes());
    h
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    for i in 0..9 {
        let b = *bytes.get(*at)?;
        *at += 1;
        n |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// A block as stored: its bytes (padding included), unpadded and uncompressed sizes.
struct Block<'a> {
    bytes: &'a [u8],
    unpadded: u64,
    uncompressed: u64,
}

fn pad4(n: u64) -> u64 {
    (n + 3) & !3
}

/// Index and footer of a stream of `blocks`.
fn xz_tail(blocks: &[(u64, u64)], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(0);
    varint(blocks.len() as u64, out);
    for &(unpadded, uncompressed) in blocks {
        varint(unpadded, out);
        varint(uncompressed, out);
    }
    while (out.len() - start) % 4 != 0 {
        out.push(0);
    }
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    let backward = ((out.len() - start) / 4 - 1) as u32;
    let mut footer = backward.to_le_bytes().to_vec();
    footer.extend_from_slice(&XZ_FLAGS);
    out.extend_from_slice(&crc32(&footer).to_le_bytes());
    out.extend_from_slice(&footer);
    out.extend_from_slice(b"YZ");
}

/// The blocks of a one-stream, CRC64 xz file, if its structure holds together (the
/// blocks' contents are checked when one is reused).
fn xz_blocks(file: &[u8]) -> Option<Vec<Block<'_>>> {
    if file.len() < 24 || file[..12] != xz_header()[..] {
        return None;
    }
    let footer = &file[file.len() - 12..];
    if &footer[10..] != b"YZ"
        || footer[8..10] != XZ_FLAGS
        || crc32(&footer[4..10]).to_le_bytes() != footer[..4]
    {
        return None;
    }
    let index_len = (u64::from(u32::from_le_bytes(footer[4..8].try_into().ok()?)) + 1) * 4;
    let index_start = (file.len() as u64 - 12).checked_sub(index_len)?;
    let index = &file[index_start as usize..file.len() - 12];
    if index[0] != 0 || crc32(&index[..index.len() - 4]).to_le_bytes() != index[index.len() - 4..] {
        return None;
    }
    let mut at = 1;
    let count = read_varint(index, &mut at)?;
    if count > index.len() as u64 {
        return None;
    }
    let mut blocks = Vec::new();
    let mut offset = 12u64;
    for _ in 0..count {
        let unpadded = read_varint(index, &mut at)?;
        let uncompressed = read_varint(index, &mut at)?;
        let end = offset.checked_add(pad4(unpadded))?;
        if unpadded == 0 || end > index_start {
            return None;
        }
        blocks.push(Block {
            bytes: &file[offset as usize..end as usize],
            unpadded,
            uncompressed,
        });
        offset = end;
    }
    (offset == index_start).then_some(blocks)
}

/// `block` decompressed on its own, if that gives exactly `want`.
fn xz_block_is(block: &Block<'_>, want: &[u8]) -> bool {
    if block.uncompressed != want.len() as u64 {
        return false;
    }
    let mut stream = xz_header();
    stream.extend_from_slice(block.bytes);
    xz_tail(&[(block.unpadded, block.uncompressed)], &mut stream);
    let Ok(decoder) = liblzma::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, 0) else {
        return false;
    };
    let mut got = Vec::with_capacity(want.len());
    let mut reader =
        liblzma::read::XzDecoder::new_stream(&stream[..], decoder).take(want.len() as u64 + 1);
    reader.read_to_end(&mut got).is_ok() && got == want
}

/// One piece as a block: a one-block stream of its own, header, index and footer cut
/// off. The dictionary depends on the piece's length only, so the bytes depend on the
/// piece alone.
fn xz_piece<'a>(text: &[u8]) -> Result<Piece<'a>> {
    use liblzma::stream::{Check, Filters, LzmaOptions, Stream};
    let mut opts = LzmaOptions::new_preset(6).map_err(|e| internal("xz options", &e))?;
    opts.dict_size((text.len() as u64).next_power_of_two().clamp(4096, XZ_DICT) as u32);
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    let stream = Stream::new_stream_encoder(&filters, Check::Crc64)
        .map_err(|e| internal("xz encoder", &e))?;
    let mut enc =
        liblzma::write::XzEncoder::new_stream(Vec::with_capacity(text.len() / 4 + 64), stream);
    let whole = enc
        .write_all(text)
        .and_then(|()| enc.finish())
        .map_err(|e| Error::io("compressing an index", e))?;
    let blocks = xz_blocks(&whole)
        .ok_or_else(|| internal("xz encoder", &"wrote a stream that is not one block"))?;
    match blocks.as_slice() {
        [b] => Ok(Piece {
            bytes: Cow::Owned(b.bytes.to_vec()),
            unpadded: b.unpadded,
        }),
        _ => Err(internal(
            "xz encoder",
            &"wrote a stream that is not one block",
        )),
    }
}

/// `text` as xz: one stream of one block per piece, reusing the blocks of `previous`
/// (the file this one replaces) that decompress to a wanted piece.
pub fn xz(
    text: &[u8],
    previous: Option<&[u8]>,
    threads: u32,
    piece: usize,
) -> Result<(Vec<u8>, Counts)> {
    let wanted = chunks(text, piece);
    let old: HashMap<u64, Vec<Block<'_>>> = previous
        .and_then(xz_blocks)
        .map(|blocks| {
            let mut m: HashMap<u64, Vec<Block<'_>>> = HashMap::new();
            for b in blocks {
                m.entry(b.uncompressed).or_default().push(b);
            }
            m
        })
        .unwrap_or_default();
    let reuse = |want: &[u8]| {
        old.get(&(want.len() as u64))?
            .iter()
            .find(|b| xz_block_is(b, want))
            .map(|b| Piece {
                bytes: Cow::Borrowed(b.bytes),
                unpadded: b.unpadded,
            })
    };
    let mut counts = Counts::default();
    let blocks = fill(&wanted, reuse, xz_piece, threads, &mut counts)?;
    let mut out = xz_header();
    // Sized once: growing by doubling would hold the old and the new buffer at once.
    out.reserve(blocks.iter().map(|b| b.bytes.len()).sum::<usize>() + 64 + 16 * blocks.len());
    let mut sizes = Vec::with_capacity(blocks.len());
    for (block, text) in blocks.iter().zip(&wanted) {
        sizes.push((block.unpadded, text.len() as u64));
        out.extend_from_slice(&block.bytes);
    }
    xz_tail(&sizes, &mut out);
    Ok((out, counts))
}

// ---- gzip ----

/// `FEXTRA` subfield naming the pieces: for each, its compressed and uncompressed
/// sizes (u32, little-endian).
const GZ_FIELD: [u8; 2] = *b"Up";
/// Final empty block (fixed Huffman, end of block): the member's deflate stream ends
/// here, after the last piece's full flush.
const GZ_END: [u8; 2] = [0x03, 0x00];

/// The pieces of a member this module wrote, if its header lists them consistently.
fn gz_pieces(file: &[u8]) -> Option<Vec<(&[u8], u64)>> {
    if file.len() < 18 || file[..4] != [0x1f, 0x8b, 8, 4] {
        return None;
    }
    let xlen = usize::from(u16::from_le_bytes([file[10], file[11]]));
    let extra = file.get(12..12 + xlen)?;
    if extra.len() < 4
        || extra[..2] != GZ_FIELD
        || usize::from(u16::from_le_bytes([extra[2], extra[3]])) != xlen - 4
        || (xlen - 4) % 8 != 0
    {
        return None;
    }
    let mut at = 12 + xlen;
    let mut out = Vec::new();
    for size in extra[4..].chunks(8) {
        let packed = u32::from_le_bytes(size[..4].try_into().ok()?) as usize;
        let plain = u64::from(u32::from_le_bytes(size[4..].try_into().ok()?));
        out.push((file.get(at..at.checked_add(packed)?)?, plain));
        at += packed;
    }
    Some(out)
}

/// `piece` inflated on its own, if that gives exactly `want` without ending the stream.
fn gz_piece_is(piece: &[u8], want: &[u8]) -> bool {
    let mut d = flate2::Decompress::new(false);
    let mut got = Vec::with_capacity(want.len() + 1);
    match d.decompress_vec(piece, &mut got, flate2::FlushDecompress::Sync) {
        Ok(flate2::Status::Ok | flate2::Status::BufError) => {
            d.total_in() == piece.len() as u64 && got == want
        }
        _ => false,
    }
}

/// Deflate of one piece from an empty dictionary, ending in a full flush (byte-aligned,
/// nothing after it refers back into it).
fn gz_piece<'a>(text: &[u8]) -> Result<Piece<'a>> {
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut out = Vec::with_capacity(text.len() / 3 + 64);
    loop {
        let used = c.total_in() as usize;
        out.reserve(text.len() / 8 + 64);
        c.compress_vec(&text[used..], &mut out, flate2::FlushCompress::Full)
            .map_err(|e| internal("deflate", &e))?;
        // The flush is complete once all input is in and output room was left over.
        if c.total_in() as usize == text.len() && out.len() < out.capacity() {
            break;
        }
    }
    let unpadded = out.len() as u64;
    Ok(Piece {
        bytes: Cow::Owned(out),
        unpadded,
    })
}

/// `text` as one gzip member made of pieces, reusing those of `previous` that inflate
/// to a wanted piece.
pub fn gz(
    text: &[u8],
    previous: Option<&[u8]>,
    threads: u32,
    piece: usize,
) -> Result<(Vec<u8>, Counts)> {
    let (out, counts) = gz_with(text, previous, threads, piece)?;
    if counts.reused == 0 {
        return Ok((out, counts));
    }
    // Each reused piece inflated to its text on its own; that it ends where the next
    // begins (on a byte, outside a block) is seen by reading the whole member back.
    if gz_reads_as(&out, text) {
        Ok((out, counts))
    } else {
        gz_with(text, None, threads, piece)
    }
}

/// Whether `file` inflates to exactly `text`, compared as it is read (the index is not
/// held a second time).
fn gz_reads_as(file: &[u8], text: &[u8]) -> bool {
    let mut reader = flate2::read::GzDecoder::new(file);
    let mut buf = vec![0u8; 64 << 10];
    let mut at = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return at == text.len(),
            Ok(n) => {
                if text.len() - at < n || buf[..n] != text[at..at + n] {
                    return false;
                }
                at += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

fn gz_with(
    text: &[u8],
    previous: Option<&[u8]>,
    threads: u32,
    piece: usize,
) -> Result<(Vec<u8>, Counts)> {
    let wanted = chunks(text, piece);
    let mut old: HashMap<u64, Vec<&[u8]>> = HashMap::new();
    for (bytes, plain) in previous.and_then(gz_pieces).unwrap_or_default() {
        old.entry(plain).or_default().push(bytes);
    }
    let reuse = |want: &[u8]| {
        let bytes = old
            .get(&(want.len() as u64))?
            .iter()
            .find(|p| gz_piece_is(p, want))?;
        Some(Piece {
            bytes: Cow::Borrowed(*bytes),
            unpadded: bytes.len() as u64,
        })
    };
    let mut counts = Counts::default();
    let pieces = fill(&wanted, reuse, gz_piece, threads, &mut counts)?;
    let listed = pieces.len() * 8 <= usize::from(u16::MAX) - 4
        && pieces.iter().all(|p| p.bytes.len() <= u32::MAX as usize);
    let mut out = vec![0x1f, 0x8b, 8, if listed { 4 } else { 0 }, 0, 0, 0, 0, 2, 3];
    // Sized once: growing by doubling would hold the old and the new buffer at once.
    out.reserve(pieces.iter().map(|p| p.bytes.len() + 8).sum::<usize>() + 32);
    if listed {
        let len = (pieces.len() * 8) as u16;
        out.extend_from_slice(&(len + 4).to_le_bytes());
        out.extend_from_slice(&GZ_FIELD);
        out.extend_from_slice(&len.to_le_bytes());
        for (p, t) in pieces.iter().zip(&wanted) {
            out.extend_from_slice(&(p.bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        }
    }
    for p in &pieces {
        out.extend_from_slice(&p.bytes);
    }
    out.extend_from_slice(&GZ_END);
    out.extend_from_slice(&crc32(text).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    Ok((out, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small pieces: liblzma is unoptimized in a debug build.
    const P: usize = 4 << 10;

    fn packages(n: u64) -> String {
        let mut text = String::new();
        for i in 0..n {
            let h = format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            text.push_str(&format!(
                "Package: pkg{i:06}\nVersion: 1.{i}\nArchitecture: all\n\
                 Filename: pool/main/p/pkg{i:06}/pkg{i:06}_1.{i}_all.deb\n\
                 SHA256: {h}{h}{h}{h}\nDescription: package {i}\n\n"
            ));
        }
        text.pop();
        text
    }

    fn unxz(bytes: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        liblzma::read::XzDecoder::new(bytes)
            .read_to_end(&mut back)
            .unwrap();
        back
    }

    fn ungz(bytes: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut back)
            .unwrap();
        back
    }

    #[test]
    fn pieces_cover_the_text_at_stanza_starts() {
        let text = packages(600);
        let pieces = chunks(text.as_bytes(), P);
        assert!(pieces.len() > 3, "{}", pieces.len());
        assert_eq!(pieces.concat(), text.as_bytes());
        for p in &pieces[1..] {
            assert!(p.starts_with(b"Package: "));
        }
        assert!(chunks(b"", P).is_empty());
    }

    #[test]
    fn one_insertion_recompresses_one_piece_and_gives_the_bytes_of_a_fresh_build() {
        let before = packages(600);
        let mut after = before.clone();
        let at = after.find("Package: pkg000300").unwrap();
        after.insert_str(at, "Package: extra\nVersion: 1\n\n");
        for threads in [1, 2] {
            let (xz0, c0) = xz(before.as_bytes(), None, threads, P).unwrap();
            assert_eq!(c0.reused, 0);
            assert_eq!(unxz(&xz0), before.as_bytes());
            let (xz1, c1) = xz(after.as_bytes(), Some(&xz0), threads, P).unwrap();
            assert_eq!(c1.compressed, 1, "{c1:?}");
            assert_eq!(unxz(&xz1), after.as_bytes());
            assert_eq!(xz1, xz(after.as_bytes(), None, 1, P).unwrap().0);

            let (gz0, _) = gz(before.as_bytes(), None, threads, P).unwrap();
            assert_eq!(ungz(&gz0), before.as_bytes());
            let (gz1, c1) = gz(after.as_bytes(), Some(&gz0), threads, P).unwrap();
            assert_eq!(c1.compressed, 1, "{c1:?}");
            assert_eq!(ungz(&gz1), after.as_bytes());
            assert_eq!(gz1, gz(after.as_bytes(), None, 1, P).unwrap().0);
        }
    }

    #[test]
    fn a_tampered_previous_file_is_not_reused_wrongly() {
        let text = packages(200);
        let (good_xz, _) = xz(text.as_bytes(), None, 1, P).unwrap();
        let (good_gz, _) = gz(text.as_bytes(), None, 1, P).unwrap();
        // Another text, same sizes: every piece's length matches, none its text.
        let other = text.replace("Description: package", "Description: pakcage");
        let (other_xz, _) = xz(other.as_bytes(), None, 1, P).unwrap();
        let (other_gz, _) = gz(other.as_bytes(), None, 1, P).unwrap();
        let (xz1, c) = xz(text.as_bytes(), Some(&other_xz), 1, P).unwrap();
        assert_eq!((c.reused, xz1 == good_xz), (0, true));
        let (gz1, c) = gz(text.as_bytes(), Some(&other_gz), 1, P).unwrap();
        assert_eq!((c.reused, gz1 == good_gz), (0, true));
        // Flipped bytes anywhere, truncations, garbage: the output is still the text.
        for (i, good) in [good_xz, good_gz].into_iter().enumerate() {
            for at in (0..good.len()).step_by(good.len() / 37 + 1) {
                let mut bad = good.clone();
                bad[at] ^= 0x20;
                for prev in [&bad[..], &good[..at], &good[at..]] {
                    let back = if i == 0 {
                        unxz(&xz(text.as_bytes(), Some(prev), 1, P).unwrap().0)
                    } else {
                        ungz(&gz(text.as_bytes(), Some(prev), 1, P).unwrap().0)
                    };
                    assert!(back == text.as_bytes(), "format {i}, byte {at}");
                }
            }
        }
    }

    #[test]
    fn xz_and_gzip_read_the_pieces_as_one_stream() {
        let text = packages(200);
        let dir = tempfile::tempdir().unwrap();
        let (x, c) = xz(text.as_bytes(), None, 2, P).unwrap();
        assert!(c.compressed > 2);
        let (g, _) = gz(text.as_bytes(), None, 2, P).unwrap();
        std::fs::write(dir.path().join("P.xz"), &x).unwrap();
        std::fs::write(dir.path().join("P.gz"), &g).unwrap();
        for (tool, file) in [("xz", "P.xz"), ("gzip", "P.gz")] {
            let out = std::process::Command::new(tool)
                .args(["-dc", file])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{tool}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.stdout == text.as_bytes(), "{tool}");
        }
        let list = std::process::Command::new("xz")
            .args(["--robot", "--list", "P.xz"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let list = String::from_utf8(list.stdout).unwrap();
        let totals: Vec<&str> = list
            .lines()
            .find(|l| l.starts_with("totals"))
            .unwrap()
            .split('\t')
            .collect();
        assert_eq!(
            (totals[1], totals[2]),
            ("1", c.compressed.to_string().as_str()),
            "{list}"
        );
    }
}
