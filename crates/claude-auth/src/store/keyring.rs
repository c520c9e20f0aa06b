//! The OS keyring store (placeholder, being written).

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::store::CredentialStore;

/// One JSON entry per profile in the OS keyring.
#[derive(Clone, Debug)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Entries under `service`, account = profile.
    pub fn new(service: &str) -> Self {
        KeyringStore { service: service.to_owned() }
    }
}

impl CredentialStore for KeyringStore {
    fn location(&self, profile: &str) -> String {
        format!("keyring service {:?}, account {profile:?}", self.service)
    }
    fn load(&self, _profile: &str) -> Result<Option<Credential>> {
        Err(Error::Unsupported("keyring not implemented yet".into()))
    }
    fn save(&self, _profile: &str, _credential: &Credential) -> Result<()> {
        Err(Error::Unsupported("keyring not implemented yet".into()))
    }
    fn delete(&self, _profile: &str) -> Result<bool> {
        Err(Error::Unsupported("keyring not implemented yet".into()))
    }
}
