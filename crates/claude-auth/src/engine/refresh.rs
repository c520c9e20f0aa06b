//! A refresh under the backing's lock: re-read (adopting another process's
//! refresh), present the refresh token unless it is known dead, persist the
//! rotated set before anyone uses it, and keep the bookkeeping (last
//! refresh, last error, a dead token's fingerprint).
//!
//! After a 401 a refresh is forced; [`FORCED_REFRESH_COOLDOWN`] bounds how
//! often: an API that rejects every token must not rotate the refresh token
//! once per request.

use std::sync::Arc;
use std::time::Duration;

use crate::config::provider::Encoding;
use crate::credential::{now_unix, Credential, Provider, TokenSet};
use crate::engine::chatgpt_refresh::Refused;
use crate::engine::manager::{AuthError, AuthManager, Obtained, Provenance};
use crate::engine::refresh_state::{fingerprint, RefreshState};
use crate::oauth::token_client::{sanitize, Endpoint, Grant, OAuthError};
use crate::source::{Backing, Found, NoCredential};

/// The shortest time between two forced refreshes (after a 401) of one
/// manager's credential, unless the settings (`refresh.forced_cooldown_secs`)
/// or [`ManagerOptions::forced_refresh_cooldown`](crate::ManagerOptions)
/// say otherwise; forced callers inside it get the last one's result.
pub const FORCED_REFRESH_COOLDOWN: Duration =
    Duration::from_secs(crate::config::settings::DEFAULT_FORCED_REFRESH_COOLDOWN_SECS);

impl AuthManager {
    /// Where `set` is refreshed: the preset the login's state names, else
    /// the Claude subscription client for Claude Code's login and the seed's
    /// file, else the preset whose client id the set carries, else the
    /// spec's `POST {base_url}/v1/oauth/token`.
    fn refresh_endpoint(
        &self,
        backing: &Backing,
        set: &TokenSet,
        base_url: &str,
        state: &RefreshState,
    ) -> Endpoint {
        let subscription = backing.is_claude_code() || matches!(backing, Backing::SeedFile { .. });
        let preset = state.preset(&self.inner.presets, subscription, set.client_id.as_deref());
        match preset {
            Some(p) => {
                let mut headers = p.token_headers.clone();
                headers.extend(p.refresh_headers.clone());
                Endpoint {
                    url: p.token_url.clone(),
                    encoding: p.refresh_encoding,
                    client_id: set.client_id.clone().or_else(|| Some(p.client_id.clone())),
                    client_secret: p.client_secret.clone(),
                    headers,
                }
            }
            // The spec's refresh: POST {base_url}/v1/oauth/token, JSON, OAuth beta header.
            None => Endpoint {
                url: format!("{}/v1/oauth/token", base_url.trim_end_matches('/')),
                encoding: Encoding::Json,
                client_id: set.client_id.clone(),
                client_secret: None,
                headers: [(
                    "anthropic-beta".to_owned(),
                    crate::doors::wire::OAUTH_BETA.to_owned(),
                )]
                .into(),
            },
        }
    }

