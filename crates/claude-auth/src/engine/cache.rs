//! A resolved credential kept in memory, for the hot path.
//!
//! Resolution reads files and the environment; a program that sends many
//! requests should do that once. [`CredentialCache`] resolves on first use and
//! then hands out the same `Arc<Credential>` — a read lock and a reference
//! count, well under a microsecond — until the credential comes within the
//! refresh threshold of its expiry or [`CredentialCache::invalidate`] is
//! called (after a 401, say), when it resolves again.

use std::sync::{Arc, RwLock};

use crate::credential::{now_unix, Credential};
use crate::source::{NoCredential, ResolveOptions, Resolver};

/// A lazily resolved, shared credential.
pub struct CredentialCache {
    resolver: Resolver,
    options: ResolveOptions,
    threshold_secs: u64,
    slot: RwLock<Option<Cached>>,
}

#[derive(Clone)]
struct Cached {
    credential: Arc<Credential>,
    /// Unix seconds after which the entry is stale (`u64::MAX`: never).
    stale_at: u64,
}

impl CredentialCache {
    /// A cache over `resolver`, refreshing `threshold_secs` before expiry
    /// (the settings' `refresh.threshold_secs` is a good value).
    pub fn new(resolver: Resolver, options: ResolveOptions) -> Self {
        let threshold_secs = resolver.settings().refresh_threshold_secs;
        CredentialCache {
            resolver,
            options,
            threshold_secs,
            slot: RwLock::new(None),
        }
    }

    /// The credential: cached when fresh, otherwise resolved again.
    pub fn get(&self) -> Result<Arc<Credential>, NoCredential> {
        let now = now_unix();
        if let Some(hit) = self
            .slot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            if now < hit.stale_at {
                return Ok(Arc::clone(&hit.credential));
            }
        }
        let resolution = self.resolver.resolve(&self.options);
        let credential = Arc::new(resolution.credential()?.clone());
        let stale_at = credential
            .expires_at()
            .map_or(u64::MAX, |e| e.saturating_sub(self.threshold_secs));
        *self
            .slot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Cached {
            credential: Arc::clone(&credential),
            stale_at,
        });
        Ok(credential)
    }

    /// Forget the cached credential; the next [`get`](Self::get) resolves again.
    pub fn invalidate(&self) {
        *self
            .slot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::Env;
    use crate::config::settings::Settings;

    #[test]
    fn caches_until_invalidated() {
        let env = Env::empty()
            .with("HOME", "/nonexistent")
            .with("ANTHROPIC_API_KEY", "sk-ant-api03-first");
        let cache = CredentialCache::new(
            Resolver::with_settings(env, Settings::default()),
            ResolveOptions::default(),
        );
        let a = cache.get().unwrap();
        let b = cache.get().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        cache.invalidate();
        let c = cache.get().unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(a, c);
    }

    #[test]
    fn no_credential_is_reported() {
        let env = Env::empty().with("HOME", "/nonexistent");
        let cache = CredentialCache::new(
            Resolver::with_settings(env, Settings::default()),
            ResolveOptions::default(),
        );
        assert_eq!(cache.get().unwrap_err(), NoCredential::None);
    }
}
