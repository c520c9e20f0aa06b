//! What a selection decides from: each candidate's cached usage (the usage
//! cache files `claude-auth usage` writes, else the latest rate-limit
//! headers the usage ledger kept) and each class's recent latencies in the
//! ledger. Loaded once, with no network call; the decision itself
//! ([`super::decide`]) only reads this.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::credential::Provider;
use crate::select::{Candidate, CandidateClass};
use crate::usage::fetch::read_cached;
use crate::usage::ledger::Ledger;
use crate::usage::UsageSnapshot;

/// How far back `fastest` looks in the ledger (seconds): one day.
pub const LATENCY_WINDOW_SECS: u64 = 86_400;
/// How many of a login's most recent requests `fastest` reads.
pub const LATENCY_SAMPLES: usize = 100;

/// A class's median latency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassLatency {
    /// The class.
    pub class: CandidateClass,
    /// The median, milliseconds.
    pub median_ms: u64,
    /// How many requests it is the median of.
    pub samples: usize,
}

/// A subscription's state against a threshold.
#[derive(Clone, Debug, PartialEq)]
pub enum WindowState {
    /// No cached usage for it.
    Unknown,
    /// Every window under the threshold; the fullest (label, percent), if any.
    Under(Option<(String, f64)>),
    /// A window at or over the threshold (the fullest: label, percent).
    Over(String, f64),
    /// Used up: a window at 100 %, or the vendor's verdict (`rejected`,
    /// `limit_reached`); why.
    Exhausted(String),
}

/// Cached usage per login and latencies per class.
#[derive(Clone, Debug, Default)]
pub struct UsageView {
    usage: HashMap<String, UsageSnapshot>,
    latency: Vec<ClassLatency>,
    /// Why something could not be read (the ledger, say); shown, never fatal.
    pub notes: Vec<String>,
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2
    } else {
        v[mid]
    })
}

impl UsageView {
    /// Read the usage cache and the ledger in `state_dir` for `candidates`
    /// (subscriptions' windows; every class's latencies). No network.
    pub fn load(state_dir: &Path, candidates: &[Candidate], now: u64) -> UsageView {
        let mut view = UsageView::default();
        let ledger = if state_dir.join(crate::usage::ledger::FILE_NAME).exists() {
            match Ledger::open_in(state_dir) {
                Ok(l) => Some(l),
                Err(e) => {
                    view.notes.push(e.to_string());
                    None
                }
            }
        } else {
            None
        };
        let mut per_class: HashMap<CandidateClass, Vec<u64>> = HashMap::new();
        for c in candidates {
            let cached = read_cached(state_dir, &c.provider, &c.login).and_then(|r| r.snapshot);
            let headers = ledger
                .as_ref()
                .and_then(|l| l.latest_limits(&c.provider, &c.login).ok().flatten())
                .and_then(|(at, headers)| match c.provider {
                    Provider::Anthropic => crate::usage::anthropic::from_headers(&headers, at),
                    Provider::Openai => crate::usage::openai::from_headers(&headers, at),
                });
            // The newer of the two.
            let snapshot = match (cached, headers) {
                (Some(a), Some(b)) => Some(if b.fetched_at > a.fetched_at { b } else { a }),
                (a, b) => a.or(b),
            };
            if let Some(s) = snapshot {
                view.usage.insert(c.login.clone(), s);
            }
            if let Some(l) = &ledger {
                let since = now.saturating_sub(LATENCY_WINDOW_SECS);
                match l.recent_latencies(&c.provider, &c.login, since, LATENCY_SAMPLES) {
                    Ok(v) => per_class.entry(c.class).or_default().extend(v),
                    Err(e) => view.notes.push(e.to_string()),
                }
            }
        }
        for class in CandidateClass::ALL {
            if let Some(v) = per_class.remove(&class) {
                let samples = v.len();
                if let Some(median_ms) = median(v) {
                    view.latency.push(ClassLatency {
                        class,
                        median_ms,
                        samples,
                    });
                }
            }
        }
        view
    }

    /// Set a login's usage (for callers that hold a snapshot already, and
    /// the benchmark).
    pub fn with_usage(mut self, login: &str, snapshot: UsageSnapshot) -> UsageView {
        self.usage.insert(login.to_owned(), snapshot);
        self
    }

    /// Set a class's latency.
    pub fn with_latency(mut self, latency: ClassLatency) -> UsageView {
        self.latency.retain(|l| l.class != latency.class);
        self.latency.push(latency);
        self
    }

    /// A login's cached usage.
    pub fn usage(&self, login: &str) -> Option<&UsageSnapshot> {
        self.usage.get(login)
    }

    /// A class's latency, if the ledger has any.
    pub fn latency(&self, class: CandidateClass) -> Option<&ClassLatency> {
        self.latency.iter().find(|l| l.class == class)
    }

    /// A login's windows against `threshold` percent at `now` (a window
    /// whose reset time has passed counts as empty).
    pub fn state(&self, login: &str, threshold: u8, now: u64) -> WindowState {
        let Some(s) = self.usage(login) else {
            return WindowState::Unknown;
        };
        if let Some(status) = s
            .status
            .as_deref()
            .filter(|v| matches!(*v, "rejected" | "limit_reached"))
        {
            return WindowState::Exhausted(format!("the vendor's status is {status}"));
        }
        let live = s
            .windows
            .iter()
            .filter(|w| w.resets_at.is_none_or(|r| r > now));
        let fullest = live.max_by(|a, b| a.used_percent.total_cmp(&b.used_percent));
        match fullest {
            Some(w) if w.used_percent >= 100.0 => {
                WindowState::Exhausted(format!("its {} window is at 100%", w.label))
            }
            Some(w) if w.used_percent >= f64::from(threshold) => {
                WindowState::Over(w.label.clone(), w.used_percent)
            }
            Some(w) => WindowState::Under(Some((w.label.clone(), w.used_percent))),
            None => WindowState::Under(None),
        }
    }
}
