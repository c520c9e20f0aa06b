//! `AuthManager`: a valid credential, every time, without ever burning a
//! rotated refresh token.
//!
//! - The hot path is a read lock and an `Arc` clone; changes other processes
//!   make to the backing file are noticed by a `stat` at most once a second,
//!   never a read per call.
//! - Ahead of expiry (the settings' `refresh.threshold_secs`, default 300 s;
//!   the official SDKs use 120 s advisory / 30 s mandatory) the credential is
//!   refreshed. Within a process one refresh runs at a time per manager: N
//!   concurrent callers wait on it and all get its result, released at once
//!   (a broadcast, not a queue: both runtime workers hand them out in
//!   parallel, and a waiter's future stays small). Across processes
//!   a lock beside the store (an OS file lock; for Claude Code's login,
//!   Claude Code's own lock directories) is held across re-read → refresh →
//!   atomic persist. After taking it the store is re-read, and a refresh
//!   someone else already made is adopted instead of repeated.
//! - The rotated refresh token is persisted before the new access token is
//!   handed out; if the write fails, the refresh fails.
//! - `invalid_grant` means "log in again"; the dead refresh token's
//!   fingerprint is remembered (in memory and in claude-auth's state file) so
//!   it is never presented again, and the stored credential is never blanked.
//!   A transient failure while the old token is still valid hands out the old
//!   token with a warning.
//! - [`AuthManager::force_refresh`] is for 401 recovery: it refreshes unless
//!   the store already holds a different token than the rejected one, and at
//!   most once per credential per [`FORCED_REFRESH_COOLDOWN`]: forced callers
//!   inside that window get the refresh just made (or its error).
//! - What is refreshed and where it goes is the resolved credential's
//!   [`Backing`]: a profile's file or keyring entry, Claude Code's login, the
//!   seed's `auth.json`, or a token set given in code (held in memory; each
//!   refresh is handed to [`ManagerOptions::on_refresh`]). What the manager
//!   hands out ([`Obtained`]) carries its [`Provenance`] (source, profile,
//!   base URL), so a command resolves once.
//!
//! Layout: single flight's bookkeeping is in `flight`, the refresh under
//! the lock in `refresh`, federation exchanges in `federation`, and how each
//! backing is locked, re-read and persisted in `backing_io`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::config::provider::Presets;
use crate::credential::{now_unix, Credential, TokenSet};
use crate::engine::flight::{Flight, Landing};
use crate::error::Error;
use crate::oauth::token_client::{OAuthError, TokenClient};
use crate::secret::Secret;
use crate::source::{base_url_for, Backing, Found, NoCredential, Resolver, SourceId};

pub use crate::engine::options::{ManagerOptions, OnRefresh};
pub use crate::engine::refresh::FORCED_REFRESH_COOLDOWN;

/// Why no valid credential could be handed out.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Resolution found nothing usable.
    #[error(transparent)]
    NoCredential(#[from] NoCredential),
    /// The login is gone (invalid_grant, or expired with no refresh token).
    #[error("{message}; log in again: {command}")]
    LoginRequired {
        /// What happened.
        message: String,
        /// The command that fixes it.
        command: String,
    },
    /// The credential has expired and nothing can renew it (no refresh
    /// token, or a source nothing can be written back to).
    #[error(
        "the {kind} from {location} has expired and cannot be refreshed; log in again: {command}"
    )]
    Expired {
        /// The credential's kind, for humans (`OAuth token`, …).
        kind: &'static str,
        /// The source it came from.
        origin: Option<SourceId>,
        /// Where it is kept.
        location: String,
        /// The command that fixes it.
        command: String,
    },
    /// The refresh failed for a reason that may pass (network, 5xx, 429).
    #[error("refreshing failed: {0}")]
    Refresh(#[from] OAuthError),
    /// A store or lock failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// The refresh this call waited for (run by another caller of the same
    /// manager) failed with a store or lock error, or the refresh task ended
    /// abnormally; `message` says what happened.
    #[error("{message}")]
    FlightFailed {
        /// What happened, as it displayed.
        message: String,
    },
}

impl AuthError {
    /// Whether the user must log in again.
    pub fn login_required(&self) -> bool {
        matches!(
            self,
            AuthError::LoginRequired { .. } | AuthError::Expired { .. }
        )
    }
}

/// Where a handed-out credential came from, and where requests made with it
/// go. One resolution answers all of it, so the commands and doors agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The source that won.
    pub source: Option<SourceId>,
    /// The profile, when a profile won.
    pub profile: Option<String>,
    /// The API base URL: the profile's `base_url`, else `ANTHROPIC_BASE_URL`,
    /// else the default ([`crate::source::base_url_for`]).
    pub base_url: String,
    /// The base URL the source itself pins (a profile's `base_url`, or
    /// `ANTHROPIC_BASE_URL` for the environment's credentials), which a
    /// child's environment repeats; `None` when only the default applies.
    pub pinned_base_url: Option<String>,
    /// Where it is kept, for display.
    pub location: String,
    /// What keeps it.
    pub backing: Backing,
}

