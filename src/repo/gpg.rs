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

/// Which key signs: a secret key file, an id in the user's keyring, or both (an id
/// among the keys of the file).
#[derive(Debug, Clone, Default)]
pub struct KeySpec {
    pub file: Option<PathBuf>,
    pub id: Option<String>,
    /// For a passphrase-protected key (read by gpg, never by unitpack).
    pub passphrase_file: Option<PathBuf>,
}

pub struct SigningKey {
    home: Option<GnupgHome>,
    /// Where errors about the key point: the key file, or `--key-id`.
    origin: PathBuf,
    pub fingerprint: String,
    created: u64,
    expires: Option<u64>,
    passphrase_file: Option<PathBuf>,
    /// Said once, whatever is signed: e.g. a key file others can read.
    pub warnings: Vec<String>,
}

/// A secret key as `gpg --with-colons --list-secret-keys` describes it.
struct Listed {
    fingerprint: String,
    validity: String,
    created: u64,
    expires: Option<u64>,
    can_sign: bool,
}

impl SigningKey {
    /// Find the key and check that it can sign; every problem is an input error.
    pub fn open(spec: &KeySpec) -> Result<SigningKey> {
        let origin = spec
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from("--key-id"));
        let bad = |m: String| -> Error { InputError::new(&origin, None, "key", m).into() };
        let mut key = SigningKey {
            home: None,
            origin: origin.clone(),
            fingerprint: String::new(),
            created: 0,
            expires: None,
            passphrase_file: spec.passphrase_file.clone(),
            warnings: Vec::new(),
        };
        if let Some(p) = &spec.passphrase_file {
            // gpg reads it: it must be a regular file, not a FIFO that would block gpg.
            if let Err(e) = input::open_bounded(p, input::MAX_KEY_FILE) {
                return Err(InputError::new(p, None, "passphrase-file", e.to_string()).into());
            }
        }
        if let Some(file) = &spec.file {
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
            let home =
                GnupgHome::new().map_err(|e| Error::io("creating a temporary GnuPG home", e))?;
            key.home = Some(home);
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
        }
        let mut args = vec!["--list-secret-keys"];
        if let Some(id) = &spec.id {
            args.push(id);
        }
        let out = key.gpg_str(&args)?;
        let listed = parse_secret_keys(&String::from_utf8_lossy(&out.stdout));
        let usable: Vec<&Listed> = listed
            .iter()
            .filter(|k| k.can_sign && !matches!(k.validity.as_str(), "r" | "e" | "d" | "i"))
            .collect();
        let chosen = match (usable.as_slice(), &spec.id) {
            ([one], _) => *one,
            ([], Some(id)) => {
                return Err(bad(format!(
                    "no usable secret signing key matches {id:?}{}",
                    match &spec.file {
                        Some(_) => " in this file",
                        None => " in the keyring (GNUPGHOME or ~/.gnupg)",
                    }
                )))
            }
            ([], None) if listed.is_empty() => {
                return Err(bad(
                    "holds no secret key (export one with `gpg --export-secret-keys ID`)".into(),
                ))
            }
            ([], None) => {
                return Err(bad(
                    "holds no secret key that can sign (revoked, expired or without \
                     signing capability)"
                        .into(),
                ))
            }
            (many, _) => {
                return Err(bad(format!(
                    "holds {} secret signing keys; choose one with --key-id: {}",
                    many.len(),
                    many.iter()
                        .map(|k| k.fingerprint.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        };
        key.fingerprint = chosen.fingerprint.clone();
        key.created = chosen.created;
        key.expires = chosen.expires;
        Ok(key)
    }

    /// The signatures carry `date`: the key must exist and be unexpired then.
    /// `what` says where the date came from, `fix` what to do when it is wrong.
    pub fn check_date(&self, date: u64, what: &str, fix: &str) -> Result<()> {
        let bad = |m: String| -> Error { InputError::new(&self.origin, None, "key", m).into() };
        let day = |t: u64| super::index::release_date(t);
        if date < self.created {
            return Err(bad(format!(
                "key {} was created {}, after the repository date {} ({what}); \
                 a signature cannot predate its key; {fix}",
                self.fingerprint,
                day(self.created),
                day(date)
            )));
        }
        if let Some(exp) = self.expires.filter(|&e| e <= date) {
            return Err(bad(format!(
                "key {} expired {}, before the repository date {} ({what}); {fix}",
                self.fingerprint,
                day(exp),
                day(date)
            )));
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
                "--local-user".as_ref(),
                self.fingerprint.as_ref(),
            ];
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
                        self.fingerprint,
                        gpg_message(&result.stderr)
                    ),
                )
                .into());
            }
        }
        Ok(())
    }

    /// A warning when `previous` (the suite's last `Release.gpg`, at `path`) was made by
    /// a key other than this one (its primary or any subkey): clients that trust only
    /// the old key then fail with NO_PUBKEY.
    pub fn previous_signer_warning(&self, previous: &[u8], path: &Path) -> Result<Option<String>> {
        let out = self.gpg_fed(&["--list-packets".as_ref()], previous)?;
        let Some((_, keyid)) = signature_of(&String::from_utf8_lossy(&out.stdout)) else {
            return Ok(None); // not a signature gpg reads: it is replaced anyway
        };
        let listing = self.gpg_str(&["--list-secret-keys", &self.fingerprint])?;
        let ours = String::from_utf8_lossy(&listing.stdout).lines().any(|l| {
            let f: Vec<&str> = l.split(':').collect();
            matches!(f.first(), Some(&("sec" | "ssb"))) && f.get(4) == Some(&keyid.as_str())
        });
        Ok((!ours).then(|| {
            format!(
                "{}: key: the suite was signed by key {keyid}, this run signs with {}: \
                 clients that trust only the old key will fail with NO_PUBKEY; give them \
                 the new public key first (unitpack repo export-key)",
                path.display(),
                self.fingerprint
            )
        }))
    }

    /// A warning when the signature in `detached` (made by [`SigningKey::sign`]) is one
    /// that some apt clients refuse. Only an RSA key of 2048 bits or more passes them all:
    /// - Ubuntu 16.04's apt 1.2 verifies with xenial's `gpgv` 1.4, which knows RSA and DSA
    ///   only (EdDSA and ECDSA came with GnuPG 2.1): "unknown pubkey algorithm";
    /// - Debian 13's apt verifies with `sqv`, whose policy refuses RSA and DSA keys under
    ///   2048 bits; Ubuntu 24.04's apt accepts only RSA of 2048 bits or more, Ed25519 and
    ///   Ed448.
    pub fn client_warning(&self, detached: &Path) -> Result<Option<String>> {
        let out = self.gpg(&["--list-packets".as_ref(), detached.as_os_str()])?;
        let Some((algorithm, keyid)) = signature_of(&String::from_utf8_lossy(&out.stdout)) else {
            return Err(Error::Tool {
                program: "gpg",
                message: format!(
                    "--list-packets {} shows no signature: {}",
                    detached.display(),
                    gpg_message(&out.stderr)
                ),
            });
        };
        let listing = self.gpg_str(&["--list-secret-keys", &self.fingerprint])?;
        let bits = key_bits(&String::from_utf8_lossy(&listing.stdout), &keyid).unwrap_or(0);
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
            self.fingerprint
        )))
    }

    /// The public key, minimal (no third-party signatures), as a keyring file for
    /// `signed-by=`: binary unless `armor` (apt before 1.4 reads binary keyrings only).
    pub fn export_public(&self, armor: bool) -> Result<Vec<u8>> {
        let mut args = vec!["--export", "--export-options", "export-minimal"];
        if armor {
            args.push("--armor");
        }
        args.push(&self.fingerprint);
        let out = self.gpg_str(&args)?;
        if !out.status.success() || out.stdout.is_empty() {
            return Err(Error::Tool {
                program: "gpg",
                message: format!(
                    "--export {} failed: {}",
                    self.fingerprint,
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

/// Algorithm and issuer key id of the first signature packet in `gpg --list-packets`
/// output (`:signature packet: algo 22, keyid 9DC4DC913B8CEF43`).
fn signature_of(listing: &str) -> Option<(u8, String)> {
    listing.lines().find_map(|line| {
        let rest = line.strip_prefix(":signature packet: algo ")?;
        let (algo, keyid) = rest.split_once(", keyid ")?;
        Some((algo.trim().parse().ok()?, keyid.trim().to_string()))
    })
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
