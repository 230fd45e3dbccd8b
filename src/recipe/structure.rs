//! The shape of a recipe, checked against its JSON Schema (schema.rs, derived from the
//! serde types) before serde reads it: serde stops at the first unknown key or wrong
//! type, this walk reports every one at once, each with its line and field, a "did you
//! mean" for a misspelt key, the indentation for a key that landed in the wrong
//! mapping, and the YAML 1.1 readings (`yes`, `1.10`, `0755`) that other YAML tools
//! give a value unitpack would read as text.

use super::spans::{child, item, SpanIndex};
use crate::error::{InputError, Location};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::path::Path;

/// What is wrong, for tests and tools that sort problems without reading prose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not YAML at all (the parser's own message follows).
    Syntax,
    /// A tab in a line's indentation: YAML indents with spaces only.
    Tab,
    /// A line indented so that it belongs to another mapping than the one meant.
    Indentation,
    /// A key the schema does not have at this level, with the closest one that it has.
    UnknownKey { suggestion: Option<String> },
    /// A required key left out.
    Missing,
    /// A value of another type than the field's (a list for text, text for a mapping).
    WrongType,
    /// A value outside the field's list of values.
    NotOneOf { suggestion: Option<String> },
    /// `yes`/`no`/`on`/`off`/`y`/`n` unquoted: text to YAML 1.2 (serde_yaml), a boolean
    /// to YAML 1.1 tools.
    Yaml11Boolean,
    /// A number where the field is text (`version: 1.10` is the float 1.1 to YAML).
    NumberForText,
    /// A number beyond the field's range.
    OutOfRange,
}

/// One problem with a recipe's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// Dotted path of the field (`units[0].scope`); empty for the whole document.
    pub field: String,
    pub location: Option<Location>,
    pub message: String,
}

impl Problem {
    pub fn to_input_error(&self, file: &Path) -> InputError {
        InputError::new(
            file,
            self.location,
            self.field.clone(),
            self.message.clone(),
        )
    }
}

/// Spellings YAML 1.1 reads as booleans and YAML 1.2 (serde_yaml) as text. `true` and
/// `false` are booleans to both and reach the walk as such.
fn yaml11_boolean(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Plain text that serde_yaml keeps as text but YAML 1.1 tools read as a number
/// (`0755` octal, `0b101`, `1_000`), and how they read it.
fn yaml11_number(text: &str) -> Option<String> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        let octal = i64::from_str_radix(digits, 8)
            .map(|v| format!("the octal number {v}"))
            .unwrap_or_else(|_| "no number (8 and 9 are not octal digits)".into());
        return Some(format!(
            "{octal} to YAML 1.1 tools and the number {} to YAML 1.2 ones",
            digits.trim_start_matches('0').parse::<u64>().unwrap_or(0)
        ));
    }
    let binary = digits
        .strip_prefix("0b")
        .is_some_and(|b| !b.is_empty() && b.bytes().all(|c| matches!(c, b'0' | b'1' | b'_')));
    let grouped = digits.contains('_')
        && digits
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'_' || c == b'.')
        && digits.bytes().any(|c| c.is_ascii_digit());
    (binary || grouped).then(|| "a number to YAML 1.1 tools".to_string())
}

/// Whether a YAML 1.1 tool reads plain `text` as a boolean or a number where serde_yaml
/// (YAML 1.2) reads text: what `unitpack new` must quote.
pub fn yaml11_reads_otherwise(text: &str) -> bool {
    yaml11_boolean(text).is_some() || yaml11_number(text).is_some()
}

/// Every structural problem of the recipe `text` (already screened: no tags, no keys
/// given twice, bounded nesting), sorted by position; empty when serde can read it.
pub fn check(text: &str, spans: &SpanIndex) -> Vec<Problem> {
    let value: Yaml = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![syntax_problem(text, &e)],
    };
    let schema = super::json_schema();
    let mut walk = Walk {
        root: &schema,
        spans,
        problems: Vec::new(),
        unknown: Vec::new(),
        missing: Vec::new(),
        lenient: false,
    };
    walk.node(&schema, &value, "");
    let mut problems = walk.finish();
    problems.sort_by_key(|p| (p.location.is_none(), p.location));
    problems
}

