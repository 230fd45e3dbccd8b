//! Recipes as a YAML tree the fuzzer can edit: keys keep their order and may
//! repeat (serde_yaml's `Value` can hold neither), and any string, control
//! characters included, is written so that a YAML reader gets exactly it back.

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Scalar(String),
    /// A scalar written without quotes even where that changes its meaning
    /// (numbers, booleans, `null`, `~`): exercises YAML's plain-scalar rules.
    Raw(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn from_value(v: &serde_yaml::Value) -> Node {
        use serde_yaml::Value as V;
        match v {
            V::Null => Node::Raw(String::from("null")),
            V::Bool(b) => Node::Raw(b.to_string()),
            V::Number(n) => Node::Raw(n.to_string()),
            V::String(s) => Node::Scalar(s.clone()),
            V::Sequence(items) => Node::Seq(items.iter().map(Node::from_value).collect()),
            V::Mapping(m) => Node::Map(
                m.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            V::String(s) => s.clone(),
                            other => serde_yaml::to_string(other)
                                .unwrap_or_default()
                                .trim()
                                .to_string(),
                        };
                        (key, Node::from_value(v))
                    })
                    .collect(),
            ),
            V::Tagged(t) => Node::from_value(&t.value),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Number of nodes in the tree (for picking one uniformly).
    pub fn size(&self) -> usize {
        1 + match self {
            Node::Seq(items) => items.iter().map(Node::size).sum(),
            Node::Map(entries) => entries.iter().map(|(_, v)| v.size()).sum(),
            _ => 0,
        }
    }

    /// The `n`th node in pre-order, with the key it is stored under.
    pub fn nth_mut(&mut self, n: usize) -> Option<(&mut Node, Option<String>)> {
        let mut n = n;
        self.walk_mut(&mut n, None)
    }

    fn walk_mut(
        &mut self,
        n: &mut usize,
        key: Option<String>,
    ) -> Option<(&mut Node, Option<String>)> {
        if *n == 0 {
            return Some((self, key));
        }
        *n -= 1;
        match self {
            Node::Seq(items) => {
                for item in items.iter_mut() {
                    let size = item.size();
                    if *n < size {
                        return item.walk_mut(n, None);
                    }
                    *n -= size;
                }
                None
            }
            Node::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    let size = v.size();
                    if *n < size {
                        return v.walk_mut(n, Some(k.clone()));
                    }
                    *n -= size;
                }
                None
            }
            _ => None,
        }
    }

    /// Number of map entries and sequence items (what `without` can drop).
    pub fn removable(&self) -> usize {
        match self {
            Node::Seq(items) => items.iter().map(|v| 1 + v.removable()).sum(),
            Node::Map(entries) => entries.iter().map(|(_, v)| 1 + v.removable()).sum(),
            _ => 0,
        }
    }

    /// The tree without its `k`th map entry or sequence item (pre-order).
    pub fn without(&self, k: usize) -> Node {
        let mut t = self.clone();
        let mut k = k;
        t.drop_nth(&mut k);
        t
    }

    fn drop_nth(&mut self, k: &mut usize) -> bool {
        match self {
            Node::Seq(items) => {
                for i in 0..items.len() {
                    if *k == 0 {
                        items.remove(i);
                        return true;
                    }
                    *k -= 1;
                    if items[i].drop_nth(k) {
                        return true;
                    }
                }
                false
            }
            Node::Map(entries) => {
                for i in 0..entries.len() {
                    if *k == 0 {
                        entries.remove(i);
                        return true;
                    }
                    *k -= 1;
                    if entries[i].1.drop_nth(k) {
                        return true;
                    }
                }
                false
            }
            _ => false,
        }
    }

    /// A key appears twice in one map somewhere in the tree.
    pub fn has_duplicate_keys(&self) -> bool {
        match self {
            Node::Seq(items) => items.iter().any(Node::has_duplicate_keys),
            Node::Map(entries) => {
                entries
                    .iter()
                    .enumerate()
                    .any(|(i, (k, _))| entries[..i].iter().any(|(o, _)| o == k))
                    || entries.iter().any(|(_, v)| v.has_duplicate_keys())
            }
            _ => false,
        }
    }

    pub fn emit(&self) -> String {
        let mut out = String::new();
        match self {
            Node::Map(_) | Node::Seq(_) => emit_block(self, 0, &mut out),
            _ => {
                out.push_str(&scalar(self));
                out.push('\n');
            }
        }
        out
    }
}

