//! Writing to the usage ledger off the request path.
//!
//! A proxy must not wait on SQLite per request. [`LedgerWriter`] owns the
//! ledger on a thread of its own; the proxy and the client hand it records
//! through a bounded channel (a send costs well under a microsecond and
//! never blocks: when the channel is full the record is dropped and
//! counted), and the thread writes what arrives within [`BATCH_WINDOW`] of
//! the first record in one transaction (one commit per batch, the latest
//! headers per login only), so a busy proxy costs the ledger a few commits
//! a second rather than one per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use reqwest::header::HeaderMap;

use super::ledger::{kept_headers, LatestLimits, Ledger, RequestRecord};
use crate::credential::Provider;

/// Records waiting at most; past this, new ones are dropped and counted.
pub const QUEUE: usize = 4096;
/// Records written per transaction at most.
const BATCH: usize = 512;
/// How long the writer gathers records after the first one before it
/// commits them (a flush commits at once).
pub const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(20);

enum Entry {
    Request(RequestRecord),
    Limits {
        provider: Provider,
        profile: String,
        at: u64,
        kept: Vec<(String, String)>,
    },
    Flush(std::sync::mpsc::Sender<()>),
}

/// A handle to the ledger's writer thread; cheap to clone.
#[derive(Clone, Debug)]
pub struct LedgerWriter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: Option<SyncSender<Entry>>,
    dropped: AtomicU64,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has written the rest.
        self.tx.take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl LedgerWriter {
    /// Start the writer thread for `ledger`.
    pub fn spawn(ledger: Ledger) -> std::io::Result<LedgerWriter> {
        let (tx, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("claude-auth-ledger".into())
            .spawn(move || run(ledger, rx))?;
        Ok(LedgerWriter {
            inner: Arc::new(Inner {
                tx: Some(tx),
                dropped: AtomicU64::new(0),
                thread: std::sync::Mutex::new(Some(thread)),
            }),
        })
    }

    fn send(&self, entry: Entry) {
        let Some(tx) = &self.inner.tx else { return };
        match tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queue one request's record.
    pub fn record(&self, record: RequestRecord) {
        self.send(Entry::Request(record));
    }

    /// Queue a response's rate-limit headers as a login's latest; only the
    /// headers the ledger keeps are copied, and nothing is queued when the
    /// response carries none.
    pub fn record_limits(&self, provider: &Provider, profile: &str, at: u64, headers: &HeaderMap) {
        let kept = kept_headers(headers);
        if kept.is_empty() {
            return;
        }
        self.send(Entry::Limits {
            provider: provider.clone(),
            profile: profile.to_owned(),
            at,
            kept,
        });
    }

    /// Wait until everything queued before this call is written.
    pub fn flush(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(sender) = &self.inner.tx {
            if sender.send(Entry::Flush(tx)).is_ok() {
                let _ = rx.recv();
            }
        }
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }
}

fn run(ledger: Ledger, rx: Receiver<Entry>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let deadline = std::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < BATCH && !matches!(batch.last(), Some(Entry::Flush(_))) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let mut requests = Vec::new();
        let mut latest: Vec<LatestLimits> = Vec::new();
        let mut flushes = Vec::new();
        for entry in batch {
            match entry {
                Entry::Request(r) => requests.push(r),
                Entry::Limits {
                    provider,
                    profile,
                    at,
                    kept,
                } => match latest
                    .iter_mut()
                    .find(|l| l.0 == provider && l.1 == profile)
                {
                    Some(l) if l.2 <= at => *l = (provider, profile, at, kept),
                    Some(_) => {}
                    None => latest.push((provider, profile, at, kept)),
                },
                Entry::Flush(done) => flushes.push(done),
            }
        }
        if !requests.is_empty() || !latest.is_empty() {
            if let Err(e) = ledger.record_batch(&requests, &latest) {
                tracing::warn!("usage ledger: {e}");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Where a door (the client, the proxy) sends what it sees of each
/// response: the writer, and whose requests they are.
#[derive(Clone, Debug)]
pub struct UsageSink {
    /// The ledger's writer.
    pub writer: LedgerWriter,
    /// The provider the requests go to.
    pub provider: Provider,
    /// The login's key ([`login_key`](super::login_key)), kept in the
    /// ledger's `profile` column and as the key of its latest headers.
    pub login: String,
    /// The agent the requests run for, when known.
    pub agent: Option<String>,
}

impl UsageSink {
    /// A sink writing to the ledger in `env`'s state dir, or `None` (with
    /// a debug line) when the ledger cannot be opened: usage accounting
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
            login: login.to_owned(),
            agent: agent.map(str::to_owned),
        })
    }

    /// A response's headers arrived.
    pub fn headers(&self, headers: &HeaderMap) {
        self.writer.record_limits(
            &self.provider,
            &self.login,
            crate::credential::now_unix(),
            headers,
        );
    }

    /// A response ended (or was abandoned): one ledger row.
    pub fn finished(
        &self,
        status: u16,
        usage: Option<super::tap::TokenUsage>,
        started: std::time::Instant,
    ) {
        let usage = usage.unwrap_or_default();
        self.writer.record(RequestRecord {
            at: crate::credential::now_unix(),
            provider: self.provider.as_str().to_owned(),
            profile: Some(self.login.clone()),
            model: usage.model,
            agent: self.agent.clone(),
            status,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_creation_tokens: usage.cache_creation_tokens,
            cache_read_tokens: usage.cache_read_tokens,
            latency_ms: u64::try_from(started.elapsed().as_millis()).ok(),
        });
    }
}
