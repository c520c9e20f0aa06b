//! One read of the shared ledger for a [`BudgetBook`]: the sessions seen
//! since the last read, each budget's tokens and the login's latest
//! headers. It runs on tokio's blocking pool (or a thread of its own
//! outside a runtime), never on the thread that serves requests: a proxy
//! runs on one thread, and a read that waits on SQLite (another process
//! writing, a checkpoint) would hold every connection still. The book's
//! state is locked only to take the plan and to apply the outcome.

use std::time::{Duration, Instant};

use super::{AgentEntry, BudgetBook, Counter, State, WindowNow};
use crate::budgets::estimate::{current_window, latest_snapshot, WindowEstimate};
use crate::budgets::spec::{Budget, WindowRef};
use crate::credential::now_unix;
use crate::usage::ledger::Ledger;
use crate::usage::spent::{Scope, Spent};
use crate::usage::UsageSnapshot;

/// What a read is to look at, taken under the book's lock.
pub(super) struct Plan {
    /// When the read was started: its outcome is as fresh as this.
    pub began: Instant,
    /// Sessions first seen since the last read, whose budgets to load.
    pub load: Vec<i64>,
    /// The sessions with a budget already loaded.
    pub known: Vec<Known>,
}

/// A loaded session's budget, as a read needs it.
pub(super) struct Known {
    pub session: i64,
    pub id: String,
    pub started: u64,
    pub budget: Budget,
}

/// What a read found.
pub(super) struct Outcome {
    pub began: Instant,
    /// The sessions of [`Plan::load`], with their budgets (`None`: none).
    pub loaded: Vec<(i64, Option<AgentEntry>)>,
    /// The login's latest headers, when a share budget asked for them.
    pub limits: Option<Option<UsageSnapshot>>,
    /// The counts; `None` when the ledger could not be read (or this
    /// process's writer was writing meanwhile three times running).
    pub counts: Option<Counts>,
}

/// A share budget's window, its start and the login's tokens since (or
/// why there is none).
pub(super) type WindowSpent = Result<(crate::usage::Window, u64, Spent), String>;

/// Each budget's tokens, from one snapshot of the ledger.
pub(super) struct Counts {
    /// Each session's tokens since its budget's start.
    pub agents: Vec<(i64, u64)>,
    /// The login's tokens over the profile budget's period.
    pub login: Option<u64>,
    /// Each share budget's window, its start and the login's tokens since.
    pub windows: Vec<(WindowRef, WindowSpent)>,
    /// Every entry of this process's writer up to here is in the counts.
    pub committed: u64,
}

impl BudgetBook {
    /// Read the ledger as `plan` says (on a blocking thread).
    pub(super) fn read(&self, plan: Plan) -> Outcome {
        let now = now_unix();
        let loaded: Vec<(i64, Option<AgentEntry>)> = plan
            .load
            .iter()
            .map(|s| (*s, load_session(&self.ledger, *s)))
            .collect();
        let agents: Vec<(i64, &str, u64, &Budget)> = plan
            .known
            .iter()
            .map(|k| (k.session, k.id.as_str(), k.started, &k.budget))
            .chain(loaded.iter().filter_map(|(s, e)| {
                e.as_ref()
                    .map(|e| (*s, e.id.as_str(), e.started, &e.budget))
            }))
            .collect();
        let mut shares: Vec<WindowRef> = Vec::new();
        for b in agents
            .iter()
            .map(|a| a.3)
            .chain(self.config.profile.iter().map(|p| &p.budget))
        {
            if let Budget::Share { window, .. } = b {
                if !shares.contains(window) {
                    shares.push(*window);
                }
            }
        }
        let limits = (!shares.is_empty())
            .then(|| latest_snapshot(&self.ledger, &self.config.provider, &self.config.login));
        let windows: Vec<(WindowRef, WindowNow)> = shares
            .into_iter()
            .map(|w| {
                (
                    w,
                    current_window(limits.as_ref().and_then(Option::as_ref), w, now),
                )
            })
            .collect();
        let start_of = |w: WindowRef| {
            windows
                .iter()
                .find(|(x, _)| *x == w)
                .and_then(|(_, r)| r.as_ref().ok())
                .map(|(_, start)| *start)
        };
        let login = |since: u64| Scope::Login {
            provider: self.config.provider.as_str().to_owned(),
            login: self.config.login.to_string(),
            since,
        };
        let mut scopes = Vec::new();
        for (_, id, started, budget) in &agents {
            let since = match budget {
                Budget::Tokens { per: None, .. } => *started,
                Budget::Tokens { per: Some(p), .. } => (*started).max(now.saturating_sub(*p)),
                Budget::Share { window, .. } => (*started).max(start_of(*window).unwrap_or(0)),
            };
            scopes.push(Scope::Agent {
                id: (*id).to_owned(),
                since,
            });
        }
        let profile_scope = match self.config.profile.as_ref().map(|p| &p.budget) {
            Some(Budget::Tokens { per, .. }) => {
                scopes.push(login(per.map_or(0, |p| now.saturating_sub(p))));
                true
            }
            _ => false,
        };
        for (_, w) in &windows {
            if let Ok((_, start)) = w {
                scopes.push(login(*start));
            }
        }
        let counts = self.count(&scopes).map(|(spent, committed)| {
            let mut spent = spent.into_iter();
            let agents = agents
                .iter()
                .map(|a| (a.0, spent.next().unwrap_or_default().tokens))
                .collect();
            let login = if profile_scope {
                spent.next().map(|s| s.tokens)
            } else {
                None
            };
            let windows = windows
                .into_iter()
                .map(|(w, r)| {
                    let r =
                        r.map(|(window, start)| (window, start, spent.next().unwrap_or_default()));
                    (w, r)
                })
                .collect();
            Counts {
                agents,
                login,
                windows,
                committed,
            }
        });
        Outcome {
            began: plan.began,
            loaded,
            limits,
            counts,
        }
    }

