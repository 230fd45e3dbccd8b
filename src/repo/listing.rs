//! A component's packages read back from its `binary-*/Packages` indexes as one stream,
//! in the order unitpack writes them (package, version, architecture), never held
//! whole: a change to a suite of 100,000 packages is merged a stanza at a time.
//!
//! Every stanza is validated as it is read (each field that becomes a path or a key,
//! the hashes, its pool file present: it is republished and signed). A package of
//! architecture `all` is listed in every index; it is one entry, and must be listed
//! alike in each. An index out of order is refused, since the merge depends on it.

use super::access::{inside, inside_known, syntax};
use super::index::{Entry, Stanza};
use crate::error::{Error, InputError, Location, Result};
use crate::input::{self, Kind, ReadError};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Take};
use std::path::{Path, PathBuf};

/// The indexes to read of one component: one per architecture.
pub struct Listing {
    root: PathBuf,
    indexes: Vec<PathBuf>,
}

/// The `binary-*/Packages` of `rel` (a component's directory) that the signed
/// `Release` lists: `committed` gives the SHA256 it lists for each
/// (`binary-ARCH/Packages`). An index it does not list was never signed (a run killed
/// before signing made it, e.g. for a new architecture) and is not read: the next
/// writer starts from what clients trust, not from part of a change that never
/// committed. An index that differs from its hash (a run killed between renaming
/// indexes and signing) is read from its committed copy under `by-hash/`, which
/// publication keeps, when that is there and has that hash. The index that differs is
/// still read and validated first: a damaged or tampered one is refused, not silently
/// replaced.
pub fn open(root: &Path, rel: &Path, committed: &BTreeMap<String, String>) -> Result<Listing> {
    let mut plain = Listing {
        root: root.to_path_buf(),
        indexes: Vec::new(),
    };
    let mut listing = Listing {
        root: root.to_path_buf(),
        indexes: Vec::new(),
    };
    let Some(dir) = inside(root, rel, Kind::Dir)? else {
        return Ok(listing);
    };
    let entries = input::entries_in(&dir).map_err(|m| InputError::new(&dir, None, "repo", m))?;
    let mut archs = Vec::new();
    for (name, _) in entries {
        if let Some(arch) = name.strip_prefix("binary-") {
            super::names::package_architecture(arch)
                .map_err(|m| InputError::new(&dir.join(&name), None, "Architecture", m))?;
            archs.push(arch.to_string());
        }
    }
    archs.sort();
    for arch in archs {
        let index = rel.join(format!("binary-{arch}")).join("Packages");
        let Some(path) = inside(root, &index, Kind::File)? else {
            continue;
        };
        let Some(hash) = committed.get(&format!("binary-{arch}/Packages")) else {
            continue;
        };
        plain.indexes.push(index.clone());
        if sha256_of(&path)? != *hash {
            let kept = index.with_file_name("by-hash").join("SHA256").join(hash);
            if let Some(found) = inside(root, &kept, Kind::File)? {
                // Its name is a claim: a damaged or replaced copy would silently
                // publish another package set than the one signed.
                let got = sha256_of(&found)?;
                if got != *hash {
                    return Err(InputError::new(
                        &found,
                        None,
                        "",
                        format!(
                            "has SHA256 {got}, not the {hash} the signed Release lists for \
                             {}: restore it, or the index, from a backup",
                            index.display()
                        ),
                    )
                    .into());
                }
                listing.indexes.push(kept);
                continue;
            }
        }
        listing.indexes.push(index);
    }
    if listing.indexes != plain.indexes {
        plain.for_each(|_| Ok(()))?;
    }
    Ok(listing)
}

fn open_index(path: &Path) -> Result<std::fs::File> {
    input::open_bounded(path, input::MAX_PACKAGES_INDEX).map_err(|e| match e {
        ReadError::Io(e) => Error::io(format!("reading {}", path.display()), e),
        e => InputError::new(path, None, "", e.to_string()).into(),
    })
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file = open_index(path)?.take(input::MAX_PACKAGES_INDEX);
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => sha.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }
    Ok(super::debfile::hex(&sha.finalize()))
}

impl Listing {
    /// Every package of the component, in order, each once, to `each`.
    pub fn for_each(&self, mut each: impl FnMut(Entry) -> Result<()>) -> Result<()> {
        let mut readers = Vec::new();
        for rel in &self.indexes {
            readers.push(Reader::open(&self.root.join(rel))?);
        }
        let mut heads = Vec::new();
        for r in &mut readers {
            heads.push(r.next()?);
        }
        let mut known_dirs = HashSet::new();
        while let Some(first) = (0..heads.len())
            .filter(|&i| heads[i].is_some())
            .min_by(|&a, &b| order(&heads[a]).cmp(&order(&heads[b])))
        {
            let entry = heads[first].take().expect("a head");
            heads[first] = readers[first].next()?;
            for i in 0..heads.len() {
                let Some(other) = heads[i].take_if(|e| e.order() == entry.order()) else {
                    continue;
                };
                if other.sha256() != entry.sha256() {
                    return Err(InputError::new(
                        &readers[i].path,
                        at_line(readers[i].stanza_line),
                        "",
                        format!(
                            "lists {} {} ({}) with another SHA256 than {}: the repository \
                             is inconsistent",
                            entry.package(),
                            entry.version(),
                            entry.architecture(),
                            readers[first].path.display()
                        ),
                    )
                    .into());
                }
                heads[i] = readers[i].next()?;
            }
            // Republishing a stanza whose file is gone would sign a 404 for every client.
            let file = Path::new(entry.filename());
            if inside_known(&self.root, file, Kind::File, &mut known_dirs)?.is_none() {
                return Err(InputError::new(
                    &readers[first].path,
                    None,
                    "Filename",
                    format!(
                        "lists {} {} ({}) as {}, which is not in the pool; put the file \
                         back, or remove the package from the index",
                        entry.package(),
                        entry.version(),
                        entry.architecture(),
                        entry.filename()
                    ),
                )
                .into());
            }
            each(entry)?;
        }
        Ok(())
    }
}

