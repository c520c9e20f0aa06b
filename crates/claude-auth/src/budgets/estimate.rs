//! How many tokens a share of a subscription window is.
//!
//! Neither vendor publishes a subscription window's size in tokens: their
//! responses say only how much of it is used (`anthropic-ratelimit-unified-
//! 5h-utilization`, `x-codex-primary-used-percent`) and when it resets. So
//! a share budget (`20%5h`) is turned into tokens by one honest rule: the
//! login's tokens in the ledger since the window began (its reset time
//! minus its length), divided by the share used that the latest response
//! reported, gives tokens per 1 %; the budget is that times its percent.
//!
//! - The estimate needs data: at least [`MIN_USED_PERCENT`] of the window
//!   used and [`MIN_REQUESTS`] of the login's requests in it. Until then a
//!   share budget is not enforced, and says so (a token budget is
//!   enforced from the first request).
//! - It errs on the safe side: traffic that did not go through claude-auth
//!   (Claude Code on its own, the web app) raises the used share but not
//!   the ledger's tokens, so the estimate comes out smaller, never larger.
//! - It averages whatever mix of models the window saw; a window spent on a
//!   larger model is used up by fewer tokens.

use super::spec::WindowRef;
use crate::credential::Provider;
use crate::usage::ledger::Ledger;
use crate::usage::spent::{Scope, Spent};
use crate::usage::{UsageSnapshot, Window};

/// The least share of a window that must be used before it is estimated.
pub const MIN_USED_PERCENT: f64 = 1.0;
/// The fewest requests of the login the ledger must hold in the window.
pub const MIN_REQUESTS: u64 = 3;

/// A window's size in tokens, as estimated.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowEstimate {
    /// The window as the latest response reported it.
    pub window: Window,
    /// When it began, Unix seconds.
    pub start: u64,
    /// The login's tokens and requests in the ledger since then.
    pub spent: Spent,
    /// Tokens per 1 % of the window.
    pub tokens_per_percent: f64,
}

impl WindowEstimate {
    /// From the window and what the ledger holds since it began; the error
    /// says what data is missing.
    pub fn new(window: Window, start: u64, spent: Spent) -> Result<WindowEstimate, String> {
        let label = &window.label;
        if window.used_percent < MIN_USED_PERCENT {
            return Err(format!(
                "the {label} window is at {:.1} %, too little to estimate its size in tokens (it needs {MIN_USED_PERCENT} % used)",
                window.used_percent
            ));
        }
        if spent.requests < MIN_REQUESTS || spent.tokens == 0 {
            return Err(format!(
                "the ledger holds {} request(s) of this login in the current {label} window (it needs {MIN_REQUESTS} to estimate the window's size in tokens)",
                spent.requests
            ));
        }
        let tokens_per_percent = spent.tokens as f64 / window.used_percent;
        Ok(WindowEstimate {
            window,
            start,
            spent,
            tokens_per_percent,
        })
    }

    /// `percent` of the window, in tokens.
    pub fn tokens_for(&self, percent: f64) -> u64 {
        (self.tokens_per_percent * percent).floor() as u64
    }

    /// For humans: how the estimate was made.
    pub fn describe(&self) -> String {
        format!(
            "the {} window is at {:.1} % for {} tokens of this login since it began, ≈ {:.0} tokens per 1 %",
            self.window.label, self.window.used_percent, self.spent.tokens, self.tokens_per_percent
        )
    }
}

/// The current window `which` in a snapshot from the latest headers, and
/// when it began; the error says why there is none.
pub fn current_window(
    snapshot: Option<&UsageSnapshot>,
    which: WindowRef,
    now: u64,
) -> Result<(Window, u64), String> {
    let name = which.as_str();
    let none = || {
        format!(
            "no response of this login has reported its {name} window yet (subscription responses through claude-auth do; an API key has no window)"
        )
    };
    let window = snapshot
        .and_then(|s| s.windows.iter().find(|w| which.matches(w)))
        .ok_or_else(none)?;
    let (Some(resets_at), Some(length)) = (window.resets_at, window.window_secs) else {
        return Err(format!(
            "the latest response did not say when the {name} window resets"
        ));
    };
    if resets_at <= now {
        return Err(format!(
            "the {name} window reset {} s ago and no response has reported the new one yet",
            now - resets_at
        ));
    }
    Ok((window.clone(), resets_at.saturating_sub(length)))
}

