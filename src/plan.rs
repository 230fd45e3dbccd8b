//! The plan of a package, built once from a validated recipe and its profile: every
//! file it installs (with its role), every unit it ships, enables and the links that
//! makes, the units it starts, stops and takes over, the ELF facts of its assets. Every
//! output reads the plan, and the recipe stays private to it: the `.deb` writer and its
//! maintainer scripts, the manifest `unitpack-check` reads on the target, the Yocto
//! recipes, `unitpack render`.

use crate::error::{Error, InputError, Result};
use crate::profile::{Compression, Profile};
use crate::recipe::{HelperRelation, OnUpgrade, Package, Recipe, Snippet};
use crate::unit::{Enablement, Scope};
use std::path::{Path, PathBuf};

/// Everything a package does, in the order outputs write it.
#[derive(Debug)]
pub struct Plan<'r> {
    recipe: &'r Recipe,
    /// Every unit shipped, in recipe order.
    pub units: Vec<ShippedUnit>,
    /// The payload common to every format, sorted by path (formats add their own
    /// files, e.g. the `.deb`'s docs, with `Role::Doc`).
    pub files: Vec<PayloadFile>,
    /// Units the package enables, in recipe order.
    pub activations: Vec<Activation>,
    /// Units of other packages this package enables (`other_units:`).
    pub others: Vec<OtherActivation>,
    /// Units of other packages disabled while this one is installed.
    pub takeovers: Vec<TakeOver>,
    /// System units (not templates) shipped: stopped when the package is removed.
    pub system_units: Vec<String>,
    /// `echo@*.service` for each system template: its running instances are stopped
    /// on removal (systemctl matches the pattern against loaded units).
    pub instance_patterns: Vec<String>,
    /// Units a drop-in of this package changes, try-restarted when one comes or goes.
    pub restarts: Vec<String>,
    /// Every link the `[Install]` section of every unit shipped makes, enabled by the
    /// package or not (an admin may enable a unit the package ships disabled): purge
    /// removes them.
    pub install_links: Vec<(String, String)>,
    /// File names of the tmpfiles.d and sysusers.d files shipped, applied on configure.
    pub tmpfiles: Vec<String>,
    pub sysusers: Vec<String>,
    /// The assets that are machine code: destination and ELF facts.
    pub executables: Vec<(String, crate::elf::Elf)>,
    /// Something shipped runs only once a user logs in: a user unit (the user
    /// manager), a unit bound to or wanted by a user manager (`user@UID.service`), a
    /// unit that follows seat sessions. Logins get their session and user manager from
    /// `pam_systemd`.
    pub login_session: bool,
}

/// One unit the package ships, enabled or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedUnit {
    pub name: String,
    pub scope: Scope,
    pub enable: Enablement,
    /// Where it is installed.
    pub path: String,
    /// Units of other packages it replaces (`takes_over:`).
    pub takes_over: Vec<String>,
    /// `WantedBy=` of its `[Install]` section.
    pub wanted_by: Vec<String>,
}

/// What a file is to the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Unit {
        scope: Scope,
        name: String,
    },
    DropIn {
        scope: Scope,
        unit: String,
        name: String,
    },
    Asset,
    /// The manifest `unitpack-check` reads.
    Manifest,
    /// Documentation a format requires (copyright, changelog, lintian overrides).
    Doc,
}

