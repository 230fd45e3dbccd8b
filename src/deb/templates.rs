//! The maintainer-script templates, `templates/deb/*.hbs`, embedded in the binary.
//! `scripts::registry` compiles them once per process with handlebars' public API;
//! a broken template fails the unit test below, not a user's build.

/// The scripts in the order the `.deb` lists them, each with its template's source.
pub const SCRIPTS: [(&str, &str); 3] = [
    ("postinst", include_str!("../../templates/deb/postinst.hbs")),
    ("prerm", include_str!("../../templates/deb/prerm.hbs")),
    ("postrm", include_str!("../../templates/deb/postrm.hbs")),
];

#[cfg(test)]
mod tests {
    use super::SCRIPTS;

    #[test]
    fn every_template_compiles() {
        for (name, source) in SCRIPTS {
            let compiled = handlebars::Template::compile_with_name(source, name.to_string());
            let compiled = compiled.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(compiled.elements.len() > 10, "{name}: too few elements");
        }
    }
}
