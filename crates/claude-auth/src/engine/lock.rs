//! Cross-process locks that serialise refreshes.
//!
//! Refresh tokens are single use. Two processes that refresh the same login
//! at once each present the same refresh token; the second one burns it (and
//! a standards server revokes the whole grant). So every refresh happens
//! under a lock, and the holder re-reads the store after taking it.
//!
//! - [`FileLock`]: an OS file lock (`flock` on Unix, `LockFileEx` on
//!   Windows) on a lock file beside the store. The kernel drops it when the
//!   holder dies, so a killed process never blocks anyone; waiting is
//!   bounded.
//! - [`ClaudeCodeLock`]: Claude Code's own protocol, so Claude Code and
//!   claude-auth never both refresh its login: lock *directories* made with
//!   `mkdir` (`<config dir>/.oauth_refresh.lock` with an owner file inside,
//!   then `<config dir>.lock`), their mtimes refreshed every 5 s while held,
//!   a lock stale only after 60 s without an mtime update.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::secure_file::create_dir_all_with_mode;

fn jitter(base_ms: u64) -> Duration {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    Duration::from_millis(base_ms + u64::from(b[0]) % base_ms.max(1))
}

/// An exclusive OS file lock, released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Take the lock on `path` (created 0600 if missing), waiting at most
    /// `timeout`.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<FileLock> {
        FileLock::acquire_with(path, timeout, &|| jitter(5))
    }

    /// [`FileLock::acquire`], trying again every `every` (another program's
    /// rhythm, such as Codex's 10 ms) instead of every 5-10 ms.
    pub fn acquire_every(path: &Path, timeout: Duration, every: Duration) -> Result<FileLock> {
        FileLock::acquire_with(path, timeout, &|| every)
    }

    fn acquire_with(
        path: &Path,
        timeout: Duration,
        pause: &dyn Fn() -> Duration,
    ) -> Result<FileLock> {
        if let Some(dir) = path.parent() {
            create_dir_all_with_mode(dir, 0o700)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(path)
            .map_err(|e| Error::io("open lock file", path, e))?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(FileLock {
                        file,
                        path: path.to_owned(),
                    })
                }
                Err(fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(Error::Unsupported(format!(
                            "another process has held the refresh lock {} for over {} s; try again, or remove the lock file if no claude-auth process is running",
                            path.display(),
                            timeout.as_secs()
                        )));
                    }
                    std::thread::sleep(pause());
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Claude Code's lock-directory protocol.
#[derive(Debug)]
pub struct ClaudeCodeLock {
    dirs: Vec<PathBuf>,
    stop: Arc<AtomicBool>,
    keeper: Option<JoinHandle<()>>,
}

/// Timings of the Claude Code protocol (tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct ClaudeCodeLockTimings {
    /// A lock whose mtime is older than this is stale (Claude Code: 60 s).
    pub stale_after: Duration,
    /// How often a holder refreshes the mtimes (Claude Code: 5 s).
    pub keep_fresh_every: Duration,
    /// How long to wait for a live holder before giving up.
    pub timeout: Duration,
}

impl Default for ClaudeCodeLockTimings {
    fn default() -> Self {
        ClaudeCodeLockTimings {
            stale_after: Duration::from_secs(60),
            keep_fresh_every: Duration::from_secs(5),
            timeout: Duration::from_secs(90),
        }
    }
}

/// The two lock directories for Claude Code config dir `config_dir`.
pub fn claude_code_lock_dirs(config_dir: &Path) -> [PathBuf; 2] {
    let mut outer = config_dir.as_os_str().to_owned();
    outer.push(".lock");
    [config_dir.join(".oauth_refresh.lock"), PathBuf::from(outer)]
}

fn age(path: &Path) -> Option<Duration> {
    let modified = fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(
        SystemTime::now()
            .duration_since(modified)
            .unwrap_or(Duration::ZERO),
    )
}