/// One unit the package enables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The unit as shipped (a template for instances).
    pub unit: String,
    pub scope: Scope,
    pub enable: Enablement,
    /// Every link `systemctl enable` makes for it: (link, target).
    pub links: Vec<(String, String)>,
    /// The names `systemctl enable` is given (the unit, or a template's instances),
    /// each with the links made for that name.
    pub names: Vec<EnabledName>,
    /// Started on install (and so stopped on removal).
    pub start: bool,
    pub upgrade: OnUpgrade,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledName {
    pub name: String,
    pub links: Vec<(String, String)>,
    /// deb-systemd-helper may enable it (system units; not instances, which
    /// init-system-helpers 1.29 does not know).
    pub helper: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherActivation {
    pub unit: String,
    pub scope: Scope,
    pub start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeOver {
    pub unit: String,
    pub scope: Scope,
    /// `/etc/systemd/user` or `/etc/systemd/system`: where its enable links live.
    pub enable_dir: &'static str,
}

impl<'r> Plan<'r> {
    pub fn new(recipe: &'r Recipe) -> Result<Plan<'r>> {
        let activations = recipe
            .units
            .iter()
            .filter(|u| u.enable.enables())
            .map(|u| {
                let links = recipe.enable_links(u);
                let names = u
                    .enabled_names()
                    .into_iter()
                    .map(|name| EnabledName {
                        name: name.to_string(),
                        links: links
                            .iter()
                            .filter(|(link, _)| {
                                !u.name.is_template()
                                    || link.rsplit('/').next() == Some(name.as_str())
                            })
                            .cloned()
                            .collect(),
                        helper: u.scope == Scope::System && !u.name.is_template(),
                    })
                    .collect();
                Activation {
                    unit: u.name.to_string(),
                    scope: u.scope,
                    enable: u.enable,
                    links,
                    names,
                    start: u.enable == Enablement::EnableAndStart,
                    upgrade: recipe
                        .on_upgrade
                        .get(&u.recipe_path)
                        .copied()
                        .unwrap_or_default(),
                }
            })
            .collect();
        let mut restarts: Vec<String> = recipe
            .dropins
            .iter()
            .filter(|d| d.restart)
            .map(|d| d.unit.to_string())
            .collect();
        restarts.dedup();
        let mut plan = Plan {
            recipe,
            units: recipe
                .units
                .iter()
                .map(|u| ShippedUnit {
                    name: u.name.to_string(),
                    scope: u.scope,
                    enable: u.enable,
                    path: recipe.unit_path(u),
                    takes_over: u.takes_over.iter().map(|t| t.to_string()).collect(),
                    wanted_by: u.list("Install", "WantedBy"),
                })
                .collect(),
            files: Vec::new(),
            activations,
            others: recipe
                .other_units
                .iter()
                .map(|o| OtherActivation {
                    unit: o.unit.to_string(),
                    scope: o.scope,
                    start: o.enable == Enablement::EnableAndStart,
                })
                .collect(),
            takeovers: recipe
                .units
                .iter()
                .flat_map(|u| {
                    u.takes_over.iter().map(move |t| TakeOver {
                        unit: t.to_string(),
                        scope: u.scope,
                        enable_dir: recipe.profile.enable_dir(u.scope),
                    })
                })
                .collect(),
            system_units: recipe
                .units_in(Scope::System)
                .filter(|u| !u.name.is_template())
                .map(|u| u.name.to_string())
                .collect(),
            instance_patterns: recipe
                .units_in(Scope::System)
                .filter(|u| u.name.is_template())
                .map(|u| format!("{}*.{}", u.name.stem(), u.name.kind()))
                .collect(),
            restarts,
            install_links: recipe
                .units
                .iter()
                .flat_map(|u| recipe.enable_links(u))
                .collect(),
            tmpfiles: config_files(recipe, &["/usr/lib/tmpfiles.d/", "/etc/tmpfiles.d/"]),
            sysusers: config_files(recipe, &["/usr/lib/sysusers.d/", "/etc/sysusers.d/"]),
            executables: recipe
                .assets
                .iter()
                .filter_map(|a| Some((a.dest.clone(), a.elf?)))
                .collect(),
            login_session: runs_in_login_session(recipe),
        };
        plan.files = plan.payload()?;
        Ok(plan)
    }

    /// The package's own fields (name, version, description, relations...).
    pub fn package(&self) -> &'r Package {
        &self.recipe.package
    }

    /// The recipe file the plan was made from.
    pub fn source(&self) -> &'r Path {
        &self.recipe.path
    }

    /// The recipe file's name, which the changelog and generated files cite.
    pub fn source_name(&self) -> String {
        self.recipe
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// A problem with the recipe field `field` (`package.name`, `units[0]`), pinned to
    /// its file and line: how a format refuses what it cannot express.
    pub fn refuse(&self, field: &str, message: impl Into<String>) -> InputError {
        InputError::new(&self.recipe.path, self.recipe.locate(field), field, message)
    }

    pub fn profile(&self) -> &'static Profile {
        self.recipe.profile
    }

    pub fn compression(&self) -> Compression {
        self.recipe.compression
    }

    pub fn helper(&self) -> HelperRelation {
        self.recipe.helper
    }

    pub fn strict(&self) -> bool {
        self.recipe.strict
    }

    /// The author's maintainer-script snippets.
    pub fn snippets(&self) -> &'r [Snippet] {
        &self.recipe.snippets
    }

    /// `yocto.packages:` of the recipe: Debian package name → OE package name (None:
    /// left out).
    pub fn yocto_packages(&self) -> &'r [(String, Option<String>)] {
        &self.recipe.yocto.packages
    }

    /// Units shipped in one scope.
    pub fn units_in(&self, scope: Scope) -> impl Iterator<Item = &ShippedUnit> {
        self.units.iter().filter(move |u| u.scope == scope)
    }

    /// Whether the package ships a drop-in for a unit of `scope`.
    pub fn has_dropins_in(&self, scope: Scope) -> bool {
        self.files
            .iter()
            .any(|f| matches!(f.role, Role::DropIn { scope: s, .. } if s == scope))
    }

    /// Activations in one scope.
    pub fn activations_in(&self, scope: Scope) -> impl Iterator<Item = &Activation> {
        self.activations.iter().filter(move |a| a.scope == scope)
    }

    fn payload(&self) -> Result<Vec<PayloadFile>> {
        let recipe = self.recipe;
        let mut files = Vec::new();
        for unit in &recipe.units {
            files.push(PayloadFile {
                path: recipe.unit_path(unit),
                data: unit.text.clone().into(),
                mode: 0o644,
                conffile: false,
                role: Role::Unit {
                    scope: unit.scope,
                    name: unit.name.to_string(),
                },
            });
        }
        for d in &recipe.dropins {
            files.push(PayloadFile {
                path: recipe.dropin_path(d),
                data: d.text.clone().into(),
                mode: 0o644,
                conffile: false,
                role: Role::DropIn {
                    scope: d.scope,
                    unit: d.unit.to_string(),
                    name: d.name.clone(),
                },
            });
        }
        for asset in &recipe.assets {
            files.push(PayloadFile {
                path: asset.dest.clone(),
                data: Content::file(&asset.source)?,
                mode: asset.mode,
                conffile: asset.conffile,
                role: Role::Asset,
            });
        }
        files.push(PayloadFile {
            path: manifest_path(&recipe.package.name),
            data: self.manifest().into(),
            mode: 0o644,
            conffile: false,
            role: Role::Manifest,
        });
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// The helper's manifest (the `unitpack-manifest` crate's format).
    pub fn manifest(&self) -> String {
        use unitpack_manifest as m;
        let recipe = self.recipe;
        let p = recipe.profile;
        m::Manifest {
            format: m::FORMAT,
            package: recipe.package.name.to_string(),
            profile: Some(p.name.to_string()),
            strict: recipe.strict,
            user_bus_package: Some(p.user_bus_package.to_string()),
            units: recipe
                .units
                .iter()
                .map(|unit| m::UnitEntry {
                    scope: unit.scope,
                    enablement: unit.enable,
                    name: unit.name.to_string(),
                    path: recipe.unit_path(unit),
                })
                .collect(),
            links: self
                .activations
                .iter()
                .flat_map(|a| &a.links)
                .map(|(link, target)| m::Link {
                    path: link.clone(),
                    target: target.clone(),
                })
                .collect(),
            dropins: recipe
                .dropins
                .iter()
                .map(|d| m::DropIn {
                    scope: d.scope,
                    unit: d.unit.to_string(),
                    path: recipe.dropin_path(d),
                })
                .collect(),
            takeovers: self
                .takeovers
                .iter()
                .map(|t| m::Takeover {
                    scope: t.scope,
                    name: t.unit.clone(),
                })
                .collect(),
        }
        .to_text()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// Absolute path on the target.
    pub path: String,
    pub data: Content,
    pub mode: u32,
    pub conffile: bool,
    pub role: Role,
}

/// The bytes of a file: generated text held in memory, or an asset read only when
/// it is written out (streamed, so a payload of any size needs no memory for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// An asset file and its size when the payload was planned; readers check that
    /// it still has that size.
    File {
        source: PathBuf,
        len: u64,
    },
}

