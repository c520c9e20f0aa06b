//! The encrypted-file store, for headless machines without an OS keyring.
//!
//! Servers, containers and CI runners often have no Secret Service, and a
//! plain 0600 file is readable by anything that copies the disk or the home
//! directory. This store keeps one AEAD-encrypted file per profile,
//! `<dir>/<profile>.json.enc` (0600, in a 0700 directory, written atomically),
//! with a key taken from the environment:
//!
//! - `CLAUDE_AUTH_ENCRYPTION_KEY`: base64 of exactly 32 random bytes, used
//!   directly (create one with `head -c 32 /dev/urandom | base64`);
//! - otherwise `CLAUDE_AUTH_PASSPHRASE`, stretched with Argon2id
//!   ([`KdfParams::DEFAULT`]: 64 MiB, 3 passes, 1 lane) and a fresh random
//!   salt on every write.
//!
//! The file is a small JSON envelope:
//!
//! ```json
//! {"version": 1,
//!  "kdf": {"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 1, "salt": "<base64>"},
//!  "cipher": "xchacha20poly1305", "nonce": "<base64, 24 bytes>", "ciphertext": "<base64>"}
//! ```
//!
//! (`"kdf": {"alg": "raw"}` with a raw key). The plaintext is the credential's
//! portable JSON. The AEAD's associated data binds the profile name and the
//! whole header (version, KDF and its parameters, cipher, nonce), so a file
//! copied or renamed to another profile, or with its header edited, does not
//! decrypt. Errors never say more than "wrong key or the file was modified".
//! A store may bind a namespaced name instead (the OpenAI profiles bind
//! `openai/<profile>`), so a file copied between namespaces does not decrypt
//! either.

use std::fmt;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::config::env::Env;
use crate::config::locations::validate_profile_name;
use crate::credential::{from_portable_json, to_portable_json, Credential, Provider};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secure_file::{
    read_optional, remove_with_temp_files, to_json_bytes, write_atomic_strict, ReadPolicy,
};
use crate::store::key_file::ClassifyJsonError;
use crate::store::CredentialStore;

/// Environment variable holding a raw key: base64 of exactly 32 bytes.
pub const ENCRYPTION_KEY_VAR: &str = "CLAUDE_AUTH_ENCRYPTION_KEY";
/// Environment variable holding a passphrase (used when no raw key is set).
pub const PASSPHRASE_VAR: &str = "CLAUDE_AUTH_PASSPHRASE";

/// The only envelope version this build reads and writes.
const VERSION: u64 = 1;
const CIPHER: &str = "xchacha20poly1305";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SALT_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Domain separation for the associated data.
const AAD_CONTEXT: &str = "claude-auth encrypted credential";

/// Upper bounds on Argon2id parameters read from a file, so a damaged or
/// hostile file cannot make a read allocate or spin without limit.
const MAX_M_KIB: u32 = 1024 * 1024; // 1 GiB
const MAX_T: u32 = 32;
const MAX_P: u32 = 16;

/// Argon2id cost parameters for passphrase-derived keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, in KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes (parallelism).
    pub p: u32,
}

impl KdfParams {
    /// What new files use: 64 MiB, 3 passes, 1 lane. Memory-hard, so
    /// guessing passphrases on GPUs is expensive. Measured at 0.19–0.23 s per
    /// derivation (one per save, one per load) on the 2-core x86-64 machine
    /// this was written on, in a release build; unoptimised debug builds take
    /// about 4 s. Reads use the parameters recorded in the file.
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::DEFAULT
    }
}

/// One AEAD-encrypted file per profile (XChaCha20-Poly1305; the key is raw
/// or derived from a passphrase with Argon2id).
#[derive(Clone)]
pub struct EncryptedFileStore {
    dir: PathBuf,
    /// A raw key; preferred for writing when both are configured.
    raw_key: Option<Zeroizing<[u8; KEY_LEN]>>,
    /// A passphrase for Argon2id.
    passphrase: Option<Secret>,
    /// A configuration problem found by [`EncryptedFileStore::from_env`]
    /// (never containing the value), reported on load and save.
    key_problem: Option<String>,
    /// Argon2id parameters for new files.
    kdf: KdfParams,
    /// Bound into the associated data before the profile name (`openai/`).
    name_prefix: &'static str,
    /// Files written before the prefix was bound (bound to the bare name)
    /// still open when they hold this provider's credential.
    legacy_bare_name: Option<Provider>,
}

