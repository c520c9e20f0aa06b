//! Which agent keys a shared proxy accepts: those of open sessions.
//!
//! A shared `claude-auth proxy` accepts, besides its own local key, the key
//! of any agent whose session is open in the ledger. Asking the ledger per
//! request would cost a query each, and a flood of made-up keys would cost
//! one per attempt, so the open sessions' key hashes are kept in memory:
//!
//! - a key found there is accepted while the copy is younger than
//!   [`RECHECK`]; after that the next request reloads it, so a closed
//!   session's key stops working within that time. A copy in use is
//!   renewed in the background once it is [`REFRESH_AHEAD`] old, so that
//!   while agents keep sending, no request waits for the recheck;
//! - a key not found there is refused only by a copy loaded after the
//!   request came in (a session registered a moment ago is found), and
//!   reloads are at least [`MIN_RELOAD_GAP`] apart, one at a time, whoever
//!   asks: any number of unknown keys cost at most one query per gap;
//! - the presented key's SHA-256 is compared with each open session's in
//!   constant time.
//!
//! A key found comes with the provider its session is for
//! ([`KeyHolder`]): a proxy serving the other provider's API refuses it.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::{key_hash, sessions, KeyHolder, KEY_PREFIX};
use crate::oauth::pkce::constant_time_eq;
use crate::usage::ledger::{Ledger, LedgerError};

/// How long a loaded copy of the open sessions' keys is trusted.
pub const RECHECK: Duration = Duration::from_secs(2);
/// The least time between two loads.
pub const MIN_RELOAD_GAP: Duration = Duration::from_millis(100);
/// A key found in a copy this old starts its renewal in the background.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Snapshot {
    loaded: Option<Instant>,
    keys: Vec<(String, KeyHolder)>,
}

impl Snapshot {
    fn find(&self, hash: &str) -> Option<KeyHolder> {
        let mut found = None;
        for (h, holder) in &self.keys {
            if constant_time_eq(h, hash) && found.is_none() {
                found = Some(holder.clone());
            }
        }
        found
    }
}

struct Inner {
    ledger: Arc<Ledger>,
    snapshot: RwLock<Snapshot>,
    reload: tokio::sync::Mutex<()>,
    loads: std::sync::atomic::AtomicU64,
    /// A background renewal is under way.
    renewing: std::sync::atomic::AtomicBool,
}

/// The open sessions' agent keys, as a proxy checks them. Cheap to clone.
#[derive(Clone)]
pub struct AgentKeys {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AgentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKeys")
            .field("ledger", &self.inner.ledger.path())
            .finish_non_exhaustive()
    }
}

impl AgentKeys {
    /// Check keys against the sessions in `ledger`.
    pub fn new(ledger: Ledger) -> AgentKeys {
        AgentKeys {
            inner: Arc::new(Inner {
                ledger: Arc::new(ledger),
                snapshot: RwLock::new(Snapshot::default()),
                reload: tokio::sync::Mutex::new(()),
                loads: std::sync::atomic::AtomicU64::new(0),
                renewing: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Check keys against the ledger in `state_dir`.
    pub fn open_in(state_dir: &std::path::Path) -> Result<AgentKeys, LedgerError> {
        Ledger::open_in(state_dir).map(AgentKeys::new)
    }

    /// How many times the ledger was asked (for tests and benchmarks).
    pub fn loads(&self) -> u64 {
        self.inner.loads.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.inner
            .snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The agent whose open session `key` belongs to, with the provider
    /// that session is for, or `None`.
    pub async fn lookup(&self, key: &str) -> Option<KeyHolder> {
        if !key.starts_with(KEY_PREFIX) {
            return None;
        }
        let arrived = Instant::now();
        let hash = key_hash(key);
        {
            let snap = self.read();
            if let Some(loaded) = snap.loaded {
                let age = loaded.elapsed();
                if age < RECHECK {
                    if let Some(agent) = snap.find(&hash) {
                        drop(snap);
                        if age >= REFRESH_AHEAD {
                            self.renew_in_background();
                        }
                        return Some(agent);
                    }
                }
            }
        }
        // Found nowhere fresh: one load at a time, answered by any load that
        // began after this request came in.
        let _one = self.inner.reload.lock().await;
        let last = {
            let snap = self.read();
            if snap.loaded.is_some_and(|l| l >= arrived) {
                return snap.find(&hash);
            }
            // A load that ended while this request waited: a key found in it
            // is as good as on the quick path above (only a key not found
            // waits for a load begun after it came in).
            if let Some(loaded) = snap.loaded {
                if loaded.elapsed() < RECHECK {
                    if let Some(agent) = snap.find(&hash) {
                        return Some(agent);
                    }
                }
            }
            snap.loaded
        };
        if let Some(last) = last {
            tokio::time::sleep_until((last + MIN_RELOAD_GAP).into()).await;
        }
        self.load().await;
        self.read().find(&hash)
    }

    /// Renew the copy on a task of its own, unless a renewal is under way.
    fn renew_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.renewing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _one = this.inner.reload.lock().await;
            // A request may have reloaded it meanwhile.
            let due = this
                .read()
                .loaded
                .is_none_or(|l| l.elapsed() >= REFRESH_AHEAD);
            if due {
                this.load().await;
            }
            this.inner.renewing.store(false, Ordering::Release);
        });
    }

    /// Read the open sessions' keys (on the blocking pool) into the copy.
    /// The caller holds `reload`.
    async fn load(&self) {
        let started = Instant::now();
        let ledger = Arc::clone(&self.inner.ledger);
        let loaded = tokio::task::spawn_blocking(move || {
            // The next read closes sessions whose process is gone.
            sessions::close_dead(&ledger, crate::credential::now_unix())?;
            sessions::open_keys(&ledger)
        })
        .await;
        self.inner
            .loads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut snap = self
            .inner
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match loaded {
            Ok(Ok(keys)) => snap.keys = keys,
            // What cannot be checked is refused: a closed session's key
            // must not live on while the ledger cannot be read.
            Ok(Err(e)) => {
                tracing::warn!("agent keys: {e}");
                snap.keys.clear();
            }
            Err(e) => {
                tracing::warn!("agent keys: the ledger read failed: {e}");
                snap.keys.clear();
            }
        }
        snap.loaded = Some(started);
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