impl Content {
    /// An asset, by its size now.
    pub fn file(source: &Path) -> Result<Content> {
        let len = std::fs::metadata(source)
            .map_err(|e| Error::io(format!("reading asset {}", source.display()), e))?
            .len();
        Ok(Content::File {
            source: source.to_path_buf(),
            len,
        })
    }

    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Feed the bytes to `sink` in chunks; an asset whose size changed since it was
    /// planned is an error (the tar header already carries the size).
    pub fn stream(&self, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        match self {
            Content::Bytes(b) => sink(b),
            Content::File { source, len } => {
                use std::io::Read;
                let what = || format!("reading asset {}", source.display());
                // No symlink, FIFO or device, even one swapped in after the recipe loaded.
                let mut file =
                    crate::input::open_regular(source).map_err(|e| Error::io(what(), e))?;
                let mut buf = vec![0u8; STREAM_CHUNK.min(*len as usize).max(1)];
                let mut seen = 0u64;
                loop {
                    let n = match file.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(Error::io(what(), e)),
                    };
                    seen += n as u64;
                    if seen > *len {
                        break;
                    }
                    sink(&buf[..n])?;
                }
                if seen != *len {
                    return Err(Error::Changed {
                        path: source.clone(),
                        message: format!("its size is no longer the {len} bytes planned"),
                    });
                }
                Ok(())
            }
        }
    }
}

