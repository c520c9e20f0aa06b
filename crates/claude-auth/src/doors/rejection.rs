//! When a provider *rejects* a request, the one rule every door (the proxy,
//! the library client, `chat`) applies before it fails over to the next
//! entry of the `[selection] fallback` list.
//!
//! A response is a rejection when:
//!
//! - Anthropic's unified status says so: `anthropic-ratelimit-unified-status:
//!   rejected` on an error response (subscription traffic);
//! - it is a 429 and a window is at 100 %: Anthropic's unified
//!   `-5h-utilization` / `-7d-utilization` (fractions, 1.0 = 100 %), or for
//!   OpenAI Codex's `x-codex-primary-used-percent` / `-secondary-` at 100, or
//!   an API key's `x-ratelimit-remaining-requests` / `-tokens` at 0;
//! - the login is gone for good: the API refused the credential and the
//!   refresh attempt said to log in again ([`Rejection::login_required`]).
//!
//! Transient errors are **not** rejections and never fail over: a 5xx, a 529
//! (overloaded), a connection or timeout error, or a 429 whose headers show
//! no window at 100 % (a burst limit the client's retries handle). The same
//! credential is asked again by the client's retries, or the error goes back
//! to the caller.
//!
//! A rejection lasts until its window resets: the unified `-reset` (epoch
//! seconds), the full window's reset, the API limit's reset, else
//! `retry-after`; when none says, [`DEFAULT_HOLD_SECS`].

use std::fmt;

use reqwest::header::HeaderMap;

use crate::credential::Provider;
use crate::usage::{anthropic, openai};

/// How long a rejection holds when the response says nothing about when its
/// window resets: five minutes.
pub const DEFAULT_HOLD_SECS: u64 = 300;

/// Why a provider rejected a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// `anthropic-ratelimit-unified-status: rejected`.
    UnifiedRejected,
    /// A 429 with this window (`5h`, `7d`, or an API limit such as
    /// `requests`) at 100 %.
    WindowFull(String),
    /// The credential was refused and refreshing it said to log in again.
    LoginRequired,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::UnifiedRejected => {
                f.write_str("the unified rate limit status is rejected")
            }
            RejectReason::WindowFull(w) => write!(f, "429 with the {w} window at 100 %"),
            RejectReason::LoginRequired => {
                f.write_str("the login was refused and needs a new login")
            }
        }
    }
}

/// A rejection: why, and until when (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// When the rejected window resets, as the response said; `None`: it did
    /// not say.
    pub resets_at: Option<u64>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

impl Rejection {
    /// The permanent auth failure: the credential was refused and the
    /// refresh attempt said to log in again.
    pub fn login_required() -> Rejection {
        Rejection {
            reason: RejectReason::LoginRequired,
            resets_at: None,
        }
    }

    /// Whether a response from `provider` is a rejection (see the module's
    /// rule), at `now` (Unix seconds). Success, 5xx (529 included) and
    /// responses without a window at 100 % are not.
    ///
    /// ```
    /// use claude_auth::doors::rejection::{RejectReason, Rejection};
    /// use claude_auth::Provider;
    /// let mut h = reqwest::header::HeaderMap::new();
    /// h.insert("anthropic-ratelimit-unified-status", "rejected".parse().unwrap());
    /// h.insert("anthropic-ratelimit-unified-reset", "1800000000".parse().unwrap());
    /// let r = Rejection::from_response(&Provider::Anthropic, 429, &h, 0).unwrap();
    /// assert_eq!((r.reason, r.resets_at), (RejectReason::UnifiedRejected, Some(1_800_000_000)));
    /// assert!(Rejection::from_response(&Provider::Anthropic, 529, &h, 0).is_none());
    /// ```
    pub fn from_response(
        provider: &Provider,
        status: u16,
        headers: &HeaderMap,
        now: u64,
    ) -> Option<Rejection> {
        if !(400..500).contains(&status) {
            return None;
        }
        let retry_after = crate::doors::wire::retry_after(headers)
            .map(|d| now.saturating_add(d.as_secs().max(1)));
        let rejection = |reason, resets_at: Option<u64>| {
            Some(Rejection {
                reason,
                resets_at: resets_at.or(retry_after),
            })
        };
        match provider {
            Provider::Anthropic => {
                let unified = header(headers, "anthropic-ratelimit-unified-status");
                let snapshot = anthropic::from_headers(headers, now);
                if unified.is_some_and(|s| s.eq_ignore_ascii_case("rejected")) {
                    let reset = header(headers, "anthropic-ratelimit-unified-reset")
                        .and_then(|v| v.parse::<u64>().ok())
                        .or_else(|| {
                            snapshot
                                .as_ref()
                                .and_then(|s| s.windows.iter().filter_map(|w| w.resets_at).max())
                        });
                    return rejection(RejectReason::UnifiedRejected, reset);
                }
                if status != 429 {
                    return None;
                }
                let full = snapshot?
                    .windows
                    .into_iter()
                    .filter(|w| w.used_percent >= 100.0)
                    .max_by_key(|w| w.resets_at.unwrap_or(0))?;
                rejection(RejectReason::WindowFull(full.label), full.resets_at)
            }
            Provider::Openai => {
                if status != 429 {
                    return None;
                }
                let snapshot = openai::from_headers(headers, now)?;
                let window = snapshot
                    .windows
                    .into_iter()
                    .filter(|w| w.used_percent >= 100.0)
                    .max_by_key(|w| w.resets_at.unwrap_or(0))
                    .map(|w| (w.label, w.resets_at));
                let limit = || {
                    snapshot
                        .api_limits
                        .into_iter()
                        .filter(|l| l.remaining == Some(0))
                        .max_by_key(|l| l.resets_at.unwrap_or(0))
                        .map(|l| (l.name, l.resets_at))
                };
                let (label, resets_at) = window.or_else(limit)?;
                rejection(RejectReason::WindowFull(label), resets_at)
            }
        }
    }

    /// Until when the rejected entry is skipped (Unix seconds): its reset,
    /// else `now` + [`DEFAULT_HOLD_SECS`]. A reset in the past holds for one
    /// second, so the request that was just rejected is not sent there again.
    pub fn until(&self, now: u64) -> u64 {
        match self.resets_at {
            Some(at) => at.max(now.saturating_add(1)),
            None => now.saturating_add(DEFAULT_HOLD_SECS),
        }
    }
}

#[cfg(test)]
#[path = "rejection_tests.rs"]
mod tests;
