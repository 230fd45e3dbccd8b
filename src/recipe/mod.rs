//! Recipes: `load` reads one (screen the bytes, parse the YAML into the schema, validate
//! into the model). Everything after it trusts the model (model.rs); the checks live in
//! validate/.

mod debian;
pub mod layout;
mod model;
mod schema;
mod set;
pub mod spans;
pub mod structure;
mod validate;
pub mod vocabulary;

pub use model::*;
#[cfg(test)]
use validate::check_dest;
use validate::Validator;

pub use debian::{check_package_name, forbidden_char};
pub use schema::json_schema;
pub use set::{across, load_all, recipe_files};

use crate::error::{Error, InputError, Location, Result};
use schema::RawRecipe;
use spans::{item, SpanIndex};
use std::path::Path;

/// The recipe's file name reaches the changelog and a comment of the `.bb`: a
/// portable file name, nothing a line break or bitbake syntax can hide in.
fn check_file_name(path: &Path) -> std::result::Result<(), String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the recipe's file name {:?} must be ASCII letters, digits and '._-+@' (it is written into the changelog and the .bb)",
            path.file_name().unwrap_or_default()
        ))
    }
}

/// Read and validate a recipe. `target` overrides the recipe's own target profile.
pub fn load(path: &Path, target: Option<&str>) -> Result<Recipe> {
    let refuse = |m: String| Error::from(InputError::new(path, None, "", m));
    // The recipe itself may be a symlink (it is named on the command line); what it
    // leads to must be a regular file.
    let real =
        std::fs::canonicalize(path).map_err(|e| refuse(format!("cannot read recipe: {e}")))?;
    let text = crate::input::read_text(&real, crate::input::MAX_RECIPE)
        .map_err(|m| refuse(format!("cannot read recipe: {m}")))?;
    parse(path, &text, target)
}

pub fn parse(path: &Path, text: &str, target: Option<&str>) -> Result<Recipe> {
    let spans = screen(path, text)?;
    // Every structural problem at once; serde below would stop at the first.
    let problems = structure::check(text, &spans);
    if !problems.is_empty() {
        return Err(Error::Input(
            problems.iter().map(|p| p.to_input_error(path)).collect(),
        ));
    }
    let raw: RawRecipe = serde_yaml::from_str(text)
        .map_err(|e| Error::from(structure::syntax_problem(text, &e).to_input_error(path)))?;
    same_to_every_yaml_tool(path, &spans)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut v = Validator {
        file: path,
        spans: &spans,
        errors: Vec::new(),
    };
    let profile = v.target_profile(target.or(raw.target.as_deref()));
    let package = v.package(&raw.package);
    let compression = v.compression(raw.compression.as_deref(), profile);
    let (units, unit_lint, follow_seat) = v.units(&dir, &raw.units);
    let mut assets = Vec::new();
    for (i, raw_asset) in raw.assets.iter().enumerate() {
        assets.extend(v.assets(&dir, &item("assets", i), raw_asset));
    }
    let mut dropins = Vec::new();
    for (i, raw_dropin) in raw.dropins.iter().enumerate() {
        let default_name = format!("{}.conf", raw.package.name);
        dropins.extend(v.dropin(&item("dropins", i), raw_dropin, &default_name));
    }
    if let (Some(profile), Some(package)) = (profile, &package) {
        v.no_collisions(profile, package, &units, &assets, &dropins);
    }
    let yocto = raw.yocto.as_ref().map(|y| v.yocto(y)).unwrap_or_default();
    let allow = v.allows("allow", &raw.allow);
    let mut other_units = Vec::new();
    for (i, raw_other) in raw.enable_units.iter().enumerate() {
        other_units.extend(v.other_unit(&item("enable_units", i), raw_other, &units));
    }
    let snippets = raw
        .scripts
        .as_ref()
        .map(|s| v.snippets(&dir, s))
        .unwrap_or_default();
    // The helper checks units; a package without any has nothing for it to check.
    let helper = v.helper_relation(
        raw.helper.as_deref(),
        units.is_empty() && dropins.is_empty(),
    );
    if let Some(p) = &package {
        v.architecture_fits(p, &assets);
    }
    let mut on_upgrade = std::collections::BTreeMap::new();
    for (i, raw_unit) in raw.units.iter().enumerate() {
        let Some(value) = raw_unit.on_upgrade.as_deref() else {
            continue;
        };
        let path = item("units", i);
        let field = format!("{path}.on_upgrade");
        match vocabulary::ON_UPGRADE.parse(value) {
            Some(policy) => {
                on_upgrade.insert(path, policy);
            }
            None => v.error(
                &field,
                format!(
                    "unknown on_upgrade {value:?}; one of {}",
                    vocabulary::ON_UPGRADE.names().join(", ")
                ),
            ),
        }
    }
    if !v.errors.is_empty() {
        return Err(Error::Input(v.errors));
    }
    Ok(Recipe {
        path: path.to_path_buf(),
        package: package.expect("no errors means a package"),
        profile: profile.expect("no errors means a profile"),
        strict: raw.strict,
        compression: compression.expect("no errors means a compression"),
        helper,
        units,
        follow_seat,
        assets,
        dropins,
        other_units,
        yocto,
        unit_lint,
        allow,
        snippets,
        on_upgrade,
        spans,
    })
}

