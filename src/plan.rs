//! The payload of a package, common to every output format: the unit files, the
//! assets and the manifest that `unitpack-check` reads on the target. Sorted by path.

use crate::error::{Error, Result};
use crate::recipe::Recipe;
use crate::unit::Enablement;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// Absolute path on the target.
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
    pub conffile: bool,
}

/// Where the manifest of a package is installed.
pub fn manifest_path(package: &str) -> String {
    format!("/usr/share/unitpack/{package}/manifest")
}

pub fn payload(recipe: &Recipe) -> Result<Vec<PayloadFile>> {
    let mut files = Vec::new();
    for unit in &recipe.units {
        files.push(PayloadFile {
            path: recipe.unit_path(unit),
            data: unit.text.clone().into_bytes(),
            mode: 0o644,
            conffile: false,
        });
    }
    for d in &recipe.dropins {
        files.push(PayloadFile {
            path: recipe.dropin_path(d),
            data: d.text.clone().into_bytes(),
            mode: 0o644,
            conffile: false,
        });
    }
    for asset in &recipe.assets {
        let data = std::fs::read(&asset.source)
            .map_err(|e| Error::io(format!("reading asset {}", asset.source.display()), e))?;
        files.push(PayloadFile {
            path: asset.dest.clone(),
            data,
            mode: asset.mode,
            conffile: asset.conffile,
        });
    }
    files.push(PayloadFile {
        path: manifest_path(&recipe.package.name),
        data: manifest(recipe).into_bytes(),
        mode: 0o644,
        conffile: false,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The helper's manifest: one TAB-separated record per line (format 1).
pub fn manifest(recipe: &Recipe) -> String {
    let p = recipe.profile;
    let mut out =
        String::from("# unitpack manifest: read by unitpack-check; generated, do not edit\n");
    out.push_str("format\t1\n");
    out.push_str(&format!("package\t{}\n", recipe.package.name));
    out.push_str(&format!("profile\t{}\n", p.name));
    out.push_str(&format!("strict\t{}\n", u8::from(recipe.strict)));
    out.push_str(&format!("user-bus-package\t{}\n", p.user_bus_package));
    for unit in &recipe.units {
        out.push_str(&format!(
            "unit\t{}\t{}\t{}\t{}\n",
            unit.scope.as_str(),
            unit.enable.as_str(),
            unit.name,
            recipe.unit_path(unit)
        ));
    }
    for unit in recipe.units.iter().filter(|u| u.enable != Enablement::None) {
        for (link, target) in recipe.enable_links(unit) {
            out.push_str(&format!("link\t{link}\t{target}\n"));
        }
    }
    for d in &recipe.dropins {
        out.push_str(&format!(
            "dropin\t{}\t{}\t{}\n",
            d.scope.as_str(),
            d.unit,
            recipe.dropin_path(d)
        ));
    }
    for unit in &recipe.units {
        for t in &unit.takes_over {
            out.push_str(&format!("takeover\t{}\t{t}\n", unit.scope.as_str()));
        }
    }
    out
}