/// A credential and what happened getting it.
#[derive(Debug, Clone)]
pub struct Obtained {
    /// The credential.
    pub credential: Arc<Credential>,
    /// Whether this call refreshed it (or adopted another process's refresh).
    pub refreshed: bool,
    /// A warning for the user (e.g. a failed refresh while the old token is valid).
    pub warning: Option<String>,
    /// Its source, profile and base URL.
    pub provenance: Arc<Provenance>,
}

/// The SDKs' mandatory refresh window, used for exchanged federation tokens.
const FEDERATION_MARGIN_SECS: u64 = 30;

struct Current {
    credential: Arc<Credential>,
    provenance: Arc<Provenance>,
    stale_at: u64,
    stamp: Option<(PathBuf, Option<std::time::SystemTime>, u64)>,
}

pub(crate) struct Inner {
    pub(crate) resolver: Resolver,
    pub(crate) options: ManagerOptions,
    pub(crate) threshold: u64,
    /// The shortest time between two forced refreshes.
    cooldown: Duration,
    client: OnceLock<Result<TokenClient, OAuthError>>,
    pub(crate) presets: Presets,
    current: RwLock<Option<Current>>,
    /// Millis since `epoch` when the backing file was last stat'ed.
    last_stat_ms: AtomicU64,
    epoch: Instant,
    /// Whether a caller is in the slow path (resolve, refresh, exchange).
    pub(crate) flight: AtomicBool,
    /// Bumped with the outcome each time a flight lands; waiters watch it.
    pub(crate) landed: tokio::sync::watch::Sender<Landing>,
    pub(crate) dead: std::sync::Mutex<Vec<String>>,
    /// A credential given in code, as last refreshed.
    pub(crate) memory: std::sync::Mutex<Option<TokenSet>>,
    /// The last forced refresh: when, and what it came to (the cooldown).
    pub(crate) last_forced: std::sync::Mutex<Option<(Instant, Landing)>>,
}

/// Hands out valid credentials; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct AuthManager {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthManager").finish_non_exhaustive()
    }
}

fn stamp_of(path: &std::path::Path) -> (PathBuf, Option<std::time::SystemTime>, u64) {
    let meta = std::fs::metadata(path).ok();
    (
        path.to_owned(),
        meta.as_ref().and_then(|m| m.modified().ok()),
        meta.map_or(0, |m| m.len()),
    )
}

