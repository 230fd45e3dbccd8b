//! Signing with Debian's GnuPG (`gpg`), the implementation apt's own `gpgv` shares.
//!
//! A key given as a file is imported into a private, temporary GnuPG home that lives as
//! long as the [`SigningKey`]; a key given by id is taken from the user's keyring
//! (`GNUPGHOME` or `~/.gnupg`). Signatures are made at the repository's date
//! (`--faked-system-time`), so with an EdDSA or RSA key the same input gives the same
//! signature bytes.

use super::cleanup::GnupgHome;
use crate::error::{Error, InputError, Result};
use crate::input::{self, ReadError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Which keys sign: secret key files, ids in the user's keyring, or both (ids among
/// the keys of the files). Several keys: each signature carries one by each (rotation).
#[derive(Debug, Clone, Default)]
pub struct KeySpec {
    pub files: Vec<PathBuf>,
    pub ids: Vec<String>,
    /// For a passphrase-protected key (read by gpg, never by unitpack).
    pub passphrase_file: Option<PathBuf>,
}

pub struct SigningKey {
    home: Option<GnupgHome>,
    /// Where errors about the key point: the first key file, or `--key-id`.
    origin: PathBuf,
    /// The signing keys, in the order given; each signs every signature.
    keys: Vec<Listed>,
    passphrase_file: Option<PathBuf>,
    /// Said once, whatever is signed: e.g. a key file others can read.
    pub warnings: Vec<String>,
}

/// A secret key as `gpg --with-colons --list-secret-keys` describes it.
#[derive(Clone)]
struct Listed {
    fingerprint: String,
    validity: String,
    created: u64,
    expires: Option<u64>,
    can_sign: bool,
}

impl SigningKey {
    /// Find the keys and check that each can sign; every problem is an input error.
    pub fn open(spec: &KeySpec) -> Result<SigningKey> {
        let origin = spec
            .files
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("--key-id"));
        let mut key = SigningKey {
            home: None,
            origin: origin.clone(),
            keys: Vec::new(),
            passphrase_file: spec.passphrase_file.clone(),
            warnings: Vec::new(),
        };
        if let Some(p) = &spec.passphrase_file {
            // gpg reads it: it must be a regular file, not a FIFO that would block gpg.
            if let Err(e) = input::open_bounded(p, input::MAX_KEY_FILE) {
                return Err(InputError::new(p, None, "passphrase-file", e.to_string()).into());
            }
        }
        // Without --key-id, each file must hold one signing key: that key signs.
        let mut from_files: Vec<Listed> = Vec::new();
        for file in &spec.files {
            let bad = |m: String| -> Error { InputError::new(file, None, "key", m).into() };
            let opened = input::open_bounded(file, input::MAX_KEY_FILE).map_err(|e| match e {
                ReadError::NotRegular(m) => bad(m),
                ReadError::Missing => bad("no such key file".into()),
                e => bad(format!("the key file {e}")),
            })?;
            if let Some(w) = readable_by_others(file, &opened) {
                key.warnings.push(w);
            }
            let bytes = input::read_to_limit(opened, input::MAX_KEY_FILE)
                .map_err(|e| bad(format!("the key file {e}")))?;
            // The keys this file adds are those not listed before it was imported (a
            // fresh home lists none: no gpg run for the usual single key file).
            let (before, listed_before): (Vec<String>, usize) =
                if key.home.is_none() || !spec.ids.is_empty() {
                    (Vec::new(), 0)
                } else {
                    let (all, usable) = key.listed(None)?;
                    (
                        usable.into_iter().map(|k| k.fingerprint).collect(),
                        all.len(),
                    )
                };
            if key.home.is_none() {
                let home = GnupgHome::new()
                    .map_err(|e| Error::io("creating a temporary GnuPG home", e))?;
                key.home = Some(home);
            }
            let out = key.gpg_fed(
                &[
                    "--import".as_ref(),
                    "--import-options".as_ref(),
                    "import-local-sigs".as_ref(),
                ],
                &bytes,
            )?;
            if !out.status.success() {
                return Err(bad(format!(
                    "gpg cannot import it: {}",
                    gpg_message(&out.stderr)
                )));
            }
            if spec.ids.is_empty() {
                let (listed, usable) = key.listed(None)?;
                let new: Vec<Listed> = usable
                    .into_iter()
                    .filter(|k| !before.contains(&k.fingerprint))
                    .collect();
                from_files.push(match new.as_slice() {
                    [one] => one.clone(),
                    [] if listed.is_empty() => {
                        return Err(bad("holds no secret key (export one with `gpg \
                                        --export-secret-keys ID`)"
                            .into()))
                    }
                    [] if listed.len() == listed_before => {
                        return Err(bad(
                            "adds no secret key to those of the earlier --key (the same \
                             key given twice, or no secret key in it)"
                                .into(),
                        ))
                    }
                    [] => {
                        return Err(bad("holds no secret key that can sign (revoked, \
                                        expired or without signing capability)"
                            .into()))
                    }
                    many => {
                        return Err(bad(format!(
                            "holds {} secret signing keys; choose one with --key-id: {}",
                            many.len(),
                            many.iter()
                                .map(|k| k.fingerprint.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )))
                    }
                });
            }
        }
        if spec.ids.is_empty() {
            key.keys = from_files;
        }
        for id in &spec.ids {
            let bad = |m: String| -> Error { InputError::new(&origin, None, "key", m).into() };
            let (_, usable) = key.listed(Some(id))?;
            let chosen = match usable.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(bad(format!(
                        "no usable secret signing key matches {id:?}{}",
                        if spec.files.is_empty() {
                            " in the keyring (GNUPGHOME or ~/.gnupg)"
                        } else {
                            " in the key files"
                        }
                    )))
                }
                many => {
                    return Err(bad(format!(
                        "{id:?} matches {} secret signing keys; give a fingerprint: {}",
                        many.len(),
                        many.iter()
                            .map(|k| k.fingerprint.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            };
            key.keys.push(chosen);
        }
        let mut seen = std::collections::BTreeSet::new();
        key.keys.retain(|k| seen.insert(k.fingerprint.clone()));
        Ok(key)
    }

    /// The fingerprints of the signing keys, in the order given.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.fingerprint.clone()).collect()
    }

    /// The secret keys `id` names (all without one), and those of them that can sign.
    fn listed(&self, id: Option<&str>) -> Result<(Vec<Listed>, Vec<Listed>)> {
        let mut args = vec!["--list-secret-keys"];
        args.extend(id);
        let out = self.gpg_str(&args)?;
        let listed = parse_secret_keys(&String::from_utf8_lossy(&out.stdout));
        let usable = listed.iter().filter(|k| k.usable()).cloned().collect();
        Ok((listed, usable))
    }

    /// The signatures carry `date`: each key must exist and be unexpired then.
    /// `what` says where the date came from, `fix` what to do when it is wrong.
    pub fn check_date(&self, date: u64, what: &str, fix: &str) -> Result<()> {
        let bad = |m: String| -> Error { InputError::new(&self.origin, None, "key", m).into() };
        let day = |t: u64| super::index::release_date(t);
        for k in &self.keys {
            if date < k.created {
                return Err(bad(format!(
                    "key {} was created {}, after the repository date {} ({what}); \
                     a signature cannot predate its key; {fix}",
                    k.fingerprint,
                    day(k.created),
                    day(date)
                )));
            }
            if let Some(exp) = k.expires.filter(|&e| e <= date) {
                return Err(bad(format!(
                    "key {} expired {}, before the repository date {} ({what}); {fix}",
                    k.fingerprint,
                    day(exp),
                    day(date)
                )));
            }
        }
        Ok(())
    }

    /// `InRelease` (clear-signed) and `Release.gpg` (detached, armored) for `release`.
    pub fn sign(&self, release: &Path, inrelease: &Path, detached: &Path, date: u64) -> Result<()> {
        for (mode, out) in [("--clearsign", inrelease), ("--detach-sign", detached)] {
            let faked = format!("{date}!");
            let mut args: Vec<&std::ffi::OsStr> = vec![
                "--yes".as_ref(),
                "--armor".as_ref(),
                "--faked-system-time".as_ref(),
                faked.as_ref(),
                "--digest-algo".as_ref(),
                "SHA256".as_ref(),
            ];
            // One signature per key in each file: a client trusting any one of them
            // verifies (apt ignores the signatures whose key it lacks).
            for k in &self.keys {
                args.push("--local-user".as_ref());
                args.push(k.fingerprint.as_ref());
            }
            if let Some(p) = &self.passphrase_file {
                args.extend([
                    "--pinentry-mode".as_ref(),
                    "loopback".as_ref(),
                    "--passphrase-file".as_ref(),
                    p.as_os_str(),
                ]);
            }
            args.extend([
                mode.as_ref(),
                "--output".as_ref(),
                out.as_os_str(),
                release.as_os_str(),
            ]);
            let result = self.gpg(&args)?;
            if !result.status.success() {
                return Err(InputError::new(
                    &self.origin,
                    None,
                    "key",
                    format!(
                        "gpg {mode} with key {} failed: {}",
                        self.fingerprints().join(" and "),
                        gpg_message(&result.stderr)
                    ),
                )
                .into());
            }
        }
        Ok(())
    }

    /// A warning when no signature of `previous` (the suite's last `Release.gpg`, at
    /// `path`) was made by one of this run's keys (a primary or any subkey): clients
    /// that trust only the old key then fail with NO_PUBKEY. A rotation signs with the
    /// old and the new key, so it shares a key with the state before it.
    pub fn previous_signer_warning(&self, previous: &[u8], path: &Path) -> Result<Option<String>> {
        let out = self.gpg_fed(&["--list-packets".as_ref()], previous)?;
        let signers: Vec<String> = signatures_of(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .map(|(_, keyid)| keyid)
            .collect();
        if signers.is_empty() {
            return Ok(None); // not a signature gpg reads: it is replaced anyway
        }
        let ours = self.key_ids()?;
        if signers.iter().any(|s| ours.contains(s)) {
            return Ok(None);
        }
        Ok(Some(format!(
            "{}: key: the suite was signed by key {}, this run signs with {} only: \
             clients that trust only the old key will fail with NO_PUBKEY; to rotate, \
             sign with both keys (--key OLD --key NEW) until every client has the new \
             public key (unitpack repo export-key), then with the new one alone",
            path.display(),
            signers.join(" and "),
            self.fingerprints().join(" and ")
        )))
    }

    /// The key ids (primary and subkeys) of the signing keys, as signatures name them.
    fn key_ids(&self) -> Result<Vec<String>> {
        let mut args = vec!["--list-secret-keys"];
        let fprs = self.fingerprints();
        args.extend(fprs.iter().map(String::as_str));
        let listing = self.gpg_str(&args)?;
        Ok(String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                matches!(f.first(), Some(&("sec" | "ssb")))
                    .then(|| f.get(4).map(|s| s.to_string()))
                    .flatten()
            })
            .collect())
    }

    /// A warning when the signature in `detached` (made by [`SigningKey::sign`]) is one
    /// that some apt clients refuse. Only an RSA key of 2048 bits or more passes them all:
    /// - Ubuntu 16.04's apt 1.2 verifies with xenial's `gpgv` 1.4, which knows RSA and DSA
    ///   only (EdDSA and ECDSA came with GnuPG 2.1): "unknown pubkey algorithm";
    /// - Debian 13's apt verifies with `sqv`, whose policy refuses RSA and DSA keys under
    ///   2048 bits; Ubuntu 24.04's apt accepts only RSA of 2048 bits or more, Ed25519 and
    ///   Ed448.
    pub fn client_warnings(&self, detached: &Path) -> Result<Vec<String>> {
        let out = self.gpg(&["--list-packets".as_ref(), detached.as_os_str()])?;
        let signatures = signatures_of(&String::from_utf8_lossy(&out.stdout));
        if signatures.len() != self.keys.len() {
            return Err(Error::Tool {
                program: "gpg",
                message: format!(
                    "--list-packets {} shows {} signatures, not {}: {}",
                    detached.display(),
                    signatures.len(),
                    self.keys.len(),
                    gpg_message(&out.stderr)
                ),
            });
        }
        let mut warnings = Vec::new();
        for ((algorithm, keyid), k) in signatures.into_iter().zip(&self.keys) {
            warnings.extend(self.client_warning(algorithm, &keyid, &k.fingerprint)?);
        }
        Ok(warnings)
    }

    fn client_warning(
        &self,
        algorithm: u8,
        keyid: &str,
        fingerprint: &str,
    ) -> Result<Option<String>> {
        let listing = self.gpg_str(&["--list-secret-keys", fingerprint])?;
        let bits = key_bits(&String::from_utf8_lossy(&listing.stdout), keyid).unwrap_or(0);
        let (name, refused_by) = match algorithm {
            RSA | RSA_SIGN if bits >= 2048 => return Ok(None),
            RSA | RSA_SIGN | DSA if bits < 2048 => (
                format!(
                    "{} of {bits} bits",
                    if algorithm == DSA { "DSA" } else { "RSA" }
                ),
                "Debian 13's apt (sqv: \"not considered secure\") and Ubuntu 24.04's",
            ),
            DSA => (
                format!("DSA of {bits} bits"),
                "Ubuntu 24.04's apt (RSA, Ed25519 and Ed448 only)",
            ),
            EDDSA => (
                "EdDSA (ed25519)".to_string(),
                "Ubuntu 16.04's apt 1.2 (it verifies with gpgv 1.4, which knows only RSA \
                 and DSA: \"unknown pubkey algorithm\")",
            ),
            ECDSA => (
                "ECDSA".to_string(),
                "Ubuntu 16.04's apt 1.2 (gpgv 1.4 knows only RSA and DSA) and Ubuntu \
                 24.04's (RSA, Ed25519 and Ed448 only)",
            ),
            a => (
                format!("public-key algorithm {a}"),
                "Ubuntu 16.04's apt 1.2 (gpgv 1.4 knows only RSA and DSA)",
            ),
        };
        Ok(Some(format!(
            "{}: key: key {} signs with {name}; {refused_by} cannot verify this repository; \
             an RSA key of 2048 bits or more suits every apt \
             (gpg --quick-gen-key 'NAME <EMAIL>' rsa3072 sign never)",
            self.origin.display(),
            fingerprint
        )))
    }

    /// The public key, minimal (no third-party signatures), as a keyring file for
    /// `signed-by=`: binary unless `armor` (apt before 1.4 reads binary keyrings only).
    pub fn export_public(&self, armor: bool) -> Result<Vec<u8>> {
        let mut args = vec!["--export", "--export-options", "export-minimal"];
        if armor {
            args.push("--armor");
        }
        let fprs = self.fingerprints();
        args.extend(fprs.iter().map(String::as_str));
        let out = self.gpg_str(&args)?;
        if !out.status.success() || out.stdout.is_empty() {
            return Err(Error::Tool {
                program: "gpg",
                message: format!(
                    "--export {} failed: {}",
                    fprs.join(" "),
                    gpg_message(&out.stderr)
                ),
            });
        }
        Ok(out.stdout)
    }

    fn gpg_str(&self, args: &[&str]) -> Result<Output> {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        self.gpg(&args)
    }

    fn gpg(&self, args: &[&std::ffi::OsStr]) -> Result<Output> {
        self.gpg_command(args).output().map_err(gpg_spawn_error)
    }

    /// gpg with `input` on its standard input (the key: gpg never opens the key file).
    fn gpg_fed(&self, args: &[&std::ffi::OsStr], input: &[u8]) -> Result<Output> {
        let mut child = self
            .gpg_command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(gpg_spawn_error)?;
        let mut stdin = child.stdin.take().expect("piped");
        // Written from a thread: gpg may fill its output pipes before reading all input.
        let bytes = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&bytes));
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io("running gpg", e))?;
        let _ = writer.join();
        Ok(out)
    }

    fn gpg_command(&self, args: &[&std::ffi::OsStr]) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.args(["--batch", "--no-tty", "--with-colons", "--fixed-list-mode"]);
        if let Some(home) = &self.home {
            cmd.arg("--homedir").arg(home.path());
        }
        cmd.args(args);
        cmd
    }
}

