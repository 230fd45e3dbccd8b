//! Just enough of ELF to tell what a packaged file is: machine code (so the package
//! is not architecture-independent) and, if so, whether its symbol table was stripped.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// An ELF file among a package's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elf {
    /// No `SHT_SYMTAB` section: `strip` has been run on it.
    pub stripped: bool,
}

const SHT_SYMTAB: u32 = 2;

/// `None` when `path` is not an ELF file (or cannot be read: the recipe loader
/// reports unreadable sources).
pub fn inspect(path: &Path) -> Option<Elf> {
    let mut f = crate::input::open_regular(path).ok()?;
    let mut ident = [0u8; 64];
    let n = read_up_to(&mut f, &mut ident);
    if n < 4 || ident[..4] != *b"\x7fELF" {
        return None;
    }
    Some(Elf {
        stripped: !has_symtab(&mut f, &ident[..n]).unwrap_or(true),
    })
}

/// Whether the section header table lists a symbol table; `None` when the headers
/// cannot be read (then the file counts as not stripped: nothing is skipped for it).
fn has_symtab(f: &mut (impl Read + Seek), header: &[u8]) -> Option<bool> {
    let wide = match header.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match header.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let int = |at: usize, len: usize| -> Option<u64> {
        let b = header.get(at..at + len)?;
        let mut v = 0u64;
        for i in 0..len {
            let byte = if big { b[i] } else { b[len - 1 - i] };
            v = v << 8 | u64::from(byte);
        }
        Some(v)
    };
    let (shoff, shentsize, shnum) = if wide {
        (int(0x28, 8)?, int(0x3A, 2)?, int(0x3C, 2)?)
    } else {
        (int(0x20, 4)?, int(0x2E, 2)?, int(0x30, 2)?)
    };
    if shoff == 0 || shnum == 0 {
        // No section headers at all (e.g. `sstrip`): nothing to find a symtab in.
        return Some(false);
    }
    if shentsize < 8 {
        return None;
    }
    let len = shentsize * shnum;
    if len > 1 << 24 {
        return None;
    }
    f.seek(SeekFrom::Start(shoff)).ok()?;
    let mut table = vec![0u8; usize::try_from(len).ok()?];
    f.read_exact(&mut table).ok()?;
    Some(table.chunks(shentsize as usize).any(|sh| {
        let t: [u8; 4] = sh[4..8].try_into().expect("4 bytes");
        let sh_type = if big {
            u32::from_be_bytes(t)
        } else {
            u32::from_le_bytes(t)
        };
        sh_type == SHT_SYMTAB
    }))
}

fn read_up_to(f: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test binary itself: an ELF file with its symbol table (tests are built
    /// without `strip`).
    #[test]
    fn reads_an_elf_file_and_its_symbol_table() {
        let exe = std::env::current_exe().unwrap();
        assert_eq!(inspect(&exe), Some(Elf { stripped: false }));
    }

    #[test]
    fn a_copy_without_section_headers_counts_as_stripped() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The ELF header alone: e_shoff and e_shnum cleared.
        let mut header = exe[..64].to_vec();
        let wide = header[4] == 2;
        let (off, num) = if wide {
            (0x28..0x30, 0x3C..0x3E)
        } else {
            (0x20..0x24, 0x30..0x32)
        };
        header[off].fill(0);
        header[num].fill(0);
        let path = dir.path().join("stripped");
        std::fs::write(&path, &header).unwrap();
        assert_eq!(inspect(&path), Some(Elf { stripped: true }));
    }

    #[test]
    fn text_is_not_elf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.conf");
        std::fs::write(&path, "ELF\n").unwrap();
        assert_eq!(inspect(&path), None);
        std::fs::write(&path, "").unwrap();
        assert_eq!(inspect(&path), None);
    }
}