    /// Refresh `resolved` (whose `stale` credential is due, or was rejected
    /// when `forced`) under its backing's lock, and persist the result
    /// through the backing before handing it out.
    pub(crate) async fn refresh_locked(
        &self,
        resolved: &Found,
        provenance: &Arc<Provenance>,
        stale: Credential,
        forced: bool,
    ) -> Result<Obtained, AuthError> {
        let backing = &resolved.backing;
        let env = self.inner.resolver.env();
        let options = &self.inner.options;
        let guard = backing
            .lock(
                env,
                &self.inner.resolver,
                options.lock_timeout,
                options.claude_code_lock,
            )
            .await?;
        // Re-read under the lock: another process may have refreshed.
        let read = match backing {
            Backing::Memory => None,
            b => Some(b.reload(&self.inner.resolver)?.ok_or(NoCredential::None)?),
        };
        let (found, set) = match &read {
            Some(r) => (&r.found, r.set.clone()),
            None => (
                resolved,
                stale.token_set().cloned().ok_or(NoCredential::None)?,
            ),
        };
        let now = now_unix();
        let changed = set.access_token != *stale.secret();
        let current = Credential::OAuth(set.clone());
        if changed && (forced || !self.needs_refresh(&current, now)) {
            drop(guard);
            tracing::debug!("adopting a refresh made by another process");
            return Ok(self.hand_out(current, found, provenance, true));
        }
        let Some(refresh_token) = set.refresh_token.clone() else {
            return Err(AuthError::LoginRequired {
                message: "the login has no refresh token".into(),
                command: backing.login_command_for(self.inner.resolver.provider()),
            });
        };
        let fp = fingerprint(&refresh_token);
        let state_path = backing.state_path(env);
        let state = state_path
            .as_deref()
            .map(RefreshState::load)
            .unwrap_or_default();
        let known_dead = state.dead_refresh_token.as_deref() == Some(fp.as_str())
            || self
                .inner
                .dead
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&fp);
        if known_dead {
            return Err(AuthError::LoginRequired {
                message: "the server already rejected this login's refresh token".into(),
                command: backing.login_command_for(self.inner.resolver.provider()),
            });
        }
        let result = if set.provider == Provider::Openai {
            self.refresh_chatgpt(&set, &refresh_token).await
        } else {
            let endpoint = self.refresh_endpoint(backing, &set, &provenance.base_url, &state);
            let grant = Grant::Refresh {
                refresh_token,
                scope: None,
            };
            match self.client() {
                Ok(client) => match client.request(&endpoint, &grant).await {
                    Ok(response) => Ok(response.into_token_set(
                        set.provider.clone(),
                        set.client_id.clone(),
                        Some(&set),
                    )),
                    Err(OAuthError::InvalidGrant { description }) => Err(Refused::Dead(format!(
                        "the server rejected the refresh token (invalid_grant{})",
                        description.map(|d| format!(": {d}")).unwrap_or_default()
                    ))),
                    Err(e) => Err(Refused::Failed(e)),
                },
                Err(e) => Err(Refused::Failed(e)),
            }
        };
        match result {
            Ok(new) => {
                // Persist before anyone uses the new token: if this fails the
                // rotated refresh token would be lost, so the refresh fails.
                match &read {
                    Some(read) => backing.persist(&self.inner.resolver, read, &new)?,
                    None => self.keep_in_memory(&new),
                }
                if let Some(p) = &state_path {
                    let _ = RefreshState::update(p, |s| {
                        s.last_refresh_at = Some(now_unix());
                        s.last_error = None;
                        s.last_error_at = None;
                    });
                }
                // `found` names the file just written: it is stamped anew,
                // under the lock, so a write by another process after we let
                // go is noticed.
                let obtained = self.hand_out(Credential::OAuth(new), found, provenance, true);
                drop(guard);
                Ok(obtained)
            }
            Err(Refused::Dead(message)) => {
                self.inner
                    .dead
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(fp.clone());
                if let Some(p) = &state_path {
                    let _ = RefreshState::update(p, |s| {
                        s.dead_refresh_token = Some(fp);
                        s.last_error = Some(message.clone());
                        s.last_error_at = Some(now_unix());
                    });
                }
                Err(AuthError::LoginRequired {
                    message,
                    command: backing.login_command_for(self.inner.resolver.provider()),
                })
            }
            Err(Refused::Failed(e)) => {
                let message = sanitize(&e.to_string());
                if let Some(p) = &state_path {
                    let _ = RefreshState::update(p, |s| {
                        s.last_error = Some(message.clone());
                        s.last_error_at = Some(now_unix());
                    });
                }
                drop(guard);
                if !current.is_expired_at(now_unix()) && !forced {
                    // Do not cache: the next call tries again.
                    return Ok(Obtained {
                        credential: Arc::new(current),
                        refreshed: false,
                        provenance: Arc::clone(provenance),
                        warning: Some(format!(
                            "refresh failed ({message}); using the current token until it expires"
                        )),
                    });
                }
                Err(AuthError::Refresh(e))
            }
        }
    }

    /// A refreshed token set given in code: held for the next resolution,
    /// and handed to the caller's hook to persist.
    fn keep_in_memory(&self, set: &TokenSet) {
        *self
            .inner
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(set.clone());
        if let Some(hook) = &self.inner.options.on_refresh {
            hook.call(set);
        }
    }
}
