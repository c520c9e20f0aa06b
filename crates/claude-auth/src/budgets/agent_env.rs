//! The variables an agent starts with (AGENTS.md, decision 5): its budget
//! as given, the tokens it has at the start, the subscription's plan and
//! each window's used share, all from what is already on disk (the usage
//! cache and the ledger): starting a child never waits on the network.

use std::path::Path;

use super::estimate::{estimate_now, latest_snapshot};
use super::spec::Budget;
use crate::credential::{now_unix, Provider};
use crate::usage::fetch::UsageFetcher;
use crate::usage::ledger::Ledger;
use crate::usage::Window;

/// The budget as given (`200000`, `20%5h`).
pub const AGENT_BUDGET: &str = "CLAUDE_AUTH_AGENT_BUDGET";
/// The tokens the budget leaves at the start (for a share of a window, the
/// estimate; absent while there is none).
pub const AGENT_BUDGET_TOKENS: &str = "CLAUDE_AUTH_AGENT_BUDGET_TOKENS";
/// The subscription's plan (`max`, `pro`, `plus`, …), when a subscription.
pub const SUBSCRIPTION_TIER: &str = "CLAUDE_AUTH_SUBSCRIPTION_TIER";

/// `CLAUDE_AUTH_WINDOW_<NAME>_PERCENT` for a window labelled `label`
/// (`5h` → `CLAUDE_AUTH_WINDOW_5H_PERCENT`, `7d opus` → `…_7D_OPUS_…`).
pub fn window_var(label: &str) -> String {
    let name: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CLAUDE_AUTH_WINDOW_{name}_PERCENT")
}

/// What an agent starts with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentStart {
    /// The budget as given.
    pub budget: Option<String>,
    /// The tokens it leaves now, when known.
    pub tokens_left: Option<u64>,
    /// The subscription's plan.
    pub plan: Option<String>,
    /// The login's windows whose numbers are current.
    pub windows: Vec<Window>,
}

impl AgentStart {
    /// The variables, in a stable order.
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        if let Some(b) = &self.budget {
            vars.push((AGENT_BUDGET.to_owned(), b.clone()));
        }
        if let Some(n) = self.tokens_left {
            vars.push((AGENT_BUDGET_TOKENS.to_owned(), n.to_string()));
        }
        if let Some(p) = &self.plan {
            vars.push((SUBSCRIPTION_TIER.to_owned(), p.clone()));
        }
        for w in &self.windows {
            let percent = (w.used_percent * 10.0).round() / 10.0;
            vars.push((window_var(&w.label), percent.to_string()));
        }
        vars
    }
}

/// A login's plan and current windows from the usage cache and the
/// ledger's latest headers (the newer of the two), without any network.
/// Windows that have reset since are left out.
pub fn cached_usage(
    state_dir: &Path,
    provider: &Provider,
    login: &str,
) -> (Option<String>, Vec<Window>) {
    let now = now_unix();
    let cached = UsageFetcher::new(state_dir)
        .ok()
        .and_then(|f| f.cached(provider, login));
    let plan = cached.as_ref().and_then(|r| r.plan.clone());
    let from_cache = cached.and_then(|r| r.snapshot);
    let from_ledger = Ledger::open_in(state_dir)
        .ok()
        .and_then(|l| latest_snapshot(&l, provider, login));
    let snapshot = match (from_cache, from_ledger) {
        (Some(a), Some(b)) => Some(if b.fetched_at > a.fetched_at { b } else { a }),
        (a, b) => a.or(b),
    };
    let plan = plan.or_else(|| snapshot.as_ref().and_then(|s| s.plan.clone()));
    let windows = snapshot
        .map(|s| {
            s.windows
                .into_iter()
                .filter(|w| w.resets_at.is_none_or(|r| r > now))
                .collect()
        })
        .unwrap_or_default();
    (plan, windows)
}

/// A new session's budget in tokens at its start, and for a share of a
/// window how it was estimated; the error says why a share cannot be
/// enforced yet.
pub fn tokens_at_start(
    budget: &Budget,
    state_dir: &Path,
    provider: &Provider,
    login: &str,
) -> Result<(u64, Option<String>), String> {
    match budget {
        Budget::Tokens { tokens, .. } => Ok((*tokens, None)),
        Budget::Share { percent, window } => {
            let ledger = Ledger::open_in(state_dir).map_err(|e| e.to_string())?;
            let estimate = estimate_now(&ledger, provider, login, *window, now_unix())?;
            Ok((estimate.tokens_for(*percent), Some(estimate.describe())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_by_name() {
        let start = AgentStart {
            budget: Some("20%5h".into()),
            tokens_left: Some(4000),
            plan: Some("max".into()),
            windows: vec![
                Window::new("five_hour", "5h", 42.0),
                Window::new("seven_day_opus", "7d opus", 7.25),
            ],
        };
        let got: Vec<(String, String)> = start.variables();
        let want: Vec<(String, String)> = [
            ("CLAUDE_AUTH_AGENT_BUDGET", "20%5h"),
            ("CLAUDE_AUTH_AGENT_BUDGET_TOKENS", "4000"),
            ("CLAUDE_AUTH_SUBSCRIPTION_TIER", "max"),
            ("CLAUDE_AUTH_WINDOW_5H_PERCENT", "42"),
            ("CLAUDE_AUTH_WINDOW_7D_OPUS_PERCENT", "7.3"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        assert_eq!(got, want);
        assert!(AgentStart::default().variables().is_empty());
    }
}
