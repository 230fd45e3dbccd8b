//! Layer-level files: `conf/layer.conf`, `README.md` and `SECURITY.md`.

use super::{series, LayerFile, Templates};
use crate::error::Result;
use crate::names::DEBIAN_TO_OE;
use crate::plan::Plan;
use crate::unit::Enablement;
use serde::Serialize;

#[derive(Serialize)]
struct Package {
    name: String,
    version: String,
    units: Vec<Unit>,
}

#[derive(Serialize)]
struct Unit {
    name: String,
    scope: &'static str,
    enable: &'static str,
    takes_over: String,
}

#[derive(Serialize)]
struct OeUnit {
    unit: &'static str,
    scope: &'static str,
    recipe: &'static str,
    package: &'static str,
}

#[derive(Serialize)]
struct Mapping {
    debian: &'static str,
    oe: &'static str,
}

#[derive(Serialize)]
struct Context {
    series: String,
    helper_rust: Option<String>,
    maintainer: &'static str,
    /// The maintainer address is an RFC 2606 placeholder (`example.org`).
    maintainer_placeholder: bool,
    packages: Vec<Package>,
    mappings: Vec<Mapping>,
    /// A user unit enabled for all users, to name in the examples.
    example: Option<Example>,
    oe_enabled: Vec<OeUnit>,
    /// A package to show in the IMAGE_INSTALL example (one: packages may conflict).
    install_example: String,
}

#[derive(Serialize)]
struct Example {
    package: String,
    unit: String,
}

/// `conf/layer.conf`, README.md and SECURITY.md; `helper_rust` is the helper's
/// rust-version when kirkstone cannot build it.
pub(super) fn render(
    plans: &[Plan],
    templates: &Templates,
    helper_rust: Option<&str>,
) -> Result<Vec<LayerFile>> {
    let mut packages: Vec<Package> = plans
        .iter()
        .map(|plan| Package {
            name: plan.package().name.clone(),
            version: plan.package().version.upstream.clone(),
            units: plan
                .units
                .iter()
                .map(|u| Unit {
                    name: u.name.clone(),
                    scope: u.scope.as_str(),
                    enable: u.enable.as_str(),
                    takes_over: u.takes_over.join(", "),
                })
                .collect(),
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let example = plans.iter().find_map(|plan| {
        plan.units
            .iter()
            .find(|u| u.enable == Enablement::Global)
            .map(|u| Example {
                package: plan.package().name.clone(),
                unit: u.name.clone(),
            })
    });
    let install_example = example
        .as_ref()
        .map(|e| e.package.clone())
        .or_else(|| packages.first().map(|p| p.name.clone()))
        .unwrap_or_default();
    let context = Context {
        series: series().join(" "),
        helper_rust: helper_rust.map(str::to_string),
        maintainer: env!("CARGO_PKG_AUTHORS"),
        maintainer_placeholder: env!("CARGO_PKG_AUTHORS").contains("@example."),
        packages,
        mappings: DEBIAN_TO_OE
            .iter()
            .map(|(debian, oe)| Mapping { debian, oe })
            .collect(),
        install_example,
        oe_enabled: super::OE_ENABLED
            .iter()
            .map(|e| OeUnit {
                unit: e.unit,
                scope: e.scope.as_str(),
                recipe: e.recipe,
                package: e.package,
            })
            .collect(),
        example,
    };
    Ok(vec![
        LayerFile {
            path: "conf/layer.conf".into(),
            data: templates.render("layer.conf", &context)?.into(),
        },
        LayerFile {
            path: "README.md".into(),
            data: templates.render("README", &context)?.into(),
        },
        LayerFile {
            path: "SECURITY.md".into(),
            data: templates.render("SECURITY", &context)?.into(),
        },
    ])
}
