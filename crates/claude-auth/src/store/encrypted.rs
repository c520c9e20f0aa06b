//! The encrypted-file store (placeholder, being written).

use std::path::PathBuf;

use crate::credential::Credential;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::store::CredentialStore;

/// One AEAD-encrypted file per profile.
#[derive(Clone, Debug)]
pub struct EncryptedFileStore {
    dir: PathBuf,
}

impl EncryptedFileStore {
    /// Files in `dir`, key from the environment.
    pub fn from_env(dir: PathBuf, _env: &Env) -> Self {
        EncryptedFileStore { dir }
    }
}

impl CredentialStore for EncryptedFileStore {
    fn location(&self, profile: &str) -> String {
        self.dir.join(format!("{profile}.json.enc")).display().to_string()
    }
    fn load(&self, _profile: &str) -> Result<Option<Credential>> {
        Err(Error::Unsupported("encrypted file not implemented yet".into()))
    }
    fn save(&self, _profile: &str, _credential: &Credential) -> Result<()> {
        Err(Error::Unsupported("encrypted file not implemented yet".into()))
    }
    fn delete(&self, _profile: &str) -> Result<bool> {
        Err(Error::Unsupported("encrypted file not implemented yet".into()))
    }
}
