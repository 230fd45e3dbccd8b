//! Licenses unitpack can describe in a Debian copyright file.

pub const MIT_TEXT: &str = include_str!("../templates/licenses/MIT");

/// SPDX identifiers whose text Debian ships in /usr/share/common-licenses, with the
/// file name there.
pub const COMMON_LICENSES: &[(&str, &str)] = &[
    ("Apache-2.0", "Apache-2.0"),
    ("GPL-2.0", "GPL-2"),
    ("GPL-2.0-only", "GPL-2"),
    ("GPL-2.0+", "GPL-2"),
    ("GPL-2.0-or-later", "GPL-2"),
    ("GPL-3.0", "GPL-3"),
    ("GPL-3.0-only", "GPL-3"),
    ("GPL-3.0+", "GPL-3"),
    ("GPL-3.0-or-later", "GPL-3"),
    ("LGPL-2.1", "LGPL-2.1"),
    ("LGPL-2.1-only", "LGPL-2.1"),
    ("LGPL-2.1+", "LGPL-2.1"),
    ("LGPL-2.1-or-later", "LGPL-2.1"),
    ("LGPL-3.0", "LGPL-3"),
    ("LGPL-3.0-only", "LGPL-3"),
    ("LGPL-3.0+", "LGPL-3"),
    ("LGPL-3.0-or-later", "LGPL-3"),
    ("MPL-2.0", "MPL-2.0"),
];

pub fn common_license_file(spdx: &str) -> Option<&'static str> {
    COMMON_LICENSES
        .iter()
        .find(|(id, _)| *id == spdx)
        .map(|(_, f)| *f)
}

pub fn is_known(spdx: &str) -> bool {
    spdx == "MIT" || common_license_file(spdx).is_some()
}

pub fn known() -> Vec<&'static str> {
    let mut v = vec!["MIT"];
    v.extend(COMMON_LICENSES.iter().map(|(id, _)| *id));
    v
}
