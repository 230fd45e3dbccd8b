//! The `Packages` index and the `Release` file.

pub use super::deb822::Stanza;
use super::deb822::SyntaxError;
use super::debfile::Digests;
use super::names;

/// A package as listed in a `Packages` index. A repository's whole index is held at
/// once, so a stanza is kept as two allocations, not two per field (a parsed stanza
/// of 13 fields took about 1.5 KB of heap for 500 bytes of text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Each field's name then value, one after the other.
    text: Box<str>,
    /// For each field, where its name ends and its value ends in `text`.
    ends: Box<[(usize, usize)]>,
}

impl Entry {
    /// The control stanza plus where the file lives and what it hashes to; the fields
    /// that a repository adds go before `Description`, as in Debian's archive.
    pub fn new(control: &Stanza, filename: &str, digests: &Digests) -> Entry {
        let mut stanza = control.clone();
        for field in ["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"] {
            stanza.remove(field);
        }
        let description = stanza
            .fields
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case("Description"));
        let added = [
            ("Filename", filename.to_string()),
            ("Size", digests.size.to_string()),
            ("MD5sum", digests.md5.clone()),
            ("SHA256", digests.sha256.clone()),
        ]
        .map(|(n, v)| (n.to_string(), v));
        let at = description.unwrap_or(stanza.fields.len());
        stanza.fields.splice(at..at, added);
        Entry::compact(&stanza)
    }

    fn compact(stanza: &Stanza) -> Entry {
        let len = stanza.fields.iter().map(|(n, v)| n.len() + v.len()).sum();
        let mut text = String::with_capacity(len);
        let mut ends = Vec::with_capacity(stanza.fields.len());
        for (name, value) in &stanza.fields {
            text.push_str(name);
            let name_end = text.len();
            text.push_str(value);
            ends.push((name_end, text.len()));
        }
        Entry {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// The fields, names and values, in their order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, end)| {
            let field = (&self.text[start..name_end], &self.text[name_end..end]);
            start = end;
            field
        })
    }

    /// A stanza read back from an existing index: every field that becomes a path or
    /// a key, and the hashes, must be valid (the stanza is republished and signed).
    pub fn from_index(stanza: Stanza) -> Result<Entry, String> {
        let get = |n: &str| {
            stanza
                .get(n)
                .ok_or_else(|| format!("a paragraph has no {n} field"))
        };
        let at = |n: &str, r: Result<(), String>| r.map_err(|m| format!("{n}: {m}"));
        let package = get("Package")?;
        at("Package", names::package(package))?;
        at("Version", names::version(get("Version")?))?;
        at(
            "Architecture",
            names::package_architecture(get("Architecture")?),
        )?;
        at("Filename", names::pool_filename(get("Filename")?))?;
        let size = get("Size")?;
        if size.is_empty() || size.len() > 19 || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("Size: {size:?} is not a number of bytes"));
        }
        at("MD5sum", names::hex_digest(get("MD5sum")?, 32))?;
        at("SHA256", names::hex_digest(get("SHA256")?, 64))?;
        Ok(Entry::compact(&stanza))
    }

    /// As [`Stanza::get`].
    fn field(&self, name: &str) -> &str {
        self.fields()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v)
    }

    pub fn package(&self) -> &str {
        self.field("Package")
    }
    pub fn version(&self) -> &str {
        self.field("Version")
    }
    pub fn architecture(&self) -> &str {
        self.field("Architecture")
    }
    pub fn filename(&self) -> &str {
        self.field("Filename")
    }
    pub fn sha256(&self) -> &str {
        self.field("SHA256")
    }

    /// The order of indexes: by package, version (as text) and architecture.
    pub fn order(&self) -> (&str, &str, &str) {
        (self.package(), self.version(), self.architecture())
    }

    /// Identity in a suite: one file per name, version and architecture.
    pub fn key(&self) -> (String, String, String) {
        (
            self.package().to_string(),
            self.version().to_string(),
            self.architecture().to_string(),
        )
    }
}

/// `e`'s paragraph, as a `Packages` index lists it.
pub fn render(e: &Entry, out: &mut String) -> Result<(), SyntaxError> {
    super::deb822::render(e.fields(), None, out)
}

