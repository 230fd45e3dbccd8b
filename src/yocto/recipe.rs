//! One unit package → `recipes-unitpack/NAME/NAME_VERSION.bb` and its `files/`.

use super::{bitbake, license, packages, paths, LayerFile, Templates, HELPER, HELPER_VAR};
use crate::error::{Error, InputError, Result};
use crate::plan::{Plan, Role};
use crate::recipe::HelperRelation;
use crate::unit::Scope;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Serialize)]
struct Install {
    /// Relative to `${S}` (the unpacked `files/`).
    src: String,
    /// With bitbake directory variables.
    dest: String,
    mode: String,
}

#[derive(Serialize)]
struct Link {
    dir: String,
    link: String,
    target: String,
}

/// Units of other packages in one scope that this package takes over.
#[derive(Serialize)]
struct Takeovers {
    /// Where their enable links live, with bitbake variables.
    dir: String,
    units: String,
}

#[derive(Serialize)]
struct Context {
    source: String,
    summary: String,
    description: Option<String>,
    homepage: Option<String>,
    section: String,
    license: String,
    lic_files_chksum: String,
    pe: Option<u32>,
    src_uri: String,
    inherits: String,
    /// REQUIRED_DISTRO_FEATURES.
    distro_features: &'static str,
    needs_pam: bool,
    dirs: Vec<String>,
    installs: Vec<Install>,
    /// `default.target.wants` (etc.) links of user units, made unless the image turns
    /// them off with UNITPACK_USER_AUTO_ENABLE.
    user_links: Vec<Link>,
    /// The installed manifest, whose placeholders do_install substitutes.
    manifest: String,
    /// Taken-over units by scope: their links are removed by pkg_postinst and put
    /// back on removal; a preset file (in `installs`) keeps them disabled.
    takeovers: Vec<Takeovers>,
    systemd_service: Option<String>,
    systemd_auto_enable: &'static str,
    files: String,
    /// Every system unit the package ships (triggers first), stopped by pkg_prerm
    /// when systemd.bbclass would stop only some of them.
    stops: Option<String>,
    /// Patterns of the running instances of its system templates, stopped likewise.
    stop_patterns: Vec<String>,
    /// Units that drop-ins change and restart with (`try-restart` on a running system).
    restarts: Option<String>,
    rdepends: String,
    rrecommends: Option<String>,
    rconflicts: Option<String>,
    /// `COMPATIBLE_HOST` of a package with machine code (its Debian architecture's).
    compatible_host: Option<&'static str>,
    /// Installed paths of ELF files that were stripped before packaging.
    already_stripped: Vec<String>,
}

/// Directory of a package in the layer.
pub fn dir(name: &str) -> String {
    format!("recipes-unitpack/{name}")
}

/// The `.bb` path of a package in the layer.
pub fn bb_path(name: &str, version: &str) -> String {
    format!("{}/{name}_{version}.bb", dir(name))
}

