//! Maintainer scripts (postinst, prerm, postrm) rendered from the handlebars templates
//! in `templates/deb/`. Every value that reaches a script is either validated by the
//! recipe model (package and unit names, absolute paths of a restricted alphabet) or
//! single-quoted by the `sh` helper; HTML escaping is off.

use crate::error::{Error, InputError, Location};
use crate::plan::Plan;
use crate::recipe::{OnUpgrade, Snippet};
use crate::unit::Scope;
use handlebars::{handlebars_helper, Handlebars};
use serde::Serialize;

use super::templates::SCRIPTS;
/// Shell functions, spliced into the scripts that call them where a template has the
/// line `#@unitpack-function NAME@` (shellcheck flags functions that are defined but
/// unreachable).
const FUNCTIONS: &[(&str, &str)] = &[
    (
        "systemd_running",
        include_str!("../../templates/deb/functions/systemd_running.sh"),
    ),
    (
        "invoke",
        include_str!("../../templates/deb/functions/invoke.sh"),
    ),
    (
        "make_links",
        include_str!("../../templates/deb/functions/make_links.sh"),
    ),
    (
        "stale_links",
        include_str!("../../templates/deb/functions/stale_links.sh"),
    ),
    (
        "remove_links",
        include_str!("../../templates/deb/functions/remove_links.sh"),
    ),
    (
        "links_present",
        include_str!("../../templates/deb/functions/links_present.sh"),
    ),
    (
        "enable",
        include_str!("../../templates/deb/functions/enable.sh"),
    ),
    (
        "systemctl",
        include_str!("../../templates/deb/functions/systemctl.sh"),
    ),
    (
        "tool",
        include_str!("../../templates/deb/functions/tool.sh"),
    ),
    (
        "take_over",
        include_str!("../../templates/deb/functions/take_over.sh"),
    ),
    (
        "restore",
        include_str!("../../templates/deb/functions/restore.sh"),
    ),
    (
        "enable_other",
        include_str!("../../templates/deb/functions/enable_other.sh"),
    ),
    (
        "disable_other",
        include_str!("../../templates/deb/functions/disable_other.sh"),
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: &'static str,
    pub text: String,
}

#[derive(Serialize)]
struct Link {
    link: String,
    target: String,
}

#[derive(Serialize)]
struct EnabledUnit {
    /// The unit, or one instance of a template (`foo@a.service`).
    name: String,
    /// `--global` for user units, `--system` for system units.
    scope_flag: &'static str,
    links: Vec<Link>,
    start: bool,
    /// Restarted by the postinst of an upgrade (else started, a no-op when running).
    restart: bool,
}

#[derive(Serialize)]
struct OtherUnit {
    name: String,
    scope_flag: &'static str,
    start: bool,
}

#[derive(Serialize)]
struct TakeOver {
    name: String,
    /// `/etc/systemd/user` or `/etc/systemd/system`: where its enable links live.
    enable_dir: &'static str,
}

#[derive(Serialize)]
struct Context {
    package: String,
    generator: String,
    state_dir: String,
    strict: bool,
    user_units: Vec<EnabledUnit>,
    system_units: Vec<EnabledUnit>,
    /// Every system unit shipped but templates (stopped on removal).
    system_names: Vec<String>,
    /// `echo@*.service` for each system template: its running instances, stopped on
    /// removal (systemctl matches the pattern against loaded units).
    instance_patterns: Vec<String>,
    takeovers: Vec<TakeOver>,
    /// `.wants`/`.requires` directories the enable links live in (removed when empty).
    link_dirs: Vec<String>,
    has_system: bool,
    /// The system manager must reload: system units or system drop-ins.
    reloads: bool,
    /// Units that system drop-ins change, try-restarted when one comes or goes.
    restarts: Vec<String>,
    /// Some unit is enabled by the package.
    enables: bool,
    /// Some enabled unit has links of its own (a unit whose [Install] has only `Also=`
    /// has none).
    has_links: bool,
    /// Some system unit is started by the package.
    starts: bool,
    /// The postinst starts or restarts units (it needs unitpack_invoke).
    invokes: bool,
    /// Units other packages ship that this one enables.
    others: Vec<OtherUnit>,
    /// Some of them are started (and stopped on removal) when systemd runs.
    other_starts: bool,
    /// The scripts keep state in /var/lib/unitpack/PACKAGE.
    uses_state: bool,
    /// Every link the [Install] sections of the package's units make, enabled by the
    /// package or not: purge removes them (the admin may have enabled any).
    purge_links: Vec<Link>,
    /// System units unitpack before 0.2 enabled through deb-systemd-helper, whose
    /// state purge removes.
    helper_units: Vec<String>,
    /// tmpfiles.d and sysusers.d files the package ships (file names), applied on
    /// configure.
    tmpfiles: Vec<String>,
    sysusers: Vec<String>,
    /// System units the prerm stops for an upgrade (restart policy `no-restart`).
    stop_on_upgrade: Vec<String>,
}

/// Shell single-quoting: `it's` → `'it'\''s'`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

handlebars_helper!(sh: |s: str| shell_quote(s));

fn scope_flag(scope: Scope) -> &'static str {
    match scope {
        Scope::User => "--global",
        Scope::System => "--system",
    }
}