impl fmt::Debug for EncryptedFileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match (&self.key_problem, &self.raw_key, &self.passphrase) {
            (Some(_), _, _) => "invalid",
            (None, Some(_), Some(_)) => "raw key and passphrase",
            (None, Some(_), None) => "raw key",
            (None, None, Some(_)) => "passphrase",
            (None, None, None) => "none",
        };
        f.debug_struct("EncryptedFileStore")
            .field("dir", &self.dir)
            .field("key", &key)
            .field("kdf", &self.kdf)
            .finish()
    }
}

impl EncryptedFileStore {
    /// Files in `dir`, key from `CLAUDE_AUTH_ENCRYPTION_KEY` (base64 of 32
    /// bytes) or else `CLAUDE_AUTH_PASSPHRASE`.
    ///
    /// Never fails: a missing or malformed key is reported by
    /// [`CredentialStore::load`] and [`CredentialStore::save`] (deleting
    /// needs no key). With both variables set, new files use the raw key and
    /// files written with the passphrase still open.
    pub fn from_env(dir: PathBuf, env: &Env) -> Self {
        let mut store = EncryptedFileStore {
            dir,
            raw_key: None,
            passphrase: env.get(PASSPHRASE_VAR).map(Secret::new),
            key_problem: None,
            kdf: KdfParams::DEFAULT,
            name_prefix: "",
            legacy_bare_name: None,
        };
        if let Some(encoded) = env.get(ENCRYPTION_KEY_VAR) {
            match decode_raw_key(encoded) {
                Ok(key) => store.raw_key = Some(key),
                Err(problem) => store.key_problem = Some(problem),
            }
        }
        store
    }

    /// Files in `dir`, encrypted with `key` directly. The store keeps a
    /// zeroized-on-drop copy; the caller should zeroize its own.
    pub fn with_key(dir: impl Into<PathBuf>, key: [u8; 32]) -> Self {
        EncryptedFileStore {
            dir: dir.into(),
            raw_key: Some(Zeroizing::new(key)),
            passphrase: None,
            key_problem: None,
            kdf: KdfParams::DEFAULT,
            name_prefix: "",
            legacy_bare_name: None,
        }
    }

    /// Files in `dir`, encrypted with a key derived from `passphrase` by
    /// Argon2id with [`KdfParams::DEFAULT`].
    pub fn with_passphrase(dir: impl Into<PathBuf>, passphrase: Secret) -> Self {
        Self::with_passphrase_and_kdf(dir, passphrase, KdfParams::DEFAULT)
    }

    /// Like [`EncryptedFileStore::with_passphrase`] with other Argon2id
    /// parameters for new files (tests use cheap ones).
    #[doc(hidden)]
    pub fn with_passphrase_and_kdf(
        dir: impl Into<PathBuf>,
        passphrase: Secret,
        kdf: KdfParams,
    ) -> Self {
        EncryptedFileStore {
            dir: dir.into(),
            raw_key: None,
            passphrase: Some(passphrase),
            key_problem: None,
            kdf,
            name_prefix: "",
            legacy_bare_name: None,
        }
    }

    /// The same store binding `<prefix><profile>` instead of the bare
    /// profile name (the OpenAI profiles: `openai/`), so a file of another
    /// namespace copied here does not decrypt. Files this store wrote before
    /// the prefix was bound still open when they hold a `provider`
    /// credential (a file of the bare namespace holds another provider's).
    pub fn with_name_prefix(mut self, prefix: &'static str, provider: Provider) -> Self {
        self.name_prefix = prefix;
        self.legacy_bare_name = Some(provider);
        self
    }

