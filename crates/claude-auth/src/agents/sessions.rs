//! The `agents` rows of the usage ledger: a session is registered when an
//! agent starts, given its process once that exists, closed with its exit
//! code or signal when it ends, and closed as `died` by whoever reads it
//! next once its process is gone without anyone closing it (the `exec` that
//! watched it was killed). Listing adds each session's usage from the
//! requests attributed to it (`requests.agent`, within its time).

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::process;
use super::{AgentRef, KeyHolder};
use crate::credential::Provider;
use crate::usage::ledger::{Ledger, LedgerError};

/// Ended sessions `list` shows without `all`: those that ended within this
/// many seconds (a day).
pub const RECENT_SECS: u64 = 24 * 60 * 60;

/// Why a session could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The ledger could not be used.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Another session with this id is still running.
    #[error(
        "agent {id} is already running (session {session}{}); give this one another --agent-id, \
         or wait for that one to end",
        pid.map_or_else(String::new, |p| format!(", pid {p}"))
    )]
    Running {
        /// The id.
        id: String,
        /// Its open session.
        session: i64,
        /// Its process.
        pid: Option<u32>,
    },
}

/// A session about to start.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    /// The agent id (checked with [`validate_agent_id`](super::validate_agent_id)).
    pub id: &'a str,
    /// The provider it uses.
    pub provider: &'a Provider,
    /// The login it uses ([`login_key`](crate::usage::login_key) form).
    pub profile: Option<&'a str>,
    /// The process to watch (its start time is read here); `None` when
    /// there is none yet ([`set_process`] gives it later).
    pub pid: Option<u32>,
    /// The budget as given (`200000`, `20%5h`).
    pub budget: Option<&'a str>,
    /// The SHA-256 hex of its key ([`key_hash`](super::key_hash)), when it
    /// has one.
    pub key_hash: Option<&'a str>,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (kept in `exit_code`, `end_reason = signal`).
    Signal(i32),
    /// Its process was found gone with nobody having closed it.
    Died,
}