impl From<Vec<u8>> for Content {
    fn from(bytes: Vec<u8>) -> Content {
        Content::Bytes(bytes)
    }
}

impl From<String> for Content {
    fn from(text: String) -> Content {
        Content::Bytes(text.into_bytes())
    }
}

/// Read size when streaming an asset: large enough that per-call costs vanish next to
/// the compressor, small enough to be no memory at all.
const STREAM_CHUNK: usize = 256 << 10;

fn runs_in_login_session(recipe: &Recipe) -> bool {
    const RELATIONS: [(&str, &str); 7] = [
        ("Unit", "BindsTo"),
        ("Unit", "Requires"),
        ("Unit", "Wants"),
        ("Unit", "PartOf"),
        ("Unit", "Requisite"),
        ("Install", "WantedBy"),
        ("Install", "RequiredBy"),
    ];
    !recipe.follow_seat.is_empty()
        || recipe.units.iter().any(|u| {
            u.scope == Scope::User
                || RELATIONS.iter().any(|(section, key)| {
                    u.list(section, key).iter().any(|v| v.starts_with("user@"))
                })
        })
}

/// File names of the assets installed as `*.conf` right in one of `dirs`.
fn config_files(recipe: &Recipe, dirs: &[&str]) -> Vec<String> {
    recipe
        .assets
        .iter()
        .filter_map(|a| {
            let name = dirs.iter().find_map(|d| a.dest.strip_prefix(d))?;
            (name.ends_with(".conf") && !name.contains('/')).then(|| name.to_string())
        })
        .collect()
}

