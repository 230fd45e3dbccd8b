//! Positions of the keys and items of a YAML document, by dotted path.
//!
//! serde_yaml gives typed values but forgets where they came from; validation and
//! lint need "line 12, column 5" for a value that parsed fine but is wrong. This index
//! is built from yaml-rust2's marked events over the same text.

use crate::error::Location;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    positions: HashMap<String, Location>,
    duplicates: Vec<Duplicate>,
    big_integers: Vec<BigInteger>,
    typed_scalars: Vec<TypedScalar>,
    plain_values: HashMap<String, String>,
    tags: Vec<Tag>,
}

/// A YAML tag (`!!int`, `!foo`) on a node: serde_yaml drops or applies them, other tools
/// read them otherwise, and no recipe field takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub path: String,
    pub at: Location,
    pub text: String,
}

/// A plain scalar that YAML reads as null or a boolean (`null`, `~`, `true`, `False`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedScalar {
    /// Dotted path of the key or value.
    pub path: String,
    pub at: Location,
    pub text: String,
    /// A mapping key (its path is its own).
    pub key: bool,
}

/// A plain scalar that YAML reads as an integer beyond 64 bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigInteger {
    /// Dotted path of the key or value.
    pub path: String,
    pub at: Location,
    pub text: String,
}

/// A mapping key given twice: YAML loaders keep one of the values silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Dotted path of the key.
    pub path: String,
    pub first: Location,
    pub second: Location,
}

impl SpanIndex {
    /// Index `text`. A document that does not parse yields an empty index (the parse
    /// error itself is reported by serde_yaml, with its own position).
    pub fn parse(text: &str) -> SpanIndex {
        let mut builder = Builder::default();
        // Event by event rather than `Parser::load`, which recurses once per level of
        // nesting: the depth is bounded by `too_deep` before this runs, and this loop
        // keeps that bound from mattering to the stack at all.
        let mut parser = Parser::new_from_str(text);
        loop {
            match parser.next_token() {
                Ok((Event::StreamEnd, _)) => break,
                Ok((ev, mark)) => builder.on_event(ev, mark),
                Err(_) => return SpanIndex::default(),
            }
        }
        builder.index
    }

    /// The source text of the plain (unquoted) scalar value at exactly `path`: what the
    /// author wrote (`0o600`, `1e3`), where serde_yaml hands over a number it re-prints
    /// (`384`, `1000.0`).
    pub fn plain_text(&self, path: &str) -> Option<&str> {
        self.plain_values.get(path).map(String::as_str)
    }

    /// Tags on any node, in document order.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// Plain scalars that YAML reads as null or a boolean: serde_yaml hands their text
    /// to a string field ("null"), every other YAML tool a null or a boolean.
    pub fn typed_scalars(&self) -> &[TypedScalar] {
        &self.typed_scalars
    }

    /// Plain scalars that YAML reads as integers beyond 64 bits, with their positions:
    /// YAML tools disagree on them (serde_yaml's generic loader refuses them, others
    /// round them to a float), while a recipe field reads the text.
    pub fn big_integers(&self) -> &[BigInteger] {
        &self.big_integers
    }

