//! What a recipe author writes: the YAML schema, as serde types. Nothing here is
//! trusted; `recipe::load` validates it into the model.

use super::vocabulary::{
    self as vocab, COMPRESSION, DESCRIPTION_MAX_CHARS, ENABLE, ENABLE_OTHER, EPOCH_MAX, FOLLOW,
    HELPER, ON_UPGRADE, SCOPE, SUMMARY_MAX_CHARS,
};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRecipe {
    pub package: RawPackage,
    /// Target profile name (`ubuntu-xenial`, `debian-bookworm`, …).
    pub target: Option<String>,
    /// Make the postinst fail when `unitpack-check` finds an error.
    #[serde(default)]
    pub strict: bool,
    /// `xz` or `gzip`; default: the profile's.
    #[schemars(extend("enum" = COMPRESSION.names()))]
    pub compression: Option<String>,
    /// How the package relates to `unitpack-check`: `depends`, `recommends` or `none`;
    /// default `depends` when the recipe has units or drop-ins, else `none`.
    #[schemars(extend("enum" = HELPER.names()))]
    pub helper: Option<String>,
    /// Lint codes every unit and drop-in of the recipe may trigger, each with the reason.
    #[serde(default)]
    pub allow: Vec<RawAllow>,
    #[serde(default)]
    pub units: Vec<RawUnit>,
    #[serde(default)]
    pub assets: Vec<RawAsset>,
    /// Units that other packages ship, enabled (and started) by this one.
    #[serde(default)]
    pub enable_units: Vec<RawOtherUnit>,
    /// Drop-ins: `[Section]` overrides of a unit, this package's or another's.
    #[serde(default)]
    pub dropins: Vec<RawDropIn>,
    /// The author's own maintainer-script code: files beside the recipe, spliced into
    /// unitpack's scripts (docs/maintainer-scripts.md).
    pub scripts: Option<RawScripts>,
    /// Settings of the Yocto layer only.
    pub yocto: Option<RawYocto>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOtherUnit {
    /// The unit, as the other package ships it (e.g. `systemd-networkd.service`).
    pub unit: String,
    #[schemars(extend("enum" = SCOPE.names()))]
    pub scope: String,
    /// `global` (user) or `enable`/`enable-and-start` (system).
    #[schemars(extend("enum" = ENABLE_OTHER.names()))]
    pub enable: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScripts {
    pub postinst: Option<String>,
    pub prerm: Option<String>,
    pub postrm: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawYocto {
    /// Debian package name → OpenEmbedded package name (null: leave the relation out),
    /// overriding unitpack's table for depends, recommends and conflicts.
    #[serde(default)]
    pub packages: IndexMap<String, Option<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPackage {
    /// Debian Policy 5.6.1 (`names::check_debian_package_name`, which the loader runs).
    #[schemars(extend("pattern" = vocab::package_name_pattern()))]
    pub name: String,
    pub version: String,
    pub revision: Option<String>,
    /// At most dpkg's limit, 2^31 - 1 (the loader says so in its own words).
    #[schemars(extend("maximum" = EPOCH_MAX))]
    pub epoch: Option<u32>,
    pub maintainer: String,
    /// One line: the Description synopsis.
    #[schemars(extend("maxLength" = SUMMARY_MAX_CHARS))]
    pub summary: String,
    /// Free text: the extended Description. Blank lines separate paragraphs.
    #[schemars(extend("maxLength" = DESCRIPTION_MAX_CHARS))]
    pub description: Option<String>,
    pub license: String,
    /// Copyright holder line for debian/copyright; default: the maintainer.
    pub copyright: Option<String>,
    pub homepage: Option<String>,
    pub section: Option<String>,
    pub priority: Option<String>,
    /// Default `all`; a package that carries binaries names its architecture.
    pub architecture: Option<String>,
    #[serde(default)]
    pub depends: Vec<String>,
    #[serde(default)]
    pub recommends: Vec<String>,
    #[serde(default)]
    pub suggests: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<String>,
    #[serde(default)]
    pub breaks: Vec<String>,
    #[serde(default)]
    pub replaces: Vec<String>,
    #[serde(default)]
    pub provides: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUnit {
    /// Unit name with its suffix; default for `file:` units: the file's name.
    pub name: Option<String>,
    #[schemars(extend("enum" = SCOPE.names()))]
    pub scope: String,
    /// `global`/`none` (user) or `enable`/`enable-and-start`/`none` (system).
    #[schemars(extend("enum" = ENABLE.names()))]
    pub enable: Option<String>,
    /// A unit file next to the recipe, shipped as it is.
    pub file: Option<String>,
    /// Section → directive → value or list of values (a list repeats the directive).
    #[schemars(with = "Option<IndexMap<String, IndexMap<String, DirectiveValue>>>")]
    pub sections: Option<IndexMap<String, IndexMap<String, serde_yaml::Value>>>,
    /// Units of other packages that this one replaces (same scope).
    #[serde(default)]
    pub takes_over: Vec<String>,
    /// Instances of a template unit to enable (`a` for `foo@a.service`).
    #[serde(default)]
    pub instances: Vec<String>,
    /// Lint codes this unit may trigger, each with the reason.
    #[serde(default)]
    pub allow: Vec<RawAllow>,
    /// The daemon stays in the foreground (lint: `Type=forking` would time out).
    pub foreground: Option<bool>,
    /// `seat`: run this user unit only for the active local session on seat0.
    #[schemars(extend("enum" = FOLLOW.names()))]
    pub follow: Option<String>,
    /// What a package upgrade does to this started system unit: `restart` it (the
    /// default), stop it before and start it after (`no-restart`), or leave it
    /// running (`no-stop`). As debhelper's `--no-restart-after-upgrade` and
    /// `--no-stop-on-upgrade`.
    #[schemars(extend("enum" = ON_UPGRADE.names()))]
    pub on_upgrade: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDropIn {
    /// The unit it changes, e.g. `dbus.service`.
    pub unit: String,
    #[schemars(extend("enum" = SCOPE.names()))]
    pub scope: String,
    /// File name in `UNIT.d/`; default `PACKAGE.conf`.
    pub name: Option<String>,
    /// Section → directive → value or list, as for units.
    #[schemars(with = "IndexMap<String, IndexMap<String, DirectiveValue>>")]
    pub sections: IndexMap<String, IndexMap<String, serde_yaml::Value>>,
    /// try-restart the unit after install, upgrade and removal (system scope).
    #[serde(default)]
    pub restart: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAllow {
    /// A lint code such as `UP302`.
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAsset {
    /// File or directory, relative to the recipe's directory.
    pub source: String,
    /// Absolute destination path (a directory's files go below it).
    pub dest: String,
    /// Octal permission bits, e.g. "0644"; default from the source's executable bit.
    pub mode: Option<String>,
    /// Default: true under /etc.
    pub conffile: Option<bool>,
}

/// A directive's value as the schema describes it: a scalar, or a list of scalars (the
/// directive repeated). Only for the JSON Schema; the recipe keeps the YAML value.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum DirectiveValue {
    Scalar(Scalar),
    List(Vec<Scalar>),
}

#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum Scalar {
    String(String),
    Number(f64),
    Bool(bool),
}

/// The JSON Schema of a recipe, with the known target profiles as the values of `target`.
pub fn json_schema() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(RawRecipe)).expect("a schema is plain JSON");
    schema["$id"] = "https://unitpack.invalid/recipe.schema.json".into();
    schema["title"] = "unitpack recipe".into();
    let profiles: Vec<serde_json::Value> = crate::profile::names()
        .into_iter()
        .map(Into::into)
        .chain([serde_json::Value::Null])
        .collect();
    schema["properties"]["target"]["enum"] = profiles.into();
    null_in_optional_enums(&mut schema);
    schema
}

/// An optional field with a list of values (`enable`, `follow`, `on_upgrade`): serde
/// reads YAML's null there as the field left out, and so must the schema, whose `enum`
/// would otherwise refuse the null its `type` allows.
fn null_in_optional_enums(node: &mut serde_json::Value) {
    let null = serde_json::Value::Null;
    let optional = node
        .get("type")
        .and_then(|t| t.as_array())
        .is_some_and(|t| t.contains(&"null".into()));
    if let (true, Some(values)) = (
        optional,
        node.get_mut("enum").and_then(|e| e.as_array_mut()),
    ) {
        if !values.contains(&null) {
            values.push(null);
        }
    }
    match node {
        serde_json::Value::Object(map) => map.values_mut().for_each(null_in_optional_enums),
        serde_json::Value::Array(items) => items.iter_mut().for_each(null_in_optional_enums),
        _ => {}
    }
}
