//! What an [`AuthManager`](crate::AuthManager) is told: which credential,
//! when to refresh, how long to wait for locks, retries, and the hook that
//! persists a refreshed token set given in code.

use std::sync::Arc;
use std::time::Duration;

use crate::credential::{Credential, TokenSet};
use crate::engine::lock::ClaudeCodeLockTimings;
use crate::oauth::token_client::RetryPolicy;
use crate::source::ResolveOptions;

/// Called with every token set the manager refreshes for a credential given
/// in code ([`ResolveOptions::explicit_credential`]), before it is handed
/// out: the manager holds the new set in memory, and this is the caller's
/// chance to persist it (the old refresh token is spent once it rotates).
#[derive(Clone)]
pub struct OnRefresh(Arc<dyn Fn(&TokenSet) + Send + Sync>);

impl OnRefresh {
    /// Wrap a callback.
    pub fn new(callback: impl Fn(&TokenSet) + Send + Sync + 'static) -> Self {
        OnRefresh(Arc::new(callback))
    }

    pub(crate) fn call(&self, set: &TokenSet) {
        (self.0)(set);
    }
}

impl std::fmt::Debug for OnRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnRefresh(..)")
    }
}

/// Manager settings.
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// Which credential to manage.
    pub resolve: ResolveOptions,
    /// Refresh this long before expiry (default: the settings' threshold).
    pub threshold_secs: Option<u64>,
    /// Longest wait for another process's refresh lock.
    pub lock_timeout: Duration,
    /// Claude Code lock protocol timings.
    pub claude_code_lock: ClaudeCodeLockTimings,
    /// Token endpoint retries.
    pub retry: RetryPolicy,
    /// Persist hook for a token set given in code (see [`OnRefresh`]).
    pub on_refresh: Option<OnRefresh>,
    /// The shortest time between two forced (401) refreshes (default: the
    /// settings' `refresh.forced_cooldown_secs`, else
    /// [`FORCED_REFRESH_COOLDOWN`](crate::engine::refresh::FORCED_REFRESH_COOLDOWN)). `Duration::ZERO` refreshes on every
    /// forced call (which an API that rejects every token turns into one
    /// refresh-token rotation per request).
    pub forced_refresh_cooldown: Option<Duration>,
}

impl ManagerOptions {
    /// Manage `set`, a token set given in code: held in memory, refreshed
    /// when due, and each refreshed set handed to `on_refresh` to persist.
    ///
    /// ```no_run
    /// use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, TokenSet};
    /// # fn load() -> TokenSet { unimplemented!() }
    /// # fn save(_: &TokenSet) {}
    /// let options = ManagerOptions::for_token_set(load(), |new| save(new));
    /// let manager = AuthManager::new(Resolver::new(Env::from_process())?, options)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_token_set(
        set: TokenSet,
        on_refresh: impl Fn(&TokenSet) + Send + Sync + 'static,
    ) -> Self {
        ManagerOptions {
            resolve: ResolveOptions {
                explicit_credential: Some(Credential::OAuth(set)),
                ..ResolveOptions::default()
            },
            on_refresh: Some(OnRefresh::new(on_refresh)),
            ..ManagerOptions::default()
        }
    }
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            resolve: ResolveOptions::default(),
            threshold_secs: None,
            lock_timeout: Duration::from_secs(60),
            claude_code_lock: ClaudeCodeLockTimings::default(),
            retry: RetryPolicy::default(),
            on_refresh: None,
            forced_refresh_cooldown: None,
        }
    }
}