impl Ending {
    fn columns(self) -> (Option<i32>, &'static str) {
        match self {
            Ending::Exited(code) => (Some(code), "exited"),
            Ending::Signal(sig) => (Some(sig), "signal"),
            Ending::Died => (None, "died"),
        }
    }
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn pid_start(pid: Option<u32>) -> Option<i64> {
    pid.and_then(process::start_time).map(int)
}

/// Register a session; returns its number. A running session with the same
/// id is refused ([`SessionError::Running`]); one whose process is gone is
/// closed as died first.
pub fn register(ledger: &Ledger, new: &NewSession<'_>, now: u64) -> Result<i64, SessionError> {
    close_dead(ledger, now)?;
    let start = pid_start(new.pid);
    let outcome = ledger.with(|c| {
        // IMMEDIATE: two registrations of one id cannot both see it free.
        let tx = rusqlite::Transaction::new_unchecked(c, TransactionBehavior::Immediate)?;
        let running: Option<(i64, Option<i64>)> = tx
            .query_row(
                "SELECT session, pid FROM agents WHERE id = ?1 AND ended IS NULL
                 ORDER BY session DESC LIMIT 1",
                [new.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((session, pid)) = running {
            return Ok(Err((session, pid)));
        }
        tx.execute(
            "INSERT INTO agents (id, provider, profile, pid, pid_start, started, key_hash, budget)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                new.id,
                new.provider.as_str(),
                new.profile,
                new.pid,
                start,
                int(now),
                new.key_hash,
                new.budget
            ],
        )?;
        let session = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Ok(session))
    })?;
    outcome.map_err(|(session, pid)| SessionError::Running {
        id: new.id.to_owned(),
        session,
        pid: pid.and_then(|p| u32::try_from(p).ok()),
    })
}

/// The process to watch from now on (the child, once it exists), with its
/// start time.
pub fn set_process(ledger: &Ledger, session: i64, pid: u32) -> Result<(), LedgerError> {
    let start = pid_start(Some(pid));
    ledger.with(|c| {
        c.execute(
            "UPDATE agents SET pid = ?1, pid_start = ?2 WHERE session = ?3",
            params![pid, start, session],
        )
        .map(drop)
    })
}

/// Close a session. A session already closed as died (a reader found its
/// process gone first) takes the real ending instead; any other closed
/// session is left as it is. Returns whether a row changed.
pub fn close(ledger: &Ledger, session: i64, ending: Ending, now: u64) -> Result<bool, LedgerError> {
    let (code, reason) = ending.columns();
    ledger.with(|c| {
        c.execute(
            "UPDATE agents SET ended = ?1, exit_code = ?2, end_reason = ?3
             WHERE session = ?4 AND (ended IS NULL OR end_reason = 'died')",
            params![int(now), code, reason, session],
        )
        .map(|n| n > 0)
    })
}

/// Close as died every open session whose process is gone (or is another
/// process by now); returns how many. Sessions without a pid are left.
pub fn close_dead(ledger: &Ledger, now: u64) -> Result<usize, LedgerError> {
    let open: Vec<(i64, i64, Option<i64>)> = ledger.with(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT session, pid, pid_start FROM agents WHERE ended IS NULL AND pid IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    })?;
    let dead: Vec<i64> = open
        .into_iter()
        .filter(|(_, pid, start)| {
            let Ok(pid) = u32::try_from(*pid) else {
                return true;
            };
            let start = start.and_then(|s| u64::try_from(s).ok());
            !process::is_running(pid, start)
        })
        .map(|(session, _, _)| session)
        .collect();
    if dead.is_empty() {
        return Ok(0);
    }
    ledger.with(|c| {
        let mut closed = 0;
        for session in &dead {
            closed += c.execute(
                "UPDATE agents SET ended = ?1, end_reason = 'died'
                 WHERE session = ?2 AND ended IS NULL",
                params![int(now), session],
            )?;
        }
        Ok(closed)
    })
}

/// The key hashes of the open sessions that have one, with their agent and
/// the provider each session is for. A row naming a provider this build does
/// not know is left out (its key is refused), with a warning.
pub fn open_keys(ledger: &Ledger) -> Result<Vec<(String, KeyHolder)>, LedgerError> {
    let rows: Vec<(String, String, i64, String)> = ledger.with(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT key_hash, id, session, provider FROM agents
             WHERE ended IS NULL AND key_hash IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        rows.collect()
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(hash, id, session, provider)| {
            let Ok(provider) = provider.parse::<Provider>() else {
                tracing::warn!(
                    "agent {}: session {session} names the provider {:?}, which is unknown; its key is refused",
                    crate::usage::clean_text(&id),
                    crate::usage::clean_text(&provider)
                );
                return None;
            };
            let agent = AgentRef {
                id: id.into(),
                session,
            };
            Some((hash, KeyHolder { agent, provider }))
        })
        .collect())
}

/// Where a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    /// Not ended.
    Running,
    /// Exited by itself, with [`AgentSession::exit_code`].
    Exited,
    /// Ended by [`AgentSession::signal`].
    Signal,
    /// Gone without an exit code being known.
    Died,
}

/// Requests and tokens, for one provider or in all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderUsage {
    /// `anthropic` or `openai`.
    pub provider: String,
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
}

/// A session's usage: the totals and each provider's share.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentUsage {
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Per provider, in name order.
    pub by_provider: Vec<ProviderUsage>,
}

impl AgentUsage {
    /// Every token: input, output and both cache counts.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_creation_tokens)
            .saturating_add(self.cache_read_tokens)
    }
}