/// A parse error of serde_yaml, at the position it gives (`location()`), with what
/// the indentation of the lines up to it says about the cause.
pub fn syntax_problem(text: &str, e: &serde_yaml::Error) -> Problem {
    let location = e.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    // The message repeats the position that `location()` gives as data; drop that
    // repetition, keep the rest (the context's own position included).
    let mut message = e.to_string();
    if let Some(l) = &location {
        message = message.replacen(&format!(" at line {} column {}", l.line, l.column), "", 1);
    }
    if let Some(l) = location {
        if let Some((at, why)) = tab_before(text, l.line) {
            return Problem {
                kind: ProblemKind::Tab,
                field: String::new(),
                location: Some(at),
                message: format!("{why} (the YAML parser: {message})"),
            };
        }
        if let Some((at, why)) = indentation_at(text, l.line) {
            return Problem {
                kind: ProblemKind::Indentation,
                field: String::new(),
                location: Some(at),
                message: format!("{why} (the YAML parser: {message})"),
            };
        }
    }
    Problem {
        kind: ProblemKind::Syntax,
        field: String::new(),
        location,
        message: format!("not valid YAML: {message}"),
    }
}

/// The first line up to `line` (and the one after: the parser may stop there) whose
/// indentation holds a tab.
fn tab_before(text: &str, line: usize) -> Option<(Location, String)> {
    text.lines().enumerate().take(line + 1).find_map(|(i, l)| {
        let content = l.trim_start_matches([' ', '\t']);
        let indent = &l[..l.len() - content.len()];
        // A blank line's whitespace indents nothing.
        let col = indent.find('\t').filter(|_| !content.is_empty())?;
        Some((
            Location {
                line: i + 1,
                column: col + 1,
            },
            format!(
                "line {} is indented with a tab; YAML indents with spaces only",
                i + 1
            ),
        ))
    })
}

/// One level of the block structure above a line: the column its content starts at,
/// its line, and whether it opens a nested block (`key:` with no value, `- `, `|`).
struct Level {
    column: usize,
    line: usize,
    opens: bool,
}