    /// Keys given twice in one mapping, in document order.
    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }

    /// Position of `path` (a mapping key or a sequence item); falls back to the nearest
    /// ancestor that has one, so every error can point somewhere useful.
    pub fn locate(&self, path: &str) -> Option<Location> {
        let mut p = path;
        loop {
            if let Some(loc) = self.positions.get(p) {
                return Some(*loc);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Position of exactly `path`, without falling back.
    pub fn exact(&self, path: &str) -> Option<Location> {
        self.positions.get(path).copied()
    }
}

/// Most `[` and `{` a recipe may hold. YAML scanners (libyaml under serde_yaml, and
/// yaml-rust2) take time quadratic in the depth of flow collections (`[[[[…`), and a
/// megabyte of brackets would keep a build busy for hours. The count of brackets
/// bounds the depth whatever quoting, comments or block scalars surround them, and a
/// recipe needs a few dozen.
pub const MAX_BRACKETS: usize = 1024;

/// Where `text` holds its `MAX_BRACKETS + 1`-th `[` or `{`.
pub fn too_many_brackets(text: &str) -> Option<Location> {
    let (offset, _) = text.match_indices(['[', '{']).nth(MAX_BRACKETS)?;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some(Location { line, column })
}

/// Deepest nesting of collections a recipe may hold, block (`- - -`, `? ? ?`, indented
/// maps) and flow alike. serde_yaml and yaml-rust2's `load` recurse once per level, and
/// 18 KB of `- - - …` overflowed the stack (SIGABRT); the deepest recipe field
/// (`units[].sections.Service.ExecStart[]`) is 6 levels down.
pub const MAX_DEPTH: usize = 32;

/// Where `text` opens its first collection deeper than [`MAX_DEPTH`]. Events are pulled
/// one at a time (no recursion); a document that does not parse is left to serde_yaml's
/// error unless it nests too deep before the error.
pub fn too_deep(text: &str) -> Option<Location> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((Event::SequenceStart(..) | Event::MappingStart(..), mark)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(Location {
                        line: mark.line(),
                        column: mark.col() + 1,
                    });
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => depth = depth.saturating_sub(1),
            Ok((Event::StreamEnd, _)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The first character that YAML parsers disagree about as a line break (NEL, LS, PS:
/// line breaks to YAML 1.1 and libyaml, text to YAML 1.2 and yaml-rust2), so that the
/// positions and duplicate keys found here would not be the ones serde_yaml reads; or
/// a carriage return, which only CRLF line ends excuse.
pub fn ambiguous_line_break(text: &str) -> Option<(Location, char)> {
    let (offset, c) = text.char_indices().find(|&(i, c)| {
        matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
            || (c == '\r' && !text[i + 1..].starts_with('\n'))
    })?;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    Some((Location { line, column }, c))
}

pub fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

enum Frame {
    Map {
        path: String,
        key: Option<String>,
        seen: HashMap<String, Location>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// What the events have shown so far.
    index: SpanIndex,
}

/// YAML 1.2 core-schema null and boolean forms (the empty scalar aside: serde_yaml
/// reads it as null too).
fn is_null_or_bool(text: &str) -> bool {
    matches!(
        text,
        "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    )
}

/// A YAML 1.2 core-schema integer (decimal, `0x`, `0o`) that fits in neither i64 nor
/// u64.
fn is_big_integer(text: &str) -> bool {
    let negative = text.starts_with('-');
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (digits, radix) = if let Some(h) = unsigned.strip_prefix("0x") {
        (h, 16)
    } else if let Some(o) = unsigned.strip_prefix("0o") {
        (o, 8)
    } else {
        (unsigned, 10)
    };
    !digits.is_empty()
        && digits.chars().all(|c| c.is_digit(radix))
        && if negative {
            i64::from_str_radix(&format!("-{digits}"), radix).is_err()
        } else {
            u64::from_str_radix(digits, radix).is_err()
        }
}

impl Builder {
    /// Path of a scalar that starts now (a key's own path for a key).
    fn scalar_path(&self, value: &str) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { path, next }) => item(path, *next),
            Some(Frame::Map { path, key, .. }) => child(path, key.as_deref().unwrap_or(value)),
        }
    }

    fn record(&mut self, path: &str, mark: Marker) {
        self.index
            .positions
            .entry(path.to_string())
            .or_insert(Location {
                line: mark.line(),
                column: mark.col() + 1,
            });
    }

    /// Path of the node that starts now, recording its position. Returns None for a
    /// mapping key (which is remembered instead).
    fn node(&mut self, mark: Marker, scalar: Option<&str>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = item(path, *next);
                *next += 1;
                self.record(&p, mark);
                Some(p)
            }
            Some(Frame::Map { path, key, seen }) => match key.take() {
                Some(k) => Some(child(path, &k)),
                None => {
                    let k = scalar.unwrap_or("?").to_string();
                    let p = child(path, &k);
                    let here = Location {
                        line: mark.line(),
                        column: mark.col() + 1,
                    };
                    if let Some(first) = seen.insert(k.clone(), here) {
                        self.index.duplicates.push(Duplicate {
                            path: p.clone(),
                            first,
                            second: here,
                        });
                    }
                    *key = Some(k);
                    self.record(&p, mark);
                    None
                }
            },
        }
    }
}

impl Builder {
    fn tag(&mut self, value: &str, mark: Marker, text: &str) {
        let path = self.scalar_path(value);
        // As written: `!!int`, not its expansion.
        let text = match text.strip_prefix("tag:yaml.org,2002:") {
            Some(core) => format!("!!{core}"),
            None => text.to_string(),
        };
        self.index.tags.push(Tag {
            path,
            at: Location {
                line: mark.line(),
                column: mark.col() + 1,
            },
            text,
        });
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(ref value, style, _, ref tag) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                if let Some(t) = tag {
                    self.tag(value, mark, &format!("{}{}", t.handle, t.suffix));
                }
                if style == TScalarStyle::Plain && !is_key {
                    let path = self.scalar_path(value);
                    self.index.plain_values.insert(path, value.clone());
                }
                if style == TScalarStyle::Plain && tag.is_none() && is_null_or_bool(value) {
                    let key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                    self.index.typed_scalars.push(TypedScalar {
                        path: self.scalar_path(value),
                        at: Location {
                            line: mark.line(),
                            column: mark.col() + 1,
                        },
                        text: value.clone(),
                        key,
                    });
                }
                if style == TScalarStyle::Plain && tag.is_none() && is_big_integer(value) {
                    let path = self.scalar_path(value);
                    self.index.big_integers.push(BigInteger {
                        path,
                        at: Location {
                            line: mark.line(),
                            column: mark.col() + 1,
                        },
                        text: value.clone(),
                    });
                }
                self.node(mark, Some(value));
            }
            Event::Alias(_) => {
                self.node(mark, Some("*"));
            }
            Event::MappingStart(_, ref tag) | Event::SequenceStart(_, ref tag) if tag.is_some() => {
                let t = tag.as_ref().expect("matched Some");
                let text = format!("{}{}", t.handle, t.suffix);
                self.tag("?", mark, &text);
                let seq = matches!(ev, Event::SequenceStart(..));
                if let Some(path) = self.node(mark, None) {
                    self.stack.push(if seq {
                        Frame::Seq { path, next: 0 }
                    } else {
                        Frame::Map {
                            path,
                            key: None,
                            seen: HashMap::new(),
                        }
                    });
                }
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.node(mark, None) {
                    self.stack.push(Frame::Map {
                        path,
                        key: None,
                        seen: HashMap::new(),
                    });
                }
            }
            Event::SequenceStart(..) => {
                if let Some(path) = self.node(mark, None) {
                    self.stack.push(Frame::Seq { path, next: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_items_have_positions() {
        let text = "package:\n  name: foo\n  depends:\n    - a\n    - b\nunits:\n  - name: x.service\n    sections:\n      Unit:\n        After: [a, b]\n";
        let idx = SpanIndex::parse(text);
        assert_eq!(
            idx.exact("package.name"),
            Some(Location { line: 2, column: 3 })
        );
        assert_eq!(
            idx.exact("package.depends[1]"),
            Some(Location { line: 5, column: 7 })
        );
        assert_eq!(
            idx.exact("units[0].name"),
            Some(Location { line: 7, column: 5 })
        );
        assert_eq!(
            idx.exact("units[0].sections.Unit.After"),
            Some(Location {
                line: 10,
                column: 9
            })
        );
        assert_eq!(
            idx.exact("units[0].sections.Unit.After[1]").map(|l| l.line),
            Some(10)
        );
        // Unknown paths fall back to the closest ancestor.
        assert_eq!(idx.locate("package.name.nope"), idx.exact("package.name"));
    }

    #[test]
    fn duplicate_keys_are_found_with_both_positions() {
        let idx = SpanIndex::parse("a:\n  b: 1\n  c: 2\n  b: 3\nd: [x]\na: 4\n");
        let d: Vec<_> = idx
            .duplicates()
            .iter()
            .map(|d| (d.path.as_str(), d.first.line, d.second.line))
            .collect();
        assert_eq!(d, [("a.b", 2, 4), ("a", 1, 6)]);
    }

    #[test]
    fn brackets_are_counted() {
        assert_eq!(too_many_brackets("a: [b]\n"), None);
        let many = format!("a:\n  {}", "[".repeat(MAX_BRACKETS + 5));
        assert_eq!(
            too_many_brackets(&many),
            Some(Location {
                line: 2,
                column: 3 + MAX_BRACKETS
            })
        );
    }

    #[test]
    fn block_nesting_is_bounded_without_recursion() {
        assert_eq!(too_deep("a:\n  - b: [c, {d: e}]\n"), None);
        let at = |text: &str| too_deep(text).map(|l| (l.line, l.column));
        assert_eq!(at(&"- ".repeat(100_000)), Some((1, 2 * MAX_DEPTH + 1)));
        assert_eq!(at(&"? ".repeat(100_000)), Some((1, 2 * MAX_DEPTH + 1)));
        let maps: String = (0..40)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        assert_eq!(at(&maps).map(|(line, _)| line), Some(MAX_DEPTH + 1));
        assert_eq!(at(&"- ".repeat(MAX_DEPTH)), None);
    }

    #[test]
    fn malformed_yaml_gives_empty_index() {
        let idx = SpanIndex::parse("a: [b\n");
        assert_eq!(idx.locate("a"), None);
    }
}
