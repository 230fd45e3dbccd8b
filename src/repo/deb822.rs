//! deb822 paragraphs as `unitpack repo` reads and writes them: the control file of an
//! uploaded `.deb`, the `Packages` indexes and `Release` of an existing repository, and
//! everything it writes back. Reading is strict, the way apt needs it: one field of each
//! name, a field-name grammar, no CR, NUL or other control character (apt refuses a
//! whole index over one CR, so one bad upload would break `apt update` for every
//! client). Writing goes through [`Stanza::render`], which refuses any value that
//! would change the paragraph's structure (a newline starting a new field, an empty
//! continuation line ending the paragraph), naming the field.

/// One deb822 paragraph: fields in their order, values verbatim (continuation lines
/// keep their leading space, joined by `\n`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stanza {
    pub fields: Vec<(String, String)>,
}

/// A syntax problem: the 1-based line (of the text parsed) and the field, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}

fn err(line: Option<usize>, field: &str, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

/// deb822 (Policy 5.1): printable US-ASCII but `:`, not starting with `#` or `-`.
pub fn check_field_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with(['#', '-'])
        && name
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b':');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a field name (printable ASCII without `:`, not starting with `#` or `-`)"
        ))
    }
}

/// The first control character of `text` other than newline and tab.
pub(super) fn control_char(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| (c.is_control() && c != '\n' && c != '\t') || is_invisible_format(c))
}

/// Line and paragraph separators and bidi overrides: apt takes them as text, a reader
/// of the index does not see them.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