    /// Take a read's outcome into the state.
    pub(super) fn apply(&self, st: &mut State, outcome: Outcome) {
        for (session, entry) in outcome.loaded {
            st.agents.entry(session).or_insert(entry);
        }
        if let Some(limits) = outcome.limits {
            st.limits = limits;
        }
        let Some(counts) = outcome.counts else {
            return;
        };
        for (session, tokens) in counts.agents {
            if let Some(Some(e)) = st.agents.get_mut(&session) {
                e.counter.ledger = tokens;
            }
        }
        if let Some(tokens) = counts.login {
            st.login.ledger = tokens;
        }
        let committed = counts.committed;
        for e in st.agents.values_mut().flatten() {
            e.counter.pending.retain(|(seq, _)| *seq > committed);
        }
        st.login.pending.retain(|(seq, _)| *seq > committed);
        // This process's requests not yet in the ledger are in the window
        // too.
        let unread = Spent {
            tokens: st.login.pending.iter().map(|(_, t)| t).sum::<u64>() + st.login.dropped,
            requests: st.login.pending.len() as u64,
        };
        st.estimates = counts
            .windows
            .into_iter()
            .map(|(w, r)| {
                let estimate = r.and_then(|(window, start, s)| {
                    let s = Spent {
                        tokens: s.tokens + unread.tokens,
                        requests: s.requests + unread.requests,
                    };
                    WindowEstimate::new(window, start, s)
                });
                (w, estimate)
            })
            .collect();
        st.applied = committed;
        st.refreshed = Some(outcome.began);
    }

    /// Each scope's tokens from one snapshot, and up to which of this
    /// process's writer entries that snapshot holds; `None` when the
    /// ledger could not be read, or the writer was writing meanwhile three
    /// times running.
    fn count(&self, scopes: &[Scope]) -> Option<(Vec<Spent>, u64)> {
        let mut tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..3 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let (before, committed) = self.writer.progress();
            if before % 2 == 1 {
                continue;
            }
            let spent = match tallies.spent(&self.ledger, scopes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("budgets: could not read the ledger: {e}");
                    return None;
                }
            };
            if self.writer.progress().0 != before {
                continue;
            }
            return Some((spent, committed));
        }
        None
    }
}

/// An agent session's budget, read once per session.
fn load_session(ledger: &Ledger, session: i64) -> Option<AgentEntry> {
    let row = match ledger.session_budget(session) {
        Ok(row) => row?,
        Err(e) => {
            tracing::warn!("budgets: could not read agent session {session}: {e}");
            return None;
        }
    };
    let text = row.budget?;
    match Budget::parse(&text, "the agent session's budget") {
        Ok(budget) => Some(AgentEntry {
            id: row.id,
            started: row.started,
            budget,
            text,
            counter: Counter::default(),
            noted: false,
        }),
        Err(e) => {
            eprintln!("claude-auth proxy: agent {:?}: {e}; not enforced", row.id);
            None
        }
    }
}
