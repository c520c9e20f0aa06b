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
//!   the store already holds a different token than the rejected one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::config::locations::own_config_dir;
use crate::config::provider::{Encoding, Presets, DEFAULT_BASE_URL};
use crate::credential::{now_unix, Credential, TokenSet};
use crate::engine::lock::{ClaudeCodeLock, ClaudeCodeLockTimings, FileLock};
use crate::engine::refresh_state::{self, fingerprint, RefreshState};
use crate::error::Error;
use crate::oauth::token_client::{sanitize, Endpoint, Grant, OAuthError, RetryPolicy, TokenClient};
use crate::secret::Secret;
use crate::source::{Federation, Found, NoCredential, ResolveOptions, Resolver, SourceId};
use crate::store::claude_code::ClaudeCodeLogin;
use crate::store::profile_files::ProfileFiles;
use crate::store::StorageKind;

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
        matches!(self, AuthError::LoginRequired { .. })
    }
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
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            resolve: ResolveOptions::default(),
            threshold_secs: None,
            lock_timeout: Duration::from_secs(60),
            claude_code_lock: ClaudeCodeLockTimings::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// The SDKs' mandatory refresh window, used for exchanged federation tokens.
const FEDERATION_MARGIN_SECS: u64 = 30;

/// Where the managed credential lives, which decides how it is refreshed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Origin {
    Profile { name: String, storage: StorageKind },
    ClaudeCode,
    Federation(Box<FederationKey>),
    Other(SourceId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FederationKey {
    federation: Federation,
    base_url: String,
}

struct Current {
    credential: Arc<Credential>,
    stale_at: u64,
    stamp: Option<(PathBuf, Option<std::time::SystemTime>, u64)>,
}

struct Inner {
    resolver: Resolver,
    options: ManagerOptions,
    threshold: u64,
    client: TokenClient,
    presets: Presets,
    current: RwLock<Option<Current>>,
    /// Millis since `epoch` when the backing file was last stat'ed.
    last_stat_ms: AtomicU64,
    epoch: Instant,
    /// Whether a caller is in the slow path (resolve, refresh, exchange).
    flight: AtomicBool,
    /// Bumped with the outcome each time a flight lands; waiters watch it.
    landed: tokio::sync::watch::Sender<Landing>,
    dead: std::sync::Mutex<Vec<String>>,
}

/// What the last flight came to, for the callers that waited on it.
#[derive(Clone, Default)]
enum Landing {
    /// Nothing yet, or the flight was cancelled (its task dropped).
    #[default]
    None,
    /// The credential it handed out.
    Ok(Obtained),
    /// Its error; `forced` when it was a 401 recovery, whose failure says
    /// nothing to a caller that only wants a valid credential.
    Failed { error: SharedError, forced: bool },
}

/// A flight's error, kept so that every waiter gets the same kind of error
/// (`login_required()`, exit codes and `is_transient()` keep working).
#[derive(Clone)]
enum SharedError {
    LoginRequired {
        message: String,
        command: String,
    },
    NoCredential(NoCredential),
    Refresh(OAuthError),
    /// A store or lock error, as displayed.
    Other(String),
}

impl Landing {
    fn of(result: &Result<Obtained, AuthError>, forced: bool) -> Landing {
        let error = match result {
            Ok(o) => return Landing::Ok(o.clone()),
            Err(AuthError::LoginRequired { message, command }) => SharedError::LoginRequired {
                message: message.clone(),
                command: command.clone(),
            },
            Err(AuthError::NoCredential(e)) => SharedError::NoCredential(e.clone()),
            Err(AuthError::Refresh(e)) => SharedError::Refresh(e.clone()),
            Err(e @ (AuthError::Store(_) | AuthError::FlightFailed { .. })) => {
                SharedError::Other(e.to_string())
            }
        };
        Landing::Failed { error, forced }
    }
}

impl From<SharedError> for AuthError {
    fn from(e: SharedError) -> AuthError {
        match e {
            SharedError::LoginRequired { message, command } => {
                AuthError::LoginRequired { message, command }
            }
            SharedError::NoCredential(e) => AuthError::NoCredential(e),
            SharedError::Refresh(e) => AuthError::Refresh(e),
            SharedError::Other(message) => AuthError::FlightFailed { message },
        }
    }
}

/// The one caller in the slow path, made before its task is spawned.
/// Dropping it (done, failed, cancelled, or its task dropped before it ever
/// ran) frees the flight first and then wakes every waiter with the outcome.
struct Flight {
    inner: Arc<Inner>,
    outcome: Landing,
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.inner.flight.store(false, Ordering::Release);
        let outcome = std::mem::take(&mut self.outcome);
        self.inner.landed.send_replace(outcome);
    }
}

