//! Checks of `assets:`: sources inside the recipe's directory, destinations inside
//! the package root.

use super::{Validator, MAX_FILE_NAME, MAX_PATH};
use crate::input as source;
use crate::recipe::schema::RawAsset;
use crate::recipe::spans::child;
use crate::recipe::{Asset, Package};
use std::path::Path;

impl Validator<'_> {
    pub(in crate::recipe) fn assets(
        &mut self,
        dir: &Path,
        path: &str,
        raw: &RawAsset,
    ) -> Vec<Asset> {
        let dest_field = child(path, "dest");
        let Some(dest) = self.dest_path(&dest_field, &raw.dest) else {
            return Vec::new();
        };
        let mode = match &raw.mode {
            None => None,
            Some(m) => match u32::from_str_radix(m, 8) {
                // Octal digits only: from_str_radix takes a leading '+' ("+777").
                Ok(bits)
                    if bits <= 0o777
                        && (1..=4).contains(&m.len())
                        && m.bytes().all(|b| (b'0'..=b'7').contains(&b)) =>
                {
                    Some(bits)
                }
                _ => {
                    self.error(&child(path, "mode"), format!("{m:?} must be octal permission bits such as \"0644\" (no setuid/setgid/sticky)"));
                    return Vec::new();
                }
            },
        };
        let source_field = child(path, "source");
        let Some(source) = self.source_path(dir, &source_field, &raw.source, None) else {
            return Vec::new();
        };
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&source)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.error(
                        &source_field,
                        format!("cannot read {}: {e}", source.display()),
                    );
                    return Vec::new();
                }
            };
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            if !ft.is_file() {
                self.error(&source_field, source::special(entry.path(), ft));
                return Vec::new();
            }
            // Readable now, so that no package is written before a later one fails.
            if let Err(e) = source::open_regular(entry.path()) {
                self.error(
                    &source_field,
                    format!("cannot read {}: {e}", entry.path().display()),
                );
                return Vec::new();
            }
            let rel = entry
                .path()
                .strip_prefix(&source)
                .expect("walkdir stays below its root");
            let dest = if rel.as_os_str().is_empty() {
                dest.clone()
            } else {
                match rel.to_str() {
                    Some(r) => format!("{dest}/{r}"),
                    None => {
                        self.error(
                            &source_field,
                            format!("{} is not valid UTF-8", entry.path().display()),
                        );
                        return Vec::new();
                    }
                }
            };
            if let Err(m) = check_dest(&dest) {
                self.error(&source_field, m);
                return Vec::new();
            }
            use std::os::unix::fs::PermissionsExt;
            let exec = entry
                .metadata()
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false);
            let under_etc = dest.starts_with("/etc/");
            let conffile = raw.conffile.unwrap_or(under_etc);
            if conffile != under_etc {
                self.error(
                    &child(path, "conffile"),
                    if under_etc {
                        "files under /etc must be conffiles (Debian Policy 10.7.2)"
                    } else {
                        "only files under /etc can be conffiles"
                    },
                );
                return Vec::new();
            }
            files.push(Asset {
                elf: crate::elf::inspect(entry.path()),
                source: entry.path().to_path_buf(),
                dest,
                mode: mode.unwrap_or(if exec { 0o755 } else { 0o644 }),
                conffile,
                field: path.to_string(),
            });
        }
        files
    }

    pub(in crate::recipe) fn dest_path(&mut self, field: &str, dest: &str) -> Option<String> {
        match check_dest(dest) {
            Ok(()) if dest == "/usr/local" || dest.starts_with("/usr/local/") => {
                self.error_code(
                    field,
                    crate::codes::USR_LOCAL,
                    format!("{dest} is under /usr/local, which Debian Policy 9.1.2 leaves to the local admin; install under /usr, /opt or /etc"),
                );
                None
            }
            Ok(()) => Some(dest.trim_end_matches('/').to_string()),
            Err(m) => {
                self.error(field, m);
                None
            }
        }
    }

    /// `Architecture: all` packages carry no machine code (Debian Policy 5.6.8).
    pub(in crate::recipe) fn architecture_fits(&mut self, package: &Package, assets: &[Asset]) {
        if package.architecture != "all" {
            return;
        }
        for a in assets {
            if a.elf.is_some() {
                self.error(
                    "package.architecture",
                    format!(
                        "{} is an ELF binary, so the package cannot be `all`; set package.architecture (e.g. armhf)",
                        a.source.display()
                    ),
                );
            }
        }
    }
}

/// A destination inside the package: absolute, normalized, no `..`, printable, and
/// free of characters that would need quoting in shell or bitbake.
pub(in crate::recipe) fn check_dest(dest: &str) -> std::result::Result<(), String> {
    let trimmed = dest.trim_end_matches('/');
    if trimmed.len() > MAX_PATH || trimmed.split('/').any(|c| c.len() > MAX_FILE_NAME) {
        return Err(format!(
            "destination of {} bytes is too long: at most {MAX_FILE_NAME} bytes a component and {MAX_PATH} in all",
            trimmed.len()
        ));
    }
    if !trimmed.starts_with('/') || trimmed.len() < 2 {
        return Err(format!(
            "{dest:?} must be an absolute path such as /etc/xdg/foo.conf"
        ));
    }
    if trimmed
        .split('/')
        .skip(1)
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!("{dest:?} must be normalized (no '..', '.', or '//'): it would escape or confuse the package root"));
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._-+@:".contains(*c)))
    {
        return Err(format!(
            "{dest:?} contains {c:?}; destinations use only letters, digits and '/._-+@:'"
        ));
    }
    Ok(())
}
