//! The usage ledger: every request's token counts and the latest rate-limit
//! headers, in one SQLite file in our state dir that every process on the
//! machine (clients, proxies, `usage`) shares. It also holds the agent
//! sessions (`agents`: who ran, with which key hash and budget, and how it
//! ended) and the events users must be told about (`events`: a failover to
//! another provider, a request refused for its budget).
//!
//! WAL mode with a busy timeout, so many writers and readers work at once;
//! a file that is not a database (or is corrupt) is moved aside, never
//! deleted, and a new one is made, and the caller is told where the old one
//! went. Only rate-limit headers (by name prefix) and counts are stored:
//! nothing that could hold a secret.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::credential::Provider;
use crate::secure_file::check_private_file;

pub use super::events::{Event, EVENT_BUDGET_REFUSED, EVENT_FAILOVER, EVENT_SELECTION};

/// The ledger's file name in the state dir.
pub const FILE_NAME: &str = "usage.db";
/// How long a writer waits for another process's write before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Header names (by prefix) the ledger keeps; nothing else is ever stored.
pub const KEPT_HEADER_PREFIXES: [&str; 4] = [
    "anthropic-ratelimit-",
    "x-ratelimit-",
    "x-codex-",
    "retry-after",
];
const MAX_HEADER_VALUE: usize = 256;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    provider TEXT NOT NULL,
    profile TEXT,
    model TEXT,
    agent TEXT,
    status INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    latency_ms INTEGER
);
CREATE INDEX IF NOT EXISTS requests_at ON requests(at);
CREATE TABLE IF NOT EXISTS limits (
    provider TEXT NOT NULL,
    profile TEXT NOT NULL,
    at INTEGER NOT NULL,
    headers TEXT NOT NULL,
    PRIMARY KEY (provider, profile)
);
CREATE INDEX IF NOT EXISTS requests_agent ON requests(agent, at) WHERE agent IS NOT NULL;
CREATE TABLE IF NOT EXISTS agents (
    session INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    provider TEXT NOT NULL,
    profile TEXT,
    pid INTEGER,
    pid_start INTEGER,
    started INTEGER NOT NULL,
    ended INTEGER,
    exit_code INTEGER,
    end_reason TEXT,
    key_hash TEXT,
    budget TEXT
);
CREATE INDEX IF NOT EXISTS agents_open ON agents(ended, id);
CREATE INDEX IF NOT EXISTS agents_key ON agents(key_hash);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    agent TEXT,
    provider TEXT,
    profile TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
";

/// A login's latest rate-limit headers: provider, login, when (Unix
/// seconds), and the kept headers as [`kept_headers`] returns them.
pub type LatestLimits = (Provider, String, u64, Vec<(String, String)>);

/// Why the ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Another process held the database longer than [`BUSY_TIMEOUT`].
    #[error("usage ledger {path}: locked by another process for more than {secs} s; try again")]
    Locked {
        /// The file.
        path: PathBuf,
        /// The timeout.
        secs: u64,
    },
    /// The ledger's file (or its `-wal`/`-shm`) breaks the rules every file
    /// we keep follows: a symlink, another user's, readable by others, or
    /// in a directory anyone can write. The error names the file and the
    /// fix; nothing was opened or changed.
    #[error("usage ledger: {0}")]
    Unsafe(#[source] crate::error::Error),
    /// Anything else SQLite or the file system said.
    #[error("usage ledger {path}: {message}")]
    Other {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// One request as the ledger keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// When it completed, Unix seconds.
    pub at: u64,
    /// `anthropic` or `openai`.
    pub provider: String,
    /// The profile (or login) it used.
    pub profile: Option<String>,
    /// The model the response names.
    pub model: Option<String>,
    /// The agent it ran for, when known.
    pub agent: Option<String>,
    /// The HTTP status.
    pub status: u16,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Time to the last byte, milliseconds.
    pub latency_ms: Option<u64>,
}

impl RequestRecord {
    /// The record as the insert binds it.
    pub(crate) fn row(&self) -> Row<'_> {
        Row {
            at: self.at,
            provider: &self.provider,
            profile: self.profile.as_deref(),
            model: self.model.as_deref(),
            agent: self.agent.as_deref(),
            status: self.status,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_creation_tokens: self.cache_creation_tokens,
            cache_read_tokens: self.cache_read_tokens,
            latency_ms: self.latency_ms,
        }
    }
}

