//! Compressed indexes made of pieces a later run can reuse, so that adding one package
//! to a large repository recompresses the piece that changed, not the whole index.
//!
//! An index is written stanza by stanza ([`Writer`]) and never held whole: its text
//! goes to its plain file as it comes, and is cut into pieces at stanza boundaries
//! chosen by the stanzas' own bytes, so inserting or removing a stanza changes the
//! piece it falls in and leaves the others as they were. Each piece is compressed on
//! its own, and the file stays one ordinary stream that every reader takes as it
//! always did (apt 1.2.35 reads only the first of concatenated xz streams, so the
//! pieces are not streams):
//!
//! - `.xz`: one stream, one block per piece (blocks are independent in the format; the
//!   stream's index lists their sizes, as liblzma's multi-threaded encoder writes it);
//! - `.gz`: one member, one run of deflate blocks per piece, each ending with a full
//!   flush (no match reaches back across it) and the piece sizes in the header's
//!   `FEXTRA` field, which readers skip.
//!
//! Nothing read back is trusted: a piece of the previous file is reused only when it
//! decompresses, on its own, to exactly the text wanted there (decompressing costs about
//! a tenth of compressing); the `.gz` as a whole is decompressed once more and its
//! SHA256 compared with the text's. A damaged or tampered previous file costs time,
//! never a wrong index. The pieces' bytes depend on their text only, so a repository
//! built in one run and the same one built package by package get the same files.

use super::debfile::{Digester, Digests};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, Read, Seek, Write};

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

/// Whether the piece being filled, `open` bytes long with `stanza` (its lines and the
/// blank line after it, if one follows), ends after it: with a probability
/// proportional to the stanza's length (so pieces average `piece` bytes whatever the
/// stanzas' size), decided by its hash alone; and once it reaches four times `piece`.
fn ends_piece(stanza: &[u8], open: usize, piece: usize) -> bool {
    let threshold =
        (stanza.len() as u128 * (1u128 << 64) / piece as u128).min(u128::from(u64::MAX));
    u128::from(fnv(stanza)) < threshold || open >= 4 * piece
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

/// Whether `file` is one gzip member that inflates to the text of `digests`.
fn gz_inflates_to(file: &Compressed<'_>, digests: &Digests) -> bool {
    let mut inflate = flate2::write::GzDecoder::new(DigestSink::default());
    let whole = file.parts.iter().all(|p| inflate.write_all(p).is_ok());
    match inflate.finish() {
        Ok(sink) if whole => sink.0.finish() == *digests,
        _ => false,
    }
}

#[derive(Default)]
struct DigestSink(Digester);

impl Write for DigestSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The gzip member of `pieces` (each with the length of its text), whose text has
/// CRC32 `crc` and is `len` bytes long.
fn gz_file<'p>(pieces: Vec<(Piece<'p>, u64)>, crc: u32, len: u64) -> Compressed<'p> {
    let listed = pieces.len() * 8 <= usize::from(u16::MAX) - 4
        && pieces
            .iter()
            .all(|(p, t)| p.bytes.len() <= u32::MAX as usize && *t <= u64::from(u32::MAX));
    let mut head = vec![0x1f, 0x8b, 8, if listed { 4 } else { 0 }, 0, 0, 0, 0, 2, 3];
    if listed {
        let len = (pieces.len() * 8) as u16;
        head.extend_from_slice(&(len + 4).to_le_bytes());
        head.extend_from_slice(&GZ_FIELD);
        head.extend_from_slice(&len.to_le_bytes());
        for (p, t) in &pieces {
            head.extend_from_slice(&(p.bytes.len() as u32).to_le_bytes());
            head.extend_from_slice(&(*t as u32).to_le_bytes());
        }
    }
    let mut tail = GZ_END.to_vec();
    tail.extend_from_slice(&crc.to_le_bytes());
    // ISIZE: the length modulo 2^32, as RFC 1952 has it.
    tail.extend_from_slice(&(len as u32).to_le_bytes());
    let mut parts = vec![Cow::Owned(head)];
    parts.extend(pieces.into_iter().map(|(p, _)| p.bytes));
    parts.push(Cow::Owned(tail));
    Compressed { parts }
}

/// The xz stream of `pieces` (each with the length of its text).
fn xz_file<'p>(pieces: Vec<(Piece<'p>, u64)>) -> Compressed<'p> {
    let sizes: Vec<(u64, u64)> = pieces.iter().map(|(p, t)| (p.unpadded, *t)).collect();
    let mut tail = Vec::new();
    xz_tail(&sizes, &mut tail);
    let mut parts = vec![Cow::Owned(xz_header())];
    parts.extend(pieces.into_iter().map(|(p, _)| p.bytes));
    parts.push(Cow::Owned(tail));
    Compressed { parts }
}

