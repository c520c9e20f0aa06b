//! claude-auth's own OpenAI logins ("OpenAI profiles"), kept apart from
//! Anthropic's: never in the spec's config dir (the Anthropic SDKs read
//! every file there), never under an Anthropic keyring account.
//!
//! - File storage: `<own config dir>/openai/credentials/<profile>.json`, the
//!   portable JSON of [`crate::credential::to_portable_json`] (provider
//!   `openai`), 0600 in a 0700 directory.
//! - Keyring: the configured service, account `openai/<profile>`.
//! - Encrypted file: `<own config dir>/encrypted/openai/<profile>.json.enc`.
//! - Which storage holds a profile: `<own config dir>/openai/storage.json`
//!   (written by [`OpenaiProfiles::save`]; a profile not named there is in
//!   a file).
//! - The active OpenAI profile: `<own config dir>/openai/active`, one line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::env::Env;
use crate::config::locations::{own_config_dir, validate_profile_name};
use crate::config::settings::Settings;
use crate::credential::{Credential, Provider};
use crate::error::{Error, Result};
use crate::secure_file::{read_optional, write_atomic, ReadPolicy};
use crate::store::key_file::{ClassifyJsonError, KeyFileStore};
use crate::store::profile_files::read_profile_pointer;
use crate::store::{CredentialStore, StorageKind};

/// The keyring account prefix of OpenAI profiles.
pub const KEYRING_ACCOUNT_PREFIX: &str = "openai/";

/// An OpenAI profile's credential and where it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOpenai {
    /// The credential (provider `openai`).
    pub credential: Credential,
    /// The storage holding it.
    pub storage: StorageKind,
    /// Where, for humans (a path, or a keyring service and account).
    pub location: String,
}

/// claude-auth's OpenAI profiles.
#[derive(Clone, Debug)]
pub struct OpenaiProfiles {
    /// `<own config dir>/openai`.
    dir: PathBuf,
    /// `<own config dir>/encrypted/openai`.
    encrypted_dir: PathBuf,
    env: Env,
    keyring_service: String,
    #[cfg(feature = "keyring")]
    keyring: Option<std::sync::Arc<dyn crate::store::keyring::KeyringBackend>>,
}

impl OpenaiProfiles {
    /// The OpenAI profiles of `env`'s own config dir; the keyring service
    /// from `settings`.
    pub fn new(env: &Env, settings: &Settings) -> Self {
        let own = own_config_dir(env).path;
        OpenaiProfiles {
            dir: own.join("openai"),
            encrypted_dir: own.join("encrypted").join("openai"),
            env: env.clone(),
            keyring_service: settings.keyring_service.clone(),
            #[cfg(feature = "keyring")]
            keyring: None,
        }
    }

    /// The same profiles over another keyring (the OS one by default).
    #[cfg(feature = "keyring")]
    pub fn with_keyring_backend(
        mut self,
        backend: std::sync::Arc<dyn crate::store::keyring::KeyringBackend>,
    ) -> Self {
        self.keyring = Some(backend);
        self
    }

    /// `<own config dir>/openai`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a file-stored profile.
    pub fn file_path(&self, name: &str) -> PathBuf {
        self.dir.join("credentials").join(format!("{name}.json"))
    }

    /// The active-profile pointer, `<own config dir>/openai/active`.
    pub fn active_path(&self) -> PathBuf {
        self.dir.join("active")
    }

    /// Where each profile's storage is recorded.
    pub fn registry_path(&self) -> PathBuf {
        self.dir.join("storage.json")
    }

    /// The store for one storage kind.
    pub fn store(&self, kind: StorageKind) -> Result<Box<dyn CredentialStore>> {
        match kind {
            StorageKind::File => Ok(Box::new(KeyFileStore::new(self.dir.join("credentials")))),
            #[cfg(feature = "keyring")]
            StorageKind::Keyring => {
                use crate::store::keyring::KeyringStore;
                let store = match &self.keyring {
                    Some(b) => KeyringStore::with_backend(&self.keyring_service, b.clone()),
                    None => KeyringStore::new(&self.keyring_service),
                };
                Ok(Box::new(store.with_account_prefix(KEYRING_ACCOUNT_PREFIX)))
            }
            #[cfg(feature = "encrypted-file")]
            StorageKind::EncryptedFile => Ok(Box::new(
                crate::store::encrypted::EncryptedFileStore::from_env(
                    self.encrypted_dir.clone(),
                    &self.env,
                )
                .with_name_prefix(KEYRING_ACCOUNT_PREFIX, crate::credential::Provider::Openai),
            )),
            #[allow(unreachable_patterns)]
            other => Err(Error::Unsupported(format!(
                "storage {other} is not compiled into this build of claude-auth"
            ))),
        }
    }