/// One request's row, borrowed from whatever holds it (a
/// [`RequestRecord`], or the writer's own entry), so writing it copies
/// nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row<'a> {
    pub at: u64,
    pub provider: &'a str,
    pub profile: Option<&'a str>,
    pub model: Option<&'a str>,
    pub agent: Option<&'a str>,
    pub status: u16,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    pub latency_ms: Option<u64>,
}

/// Tokens summed per day, model and agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayTotal {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// The provider.
    pub provider: String,
    /// The model, if the responses named one.
    pub model: Option<String>,
    /// The agent, if known.
    pub agent: Option<String>,
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache writes plus cache reads.
    pub cache_tokens: u64,
}

/// The shared ledger.
pub struct Ledger {
    conn: Mutex<Connection>,
    path: PathBuf,
    moved_aside: Option<PathBuf>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// `<path><suffix>`: SQLite's `-wal` and `-shm` files beside the ledger.
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Hold the ledger's files to the rules of every file we keep (see
/// [`crate::secure_file`]): the ledger and its `-wal`/`-shm` must not be
/// symlinks, must be regular files of yours with no group or other bits,
/// in no directory anyone can write. A missing ledger is made here, 0600
/// and never through a symlink, before SQLite opens it (SQLite gives its
/// `-wal`/`-shm` the ledger's mode).
fn secure_files(path: &Path) -> Result<(), LedgerError> {
    for suffix in ["-wal", "-shm"] {
        let side = side_file(path, suffix);
        tighten_side_file(&side);
        check_private_file(&side).map_err(LedgerError::Unsafe)?;
    }
    if check_private_file(path).map_err(LedgerError::Unsafe)? {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    // create_new: O_CREAT|O_EXCL, which never follows a symlink.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process made it first: check what it made.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_private_file(path)
            .map(drop)
            .map_err(LedgerError::Unsafe),
        Err(e) => Err(LedgerError::Other {
            path: path.to_owned(),
            message: format!("could not create it: {e}"),
        }),
    }
}

/// Versions before the checks above made the ledger with the default
/// mode and only then made it 0600, so SQLite could have made its
/// `-wal`/`-shm` 0644: tighten a file of ours like that to 0600 (they hold
/// what the ledger holds). Anything else is left for the check to refuse.
fn tighten_side_file(side: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if let Ok(meta) = std::fs::symlink_metadata(side) {
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_file()
                && meta.uid() == crate::secure_file::effective_uid()
                && mode & 0o077 != 0
            {
                let _ = std::fs::set_permissions(side, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = side;
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;
    agent_index_partial(&conn)?;
    Ok(conn)
}

/// `requests_agent` holds only the rows of an agent (every query that uses
/// it names one), so the many rows without one cost no index upkeep. A
/// ledger made before had it over every row: rebuilt once, under a write
/// lock. Older versions keep working: their `CREATE INDEX IF NOT EXISTS`
/// finds the name taken.
fn agent_index_partial(conn: &Connection) -> rusqlite::Result<()> {
    let partial = |conn: &Connection| -> rusqlite::Result<bool> {
        let sql: Option<Option<String>> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'requests_agent'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        Ok(sql.flatten().is_some_and(|sql| sql.contains("WHERE")))
    };
    if partial(conn)? {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    if !partial(&tx)? {
        tx.execute_batch(
            "DROP INDEX IF EXISTS requests_agent;
             CREATE INDEX requests_agent ON requests(agent, at) WHERE agent IS NOT NULL;",
        )?;
    }
    tx.commit()
}

impl Ledger {
    /// The ledger in `state_dir` (made 0700 if missing).
    pub fn open_in(state_dir: &Path) -> Result<Ledger, LedgerError> {
        crate::secure_file::create_dir_all_with_mode(state_dir, 0o700).map_err(|e| {
            LedgerError::Other {
                path: state_dir.to_owned(),
                message: e.to_string(),
            }
        })?;
        Ledger::open(&state_dir.join(FILE_NAME))
    }

    /// The ledger at `path`. A file that is not a database, or is corrupt,
    /// is renamed to `<path>.corrupt-<unix time>` (with its `-wal`/`-shm`)
    /// and a new one is made; [`Ledger::moved_aside`] says where it went.
    /// The files are held to the rules of [`LedgerError::Unsafe`] first.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let fail = |e: rusqlite::Error| Ledger::error(path, e);
        let mut moved_aside = None;
        secure_files(path)?;
        let conn = match connect(path) {
            Ok(conn) => conn,
            Err(e) if is_not_a_database(&e) => {
                let aside = PathBuf::from(format!(
                    "{}.corrupt-{}",
                    path.display(),
                    crate::credential::now_unix()
                ));
                std::fs::rename(path, &aside).map_err(|io| LedgerError::Other {
                    path: path.to_owned(),
                    message: format!(
                        "not a usable database ({e}), and moving it aside failed: {io}"
                    ),
                })?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    if side.exists() {
                        let _ = std::fs::rename(&side, format!("{}{suffix}", aside.display()));
                    }
                }
                moved_aside = Some(aside);
                secure_files(path)?;
                connect(path).map_err(fail)?
            }
            Err(e) => return Err(fail(e)),
        };
        Ok(Ledger {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            moved_aside,
        })
    }

    fn error(path: &Path, e: rusqlite::Error) -> LedgerError {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => LedgerError::Locked {
                path: path.to_owned(),
                secs: BUSY_TIMEOUT.as_secs(),
            },
            _ => LedgerError::Other {
                path: path.to_owned(),
                message: e.to_string(),
            },
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where an unusable file found at open was moved, if one was.
    pub fn moved_aside(&self) -> Option<&Path> {
        self.moved_aside.as_deref()
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, LedgerError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|e| Ledger::error(&self.path, e))
    }

    /// Add one request.
    pub fn record(&self, r: &RequestRecord) -> Result<(), LedgerError> {
        self.with(|c| insert(&mut *c.prepare_cached(INSERT)?, &[r.row()]))
    }

    /// Add many requests in one transaction.
    pub fn record_all(&self, records: &[RequestRecord]) -> Result<(), LedgerError> {
        self.record_batch(records, &[])
    }

    /// Add requests and keep latest headers (`(provider, login, at, kept
    /// headers)`, as [`kept_headers`] returns them) in one transaction: one
    /// commit for a whole batch.
    pub fn record_batch(
        &self,
        records: &[RequestRecord],
        limits: &[LatestLimits],
    ) -> Result<(), LedgerError> {
        self.write_rows(records.iter().map(RequestRecord::row), limits)
    }

    /// [`Ledger::record_batch`] for borrowed rows: one transaction, rows
    /// inserted [`CHUNK`] at a time by one prepared multi-row insert (SQLite
    /// spends most of a single-row insert opening cursors and running the
    /// statement, not storing the row).
    pub(crate) fn write_rows<'a>(
        &self,
        rows: impl Iterator<Item = Row<'a>>,
        limits: &[LatestLimits],
    ) -> Result<(), LedgerError> {
        let fail = |e| Ledger::error(&self.path, e);
        let rows: Vec<Row<'a>> = rows.collect();
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction().map_err(fail)?;
        {
            let mut chunks = rows.chunks_exact(CHUNK);
            if chunks.len() > 0 {
                let mut stmt = tx.prepare_cached(&INSERT_CHUNK).map_err(fail)?;
                for chunk in &mut chunks {
                    insert(&mut stmt, chunk).map_err(fail)?;
                }
            }
            if !chunks.remainder().is_empty() {
                let mut stmt = tx.prepare_cached(INSERT).map_err(fail)?;
                for r in chunks.remainder() {
                    insert(&mut stmt, std::slice::from_ref(r)).map_err(fail)?;
                }
            }
        }
        for (provider, login, at, kept) in limits {
            upsert_limits(&tx, provider, login, *at, kept).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// Keep a response's rate-limit headers as the latest for a login.
    /// Only headers named by [`KEPT_HEADER_PREFIXES`], with short printable
    /// values, are kept; returns how many. Nothing is written when none are.
    pub fn record_limits(
        &self,
        provider: &Provider,
        profile: &str,
        at: u64,
        headers: &HeaderMap,
    ) -> Result<usize, LedgerError> {
        let kept = kept_headers(headers);
        if kept.is_empty() {
            return Ok(0);
        }
        self.with(|c| upsert_limits(c, provider, profile, at, &kept))?;
        Ok(kept.len())
    }

    /// The latest rate-limit headers kept for a login, and when.
    pub fn latest_limits(
        &self,
        provider: &Provider,
        profile: &str,
    ) -> Result<Option<(u64, HeaderMap)>, LedgerError> {
        let row: Option<(i64, String)> = self.with(|c| {
            c.query_row(
                "SELECT at, headers FROM limits WHERE provider = ?1 AND profile = ?2",
                params![provider.as_str(), profile],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        Ok(row.map(|(at, json)| {
            let pairs: Vec<(String, String)> = serde_json::from_str(&json).unwrap_or_default();
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    map.insert(k, v);
                }
            }
            (u64::try_from(at).unwrap_or(0), map)
        }))
    }

    /// Tokens per UTC day, provider, model and agent since `since` (Unix
    /// seconds), oldest day first.
    pub fn history(&self, since: u64) -> Result<Vec<DayTotal>, LedgerError> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT date(at, 'unixepoch') AS day, provider, model, agent, COUNT(*),
                        SUM(input_tokens), SUM(output_tokens),
                        SUM(cache_creation_tokens + cache_read_tokens)
                 FROM requests WHERE at >= ?1
                 GROUP BY day, provider, model, agent
                 ORDER BY day, provider, model, agent",
            )?;
            let rows = stmt.query_map([since], |r| {
                Ok(DayTotal {
                    day: r.get(0)?,
                    provider: r.get(1)?,
                    model: r.get(2)?,
                    agent: r.get(3)?,
                    requests: u(r.get(4)?),
                    input_tokens: u(r.get(5)?),
                    output_tokens: u(r.get(6)?),
                    cache_tokens: u(r.get(7)?),
                })
            })?;
            rows.collect()
        })
    }

    /// Delete requests older than `before` (Unix seconds); returns how many.
    pub fn prune(&self, before: u64) -> Result<usize, LedgerError> {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        self.with(|c| c.execute("DELETE FROM requests WHERE at < ?1", [before]))
    }
}

fn upsert_limits(
    c: &Connection,
    provider: &Provider,
    profile: &str,
    at: u64,
    kept: &[(String, String)],
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(kept).unwrap_or_else(|_| "[]".into());
    c.prepare_cached(
        "INSERT INTO limits (provider, profile, at, headers) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (provider, profile) DO UPDATE SET at = excluded.at, headers = excluded.headers
         WHERE excluded.at >= limits.at",
    )?
    .execute(params![
        provider.as_str(),
        profile,
        i64::try_from(at).unwrap_or(i64::MAX),
        json
    ])
    .map(drop)
}

const INSERT: &str = "INSERT INTO requests (at, provider, profile, model, agent, status,
    input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, latency_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/// Rows per multi-row insert.
const CHUNK: usize = 32;
/// The insert of [`CHUNK`] rows.
static INSERT_CHUNK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut sql = INSERT.to_owned();
    for _ in 1..CHUNK {
        sql.push_str(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
    sql
});

/// Insert `rows` with `stmt`, which has exactly their parameters.
fn insert(stmt: &mut rusqlite::Statement<'_>, rows: &[Row<'_>]) -> rusqlite::Result<()> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    for (i, r) in rows.iter().enumerate() {
        let p = i * 11;
        stmt.raw_bind_parameter(p + 1, n(r.at))?;
        stmt.raw_bind_parameter(p + 2, r.provider)?;
        stmt.raw_bind_parameter(p + 3, r.profile)?;
        stmt.raw_bind_parameter(p + 4, r.model)?;
        stmt.raw_bind_parameter(p + 5, r.agent)?;
        stmt.raw_bind_parameter(p + 6, r.status)?;
        stmt.raw_bind_parameter(p + 7, n(r.input_tokens))?;
        stmt.raw_bind_parameter(p + 8, n(r.output_tokens))?;
        stmt.raw_bind_parameter(p + 9, n(r.cache_creation_tokens))?;
        stmt.raw_bind_parameter(p + 10, n(r.cache_read_tokens))?;
        stmt.raw_bind_parameter(p + 11, r.latency_ms.map(n))?;
    }
    stmt.raw_execute().map(drop)
}

/// Whether the ledger keeps a header of this name (a rate-limit header).
pub(crate) fn is_kept_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    KEPT_HEADER_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The headers of `headers` the ledger may keep: known rate-limit names,
/// values of printable ASCII up to 256 bytes.
pub fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    kept_pairs(headers.iter())
}

/// [`kept_headers`] over any name/value pairs.
pub(crate) fn kept_pairs<'a>(
    pairs: impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)>,
) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = pairs
        .filter(|(name, _)| is_kept_header(name))
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?.trim();
            (value.len() <= MAX_HEADER_VALUE && value.bytes().all(|b| (0x20..0x7f).contains(&b)))
                .then(|| (name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    kept.sort();
    kept.dedup_by(|a, b| a.0 == b.0);
    kept
}

#[path = "ledger_latency.rs"]
mod latency;

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
