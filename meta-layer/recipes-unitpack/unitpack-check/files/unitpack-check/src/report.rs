//! Findings and their text and JSON renderings.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub unit: Option<String>,
    pub verdict: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(
        code: &'static str,
        severity: Severity,
        unit: Option<&str>,
        verdict: String,
    ) -> Finding {
        Finding {
            code,
            severity,
            unit: unit.map(String::from),
            verdict,
            fix: None,
        }
    }

    pub fn fix(mut self, fix: String) -> Finding {
        self.fix = Some(fix);
        self
    }

    /// `CODE severity: [unit: ]verdict (fix: hint)`
    pub fn line(&self) -> String {
        let mut s = String::new();
        s.push_str(self.code);
        s.push(' ');
        s.push_str(self.severity.as_str());
        s.push_str(": ");
        if let Some(u) = &self.unit {
            s.push_str(u);
            s.push_str(": ");
        }
        s.push_str(&self.verdict);
        if let Some(f) = &self.fix {
            s.push_str(" (fix: ");
            s.push_str(f);
            s.push(')');
        }
        s
    }
}

pub struct PackageReport {
    pub package: String,
    pub findings: Vec<Finding>,
}

impl PackageReport {
    pub fn count(&self, sev: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == sev).count()
    }
}

pub fn json_package(out: &mut String, r: &PackageReport, systemd_running: bool) {
    out.push_str("{\"package\":");
    json_str(out, &r.package);
    out.push_str(",\"checks\":[");
    for (i, f) in r.findings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"code\":");
        json_str(out, f.code);
        out.push_str(",\"severity\":");
        json_str(out, f.severity.as_str());
        out.push_str(",\"unit\":");
        json_opt(out, f.unit.as_deref());
        out.push_str(",\"verdict\":");
        json_str(out, &f.verdict);
        out.push_str(",\"fix\":");
        json_opt(out, f.fix.as_deref());
        out.push('}');
    }
    out.push_str("],\"systemd_running\":");
    out.push_str(if systemd_running { "true" } else { "false" });
    out.push('}');
}

pub fn json_doctor(reports: &[PackageReport], systemd_running: bool) -> String {
    let mut out = String::from("{\"packages\":[");
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_package(&mut out, r, systemd_running);
    }
    out.push_str("],\"systemd_running\":");
    out.push_str(if systemd_running { "true" } else { "false" });
    out.push('}');
    out
}

fn json_opt(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) => json_str(out, s),
        None => out.push_str("null"),
    }
}

pub fn json_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let b = c as u32 as usize;
                out.push_str("\\u00");
                out.push(HEX[b >> 4] as char);
                out.push(HEX[b & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_json_strings() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\nd\te\u{1}f\u{7f}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\te\\u0001f\\u007fé\"");
    }

    #[test]
    fn package_json_shape() {
        let r = PackageReport {
            package: "p".into(),
            findings: vec![
                Finding::new("UC003", Severity::Error, Some("u.service"), "no bus".into())
                    .fix("install dbus-user-session".into()),
                Finding::new("UC001", Severity::Info, None, "chroot".into()),
            ],
        };
        let mut s = String::new();
        json_package(&mut s, &r, false);
        assert_eq!(
            s,
            "{\"package\":\"p\",\"checks\":[{\"code\":\"UC003\",\"severity\":\"error\",\"unit\":\"u.service\",\
             \"verdict\":\"no bus\",\"fix\":\"install dbus-user-session\"},{\"code\":\"UC001\",\"severity\":\"info\",\
             \"unit\":null,\"verdict\":\"chroot\",\"fix\":null}],\"systemd_running\":false}"
        );
        assert_eq!(
            json_doctor(&[], true),
            "{\"packages\":[],\"systemd_running\":true}"
        );
    }

    #[test]
    fn text_line_format() {
        let f =
            Finding::new("UC004", Severity::Warning, Some("a.service"), "x".into()).fix("y".into());
        assert_eq!(f.line(), "UC004 warning: a.service: x (fix: y)");
    }
}