fn touch(path: &Path) {
    if let Ok(f) = File::open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

impl ClaudeCodeLock {
    /// Take both lock directories, in Claude Code's order.
    pub fn acquire(config_dir: &Path, timings: ClaudeCodeLockTimings) -> Result<ClaudeCodeLock> {
        let deadline = Instant::now() + timings.timeout;
        let mut held: Vec<PathBuf> = Vec::new();
        let release = |held: &[PathBuf]| {
            for d in held.iter().rev() {
                let _ = fs::remove_dir_all(d);
            }
        };
        for dir in claude_code_lock_dirs(config_dir) {
            loop {
                match fs::create_dir(&dir) {
                    Ok(()) => {
                        let owner = format!(
                            "{{\"pid\":{},\"tool\":\"claude-auth\"}}",
                            std::process::id()
                        );
                        let _ = fs::write(dir.join("owner"), owner);
                        held.push(dir.clone());
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        if age(&dir).is_some_and(|a| a > timings.stale_after) {
                            tracing::debug!(lock = %dir.display(), "removing stale Claude Code lock");
                            let _ = fs::remove_dir_all(&dir);
                            continue;
                        }
                        if Instant::now() >= deadline {
                            release(&held);
                            return Err(Error::Unsupported(format!(
                                "Claude Code's refresh lock {} has been held for over {} s by a live holder; try again shortly",
                                dir.display(),
                                timings.timeout.as_secs()
                            )));
                        }
                        std::thread::sleep(jitter(50));
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        // The parent (the config dir) does not exist.
                        release(&held);
                        return Err(Error::io("create lock directory", &dir, e));
                    }
                    Err(e) => {
                        release(&held);
                        return Err(Error::io("create lock directory", &dir, e));
                    }
                }
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let keeper = {
            let stop = Arc::clone(&stop);
            let dirs = held.clone();
            let every = timings.keep_fresh_every;
            std::thread::spawn(move || {
                let tick = Duration::from_millis(50);
                let mut since = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    since += tick;
                    if since >= every {
                        since = Duration::ZERO;
                        for d in &dirs {
                            touch(d);
                        }
                    }
                }
            })
        };
        Ok(ClaudeCodeLock {
            dirs: held,
            stop,
            keeper: Some(keeper),
        })
    }
}

impl Drop for ClaudeCodeLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(k) = self.keeper.take() {
            let _ = k.join();
        }
        for d in self.dirs.iter().rev() {
            let _ = fs::remove_dir_all(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lock_excludes_and_times_out() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let held = FileLock::acquire(&path, Duration::from_secs(1)).unwrap();
        let err = FileLock::acquire(&path, Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("held the refresh lock"), "{err}");
        drop(held);
        FileLock::acquire(&path, Duration::from_millis(100)).unwrap();
    }

    #[test]
    fn claude_code_lock_takes_both_dirs_and_releases() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join(".claude");
        fs::create_dir(&cfg).unwrap();
        let [inner, outer] = claude_code_lock_dirs(&cfg);
        assert_eq!(outer, tmp.path().join(".claude.lock"));
        let lock = ClaudeCodeLock::acquire(&cfg, ClaudeCodeLockTimings::default()).unwrap();
        assert!(inner.join("owner").is_file() && outer.is_dir());
        drop(lock);
        assert!(!inner.exists() && !outer.exists());
    }

    #[test]
    fn stale_claude_code_lock_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join(".claude");
        fs::create_dir(&cfg).unwrap();
        let [inner, _] = claude_code_lock_dirs(&cfg);
        fs::create_dir(&inner).unwrap();
        File::open(&inner)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(120))
            .unwrap();
        let timings = ClaudeCodeLockTimings {
            timeout: Duration::from_secs(2),
            ..ClaudeCodeLockTimings::default()
        };
        ClaudeCodeLock::acquire(&cfg, timings).unwrap();
    }

    #[test]
    fn live_claude_code_lock_times_out() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join(".claude");
        fs::create_dir(&cfg).unwrap();
        let [inner, outer] = claude_code_lock_dirs(&cfg);
        fs::create_dir(&inner).unwrap();
        let timings = ClaudeCodeLockTimings {
            timeout: Duration::from_millis(300),
            ..ClaudeCodeLockTimings::default()
        };
        let err = ClaudeCodeLock::acquire(&cfg, timings).unwrap_err();
        assert!(err.to_string().contains(".oauth_refresh.lock"), "{err}");
        assert!(!outer.exists(), "nothing left held after giving up");
    }
}
