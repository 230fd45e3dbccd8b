//! The manifest a unitpack package installs at /usr/share/unitpack/PACKAGE/manifest.
//! The format (records, errors with file and line) is the `unitpack-manifest` crate,
//! which unitpack writes with; the checks read the units sorted by name.

pub use unitpack_manifest::{
    manifest_path, Enablement, Link, Manifest, ManifestError, Scope, UnitEntry, MANIFEST_DIR,
};

/// [`unitpack_manifest::parse`], with the units sorted by name.
pub fn parse(text: &str, file: &str) -> Result<Manifest, ManifestError> {
    let mut m = unitpack_manifest::parse(text, file)?;
    crate::root::sort_by_key(&mut m.units, |u| u.name.as_str());
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The format's own tests are in unitpack-manifest; here what the helper adds.

    #[test]
    fn units_are_sorted_and_crlf_tolerated() {
        let text = "format\t1\r\npackage\tp\r\nunit\tuser\tnone\tz.service\t/z\r\nunit\tsystem\tenable\ta.service\t/a\r\n";
        let m = parse(text, "/m").unwrap();
        let names: Vec<&str> = m.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["a.service", "z.service"]);
        assert_eq!(m.units[1].path, "/z");
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "format\t1\npackage\tp\nunit\tuser\tglobal\tx.service\n";
        let e = parse(text, "/usr/share/unitpack/p/manifest").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/usr/share/unitpack/p/manifest:3: `unit` record needs 4 TAB-separated fields, found 3"
        );
        assert_eq!(manifest_path("p"), format!("{}/p/manifest", MANIFEST_DIR));
    }
}