impl Stanza {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Every paragraph of `text` (blank lines separate them), strictly.
    pub fn parse_all(text: &str) -> Result<Vec<Stanza>, SyntaxError> {
        let mut out = Vec::new();
        Stanza::parse_each(
            text,
            |e| e,
            |s| {
                out.push(s);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Each paragraph of `text` given to `each` as soon as it is read (a large index
    /// is never held parsed whole), strictly; a syntax error is made an `E` by
    /// `syntax`. Paragraphs before the error have been given.
    pub fn parse_each<E>(
        text: &str,
        syntax: impl Fn(SyntaxError) -> E,
        mut each: impl FnMut(Stanza) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut current = Stanza::default();
        let body = text.strip_suffix('\n').unwrap_or(text);
        for (i, line) in body.split('\n').enumerate() {
            let n = Some(i + 1);
            let field = current
                .fields
                .last()
                .map(|(f, _)| f.clone())
                .unwrap_or_default();
            if let Some(c) = control_char(line) {
                return Err(syntax(err(
                    n,
                    if line.starts_with([' ', '\t']) {
                        &field
                    } else {
                        line.split(':').next().unwrap_or("")
                    },
                    format!("holds the control character U+{:04X}", c as u32),
                )));
            }
            if line.trim().is_empty() {
                if !current.fields.is_empty() {
                    each(std::mem::take(&mut current))?;
                }
            } else if line.starts_with([' ', '\t']) {
                match current.fields.last_mut() {
                    Some((_, value)) => {
                        value.push('\n');
                        value.push_str(line);
                    }
                    None => return Err(syntax(err(n, "", "a continuation line of no field"))),
                }
            } else {
                let (name, value) = line
                    .split_once(':')
                    .ok_or_else(|| syntax(err(n, "", "expected `Field: value`")))?;
                check_field_name(name).map_err(|m| syntax(err(n, "", m)))?;
                if current.get(name).is_some() {
                    return Err(syntax(err(
                        n,
                        name,
                        "appears twice in one paragraph (apt would read only one of them)",
                    )));
                }
                current
                    .fields
                    .push((name.to_string(), value.trim().to_string()));
            }
        }
        if !current.fields.is_empty() {
            each(current)?;
        }
        Ok(())
    }

    /// The single paragraph of a control file.
    pub fn parse_one(text: &str) -> Result<Stanza, SyntaxError> {
        let mut all = Stanza::parse_all(text)?;
        match all.len() {
            1 => Ok(all.remove(0)),
            n => Err(err(None, "", format!("expected one paragraph, found {n}"))),
        }
    }

    /// The paragraph as text. Only the fields named in `multiline` may have
    /// continuation lines (`None`: any field); every value is checked, so no value can
    /// add a field or end the paragraph.
    pub fn render(&self, multiline: Option<&[&str]>, out: &mut String) -> Result<(), SyntaxError> {
        render(
            self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            multiline,
            out,
        )
    }
}

/// The paragraph of `fields` (names and values) as [`Stanza::render`] writes it.
pub fn render<'a>(
    fields: impl Iterator<Item = (&'a str, &'a str)>,
    multiline: Option<&[&str]>,
    out: &mut String,
) -> Result<(), SyntaxError> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in fields {
        check_field_name(name).map_err(|m| err(None, "", m))?;
        if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            return Err(err(None, name, "would be written twice"));
        }
        seen.push(name);
        let may_continue = multiline.is_none_or(|m| m.iter().any(|f| f.eq_ignore_ascii_case(name)));
        check_value(name, value, may_continue)?;
        out.push_str(name);
        out.push(':');
        if !value.is_empty() && !value.starts_with('\n') {
            out.push(' ');
        }
        out.push_str(value);
        out.push('\n');
    }
    Ok(())
}

/// A value valid for field `name`: no control character, no leading or trailing
/// space on its first line (it would not read back the same), and, when it may
/// continue, each further line starting with a space or tab and not blank. An empty
/// value is valid deb822 (cargo-deb writes `Depends:` empty; apt reads it).
pub fn check_value(name: &str, value: &str, may_continue: bool) -> Result<(), SyntaxError> {
    if let Some(c) = control_char(value) {
        return Err(err(
            None,
            name,
            format!(
                "{value:?} holds the control character U+{:04X}, which deb822 cannot carry",
                c as u32
            ),
        ));
    }
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or("");
    if first.trim() != first {
        return Err(err(
            None,
            name,
            format!("{value:?} starts or ends with white space"),
        ));
    }
    let rest: Vec<&str> = lines.collect();
    if !may_continue && !rest.is_empty() {
        return Err(err(
            None,
            name,
            format!("{value:?} spans lines; this field is one line"),
        ));
    }
    for line in rest {
        if !line.starts_with([' ', '\t']) || line.trim().is_empty() {
            return Err(err(
                None,
                name,
                format!(
                    "{value:?} has a line {line:?} that would start a new field or end the paragraph"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_continuations() {
        let text = "Package: a\nDescription: short\n long line\n .\n more\n\nPackage: b\n";
        let all = Stanza::parse_all(text).unwrap();
        assert_eq!(all.len(), 2);
        let mut out = String::new();
        all[0].render(None, &mut out).unwrap();
        assert_eq!(
            out,
            "Package: a\nDescription: short\n long line\n .\n more\n"
        );
    }

    #[test]
    fn strict_reading() {
        for (bad, what) in [
            ("Package: a\nPackage: b\n", "twice"),
            ("Package: a\npackage: b\n", "twice"),
            ("Package: a\r\nVersion: 1\n", "U+000D"),
            ("Package: a\nDescription: x\n y\0\n", "U+0000"),
            ("Package: a\u{202e}b\n", "U+202E"),
            ("#Package: a\n", "field name"),
            ("-Package: a\n", "field name"),
            ("Pack age: a\n", "field name"),
            (" x\n", "continuation"),
            ("Package a\n", "expected"),
        ] {
            let e = Stanza::parse_all(bad).unwrap_err().to_string();
            assert!(e.contains(what), "{bad:?}: {e}");
        }
        assert_eq!(
            Stanza::parse_one("A: 1\n\nB: 2\n").unwrap_err().message,
            "expected one paragraph, found 2"
        );
    }

    #[test]
    fn writer_refuses_values_that_change_the_structure() {
        let one = |name: &str, value: &str| Stanza {
            fields: vec![(name.into(), value.into())],
        };
        for (s, multi) in [
            (one("Origin", "x\nSuite: evil"), None),
            (one("Origin", "x\n Suite: evil"), Some(&["SHA256"][..])),
            (one("Origin", "x\r"), None),
            (one("Origin", " x"), None),
            (one("Description", "x\n \n"), None),
            (one("Bad:Name", "x"), None),
        ] {
            let mut out = String::new();
            assert!(s.render(multi, &mut out).is_err(), "{s:?}");
        }
        let mut out = String::new();
        one("Depends", "").render(None, &mut out).unwrap();
        assert_eq!(out, "Depends:\n");
        let mut out = String::new();
        one("SHA256", "\n abc 1 main/x")
            .render(Some(&["SHA256"]), &mut out)
            .unwrap();
        assert_eq!(out, "SHA256:\n abc 1 main/x\n");
    }
}
