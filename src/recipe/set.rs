//! The recipes of one run: the files named on the command line, loaded together, and
//! the problems between them.

use crate::error::{self, Error, Result};
use crate::recipe::{self, Recipe};
use std::path::{Path, PathBuf};

/// Recipe files named by `inputs`: files as given, directories expanded to their
/// `*.yaml`/`*.yml` files in name order.
pub fn recipe_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| Error::io(format!("reading {}", input.display()), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(error::InputError::new(
                    input,
                    None,
                    "",
                    "no *.yaml recipe in this directory",
                )
                .into());
            }
            out.extend(found);
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

/// Load every recipe, reporting the problems of all of them together.
pub fn load_all(files: &[PathBuf], target: Option<&str>) -> Result<Vec<Recipe>> {
    let mut recipes = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match recipe::load(f, target) {
            Ok(r) => recipes.push(r),
            Err(Error::Input(mut e)) => errors.append(&mut e),
            Err(other) => return Err(other),
        }
    }
    errors.extend(across(&recipes));
    if errors.is_empty() {
        Ok(recipes)
    } else {
        Err(Error::Input(errors))
    }
}

/// A package that an earlier recipe of the same run builds already.
fn built_twice<'r>(recipes: impl Iterator<Item = &'r Recipe>) -> Vec<error::InputError> {
    let mut errors = Vec::new();
    let mut names: std::collections::BTreeMap<&str, &Path> = Default::default();
    for r in recipes {
        if let Some(first) = names.insert(&r.package.name, &r.path) {
            errors.push(error::InputError::new(
                &r.path,
                r.locate("package.name"),
                "package.name",
                format!(
                    "package {} is also built by {}",
                    r.package.name,
                    first.display()
                ),
            ));
        }
    }
    errors
}

/// Problems between the recipes of one build: two building the same package (the
/// second would replace the first), or two packages installing the same path or a
/// file where the other needs a directory (they would conflict at install).
pub fn across(recipes: &[Recipe]) -> Vec<error::InputError> {
    let mut errors = built_twice(recipes.iter());
    if !errors.is_empty() {
        return errors;
    }
    let mut files = Vec::new();
    let mut owner = Vec::new();
    for r in recipes {
        for f in r.installed() {
            owner.push(r);
            files.push(f);
        }
    }
    for c in recipe::layout::conflicts(&files) {
        let (r, other) = (owner[c.at], owner[c.other]);
        let field = if files[c.at].field.starts_with("assets[") {
            format!("{}.dest", files[c.at].field)
        } else {
            files[c.at].field.clone()
        };
        let whose = if std::ptr::eq(r, other) {
            String::new()
        } else {
            format!(
                " of package {} ({})",
                other.package.name,
                other.path.display()
            )
        };
        errors.push(error::InputError::new(
            &r.path,
            r.locate(&field),
            field,
            format!("{}{whose}", c.message),
        ));
    }
    errors
}