/// Why the indentation of line `error_line` or the line before it does not fit the
/// lines above, if it does not. Only the block structure is followed: flow
/// collections and block scalars are skipped over.
fn indentation_at(text: &str, error_line: usize) -> Option<(Location, String)> {
    let mut stack: Vec<Level> = Vec::new();
    let mut block_scalar: Option<usize> = None;
    let mut flow_depth = 0i64;
    // (line, indentation) of the block lines so far.
    let mut content_lines: Vec<(usize, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate().take(error_line) {
        let n = i + 1;
        let content = raw.trim_start_matches(' ');
        let indent = raw.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(parent) = block_scalar {
            if indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if flow_depth > 0 {
            flow_depth += depth_change(content);
            continue;
        }
        // `- - key: v`: every dash is a level, then the key.
        let mut column = indent;
        let mut rest = content;
        let mut levels = Vec::new();
        while let Some(after) =
            rest.strip_prefix("- ")
                .or(if rest == "-" { Some("") } else { None })
        {
            levels.push(column);
            let skipped = rest.len() - after.trim_start_matches(' ').len();
            column += skipped;
            rest = after.trim_start_matches(' ');
        }
        let value = rest
            .split_once(": ")
            .map(|(_, v)| v.trim())
            .or_else(|| rest.strip_suffix(':').map(|_| ""));
        let opens = match value {
            Some(v) => v.is_empty() || v.starts_with('#') || v.starts_with('&'),
            None => rest.is_empty(),
        };
        if n + 1 >= error_line {
            // A line pulled out of its mapping between two of its keys: the parser
            // stops at the key after it, the fault is the line before.
            if let [.., (before, b), (p, c)] = content_lines.as_slice() {
                if *b == indent && *c < indent {
                    return Some((
                        Location {
                            line: *p,
                            column: c + 1,
                        },
                        format!(
                            "line {p} starts at column {}, between lines {before} and {n} at column {}: indent it to column {} as they are",
                            c + 1,
                            indent + 1,
                            indent + 1
                        ),
                    ));
                }
            }
            if let Some(last) = stack.last() {
                if indent > last.column && !last.opens {
                    return Some((
                        Location {
                            line: n,
                            column: indent + 1,
                        },
                        format!(
                            "line {n} is indented deeper (column {}) than line {} (column {}), whose key already has a value: indent it to column {} to make it a sibling, or move the value of line {} below it",
                            indent + 1,
                            last.line,
                            last.column + 1,
                            last.column + 1,
                            last.line
                        ),
                    ));
                }
                if indent < last.column && !stack.iter().any(|l| l.column == indent) {
                    let columns: Vec<String> = stack
                        .iter()
                        .filter(|l| l.column < last.column || l.line == last.line)
                        .map(|l| (l.column + 1).to_string())
                        .collect();
                    return Some((
                        Location {
                            line: n,
                            column: indent + 1,
                        },
                        format!(
                            "line {n} starts at column {}, which matches none of the mappings it could belong to (columns {}): indent it like the keys it belongs with",
                            indent + 1,
                            columns.join(", ")
                        ),
                    ));
                }
            }
        }
        content_lines.push((n, indent));
        while stack.last().is_some_and(|l| l.column >= indent) {
            stack.pop();
        }
        for c in levels {
            stack.push(Level {
                column: c,
                line: n,
                opens: true,
            });
        }
        stack.push(Level {
            column,
            line: n,
            opens,
        });
        if let Some(v) = value {
            if v.starts_with(['|', '>']) {
                block_scalar = Some(indent);
            }
            flow_depth += depth_change(v);
        }
    }
    None
}

/// `[` and `{` opened minus closed, outside quotes: how far a line leaves a flow
/// collection open.
fn depth_change(s: &str) -> i64 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, '#') => break,
            _ => {}
        }
    }
    depth
}

struct Unknown {
    /// The mapping's path and the keys its schema has.
    parent: String,
    known: Vec<String>,
    key: String,
}

struct MissingKey {
    parent: String,
    key: String,
    /// A key the mapping does have, for the column its keys start at.
    sibling: Option<String>,
}

struct Walk<'a> {
    root: &'a Json,
    spans: &'a SpanIndex,
    problems: Vec<Problem>,
    unknown: Vec<Unknown>,
    missing: Vec<MissingKey>,
    /// Inside one alternative of several (a directive's value: text, number or
    /// boolean): no YAML 1.1 checks, the alternatives decide.
    lenient: bool,
}

fn kind_of(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "nothing (YAML's null)",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "text",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

fn type_name(t: &str) -> &'static str {
    match t {
        "string" => "text",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        "array" => "a list (`- item` lines or `[a, b]`)",
        "object" => "a mapping (`key: value` lines)",
        _ => "nothing",
    }
}

fn fits(t: &str, v: &Yaml) -> bool {
    match (t, v) {
        ("null", Yaml::Null)
        | ("boolean", Yaml::Bool(_))
        | ("string", Yaml::String(_))
        | ("array", Yaml::Sequence(_))
        | ("object", Yaml::Mapping(_))
        | ("number", Yaml::Number(_)) => true,
        ("integer", Yaml::Number(n)) => n.is_i64() || n.is_u64(),
        _ => false,
    }
}

fn key_text(k: &Yaml) -> String {
    match k {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => "~".into(),
        other => format!("{other:?}"),
    }
}

/// The closest of `candidates` to `wrong`, if it is close enough to be what was meant:
/// one edit (two for names of six letters or more: `licence`, `enabled`, `sumary`),
/// or the same letters in another case.
pub fn did_you_mean<'c>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let lower = wrong.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let d = if c.to_ascii_lowercase() == lower {
                0
            } else {
                strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase())
            };
            (d, c)
        })
        .filter(|(d, c)| *d <= if c.len().min(wrong.len()) >= 6 { 2 } else { 1 })
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