    /// The file for `profile`: `<dir>/<profile>.json.enc`.
    pub fn path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{profile}.json.enc"))
    }

    /// Decrypt an envelope as stored for `profile`. `path` is only used in
    /// errors. Exposed for fuzzing; [`CredentialStore::load`] is the API.
    #[doc(hidden)]
    pub fn decrypt_envelope(&self, profile: &str, path: &Path, bytes: &[u8]) -> Result<Credential> {
        let fail = |message: String| Error::Encrypted {
            path: path.to_owned(),
            message,
        };
        let header = parse_envelope(bytes, &self.logout_command(profile)).map_err(fail)?;
        let key = self.key_for(&header.kdf, profile).map_err(fail)?;
        let open = |name: &str| {
            XChaCha20Poly1305::new(Key::from_slice(&key[..]))
                .decrypt(
                    XNonce::from_slice(&header.nonce),
                    Payload {
                        msg: &header.ciphertext,
                        aad: &header.aad(name),
                    },
                )
                .map(Zeroizing::new)
                .ok()
        };
        let bound = format!("{}{profile}", self.name_prefix);
        let (plaintext, legacy) = match (open(&bound), self.legacy_bare_name.as_ref()) {
            (Some(plaintext), _) => (plaintext, None),
            (None, Some(provider)) if !self.name_prefix.is_empty() => match open(profile) {
                Some(plaintext) => (plaintext, Some(provider)),
                None => return Err(fail(wrong_key_message(&self.logout_command(profile)))),
            },
            (None, _) => return Err(fail(wrong_key_message(&self.logout_command(profile)))),
        };
        let logout = self.logout_command(profile);
        let bad = |what: String| {
            fail(format!(
                "decrypted, but the content is not a valid credential ({what}); remove it with \
                 `{logout}` and log in again"
            ))
        };
        let value: Value = serde_json::from_slice(&plaintext)
            .map_err(|e| bad(format!("not JSON: {}", e.classify_str())))?;
        let credential = from_portable_json(&value).map_err(bad)?;
        match legacy {
            // Bound to the bare name and another provider's: a file of the
            // bare namespace copied here, refused like any foreign file.
            Some(provider) if credential.provider() != provider => {
                Err(fail(wrong_key_message(&self.logout_command(profile))))
            }
            _ => Ok(credential),
        }
    }

    /// The command that removes `profile`'s file, for messages: an OpenAI
    /// profile's names its provider.
    fn logout_command(&self, profile: &str) -> String {
        match self.legacy_bare_name {
            Some(Provider::Openai) => {
                format!("claude-auth logout --provider openai --profile {profile}")
            }
            _ => format!("claude-auth logout --profile {profile}"),
        }
    }

    /// The key for a file with `kdf`, or why there is none.
    fn key_for(&self, kdf: &Kdf, profile: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, String> {
        let logout = self.logout_command(profile);
        if let Some(problem) = &self.key_problem {
            return Err(problem.clone());
        }
        match kdf {
            Kdf::Raw => match &self.raw_key {
                Some(key) => Ok(key.clone()),
                None if self.passphrase.is_some() => Err(format!(
                    "this file was encrypted with a raw key, but only {PASSPHRASE_VAR} is set; \
                     set {ENCRYPTION_KEY_VAR} to the key used for it, or remove the file with \
                     `{logout}`"
                )),
                None => Err(missing_key_message()),
            },
            Kdf::Argon2id { params, salt } => match &self.passphrase {
                Some(passphrase) => derive_key(passphrase, salt, *params),
                None if self.raw_key.is_some() => Err(format!(
                    "this file was encrypted with a passphrase, but only {ENCRYPTION_KEY_VAR} is \
                     set; set {PASSPHRASE_VAR} to the passphrase used for it, or remove the file \
                     with `{logout}`"
                )),
                None => Err(missing_key_message()),
            },
        }
    }

    /// Encrypt `credential` for `profile` into envelope bytes.
    fn encrypt(&self, profile: &str, credential: &Credential) -> Result<Vec<u8>, String> {
        if let Some(problem) = &self.key_problem {
            return Err(problem.clone());
        }
        let (key, kdf) = match (&self.raw_key, &self.passphrase) {
            (Some(key), _) => (key.clone(), Kdf::Raw),
            (None, Some(passphrase)) => {
                let salt = random_bytes::<SALT_LEN>()?.to_vec();
                let key = derive_key(passphrase, &salt, self.kdf)?;
                (
                    key,
                    Kdf::Argon2id {
                        params: self.kdf,
                        salt,
                    },
                )
            }
            (None, None) => return Err(missing_key_message()),
        };
        let header = Header {
            kdf,
            nonce: random_bytes::<NONCE_LEN>()?,
            ciphertext: Vec::new(),
        };
        let plaintext = Zeroizing::new(to_portable_json(credential).to_string().into_bytes());
        let ciphertext = XChaCha20Poly1305::new(Key::from_slice(&key[..]))
            .encrypt(
                XNonce::from_slice(&header.nonce),
                Payload {
                    msg: &plaintext,
                    aad: &header.aad(&format!("{}{profile}", self.name_prefix)),
                },
            )
            .map_err(|_| "encryption failed".to_owned())?;
        let envelope = json!({
            "version": VERSION,
            "kdf": header.kdf.to_json(),
            "cipher": CIPHER,
            "nonce": STANDARD.encode(header.nonce),
            "ciphertext": STANDARD.encode(ciphertext),
        });
        Ok(to_json_bytes(&envelope))
    }
}

