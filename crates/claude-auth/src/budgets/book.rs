//! The proxy's budget book: before a request is forwarded, has its agent
//! (or the proxy's profile) spent its budget? Answered from memory, in well
//! under a microsecond; the memory is kept true by reading the shared
//! ledger when it is older than the refresh interval (default
//! [`DEFAULT_REFRESH`]), so budgets hold across every proxy on the machine.
//! A read costs the rows added since the previous one, not a budget's
//! history ([`Tallies`]).
//!
//! What is counted against a budget, at any moment:
//!
//! - the ledger's rows (every process's finished requests), as of the last
//!   read;
//! - this process's finished requests the ledger did not hold at that read
//!   (queued for the writer, or written since): each carries its sequence
//!   number in the writer, and a read made while the writer was idle tells
//!   exactly which numbers it saw ([`LedgerWriter::progress`]), so nothing
//!   is counted twice or missed;
//! - the tokens of responses still streaming, as they stream (a stream's
//!   input tokens arrive with its first event, its output with each usage
//!   delta). A response in flight is never cut: a budget can be overrun by
//!   what was in flight when it was reached.
//!
//! Another proxy's requests are seen once its writer has written them (at
//! most [`BATCH_WINDOW`](crate::usage::writer::BATCH_WINDOW) after they
//! end) and this book has read the ledger again (at most the refresh
//! interval later).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::estimate::{current_window, latest_snapshot, WindowEstimate};
use super::refusal::{Holder, Refusal};
use super::spec::{Budget, WindowRef};
use crate::credential::{now_unix, Provider};
use crate::usage::events::{Event, EVENT_BUDGET_REFUSED};
use crate::usage::ledger::Ledger;
use crate::usage::spent::{Scope, Spent, Tallies};
use crate::usage::writer::LedgerWriter;
use crate::usage::UsageSnapshot;

/// How old the book's reading of the ledger may get before a request reads
/// it again.
pub const DEFAULT_REFRESH: Duration = Duration::from_millis(100);

/// A profile's budget (`[profiles.<name>] budget`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileBudget {
    /// The profile's name.
    pub name: String,
    /// The budget.
    pub budget: Budget,
}

/// What a book is for.
#[derive(Clone, Debug)]
pub struct BookConfig {
    /// The proxy's provider (the refusal's shape).
    pub provider: Provider,
    /// The proxy's login ([`login_key`](crate::usage::login_key)), whose
    /// rows and latest headers a profile budget and window estimates read.
    pub login: Arc<str>,
    /// The login's profile budget, if it has one.
    pub profile: Option<ProfileBudget>,
    /// How old the reading of the ledger may get ([`DEFAULT_REFRESH`]).
    pub refresh: Duration,
}

/// Tokens counted against one budget.
#[derive(Debug, Default)]
struct Counter {
    /// From the ledger, as of the last read.
    ledger: u64,
    /// This process's finished requests since: (writer sequence, tokens).
    pending: Vec<(u64, u64)>,
    /// This process's finished requests the writer dropped (queue full).
    dropped: u64,
    /// Responses still streaming.
    inflight: u64,
}

impl Counter {
    fn spent(&self) -> u64 {
        self.pending
            .iter()
            .fold(self.ledger + self.dropped + self.inflight, |a, (_, t)| {
                a.saturating_add(*t)
            })
    }
}

#[derive(Debug)]
struct AgentEntry {
    id: String,
    started: u64,
    budget: Budget,
    text: String,
    counter: Counter,
    /// Told on stderr that a share budget is not enforced yet.
    noted: bool,
}

#[derive(Debug, Default)]
struct State {
    /// By session; `None`: the session has no budget (or is unknown).
    agents: HashMap<i64, Option<AgentEntry>>,
    /// The login's tokens: over the profile budget's period for its
    /// `ledger` part; every charge's pending and in-flight tokens.
    login: Counter,
    profile_noted: bool,
    refreshed: Option<Instant>,
    /// Every entry of this process's writer up to here is in `ledger`.
    applied: u64,
    /// The login's latest rate-limit headers, for share budgets.
    limits: Option<UsageSnapshot>,
    /// Each window's estimate (or why there is none) at the last read.
    estimates: Vec<(WindowRef, Result<WindowEstimate, String>)>,
    /// What the ledger holds, read incrementally.
    tallies: Tallies,
}