impl<'a> Walk<'a> {
    fn resolve(&self, mut node: &'a Json) -> &'a Json {
        while let Some(r) = node.get("$ref").and_then(Json::as_str) {
            node = &self.root["$defs"][r.trim_start_matches("#/$defs/")];
        }
        node
    }

    fn push(&mut self, kind: ProblemKind, field: &str, message: String) {
        self.problems.push(Problem {
            kind,
            field: field.to_string(),
            location: self.spans.locate(field),
            message,
        });
    }

    fn node(&mut self, schema: &'a Json, value: &Yaml, path: &str) {
        let schema = self.resolve(schema);
        if let Some(alts) = schema.get("anyOf").and_then(Json::as_array) {
            return self.any_of(alts, value, path);
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        if !types.is_empty() && !types.iter().any(|t| fits(t, value)) {
            let words: Vec<&str> = schema
                .get("enum")
                .and_then(Json::as_array)
                .map(|e| e.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            return self.wrong_type(&types, &words, value, path);
        }
        match value {
            Yaml::Mapping(m) => self.mapping(schema, m, path),
            Yaml::Sequence(items) => {
                if let Some(each) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.node(each, v, &item(path, i));
                    }
                }
            }
            Yaml::String(s) => {
                if !self.lenient && !types.contains(&"boolean") {
                    if let (Some(b), Some(_)) = (yaml11_boolean(s), self.spans.plain_text(path)) {
                        return self.push(
                            ProblemKind::Yaml11Boolean,
                            path,
                            format!(
                                "{s} unquoted is the boolean {b} to YAML 1.1 tools (yaml-language-server, PyYAML) and the text {s:?} to unitpack; quote it: \"{s}\""
                            ),
                        );
                    }
                }
                if !self.lenient && !types.contains(&"number") {
                    if let (Some(reading), Some(_)) =
                        (yaml11_number(s), self.spans.plain_text(path))
                    {
                        return self.push(
                            ProblemKind::NumberForText,
                            path,
                            format!("{s} unquoted is {reading}, where this field is text; quote it: \"{s}\""),
                        );
                    }
                }
                self.one_of(schema, value, path);
            }
            Yaml::Number(n) => {
                self.one_of(schema, value, path);
                // A `maximum` the schema states is the loader's own limit, checked
                // with its message there; the width of the type is checked here.
                let max = match schema.get("format").and_then(Json::as_str) {
                    Some("uint32") => Some(u64::from(u32::MAX)),
                    _ => None,
                };
                let min = schema.get("minimum").and_then(Json::as_i64);
                let low = min.is_some_and(|m| n.as_i64().is_some_and(|v| v < m));
                let high = max.is_some_and(|m| {
                    n.as_u64().is_none_or(|v| v > m) && n.as_i64().is_none_or(|v| v >= 0)
                });
                if low || high {
                    self.push(
                        ProblemKind::OutOfRange,
                        path,
                        format!(
                            "{n} is out of range ({} to {})",
                            min.unwrap_or(i64::MIN),
                            max.unwrap_or(u64::MAX)
                        ),
                    );
                }
            }
            _ => self.one_of(schema, value, path),
        }
    }

    /// `enum`: the value is one of the listed ones. Not `target` (`--target` overrides
    /// it; the loader names the known profiles) nor `compression` (the loader names
    /// the ones the target's dpkg reads).
    fn one_of(&mut self, schema: &Json, value: &Yaml, path: &str) {
        if matches!(path, "target" | "compression") {
            return;
        }
        let Some(values) = schema.get("enum").and_then(Json::as_array) else {
            return;
        };
        let as_json = match serde_json::to_value(value) {
            Ok(j) => j,
            Err(_) => return,
        };
        if values.contains(&as_json) {
            return;
        }
        let names: Vec<&str> = values.iter().filter_map(Json::as_str).collect();
        let suggestion = value
            .as_str()
            .and_then(|s| did_you_mean(s, names.iter().copied()))
            .map(str::to_string);
        let shown = match value {
            Yaml::String(s) => format!("{s:?}"),
            other => serde_json::to_string(&as_json).unwrap_or_else(|_| kind_of(other).into()),
        };
        let mut message = match names.as_slice() {
            [only] => format!("{shown} is not allowed here; the only value is `{only}`"),
            _ => format!("{shown} is not one of {}", names.join(", ")),
        };
        if let Some(s) = &suggestion {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        self.push(ProblemKind::NotOneOf { suggestion }, path, message);
    }

    fn any_of(&mut self, alts: &'a [Json], value: &Yaml, path: &str) {
        let is_null = |a: &Json| self.resolve(a).get("type").and_then(Json::as_str) == Some("null");
        if value.is_null() && alts.iter().any(is_null) {
            return;
        }
        let real: Vec<&'a Json> = alts.iter().filter(|a| !is_null(a)).collect();
        if let [only] = real.as_slice() {
            return self.node(only, value, path);
        }
        for alt in &real {
            let mut sub = Walk {
                root: self.root,
                spans: self.spans,
                problems: Vec::new(),
                unknown: Vec::new(),
                missing: Vec::new(),
                lenient: true,
            };
            sub.node(alt, value, path);
            if sub.problems.is_empty() && sub.unknown.is_empty() && sub.missing.is_empty() {
                return;
            }
        }
        let shapes: Vec<String> = real.iter().map(|a| self.describe(a)).collect();
        self.push(
            ProblemKind::WrongType,
            path,
            format!("expected {}, found {}", shapes.join(" or "), kind_of(value)),
        );
    }

    fn describe(&self, schema: &'a Json) -> String {
        let schema = self.resolve(schema);
        if let Some(alts) = schema.get("anyOf").and_then(Json::as_array) {
            let names: Vec<String> = alts.iter().map(|a| self.describe(a)).collect();
            return names.join(" or ");
        }
        match schema.get("type").and_then(Json::as_str) {
            Some("array") => match schema.get("items") {
                Some(each) => format!("a list of {}", self.describe(each)),
                None => type_name("array").into(),
            },
            Some(t) => type_name(t).into(),
            None => "a value".into(),
        }
    }

    /// `words`: the field's closed set of values (the schema's `enum`), if it has one.
    fn wrong_type(&mut self, types: &[&str], words: &[&str], value: &Yaml, path: &str) {
        let wants = |t: &str| types.contains(&t);
        let plain = self.spans.plain_text(path).map(str::to_string);
        match value {
            Yaml::Number(n) if wants("string") => {
                let text = plain.unwrap_or_else(|| n.to_string());
                let reading = if text == n.to_string() {
                    format!("the number {n}")
                } else {
                    format!("the number {n}, not {text:?},")
                };
                let octal = text.len() > 1
                    && text.starts_with('0')
                    && text.chars().all(|c| c.is_ascii_digit());
                let also = if octal {
                    format!(
                        " (and YAML 1.1 tools read it as octal, {})",
                        i64::from_str_radix(&text, 8)
                            .map(|v| v.to_string())
                            .unwrap_or_else(|_| "an error".into())
                    )
                } else {
                    String::new()
                };
                self.push(
                    ProblemKind::NumberForText,
                    path,
                    format!(
                        "{text} is {reading} to YAML tools{also}, where this field is text; quote it: \"{text}\""
                    ),
                );
            }
            Yaml::String(s) if wants("boolean") && plain.is_some() && yaml11_boolean(s).is_some() => {
                let b = yaml11_boolean(s).unwrap_or_default();
                self.push(
                    ProblemKind::Yaml11Boolean,
                    path,
                    format!(
                        "{s} is a boolean only to YAML 1.1 tools; unitpack reads YAML 1.2, where it is text: write {b}"
                    ),
                );
            }
            // A field of words: quoting the boolean would only lead to the next error.
            Yaml::Bool(b) if wants("string") && !words.is_empty() => self.push(
                ProblemKind::WrongType,
                path,
                format!("{b} is YAML's boolean here, where this field takes one of: {}", words.join(", ")),
            ),
            Yaml::Bool(b) if wants("string") => self.push(
                ProblemKind::WrongType,
                path,
                format!("{b} is YAML's boolean here, where this field is text; quote it if the text is meant: \"{b}\""),
            ),
            Yaml::Null => {
                let expected = types.iter().map(|t| type_name(t)).collect::<Vec<_>>().join(" or ");
                let message = match plain.as_deref() {
                    Some(text) if !text.is_empty() => format!(
                        "{text} is YAML's null here, where this field is {expected}; quote it if the text is meant, or give a value"
                    ),
                    _ => format!("has no value (YAML's null here); expected {expected}"),
                };
                self.push(ProblemKind::Missing, path, message)
            }
            _ => {
                let expected: Vec<&str> =
                    types.iter().filter(|t| **t != "null").map(|t| type_name(t)).collect();
                let mut message = format!("expected {}, found {}", expected.join(" or "), kind_of(value));
                if let Some(key) = first_key(value).filter(|_| !expected.contains(&"a mapping (`key: value` lines)")) {
                    message.push_str(&format!(
                        "; if `{key}:` is meant as a key beside `{}`, indent it as that key is",
                        path.rsplit(['.', '[']).next().unwrap_or(path)
                    ));
                }
                self.push(ProblemKind::WrongType, path, message);
            }
        }
    }

    fn mapping(&mut self, schema: &'a Json, m: &serde_yaml::Mapping, path: &str) {
        let props = schema.get("properties").and_then(Json::as_object);
        let extra = schema.get("additionalProperties").filter(|a| a.is_object());
        for (k, v) in m {
            let key = key_text(k);
            let p = child(path, &key);
            if let Some(s) = props.and_then(|ps| ps.get(&key)) {
                self.node(s, v, &p);
            } else if let Some(s) = extra {
                self.node(s, v, &p);
            } else {
                self.unknown.push(Unknown {
                    parent: path.to_string(),
                    known: props
                        .map(|ps| ps.keys().cloned().collect())
                        .unwrap_or_default(),
                    key,
                });
            }
        }
        let sibling = m.keys().next().map(key_text);
        for r in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
        {
            if !m.contains_key(r) {
                self.missing.push(MissingKey {
                    parent: path.to_string(),
                    key: r.to_string(),
                    sibling: sibling.clone(),
                });
            }
        }
    }

    /// Unknown keys and missing ones, paired when one is the other in the wrong
    /// mapping (the indentation moved it).
    fn finish(mut self) -> Vec<Problem> {
        let mut missing = std::mem::take(&mut self.missing);
        for u in std::mem::take(&mut self.unknown) {
            let here = child(&u.parent, &u.key);
            let at = self.spans.exact(&here);
            if let Some(i) = missing.iter().position(|m| m.key == u.key) {
                let m = missing.remove(i);
                let columns = m
                    .sibling
                    .as_deref()
                    .and_then(|s| self.spans.exact(&child(&m.parent, s)))
                    .map(|l| format!(" (whose keys start at column {})", l.column))
                    .unwrap_or_default();
                let owner = if m.parent.is_empty() {
                    "the top level".to_string()
                } else {
                    format!("`{}`", m.parent)
                };
                let current = if u.parent.is_empty() {
                    "the top level".to_string()
                } else {
                    format!("`{}`", u.parent)
                };
                self.problems.push(Problem {
                    kind: ProblemKind::Indentation,
                    field: child(&m.parent, &m.key),
                    location: at,
                    message: format!(
                        "`{}` belongs to {owner}{columns}, but its indentation{} makes it a key of {current}: indent it as the other keys of {owner}",
                        u.key,
                        at.map(|l| format!(" (column {})", l.column)).unwrap_or_default()
                    ),
                });
                continue;
            }
            let suggestion =
                did_you_mean(&u.key, u.known.iter().map(String::as_str)).map(str::to_string);
            let mut message = format!("unknown field `{}`", u.key);
            // The misspelt key is the required one left out: one problem, not two.
            let was_missing = suggestion.as_ref().and_then(|s| {
                missing
                    .iter()
                    .position(|m| m.parent == u.parent && &m.key == s)
            });
            if let Some(i) = was_missing {
                missing.remove(i);
            }
            match &suggestion {
                Some(s) if was_missing.is_some() => {
                    message.push_str(&format!("; did you mean `{s}`? (`{s}` is required)"))
                }
                Some(s) => message.push_str(&format!("; did you mean `{s}`?")),
                None if !u.known.is_empty() => {
                    message.push_str(&format!("; expected one of {}", u.known.join(", ")))
                }
                None => {}
            }
            self.problems.push(Problem {
                kind: ProblemKind::UnknownKey { suggestion },
                field: here.clone(),
                location: at.or_else(|| self.spans.locate(&here)),
                message,
            });
        }
        for m in missing {
            let field = child(&m.parent, &m.key);
            self.problems.push(Problem {
                kind: ProblemKind::Missing,
                location: self
                    .spans
                    .locate(&m.parent)
                    .or(Some(Location { line: 1, column: 1 })),
                message: format!(
                    "missing field `{}`{}",
                    m.key,
                    if m.parent.is_empty() {
                        String::new()
                    } else {
                        format!(" in `{}`", m.parent)
                    }
                ),
                field,
            });
        }
        self.problems
    }
}

fn first_key(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Mapping(m) => m.keys().next().map(key_text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(ProblemKind, String, Option<usize>)> {
        let spans = SpanIndex::parse(text);
        check(text, &spans)
            .into_iter()
            .map(|p| (p.kind, p.field, p.location.map(|l| l.line)))
            .collect()
    }

    const BASE: &str = "package:\n  name: x1\n  version: \"1\"\n  maintainer: A <a@b.c>\n  summary: s\n  license: MIT\n";

    #[test]
    fn a_valid_recipe_has_no_problems() {
        assert_eq!(problems(BASE), []);
        let full = format!(
            "{BASE}units:\n  - name: a.service\n    scope: user\n    sections:\n      Service:\n        ExecStart: [/bin/a, /bin/b]\n        RemainAfterExit: yes\n        Nice: 5\nscripts: ~\n"
        );
        assert_eq!(problems(&full), []);
    }

    #[test]
    fn every_problem_at_once() {
        let text = "package:\n  name: x1\n  version: 1.10\n  maintainer: A <a@b.c>\n  licence: MIT\nstrict: yes\nunits:\n  - scope: sytem\n    enabled: true\n  - scope: user\n    instances: a\n";
        let got = problems(text);
        assert_eq!(
            got,
            [
                (ProblemKind::Missing, "package.summary".into(), Some(1)),
                (
                    ProblemKind::NumberForText,
                    "package.version".into(),
                    Some(3)
                ),
                (
                    ProblemKind::UnknownKey {
                        suggestion: Some("license".into())
                    },
                    "package.licence".into(),
                    Some(5)
                ),
                (ProblemKind::Yaml11Boolean, "strict".into(), Some(6)),
                (
                    ProblemKind::NotOneOf {
                        suggestion: Some("system".into())
                    },
                    "units[0].scope".into(),
                    Some(8)
                ),
                (
                    ProblemKind::UnknownKey {
                        suggestion: Some("enable".into())
                    },
                    "units[0].enabled".into(),
                    Some(9)
                ),
                (
                    ProblemKind::WrongType,
                    "units[1].instances".into(),
                    Some(11)
                ),
            ]
        );
        // `licence` is `license` misspelt: one problem, not a second "missing".
        assert!(!got.iter().any(|p| p.1 == "package.license"));
    }

    #[test]
    fn a_key_in_the_wrong_mapping_is_an_indentation_problem() {
        let text = "package:\n  name: x1\n  version: \"1\"\n  maintainer: A <a@b.c>\n  license: MIT\nsummary: s\n";
        let spans = SpanIndex::parse(text);
        let got = check(text, &spans);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].kind, ProblemKind::Indentation);
        assert_eq!(got[0].field, "package.summary");
        assert_eq!(got[0].location, Some(Location { line: 6, column: 1 }));
        assert!(got[0].message.contains("column 3"), "{}", got[0].message);
    }

    #[test]
    fn yaml_1_1_traps() {
        for (line, kind) in [
            ("  summary: yes\n", ProblemKind::Yaml11Boolean),
            ("  summary: Off\n", ProblemKind::Yaml11Boolean),
            ("  summary: \"yes\"\n", ProblemKind::Missing),
            ("  summary: 0755\n", ProblemKind::NumberForText),
            ("  summary: 1e3\n", ProblemKind::NumberForText),
            ("  summary: true\n", ProblemKind::WrongType),
            ("  summary:\n", ProblemKind::Missing),
        ] {
            let text = BASE.replace("  summary: s\n", line);
            let got = problems(&text);
            if line.contains("\"yes\"") {
                assert_eq!(got, [], "{line}");
                continue;
            }
            assert_eq!(got, [(kind, "package.summary".into(), Some(5))], "{line}");
        }
        let mode = format!(
            "{BASE}assets:\n  - source: a\n    dest: /etc/a\n    mode: 0755\n    conffile: no\n"
        );
        assert_eq!(
            problems(&mode),
            [
                (
                    ProblemKind::NumberForText,
                    "assets[0].mode".into(),
                    Some(10)
                ),
                (
                    ProblemKind::Yaml11Boolean,
                    "assets[0].conffile".into(),
                    Some(11)
                ),
            ]
        );
        let spans = SpanIndex::parse(&mode);
        let msg = &check(&mode, &spans)[0].message;
        assert!(
            msg.contains("octal number 493") && msg.contains("\"0755\""),
            "{msg}"
        );
    }

    #[test]
    fn tabs_and_indentation_in_unparsable_yaml() {
        let tab = BASE.replace("  license: MIT\n", "\tlicense: MIT\n");
        let spans = SpanIndex::parse(&tab);
        let got = check(&tab, &spans);
        assert_eq!(got[0].kind, ProblemKind::Tab, "{got:?}");
        assert_eq!(got[0].location.map(|l| l.line), Some(6));

        let deeper = BASE.replace("  version: \"1\"\n", "    version: \"1\"\n");
        let got = problems(&deeper);
        assert_eq!(got, [(ProblemKind::Indentation, String::new(), Some(3))]);

        let between = BASE.replace("  version: \"1\"\n", " version: \"1\"\n");
        let got = problems(&between);
        assert_eq!(got, [(ProblemKind::Indentation, String::new(), Some(3))]);

        let broken = BASE.replace("  summary: s\n", "  summary: [s\n");
        let got = problems(&broken);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, ProblemKind::Syntax);
    }

