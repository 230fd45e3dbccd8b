//! SPDX identifiers of recipes → OpenEmbedded LICENSE names and the checksum of the
//! text in `${COMMON_LICENSE_DIR}` (meta/files/common-licenses, identical from
//! kirkstone to whinlatter).

/// (SPDX id as a recipe may write it, OE name, md5 of the common-licenses file).
const LICENSES: &[(&str, &str, &str)] = &[
    (
        "Apache-2.0",
        "Apache-2.0",
        "89aea4e17d99a7cacdbeed46a0096b10",
    ),
    (
        "GPL-2.0",
        "GPL-2.0-only",
        "801f80980d171dd6425610833a22dbe6",
    ),
    (
        "GPL-2.0+",
        "GPL-2.0-or-later",
        "fed54355545ffd980b814dab4a3b312c",
    ),
    (
        "GPL-2.0-only",
        "GPL-2.0-only",
        "801f80980d171dd6425610833a22dbe6",
    ),
    (
        "GPL-2.0-or-later",
        "GPL-2.0-or-later",
        "fed54355545ffd980b814dab4a3b312c",
    ),
    (
        "GPL-3.0",
        "GPL-3.0-only",
        "c79ff39f19dfec6d293b95dea7b07891",
    ),
    (
        "GPL-3.0+",
        "GPL-3.0-or-later",
        "1c76c4cc354acaac30ed4d5eefea7245",
    ),
    (
        "GPL-3.0-only",
        "GPL-3.0-only",
        "c79ff39f19dfec6d293b95dea7b07891",
    ),
    (
        "GPL-3.0-or-later",
        "GPL-3.0-or-later",
        "1c76c4cc354acaac30ed4d5eefea7245",
    ),
    (
        "LGPL-2.1",
        "LGPL-2.1-only",
        "1a6d268fd218675ffea8be556788b780",
    ),
    (
        "LGPL-2.1+",
        "LGPL-2.1-or-later",
        "2a4f4fd2128ea2f65047ee63fbca9f68",
    ),
    (
        "LGPL-2.1-only",
        "LGPL-2.1-only",
        "1a6d268fd218675ffea8be556788b780",
    ),
    (
        "LGPL-2.1-or-later",
        "LGPL-2.1-or-later",
        "2a4f4fd2128ea2f65047ee63fbca9f68",
    ),
    (
        "LGPL-3.0",
        "LGPL-3.0-only",
        "bfccfe952269fff2b407dd11f2f3083b",
    ),
    (
        "LGPL-3.0+",
        "LGPL-3.0-or-later",
        "c51d3eef3be114124d11349ca0d7e117",
    ),
    (
        "LGPL-3.0-only",
        "LGPL-3.0-only",
        "bfccfe952269fff2b407dd11f2f3083b",
    ),
    (
        "LGPL-3.0-or-later",
        "LGPL-3.0-or-later",
        "c51d3eef3be114124d11349ca0d7e117",
    ),
    ("MIT", "MIT", "0835ade698e0bcf8506ecda2f7b4f302"),
    ("MPL-2.0", "MPL-2.0", "815ca599c9df247a0c7f619bab123dad"),
];

/// `LICENSE` and `LIC_FILES_CHKSUM` values for an SPDX id.
pub fn oe_license(spdx: &str) -> Option<(&'static str, String)> {
    LICENSES
        .iter()
        .find(|(id, _, _)| *id == spdx)
        .map(|(_, oe, md5)| {
            (
                *oe,
                format!("file://${{COMMON_LICENSE_DIR}}/{oe};md5={md5}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_license_unitpack_accepts_has_an_oe_name() {
        for id in crate::license::known() {
            assert!(oe_license(id).is_some(), "{id}");
        }
        assert_eq!(
            oe_license("MIT").unwrap(),
            (
                "MIT",
                "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302".to_string()
            )
        );
    }
}
