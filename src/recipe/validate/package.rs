//! Checks of `package:`: names, version, relations, control fields.

use super::{Validator, MAX_FILE_NAME};
use crate::recipe::debian;
use crate::recipe::schema::RawPackage;
use crate::recipe::spans::item;
use crate::recipe::vocabulary::{DESCRIPTION_MAX_CHARS, EPOCH_MAX, SUMMARY_MAX_CHARS};
use crate::recipe::{Package, Relations, Version};

impl Validator<'_> {
    pub(in crate::recipe) fn package(&mut self, raw: &RawPackage) -> Option<Package> {
        let before = self.errors.len();
        self.check("package.name", debian::check_package_name(&raw.name));
        self.check(
            "package.version",
            debian::check_upstream_version(&raw.version, raw.revision.is_some()),
        );
        if let Some(r) = &raw.revision {
            self.check("package.revision", debian::check_revision(r));
        }
        self.check(
            "package.maintainer",
            debian::check_maintainer(&raw.maintainer),
        );
        if self.one_line("package.summary", &raw.summary)
            && raw.summary.chars().count() > SUMMARY_MAX_CHARS
        {
            self.error(
                "package.summary",
                format!("must be at most {SUMMARY_MAX_CHARS} characters (it is the Description synopsis)"),
            );
        }
        if let Some(d) = &raw.description {
            if d.chars().count() > DESCRIPTION_MAX_CHARS {
                self.error(
                    "package.description",
                    format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
                );
            } else if let Some(c) = d.chars().find(|&c| c != '\n' && debian::forbidden_char(c)) {
                self.error(
                    "package.description",
                    format!("must not contain control characters other than newlines, or Unicode separators (found {c:?})"),
                );
            }
        }
        if let Some(e) = raw.epoch {
            if e > EPOCH_MAX {
                self.error(
                    "package.epoch",
                    format!("must be at most {EPOCH_MAX} (dpkg's limit)"),
                );
            }
        }
        if self.one_line("package.license", &raw.license)
            && !crate::license::is_known(raw.license.trim())
        {
            self.error(
                "package.license",
                format!(
                    "{:?} is not a license unitpack can write a copyright file for; use one of: {}",
                    raw.license,
                    crate::license::known().join(", ")
                ),
            );
        }
        if let Some(c) = &raw.copyright {
            self.one_line("package.copyright", c);
        }
        if let Some(h) = &raw.homepage {
            if !(h.starts_with("https://") || h.starts_with("http://"))
                || !h.chars().all(|c| c.is_ascii_graphic())
                || h.len() > debian::MAX_LINE
            {
                self.error(
                    "package.homepage",
                    format!("{h:?} must be an http(s) URL of printable ASCII without spaces, at most {} bytes", debian::MAX_LINE),
                );
            }
        }
        let section = raw.section.clone().unwrap_or_else(|| "misc".into());
        self.check("package.section", debian::check_section(&section));
        let priority = raw.priority.clone().unwrap_or_else(|| "optional".into());
        if !debian::PRIORITIES.contains(&priority.as_str()) {
            self.error(
                "package.priority",
                format!(
                    "{priority:?} is not one of {}",
                    debian::PRIORITIES.join(", ")
                ),
            );
        }
        let architecture = raw.architecture.clone().unwrap_or_else(|| "all".into());
        self.check(
            "package.architecture",
            debian::check_architecture(&architecture),
        );
        let fields: [(&str, &Vec<String>); 7] = [
            ("depends", &raw.depends),
            ("recommends", &raw.recommends),
            ("suggests", &raw.suggests),
            ("conflicts", &raw.conflicts),
            ("breaks", &raw.breaks),
            ("replaces", &raw.replaces),
            ("provides", &raw.provides),
        ];
        let mut normalized: [Vec<String>; 7] = Default::default();
        for ((field, list), out) in fields.into_iter().zip(&mut normalized) {
            for (i, rel) in list.iter().enumerate() {
                match debian::normalize_relation(rel) {
                    Ok(r) => out.push(r),
                    Err(m) => self.error(&item(&format!("package.{field}"), i), m),
                }
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let [depends, recommends, suggests, conflicts, breaks, replaces, provides] = normalized;
        let package = Package {
            name: raw.name.clone(),
            version: Version {
                epoch: raw.epoch,
                upstream: raw.version.clone(),
                revision: raw.revision.clone(),
            },
            maintainer: raw.maintainer.clone(),
            summary: raw.summary.trim().to_string(),
            description: raw.description.clone().unwrap_or_default(),
            license: raw.license.trim().to_string(),
            copyright: raw.copyright.clone(),
            homepage: raw.homepage.clone(),
            section,
            priority,
            architecture,
            relations: Relations {
                depends,
                recommends,
                suggests,
                conflicts,
                breaks,
                replaces,
                provides,
            },
        };
        self.package_limits(&package);
        if self.errors.len() > before {
            return None;
        }
        Some(package)
    }

    /// File names made of the package's name and version fit the file systems:
    /// `NAME_VERSION_ARCH.deb` and the `.bb` are single path components.
    pub(in crate::recipe) fn package_limits(&mut self, package: &Package) {
        let deb = format!(
            "{}_{}_{}.deb",
            package.name,
            package.version.for_filename(),
            package.architecture
        );
        if deb.len() > MAX_FILE_NAME {
            let field = if package.name.len() >= package.version.for_filename().len() {
                "package.name"
            } else {
                "package.version"
            };
            self.error(
                field,
                format!(
                    "the package file name would be {} bytes, more than the {MAX_FILE_NAME} a file system allows; shorten the name or version",
                    deb.len()
                ),
            );
        }
    }
}