pub(super) fn render(plan: &Plan, own: &[&str], templates: &Templates) -> Result<Vec<LayerFile>> {
    let p = plan.package();
    let profile = plan.profile();
    let Fields {
        name,
        version,
        summary,
        description,
        homepage,
        license,
        lic_files_chksum,
        rdepends,
        rrecommends,
        rconflicts,
    } = fields(plan, own)?;
    let (mut layer_files, mut installs) = payload(plan, &name);
    let mut dirs: BTreeSet<String> = installs.iter().map(|i| parent(&i.dest)).collect();
    let (user_links, enabled_system) = enablement(plan);
    let manifest = installs
        .iter()
        .find(|i| i.src == "manifest")
        .map(|i| i.dest.clone())
        .expect("the plan has a manifest");
    let takeovers = takeovers(plan, &name, &mut layer_files, &mut installs, &mut dirs);
    // Templates are left out: the class's prerm would `systemctl stop foo@.service`,
    // which fails without an instance and with it the removal.
    let system_units = &plan.system_units;
    // Enabled system units go to systemd.bbclass; a package whose system units are all
    // `none` still lists them (with "disable") so that removal stops them.
    let (systemd_service, systemd_auto_enable) =
        match (enabled_system.is_empty(), system_units.is_empty()) {
            (false, _) => (Some(enabled_system.join(" ")), "enable"),
            (true, false) => (Some(system_units.join(" ")), "disable"),
            (true, true) => (None, "disable"),
        };
    let (stops, stop_patterns) = stops(plan, systemd_service.as_deref());
    // `allarch` only when every installed file is architecture-independent: the model
    // refuses ELF files in an `all` package, and a package of another architecture
    // (machine code, or scripts for one machine) is built per machine.
    let arch_independent = p.architecture == "all" && plan.executables.is_empty();
    let mut inherits = vec!["features_check"];
    if arch_independent {
        inherits.insert(0, "allarch");
    }
    if systemd_service.is_some() {
        inherits.push("systemd");
    }
    // Logins get their session and user manager from `pam_systemd`, so a package that
    // runs in one needs the `pam` distro feature, which oe-core's default
    // `DISTRO_FEATURES` lack (its weston requires `pam` under systemd for the same
    // reason).
    let distro_features = if plan.login_session {
        "systemd pam"
    } else {
        "systemd"
    };

    let mut files: Vec<String> = installs.iter().map(|i| i.dest.clone()).collect();
    files.extend(user_links.iter().map(|l| l.link.clone()));
    files.sort();
    files.dedup();
    let mut src_uri: Vec<String> = installs
        .iter()
        .map(|i| format!("file://{}", i.src))
        .collect();
    src_uri.sort();

    let context = Context {
        source: plan.source_name(),
        summary,
        description,
        homepage,
        section: p.section.clone(),
        license,
        lic_files_chksum,
        pe: p.version.epoch,
        src_uri: value_list(&src_uri),
        inherits: inherits.join(" "),
        needs_pam: distro_features.contains("pam"),
        distro_features,
        dirs: dirs.into_iter().collect(),
        installs,
        user_links,
        manifest,
        takeovers,
        systemd_service,
        systemd_auto_enable,
        files: value_list(&files),
        stops,
        stop_patterns,
        restarts: (!plan.restarts.is_empty()).then(|| plan.restarts.join(" ")),
        rdepends: value_list(&rdepends),
        rrecommends: (!rrecommends.is_empty()).then(|| value_list(&rrecommends)),
        rconflicts: (!rconflicts.is_empty()).then(|| value_list(&rconflicts)),
        compatible_host: if arch_independent {
            None
        } else {
            compatible_host(&p.architecture)
        },
        already_stripped: plan
            .executables
            .iter()
            .filter(|(_, e)| e.stripped)
            .map(|(dest, _)| paths::variable_path(profile, dest))
            .collect(),
    };
    let bb = templates.render("recipe", &context)?;
    layer_files.push(LayerFile {
        path: bb_path(&name, &version),
        data: bb.into(),
    });
    Ok(layer_files)
}

/// What bitbake would refuse in the plan's package (its fields, its relations).
pub(super) fn check(plan: &Plan, own: &[&str]) -> Vec<InputError> {
    match fields(plan, own) {
        Ok(_) => Vec::new(),
        Err(Error::Input(errors)) => errors,
        Err(other) => vec![InputError::new(plan.source(), None, "", other.to_string())],
    }
}