/// The login's latest headers in `ledger` as a snapshot.
pub fn latest_snapshot(ledger: &Ledger, provider: &Provider, login: &str) -> Option<UsageSnapshot> {
    let (at, headers) = ledger.latest_limits(provider, login).ok().flatten()?;
    match provider {
        Provider::Anthropic => crate::usage::anthropic::from_headers(&headers, at),
        Provider::Openai => crate::usage::openai::from_headers(&headers, at),
    }
}

/// The estimate of window `which` of `login` now, from `ledger` alone.
pub fn estimate_now(
    ledger: &Ledger,
    provider: &Provider,
    login: &str,
    which: WindowRef,
    now: u64,
) -> Result<WindowEstimate, String> {
    let snapshot = latest_snapshot(ledger, provider, login);
    let (window, start) = current_window(snapshot.as_ref(), which, now)?;
    let scope = Scope::Login {
        provider: provider.as_str().to_owned(),
        login: login.to_owned(),
        since: start,
    };
    let spent = ledger
        .spent(std::slice::from_ref(&scope))
        .map_err(|e| e.to_string())?
        .first()
        .copied()
        .unwrap_or_default();
    WindowEstimate::new(window, start, spent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::SnapshotSource;

    fn snapshot(used: f64, resets_at: u64) -> UsageSnapshot {
        let mut s = UsageSnapshot::new(Provider::Anthropic, SnapshotSource::Headers, 0);
        s.windows
            .push(Window::new("five_hour", "5h", used).timed(Some(18_000), Some(resets_at)));
        s
    }

    #[test]
    fn tokens_per_percent_from_the_ledger_and_the_used_share() {
        let s = snapshot(40.0, 20_000);
        let (w, start) = current_window(Some(&s), WindowRef::FiveHours, 10_000).unwrap();
        assert_eq!(start, 2_000);
        let e = WindowEstimate::new(
            w,
            start,
            Spent {
                tokens: 80_000,
                requests: 10,
            },
        )
        .unwrap();
        assert_eq!(e.tokens_per_percent, 2_000.0);
        assert_eq!(e.tokens_for(20.0), 40_000);
        assert_eq!(
            e.describe(),
            "the 5h window is at 40.0 % for 80000 tokens of this login since it began, ≈ 2000 tokens per 1 %"
        );
    }

    #[test]
    fn not_enough_data_says_what_is_missing() {
        let at = |used| current_window(Some(&snapshot(used, 20_000)), WindowRef::FiveHours, 10_000);
        let (w, start) = at(0.5).unwrap();
        let e = WindowEstimate::new(
            w,
            start,
            Spent {
                tokens: 9,
                requests: 9,
            },
        )
        .unwrap_err();
        assert!(e.contains("at 0.5 %, too little"), "{e}");
        let (w, start) = at(5.0).unwrap();
        let e = WindowEstimate::new(
            w,
            start,
            Spent {
                tokens: 9,
                requests: 2,
            },
        )
        .unwrap_err();
        assert!(e.contains("holds 2 request(s)"), "{e}");
        let e = current_window(None, WindowRef::FiveHours, 0).unwrap_err();
        assert!(
            e.contains("no response of this login has reported its 5h window"),
            "{e}"
        );
        let e = current_window(Some(&snapshot(5.0, 100)), WindowRef::FiveHours, 160).unwrap_err();
        assert!(e.contains("reset 60 s ago"), "{e}");
        let e = current_window(Some(&snapshot(5.0, 100)), WindowRef::SevenDays, 0).unwrap_err();
        assert!(e.contains("its 7d window"), "{e}");
    }
}
