//! `/usr/share/doc/PACKAGE/{copyright,changelog*.gz}`, which Debian Policy 12.5 and
//! 12.7 require of every binary package.

use crate::plan::Plan;
use crate::recipe::Package;
use crate::unit::Scope;

use crate::license;

/// A machine-readable (DEP-5) copyright file.
pub fn copyright(package: &Package, epoch: u64) -> String {
    let mut out = String::from(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
    );
    out.push_str(&format!("Upstream-Name: {}\n", package.name));
    if let Some(h) = &package.homepage {
        out.push_str(&format!("Source: {h}\n"));
    }
    let notice = match &package.copyright {
        Some(c) => c.clone(),
        None => format!("{} {}", crate::date::year(epoch), package.maintainer),
    };
    out.push_str(&format!(
        "\nFiles: *\nCopyright: {notice}\nLicense: {}\n",
        package.license
    ));
    if package.license == "MIT" {
        out.push_str(&indent(license::MIT_TEXT));
    } else if let Some(file) = license::common_license_file(&package.license) {
        out.push_str(&format!(
            " On Debian systems, the complete text of the license can be found in\n `/usr/share/common-licenses/{file}'.\n"
        ));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                " .\n".to_string()
            } else {
                format!(" {l}\n")
            }
        })
        .collect()
}

/// Lintian overrides shipped in the package, each with its reason.
pub fn lintian_overrides(plan: &Plan, scripts: &[super::scripts::Script]) -> String {
    let n = &plan.package().name;
    // The reason below holds only where `deb-systemd-helper --user` is missing
    // (init-system-helpers < 1.52: xenial, bionic); elsewhere lintian's tag stands.
    let calls_systemctl = !plan.profile().deb.deb_systemd_helper_user
        && scripts.iter().any(|s| {
            s.text
                .lines()
                .any(|l| !l.trim_start().starts_with('#') && l.contains("systemctl "))
        });
    let mut out = String::new();
    if calls_systemctl {
        // Only where the scripts do call it: lintian reports an override that matches
        // nothing.
        out.push_str(&format!(
            "# The scripts call `systemctl --global` for user units on every target, so that one\n\
             # script works from Ubuntu 16.04 on: `deb-systemd-helper --user` needs\n\
             # init-system-helpers >= 1.52, and Ubuntu 16.04 has 1.29.\n\
             {n}: maintainer-script-calls-systemctl\n"
        ));
    }
    out.push_str(&format!(
        "# Built by unitpack for local repositories, not uploaded to Debian: no bug to close.\n\
         {n}: initial-upload-closes-no-bugs\n"
    ));
    for unit in plan.units_in(Scope::System) {
        for target in unit.wanted_by.iter().filter(|t| is_user_manager(t)) {
            out.push_str(&format!(
                "# Wanted by a user's manager on purpose: logind starts user@UID.service at the\n\
                 # user's first login and stops it after the last (tests/e2e/OBSERVATIONS.md).\n\
                 {n}: systemd-service-file-refers-to-unusual-wantedby-target {target} [{}]\n",
                unit.path.trim_start_matches('/')
            ));
        }
    }
    out
}

/// `user@UID.service`.
fn is_user_manager(unit: &str) -> bool {
    unit.strip_prefix("user@")
        .and_then(|r| r.strip_suffix(".service"))
        .is_some_and(|uid| !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit()))
}

/// A one-entry Debian changelog dated `epoch` (seconds since 1970, UTC).
pub fn changelog(package: &Package, recipe_name: &str, epoch: u64) -> String {
    format!(
        "{} ({}) unstable; urgency=medium\n\n  * Packaged by unitpack from {}.\n\n -- {}  {}\n",
        package.name,
        package.version.full(),
        recipe_name,
        package.maintainer,
        crate::date::rfc2822(epoch)
    )
}
