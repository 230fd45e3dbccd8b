//! systemd unit files, parsed the way systemd reads them: `[Section]` headers,
//! `Key=Value` lines, `#`/`;` comments, backslash line continuation, repeated
//! keys that accumulate, and an empty assignment that resets the key.

pub struct UnitFile {
    entries: Vec<(String, String, String)>,
}

impl UnitFile {
    pub fn parse(text: &str) -> UnitFile {
        let mut entries = Vec::new();
        let mut section = String::new();
        let mut pending: Option<String> = None;
        for raw in text.lines() {
            let trimmed = raw.trim();
            let is_comment = trimmed.starts_with('#') || trimmed.starts_with(';');
            let mut line = match pending.take() {
                // systemd skips comment lines inside a continued line.
                Some(p) if is_comment => {
                    pending = Some(p);
                    continue;
                }
                Some(mut p) => {
                    p.push_str(trimmed);
                    p
                }
                None => {
                    if trimmed.is_empty() || is_comment {
                        continue;
                    }
                    trimmed.to_string()
                }
            };
            if line.ends_with('\\') {
                line.pop();
                line.push(' ');
                pending = Some(line);
                continue;
            }
            push_line(&mut entries, &mut section, line.trim());
        }
        if let Some(p) = pending {
            push_line(&mut entries, &mut section, p.trim());
        }
        UnitFile { entries }
    }

    /// Every value of `key` in `section`, after the last empty assignment.
    pub fn values(&self, section: &str, key: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for (s, k, v) in &self.entries {
            if s == section && k == key {
                if v.is_empty() {
                    out.clear();
                } else {
                    out.push(v.as_str());
                }
            }
        }
        out
    }

    /// Space-separated list values (Requires=, Wants=, After=…), all assignments joined.
    pub fn list(&self, section: &str, key: &str) -> Vec<&str> {
        self.values(section, key)
            .into_iter()
            .flat_map(|v| v.split_whitespace())
            .collect()
    }

    /// (section, key, value) of every assignment whose key is in `keys`, in file order.
    pub fn assignments<'a>(
        &'a self,
        keys: &'a [&str],
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> + 'a {
        self.entries
            .iter()
            .filter(move |(_, k, v)| !v.is_empty() && keys.contains(&k.as_str()))
            .map(|(s, k, v)| (s.as_str(), k.as_str(), v.as_str()))
    }
}

fn push_line(entries: &mut Vec<(String, String, String)>, section: &mut String, line: &str) {
    if line.is_empty() {
        return;
    }
    if line.starts_with('[') && line.ends_with(']') {
        *section = line[1..line.len() - 1].to_string();
        return;
    }
    // Lines without `=` are ignored, as systemd does (with a warning).
    if let Some(eq) = line.find('=') {
        let key = line[..eq].trim();
        let value = line[eq + 1..].trim();
        entries.push((section.clone(), key.to_string(), value.to_string()));
    }
}

/// The program an `Exec*=` value runs, with systemd's prefixes (`-@:+!`, `!!`)
/// removed. `ignore_failure` is true with the `-` prefix.
pub struct ExecLine<'a> {
    pub program: &'a str,
    pub ignore_failure: bool,
}

pub fn exec_program(value: &str) -> Option<ExecLine<'_>> {
    let mut rest = value.trim_start();
    let mut ignore_failure = false;
    while let Some(c) = rest.chars().next() {
        match c {
            '-' => ignore_failure = true,
            '@' | ':' | '+' | '!' => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    let rest = rest.trim_start();
    let program = if let Some(q) = rest.strip_prefix('"') {
        &q[..q.find('"').unwrap_or(q.len())]
    } else if let Some(q) = rest.strip_prefix('\'') {
        &q[..q.find('\'').unwrap_or(q.len())]
    } else {
        rest.split_whitespace().next().unwrap_or("")
    };
    if program.is_empty() {
        None
    } else {
        Some(ExecLine {
            program,
            ignore_failure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_comments_repeats_and_reset() {
        let u = UnitFile::parse(
            "# top\n[Unit]\nDescription = User Pulseaudio service\n; c\nRequires=a.service b.service\n\
             Requires=c.service\nAfter=x.service\nAfter=\nAfter=dbus.service\n\
             [Service]\nExecStart=/usr/bin/pulseaudio\n",
        );
        assert_eq!(u.values("Unit", "Description"), ["User Pulseaudio service"]);
        assert_eq!(
            u.list("Unit", "Requires"),
            ["a.service", "b.service", "c.service"]
        );
        assert_eq!(u.list("Unit", "After"), ["dbus.service"]);
        assert_eq!(u.values("Service", "ExecStart"), ["/usr/bin/pulseaudio"]);
        assert!(u.values("Service", "Requires").is_empty());
    }

    #[test]
    fn backslash_continuation() {
        let u = UnitFile::parse(
            "[Unit]\nWants=a.service \\\n# skipped comment\n  dbus.service\n[Service]\nExecStart=/bin/x \\\n  --flag\n",
        );
        assert_eq!(u.list("Unit", "Wants"), ["a.service", "dbus.service"]);
        assert_eq!(u.values("Service", "ExecStart"), ["/bin/x  --flag"]);
    }

    #[test]
    fn garbage_lines_are_ignored() {
        let u = UnitFile::parse("[Unit]\nnot an assignment\n[broken\nKey=v\n");
        assert_eq!(u.values("Unit", "Key"), ["v"]);
    }

    #[test]
    fn exec_prefixes() {
        let e = exec_program("-/usr/bin/true arg").unwrap();
        assert_eq!(e.program, "/usr/bin/true");
        assert!(e.ignore_failure);
        let e = exec_program("!!@/usr/bin/x argv0").unwrap();
        assert_eq!(e.program, "/usr/bin/x");
        assert!(!e.ignore_failure);
        assert_eq!(
            exec_program("+:\"/opt/my app/bin\" a").unwrap().program,
            "/opt/my app/bin"
        );
        assert_eq!(
            exec_program("pulseaudio --start").unwrap().program,
            "pulseaudio"
        );
        assert!(exec_program("  -").is_none());
    }
}
