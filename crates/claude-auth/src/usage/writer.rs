//! Writing to the usage ledger off the request path.
//!
//! A proxy must not wait on SQLite per request, nor pay for a thread
//! switch per request. [`LedgerWriter`] owns the ledger on a thread of its
//! own; the proxy and the client append to a bounded queue under a mutex
//! (a push costs well under a microsecond and never blocks on the
//! database: when the queue is full the record is dropped and counted).
//! Only the first record of a batch wakes the thread; it then gathers
//! whatever arrives within [`BATCH_WINDOW`] and writes it in one
//! transaction (one commit per batch, the latest headers per login only),
//! so a busy proxy costs the ledger a few wake-ups and commits a second
//! rather than one per request. A flush, or dropping the last handle, cuts
//! the window short.
//!
//! What a request hands over is cheap to make: the login's names are
//! shared (`Arc<str>`), the rate-limit headers are the response's own
//! (reference-counted) values, and turning them into text, choosing the
//! latest per login and the SQLite insert all happen on the writer thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::events::{insert_events, Event};
use super::ledger::{is_kept_header, kept_pairs, LatestLimits, Ledger, RequestRecord, Row};
use super::tap::TokenUsage;
use crate::credential::Provider;

/// Records waiting at most; past this, new ones are dropped and counted.
pub const QUEUE: usize = 4096;
/// How long the writer gathers records after the first one before it
/// commits them (a flush commits at once).
pub const BATCH_WINDOW: Duration = Duration::from_millis(20);

/// One response as a door saw it, before it becomes a ledger row.
struct Finished {
    at: u64,
    provider: Provider,
    login: Arc<str>,
    agent: Option<Arc<str>>,
    status: u16,
    usage: TokenUsage,
    latency_ms: Option<u64>,
}

enum Entry {
    Request(RequestRecord),
    Finished(Finished),
    Limits {
        provider: Provider,
        login: Arc<str>,
        at: u64,
        headers: Vec<(HeaderName, HeaderValue)>,
    },
    Event(Event),
}

#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    /// Flushes waiting for everything queued before them to be written.
    flushes: Vec<std::sync::mpsc::Sender<()>>,
    /// The writer waits for a first entry (the next push wakes it).
    idle: bool,
    /// Write now: a flush or the last handle is waiting.
    urgent: bool,
    closed: bool,
    /// The sequence number of the last entry queued (1 for the first).
    last_seq: u64,
}

