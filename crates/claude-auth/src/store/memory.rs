//! An in-memory store, for tests and embedders that manage persistence
//! themselves.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::credential::Credential;
use crate::error::Result;
use crate::store::CredentialStore;

/// Credentials held in memory only.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Credential>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Credential>> {
        // A panic while holding the lock cannot leave a map half-updated.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CredentialStore for MemoryStore {
    fn location(&self, profile: &str) -> String {
        format!("memory ({profile})")
    }

    fn load(&self, profile: &str) -> Result<Option<Credential>> {
        Ok(self.entries().get(profile).cloned())
    }

    fn save(&self, profile: &str, credential: &Credential) -> Result<()> {
        self.entries()
            .insert(profile.to_owned(), credential.clone());
        Ok(())
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        Ok(self.entries().remove(profile).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_delete() {
        let store = MemoryStore::new();
        assert!(store.load("p").unwrap().is_none());
        let cred = Credential::anthropic_api_key("k");
        store.save("p", &cred).unwrap();
        assert_eq!(store.load("p").unwrap(), Some(cred));
        assert!(store.delete("p").unwrap());
        assert!(!store.delete("p").unwrap());
    }
}
