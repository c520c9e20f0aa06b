//! The proxy's budget book: before a request is forwarded, has its agent
//! (or the proxy's profile) spent its budget? Answered from memory, in well
//! under a microsecond; the memory is kept true by reading the shared
//! ledger so that a request is never admitted on a reading older than the
//! refresh interval (default [`DEFAULT_REFRESH`]), so budgets hold across
//! every proxy on the machine. A read costs the rows added since the
//! previous one, not a budget's history ([`Tallies`]).
//!
//! Reads run off the proxy's thread ([`reading`]): once the reading is half
//! the interval old, the next request starts a read in the background and
//! is answered from the reading it has; a request whose reading is older
//! than the interval (or whose agent session was never read) waits for a
//! read that began late enough, without holding up other connections.
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

use super::estimate::{current_window, WindowEstimate};
use super::refusal::{Holder, Refusal};
use super::spec::{Budget, WindowRef};
use crate::credential::{now_unix, Provider};
use crate::usage::events::{Event, EVENT_BUDGET_REFUSED};
use crate::usage::ledger::Ledger;
use crate::usage::spent::Tallies;
use crate::usage::writer::LedgerWriter;
use crate::usage::UsageSnapshot;

#[path = "reading.rs"]
mod reading;

/// How old the book's reading of the ledger may get before a request waits
/// for a new one (a read starts in the background at half this age).
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

/// The reads of the ledger: one at a time, numbered from 1.
#[derive(Debug, Default)]
struct Reads {
    /// The number of the last read started.
    started: u64,
    /// The number of the last read ended (well or not).
    done: u64,
    /// When the read under way began.
    running: Option<Instant>,
    /// The highest read number a request waits for.
    wanted: u64,
}

#[derive(Debug, Default)]
struct State {
    /// By session; `None`: the session has no budget (or is unknown).
    agents: HashMap<i64, Option<AgentEntry>>,
    /// Sessions seen at admission and not yet read.
    unloaded: Vec<i64>,
    /// The login's tokens: over the profile budget's period for its
    /// `ledger` part; every charge's pending and in-flight tokens.
    login: Counter,
    profile_noted: bool,
    /// When the read of the current reading began.
    refreshed: Option<Instant>,
    /// Every entry of this process's writer up to here is in `ledger`.
    applied: u64,
    /// The login's latest rate-limit headers, for share budgets.
    limits: Option<UsageSnapshot>,
    /// Each window's estimate (or why there is none) at the last read.
    estimates: Vec<(WindowRef, Result<WindowEstimate, String>)>,
    reads: Reads,
}

/// A window as the latest headers report it and when it began, or why
/// there is none.
type WindowNow = Result<(crate::usage::Window, u64), String>;

/// One proxy's budgets (see the module's documentation).
pub struct BudgetBook {
    config: BookConfig,
    ledger: Ledger,
    /// What the ledger holds, read incrementally (by one read at a time).
    tallies: Mutex<Tallies>,
    writer: LedgerWriter,
    state: Mutex<State>,
    /// Told when a read ends.
    read_done: tokio::sync::Notify,
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
            tallies: Mutex::new(Tallies::default()),
            writer,
            state: Mutex::new(State::default()),
            read_done: tokio::sync::Notify::new(),
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
    /// concerns it). Waits only when the reading is older than the refresh
    /// interval or the session was never read, and then for a read on
    /// another thread; when a read fails, the request is answered from the
    /// reading there is.
    pub async fn admit(self: &Arc<Self>, agent: Option<i64>) -> Result<Option<Charge>, Refusal> {
        if self.config.profile.is_none() && agent.is_none() {
            return Ok(None);
        }
        let arrived = Instant::now();
        let refresh = self.config.refresh;
        // A reading (or a read) that began at `t` is fresh enough for this
        // request.
        let recent = |t: Instant| t >= arrived || arrived.duration_since(t) < refresh;
        let mut waited_for: Option<u64> = None;
        loop {
            let notified = {
                let mut st = self.lock();
                let known = agent.is_none_or(|s| st.agents.contains_key(&s));
                let fresh = known && st.refreshed.is_some_and(recent);
                if fresh || waited_for.is_some_and(|n| st.reads.done >= n) {
                    if fresh
                        && !refresh.is_zero()
                        && st.reads.running.is_none()
                        && st.refreshed.is_some_and(|t| t.elapsed() >= refresh / 2)
                    {
                        self.start_read(&mut st);
                    }
                    return self.decide(st, agent);
                }
                if let Some(s) = agent.filter(|_| !known) {
                    if !st.unloaded.contains(&s) {
                        st.unloaded.push(s);
                    }
                }
                // The read under way will do if it began late enough and
                // knows of this request's session; else the next one.
                let n = match st.reads.running {
                    Some(t) if known && recent(t) => st.reads.started,
                    _ => st.reads.started + 1,
                };
                st.reads.wanted = st.reads.wanted.max(n);
                if st.reads.running.is_none() {
                    self.start_read(&mut st);
                }
                waited_for = Some(n);
                if st.reads.done >= n {
                    continue;
                }
                // Registered before the lock is let go: a read ending
                // after this point wakes it.
                self.read_done.notified()
            };
            notified.await;
        }
    }