// ---- the writer ----

/// A file as its parts (header, pieces, tail), written out one after the other: the
/// pieces of a large index are never copied into one buffer.
pub struct Compressed<'p> {
    parts: Vec<Cow<'p, [u8]>>,
}

impl Compressed<'_> {
    pub fn digests(&self) -> Digests {
        let mut d = Digester::default();
        for p in &self.parts {
            d.update(p);
        }
        d.finish()
    }

    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.parts.iter().try_for_each(|p| out.write_all(p))
    }
}

/// What a [`Writer`] wrote.
pub struct Written<'p, W> {
    /// The plain file, complete.
    pub plain: W,
    pub digests: Digests,
    pub xz: Compressed<'p>,
    pub gz: Compressed<'p>,
    /// Pieces reused and compressed: `.xz`, then `.gz`.
    #[cfg(test)]
    pub counts: [Counts; 2],
}

/// Pieces cut are compressed this many per thread at a time: enough to keep the
/// threads busy, few enough that what waits stays small (a piece is at most four
/// times [`PIECE`]).
const BATCH_PER_THREAD: usize = 2;

/// One piece compressed (or reused): `.xz`, `.gz`, and whether each was reused.
type Done<'p> = (Piece<'p>, bool, Piece<'p>, bool);

/// An index written stanza by stanza, never held whole: the text goes to the plain
/// file as it comes, and each piece, once cut, is taken from the previous files or
/// compressed, a batch at a time on the threads given.
pub struct Writer<'p, W> {
    plain: W,
    piece: usize,
    threads: usize,
    /// Without: only the `.gz` (rebuilding it, see [`Writer::finish`]).
    with_xz: bool,
    digester: Digester,
    crc: flate2::Crc,
    /// The last stanza given: whether a blank line follows it is known at the next.
    last: Vec<u8>,
    has_last: bool,
    /// The piece being filled, and the pieces cut and not yet compressed.
    open: Vec<u8>,
    cut: Vec<Vec<u8>>,
    old_xz: HashMap<u64, Vec<Block<'p>>>,
    old_gz: HashMap<u64, Vec<&'p [u8]>>,
    xz: Vec<(Piece<'p>, u64)>,
    gz: Vec<(Piece<'p>, u64)>,
    counts: [Counts; 2],
}

fn write_error(e: std::io::Error) -> Error {
    Error::io("writing an index", e)
}

impl<'p, W: Write> Writer<'p, W> {
    /// `previous_xz`, `previous_gz`: the files this index replaces, whose pieces are
    /// reused where they decompress to the text wanted.
    pub fn new(
        plain: W,
        previous_xz: Option<&'p [u8]>,
        previous_gz: Option<&'p [u8]>,
        threads: u32,
        piece: usize,
    ) -> Self {
        let mut old_xz: HashMap<u64, Vec<Block<'p>>> = HashMap::new();
        for b in previous_xz.and_then(xz_blocks).unwrap_or_default() {
            old_xz.entry(b.uncompressed).or_default().push(b);
        }
        let mut old_gz: HashMap<u64, Vec<&'p [u8]>> = HashMap::new();
        for (bytes, plain) in previous_gz.and_then(gz_pieces).unwrap_or_default() {
            old_gz.entry(plain).or_default().push(bytes);
        }
        Writer {
            plain,
            piece,
            threads: threads.max(1) as usize,
            with_xz: true,
            digester: Digester::default(),
            crc: flate2::Crc::new(),
            last: Vec::new(),
            has_last: false,
            open: Vec::new(),
            cut: Vec::new(),
            old_xz,
            old_gz,
            xz: Vec::new(),
            gz: Vec::new(),
            counts: [Counts::default(); 2],
        }
    }

    /// One stanza, its last line ended, as [`super::deb822::render`] writes it.
    pub fn push(&mut self, stanza: &[u8]) -> Result<()> {
        if self.has_last {
            let mut before = std::mem::take(&mut self.last);
            before.push(b'\n');
            self.add(&before, false)?;
            before.clear();
            self.last = before;
        }
        self.last.extend_from_slice(stanza);
        self.has_last = true;
        Ok(())
    }

    /// `stanza` (with the blank line after it unless it is the `final` one) into the
    /// plain file and the open piece.
    fn add(&mut self, stanza: &[u8], last: bool) -> Result<()> {
        self.digester.update(stanza);
        self.crc.update(stanza);
        self.open.extend_from_slice(stanza);
        if last || ends_piece(stanza, self.open.len(), self.piece) {
            // The plain file is written a piece at a time, not a stanza at a time.
            self.plain.write_all(&self.open).map_err(write_error)?;
            self.cut.push(std::mem::take(&mut self.open));
            if self.cut.len() >= self.threads * BATCH_PER_THREAD {
                self.compress_cut()?;
            }
        }
        Ok(())
    }

    fn compress_cut(&mut self) -> Result<()> {
        let cut = std::mem::take(&mut self.cut);
        let (old_xz, old_gz, with_xz) = (&self.old_xz, &self.old_gz, self.with_xz);
        let one = |text: &Vec<u8>| -> Result<Done<'p>> {
            let len = text.len() as u64;
            let xz = if !with_xz {
                Some(Piece {
                    bytes: Cow::Borrowed(&[]),
                    unpadded: 0,
                })
            } else {
                old_xz.get(&len).and_then(|blocks| {
                    blocks.iter().find(|b| xz_block_is(b, text)).map(|b| Piece {
                        bytes: Cow::Borrowed(b.bytes),
                        unpadded: b.unpadded,
                    })
                })
            };
            let gz = old_gz.get(&len).and_then(|pieces| {
                pieces.iter().find(|p| gz_piece_is(p, text)).map(|p| Piece {
                    bytes: Cow::Borrowed(*p),
                    unpadded: p.len() as u64,
                })
            });
            let (xz_reused, gz_reused) = (xz.is_some() && with_xz, gz.is_some());
            let xz = match xz {
                Some(p) => p,
                None => xz_piece(text)?,
            };
            let gz = match gz {
                Some(p) => p,
                None => gz_piece(text)?,
            };
            Ok((xz, xz_reused, gz, gz_reused))
        };
        let threads = self.threads.min(cut.len()).max(1);
        let done: Vec<Result<Done<'p>>> = if threads == 1 {
            cut.iter().map(one).collect()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (cut, one) = (&cut, &one);
                        s.spawn(move || {
                            cut.iter()
                                .enumerate()
                                .skip(t)
                                .step_by(threads)
                                .map(|(i, c)| (i, one(c)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                let mut all: Vec<(usize, Result<Done<'p>>)> = handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("compressing a piece does not panic"))
                    .collect();
                all.sort_by_key(|(i, _)| *i);
                all.into_iter().map(|(_, r)| r).collect()
            })
        };
        for (text, piece) in cut.iter().zip(done) {
            let (xz, xz_reused, gz, gz_reused) = piece?;
            let len = text.len() as u64;
            for (counts, reused) in self.counts.iter_mut().zip([xz_reused, gz_reused]) {
                if reused {
                    counts.reused += 1;
                } else {
                    counts.compressed += 1;
                }
            }
            self.xz.push((xz, len));
            self.gz.push((gz, len));
        }
        Ok(())
    }

    /// The last stanza in, the last pieces compressed.
    fn close(&mut self) -> Result<()> {
        if self.has_last {
            let last = std::mem::take(&mut self.last);
            self.has_last = false;
            self.add(&last, true)?;
        }
        self.compress_cut()?;
        self.plain.flush().map_err(write_error)
    }
}

impl<'p, W: Write + Read + Seek> Writer<'p, W> {
    /// The files, complete. A `.gz` that reused pieces is inflated whole and compared
    /// with the text (a reused piece is checked on its own, but not that it ends
    /// where the next begins); if it differs, it is compressed again from the plain
    /// file, reusing nothing.
    pub fn finish(mut self) -> Result<Written<'p, W>> {
        self.close()?;
        let digests = self.digester.finish();
        let crc = self.crc.sum();
        let mut gz = gz_file(self.gz, crc, digests.size);
        if self.counts[1].reused > 0 && !gz_inflates_to(&gz, &digests) {
            let mut again =
                Writer::new(std::io::sink(), None, None, self.threads as u32, self.piece);
            again.with_xz = false;
            self.plain
                .seek(std::io::SeekFrom::Start(0))
                .map_err(write_error)?;
            let mut text = std::io::BufReader::new(&mut self.plain);
            let (mut stanza, mut line) = (Vec::new(), Vec::new());
            loop {
                line.clear();
                if text.read_until(b'\n', &mut line).map_err(write_error)? == 0 {
                    break;
                }
                if line == b"\n" {
                    again.push(&stanza)?;
                    stanza.clear();
                } else {
                    stanza.extend_from_slice(&line);
                }
            }
            if !stanza.is_empty() {
                again.push(&stanza)?;
            }
            again.close()?;
            self.counts[1] = again.counts[1];
            gz = gz_file(again.gz, crc, digests.size);
        }
        Ok(Written {
            plain: self.plain,
            digests,
            xz: xz_file(self.xz),
            gz,
            #[cfg(test)]
            counts: self.counts,
        })
    }
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

    /// `text` through a [`Writer`], one stanza at a time: the `.xz`, the `.gz` and the
    /// counts; the plain file and its digests are checked on the way.
    fn write(
        text: &[u8],
        previous_xz: Option<&[u8]>,
        previous_gz: Option<&[u8]>,
        threads: u32,
        piece: usize,
    ) -> (Vec<u8>, Vec<u8>, [Counts; 2]) {
        let mut w = Writer::new(
            std::io::Cursor::new(Vec::new()),
            previous_xz,
            previous_gz,
            threads,
            piece,
        );
        for s in text
            .split_inclusive(|&b| b == b'\n')
            .collect::<Vec<_>>()
            .split(|l| *l == b"\n")
        {
            if !s.is_empty() {
                w.push(&s.concat()).unwrap();
            }
        }
        let done = w.finish().unwrap();
        assert!(done.plain.into_inner() == text);
        assert_eq!(done.digests, Digests::of(text));
        let (mut xz, mut gz) = (Vec::new(), Vec::new());
        done.xz.write_to(&mut xz).unwrap();
        done.gz.write_to(&mut gz).unwrap();
        assert_eq!(done.xz.digests(), Digests::of(&xz));
        assert_eq!(done.gz.digests(), Digests::of(&gz));
        (xz, gz, done.counts)
    }

    fn xz(
        text: &[u8],
        previous: Option<&[u8]>,
        threads: u32,
        piece: usize,
    ) -> Result<(Vec<u8>, Counts)> {
        let (xz, _, counts) = write(text, previous, None, threads, piece);
        Ok((xz, counts[0]))
    }

    fn gz(
        text: &[u8],
        previous: Option<&[u8]>,
        threads: u32,
        piece: usize,
    ) -> Result<(Vec<u8>, Counts)> {
        let (_, gz, counts) = write(text, None, previous, threads, piece);
        Ok((gz, counts[1]))
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
        let (x, _) = xz(text.as_bytes(), None, 1, P).unwrap();
        let blocks = xz_blocks(&x).unwrap();
        assert!(blocks.len() > 3, "{}", blocks.len());
        let mut at = 0;
        for b in &blocks {
            assert!(text[at..].starts_with("Package: "), "piece at {at}");
            at += b.uncompressed as usize;
        }
        assert_eq!(at, text.len());
        let (empty, counts) = xz(b"", None, 1, P).unwrap();
        assert_eq!(
            (xz_blocks(&empty).unwrap().len(), counts),
            (0, Counts::default())
        );
        assert!(unxz(&empty).is_empty() && ungz(&gz(b"", None, 1, P).unwrap().0).is_empty());
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
    fn gz_pieces_right_alone_but_joined_wrong_are_not_published() {
        // The first piece crafted as a stored block claiming 5 bytes more than it
        // holds: inflated alone it gives exactly its text and asks for more, as a
        // piece does, so it passes the per-piece check; joined, the stored block
        // swallows the start of the next piece as text. Only the check of the
        // whole member sees it: the file is rebuilt, and what gzip reads is the text.
        let text = packages(200);
        let (good, _) = gz(text.as_bytes(), None, 1, P).unwrap();
        let pieces = gz_pieces(&good).unwrap();
        assert!(pieces.len() > 2);
        let first = pieces[0].1 as usize;
        let mut crafted = vec![0u8];
        let len = u16::try_from(first + 5).unwrap();
        crafted.extend_from_slice(&len.to_le_bytes());
        crafted.extend_from_slice(&(!len).to_le_bytes());
        crafted.extend_from_slice(&text.as_bytes()[..first]);
        assert!(gz_piece_is(&crafted, &text.as_bytes()[..first]));
        let mut listed: Vec<(Piece<'_>, u64)> = vec![(
            Piece {
                unpadded: crafted.len() as u64,
                bytes: Cow::Owned(crafted),
            },
            first as u64,
        )];
        for (bytes, plain) in &pieces[1..] {
            listed.push((
                Piece {
                    bytes: Cow::Borrowed(*bytes),
                    unpadded: bytes.len() as u64,
                },
                *plain,
            ));
        }
        let mut crc = flate2::Crc::new();
        crc.update(text.as_bytes());
        let mut previous = Vec::new();
        gz_file(listed, crc.sum(), text.len() as u64)
            .write_to(&mut previous)
            .unwrap();
        let (out, counts) = gz(text.as_bytes(), Some(&previous), 1, P).unwrap();
        assert_eq!(
            counts.reused, 0,
            "rebuilt from the plain text, reusing nothing"
        );
        assert!(out == good);
        assert!(ungz(&out) == text.as_bytes());
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
