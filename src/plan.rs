//! The payload of a package, common to every output format: the unit files, the
//! assets and the manifest that `unitpack-check` reads on the target. Sorted by path.

use crate::error::{Error, Result};
use crate::recipe::Recipe;
use crate::unit::Enablement;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// Absolute path on the target.
    pub path: String,
    pub data: Content,
    pub mode: u32,
    pub conffile: bool,
}

/// The bytes of a file: generated text held in memory, or an asset read only when
/// it is written out (streamed, so a payload of any size needs no memory for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// An asset file and its size when the payload was planned; readers check that
    /// it still has that size.
    File {
        source: PathBuf,
        len: u64,
    },
}

impl Content {
    /// An asset, by its size now.
    pub fn file(source: &Path) -> Result<Content> {
        let len = std::fs::metadata(source)
            .map_err(|e| Error::io(format!("reading asset {}", source.display()), e))?
            .len();
        Ok(Content::File {
            source: source.to_path_buf(),
            len,
        })
    }

    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Feed the bytes to `sink` in chunks; an asset whose size changed since it was
    /// planned is an error (the tar header already carries the size).
    pub fn stream(&self, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        match self {
            Content::Bytes(b) => sink(b),
            Content::File { source, len } => {
                use std::io::Read;
                let what = || format!("reading asset {}", source.display());
                // No symlink, FIFO or device, even one swapped in after the recipe loaded.
                let mut file = crate::recipe::source::open_regular(source)
                    .map_err(|e| Error::io(what(), e))?;
                let mut buf = vec![0u8; STREAM_CHUNK.min(*len as usize).max(1)];
                let mut seen = 0u64;
                loop {
                    let n = match file.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(Error::io(what(), e)),
                    };
                    seen += n as u64;
                    if seen > *len {
                        break;
                    }
                    sink(&buf[..n])?;
                }
                if seen != *len {
                    return Err(Error::Failed(format!(
                        "asset {} changed size while the package was built ({len} bytes when planned)",
                        source.display()
                    )));
                }
                Ok(())
            }
        }
    }
}

impl From<Vec<u8>> for Content {
    fn from(bytes: Vec<u8>) -> Content {
        Content::Bytes(bytes)
    }
}

impl From<String> for Content {
    fn from(text: String) -> Content {
        Content::Bytes(text.into_bytes())
    }
}

/// Read size when streaming an asset: large enough that per-call costs vanish next to
/// the compressor, small enough to be no memory at all.
const STREAM_CHUNK: usize = 256 << 10;

/// Where the manifest of a package is installed.
pub fn manifest_path(package: &str) -> String {
    format!("/usr/share/unitpack/{package}/manifest")
}

pub fn payload(recipe: &Recipe) -> Result<Vec<PayloadFile>> {
    let mut files = Vec::new();
    for unit in &recipe.units {
        files.push(PayloadFile {
            path: recipe.unit_path(unit),
            data: unit.text.clone().into(),
            mode: 0o644,
            conffile: false,
        });
    }
    for d in &recipe.dropins {
        files.push(PayloadFile {
            path: recipe.dropin_path(d),
            data: d.text.clone().into(),
            mode: 0o644,
            conffile: false,
        });
    }
    for asset in &recipe.assets {
        files.push(PayloadFile {
            path: asset.dest.clone(),
            data: Content::file(&asset.source)?,
            mode: asset.mode,
            conffile: asset.conffile,
        });
    }
    files.push(PayloadFile {
        path: manifest_path(&recipe.package.name),
        data: manifest(recipe).into(),
        mode: 0o644,
        conffile: false,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The helper's manifest: one TAB-separated record per line (format 1).
pub fn manifest(recipe: &Recipe) -> String {
    let p = recipe.profile;
    let mut out =
        String::from("# unitpack manifest: read by unitpack-check; generated, do not edit\n");
    out.push_str("format\t1\n");
    out.push_str(&format!("package\t{}\n", recipe.package.name));
    out.push_str(&format!("profile\t{}\n", p.name));
    out.push_str(&format!("strict\t{}\n", u8::from(recipe.strict)));
    out.push_str(&format!("user-bus-package\t{}\n", p.user_bus_package));
    for unit in &recipe.units {
        out.push_str(&format!(
            "unit\t{}\t{}\t{}\t{}\n",
            unit.scope.as_str(),
            unit.enable.as_str(),
            unit.name,
            recipe.unit_path(unit)
        ));
    }
    for unit in recipe.units.iter().filter(|u| u.enable != Enablement::None) {
        for (link, target) in recipe.enable_links(unit) {
            out.push_str(&format!("link\t{link}\t{target}\n"));
        }
    }
    for d in &recipe.dropins {
        out.push_str(&format!(
            "dropin\t{}\t{}\t{}\n",
            d.scope.as_str(),
            d.unit,
            recipe.dropin_path(d)
        ));
    }
    for unit in &recipe.units {
        for t in &unit.takes_over {
            out.push_str(&format!("takeover\t{}\t{t}\n", unit.scope.as_str()));
        }
    }
    out
}
