//! Target paths → bitbake's directory variables, so that a distribution's layout
//! (usrmerge, multilib) applies to the installed files.

use crate::profile::Profile;

/// Prefixes of bitbake.conf's directory variables, for a layout without usrmerge.
/// Longest match wins; a path outside all of them is written as it is.
const DIRS: &[(&str, &str)] = &[
    ("/bin", "${base_bindir}"),
    ("/etc", "${sysconfdir}"),
    ("/lib", "${nonarch_base_libdir}"),
    ("/sbin", "${base_sbindir}"),
    ("/usr", "${prefix}"),
    ("/usr/bin", "${bindir}"),
    ("/usr/include", "${includedir}"),
    ("/usr/lib", "${nonarch_libdir}"),
    ("/usr/libexec", "${libexecdir}"),
    ("/usr/sbin", "${sbindir}"),
    ("/usr/share", "${datadir}"),
    ("/usr/share/doc", "${docdir}"),
    ("/var", "${localstatedir}"),
];

/// `path` with its longest known prefix replaced by the variable: the profile's unit
/// directories become `${systemd_system_unitdir}` / `${systemd_user_unitdir}`.
pub fn variable_path(profile: &Profile, path: &str) -> String {
    let units = [
        (
            profile.system_unit_dir.as_str(),
            "${systemd_system_unitdir}",
        ),
        (profile.user_unit_dir.as_str(), "${systemd_user_unitdir}"),
    ];
    let best = units
        .iter()
        .chain(DIRS.iter())
        .filter(|(prefix, _)| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(prefix, _)| prefix.len());
    match best {
        Some((prefix, var)) => format!("{var}{}", &path[prefix.len()..]),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix() {
        let p = crate::profile::find("yocto-kirkstone").unwrap();
        assert_eq!(
            variable_path(p, "/lib/systemd/system/a.path"),
            "${systemd_system_unitdir}/a.path"
        );
        assert_eq!(
            variable_path(p, "/usr/lib/systemd/user/a.service"),
            "${systemd_user_unitdir}/a.service"
        );
        assert_eq!(variable_path(p, "/usr/lib/x"), "${nonarch_libdir}/x");
        assert_eq!(
            variable_path(p, "/etc/systemd/user/x"),
            "${sysconfdir}/systemd/user/x"
        );
        assert_eq!(
            variable_path(p, "/usr/share/unitpack/p/manifest"),
            "${datadir}/unitpack/p/manifest"
        );
        assert_eq!(variable_path(p, "/etcetera/x"), "/etcetera/x");
        assert_eq!(variable_path(p, "/opt/x"), "/opt/x");
    }
}
