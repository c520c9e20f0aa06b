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