fn emit_block(node: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match node {
        Node::Map(entries) => {
            for (k, v) in entries {
                out.push_str(&pad);
                out.push_str(&key(k));
                out.push(':');
                emit_value(v, indent, out);
            }
        }
        Node::Seq(items) => {
            for v in items {
                out.push_str(&pad);
                out.push('-');
                match v {
                    Node::Map(entries) if !entries.is_empty() => {
                        // `- key: value` with the rest of the map indented below.
                        let mut inner = String::new();
                        emit_block(v, indent + 2, &mut inner);
                        out.push(' ');
                        out.push_str(&inner[indent + 2..]);
                    }
                    _ => emit_value(v, indent, out),
                }
            }
        }
        _ => {}
    }
}

fn emit_value(v: &Node, indent: usize, out: &mut String) {
    match v {
        Node::Map(e) if e.is_empty() => out.push_str(" {}\n"),
        Node::Seq(s) if s.is_empty() => out.push_str(" []\n"),
        Node::Map(_) | Node::Seq(_) => {
            out.push('\n');
            emit_block(v, indent + 2, out);
        }
        _ => {
            out.push(' ');
            out.push_str(&scalar(v));
            out.push('\n');
        }
    }
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.@-".contains(c))
    {
        k.to_string()
    } else {
        double_quoted(k)
    }
}

fn scalar(v: &Node) -> String {
    match v {
        Node::Raw(s) => s.clone(),
        Node::Scalar(s) if plain_safe(s) => s.clone(),
        Node::Scalar(s) => double_quoted(s),
        _ => String::new(),
    }
}

/// A string a YAML 1.2 reader gets back unchanged, as a string, without quotes.
fn plain_safe(s: &str) -> bool {
    let first = match s.chars().next() {
        Some(c) => c,
        None => return false,
    };
    if "-?:,[]{}#&*!|>'\"%@` ".contains(first) || s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    if s.contains(": ")
        || s.contains(" #")
        || s.chars().any(|c| {
            c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' || c == '\u{85}'
        })
    {
        return false;
    }
    // Anything YAML would read as another type stays quoted.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) || s.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+')
    {
        return false;
    }
    true
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20
                || c == '\u{7f}'
                || c == '\u{85}'
                || c == '\u{feff}'
                || c == '\u{2028}'
                || c == '\u{2029}' =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_string_survives_a_round_trip() {
        let hostile = [
            "plain",
            "a: b",
            "x #y",
            "\0nul",
            "tab\there",
            "line\nbreak",
            "back\\slash\\",
            "\u{b}\u{c}\u{2028}\u{85}",
            "yes",
            "1.0",
            "-x",
            "'q'",
            "\"dq\"",
            " lead",
            "trail ",
            "日本",
            "%U",
            "${IFS}",
            "",
        ];
        for s in hostile {
            let tree = Node::Map(vec![
                (String::from("k"), Node::Scalar(s.to_string())),
                (
                    String::from("l"),
                    Node::Seq(vec![Node::Map(vec![(
                        String::from("n\n"),
                        Node::Scalar(s.to_string()),
                    )])]),
                ),
            ]);
            let text = tree.emit();
            let v: serde_yaml::Value =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(v["k"].as_str(), Some(s), "{text}");
            assert_eq!(v["l"][0]["n\n"].as_str(), Some(s), "{text}");
            assert_eq!(Node::from_value(&v), tree);
        }
    }
}