/// Where the manifest of a package is installed.
pub fn manifest_path(package: &str) -> String {
    unitpack_manifest::manifest_path(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "package:\n  name: tt\n  version: \"1.0\"\n  maintainer: T <t@example.org>\n  summary: plan test\n  license: MIT\ntarget: debian-bookworm\n";

    fn recipe(units: &str) -> Recipe {
        let text = format!("{HEAD}units:\n{units}");
        crate::recipe::parse(Path::new("/nonexistent/t.yaml"), &text, None)
            .unwrap_or_else(|e| panic!("the test recipe loads: {e}\n{text}"))
    }

    fn service(name: &str, scope: &str, extra: &str, install: &str) -> String {
        format!(
            "  - name: {name}\n    scope: {scope}\n{extra}    sections:\n      Service:\n        ExecStart: /bin/true\n      Install:\n        WantedBy: {install}\n"
        )
    }

    #[test]
    fn a_global_user_unit_is_enabled_by_its_links_and_needs_a_login() {
        let r = recipe(&service(
            "a.service",
            "user",
            "    enable: global\n",
            "default.target",
        ));
        let plan = Plan::new(&r).unwrap();
        assert_eq!(plan.activations.len(), 1);
        let a = &plan.activations[0];
        assert_eq!((a.scope, a.start), (Scope::User, false));
        assert_eq!(
            a.links,
            [(
                "/etc/systemd/user/default.target.wants/a.service".to_string(),
                "/usr/lib/systemd/user/a.service".to_string()
            )]
        );
        assert_eq!(plan.install_links, a.links);
        assert!(plan.login_session);
        assert!(plan.system_units.is_empty());
        assert_eq!(plan.units[0].path, "/usr/lib/systemd/user/a.service");
        assert_eq!(plan.units[0].wanted_by, ["default.target"]);
    }

    #[test]
    fn a_system_template_stops_by_pattern_and_enables_its_instances() {
        let r = recipe(&service(
            "w@.service",
            "system",
            "    instances: [a, b]\n",
            "multi-user.target",
        ));
        let plan = Plan::new(&r).unwrap();
        assert!(
            plan.system_units.is_empty(),
            "a template is no unit to stop"
        );
        assert_eq!(plan.instance_patterns, ["w@*.service"]);
        let names: Vec<&str> = plan.activations[0]
            .names
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(names, ["w@a.service", "w@b.service"]);
        for n in &plan.activations[0].names {
            assert_eq!(n.links.len(), 1, "{}: its own link only", n.name);
            assert!(n.links[0].0.ends_with(&format!("/{}", n.name)));
            assert!(
                !n.helper,
                "init-system-helpers 1.29 cannot enable instances"
            );
        }
        assert!(!plan.login_session);
    }

    #[test]
    fn a_system_unit_wanted_by_a_user_manager_needs_a_login() {
        let wanted = recipe(&service("r.service", "system", "", "user@0.service"));
        assert!(Plan::new(&wanted).unwrap().login_session);
        let boot = recipe(&service("r.service", "system", "", "multi-user.target"));
        let plan = Plan::new(&boot).unwrap();
        assert!(!plan.login_session);
        assert_eq!(plan.system_units, ["r.service"]);
        assert!(plan.activations[0].names[0].helper);
    }

    #[test]
    fn the_payload_is_sorted_and_carries_the_manifest() {
        let units = service("b.service", "system", "", "multi-user.target")
            + &service("a.service", "user", "", "default.target");
        let r = recipe(&units);
        let plan = Plan::new(&r).unwrap();
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        let manifest: Vec<&PayloadFile> = plan
            .files
            .iter()
            .filter(|f| f.role == Role::Manifest)
            .collect();
        assert_eq!(manifest.len(), 1);
        assert_eq!(manifest[0].path, manifest_path("tt"));
        assert_eq!(manifest[0].data, Content::from(plan.manifest()));
        assert_eq!(plan.units_in(Scope::User).count(), 1);
        assert!(!plan.has_dropins_in(Scope::System));
    }

    #[test]
    fn a_refusal_is_pinned_to_the_field_and_its_line() {
        let r = recipe(&service("a.service", "user", "", "default.target"));
        let plan = Plan::new(&r).unwrap();
        let e = plan.refuse("package.version", "no");
        assert_eq!(e.field, "package.version");
        assert_eq!(e.location.map(|l| l.line), Some(3));
        assert_eq!(e.file, Path::new("/nonexistent/t.yaml"));
    }
}
