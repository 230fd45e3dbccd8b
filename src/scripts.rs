//! Maintainer scripts (postinst, prerm, postrm) rendered from the handlebars templates
//! in `templates/deb/`. Every value that reaches a script is either validated by the
//! recipe model (package and unit names, absolute paths of a restricted alphabet) or
//! single-quoted by the `sh` helper; HTML escaping is off.

use crate::recipe::Recipe;
use crate::unit::{Enablement, Scope};
use handlebars::{handlebars_helper, Handlebars};
use serde::Serialize;

const POSTINST: &str = include_str!("../templates/deb/postinst.hbs");
const PRERM: &str = include_str!("../templates/deb/prerm.hbs");
const POSTRM: &str = include_str!("../templates/deb/postrm.hbs");
/// Shell functions, included by the scripts that call them (shellcheck flags
/// functions that are defined but unreachable).
const FUNCTIONS: &[(&str, &str)] = &[
    (
        "systemd_running",
        include_str!("../templates/deb/functions/systemd_running.hbs"),
    ),
    (
        "invoke",
        include_str!("../templates/deb/functions/invoke.hbs"),
    ),
    (
        "make_links",
        include_str!("../templates/deb/functions/make_links.hbs"),
    ),
    (
        "remove_links",
        include_str!("../templates/deb/functions/remove_links.hbs"),
    ),
    (
        "links_present",
        include_str!("../templates/deb/functions/links_present.hbs"),
    ),
    (
        "enable",
        include_str!("../templates/deb/functions/enable.hbs"),
    ),
    (
        "disable",
        include_str!("../templates/deb/functions/disable.hbs"),
    ),
    (
        "take_over",
        include_str!("../templates/deb/functions/take_over.hbs"),
    ),
    (
        "restore",
        include_str!("../templates/deb/functions/restore.hbs"),
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
    name: String,
    /// `--global` for user units, `--system` for system units.
    scope_flag: &'static str,
    links: Vec<Link>,
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
    /// Every system unit shipped (stopped on removal, reloaded on install).
    system_names: Vec<String>,
    takeovers: Vec<TakeOver>,
    /// `.wants`/`.requires` directories the enable links live in (removed when empty).
    link_dirs: Vec<String>,
    has_system: bool,
    /// Some system unit is started by the postinst (it needs `unitpack_invoke`).
    starts: bool,
    /// Some unit is enabled by the package.
    enables: bool,
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

fn context(recipe: &Recipe) -> Context {
    let enabled = |scope: Scope| -> Vec<EnabledUnit> {
        recipe
            .units_in(scope)
            .filter(|u| u.enable.enables())
            .map(|u| EnabledUnit {
                name: u.name.to_string(),
                scope_flag: scope_flag(scope),
                links: recipe
                    .enable_links(u)
                    .into_iter()
                    .map(|(link, target)| Link { link, target })
                    .collect(),
                start: u.enable == Enablement::EnableAndStart,
            })
            .collect()
    };
    let user_units = enabled(Scope::User);
    let system_units = enabled(Scope::System);
    let mut link_dirs: Vec<String> = user_units
        .iter()
        .chain(&system_units)
        .flat_map(|u| &u.links)
        .filter_map(|l| l.link.rsplit_once('/').map(|(d, _)| d.to_string()))
        .filter(|d| d.ends_with(".wants") || d.ends_with(".requires"))
        .collect();
    link_dirs.sort();
    link_dirs.dedup();
    let system_names: Vec<String> = recipe
        .units_in(Scope::System)
        .map(|u| u.name.to_string())
        .collect();
    Context {
        package: recipe.package.name.clone(),
        generator: format!("unitpack {}", env!("CARGO_PKG_VERSION")),
        state_dir: format!("/var/lib/unitpack/{}", recipe.package.name),
        strict: recipe.strict,
        has_system: !system_names.is_empty(),
        starts: system_units.iter().any(|u| u.start),
        enables: !(user_units.is_empty() && system_units.is_empty()),
        user_units,
        system_units,
        system_names,
        takeovers: recipe
            .units
            .iter()
            .flat_map(|u| {
                u.takes_over.iter().map(move |t| TakeOver {
                    name: t.to_string(),
                    enable_dir: recipe.profile.enable_dir(u.scope),
                })
            })
            .collect(),
        link_dirs,
    }
}

fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("sh", Box::new(sh));
    for (name, text) in [("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)] {
        hb.register_template_string(name, text)
            .expect("embedded template is valid handlebars");
    }
    for (name, text) in FUNCTIONS {
        hb.register_partial(name, *text)
            .expect("embedded partial is valid handlebars");
    }
    hb
}

/// The maintainer scripts of a recipe's package, in the order postinst, prerm, postrm.
pub fn render(recipe: &Recipe) -> Vec<Script> {
    let hb = registry();
    let ctx = context(recipe);
    ["postinst", "prerm", "postrm"]
        .into_iter()
        .map(|name| Script {
            name,
            text: squeeze_blank_lines(
                &hb.render(name, &ctx)
                    .expect("templates render with the context they are written for"),
            ),
        })
        .collect()
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