/// A window as the latest headers report it and when it began, or why
/// there is none.
type WindowNow = Result<(crate::usage::Window, u64), String>;

/// One proxy's budgets (see the module's documentation).
pub struct BudgetBook {
    config: BookConfig,
    ledger: Ledger,
    writer: LedgerWriter,
    state: Mutex<State>,
}

impl std::fmt::Debug for BudgetBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetBook")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A request's share of the book: its tokens, as they stream and when it
/// ends, go to its agent's and its profile's counts.
#[derive(Debug)]
pub struct Charge {
    book: Arc<BudgetBook>,
    agent: Option<i64>,
    inflight: u64,
}

impl BudgetBook {
    /// A book reading the ledger `writer` writes (through a connection of
    /// its own).
    pub fn new(
        config: BookConfig,
        writer: LedgerWriter,
    ) -> Result<Arc<BudgetBook>, crate::usage::ledger::LedgerError> {
        let ledger = Ledger::open(writer.path())?;
        Ok(Arc::new(BudgetBook {
            config,
            ledger,
            writer,
            state: Mutex::new(State::default()),
        }))
    }

    /// The provider whose error shape refusals take.
    pub fn provider(&self) -> &Provider {
        &self.config.provider
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Before forwarding a request of `agent` (its session, when an agent
    /// key was presented): `Err` when its agent or the profile has spent
    /// its budget (the refusal is also queued as a `budget-refused` event),
    /// else the charge its response's tokens go to (`None`: no budget
    /// concerns it).
    pub fn admit(self: &Arc<Self>, agent: Option<i64>) -> Result<Option<Charge>, Refusal> {
        if self.config.profile.is_none() && agent.is_none() {
            return Ok(None);
        }
        let mut st = self.lock();
        let mut due = st
            .refreshed
            .is_none_or(|t| t.elapsed() >= self.config.refresh);
        if let Some(session) = agent {
            if let std::collections::hash_map::Entry::Vacant(v) = st.agents.entry(session) {
                v.insert(self.load_session(session));
                due = true;
            }
        }
        let agent = agent.filter(|s| matches!(st.agents.get(s), Some(Some(_))));
        if self.config.profile.is_none() && agent.is_none() {
            return Ok(None);
        }
        if due {
            self.refresh(&mut st);
        }
        let refusal = self.check(&mut st, agent);
        drop(st);
        if let Some(refusal) = refusal {
            self.record_refusal(&refusal);
            return Err(refusal);
        }
        Ok(Some(Charge {
            book: Arc::clone(self),
            agent,
            inflight: 0,
        }))
    }

    /// An agent session's budget, read once per session.
    fn load_session(&self, session: i64) -> Option<AgentEntry> {
        let row = match self.ledger.session_budget(session) {
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

    /// Read the ledger again: each budget's tokens (one snapshot) and the
    /// login's latest headers. Kept as it was when this process's writer
    /// was writing meanwhile three times running (the next request tries
    /// again).
    fn refresh(&self, st: &mut State) {
        let now = now_unix();
        let shares: Vec<WindowRef> = st
            .agents
            .values()
            .flatten()
            .map(|e| &e.budget)
            .chain(self.config.profile.iter().map(|p| &p.budget))
            .filter_map(|b| match b {
                Budget::Share { window, .. } => Some(*window),
                Budget::Tokens { .. } => None,
            })
            .collect();
        if !shares.is_empty() {
            st.limits = latest_snapshot(&self.ledger, &self.config.provider, &self.config.login);
        }
        let windows: Vec<(WindowRef, WindowNow)> = {
            let mut seen: Vec<WindowRef> = Vec::new();
            for w in shares {
                if !seen.contains(&w) {
                    seen.push(w);
                }
            }
            seen.into_iter()
                .map(|w| (w, current_window(st.limits.as_ref(), w, now)))
                .collect()
        };
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
        let mut sessions = Vec::new();
        for (session, entry) in &st.agents {
            let Some(e) = entry else { continue };
            let since = match &e.budget {
                Budget::Tokens { per: None, .. } => e.started,
                Budget::Tokens { per: Some(p), .. } => e.started.max(now.saturating_sub(*p)),
                Budget::Share { window, .. } => e.started.max(start_of(*window).unwrap_or(0)),
            };
            scopes.push(Scope::Agent {
                id: e.id.clone(),
                since,
            });
            sessions.push(*session);
        }
        let profile_scope = match self.config.profile.as_ref().map(|p| &p.budget) {
            Some(Budget::Tokens { per, .. }) => {
                scopes.push(login(per.map_or(0, |p| now.saturating_sub(p))));
                true
            }
            _ => false,
        };
        let estimate_from = scopes.len();
        for (_, w) in &windows {
            if let Ok((_, start)) = w {
                scopes.push(login(*start));
            }
        }
        for attempt in 0..3 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let (before, committed) = self.writer.progress();
            if before % 2 == 1 {
                continue;
            }
            let spent = match st.tallies.spent(&self.ledger, &scopes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("budgets: could not read the ledger: {e}");
                    return;
                }
            };
            if self.writer.progress().0 != before {
                continue;
            }
            let mut spent = spent.into_iter();
            for session in &sessions {
                if let (Some(Some(e)), Some(s)) = (st.agents.get_mut(session), spent.next()) {
                    e.counter.ledger = s.tokens;
                }
            }
            if profile_scope {
                if let Some(s) = spent.next() {
                    st.login.ledger = s.tokens;
                }
            }
            debug_assert_eq!(spent.len(), scopes.len() - estimate_from);
            for e in st.agents.values_mut().flatten() {
                e.counter.pending.retain(|(seq, _)| *seq > committed);
            }
            st.login.pending.retain(|(seq, _)| *seq > committed);
            // This process's requests not yet in the ledger are in the
            // window too.
            let unread = Spent {
                tokens: st.login.pending.iter().map(|(_, t)| t).sum::<u64>() + st.login.dropped,
                requests: st.login.pending.len() as u64,
            };
            st.estimates = windows
                .into_iter()
                .map(|(w, r)| {
                    let estimate = r.and_then(|(window, start)| {
                        let s = spent.next().unwrap_or_default();
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
            st.refreshed = Some(Instant::now());
            return;
        }
    }

    /// The refusal, if the agent or the profile has spent its budget.
    fn check(&self, st: &mut State, agent: Option<i64>) -> Option<Refusal> {
        let State {
            agents,
            login,
            profile_noted,
            limits,
            estimates,
            ..
        } = st;
        if let Some(Some(e)) = agent.and_then(|s| agents.get_mut(&s)) {
            let spent = e.counter.spent();
            let (limit, what) = match &e.budget {
                Budget::Tokens { tokens, per } => (
                    *tokens,
                    match per {
                        None => format!("{spent} tokens since it started"),
                        Some(p) => format!(
                            "{spent} tokens in the last {}",
                            crate::usage::window_label(*p)
                        ),
                    },
                ),
                Budget::Share { percent, window } => {
                    match estimates.iter().find(|(w, _)| w == window).map(|(_, e)| e) {
                        Some(Ok(est)) => (
                            est.tokens_for(*percent),
                            format!(
                                "{spent} tokens in the current {} window ({})",
                                est.window.label,
                                est.describe()
                            ),
                        ),
                        other => {
                            if !e.noted {
                                e.noted = true;
                                let why = match other {
                                    Some(Err(why)) => why.clone(),
                                    _ => "no estimate yet".into(),
                                };
                                eprintln!(
                                    "claude-auth proxy: the budget {} of agent {:?} is not enforced yet: {why}",
                                    e.text, e.id
                                );
                            }
                            (u64::MAX, String::new())
                        }
                    }
                }
            };
            if spent >= limit {
                return Some(Refusal {
                    holder: Holder::Agent(e.id.clone()),
                    budget: e.text.clone(),
                    spent: what,
                    limit: Some(limit),
                });
            }
        }
        let p = self.config.profile.as_ref()?;
        match &p.budget {
            Budget::Tokens { tokens, per } => {
                let spent = login.spent();
                (spent >= *tokens).then(|| Refusal {
                    holder: Holder::Profile(p.name.clone()),
                    budget: p.budget.to_string(),
                    spent: match per {
                        Some(per) => format!(
                            "{spent} tokens in the last {}",
                            crate::usage::window_label(*per)
                        ),
                        None => format!("{spent} tokens"),
                    },
                    limit: Some(*tokens),
                })
            }
            Budget::Share { percent, window } => {
                match current_window(limits.as_ref(), *window, now_unix()) {
                    Ok((w, _)) => (w.used_percent >= *percent).then(|| Refusal {
                        holder: Holder::Profile(p.name.clone()),
                        budget: p.budget.to_string(),
                        spent: format!(
                            "the {} window is at {:.1} %{}",
                            w.label,
                            w.used_percent,
                            w.resets_in(now_unix())
                                .map(|s| format!(" (it resets in {})", minutes(s)))
                                .unwrap_or_default()
                        ),
                        limit: None,
                    }),
                    Err(why) => {
                        if !*profile_noted {
                            *profile_noted = true;
                            eprintln!(
                                "claude-auth proxy: the budget {} of profile {:?} is not enforced yet: {why}",
                                p.budget, p.name
                            );
                        }
                        None
                    }
                }
            }
        }
    }

    /// A `budget-refused` event, queued for the ledger.
    fn record_refusal(&self, refusal: &Refusal) {
        let mut event = Event::now(EVENT_BUDGET_REFUSED, refusal.message());
        event.provider = Some(self.config.provider.as_str().to_owned());
        event.profile = Some(self.config.login.to_string());
        if let Holder::Agent(id) = &refusal.holder {
            event.agent = Some(id.clone());
        }
        self.writer.event(event);
    }

    /// Add `tokens` to the counts of `charge`'s agent and profile.
    fn add(&self, charge: &Charge, change: impl Fn(&mut Counter, u64)) {
        let mut st = self.lock();
        let applied = st.applied;
        if let Some(Some(e)) = charge.agent.and_then(|s| st.agents.get_mut(&s)) {
            change(&mut e.counter, applied);
        }
        change(&mut st.login, applied);
    }
}

/// `1 h 05 min`, `7 min`.
fn minutes(secs: u64) -> String {
    let m = secs.div_ceil(60);
    if m >= 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

impl Charge {
    /// The response has shown `tokens` so far.
    pub fn progress(&mut self, tokens: u64) {
        if tokens == self.inflight {
            return;
        }
        let before = self.inflight;
        self.book.add(self, |c, _| {
            c.inflight = c.inflight.saturating_sub(before).saturating_add(tokens);
        });
        self.inflight = tokens;
    }

    /// The response ended with `tokens`, queued for the ledger as `seq`
    /// (`None`: dropped, never to be in the ledger).
    pub fn finish(mut self, tokens: u64, seq: Option<u64>) {
        let before = std::mem::take(&mut self.inflight);
        self.book.add(&self, |c, applied| {
            c.inflight = c.inflight.saturating_sub(before);
            match seq {
                _ if tokens == 0 => {}
                None => c.dropped = c.dropped.saturating_add(tokens),
                // Already in the ledger as of the last read.
                Some(seq) if seq <= applied => {}
                Some(seq) => c.pending.push((seq, tokens)),
            }
        });
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        let before = std::mem::take(&mut self.inflight);
        if before > 0 {
            self.book
                .add(self, |c, _| c.inflight = c.inflight.saturating_sub(before));
        }
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
