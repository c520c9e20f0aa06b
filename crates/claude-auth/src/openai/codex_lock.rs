//! Codex's own two lock files, taken the way Codex 0.171.0 takes them
//! around every write or delete of its login (measured with strace,
//! `docs/codex-locks.md` items 1-2): `$CODEX_HOME/auth.lock` first
//! (Codex: `flock(LOCK_EX)`, blocking with no timeout; here bounded by the
//! caller's timeout), then `$CODEX_HOME/auth.json.lock` (Codex:
//! `flock(LOCK_EX|LOCK_NB)` tried every 10 ms, giving up after 5 s), released
//! in reverse. Our [`FileLock`] is `flock` on Linux, so Codex and claude-auth
//! exclude each other. The engine's refresh of Codex's login and the
//! `--codex` login and logout both use these functions.

use std::path::Path;
use std::time::Duration;

use super::home;
use crate::engine::lock::FileLock;
use crate::error::{Error, Result};

/// How long to wait for Codex's `auth.json.lock`: Codex's own budget.
pub const COMMIT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often `auth.json.lock` is tried: Codex's rhythm.
pub const COMMIT_LOCK_RETRY: Duration = Duration::from_millis(10);
/// How long a login or logout waits for Codex's `auth.lock` (Codex itself
/// waits forever; a Codex process holds it only around its commits).
pub const AUTH_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

fn held_too_long(path: &Path, timeout: Duration, e: Error) -> Error {
    match e {
        // FileLock's timeout; every other error (opening the file) as is.
        Error::Unsupported(_) => Error::Unsupported(format!(
            "a Codex process has held its lock {} for over {} s; let it finish and try again",
            path.display(),
            timeout.as_secs()
        )),
        other => other,
    }
}

/// Take `$CODEX_HOME/auth.lock`, waiting at most `timeout`; the error names
/// the lock file and what to do.
pub fn auth_lock(codex_home: &Path, timeout: Duration) -> Result<FileLock> {
    let path = home::auth_lock_path(codex_home);
    FileLock::acquire(&path, timeout).map_err(|e| held_too_long(&path, timeout, e))
}

/// Take `$CODEX_HOME/auth.json.lock` as Codex does: tried every
/// [`COMMIT_LOCK_RETRY`] for at most [`COMMIT_LOCK_TIMEOUT`]. Take
/// [`auth_lock`] first.
pub fn commit_lock(codex_home: &Path) -> Result<FileLock> {
    let path = home::auth_json_lock_path(codex_home);
    FileLock::acquire_every(&path, COMMIT_LOCK_TIMEOUT, COMMIT_LOCK_RETRY)
        .map_err(|e| held_too_long(&path, COMMIT_LOCK_TIMEOUT, e))
}

/// Both of Codex's locks, held for one write or delete of its login;
/// released in reverse order on drop.
#[derive(Debug)]
pub struct CodexLocks {
    // Fields drop first to last: `auth.json.lock`, then `auth.lock`.
    _commit: FileLock,
    _auth: FileLock,
}

impl CodexLocks {
    /// Take `auth.lock` (waiting at most `auth_timeout`), then
    /// `auth.json.lock` (Codex's 10 ms / 5 s).
    pub fn acquire(codex_home: &Path, auth_timeout: Duration) -> Result<CodexLocks> {
        let auth = auth_lock(codex_home, auth_timeout)?;
        let commit = commit_lock(codex_home)?;
        Ok(CodexLocks {
            _commit: commit,
            _auth: auth,
        })
    }
}