fn gpg_spawn_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::Tool {
            program: "gpg",
            message: "not found: install Debian's gnupg (apt-get install gnupg)".into(),
        }
    } else {
        Error::io("running gpg", e)
    }
}

/// A warning when the secret key file can be read by its group or by others.
fn readable_by_others(path: &Path, file: &std::fs::File) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then(|| {
        format!(
            "{}: key: the secret key file has mode {mode:04o}: its group or others can read it; \
             chmod 600 {} (and export with `umask 077; gpg --export-secret-keys ID > FILE`)",
            path.display(),
            path.display()
        )
    })
}

// OpenPGP public-key algorithms (RFC 4880 9.1, RFC 9580 9.1).
const RSA: u8 = 1;
const RSA_SIGN: u8 = 3;
const DSA: u8 = 17;
const ECDSA: u8 = 19;
const EDDSA: u8 = 22;

/// Algorithm and issuer key id of each signature packet in `gpg --list-packets`
/// output (`:signature packet: algo 22, keyid 9DC4DC913B8CEF43`), in order.
fn signatures_of(listing: &str) -> Vec<(u8, String)> {
    listing
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(":signature packet: algo ")?;
            let (algo, keyid) = rest.split_once(", keyid ")?;
            Some((algo.trim().parse().ok()?, keyid.trim().to_string()))
        })
        .collect()
}