impl CredentialStore for EncryptedFileStore {
    fn location(&self, profile: &str) -> String {
        self.path(profile).display().to_string()
    }

    fn load(&self, profile: &str) -> Result<Option<Credential>> {
        validate_profile_name(profile, "profile")?;
        let path = self.path(profile);
        let Some(bytes) = read_optional(&path, ReadPolicy::Strict)? else {
            return Ok(None);
        };
        self.decrypt_envelope(profile, &path, &bytes).map(Some)
    }

    fn save(&self, profile: &str, credential: &Credential) -> Result<()> {
        validate_profile_name(profile, "profile")?;
        let path = self.path(profile);
        let bytes = self
            .encrypt(profile, credential)
            .map_err(|message| Error::Encrypted {
                path: path.clone(),
                message,
            })?;
        write_atomic_strict(&path, &bytes, 0o600)
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        validate_profile_name(profile, "profile")?;
        remove_with_temp_files(&self.path(profile))
    }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

fn missing_key_message() -> String {
    format!(
        "no encryption key: set {ENCRYPTION_KEY_VAR} to a random 32-byte key in base64 (create \
         one with `head -c 32 /dev/urandom | base64` and keep a copy somewhere safe), or set \
         {PASSPHRASE_VAR} to a passphrase"
    )
}

fn wrong_key_message(logout: &str) -> String {
    format!(
        "could not decrypt: wrong key or the file was modified. Check {ENCRYPTION_KEY_VAR} / \
         {PASSPHRASE_VAR}; if the key is lost, remove the file with `{logout}` and log in again"
    )
}

/// Decode `CLAUDE_AUTH_ENCRYPTION_KEY`. The message never contains the value
/// (not even the offending character a base64 error would name).
fn decode_raw_key(encoded: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, String> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let fix = "create one with `head -c 32 /dev/urandom | base64`";
    let bytes = LENIENT
        .decode(encoded.trim())
        .map(Zeroizing::new)
        .map_err(|_| format!("{ENCRYPTION_KEY_VAR} is not valid base64; {fix}"))?;
    if bytes.len() != KEY_LEN {
        return Err(format!(
            "{ENCRYPTION_KEY_VAR} must be the base64 of exactly {KEY_LEN} bytes, but it decodes \
             to {} bytes; {fix}",
            bytes.len()
        ));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Argon2id(passphrase, salt) → 32-byte key. The working memory is zeroed
/// afterwards.
fn derive_key(
    passphrase: &Secret,
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, String> {
    let describe = |e: argon2::Error| {
        format!(
            "could not derive the key from {PASSPHRASE_VAR} (Argon2id m_kib={} t={} p={}): {e}",
            params.m_kib, params.t, params.p
        )
    };
    let argon_params =
        Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN)).map_err(describe)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut memory = Zeroizing::new(vec![Block::default(); argon.params().block_count()]);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into_with_memory(
            passphrase.expose().as_bytes(),
            salt,
            &mut key[..],
            &mut memory[..],
        )
        .map_err(describe)?;
    Ok(key)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| format!("the operating system's random number generator failed: {e}"))?;
    Ok(bytes)
}

// ---------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------

/// How the key was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kdf {
    /// A raw 32-byte key.
    Raw,
    /// Argon2id over a passphrase.
    Argon2id { params: KdfParams, salt: Vec<u8> },
}

impl Kdf {
    fn to_json(&self) -> Value {
        match self {
            Kdf::Raw => json!({"alg": "raw"}),
            Kdf::Argon2id { params, salt } => json!({
                "alg": "argon2id",
                "m_kib": params.m_kib,
                "t": params.t,
                "p": params.p,
                "salt": STANDARD.encode(salt),
            }),
        }
    }