    fn registry(&self) -> Result<BTreeMap<String, StorageKind>> {
        let path = self.registry_path();
        let Some(bytes) = read_optional(&path, ReadPolicy::Strict)? else {
            return Ok(BTreeMap::new());
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::parse(
                &path,
                format!(
                    "not a map of profile to storage ({}); delete the file and log in again",
                    e.classify_str()
                ),
            )
        })
    }

    fn record(&self, name: &str, storage: Option<StorageKind>) -> Result<()> {
        let mut map = self.registry()?;
        let changed = match storage {
            Some(kind) => map.insert(name.to_owned(), kind) != Some(kind),
            None => map.remove(name).is_some(),
        };
        if !changed {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&map).unwrap_or_default();
        write_atomic(&self.registry_path(), &bytes, 0o600)
    }

    /// The storage `name` is kept in (recorded by [`save`](Self::save);
    /// file when not recorded).
    pub fn storage_of(&self, name: &str) -> Result<StorageKind> {
        validate_profile_name(name, "OpenAI profile")?;
        Ok(self.registry()?.get(name).copied().unwrap_or_default())
    }

    /// `name`'s credential; `Ok(None)` when there is none.
    pub fn load(&self, name: &str) -> Result<Option<Credential>> {
        Ok(self.load_stored(name)?.map(|s| s.credential))
    }

    /// `name`'s credential with its storage and location.
    pub fn load_stored(&self, name: &str) -> Result<Option<StoredOpenai>> {
        let storage = self.storage_of(name)?;
        self.load_from(name, storage)
    }

    /// `name`'s credential from one storage.
    pub fn load_from(&self, name: &str, storage: StorageKind) -> Result<Option<StoredOpenai>> {
        validate_profile_name(name, "OpenAI profile")?;
        let store = self.store(storage)?;
        let location = store.location(name);
        let Some(credential) = store.load(name)? else {
            return Ok(None);
        };
        if credential.provider() != &Provider::Openai {
            return Err(Error::parse(
                Path::new(&location),
                format!(
                    "holds a credential for {}, not OpenAI; remove it with `claude-auth logout --provider openai --profile {name}`",
                    credential.provider().as_str()
                ),
            ));
        }
        Ok(Some(StoredOpenai {
            credential,
            storage,
            location,
        }))
    }

    /// Store `credential` (provider `openai`) for `name` in `storage`, and
    /// record where; a copy left in another storage is removed.
    pub fn save(&self, name: &str, credential: &Credential, storage: StorageKind) -> Result<()> {
        validate_profile_name(name, "OpenAI profile")?;
        if credential.provider() != &Provider::Openai {
            return Err(Error::Unsupported(format!(
                "OpenAI profile {name:?} can only hold an OpenAI credential, not a {} one",
                credential.provider().as_str()
            )));
        }
        let before = self.storage_of(name)?;
        self.store(storage)?.save(name, credential)?;
        self.record(name, (storage != StorageKind::File).then_some(storage))?;
        if before != storage {
            // Best effort: the new copy is written and recorded already.
            if let Ok(old) = self.store(before) {
                let _ = old.delete(name);
            }
        }
        Ok(())
    }

    /// Remove `name`'s credential (and its record); `Ok(false)` when there
    /// was none.
    pub fn delete(&self, name: &str) -> Result<bool> {
        let storage = self.storage_of(name)?;
        let removed = self.store(storage)?.delete(name)?;
        self.record(name, None)?;
        Ok(removed)
    }

    /// Every OpenAI profile (file-stored, or recorded elsewhere), sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.registry()?.into_keys().collect();
        let dir = self.dir.join("credentials");
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let file = entry.file_name();
                    let Some(stem) = file.to_str().and_then(|n| n.strip_suffix(".json")) else {
                        continue;
                    };
                    if validate_profile_name(stem, "").is_ok() {
                        names.push(stem.to_owned());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("list", dir, e)),
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The active OpenAI profile's name, when one was set.
    pub fn active(&self) -> Result<Option<String>> {
        read_profile_pointer(&self.active_path())
    }

    /// Make `name` the active OpenAI profile.
    pub fn set_active(&self, name: &str) -> Result<()> {
        validate_profile_name(name, "OpenAI profile")?;
        write_atomic(&self.active_path(), name.as_bytes(), 0o600)
    }
}

#[cfg(all(test, feature = "keyring", feature = "encrypted-file"))]
#[path = "openai_profiles_tests.rs"]
mod tests;