impl AuthManager {
    /// A manager over `resolver`.
    pub fn new(resolver: Resolver, options: ManagerOptions) -> Result<Self, AuthError> {
        let threshold = options
            .threshold_secs
            .unwrap_or(resolver.settings().refresh_threshold_secs);
        let cooldown = options
            .forced_refresh_cooldown
            .unwrap_or(Duration::from_secs(
                resolver.settings().forced_refresh_cooldown_secs,
            ));
        let presets = resolver.settings().presets()?;
        Ok(AuthManager {
            inner: Arc::new(Inner {
                resolver,
                options,
                threshold,
                cooldown,
                client: OnceLock::new(),
                presets,
                current: RwLock::new(None),
                last_stat_ms: AtomicU64::new(0),
                epoch: Instant::now(),
                flight: AtomicBool::new(false),
                landed: tokio::sync::watch::Sender::new(Landing::None),
                dead: std::sync::Mutex::new(Vec::new()),
                memory: std::sync::Mutex::new(None),
                last_forced: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The token endpoint client, built on first use (a command that only
    /// reads a credential never pays for it).
    pub(crate) fn client(&self) -> Result<&TokenClient, OAuthError> {
        self.inner
            .client
            .get_or_init(|| TokenClient::with_policy(self.inner.options.retry.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The resolver this manager resolves with.
    pub fn resolver(&self) -> &Resolver {
        &self.inner.resolver
    }

    /// The refresh threshold in use, seconds.
    pub fn threshold_secs(&self) -> u64 {
        self.inner.threshold
    }

    /// A valid credential, refreshed when needed.
    pub async fn credential(&self) -> Result<Arc<Credential>, AuthError> {
        Ok(self.obtain().await?.credential)
    }

    /// Like [`credential`](Self::credential), with what happened and where
    /// the credential came from.
    pub async fn obtain(&self) -> Result<Obtained, AuthError> {
        if let Some((credential, provenance)) = self.fast_path() {
            return Ok(Obtained {
                credential,
                refreshed: false,
                warning: None,
                provenance,
            });
        }
        self.single_flight(None).await
    }

    /// Refresh now (after an API 401 with `rejected`): unless the store already
    /// holds a different token than the rejected one, which is then adopted.
    /// At most one forced refresh runs per cooldown
    /// ([`ManagerOptions::forced_refresh_cooldown`], default
    /// [`FORCED_REFRESH_COOLDOWN`]): a forced call inside that window gets
    /// what the last one came to, without another grant.
    pub async fn force_refresh(&self, rejected: &Secret) -> Result<Obtained, AuthError> {
        if let Some(landed) = self.cooled_down(rejected) {
            return landed;
        }
        self.single_flight(Some(rejected)).await
    }

    /// Run the slow path, or, while another caller runs it, wait for it to
    /// land and take its outcome. Waiters do not queue: the landing wakes
    /// them all at once. A forced caller whose rejected token is what the
    /// flight handed out, or any caller whose flight was cancelled, tries
    /// again (and may lead the next flight).
    ///
    /// On a tokio runtime the flight runs as its own task, so a caller that
    /// gives up (a timeout, a closed connection) does not cancel a refresh
    /// half way: once the server has rotated the refresh token, the answer is
    /// still received and persisted, and the waiters still get it.
    async fn single_flight(&self, rejected: Option<&Secret>) -> Result<Obtained, AuthError> {
        loop {
            // Subscribe before trying, so a landing between the two is seen.
            let mut landed = self.inner.landed.subscribe();
            if self
                .inner
                .flight
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                let mut flight = Flight {
                    inner: Arc::clone(&self.inner),
                    outcome: Landing::None,
                };
                let this = self.clone();
                let forced = rejected.cloned();
                let fly = async move {
                    let was_forced = forced.is_some();
                    let result = this.slow_path(forced).await;
                    flight.outcome = Landing::of(&result, was_forced);
                    if was_forced {
                        // Recorded before the waiters are woken.
                        *this
                            .inner
                            .last_forced
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some((Instant::now(), flight.outcome.clone()));
                    }
                    drop(flight);
                    result
                };
                // Its own task (which also keeps the slow path's large state
                // out of the callers' futures). Refreshing needs the runtime
                // anyway: the lock and the HTTP client run on it.
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return Err(AuthError::FlightFailed {
                        message: "refreshing needs a tokio runtime; call AuthManager from one"
                            .into(),
                    });
                };
                return runtime.spawn(fly).await.unwrap_or_else(|e| {
                    // Not `e` itself: a panic's message is not ours to print.
                    let how = if e.is_panic() {
                        "panicked"
                    } else {
                        "was cancelled"
                    };
                    Err(AuthError::FlightFailed {
                        message: format!("the refresh task {how}"),
                    })
                });
            }
            if landed.changed().await.is_err() {
                continue; // unreachable: `Inner` owns the sender
            }
            let outcome = landed.borrow_and_update().clone();
            match outcome {
                Landing::Ok(o) if rejected.is_none_or(|r| r != o.credential.secret()) => {
                    return Ok(Obtained {
                        // A forced caller got a token other than the one the
                        // API rejected: for it, that is a refresh.
                        refreshed: rejected.is_some(),
                        ..o
                    });
                }
                // A failed 401 recovery says nothing about whether a valid
                // credential can be had: such a caller tries itself.
                Landing::Failed { forced: true, .. } if rejected.is_none() => continue,
                Landing::Failed { error, .. } => return Err(error.into()),
                Landing::Ok(_) | Landing::None => continue,
            }
        }
    }
    /// A forced refresh inside the cooldown after the last one: what that one
    /// came to, without another grant. `None` outside the window (or when the
    /// last one was cancelled).
    fn cooled_down(&self, rejected: &Secret) -> Option<Result<Obtained, AuthError>> {
        let last = self
            .inner
            .last_forced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let (at, landing) = last?;
        if at.elapsed() >= self.inner.cooldown {
            return None;
        }
        match landing {
            Landing::Ok(o) => {
                tracing::debug!("401 inside the refresh cooldown: no new refresh");
                Some(Ok(Obtained {
                    // The same token the API rejected: nothing new to retry with.
                    refreshed: o.credential.secret() != rejected,
                    ..o
                }))
            }
            Landing::Failed { error, .. } => Some(Err(error.into())),
            Landing::None => None,
        }
    }

    fn fast_path(&self) -> Option<(Arc<Credential>, Arc<Provenance>)> {
        let guard = self
            .inner
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cur = guard.as_ref()?;
        if now_unix() >= cur.stale_at {
            return None;
        }
        if let Some((path, mtime, len)) = &cur.stamp {
            let now_ms = self.inner.epoch.elapsed().as_millis() as u64;
            let last = self.inner.last_stat_ms.load(Ordering::Relaxed);
            if now_ms.saturating_sub(last) >= 1000 {
                self.inner.last_stat_ms.store(now_ms, Ordering::Relaxed);
                let (_, m, l) = stamp_of(path);
                if m != *mtime || l != *len {
                    return None;
                }
            }
        }
        Some((Arc::clone(&cur.credential), Arc::clone(&cur.provenance)))
    }

    /// How long before expiry a credential from `backing` is renewed: the
    /// refresh threshold, but for federation at most the SDKs' 30 s
    /// (exchanged tokens live minutes; a larger margin would exchange on
    /// every call, and throw away tokens the SDKs still use).
    pub(crate) fn margin(&self, backing: &Backing) -> u64 {
        match backing {
            Backing::Federation(_) => self.inner.threshold.min(FEDERATION_MARGIN_SECS),
            _ => self.inner.threshold,
        }
    }

    pub(crate) fn needs_refresh(&self, cred: &Credential, now: u64) -> bool {
        cred.expires_at()
            .is_some_and(|e| e <= now.saturating_add(self.inner.threshold))
    }

    /// Cache `credential` as current and hand it out.
    pub(crate) fn hand_out(
        &self,
        credential: Credential,
        found: &Found,
        provenance: &Arc<Provenance>,
        refreshed: bool,
    ) -> Obtained {
        let credential = Arc::new(credential);
        let stale_at = credential
            .expires_at()
            .map_or(u64::MAX, |e| e.saturating_sub(self.margin(&found.backing)));
        // Stamped under the lock when this follows a write, so a write by
        // another process after we let go is noticed.
        let stamp = found.backing.file().map(stamp_of);
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Current {
            credential: Arc::clone(&credential),
            provenance: Arc::clone(provenance),
            stale_at,
            stamp,
        });
        Obtained {
            credential,
            refreshed,
            warning: None,
            provenance: Arc::clone(provenance),
        }
    }

    async fn slow_path(&self, rejected: Option<Secret>) -> Result<Obtained, AuthError> {
        // Someone may have refreshed since our fast path looked.
        if rejected.is_none() {
            if let Some((credential, provenance)) = self.fast_path() {
                return Ok(Obtained {
                    credential,
                    refreshed: false,
                    warning: None,
                    provenance,
                });
            }
        }
        let resolution = self.inner.resolver.resolve(&self.inner.options.resolve);
        let source = resolution.winner().map(|w| w.id);
        let mut found = match (resolution.credential(), resolution.winning()) {
            (Ok(_), Some(found)) => found.clone(),
            (Err(NoCredential::NeedsExchange), Some(found)) => found.clone(),
            (Err(e), _) => return Err(e.into()),
            (Ok(_), None) => return Err(NoCredential::None.into()),
        };
        let provenance = Arc::new(Provenance {
            source,
            profile: found.profile.clone(),
            base_url: base_url_for(
                Some(&found),
                self.inner.resolver.env(),
                self.inner.resolver.settings(),
            ),
            pinned_base_url: found.base_url.clone(),
            location: found.location.clone(),
            backing: found.backing.clone(),
        });
        if let Some(federation) = found.federation() {
            let federation = federation.clone();
            return self
                .federation(&federation, &found, &provenance, rejected.as_ref())
                .await;
        }
        if found.backing == Backing::Memory {
            // A token set given in code, as this manager last refreshed it.
            let memory = self
                .inner
                .memory
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some(set) = memory {
                found.credential = Some(Credential::OAuth(set));
            }
        }
        let Some(credential) = found.credential.clone() else {
            return Err(NoCredential::None.into());
        };
        let now = now_unix();
        let rejected_matches = rejected.as_ref().is_some_and(|r| r == credential.secret());
        if rejected.is_some() && !rejected_matches {
            // The store already holds a newer token than the one the API rejected.
            return Ok(self.hand_out(credential, &found, &provenance, true));
        }
        if !rejected_matches && !self.needs_refresh(&credential, now) {
            return Ok(self.hand_out(credential, &found, &provenance, false));
        }
        if !credential.can_refresh() || !found.backing.refreshable() {
            if credential.is_expired_at(now) || rejected_matches {
                return Err(AuthError::Expired {
                    kind: credential.kind().label(),
                    origin: source,
                    location: found.location.clone(),
                    command: found
                        .backing
                        .login_command_for(self.inner.resolver.provider()),
                });
            }
            return Ok(self.hand_out(credential, &found, &provenance, false));
        }
        self.refresh_locked(&found, &provenance, credential, rejected_matches)
            .await
    }
}