/// Checks of the recipe's bytes before any YAML parser sees them: its file name,
/// nesting, line breaks YAML parsers disagree on, keys given twice. The positions of
/// every key, on success.
fn screen(path: &Path, text: &str) -> Result<SpanIndex> {
    if let Err(m) = check_file_name(path) {
        return Err(InputError::new(path, None, "file name", m).into());
    }
    if let Some(at) = spans::too_many_brackets(text) {
        return Err(InputError::new(
            path,
            Some(at),
            "",
            format!(
                "more than {} '[' and '{{': YAML parsers take time quadratic in their nesting, and no recipe needs that many",
                spans::MAX_BRACKETS
            ),
        )
        .into());
    }
    if let Some(at) = spans::too_deep(text) {
        return Err(InputError::new(
            path,
            Some(at),
            "",
            format!(
                "collections nested more than {} deep (`- - -`, `? ? ?`, indented maps): YAML parsers recurse once per level, and no recipe needs that many",
                spans::MAX_DEPTH
            ),
        )
        .into());
    }
    if let Some((at, c)) = spans::ambiguous_line_break(text) {
        return Err(InputError::new(
            path,
            Some(at),
            "",
            format!(
                "character U+{:04X} is a line break to some YAML parsers and not to others; remove it",
                c as u32
            ),
        )
        .into());
    }
    let spans = SpanIndex::parse(text);
    refuse_each(path, spans.duplicates(), |d| {
        (
            d.second,
            &d.path,
            format!(
                "given twice (first at line {}, column {}); YAML would silently keep only one",
                d.first.line, d.first.column
            ),
        )
    })?;
    refuse_each(path, spans.tags(), |t| {
        (
            t.at,
            &t.path,
            format!(
                "the YAML tag {} is not part of a recipe (serde_yaml would drop or apply it, other YAML tools read it otherwise); remove it, and quote the value if it is text",
                t.text
            ),
        )
    })?;
    // Before the structure check: serde_yaml's generic reader refuses these outright.
    refuse_each(path, spans.big_integers(), |b| {
        (
            b.at,
            &b.path,
            format!(
                "{} is an integer beyond 64 bits to YAML, which tools read differently (some refuse it, some round it); quote it: \"{}\"",
                b.text, b.text
            ),
        )
    })?;
    Ok(spans)
}

/// One error for each of `found` (its location, field and message), if any.
fn refuse_each<T>(
    path: &Path,
    found: &[T],
    describe: impl Fn(&T) -> (Location, &String, String),
) -> Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::Input(
        found
            .iter()
            .map(|item| {
                let (at, field, message) = describe(item);
                InputError::new(path, Some(at), field.clone(), message)
            })
            .collect(),
    ))
}

/// Plain scalars that serde_yaml hands to the schema as text but other YAML tools read
/// as null, a boolean or a rounded number: refused where the schema reads text (after
/// serde_yaml, whose errors about unknown keys come first).
fn same_to_every_yaml_tool(path: &Path, spans: &SpanIndex) -> Result<()> {
    let typed: Vec<InputError> = spans
        .typed_scalars()
        .iter()
        .filter(|t| {
            let null = matches!(t.text.as_str(), "null" | "Null" | "NULL" | "~");
            t.key || !(takes_yaml_types(&t.path) || (null && null_means_absent(&t.path)))
        })
        .map(|t| {
            InputError::new(
                path,
                Some(t.at),
                t.path.clone(),
                format!(
                    "{} is YAML's {} here, which unitpack would read as the text {:?}; quote it if that is meant, or leave the entry out",
                    t.text,
                    if matches!(t.text.as_str(), "null" | "Null" | "NULL" | "~") { "null" } else { "boolean" },
                    t.text
                ),
            )
        })
        .collect();
    if !typed.is_empty() {
        return Err(Error::Input(typed));
    }
    Ok(())
}