    /// A canonical, unambiguous text form for the associated data.
    fn canonical(&self) -> String {
        match self {
            Kdf::Raw => "raw".to_owned(),
            Kdf::Argon2id { params, salt } => format!(
                "argon2id;m_kib={};t={};p={};salt={}",
                params.m_kib,
                params.t,
                params.p,
                STANDARD.encode(salt)
            ),
        }
    }
}

/// A parsed envelope.
struct Header {
    kdf: Kdf,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl Header {
    /// The associated data: the profile and every header field, built from
    /// parsed values (not the file's bytes), so JSON formatting is free but
    /// any change of meaning breaks decryption.
    fn aad(&self, profile: &str) -> Vec<u8> {
        format!(
            "{AAD_CONTEXT}\nprofile={profile}\nversion={VERSION}\ncipher={CIPHER}\nkdf={}\nnonce={}\n",
            self.kdf.canonical(),
            STANDARD.encode(self.nonce)
        )
        .into_bytes()
    }
}

/// Parse and check an envelope. Messages name fields, never their values.
fn parse_envelope(bytes: &[u8], logout: &str) -> Result<Header, String> {
    let not_ours = |why: String| {
        format!(
            "not a claude-auth encrypted credentials file ({why}); remove it with \
             `{logout}` and log in again"
        )
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| not_ours(e.classify_str()))?;
    let map = value
        .as_object()
        .ok_or_else(|| not_ours("expected a JSON object".into()))?;
    match map.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(format!(
                "unsupported format version {other} (this claude-auth reads version {VERSION}); \
                 it was probably written by a newer claude-auth: upgrade claude-auth, or remove \
                 the file with `{logout}`"
            ))
        }
        None => return Err(not_ours("missing or non-integer field 'version'".into())),
    }
    if map.get("cipher").and_then(Value::as_str) != Some(CIPHER) {
        return Err(not_ours(format!("field 'cipher' must be \"{CIPHER}\"")));
    }
    let kdf = parse_kdf(map.get("kdf")).map_err(not_ours)?;
    let nonce: [u8; NONCE_LEN] = b64_field(map, "nonce")
        .map_err(not_ours)?
        .try_into()
        .map_err(|_| not_ours(format!("field 'nonce' must be {NONCE_LEN} bytes")))?;
    let ciphertext = b64_field(map, "ciphertext").map_err(not_ours)?;
    if ciphertext.len() < TAG_LEN {
        return Err(not_ours("field 'ciphertext' is too short".into()));
    }
    Ok(Header {
        kdf,
        nonce,
        ciphertext,
    })
}

fn parse_kdf(value: Option<&Value>) -> Result<Kdf, String> {
    let map = value
        .and_then(Value::as_object)
        .ok_or("missing or non-object field 'kdf'")?;
    match map.get("alg").and_then(Value::as_str) {
        Some("raw") => Ok(Kdf::Raw),
        Some("argon2id") => {
            let num = |key: &str, min: u32, max: u32| {
                map.get(key)
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        format!("field 'kdf.{key}' must be an integer from {min} to {max}")
                    })
            };
            let params = KdfParams {
                m_kib: num("m_kib", Params::MIN_M_COST, MAX_M_KIB)?,
                t: num("t", Params::MIN_T_COST, MAX_T)?,
                p: num("p", Params::MIN_P_COST, MAX_P)?,
            };
            let salt = b64_field(map, "salt")?;
            if !(argon2::MIN_SALT_LEN..=64).contains(&salt.len()) {
                return Err(format!(
                    "field 'kdf.salt' must be {} to 64 bytes",
                    argon2::MIN_SALT_LEN
                ));
            }
            Ok(Kdf::Argon2id { params, salt })
        }
        _ => Err("field 'kdf.alg' must be \"argon2id\" or \"raw\"".into()),
    }
}

fn b64_field(map: &Map<String, Value>, key: &str) -> Result<Vec<u8>, String> {
    let text = map
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing field '{key}'"))?;
    STANDARD
        .decode(text)
        .map_err(|_| format!("field '{key}' is not base64"))
}

#[cfg(test)]
#[path = "encrypted_tests.rs"]
mod tests;
