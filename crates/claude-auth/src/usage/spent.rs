//! What budgets read from the ledger: the tokens an agent or a login spent
//! since a moment, several at once in one read transaction (one snapshot,
//! so a proxy can tell exactly which of its own rows the answer holds), and
//! an agent session's budget.

use rusqlite::{params, OptionalExtension};

use super::ledger::{Ledger, LedgerError};
use super::tap::TokenUsage;

/// What a budget counts of a response: input (for Anthropic the uncached
/// input plus cache writes; cache reads do not count, as they do not count
/// towards Anthropic's own input-token rate limits; OpenAI's input already
/// includes its cached tokens) and output.
pub fn budget_tokens(usage: &TokenUsage) -> u64 {
    usage
        .input_tokens
        .saturating_add(usage.output_tokens)
        .saturating_add(usage.cache_creation_tokens)
}

/// The same sum in SQL, over the `requests` columns.
const TOKENS: &str = "COALESCE(SUM(input_tokens + output_tokens + cache_creation_tokens), 0)";
/// The same, for one row.
const ROW_TOKENS: &str = "input_tokens + output_tokens + cache_creation_tokens";

/// Whose tokens to add up, since when (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// An agent's requests (`requests.agent`).
    Agent {
        /// The agent id.
        id: String,
        /// From this time on.
        since: u64,
    },
    /// A login's requests (`requests.provider` and `requests.profile`).
    Login {
        /// `anthropic` or `openai`.
        provider: String,
        /// The login key ([`login_key`](super::login_key)).
        login: String,
        /// From this time on.
        since: u64,
    },
}

/// Tokens and requests of one scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spent {
    /// Tokens, as [`budget_tokens`] counts them.
    pub tokens: u64,
    /// Requests.
    pub requests: u64,
}

/// An agent session as budgets need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionBudget {
    /// The agent id.
    pub id: String,
    /// When it started, Unix seconds.
    pub started: u64,
    /// The budget as given, if any.
    pub budget: Option<String>,
    /// Whether it has ended.
    pub ended: bool,
}

impl Ledger {
    /// The tokens of each scope, in order, from one snapshot of the ledger.
    pub fn spent(&self, scopes: &[Scope]) -> Result<Vec<Spent>, LedgerError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut out = Vec::with_capacity(scopes.len());
            for scope in scopes {
                let (tokens, requests): (i64, i64) = match scope {
                    Scope::Agent { id, since } => tx
                        .prepare_cached(&format!(
                            "SELECT {TOKENS}, COUNT(*) FROM requests WHERE agent = ?1 AND at >= ?2"
                        ))?
                        .query_row(params![id, n(*since)], |r| Ok((r.get(0)?, r.get(1)?)))?,
                    Scope::Login {
                        provider,
                        login,
                        since,
                    } => tx
                        .prepare_cached(&format!(
                            "SELECT {TOKENS}, COUNT(*) FROM requests
                             WHERE at >= ?3 AND profile = ?2 AND provider = ?1"
                        ))?
                        .query_row(params![provider, login, n(*since)], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?,
                };
                out.push(Spent {
                    tokens: u(tokens),
                    requests: u(requests),
                });
            }
            tx.commit()?;
            Ok(out)
        })
    }

    /// An agent session's id, start, budget and whether it ended; `None`
    /// when there is no such session.
    pub fn session_budget(&self, session: i64) -> Result<Option<SessionBudget>, LedgerError> {
        self.with(|c| {
            c.prepare_cached("SELECT id, started, budget, ended FROM agents WHERE session = ?1")?
                .query_row([session], |r| {
                    Ok(SessionBudget {
                        id: r.get(0)?,
                        started: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        budget: r.get(2)?,
                        ended: r.get::<_, Option<i64>>(3)?.is_some(),
                    })
                })
                .optional()
        })
    }
}

/// Whose rows a [`Tallies`] series adds up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Agent(String),
    Login(String, String),
}

impl Key {
    fn of(scope: &Scope) -> (Key, u64) {
        match scope {
            Scope::Agent { id, since } => (Key::Agent(id.clone()), *since),
            Scope::Login {
                provider,
                login,
                since,
            } => (Key::Login(provider.clone(), login.clone()), *since),
        }
    }
}

/// One key's rows since `from`, per second: (at, tokens, requests).
#[derive(Debug, Default)]
struct Series {
    from: u64,
    buckets: std::collections::VecDeque<(u64, u64, u64)>,
}

