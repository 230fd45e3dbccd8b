//! The verdict of a run: one line per check (the failing unit's journal under a failed
//! one), the time of each phase, as text for people and JSON for CI.

use std::time::Duration;

/// One check against the booted target.
#[derive(Debug, Clone)]
pub struct Check {
    /// The lifecycle step it belongs to: `boot`, `install`, `login`, `upgrade`, …
    pub step: &'static str,
    /// The unit it is about, when it is about one.
    pub unit: Option<String>,
    /// What was checked, said as what must hold.
    pub what: String,
    pub held: bool,
    /// On failure: what the system said (command output, the unit's journal).
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub target: String,
    pub arch: String,
    pub packages: Vec<String>,
    pub checks: Vec<Check>,
    /// Wall time of each phase, in order.
    pub timings: Vec<(&'static str, Duration)>,
    /// The root was built by this run (not found in the cache).
    pub cold: bool,
    /// How the packages were installed: `dpkg` (`dpkg -i`) or `apt` (`apt-get install`
    /// from a local repository).
    pub install: &'static str,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.held).count()
    }

    pub fn text(&self, timings: bool) -> String {
        let mut out = format!(
            "verify {} on {} {}{}, installed with {}\n",
            self.packages.join(", "),
            self.target,
            self.arch,
            if self.cold { " (root built now)" } else { "" },
            match self.install {
                "apt" => "the target's apt from a local repository",
                _ => "the target's dpkg",
            }
        );
        for c in &self.checks {
            let unit = c
                .unit
                .as_deref()
                .map(|u| format!("{u}: "))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {}  [{}] {unit}{}\n",
                if c.held { "ok  " } else { "FAIL" },
                c.step,
                c.what
            ));
            if !c.held && !c.detail.trim().is_empty() {
                for line in c.detail.trim_end().lines() {
                    out.push_str(&format!("        | {line}\n"));
                }
            }
        }
        if timings {
            out.push_str("timings:\n");
            for (phase, d) in &self.timings {
                out.push_str(&format!("  {phase:<10} {:>7.2} s\n", d.as_secs_f64()));
            }
            let total: Duration = self.timings.iter().map(|(_, d)| *d).sum();
            out.push_str(&format!(
                "  {:<10} {:>7.2} s\n",
                "total",
                total.as_secs_f64()
            ));
        }
        out.push_str(&format!(
            "verify: {} checks, {} failed\n",
            self.checks.len(),
            self.failed()
        ));
        out
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "target": self.target,
            "arch": self.arch,
            "packages": self.packages,
            "root_built": self.cold,
            "install": self.install,
            "passed": self.failed() == 0,
            "checks": self.checks.iter().map(|c| serde_json::json!({
                "step": c.step,
                "unit": c.unit,
                "check": c.what,
                "held": c.held,
                "detail": if c.held { None } else { Some(&c.detail) },
            })).collect::<Vec<_>>(),
            "timings": self.timings.iter().map(|(phase, d)| serde_json::json!({
                "phase": phase,
                "seconds": (d.as_secs_f64() * 1000.0).round() / 1000.0,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_shows_its_unit_and_detail() {
        let report = Report {
            target: "debian-bookworm".into(),
            arch: "amd64".into(),
            packages: vec!["p".into()],
            checks: vec![
                Check {
                    step: "install",
                    unit: Some("a.service".into()),
                    what: "active".into(),
                    held: false,
                    detail: "a.service: Failed with result 'exit-code'.".into(),
                },
                Check {
                    step: "purge",
                    unit: None,
                    what: "nothing left".into(),
                    held: true,
                    detail: String::new(),
                },
            ],
            timings: vec![("boot", Duration::from_millis(1500))],
            cold: false,
            install: "apt",
        };
        let text = report.text(true);
        assert!(text.starts_with(
            "verify p on debian-bookworm amd64, installed with the target's apt from a local repository\n"
        ));
        assert!(text.contains("  FAIL  [install] a.service: active\n        | a.service: Failed"));
        assert!(text.contains("  ok    [purge] nothing left\n"));
        assert!(text.contains("boot          1.50 s"));
        assert!(text.ends_with("verify: 2 checks, 1 failed\n"));
        let json = report.json();
        assert_eq!(json["passed"], false);
        assert_eq!(json["checks"][0]["unit"], "a.service");
        assert_eq!(json["checks"][1]["detail"], serde_json::Value::Null);
    }
}