/// The package's own fields, checked against what bitbake accepts, and its relations
/// mapped to OE package names.
fn fields(plan: &Plan, own: &[&str]) -> Result<Fields> {
    let p = plan.package();
    let mut errors = Vec::new();
    let mut check = |field: &str, r: std::result::Result<String, String>| -> String {
        r.unwrap_or_else(|m| {
            errors.push(plan.refuse(field, format!("{m} (in the Yocto layer)")));
            String::new()
        })
    };
    let name = check(
        "package.name",
        bitbake::check_package_name(&p.name).map(|()| p.name.clone()),
    );
    if p.name == HELPER {
        check(
            "package.name",
            Err(format!(
                "{HELPER} is the helper recipe the layer generates itself"
            )),
        );
    }
    let version = check(
        "package.version",
        bitbake::check_version(&p.version.upstream).map(|()| p.version.upstream.clone()),
    );
    let summary = check("package.summary", bitbake::text(&p.summary));
    let description = match p.description.trim() {
        "" => None,
        d => Some(check("package.description", bitbake::text(d))),
    };
    let homepage = p
        .homepage
        .as_ref()
        .map(|h| check("package.homepage", bitbake::url(h)));
    let (license, lic_files_chksum) = match license::oe_license(&p.license) {
        Some((l, c)) => (l.to_string(), c),
        None => (
            check(
                "package.license",
                Err(format!(
                    "{:?} has no OpenEmbedded license name in unitpack",
                    p.license
                )),
            ),
            String::new(),
        ),
    };
    let mut relations = Vec::new();
    for kind in [
        packages::Kind::Depends,
        packages::Kind::Recommends,
        packages::Kind::Conflicts,
    ] {
        match packages::map(plan, kind, own) {
            Ok(r) => relations.push(r),
            Err(mut e) => {
                errors.append(&mut e);
                relations.push(Vec::new());
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    let [mut rdepends, mut rrecommends, rconflicts]: [Vec<String>; 3] =
        relations.try_into().expect("three kinds");
    match plan.helper() {
        HelperRelation::Depends => rdepends.push(HELPER_VAR.to_string()),
        HelperRelation::Recommends => rrecommends.push(HELPER_VAR.to_string()),
        HelperRelation::None => {}
    }
    rdepends.sort();
    rdepends.dedup();
    rrecommends.dedup();
    Ok(Fields {
        name,
        version,
        summary,
        description,
        homepage,
        license,
        lic_files_chksum,
        rdepends,
        rrecommends,
        rconflicts,
    })
}

struct Fields {
    name: String,
    version: String,
    summary: String,
    description: Option<String>,
    homepage: Option<String>,
    license: String,
    lic_files_chksum: String,
    rdepends: Vec<String>,
    rrecommends: Vec<String>,
    rconflicts: Vec<String>,
}

/// The payload, as the .deb has it, laid out in files/ by role, and how do_install
/// installs each file.
fn payload(plan: &Plan, name: &str) -> (Vec<LayerFile>, Vec<Install>) {
    let profile = plan.profile();
    let mut layer_files = Vec::new();
    let mut installs = Vec::new();
    for f in &plan.files {
        let src = match &f.role {
            Role::Manifest => "manifest".to_string(),
            Role::Unit { scope, name } => format!("{}/{name}", scope.as_str()),
            Role::DropIn { scope, unit, name } => {
                format!("dropins/{}/{unit}.d/{name}", scope.as_str())
            }
            Role::Asset | Role::Doc => format!("assets{}", f.path),
        };
        let data = match &f.role {
            Role::Manifest => manifest(plan).into(),
            _ => f.data.clone(),
        };
        layer_files.push(LayerFile {
            path: format!("{}/files/{src}", dir(name)),
            data,
        });
        installs.push(Install {
            src,
            dest: paths::variable_path(profile, &f.path),
            mode: format!("{:04o}", f.mode),
        });
    }
    (layer_files, installs)
}

/// Links do_install makes for user units (`--global` is offline: no class does it),
/// and the system units systemd.bbclass enables.
fn enablement(plan: &Plan) -> (Vec<Link>, Vec<String>) {
    let profile = plan.profile();
    let mut user_links = Vec::new();
    let mut enabled_system = Vec::new();
    for a in &plan.activations {
        match a.scope {
            Scope::User => user_links.extend(a.links.iter().map(|(link, target)| {
                let link = paths::variable_path(profile, link);
                Link {
                    dir: parent(&link),
                    link,
                    target: paths::variable_path(profile, target),
                }
            })),
            Scope::System => enabled_system.extend(a.names.iter().map(|n| n.name.clone())),
        }
    }
    (user_links, enabled_system)
}

/// A unit that a recipe of openembedded-core enables wherever its package is installed
/// (systemd.bbclass: in `SYSTEMD_SERVICE` of a `SYSTEMD_PACKAGES` package), on every
/// release of the layer.
pub struct OeEnabled {
    pub unit: &'static str,
    pub scope: Scope,
    /// The oe-core recipe and the package that enables it.
    pub recipe: &'static str,
    pub package: &'static str,
}

/// The units a recipe may take over that OE itself enables: only for these does the
/// layer remove enable links in pkg_postinst (keeping state to restore them) and ship
/// a preset. Nothing else needs it: oe-core's pulseaudio enables none of its user
/// units (`SYSTEMD_PACKAGES` is `pulseaudio`, whose `SYSTEMD_SERVICE` is empty;
/// `pulseaudio-server`'s units are shipped, not enabled) and pipewire is not in
/// oe-core. `tests/yocto_bitbake.rs` checks both against `bitbake -e` on every release.
pub const OE_ENABLED: &[OeEnabled] = &[OeEnabled {
    unit: "avahi-daemon.service",
    scope: Scope::System,
    recipe: "avahi",
    package: "avahi-daemon",
}];

/// The entry of [`OE_ENABLED`] for `unit` in `scope`, if OE enables it.
pub fn oe_enabled(unit: &str, scope: Scope) -> Option<&'static OeEnabled> {
    OE_ENABLED
        .iter()
        .find(|e| e.unit == unit && e.scope == scope)
}

/// Takeovers of units OE enables ([`OE_ENABLED`]): no mask (a /dev/null link would
/// make the replaced package's own `systemctl enable` fail); a preset file and removed
/// links (README.md). The same preset file disables the package's own system units that
/// the recipe does not enable: `do_rootfs` ends with `systemctl preset-all`, which
/// enables every unit no preset names (systemd's default policy, and OE's Python
/// systemctl's), and systemd.bbclass writes presets only for `SYSTEMD_SERVICE`. The
/// preset files join the layer's files and do_install's.
fn takeovers(
    plan: &Plan,
    name: &str,
    layer_files: &mut Vec<LayerFile>,
    installs: &mut Vec<Install>,
    dirs: &mut BTreeSet<String>,
) -> Vec<Takeovers> {
    let profile = plan.profile();
    let mut takeovers = Vec::new();
    for scope in [Scope::System, Scope::User] {
        let mut taken: Vec<&str> = Vec::new();
        let kept = || {
            plan.takeovers
                .iter()
                .filter(move |t| t.scope == scope && oe_enabled(&t.unit, scope).is_some())
        };
        for t in kept() {
            if !taken.contains(&t.unit.as_str()) {
                taken.push(&t.unit);
            }
        }
        // Only the system scope: no image step runs `preset-all --global`.
        let not_enabled: Vec<&str> = match scope {
            Scope::System => plan
                .units_in(scope)
                .filter(|u| !plan.activations.iter().any(|a| a.unit == u.name))
                .map(|u| u.name.as_str())
                .collect(),
            Scope::User => Vec::new(),
        };
        if taken.is_empty() && not_enabled.is_empty() {
            continue;
        }
        let preset = preset_name(name);
        let src = format!("presets/{}/{preset}", scope.as_str());
        let mut text = String::from(
            "# Generated by unitpack.
",
        );
        if !taken.is_empty() {
            text.push_str(&format!(
                "# {name} replaces these units; `systemctl preset` and preset-all leave them
# disabled while {name} is installed.
"
            ));
            for u in &taken {
                text.push_str(&format!(
                    "disable {u}
"
                ));
            }
        }
        if !not_enabled.is_empty() {
            text.push_str(&format!(
                "# {name} ships these units and does not enable them: the image's preset-all
# leaves them disabled.
"
            ));
            for u in &not_enabled {
                text.push_str(&format!(
                    "disable {u}
"
                ));
            }
        }
        layer_files.push(LayerFile {
            path: format!("{}/files/{src}", dir(name)),
            data: text.into(),
        });
        // /usr/lib/systemd/*-preset, with or without usrmerge: every systemd reads it
        // (/lib/systemd/*-preset only a split-usr build) and so does OE's Python
        // systemctl of kirkstone–styhead.
        let dest = format!(
            "${{nonarch_libdir}}/systemd/{}-preset/{preset}",
            scope.as_str()
        );
        dirs.insert(parent(&dest));
        installs.push(Install {
            src,
            dest,
            mode: "0644".into(),
        });
        if let Some(first) = kept().next() {
            takeovers.push(Takeovers {
                dir: paths::variable_path(profile, first.enable_dir),
                units: taken.join(" "),
            });
        }
    }
    takeovers
}

/// What pkg_prerm stops besides SYSTEMD_SERVICE: every system unit (triggers
/// first) and the running instances of templates, when the class would miss some.
fn stops(plan: &Plan, systemd_service: Option<&str>) -> (Option<String>, Vec<String>) {
    let system_units = &plan.system_units;
    // systemd.bbclass's prerm stops only SYSTEMD_SERVICE: the services that the
    // package's .path, .socket and .timer units started (and any other unit it ships)
    // would keep running. pkg_prerm stops them all, the triggers first, so that none
    // starts its service again.
    let listed: Vec<&str> = systemd_service
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    let needs_stop = !plan.instance_patterns.is_empty()
        || system_units.iter().any(|u| !listed.contains(&u.as_str()));
    let stops = needs_stop.then(|| {
        let mut units: Vec<&String> = system_units.iter().collect();
        units.sort_by_key(|u| !is_trigger(u));
        units
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let stops = stops.filter(|s| !s.is_empty());
    let stop_patterns = if needs_stop {
        plan.instance_patterns.clone()
    } else {
        Vec::new()
    };
    (stops, stop_patterns)
}

/// OE's `HOST_SYS` pattern for a Debian architecture, so that a package of prebuilt
/// machine code is skipped (not failed by the `arch` QA check) on other machines.
fn compatible_host(debian_arch: &str) -> Option<&'static str> {
    Some(match debian_arch {
        "amd64" => "x86_64.*-linux",
        "i386" => "i[3-6]86.*-linux",
        "arm64" => "aarch64.*-linux",
        "armhf" | "armel" => "arm.*-linux",
        "riscv64" => "riscv64.*-linux",
        "ppc64el" => "powerpc64le.*-linux",
        "mips64el" => "mips64el.*-linux",
        _ => return None,
    })
}

/// Units that start another unit (their service) when something happens.
fn is_trigger(unit: &str) -> bool {
    [".path", ".socket", ".timer"]
        .iter()
        .any(|kind| unit.ends_with(kind))
}

/// The preset file of a package's takeovers and of its system units not enabled: it sorts before OE's own
/// (`98-PACKAGE.preset`) and systemd's (`90-systemd.preset`, `99-default.preset`), and
/// the first file naming a unit decides.
pub fn preset_name(package: &str) -> String {
    format!("50-unitpack-{package}.preset")
}

/// Placeholders of the installed manifest, each with the bitbake variable that
/// do_install substitutes for it: the manifest names the release being built and the
/// unit directories of that build (`/usr/lib/systemd/system` with usrmerge).
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("@UNITPACK_PROFILE@", "${UNITPACK_PROFILE}"),
    ("@SYSTEMD_SYSTEM_UNITDIR@", "${systemd_system_unitdir}"),
    ("@SYSTEMD_USER_UNITDIR@", "${systemd_user_unitdir}"),
];

/// The plan's manifest with the profile and every path under a unit directory
/// replaced by placeholders (the plan writes them for the oldest release, without
/// usrmerge).
fn manifest(plan: &Plan) -> String {
    let profile = plan.profile();
    let mut out = String::new();
    for line in plan.manifest().lines() {
        let fields: Vec<String> = line
            .split('\t')
            .enumerate()
            .map(|(i, f)| {
                if line.starts_with("profile\t") && i == 1 {
                    return PLACEHOLDERS[0].0.to_string();
                }
                if !f.starts_with('/') {
                    return f.to_string();
                }
                let var = paths::variable_path(profile, f);
                PLACEHOLDERS[1..]
                    .iter()
                    .find_map(|(ph, v)| var.strip_prefix(v).map(|rest| format!("{ph}{rest}")))
                    .unwrap_or_else(|| f.to_string())
            })
            .collect();
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

fn parent(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

/// A quoted bitbake value holding a list: one item on the line, more items one per
/// line with continuations (the OE style guide's layout).
pub(super) fn value_list(items: &[String]) -> String {
    match items {
        [] => "\"\"".to_string(),
        [one] => format!("\"{one}\""),
        _ => {
            let mut s = String::from("\"\\\n");
            for i in items {
                s.push_str(&format!("    {i} \\\n"));
            }
            s.push('"');
            s
        }
    }
}