impl Series {
    fn add(&mut self, at: u64, tokens: u64) {
        if at < self.from {
            return;
        }
        match self.buckets.iter().rposition(|b| b.0 <= at) {
            Some(i) if self.buckets[i].0 == at => {
                let b = &mut self.buckets[i];
                b.1 = b.1.saturating_add(tokens);
                b.2 += 1;
            }
            Some(i) => self.buckets.insert(i + 1, (at, tokens, 1)),
            None => self.buckets.push_front((at, tokens, 1)),
        }
    }

    fn since(&self, since: u64) -> Spent {
        self.buckets
            .iter()
            .rev()
            .take_while(|b| b.0 >= since)
            .fold(Spent::default(), |s, b| Spent {
                tokens: s.tokens.saturating_add(b.1),
                requests: s.requests + b.2,
            })
    }
}

/// The tokens of scopes kept up to date incrementally: each key's rows
/// are read once (per second, since the earliest moment asked), then only
/// the rows added since the last read, by id, whatever process wrote them
/// (ids grow in commit order: SQLite has one writer at a time). A read
/// costs the new rows, not the scope's history.
#[derive(Debug, Default)]
pub struct Tallies {
    last_id: i64,
    series: std::collections::HashMap<Key, Series>,
}

impl Tallies {
    /// The tokens of each scope, in order, from one snapshot of `ledger`.
    pub fn spent(&mut self, ledger: &Ledger, scopes: &[Scope]) -> Result<Vec<Spent>, LedgerError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        let wanted: Vec<(Key, u64)> = scopes.iter().map(Key::of).collect();
        let Tallies { last_id, series } = self;
        ledger.with(|c| {
            let tx = c.unchecked_transaction()?;
            let upto: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM requests")?
                .query_row([], |r| r.get(0))?;
            if !series.is_empty() && upto > *last_id {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT at, agent, provider, profile, {ROW_TOKENS} FROM requests WHERE id > ?1 AND id <= ?2"
                ))?;
                let mut rows = stmt.query(params![*last_id, upto])?;
                while let Some(r) = rows.next()? {
                    let at = u(r.get(0)?);
                    let tokens = u(r.get(4)?);
                    let agent: Option<String> = r.get(1)?;
                    if let Some(s) = agent.and_then(|a| series.get_mut(&Key::Agent(a))) {
                        s.add(at, tokens);
                    }
                    let provider: String = r.get(2)?;
                    let profile: Option<String> = r.get(3)?;
                    if let Some(s) = profile.and_then(|p| series.get_mut(&Key::Login(provider, p))) {
                        s.add(at, tokens);
                    }
                }
            }
            for (key, since) in &wanted {
                if series.get(key).is_some_and(|s| s.from <= *since) {
                    continue;
                }
                let mut loaded = Series {
                    from: *since,
                    ..Series::default()
                };
                let mut load = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<()> {
                    let mut stmt = tx.prepare_cached(sql)?;
                    let mut rows = stmt.query(p)?;
                    while let Some(r) = rows.next()? {
                        loaded.add(u(r.get(0)?), u(r.get(1)?));
                    }
                    Ok(())
                };
                match key {
                    Key::Agent(id) => load(
                        &format!(
                            "SELECT at, {ROW_TOKENS} FROM requests
                             WHERE agent = ?1 AND at >= ?2 AND id <= ?3 ORDER BY at"
                        ),
                        &[id, &n(*since), &upto],
                    )?,
                    Key::Login(p, l) => load(
                        &format!(
                            "SELECT at, {ROW_TOKENS} FROM requests
                             WHERE at >= ?3 AND profile = ?2 AND provider = ?1 AND id <= ?4 ORDER BY at"
                        ),
                        &[p, l, &n(*since), &upto],
                    )?,
                }
                series.insert(key.clone(), loaded);
            }
            tx.commit()?;
            *last_id = upto;
            // What no scope asks for any more is let go.
            series.retain(|key, _| wanted.iter().any(|(k, _)| k == key));
            for (key, s) in series.iter_mut() {
                let from = wanted
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, since)| *since)
                    .min()
                    .unwrap_or(s.from);
                while s.buckets.front().is_some_and(|b| b.0 < from) {
                    s.buckets.pop_front();
                }
                s.from = s.from.max(from);
            }
            Ok(wanted
                .iter()
                .map(|(key, since)| series.get(key).map(|s| s.since(*since)).unwrap_or_default())
                .collect())
        })
    }
}
