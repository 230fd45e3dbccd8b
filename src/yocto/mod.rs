//! The Yocto renderer: validated recipes → a bitbake layer (`meta-layer/`).
//!
//! Layout: `conf/layer.conf`, `README.md`, `SECURITY.md`, one
//! `recipes-unitpack/NAME/NAME_VERSION.bb` with `files/` per package, and the
//! `unitpack-check` helper recipe with the helper's source archive in its `files/`
//! (fetched as `file://`: a clone of the layer builds offline). The layer works on every release of the Yocto profiles, so it
//! is rendered once, with the oldest. Output is deterministic and written atomically
//! (a sibling directory, renamed).

mod bitbake;
mod helper;
mod layer;
mod license;
mod packages;
mod paths;
mod recipe;

pub use bitbake::check_package_name;
pub use helper::{archive_name, HelperSource};
pub use recipe::{oe_enabled, OeEnabled, OE_ENABLED};

use crate::error::{Error, InputError, Result};
use crate::format::Packager;
use crate::plan::{Content, Plan};
use crate::profile::{self, Family, Profile};
use handlebars::Handlebars;
use std::path::{Path, PathBuf};

/// Name of the helper package every unit package depends on.
pub const HELPER: &str = unitpack_manifest::HELPER_PACKAGE;

/// What the unit recipes name in RDEPENDS/RRECOMMENDS for the helper: `conf/layer.conf`
/// sets it to [`HELPER`], or to nothing on a release whose Rust cannot build the
/// helper (the helper recipe skips itself there), so that images with unit packages
/// build on every release.
pub const HELPER_VAR: &str = "${UNITPACK_HELPER}";

/// Profiles of the Yocto releases, oldest first.
pub fn profiles() -> Vec<&'static Profile> {
    profile::all()
        .iter()
        .filter(|p| p.family == Family::Yocto)
        .collect()
}

/// The profile the layer is rendered with: the oldest release it supports, so that
/// nothing in it needs a newer release.
pub fn layer_profile() -> &'static Profile {
    profiles()
        .first()
        .copied()
        .expect("Yocto profiles are embedded")
}

/// Release code names of the layer (`LAYERSERIES_COMPAT`), from the profiles'
/// names `yocto-SERIES`.
pub fn series() -> Vec<&'static str> {
    profiles()
        .iter()
        .filter_map(|p| p.name.strip_prefix("yocto-"))
        .collect()
}

/// One file of the layer, by path relative to the layer's root; assets are copied
/// from their source when the layer is written, in chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    pub path: String,
    pub data: Content,
}

/// What `unitpack yocto` writes: the layer, with every file its recipes fetch.
#[derive(Debug)]
pub struct Layer {
    /// Every file of the layer, sorted by path.
    pub files: Vec<LayerFile>,
}

/// The Yocto format: the layer of every plan in `out_dir` (replaced as a whole), the
/// helper's source archive in it dated `mtime`.
pub struct LayerWriter<'a> {
    pub out_dir: &'a Path,
    pub helper: HelperSource<'a>,
    pub mtime: u64,
}

impl Packager for LayerWriter<'_> {
    /// The layer's directory.
    type Written = PathBuf;

    /// Every recipe was loaded with a Yocto profile and bitbake accepts every
    /// package's fields and relations (that each package is built once, the pipeline's
    /// load has checked).
    fn check(&self, plans: &[Plan]) -> Result<Vec<InputError>> {
        let mut errors = Vec::new();
        for plan in plans {
            let profile = plan.profile();
            if profile.family != Family::Yocto {
                errors.push(plan.refuse(
                    "target",
                    format!("the Yocto layer needs a Yocto profile, not {}; load the recipe with --target {}", profile.name, layer_profile().name),
                ));
            }
        }
        for plan in plans {
            // Written for dpkg's arguments and the .deb's own steps: OE's pkg_postinst has
            // neither, so running them there would be a guess. Refused, not dropped.
            for snippet in plan.snippets() {
                errors.push(plan.refuse(
                    &snippet.field,
                    "the Yocto layer does not run maintainer-script snippets (they are written for dpkg's arguments); build this recipe as a .deb only, or do the work in a unit",
                ));
            }
        }
        let own = own_packages(plans);
        for plan in plans {
            errors.extend(recipe::check(plan, &own));
        }
        Ok(errors)
    }

    fn write(&self, plans: &[Plan]) -> Result<PathBuf> {
        check_replaceable(self.out_dir)?;
        let layer = render(plans, self.helper, self.mtime)?;
        write(&layer.files, self.out_dir)?;
        Ok(self.out_dir.to_path_buf())
    }
}

/// The packages the layer itself builds, sorted: relations to them need no mapping.
fn own_packages<'p>(plans: &'p [Plan]) -> Vec<&'p str> {
    let mut own: Vec<&str> = plans.iter().map(|p| p.package().name.as_str()).collect();
    own.sort();
    own.dedup();
    own
}