fn context(plan: &Plan) -> Context {
    let enabled = |scope: Scope| -> Vec<EnabledUnit> {
        plan.activations_in(scope)
            .flat_map(|a| {
                a.names.iter().map(move |n| EnabledUnit {
                    name: n.name.clone(),
                    scope_flag: scope_flag(scope),
                    links: n
                        .links
                        .iter()
                        .map(|(link, target)| Link {
                            link: link.clone(),
                            target: target.clone(),
                        })
                        .collect(),
                    start: a.start,
                    restart: a.upgrade == OnUpgrade::Restart,
                })
            })
            .collect()
    };
    let user_units = enabled(Scope::User);
    let system_units = enabled(Scope::System);
    let mut purge_links: Vec<Link> = plan
        .install_links
        .iter()
        .map(|(link, target)| Link {
            link: link.clone(),
            target: target.clone(),
        })
        .collect();
    purge_links.sort_by(|a, b| a.link.cmp(&b.link));
    purge_links.dedup_by(|a, b| a.link == b.link);
    let mut link_dirs: Vec<String> = purge_links
        .iter()
        .filter_map(|l| l.link.rsplit_once('/').map(|(d, _)| d.to_string()))
        .filter(|d| d.ends_with(".wants") || d.ends_with(".requires"))
        .collect();
    link_dirs.sort();
    link_dirs.dedup();
    let other_starts = plan.others.iter().any(|o| o.start);
    let has_system = plan.units_in(Scope::System).next().is_some();
    let enables = !(user_units.is_empty() && system_units.is_empty());
    Context {
        package: plan.package().name.clone(),
        generator: format!("unitpack {}", env!("CARGO_PKG_VERSION")),
        state_dir: format!("/var/lib/unitpack/{}", plan.package().name),
        strict: plan.strict(),
        has_system,
        enables,
        has_links: user_units
            .iter()
            .chain(&system_units)
            .any(|u| !u.links.is_empty()),
        starts: system_units.iter().any(|u| u.start),
        invokes: system_units.iter().any(|u| u.start) || !plan.restarts.is_empty() || other_starts,
        others: plan
            .others
            .iter()
            .map(|o| OtherUnit {
                name: o.unit.clone(),
                scope_flag: scope_flag(o.scope),
                start: o.start,
            })
            .collect(),
        other_starts,
        uses_state: enables
            || !plan.takeovers.is_empty()
            || !plan.others.is_empty()
            || !purge_links.is_empty(),
        reloads: other_starts || has_system || plan.has_dropins_in(Scope::System),
        restarts: plan.restarts.clone(),
        user_units,
        system_units,
        system_names: plan.system_units.clone(),
        instance_patterns: plan.instance_patterns.clone(),
        takeovers: plan
            .takeovers
            .iter()
            .map(|t| TakeOver {
                name: t.unit.clone(),
                enable_dir: t.enable_dir,
            })
            .collect(),
        link_dirs,
        purge_links,
        helper_units: plan
            .activations_in(Scope::System)
            .flat_map(|a| &a.names)
            .filter(|n| n.helper)
            .map(|n| n.name.clone())
            .collect(),
        tmpfiles: plan.tmpfiles.clone(),
        sysusers: plan.sysusers.clone(),
        stop_on_upgrade: plan
            .activations_in(Scope::System)
            .filter(|a| a.start && a.upgrade == OnUpgrade::NoRestart)
            .flat_map(|a| a.names.iter().map(|n| n.name.clone()))
            .collect(),
    }
}

/// The templates, registered once per process and shared by every package built.
fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: std::sync::OnceLock<Handlebars<'static>> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        hb.register_helper("sh", Box::new(sh));
        for (name, source) in SCRIPTS {
            hb.register_template_string(name, source)
                .expect("every template compiles (tested in deb::templates)");
        }
        hb
    })
}

/// Where a recipe's snippet goes: templates mark the spot with this line.
const SNIPPET_MARK: &str = "#@unitpack-snippet@";