/// Fields whose values keep YAML's own types: the booleans of the schema, and
/// directive values (`RemainAfterExit: true`), which are written as YAML reads them.
fn takes_yaml_types(path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    let list = |p: &str| p.split('[').next().unwrap_or(p).to_string();
    match parts.as_slice() {
        ["strict"] => true,
        [u, "foreground"] => list(u) == "units",
        [d, "restart"] => list(d) == "dropins",
        [a, "conffile"] => list(a) == "assets",
        [x, "sections", _, _, ..] => matches!(list(x).as_str(), "units" | "dropins"),
        _ => false,
    }
}

/// Optional fields: YAML's null there is the field left out, for serde_yaml as for
/// every other tool (`libfoo: ~` under `yocto.packages` maps a package to none).
fn null_means_absent(path: &str) -> bool {
    let mut shape = String::new();
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                shape.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => shape.push(c),
        }
    }
    let parts: Vec<&str> = shape.split('.').collect();
    matches!(
        parts.as_slice(),
        ["target" | "compression" | "helper" | "scripts" | "yocto"]
            | ["scripts", "postinst" | "prerm" | "postrm"]
            | ["yocto", "packages", _]
            | [
                "package",
                "revision"
                    | "epoch"
                    | "description"
                    | "copyright"
                    | "homepage"
                    | "section"
                    | "priority"
                    | "architecture"
            ]
            | [
                "units[]",
                "name" | "enable" | "file" | "sections" | "foreground" | "follow" | "on_upgrade"
            ]
            | ["dropins[]", "name"]
            | ["assets[]", "mode" | "conffile"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of the JSON schema (derived from the serde types), with whether the
    /// schema lets it be null: `null_means_absent` must say the same, so a field added to
    /// the schema cannot drift from the loader's YAML-null rule.
    #[test]
    fn null_rule_follows_the_schema() {
        fn nullable(node: &serde_json::Value) -> bool {
            let null = serde_json::Value::from("null");
            match node.get("type") {
                Some(serde_json::Value::Array(types)) => types.contains(&null),
                _ => ["anyOf", "oneOf"].iter().any(|k| {
                    node.get(*k)
                        .and_then(|v| v.as_array())
                        .is_some_and(|alts| alts.iter().any(|a| a.get("type") == Some(&null)))
                }),
            }
        }
        fn walk<'a>(
            root: &'a serde_json::Value,
            mut node: &'a serde_json::Value,
            path: &str,
            found: &mut Vec<(String, bool)>,
        ) {
            if let Some(r) = node.get("$ref").and_then(|r| r.as_str()) {
                let name = r.trim_start_matches("#/$defs/");
                node = &root["$defs"][name];
            }
            // Below `sections` every value keeps its YAML type (`takes_yaml_types`).
            if path.ends_with(".sections") {
                return;
            }
            let join = |k: &str| {
                if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                }
            };
            if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
                for (key, child) in props {
                    let child_path = join(key);
                    let resolved = match child.get("$ref").and_then(|r| r.as_str()) {
                        Some(r) => &root["$defs"][r.trim_start_matches("#/$defs/")],
                        None => child,
                    };
                    found.push((child_path.clone(), nullable(child) || nullable(resolved)));
                    walk(root, child, &child_path, found);
                }
            }
            if let Some(items) = node.get("items") {
                walk(root, items, &format!("{path}[3]"), found);
            }
            if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
                let child_path = join("some-key");
                found.push((child_path.clone(), nullable(values)));
                walk(root, values, &child_path, found);
            }
        }
        let schema = json_schema();
        let mut found = Vec::new();
        walk(&schema, &schema, "", &mut found);
        assert!(found.len() > 40, "the walk found only {found:?}");
        assert!(found.iter().any(|(_, n)| *n));
        let drift: Vec<_> = found
            .iter()
            .filter(|(path, nullable)| null_means_absent(path) != *nullable)
            .collect();
        assert!(
            drift.is_empty(),
            "schema nullability differs from null_means_absent: {drift:?}"
        );
    }

    #[test]
    fn dest_paths() {
        assert!(check_dest("/etc/pulse/default.pa").is_ok());
        for bad in [
            "etc/x",
            "/",
            "/etc/../root/x",
            "/etc//x",
            "/etc/./x",
            "/etc/x y",
            "/etc/$(id)",
            "/etc/x;y",
        ] {
            assert!(check_dest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_strings() {
        let v = Version {
            epoch: Some(1),
            upstream: "2.0".into(),
            revision: Some("3".into()),
        };
        assert_eq!(v.full(), "1:2.0-3");
        assert_eq!(v.for_filename(), "2.0-3");
    }
}