/// Fields of a suite's `Release` (the hash lists are appended by [`release`]).
pub struct ReleaseFields<'a> {
    pub origin: Option<&'a str>,
    pub label: Option<&'a str>,
    pub suite: &'a str,
    pub date: u64,
    pub valid_until: Option<u64>,
    pub architectures: &'a [String],
    pub components: &'a [String],
}

/// `Release`: `files` are (path relative to `dists/SUITE/`, digests).
/// Only the hash lists span lines: a user's `--origin`/`--label` that would add a field
/// is refused with the field named.
pub fn release(f: &ReleaseFields<'_>, files: &[(String, Digests)]) -> Result<String, SyntaxError> {
    let mut s = Stanza::default();
    let mut add = |n: &str, v: String| s.fields.push((n.to_string(), v));
    if let Some(o) = f.origin {
        add("Origin", o.to_string());
    }
    if let Some(l) = f.label {
        add("Label", l.to_string());
    }
    add("Suite", f.suite.to_string());
    add("Codename", f.suite.to_string());
    add("Date", release_date(f.date));
    if let Some(v) = f.valid_until {
        add("Valid-Until", release_date(v));
    }
    // arch:all packages are also listed in every binary-ARCH index, so apt ≥ 1.1 (which
    // fetches binary-all when `all` is listed) is told not to, as Debian's archive does;
    // older clients ignore both fields.
    let mut archs = vec!["all".to_string()];
    archs.extend(f.architectures.iter().cloned());
    add("Architectures", archs.join(" "));
    add("Components", f.components.join(" "));
    add("No-Support-for-Architecture-all", "Packages".to_string());
    // Every index is also under binary-ARCH/by-hash/SHA256/HASH (apt >= 1.1).
    add("Acquire-By-Hash", "yes".to_string());
    let width = files.iter().map(|(_, d)| d.size).max().unwrap_or(0);
    let width = width.to_string().len().max(8);
    let list = |hash: fn(&Digests) -> &str| {
        files
            .iter()
            .map(|(path, d)| format!("\n {} {:>width$} {path}", hash(d), d.size))
            .collect::<String>()
    };
    add("MD5Sum", list(|d| &d.md5));
    add("SHA256", list(|d| &d.sha256));
    let mut out = String::new();
    s.render(Some(&["MD5Sum", "SHA256"]), &mut out)?;
    Ok(out)
}

/// `Sat, 01 Jan 2024 00:00:00 UTC`, the form Debian's archive and apt 1.2 use.
pub fn release_date(epoch: u64) -> String {
    let date = crate::date::rfc2822(epoch);
    format!("{} UTC", date.trim_end_matches(" +0000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_fields_go_before_description() {
        let control = Stanza::parse_one("Package: ab\nVersion: 1\nDescription: x\n y\n").unwrap();
        let d = Digests::of(b"abc");
        let e = Entry::new(&control, "pool/main/a/a/a_1_all.deb", &d);
        let names: Vec<_> = e.fields().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Package",
                "Version",
                "Filename",
                "Size",
                "MD5sum",
                "SHA256",
                "Description"
            ]
        );
    }

    #[test]
    fn an_entry_renders_as_its_stanza() {
        let text = "Package: ab\nVersion: 1\nArchitecture: all\nDepends:\n\
                    Filename: pool/main/a/ab/ab_1_all.deb\nSize: 3\n\
                    MD5sum: 900150983cd24fb0d6963f7d28e17f72\n\
                    SHA256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n\
                    Description: x\n y\n .\n z\n";
        let stanza = Stanza::parse_one(text).unwrap();
        let e = Entry::from_index(stanza.clone()).unwrap();
        let mut rendered = String::new();
        render(&e, &mut rendered).unwrap();
        assert_eq!(rendered, text);
        assert_eq!(
            (e.package(), e.version(), e.architecture()),
            ("ab", "1", "all")
        );
        assert_eq!(e.field("description"), "x\n y\n .\n z");
        assert_eq!(e.field("Depends"), "");
        let mut other = stanza;
        other.fields.swap(0, 1);
        assert_ne!(Entry::from_index(other).unwrap(), e);
    }

    #[test]
    fn date_is_utc() {
        assert_eq!(release_date(1_704_067_200), "Mon, 01 Jan 2024 00:00:00 UTC");
    }
}