    /// Issue 25, item 5: `enable: true` is told the words the field takes, not to
    /// quote `"true"` (which the next run would refuse as no enablement); a text field
    /// is still told to quote.
    #[test]
    fn a_boolean_in_a_field_of_words_names_the_words() {
        let text = format!(
            "{BASE}units:\n  - name: a.service\n    scope: user\n    enable: true\n    sections: {{}}\n"
        );
        let spans = SpanIndex::parse(&text);
        let got = check(&text, &spans);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].field, "units[0].enable");
        assert!(
            got[0]
                .message
                .ends_with("takes one of: global, enable, enable-and-start, none")
                && !got[0].message.contains("quote"),
            "{}",
            got[0].message
        );
        let text = BASE.replace("summary: s", "summary: true");
        let spans = SpanIndex::parse(&text);
        let got = check(&text, &spans);
        assert!(
            got[0].message.contains("quote it if the text is meant"),
            "{got:?}"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("licence", ["license", "name"]),
            Some("license")
        );
        assert_eq!(did_you_mean("Name", ["license", "name"]), Some("name"));
        assert_eq!(did_you_mean("xyz", ["license", "name"]), None);
        assert_eq!(
            did_you_mean("ubuntu-warty", ["ubuntu-jammy", "ubuntu-xenial"]),
            None
        );
        assert_eq!(
            did_you_mean("dependss", ["depends", "recommends"]),
            Some("depends")
        );
    }
}