    /// The answer from the reading there is.
    fn decide(
        self: &Arc<Self>,
        mut st: MutexGuard<'_, State>,
        agent: Option<i64>,
    ) -> Result<Option<Charge>, Refusal> {
        let agent = agent.filter(|s| matches!(st.agents.get(s), Some(Some(_))));
        if self.config.profile.is_none() && agent.is_none() {
            return Ok(None);
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

    /// Start the next read, on tokio's blocking pool (a thread of its own
    /// outside a runtime).
    fn start_read(self: &Arc<Self>, st: &mut State) {
        let plan = Self::plan(st);
        let book = Arc::clone(self);
        let job = move || book.read_until_satisfied(plan);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(job)),
            Err(_) => {
                if let Err(e) = std::thread::Builder::new()
                    .name("claude-auth-budgets".into())
                    .spawn(job)
                {
                    tracing::warn!("budgets: could not start a thread to read the ledger: {e}");
                    st.reads.done = st.reads.started;
                    st.reads.running = None;
                }
            }
        }
    }

    /// Number the next read and say what it is to look at.
    fn plan(st: &mut State) -> reading::Plan {
        st.reads.started += 1;
        let began = Instant::now();
        st.reads.running = Some(began);
        reading::Plan {
            began,
            load: std::mem::take(&mut st.unloaded),
            known: st
                .agents
                .iter()
                .filter_map(|(s, e)| {
                    e.as_ref().map(|e| reading::Known {
                        session: *s,
                        id: e.id.clone(),
                        started: e.started,
                        budget: e.budget.clone(),
                    })
                })
                .collect(),
        }
    }

    /// Read, apply, wake the waiting requests; again while a request waits
    /// for a later read.
    fn read_until_satisfied(self: Arc<Self>, mut plan: reading::Plan) {
        loop {
            // Should the read panic, the requests waiting for it go on.
            let mut ending = ReadEnding {
                book: &self,
                armed: true,
            };
            let outcome = self.read(plan);
            let mut st = self.lock();
            self.apply(&mut st, outcome);
            ending.armed = false;
            st.reads.done = st.reads.started;
            st.reads.running = None;
            let again = st.reads.wanted > st.reads.done;
            let next = again.then(|| Self::plan(&mut st));
            drop(st);
            self.read_done.notify_waiters();
            match next {
                Some(p) => plan = p,
                None => return,
            }
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

/// Ends a read that did not end well (a panic), so that the requests
/// waiting for it go on.
struct ReadEnding<'a> {
    book: &'a BudgetBook,
    armed: bool,
}

impl Drop for ReadEnding<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.book.lock();
            st.reads.done = st.reads.started;
            st.reads.running = None;
            drop(st);
            self.book.read_done.notify_waiters();
        }
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