fn at_line(line: usize) -> Option<Location> {
    Some(Location { line, column: 1 })
}

fn order(head: &Option<Entry>) -> (&str, &str, &str) {
    head.as_ref().expect("only heads that are there").order()
}

/// One index, a stanza at a time.
struct Reader {
    path: PathBuf,
    lines: BufReader<Take<std::fs::File>>,
    /// Bytes read so far: the file may grow past the bound while it is read.
    read: u64,
    line: usize,
    /// Where the stanza last read starts.
    stanza_line: usize,
    /// The key of the stanza last read: the next must come after it.
    last: Option<(String, String, String)>,
    text: String,
}

impl Reader {
    fn open(path: &Path) -> Result<Reader> {
        let file = open_index(path)?;
        Ok(Reader {
            path: path.to_path_buf(),
            lines: BufReader::with_capacity(1 << 16, file.take(input::MAX_PACKAGES_INDEX + 1)),
            read: 0,
            line: 0,
            stanza_line: 0,
            last: None,
            text: String::new(),
        })
    }

    /// The next stanza, validated, as an entry.
    fn next(&mut self) -> Result<Option<Entry>> {
        self.text.clear();
        loop {
            let start = self.text.len();
            let n = match self.lines.read_line(&mut self.text) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(InputError::new(
                        &self.path,
                        at_line(self.line + 1),
                        "",
                        "is not UTF-8 text",
                    )
                    .into())
                }
                Err(e) => return Err(Error::io(format!("reading {}", self.path.display()), e)),
            };
            self.read += n as u64;
            if self.read > input::MAX_PACKAGES_INDEX {
                let e = ReadError::TooLarge {
                    limit: input::MAX_PACKAGES_INDEX,
                };
                return Err(InputError::new(&self.path, None, "", e.to_string()).into());
            }
            if n == 0 {
                break;
            }
            self.line += 1;
            // The deb822 parser's own test for a line between paragraphs (read as
            // part of a stanza, such a line would make it two); one holding a control
            // character is left to the parser, which refuses it, naming it.
            let line = self.text[start..].trim_end_matches('\n');
            if line.trim().is_empty() && super::deb822::control_char(line).is_none() {
                self.text.truncate(start);
                if self.text.is_empty() {
                    continue;
                }
                break;
            }
            if start == 0 {
                self.stanza_line = self.line;
            }
        }
        if self.text.is_empty() {
            return Ok(None);
        }
        let at = self.stanza_line;
        let stanza = Stanza::parse_one(&self.text).map_err(|mut e| {
            e.line = e.line.map(|l| l + at - 1);
            syntax(&self.path, e)
        })?;
        let entry = Entry::from_index(stanza)
            .map_err(|m| InputError::new(&self.path, at_line(at), "", m))?;
        let key = entry.order();
        if let Some(last) = &self.last {
            if key <= (last.0.as_str(), last.1.as_str(), last.2.as_str()) {
                return Err(InputError::new(
                    &self.path,
                    at_line(at),
                    "",
                    format!(
                        "lists {} {} ({}) after {} {} ({}): unitpack writes each package \
                         once, sorted by package, version and architecture; restore the \
                         index unitpack wrote",
                        key.0, key.1, key.2, last.0, last.1, last.2
                    ),
                )
                .into());
            }
        }
        self.last = Some(entry.key());
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanza(package: &str) -> String {
        format!(
            "Package: {package}\nVersion: 1.0\nArchitecture: all\n\
             Filename: pool/main/a/{package}/{package}_1.0_all.deb\nSize: 586\n\
             MD5sum: 0af5a5e698cb162b48b6fffa853857ed\n\
             SHA256: a30b4389c5f036454a066f3a329b362ab8b7837c58552693828935a24777a3fa\n\
             Description: package {package}\n"
        )
    }

    fn read_all(text: &str) -> Result<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Packages");
        std::fs::write(&path, text).unwrap();
        let mut r = Reader::open(&path)?;
        let mut out = Vec::new();
        while let Some(e) = r.next()? {
            out.push(e.package().to_string());
        }
        Ok(out)
    }

    #[test]
    fn paragraphs_end_where_the_deb822_parser_ends_them() {
        // Whatever separates two paragraphs for `Stanza::parse_all` (a line that is
        // whitespace once trimmed) separates them here, or a stanza would reach the
        // parser as several ("expected one paragraph, found 2", no line named).
        for blank in ["", " \t", "\u{a0}", "\u{2003} "] {
            let text = format!("{}{blank}\n{}", stanza("aa"), stanza("bb"));
            assert_eq!(read_all(&text).unwrap(), ["aa", "bb"], "{blank:?}");
        }
        for bad in ["\r", "\u{c}", " \u{2028}"] {
            let text = format!("{}{bad}\n{}", stanza("aa"), stanza("bb"));
            let err = read_all(&text).unwrap_err().to_string();
            assert!(
                err.contains(":9:1:") && err.contains("control character"),
                "{err}"
            );
        }
        let last = stanza("bb");
        let text = format!("\n{}\n{}", stanza("aa"), last.trim_end());
        assert_eq!(read_all(&text).unwrap(), ["aa", "bb"]);
    }
}