/// The size in bits of the key or subkey `keyid` in a `--with-colons` key listing.
fn key_bits(colons: &str, keyid: &str) -> Option<u32> {
    colons.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (matches!(f.first(), Some(&("sec" | "ssb"))) && f.get(4) == Some(&keyid))
            .then(|| f.get(2)?.parse().ok())
            .flatten()
    })
}

impl Listed {
    fn usable(&self) -> bool {
        self.can_sign && !matches!(self.validity.as_str(), "r" | "e" | "d" | "i")
    }
}

fn parse_secret_keys(colons: &str) -> Vec<Listed> {
    let mut keys: Vec<Listed> = Vec::new();
    let mut expect_fpr = false;
    for line in colons.lines() {
        let f: Vec<&str> = line.split(':').collect();
        match f.first().copied() {
            Some("sec") if f.len() > 11 => {
                keys.push(Listed {
                    fingerprint: String::new(),
                    validity: f[1].to_string(),
                    created: f[5].parse().unwrap_or(0),
                    expires: f[6].parse().ok(),
                    // Upper case: the key as a whole (primary or a subkey) can sign.
                    can_sign: f[11].contains('S'),
                });
                expect_fpr = true;
            }
            Some("fpr") if expect_fpr && f.len() > 9 => {
                if let Some(k) = keys.last_mut() {
                    k.fingerprint = f[9].to_string();
                }
                expect_fpr = false;
            }
            Some("ssb") => expect_fpr = false,
            _ => {}
        }
    }
    keys
}

/// gpg's own lines, minus the noise of `--faked-system-time`.
fn gpg_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("running with faked system time"))
        .collect();
    if lines.is_empty() {
        "no message".into()
    } else {
        lines.join("; ")
    }
}
