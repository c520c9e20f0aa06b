//! A usage window (5 hours, 7 days, a per-model week) and its pace: how
//! much is used against how much of the window has passed, and when the
//! window runs out at the current rate. Vendors report the used share and
//! the reset time; everything here is derived from those two and the
//! window's length, never invented (there is no "daily limit").

use serde::{Deserialize, Serialize};

/// Five hours, the short subscription window of both vendors.
pub const FIVE_HOURS: u64 = 5 * 3600;
/// Seven days, the weekly window.
pub const SEVEN_DAYS: u64 = 7 * 86_400;

/// One usage window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// The vendor's name for it: `five_hour`, `seven_day_opus`, `primary`, …
    pub id: String,
    /// For humans: `5h`, `7d`, `7d opus`, …
    pub label: String,
    /// Share used, 0–100 (clamped).
    pub used_percent: f64,
    /// The window's length in seconds, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// When it resets, Unix seconds, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<u64>,
}

/// How a window is being spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaceState {
    /// Used less than the share of time passed.
    Under,
    /// Roughly in step with time.
    OnPace,
    /// Spending faster than the window allows: it runs out before it resets.
    Ahead,
    /// Used up.
    Exhausted,
}

impl PaceState {
    /// For humans.
    pub fn label(self) -> &'static str {
        match self {
            PaceState::Under => "under pace",
            PaceState::OnPace => "on pace",
            PaceState::Ahead => "ahead of pace",
            PaceState::Exhausted => "exhausted",
        }
    }
}

/// A window's pace at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pace {
    /// Share of the window's time passed, 0–100.
    pub elapsed_percent: f64,
    /// Used share over elapsed share (1.0 = exactly in step); `None` at the
    /// very start of a window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// When the window is used up at the current rate, Unix seconds, if
    /// that is before it resets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_out_at: Option<u64>,
    /// The verdict.
    pub state: PaceState,
}

impl Window {
    /// A window, its used share clamped to 0–100 (non-finite counts as 0),
    /// its id and label cleaned for a terminal ([`clean_text`](super::clean_text)).
    pub fn new(id: &str, label: &str, used_percent: f64) -> Window {
        let used = if used_percent.is_finite() {
            used_percent.clamp(0.0, 100.0)
        } else {
            0.0
        };
        Window {
            id: super::clean_text(id),
            label: super::clean_text(label),
            used_percent: used,
            window_secs: None,
            resets_at: None,
        }
    }

    /// The same, with its length and reset time.
    pub fn timed(mut self, window_secs: Option<u64>, resets_at: Option<u64>) -> Window {
        self.window_secs = window_secs.filter(|w| *w > 0);
        self.resets_at = resets_at;
        self
    }

    /// Seconds until it resets (0 once passed).
    pub fn resets_in(&self, now: u64) -> Option<u64> {
        self.resets_at.map(|r| r.saturating_sub(now))
    }

    /// The pace at `now`; `None` without both the length and the reset time.
    ///
    /// ```
    /// use claude_auth::usage::{PaceState, Window};
    /// // 5 h window, 2.5 h in, 75 % used: runs out after 3 h 20 min.
    /// let w = Window::new("five_hour", "5h", 75.0).timed(Some(18_000), Some(10_000 + 9_000));
    /// let pace = w.pace(10_000).unwrap();
    /// assert_eq!(pace.elapsed_percent, 50.0);
    /// assert_eq!(pace.state, PaceState::Ahead);
    /// assert_eq!(pace.runs_out_at, Some(10_000 + 3_000));
    /// ```
    pub fn pace(&self, now: u64) -> Option<Pace> {
        let length = self.window_secs?;
        let resets_at = self.resets_at?;
        let start = resets_at.saturating_sub(length);
        let elapsed = now.saturating_sub(start).min(length);
        let elapsed_percent = elapsed as f64 * 100.0 / length as f64;
        let used = self.used_percent;
        if used >= 100.0 {
            return Some(Pace {
                elapsed_percent,
                ratio: (elapsed > 0).then(|| used / elapsed_percent),
                runs_out_at: None,
                state: PaceState::Exhausted,
            });
        }
        if elapsed == 0 {
            return Some(Pace {
                elapsed_percent,
                ratio: None,
                runs_out_at: None,
                state: if used > 0.0 {
                    PaceState::Ahead
                } else {
                    PaceState::Under
                },
            });
        }
        let ratio = used / elapsed_percent;
        // The current rate, percent per second, carried forward.
        let rate = used / elapsed as f64;
        let runs_out_at = (rate > 0.0)
            .then(|| now as f64 + (100.0 - used) / rate)
            .filter(|t| t.is_finite() && *t < resets_at as f64)
            .map(|t| t.ceil() as u64);
        let state = if runs_out_at.is_some() {
            PaceState::Ahead
        } else if ratio < 0.9 {
            PaceState::Under
        } else {
            PaceState::OnPace
        };
        Some(Pace {
            elapsed_percent,
            ratio: Some(ratio),
            runs_out_at,
            state,
        })
    }
}

/// For humans: `5h` for 18,000 s, `7d` for 604,800 s, else minutes or hours.
pub fn window_label(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else {
        format!("{}m", secs.div_ceil(60))
    }
}

/// An API key's remaining requests or tokens, from the latest response
/// headers (there is no endpoint for these).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiLimit {
    /// `requests`, `tokens`, `input-tokens` or `output-tokens`.
    pub name: String,
    /// The limit per period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// What is left of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// When it is back to the limit, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<u64>,
}

impl ApiLimit {
    /// Share used, 0–100, when both limit and remaining are known.
    pub fn used_percent(&self) -> Option<f64> {
        match (self.limit, self.remaining) {
            (Some(limit), Some(remaining)) if limit > 0 => {
                Some((limit.saturating_sub(remaining)) as f64 * 100.0 / limit as f64)
            }
            _ => None,
        }
    }
}