/// The maintainer scripts of a recipe's package, in the order postinst, prerm, postrm.
pub fn render(plan: &Plan) -> Vec<Script> {
    let hb = registry();
    let ctx = handlebars::Context::wraps(context(plan)).expect("the context serializes to JSON");
    SCRIPTS
        .iter()
        .map(|&(name, _)| {
            let rendered = hb
                .render_with_context(name, &ctx)
                .expect("templates render with the context they are written for");
            let text = squeeze_blank_lines(&splice_functions(&rendered));
            // Spliced after the blank-line squeeze: the author's text stays as written.
            let snippet = plan.snippets().iter().find(|s| s.script == name);
            let text = match snippet {
                Some(s) => text.replace(&format!("{SNIPPET_MARK}\n"), &snippet_block(s)),
                None => text.replace(&format!("{SNIPPET_MARK}\n"), ""),
            };
            Script { name, text }
        })
        .collect()
}

/// The author's snippet, run by a `sh` process of its own with dpkg's arguments: an
/// `exit`, `set +e`, unbalanced parenthesis or function definition in it ends or
/// changes only that process, never the steps of the script around it. The text
/// travels in a quoted here-document (no expansion) whose delimiter is a line the
/// snippet does not have; `sh -c` keeps dpkg's stdin for the snippet (debconf). The
/// snippet's file name is not written: it is the author's, not shell.
fn snippet_block(s: &Snippet) -> String {
    let delimiter = here_document_delimiter(&s.text);
    let mut text = s.text.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    format!(
        "# The recipe's own {script} code, run by a sh of its own with dpkg's arguments.\n\
         unitpack_snippet=$(cat <<'{delimiter}'\n{text}{delimiter}\n)\n\
         sh -c \"$unitpack_snippet\" \"$0\" \"$@\"\n",
        script = s.script
    )
}

/// `UNITPACK_SNIPPET_END`, or with the first numeric suffix that no line of `text` is
/// equal to (the line that would end the here-document early).
fn here_document_delimiter(text: &str) -> String {
    let taken = |d: &str| text.lines().any(|l| l == d);
    let mut delimiter = "UNITPACK_SNIPPET_END".to_string();
    let mut n = 0u32;
    while taken(&delimiter) {
        n += 1;
        delimiter = format!("UNITPACK_SNIPPET_END_{n}");
    }
    delimiter
}

/// shellcheck over each snippet of a recipe, on its own as the `sh` script it runs as:
/// findings of warning level or worse are errors naming the snippet's file and line.
/// Snippets are bounded in size when read (`input::MAX_SNIPPET`), so shellcheck gets
/// at most that much.
pub fn check_snippets(snippets: &[Snippet]) -> Result<(), Error> {
    if snippets.is_empty() {
        return Ok(());
    }
    let dir = tempfile::tempdir().map_err(|e| Error::io("creating a temporary directory", e))?;
    let mut errors = Vec::new();
    for snippet in snippets {
        let path = dir.path().join(snippet.script);
        std::fs::write(&path, &snippet.text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        let out = std::process::Command::new("shellcheck")
            .args(["-s", "sh", "-S", "warning", "-f", "gcc"])
            .arg(&path)
            .output()
            .map_err(|e| {
                Error::Tool {
                    program: "shellcheck",
                    message: format!(
                        "needed to check the recipe's script snippets ({e}); install it (apt-get install shellcheck)"
                    ),
                }
            })?;
        let before = errors.len();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // FILE:LINE:COLUMN: LEVEL: MESSAGE [SCnnnn]
            let mut parts = line.splitn(4, ':');
            let (_, Some(l), Some(c), Some(message)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (Ok(line), Ok(column)) = (l.parse::<usize>(), c.parse::<usize>()) else {
                continue;
            };
            errors.push(InputError::new(
                &snippet.source,
                Some(Location { line, column }),
                &snippet.field,
                format!("shellcheck:{}", message.trim_end()),
            ));
        }
        if !out.status.success() && errors.len() == before {
            errors.push(InputError::new(
                &snippet.source,
                None,
                &snippet.field,
                format!(
                    "shellcheck failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Input(errors))
    }
}

const FUNCTION_MARK: (&str, &str) = ("#@unitpack-function ", "@");

/// The rendered script with each function mark replaced by that function's text.
fn splice_functions(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + 4096);
    for line in rendered.split_inclusive('\n') {
        let name = line
            .trim_end()
            .strip_prefix(FUNCTION_MARK.0)
            .and_then(|rest| rest.strip_suffix(FUNCTION_MARK.1));
        match name {
            Some(name) => {
                let (_, text) = FUNCTIONS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .expect("templates name only functions that exist");
                out.push_str(text);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Templates keep their logic readable with blank lines around blocks; the scripts
/// should not carry runs of them.
fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc"), "'abc'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