/// One session as `claude-auth agents` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSession {
    /// Its number.
    pub session: i64,
    /// The agent id.
    pub id: String,
    /// The provider it was started with.
    pub provider: String,
    /// The login ([`login_key`](crate::usage::login_key) form).
    pub profile: Option<String>,
    /// The process watched.
    pub pid: Option<u32>,
    /// When it started, Unix seconds.
    pub started: u64,
    /// When it ended, Unix seconds.
    pub ended: Option<u64>,
    /// Seconds from start to end (or to now, while running).
    pub duration_secs: u64,
    /// Running, exited, signal or died.
    pub state: SessionState,
    /// The exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// The budget as given, when one was set.
    pub budget: Option<String>,
    /// Its requests and tokens (`requests.agent` = its id, within its time).
    pub usage: AgentUsage,
}

/// Which sessions [`list`] returns.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListOptions {
    /// Every session, not just the running and those ended within
    /// [`RECENT_SECS`].
    pub all: bool,
}

type Raw = (
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// Running sessions, then ended ones, newest first, with their usage. Open
/// sessions whose process is gone are closed as died first.
pub fn list(
    ledger: &Ledger,
    options: ListOptions,
    now: u64,
) -> Result<Vec<AgentSession>, LedgerError> {
    close_dead(ledger, now)?;
    let since = if options.all {
        i64::MIN
    } else {
        int(now.saturating_sub(RECENT_SECS))
    };
    let raws: Vec<Raw> = ledger.with(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT session, id, provider, profile, pid, started, ended, exit_code, end_reason, budget
             FROM agents WHERE ended IS NULL OR ended >= ?1
             ORDER BY ended IS NOT NULL, started DESC, session DESC",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })?;
        rows.collect()
    })?;
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    let mut sessions = Vec::with_capacity(raws.len());
    for (session, id, provider, profile, pid, started, ended, code, reason, budget) in raws {
        let code = code.and_then(|c| i32::try_from(c).ok());
        let (state, exit_code, signal) = match (ended, reason.as_deref()) {
            (None, _) => (SessionState::Running, None, None),
            (Some(_), Some("exited")) => (SessionState::Exited, code, None),
            (Some(_), Some("signal")) => (SessionState::Signal, None, code),
            (Some(_), _) => (SessionState::Died, None, None),
        };
        let usage = usage_of(ledger, &id, started, ended)?;
        let (started, ended) = (u(started), ended.map(u));
        sessions.push(AgentSession {
            session,
            id,
            provider,
            profile,
            pid: pid.and_then(|p| u32::try_from(p).ok()),
            started,
            ended,
            duration_secs: ended.unwrap_or(now).saturating_sub(started),
            state,
            exit_code,
            signal,
            budget,
            usage,
        });
    }
    Ok(sessions)
}

/// The requests attributed to `id` from `started` to `ended` (or now).
fn usage_of(
    ledger: &Ledger,
    id: &str,
    started: i64,
    ended: Option<i64>,
) -> Result<AgentUsage, LedgerError> {
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    let by_provider: Vec<ProviderUsage> = ledger.with(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT provider, COUNT(*), SUM(input_tokens), SUM(output_tokens),
                    SUM(cache_creation_tokens), SUM(cache_read_tokens)
             FROM requests WHERE agent = ?1 AND at >= ?2 AND at <= ?3
             GROUP BY provider ORDER BY provider",
        )?;
        let rows = stmt.query_map(params![id, started, ended.unwrap_or(i64::MAX)], |r| {
            Ok(ProviderUsage {
                provider: r.get(0)?,
                requests: u(r.get(1)?),
                input_tokens: u(r.get(2)?),
                output_tokens: u(r.get(3)?),
                cache_creation_tokens: u(r.get(4)?),
                cache_read_tokens: u(r.get(5)?),
            })
        })?;
        rows.collect()
    })?;
    let mut usage = AgentUsage::default();
    for p in &by_provider {
        usage.requests += p.requests;
        usage.input_tokens += p.input_tokens;
        usage.output_tokens += p.output_tokens;
        usage.cache_creation_tokens += p.cache_creation_tokens;
        usage.cache_read_tokens += p.cache_read_tokens;
    }
    usage.by_provider = by_provider;
    Ok(usage)
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