struct Queue {
    state: Mutex<State>,
    wake: Condvar,
    /// Odd while a batch is being written; bumped before and after.
    epoch: AtomicU64,
    /// Every entry up to this sequence number has been written (or failed).
    committed: AtomicU64,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A handle to the ledger's writer thread; cheap to clone.
#[derive(Clone)]
pub struct LedgerWriter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LedgerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriter")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

struct Inner {
    queue: Arc<Queue>,
    path: std::path::PathBuf,
    dropped: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The thread writes what is left, then ends.
        {
            let mut st = self.queue.lock();
            st.closed = true;
            st.urgent = true;
        }
        self.queue.wake.notify_all();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl LedgerWriter {
    /// Start the writer thread for `ledger`.
    pub fn spawn(ledger: Ledger) -> std::io::Result<LedgerWriter> {
        let queue = Arc::new(Queue {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            epoch: AtomicU64::new(0),
            committed: AtomicU64::new(0),
        });
        let path = ledger.path().to_owned();
        let q = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name("claude-auth-ledger".into())
            .spawn(move || run(&ledger, &q))?;
        Ok(LedgerWriter {
            inner: Arc::new(Inner {
                queue,
                path,
                dropped: AtomicU64::new(0),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// Queue an entry; its sequence number, or `None` when it was dropped.
    fn send(&self, entry: Entry) -> Option<u64> {
        let queue = &self.inner.queue;
        let mut st = queue.lock();
        if st.entries.len() >= QUEUE || st.closed {
            drop(st);
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        st.entries.push(entry);
        st.last_seq += 1;
        let seq = st.last_seq;
        let wake = std::mem::take(&mut st.idle);
        drop(st);
        if wake {
            queue.wake.notify_one();
        }
        Some(seq)
    }

    /// The ledger's file.
    pub fn path(&self) -> &std::path::Path {
        &self.inner.path
    }

    /// Where the writer is, for a reader that must know exactly which of
    /// this writer's entries a query of the ledger saw (budgets): the
    /// epoch, odd while a batch is being written, and the sequence number
    /// up to which every entry is written. A query made while the epoch
    /// stayed the same and even saw exactly the entries up to that number.
    pub fn progress(&self) -> (u64, u64) {
        let q = &self.inner.queue;
        let epoch = q.epoch.load(Ordering::Acquire);
        (epoch, q.committed.load(Ordering::Acquire))
    }

    /// Queue one request's record.
    pub fn record(&self, record: RequestRecord) {
        let _ = self.send(Entry::Request(record));
    }

    /// Queue an event for the ledger's `events` table (a failover, a
    /// budget refusal): rare, so it rides the same queue as requests.
    pub fn event(&self, event: Event) {
        let _ = self.send(Entry::Event(event));
    }

    /// Queue a response's rate-limit headers as a login's latest; only the
    /// headers the ledger keeps are taken (their values are checked and
    /// turned into text on the writer thread), and nothing is queued when
    /// the response carries none.
    pub fn record_limits(&self, provider: &Provider, profile: &str, at: u64, headers: &HeaderMap) {
        self.limits(provider, || Arc::from(profile), || at, headers);
    }

    /// The login and the time are only made when there is something to
    /// queue (most responses of an API key carry rate-limit headers; a
    /// stand-in upstream's carry none).
    fn limits(
        &self,
        provider: &Provider,
        login: impl FnOnce() -> Arc<str>,
        at: impl FnOnce() -> u64,
        headers: &HeaderMap,
    ) {
        let headers: Vec<(HeaderName, HeaderValue)> = headers
            .iter()
            .filter(|(name, _)| is_kept_header(name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        if headers.is_empty() {
            return;
        }
        let _ = self.send(Entry::Limits {
            provider: provider.clone(),
            login: login(),
            at: at(),
            headers,
        });
    }

    /// Wait until everything queued before this call is written.
    pub fn flush(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let mut st = self.inner.queue.lock();
            if st.closed {
                return;
            }
            st.flushes.push(tx);
            st.urgent = true;
        }
        self.inner.queue.wake.notify_all();
        let _ = rx.recv();
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }
}

/// Wait for a batch: the first entry (or a flush), then up to
/// [`BATCH_WINDOW`] more unless something is urgent. `None` once closed
/// and empty.
/// Also returns the sequence number of the batch's last entry.
fn next_batch(queue: &Queue, spare: Vec<Entry>) -> Option<Batch> {
    let mut st = queue.lock();
    while st.entries.is_empty() && st.flushes.is_empty() && !st.closed {
        st.idle = true;
        st = queue.wake.wait(st).unwrap_or_else(|p| p.into_inner());
    }
    st.idle = false;
    if st.entries.is_empty() && st.flushes.is_empty() {
        return None;
    }
    let deadline = Instant::now() + BATCH_WINDOW;
    while !st.urgent {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        st = queue
            .wake
            .wait_timeout(st, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    // A flush or close was served by this batch; one that comes later
    // sets it again.
    st.urgent = false;
    let entries = std::mem::replace(&mut st.entries, spare);
    let flushes = std::mem::take(&mut st.flushes);
    Some((entries, flushes, st.last_seq))
}

type Batch = (Vec<Entry>, Vec<std::sync::mpsc::Sender<()>>, u64);

fn run(ledger: &Ledger, queue: &Queue) {
    let mut spare = Vec::new();
    while let Some((mut batch, flushes, upto)) = next_batch(queue, spare) {
        queue.epoch.fetch_add(1, Ordering::AcqRel);
        write(ledger, &batch);
        queue.committed.store(upto, Ordering::Release);
        queue.epoch.fetch_add(1, Ordering::AcqRel);
        batch.clear();
        spare = batch;
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// A login's latest headers in a batch, before they become text.
type Latest<'a> = (Provider, &'a Arc<str>, u64, &'a [(HeaderName, HeaderValue)]);

fn write(ledger: &Ledger, batch: &[Entry]) {
    if batch.is_empty() {
        return;
    }
    // The latest headers per login, and only those made into text.
    let mut latest: Vec<Latest<'_>> = Vec::new();
    for entry in batch {
        if let Entry::Limits {
            provider,
            login,
            at,
            headers,
        } = entry
        {
            match latest
                .iter_mut()
                .find(|l| l.0 == *provider && *l.1 == *login)
            {
                Some(l) if l.2 <= *at => *l = (provider.clone(), login, *at, headers),
                Some(_) => {}
                None => latest.push((provider.clone(), login, *at, headers)),
            }
        }
    }
    let limits: Vec<LatestLimits> = latest
        .into_iter()
        .filter_map(|(provider, login, at, headers)| {
            let kept = kept_pairs(headers.iter().map(|(n, v)| (n, v)));
            (!kept.is_empty()).then(|| (provider, login.to_string(), at, kept))
        })
        .collect();
    let rows = batch.iter().filter_map(|entry| match entry {
        Entry::Request(r) => Some(r.row()),
        Entry::Finished(f) => Some(Row {
            at: f.at,
            provider: f.provider.as_str(),
            profile: Some(&f.login),
            model: f.usage.model.as_deref(),
            agent: f.agent.as_deref(),
            status: f.status,
            input_tokens: f.usage.input_tokens,
            output_tokens: f.usage.output_tokens,
            cache_creation_tokens: f.usage.cache_creation_tokens,
            cache_read_tokens: f.usage.cache_read_tokens,
            latency_ms: f.latency_ms,
        }),
        Entry::Limits { .. } | Entry::Event(_) => None,
    });
    if let Err(e) = ledger.write_rows(rows, &limits) {
        tracing::warn!("usage ledger: {e}");
    }
    let events: Vec<&Event> = batch
        .iter()
        .filter_map(|entry| match entry {
            Entry::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    if !events.is_empty() {
        if let Err(e) = ledger.with(|c| insert_events(c, &events)) {
            tracing::warn!("usage ledger: {e}");
        }
    }
}

/// Where a door (the client, the proxy) sends what it sees of each
/// response: the writer, and whose requests they are. Cloning it (once per
/// request) copies three pointers.
#[derive(Clone, Debug)]
pub struct UsageSink {
    /// The ledger's writer.
    pub writer: LedgerWriter,
    /// The provider the requests go to.
    pub provider: Provider,
    /// The login's key ([`login_key`](super::login_key)), kept in the
    /// ledger's `profile` column and as the key of its latest headers.
    pub login: Arc<str>,
    /// The agent the requests run for, when known.
    pub agent: Option<Arc<str>>,
}

impl UsageSink {
    /// A sink writing to the ledger in `env`'s state dir, or `None` (with
    /// a warning) when the ledger cannot be opened: usage accounting
    /// never stops a request.
    pub fn open(
        env: &crate::Env,
        provider: Provider,
        login: &str,
        agent: Option<&str>,
    ) -> Option<UsageSink> {
        let ledger = match Ledger::open_in(&super::state_dir(env)) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("usage accounting is off: {e}");
                return None;
            }
        };
        if let Some(aside) = ledger.moved_aside() {
            tracing::warn!(
                "the usage ledger was not a usable database; it was moved to {}",
                aside.display()
            );
        }
        let writer = LedgerWriter::spawn(ledger).ok()?;
        Some(UsageSink {
            writer,
            provider,
            login: Arc::from(login),
            agent: agent.map(Arc::from),
        })
    }

    /// A response's headers arrived.
    pub fn headers(&self, headers: &HeaderMap) {
        self.writer.limits(
            &self.provider,
            || Arc::clone(&self.login),
            crate::credential::now_unix,
            headers,
        );
    }

    /// Queue an event about this sink's login: its provider, login and
    /// agent filled in.
    pub fn event(&self, kind: &str, detail: impl Into<String>) {
        let mut event = Event::now(kind, detail);
        event.provider = Some(self.provider.as_str().to_owned());
        event.profile = Some(self.login.to_string());
        event.agent = self.agent.as_deref().map(str::to_owned);
        self.writer.event(event);
    }

    /// A response ended (or was abandoned): one ledger row. Returns the
    /// row's sequence number in the writer ([`LedgerWriter::progress`]), or
    /// `None` when the queue was full and the row was dropped.
    pub fn finished(
        &self,
        status: u16,
        usage: Option<TokenUsage>,
        started: Instant,
    ) -> Option<u64> {
        self.writer.send(Entry::Finished(Finished {
            at: crate::credential::now_unix(),
            provider: self.provider.clone(),
            login: Arc::clone(&self.login),
            agent: self.agent.clone(),
            status,
            usage: usage.unwrap_or_default(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).ok(),
        }))
    }
}