/// The layer for `plans` (of recipes loaded with a Yocto profile) and the helper's
/// sources from `helper`, its archive's entries dated `mtime` (SOURCE_DATE_EPOCH).
pub fn render(plans: &[Plan], helper: HelperSource, mtime: u64) -> Result<Layer> {
    let templates = Templates::new();
    let own = own_packages(plans);
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for plan in plans {
        match recipe::render(plan, &own, &templates) {
            Ok(mut f) => files.append(&mut f),
            Err(Error::Input(mut e)) => errors.append(&mut e),
            Err(other) => return Err(other),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    let (helper_files, helper_rust) = helper::render(helper, &templates, mtime)?;
    files.extend(helper_files);
    files.extend(layer::render(plans, &templates, helper_rust.as_deref())?);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Layer { files })
}

/// First line of `conf/layer.conf`: what marks a directory as a layer unitpack wrote.
pub const MARKER: &str = "# Generated by unitpack (`unitpack yocto`); do not edit.";

/// `out_dir` may be replaced: it does not exist, is an empty directory, or is a layer
/// unitpack wrote (its `conf/layer.conf`, a regular file, starts with [`MARKER`]).
/// Anything else is refused: `-o` must never delete a directory of the user's.
pub fn check_replaceable(out_dir: &Path) -> Result<()> {
    let refuse = |why: String| -> Error {
        InputError::new(
            out_dir,
            None,
            "-o",
            format!("{why}; unitpack replaces only an empty directory or a layer it generated (conf/layer.conf starting with {MARKER:?})"),
        )
        .into()
    };
    let meta = match std::fs::symlink_metadata(out_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("reading {}", out_dir.display()), e)),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Err(refuse(
            "it exists and is not a directory (or is a symlink)".into(),
        ));
    }
    let mut entries = std::fs::read_dir(out_dir)
        .map_err(|e| Error::io(format!("reading {}", out_dir.display()), e))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let conf = out_dir.join("conf/layer.conf");
    let first_line = crate::input::resolve(out_dir, "conf/layer.conf")
        .ok()
        .and_then(|_| crate::input::read_text(&conf, 64 * 1024).ok())
        .and_then(|t| t.lines().next().map(str::to_string));
    if first_line.as_deref() == Some(MARKER) {
        Ok(())
    } else {
        Err(refuse(
            "it is not empty and not a layer unitpack generated".into(),
        ))
    }
}

/// Replace `out_dir` with exactly `files`: written into a sibling temporary directory
/// first, so a failure leaves the old layer (or nothing) in place. See
/// [`check_replaceable`] for what may be replaced.
pub fn write(files: &[LayerFile], out_dir: &Path) -> Result<()> {
    check_replaceable(out_dir)?;
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "layer".into());
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(&parent)
        .map_err(|e| {
            Error::io(
                format!("creating a temporary directory in {}", parent.display()),
                e,
            )
        })?;
    for f in files {
        let path = tmp.path().join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let what = || format!("writing {}", path.display());
        let mut out = std::fs::File::create(&path).map_err(|e| Error::io(what(), e))?;
        f.data.stream(|chunk| {
            use std::io::Write;
            out.write_all(chunk).map_err(|e| Error::io(what(), e))
        })?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).map_err(|e| {
        Error::io(
            format!("setting permissions of {}", tmp.path().display()),
            e,
        )
    })?;
    // The old layer moves aside (into a second temporary directory, removed when
    // dropped) only once the new one is complete.
    let old = tempfile::Builder::new()
        .prefix(&format!(".{name}-old-"))
        .tempdir_in(&parent)
        .map_err(|e| {
            Error::io(
                format!("creating a temporary directory in {}", parent.display()),
                e,
            )
        })?;
    if out_dir.exists() {
        std::fs::rename(out_dir, old.path().join(&name))
            .map_err(|e| Error::io(format!("moving the old {} aside", out_dir.display()), e))?;
    }
    let new = tmp.keep();
    if let Err(e) = std::fs::rename(&new, out_dir) {
        let _ = std::fs::rename(old.path().join(&name), out_dir);
        let _ = std::fs::remove_dir_all(&new);
        return Err(Error::io(
            format!("renaming the new layer into {}", out_dir.display()),
            e,
        ));
    }
    Ok(())
}

/// The handlebars templates of `templates/yocto/`, HTML escaping off: every value
/// reaching them is validated (names, paths) or made safe by `bitbake::text`.
pub(crate) struct Templates(Handlebars<'static>);

impl Templates {
    fn new() -> Templates {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        for (name, text) in [
            (
                "recipe",
                include_str!("../../templates/yocto/recipe.bb.hbs"),
            ),
            (
                "helper",
                include_str!("../../templates/yocto/unitpack-check.bb.hbs"),
            ),
            (
                "layer.conf",
                include_str!("../../templates/yocto/layer.conf.hbs"),
            ),
            (
                "README",
                include_str!("../../templates/yocto/README.md.hbs"),
            ),
            (
                "SECURITY",
                include_str!("../../templates/yocto/SECURITY.md.hbs"),
            ),
        ] {
            hb.register_template_string(name, text)
                .expect("embedded template is valid handlebars");
        }
        Templates(hb)
    }

    fn render(&self, name: &str, context: &impl serde::Serialize) -> Result<String> {
        self.0.render(name, context).map_err(|e| Error::Internal {
            what: format!("rendering the {name} template"),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_of_the_layer() {
        assert_eq!(
            series(),
            [
                "kirkstone",
                "scarthgap",
                "styhead",
                "walnascar",
                "whinlatter",
                "wrynose"
            ]
        );
        assert_eq!(layer_profile().name, "yocto-kirkstone");
    }

    #[test]
    fn layer_conf_carries_the_marker() {
        let conf = include_str!("../../templates/yocto/layer.conf.hbs");
        assert_eq!(conf.lines().next(), Some(MARKER));
    }
}