/// Hands out valid credentials; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct AuthManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthManager").finish_non_exhaustive()
    }
}

/// What [`AuthManager::reload`] read: the credential's source, its token
/// set, and Claude Code's login when that is the source.
type Reloaded = (Found, TokenSet, Option<ClaudeCodeLogin>);

fn stamp_of(path: &std::path::Path) -> (PathBuf, Option<std::time::SystemTime>, u64) {
    let meta = std::fs::metadata(path).ok();
    (
        path.to_owned(),
        meta.as_ref().and_then(|m| m.modified().ok()),
        meta.map_or(0, |m| m.len()),
    )
}

enum Guard {
    File(#[allow(dead_code)] FileLock),
    ClaudeCode(#[allow(dead_code)] ClaudeCodeLock),
}

impl AuthManager {
    /// A manager over `resolver`.
    pub fn new(resolver: Resolver, options: ManagerOptions) -> Result<Self, AuthError> {
        let threshold = options
            .threshold_secs
            .unwrap_or(resolver.settings().refresh_threshold_secs);
        let presets = resolver.settings().presets()?;
        let client = TokenClient::with_policy(options.retry.clone())?;
        Ok(AuthManager {
            inner: Arc::new(Inner {
                resolver,
                options,
                threshold,
                client,
                presets,
                current: RwLock::new(None),
                last_stat_ms: AtomicU64::new(0),
                epoch: Instant::now(),
                flight: AtomicBool::new(false),
                landed: tokio::sync::watch::Sender::new(Landing::None),
                dead: std::sync::Mutex::new(Vec::new()),
            }),
        })
    }

    /// The refresh threshold in use, seconds.
    pub fn threshold_secs(&self) -> u64 {
        self.inner.threshold
    }

    /// A valid credential, refreshed when needed.
    pub async fn credential(&self) -> Result<Arc<Credential>, AuthError> {
        Ok(self.obtain().await?.credential)
    }

    /// Like [`credential`](Self::credential), with what happened.
    pub async fn obtain(&self) -> Result<Obtained, AuthError> {
        if let Some(c) = self.fast_path() {
            return Ok(Obtained {
                credential: c,
                refreshed: false,
                warning: None,
            });
        }
        self.single_flight(None).await
    }

    /// Refresh now (after an API 401 with `rejected`): unless the store already
    /// holds a different token than the rejected one, which is then adopted.
    pub async fn force_refresh(&self, rejected: &Secret) -> Result<Obtained, AuthError> {
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

    fn fast_path(&self) -> Option<Arc<Credential>> {
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
        Some(Arc::clone(&cur.credential))
    }

    /// How long before expiry a credential from `origin` is renewed: the
    /// refresh threshold, but for federation at most the SDKs' 30 s
    /// (exchanged tokens live minutes; a larger margin would exchange on
    /// every call, and throw away tokens the SDKs still use).
    fn margin(&self, origin: &Origin) -> u64 {
        match origin {
            Origin::Federation(_) => self.inner.threshold.min(FEDERATION_MARGIN_SECS),
            _ => self.inner.threshold,
        }
    }

    fn needs_refresh(&self, cred: &Credential, now: u64) -> bool {
        cred.expires_at()
            .is_some_and(|e| e <= now.saturating_add(self.inner.threshold))
    }

    fn origin_of(&self, winner: SourceId, found: &Found) -> Origin {
        if let Some(f) = &found.federation {
            let base_url = found
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
            return Origin::Federation(Box::new(FederationKey {
                federation: f.clone(),
                base_url,
            }));
        }
        match (winner, &found.profile, found.storage) {
            (SourceId::ClaudeCode, _, _) => Origin::ClaudeCode,
            (_, Some(name), Some(storage)) => Origin::Profile {
                name: name.clone(),
                storage,
            },
            _ => Origin::Other(winner),
        }
    }

    fn backing_file(&self, origin: &Origin, found: &Found) -> Option<PathBuf> {
        match origin {
            // No file to watch when the login is in the Keychain.
            Origin::ClaudeCode => {
                let path = self.inner.resolver.claude_code().path();
                (found.location == path.display().to_string()).then_some(path)
            }
            Origin::Profile {
                storage: StorageKind::File,
                ..
            } => Some(PathBuf::from(&found.location)),
            _ => None,
        }
    }

    fn remember(&self, credential: Arc<Credential>, origin: Origin, found: Option<&Found>) {
        let stale_at = credential
            .expires_at()
            .map_or(u64::MAX, |e| e.saturating_sub(self.margin(&origin)));
        let stamp = found
            .and_then(|f| self.backing_file(&origin, f))
            .map(|p| stamp_of(&p));
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Current {
            credential,
            stale_at,
            stamp,
        });
    }

    /// Cache `credential` as current and hand it out.
    fn hand_out(
        &self,
        credential: Credential,
        origin: Origin,
        found: Option<&Found>,
        refreshed: bool,
    ) -> Obtained {
        let c = Arc::new(credential);
        self.remember(Arc::clone(&c), origin, found);
        Obtained {
            credential: c,
            refreshed,
            warning: None,
        }
    }

    fn state_path(&self, origin: &Origin) -> Option<PathBuf> {
        let env = self.inner.resolver.env();
        match origin {
            Origin::Profile { name, .. } => refresh_state::state_path(env, false, Some(name)),
            Origin::ClaudeCode => refresh_state::state_path(env, true, None),
            _ => None,
        }
    }

    async fn slow_path(&self, rejected: Option<Secret>) -> Result<Obtained, AuthError> {
        // Someone may have refreshed since our fast path looked.
        if rejected.is_none() {
            if let Some(c) = self.fast_path() {
                return Ok(Obtained {
                    credential: c,
                    refreshed: false,
                    warning: None,
                });
            }
        }
        let resolution = self.inner.resolver.resolve(&self.inner.options.resolve);
        let winner = resolution.winner().map(|w| w.id);
        let found = match (resolution.credential(), resolution.winning()) {
            (Ok(_), Some(found)) => found.clone(),
            (Err(NoCredential::NeedsExchange), Some(found)) => found.clone(),
            (Err(e), _) => return Err(e.into()),
            (Ok(_), None) => return Err(NoCredential::None.into()),
        };
        let origin = self.origin_of(winner.unwrap_or(SourceId::Explicit), &found);
        if let Origin::Federation(key) = &origin {
            return self.federation(key, rejected.as_ref()).await;
        }
        let Some(credential) = found.credential.clone() else {
            return Err(NoCredential::None.into());
        };
        let now = now_unix();
        let rejected_matches = rejected.as_ref().is_some_and(|r| r == credential.secret());
        if rejected.is_some() && !rejected_matches {
            // The store already holds a newer token than the one the API rejected.
            return Ok(self.hand_out(credential, origin, Some(&found), true));
        }
        if !rejected_matches && !self.needs_refresh(&credential, now) {
            return Ok(self.hand_out(credential, origin, Some(&found), false));
        }
        if !credential.can_refresh()
            || !matches!(origin, Origin::Profile { .. } | Origin::ClaudeCode)
        {
            if credential.is_expired_at(now) || rejected_matches {
                return Err(AuthError::LoginRequired {
                    message: format!(
                        "the {} from {} has expired and cannot be refreshed",
                        credential.kind().label(),
                        found.location
                    ),
                    command: self.login_command(&origin),
                });
            }
            return Ok(self.hand_out(credential, origin, Some(&found), false));
        }
        self.refresh_locked(origin, &found, credential, rejected_matches)
            .await
    }

    fn login_command(&self, origin: &Origin) -> String {
        match origin {
            Origin::Profile { name, .. } => format!("claude-auth login --profile {name}"),
            Origin::ClaudeCode => "claude /login (Claude Code)".into(),
            _ => "claude-auth login".into(),
        }
    }

    /// The credential as stored now, and Claude Code's login as read (a
    /// refresh of it is written back to the same place).
    fn reload(&self, origin: &Origin) -> Result<Option<Reloaded>, AuthError> {
        let mut cc_login = None;
        let found = match origin {
            Origin::Profile { name, .. } => self.inner.resolver.load_profile(name)?,
            Origin::ClaudeCode => {
                cc_login = self.inner.resolver.claude_code().load_login()?;
                cc_login.as_ref().map(|l| Found {
                    credential: Some(l.credential.clone()),
                    federation: None,
                    profile: None,
                    location: l.location.clone(),
                    storage: None,
                    base_url: None,
                    notes: Vec::new(),
                })
            }
            _ => None,
        };
        Ok(found.and_then(|f| {
            let set = f
                .credential
                .as_ref()
                .and_then(Credential::token_set)
                .cloned()?;
            Some((f, set, cc_login))
        }))
    }

    async fn take_lock(&self, origin: &Origin, found: &Found) -> Result<Guard, AuthError> {
        let timeout = self.inner.options.lock_timeout;
        let guard = match origin {
            Origin::ClaudeCode => {
                let dir = self.inner.resolver.claude_code().config_dir().to_owned();
                let timings = self.inner.options.claude_code_lock;
                let lock =
                    tokio::task::spawn_blocking(move || ClaudeCodeLock::acquire(&dir, timings))
                        .await
                        .map_err(|e| Error::Unsupported(format!("lock task failed: {e}")))??;
                Guard::ClaudeCode(lock)
            }
            Origin::Profile { name, storage } => {
                let path = match storage {
                    StorageKind::File => PathBuf::from(format!("{}.lock", found.location)),
                    _ => own_config_dir(self.inner.resolver.env())
                        .path
                        .join("locks")
                        .join(format!("{name}.lock")),
                };
                let lock = tokio::task::spawn_blocking(move || FileLock::acquire(&path, timeout))
                    .await
                    .map_err(|e| Error::Unsupported(format!("lock task failed: {e}")))??;
                Guard::File(lock)
            }
            _ => {
                return Err(Error::Unsupported(
                    "this credential is not stored, so it cannot be refreshed".into(),
                )
                .into())
            }
        };
        Ok(guard)
    }

    fn refresh_endpoint(
        &self,
        origin: &Origin,
        set: &TokenSet,
        found: &Found,
        state: &RefreshState,
    ) -> Endpoint {
        let preset = state.preset(
            &self.inner.presets,
            matches!(origin, Origin::ClaudeCode),
            set.client_id.as_deref(),
        );
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
            None => {
                let base = found
                    .base_url
                    .clone()
                    .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
                Endpoint {
                    url: format!("{}/v1/oauth/token", base.trim_end_matches('/')),
                    encoding: Encoding::Json,
                    client_id: set.client_id.clone(),
                    client_secret: None,
                    headers: [(
                        "anthropic-beta".to_owned(),
                        crate::doors::wire::OAUTH_BETA.to_owned(),
                    )]
                    .into(),
                }
            }
        }
    }

    /// Write a refreshed token set back. Claude Code's login goes exactly
    /// where `claude_code` (read under the lock) was found: the Keychain
    /// item or the file, never the other.
    fn persist(
        &self,
        origin: &Origin,
        claude_code: Option<&ClaudeCodeLogin>,
        set: &TokenSet,
    ) -> Result<(), Error> {
        match origin {
            Origin::ClaudeCode => {
                let login = claude_code.ok_or_else(|| {
                    Error::Unsupported("Claude Code's login was not read under the lock".into())
                })?;
                self.inner
                    .resolver
                    .claude_code()
                    .save_login(login, &Credential::OAuth(set.clone()))
            }
            Origin::Profile {
                name,
                storage: StorageKind::File,
            } => self
                .inner
                .resolver
                .profile_files()
                .write_credentials(name, set)
                .map(|_| ()),
            Origin::Profile { name, storage } => self
                .inner
                .resolver
                .store_for(*storage)?
                .save(name, &Credential::OAuth(set.clone())),
            _ => Err(Error::Unsupported("not a stored credential".into())),
        }
    }

    async fn refresh_locked(
        &self,
        origin: Origin,
        resolved: &Found,
        stale: Credential,
        forced: bool,
    ) -> Result<Obtained, AuthError> {
        let guard = self.take_lock(&origin, resolved).await?;
        // Re-read under the lock: another process may have refreshed.
        let (found, set, cc_login) = self.reload(&origin)?.ok_or(NoCredential::None)?;
        let now = now_unix();
        let changed = set.access_token != *stale.secret();
        let current = Credential::OAuth(set.clone());
        if changed && (forced || !self.needs_refresh(&current, now)) {
            drop(guard);
            tracing::debug!("adopting a refresh made by another process");
            return Ok(self.hand_out(current, origin, Some(&found), true));
        }
        let Some(refresh_token) = set.refresh_token.clone() else {
            return Err(AuthError::LoginRequired {
                message: "the login has no refresh token".into(),
                command: self.login_command(&origin),
            });
        };
        let fp = fingerprint(&refresh_token);
        let state_path = self.state_path(&origin);
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
                command: self.login_command(&origin),
            });
        }
        let endpoint = self.refresh_endpoint(&origin, &set, &found, &state);
        let grant = Grant::Refresh {
            refresh_token,
            scope: None,
        };
        match self.inner.client.request(&endpoint, &grant).await {
            Ok(response) => {
                let new = response.into_token_set(
                    set.provider.clone(),
                    set.client_id.clone(),
                    Some(&set),
                );
                // Persist before anyone uses the new token: if this fails the
                // rotated refresh token would be lost, so the refresh fails.
                self.persist(&origin, cc_login.as_ref(), &new)?;
                if let Some(p) = &state_path {
                    let _ = RefreshState::update(p, |s| {
                        s.last_refresh_at = Some(now_unix());
                        s.last_error = None;
                        s.last_error_at = None;
                    });
                }
                // `found` names the file just written: `remember` stamps it
                // anew, under the lock, so a write by another process after
                // we let go is noticed.
                let c = Arc::new(Credential::OAuth(new));
                self.remember(Arc::clone(&c), origin, Some(&found));
                drop(guard);
                Ok(Obtained {
                    credential: c,
                    refreshed: true,
                    warning: None,
                })
            }
            Err(OAuthError::InvalidGrant { description }) => {
                self.inner
                    .dead
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(fp.clone());
                let message = format!(
                    "the server rejected the refresh token (invalid_grant{})",
                    description.map(|d| format!(": {d}")).unwrap_or_default()
                );
                if let Some(p) = &state_path {
                    let _ = RefreshState::update(p, |s| {
                        s.dead_refresh_token = Some(fp);
                        s.last_error = Some(message.clone());
                        s.last_error_at = Some(now_unix());
                    });
                }
                Err(AuthError::LoginRequired {
                    message,
                    command: self.login_command(&origin),
                })
            }
            Err(e) => {
                let message = sanitize(&e.to_string());
                if let Some(p) = &state_path {
                    let _ = RefreshState::update(p, |s| {
                        s.last_error = Some(message.clone());
                        s.last_error_at = Some(now_unix());
                    });
                }
                drop(guard);
                if !current.is_expired_at(now_unix()) && !forced {
                    let c = Arc::new(current);
                    // Do not cache: the next call tries again.
                    return Ok(Obtained {
                        credential: c,
                        refreshed: false,
                        warning: Some(format!(
                            "refresh failed ({message}); using the current token until it expires"
                        )),
                    });
                }
                Err(AuthError::Refresh(e))
            }
        }
    }

    /// A token from workload identity federation. For an `oidc_federation`
    /// profile the exchanged token is cached in the profile's credentials
    /// file, as the SDKs do: a cached token more than [`Self::margin`] (30 s)
    /// from expiry that is not the `rejected` one is used without an
    /// exchange, and across processes the exchange runs under the same lock
    /// file as a refresh, re-reading the cache once it is held. Federation
    /// from the environment is cached in memory only, as in the SDKs.
    async fn federation(
        &self,
        key: &FederationKey,
        rejected: Option<&Secret>,
    ) -> Result<Obtained, AuthError> {
        let Some(path) = key.federation.token_cache.clone() else {
            return self.exchange_federation(key, None).await;
        };
        let origin = Origin::Federation(Box::new(key.clone()));
        let margin = self.margin(&origin);
        // `Err` when the file is there but refused (a symlink, loose
        // permissions, not JSON, another `type`): then it is left alone.
        let cached = || -> Result<Option<Credential>, ()> {
            let (token, expires_at) = match ProfileFiles::read_token_cache(&path) {
                Ok(Some(found)) => found,
                Ok(None) => return Ok(None),
                Err(e) => {
                    tracing::warn!("not using or replacing the cached federation token: {e}");
                    return Err(());
                }
            };
            let mut set = TokenSet::access_only(token, crate::credential::Provider::Anthropic);
            set.expires_at = Some(expires_at);
            let usable = rejected.is_none_or(|r| *r != set.access_token)
                && expires_at > now_unix().saturating_add(margin);
            Ok(usable.then_some(Credential::OAuth(set)))
        };
        match cached() {
            Ok(Some(c)) => return Ok(self.hand_out(c, origin, None, false)),
            Ok(None) => {}
            Err(()) => return self.exchange_federation(key, None).await,
        }
        let lock_path = PathBuf::from(format!("{}.lock", path.display()));
        let timeout = self.inner.options.lock_timeout;
        let guard = tokio::task::spawn_blocking(move || FileLock::acquire(&lock_path, timeout))
            .await
            .map_err(|e| Error::Unsupported(format!("lock task failed: {e}")))?;
        let _guard = match guard {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!("exchanging without the cross-process lock: {e}");
                None
            }
        };
        // Another process may have exchanged while we waited.
        match cached() {
            Ok(Some(c)) => Ok(self.hand_out(c, origin, None, true)),
            Ok(None) => self.exchange_federation(key, Some(&path)).await,
            Err(()) => self.exchange_federation(key, None).await,
        }
    }

    async fn exchange_federation(
        &self,
        key: &FederationKey,
        cache: Option<&std::path::Path>,
    ) -> Result<Obtained, AuthError> {
        let fed = &key.federation;
        let assertion = match (&fed.identity_token_file, &fed.identity_token) {
            (Some(path), _) => {
                // Re-read on every exchange: the platform rotates it.
                let bytes = crate::secure_file::read_required(
                    path,
                    crate::secure_file::ReadPolicy::Lenient,
                    crate::secure_file::MAX_IDENTITY_TOKEN_BYTES,
                )?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::parse(path, "the identity token file is not UTF-8 text"))?;
                Secret::token(text.trim(), "the identity token")
                    .map_err(|m| Error::parse(path, m))?
            }
            (None, Some(t)) => t.clone(),
            (None, None) => return Err(Error::Unsupported(
                "workload identity needs ANTHROPIC_IDENTITY_TOKEN_FILE or ANTHROPIC_IDENTITY_TOKEN"
                    .into(),
            )
            .into()),
        };
        if assertion.len() > 16 * 1024 {
            return Err(Error::Unsupported(
                "the identity token is over 16 KiB; refusing to send it".into(),
            )
            .into());
        }
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "federation_rule_id".to_owned(),
            fed.federation_rule_id.clone(),
        );
        if let Some(v) = &fed.organization_id {
            fields.insert("organization_id".into(), v.clone());
        }
        if let Some(v) = &fed.service_account_id {
            fields.insert("service_account_id".into(), v.clone());
        }
        if let Some(v) = &fed.workspace_id {
            fields.insert("workspace_id".into(), v.clone());
        }
        if let Some(v) = &fed.scope {
            fields.insert("scope".into(), v.clone());
        }
        let endpoint = Endpoint {
            url: format!("{}/v1/oauth/token", key.base_url.trim_end_matches('/')),
            encoding: Encoding::Json,
            client_id: None,
            client_secret: None,
            headers: [(
                "anthropic-beta".to_owned(),
                format!(
                    "{},oidc-federation-2026-04-01",
                    crate::doors::wire::OAUTH_BETA
                ),
            )]
            .into(),
        };
        let response = self
            .inner
            .client
            .request(&endpoint, &Grant::JwtBearer { assertion, fields })
            .await?;
        let set = response.into_token_set(crate::credential::Provider::Anthropic, None, None);
        if let (Some(path), Some(expires_at)) = (cache, set.expires_at) {
            // Best effort, as in the SDKs: the token is good without the cache.
            if let Err(e) = ProfileFiles::write_token_cache(path, &set.access_token, expires_at) {
                tracing::warn!("could not cache the federation token: {e}");
            }
        }
        let c = Arc::new(Credential::OAuth(set));
        self.remember(
            Arc::clone(&c),
            Origin::Federation(Box::new(key.clone())),
            None,
        );
        Ok(Obtained {
            credential: c,
            refreshed: true,
            warning: None,
        })
    }
}
