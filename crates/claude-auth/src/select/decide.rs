//! The strategies: from the candidates and what is cached about them, one
//! choice and a one-line reason. Pure: no file, no network, no clock (the
//! caller gives `now`), so a decision takes microseconds.
//!
//! - `manual`: the active provider's winner (today's rule: `--provider`,
//!   `CLAUDE_AUTH_PROVIDER`, `switch`, the only provider with a login,
//!   Anthropic).
//! - `prefer-anthropic` / `prefer-openai`: that provider's winner, whatever
//!   its class; the other's when it has none.
//! - `subscription-first`: the first subscription (in the manual order:
//!   the active provider's first) whose every window is under the threshold
//!   (a subscription with no cached usage counts as under: nothing says it
//!   is full); else the first API key; with no API key, the least used
//!   subscription.
//! - `cheapest`: a subscription not used up costs nothing extra, so the one
//!   with the most room (fullest window lowest; no cached usage after those
//!   with some); else an API key, in the manual order: claude-auth keeps no
//!   price list (what a key costs depends on the model the client asks for),
//!   so pay-as-you-go credentials are ranked by class only, and the reason
//!   says so.
//! - `fastest`: the class with the lowest median latency over its logins'
//!   recent successful requests in the usage ledger (last 24 h, up to 100
//!   per login); used-up subscriptions are skipped; with no latency for any
//!   candidate, the manual choice, and the reason says there was no data.
//!
//! Task hints choose the strategy when none is set anywhere
//! ([`TaskHint::default_strategy`]); a strategy given explicitly applies the
//! same rule whatever the task, and the decision records the task.
//! The cost preference `subscription-only` leaves API keys out entirely.

use serde::Serialize;

use crate::credential::Provider;
use crate::select::view::{UsageView, WindowState};
use crate::select::{Candidate, CostPreference, Strategy, TaskHint};

/// What a caller asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectRequest {
    /// The strategy from the command line (or code); beats every setting.
    pub strategy: Option<Strategy>,
    /// What the request is for.
    pub task: Option<TaskHint>,
    /// Only this provider's credentials (a client that speaks one API:
    /// Claude Code cannot be sent to OpenAI).
    pub provider: Option<Provider>,
    /// Do not record the decision (preferences.json, the ledger's `events`).
    pub dry_run: bool,
    /// The agent the choice is for (`exec --agent-id`), for the ledger's event.
    pub agent: Option<String>,
}

/// A candidate that was not chosen, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotChosen {
    /// The candidate.
    pub candidate: Candidate,
    /// Why not, in a few words.
    pub why: String,
}

/// A choice, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The chosen candidate's provider.
    pub provider: Provider,
    /// The chosen credential.
    pub candidate: Candidate,
    /// One line: the strategy, the rule that chose, the numbers it used.
    pub reason: String,
    /// When (Unix seconds).
    pub at: u64,
    /// The strategy applied.
    pub strategy: Strategy,
    /// The task hint, if one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskHint>,
    /// Every other candidate and why it was not chosen.
    pub others: Vec<NotChosen>,
}

/// Everything a strategy reads.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The usable credentials, Anthropic's chain first, each in its order.
    pub candidates: &'a [Candidate],
    /// Their cached usage and latencies.
    pub view: &'a UsageView,
    /// The active provider (the manual rule's answer).
    pub active: &'a Provider,
    /// Why it is active.
    pub active_reason: &'a str,
    /// `subscription-first`'s threshold, percent.
    pub threshold: u8,
    /// The cost preference.
    pub cost: CostPreference,
    /// Now, Unix seconds.
    pub now: u64,
}

/// Why nothing could be chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoChoice(pub String);

fn pct(p: f64) -> String {
    format!("{}%", p.round())
}

/// Decide with `strategy`. An error only when no candidate is left (none
/// usable, or none a subscription under `subscription-only`).
pub fn decide(
    inputs: &Inputs<'_>,
    strategy: Strategy,
    task: Option<TaskHint>,
) -> Result<Decision, NoChoice> {
    let all = inputs.candidates;
    if all.is_empty() {
        return Err(NoChoice("no usable credential for either provider; log in with `claude-auth login` (Claude) or `claude-auth login --provider chatgpt`, or set ANTHROPIC_API_KEY / OPENAI_API_KEY".into()));
    }
    // The manual order: the active provider's candidates first.
    let mut order: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].provider == *inputs.active)
        .collect();
    order.extend((0..all.len()).filter(|&i| all[i].provider != *inputs.active));
    let mut excluded: Vec<(usize, String)> = Vec::new();
    if inputs.cost == CostPreference::SubscriptionOnly {
        order.retain(|&i| {
            let keep = all[i].class.is_subscription();
            if !keep {
                excluded.push((
                    i,
                    "an API key, and the cost preference is subscription-only".into(),
                ));
            }
            keep
        });
        if order.is_empty() {
            return Err(NoChoice("the cost preference is subscription-only and no subscription is usable; log in to one, or change it with `claude-auth switch --cost any`".into()));
        }
    }
    let state = |i: usize| {
        inputs
            .view
            .state(&all[i].login, inputs.threshold, inputs.now)
    };
    let (chosen, reason) = match strategy {
        Strategy::Manual => manual(inputs, &order),
        Strategy::PreferAnthropic => prefer(inputs, &order, Provider::Anthropic),
        Strategy::PreferOpenai => prefer(inputs, &order, Provider::Openai),
        Strategy::SubscriptionFirst => subscription_first(inputs, &order, &state),
        Strategy::Cheapest => cheapest(inputs, &order, &state),
        Strategy::Fastest => fastest(inputs, &order, &state),
    };
    let mut others: Vec<NotChosen> = order
        .iter()
        .filter(|&&i| i != chosen)
        .map(|&i| NotChosen {
            candidate: all[i].clone(),
            why: why_not(inputs, strategy, i, chosen, &state(i)),
        })
        .collect();
    others.extend(excluded.into_iter().map(|(i, why)| NotChosen {
        candidate: all[i].clone(),
        why,
    }));
    Ok(Decision {
        provider: all[chosen].provider.clone(),
        candidate: all[chosen].clone(),
        reason: format!("{strategy}: {reason}"),
        at: inputs.now,
        strategy,
        task,
        others,
    })
}

fn winner_of(inputs: &Inputs<'_>, order: &[usize], provider: &Provider) -> Option<usize> {
    let mine = || {
        order
            .iter()
            .copied()
            .filter(|&i| inputs.candidates[i].provider == *provider)
    };
    mine()
        .find(|&i| inputs.candidates[i].winner)
        .or_else(|| mine().next())
}

fn manual(inputs: &Inputs<'_>, order: &[usize]) -> (usize, String) {
    let all = inputs.candidates;
    match winner_of(inputs, order, inputs.active) {
        Some(i) => (
            i,
            format!(
                "the active provider, {} ({}), hands out {}",
                inputs.active,
                inputs.active_reason,
                all[i].describe()
            ),
        ),
        None => (
            order[0],
            format!(
                "the active provider, {}, has no usable credential; {} is the other provider's",
                inputs.active,
                all[order[0]].describe()
            ),
        ),
    }
}

fn prefer(inputs: &Inputs<'_>, order: &[usize], provider: Provider) -> (usize, String) {
    let all = inputs.candidates;
    match winner_of(inputs, order, &provider) {
        Some(i) => (
            i,
            format!(
                "{}'s credential, {}",
                provider.display_name(),
                all[i].describe()
            ),
        ),
        None => {
            let other = if provider == Provider::Anthropic {
                Provider::Openai
            } else {
                Provider::Anthropic
            };
            let i = winner_of(inputs, order, &other).unwrap_or(order[0]);
            (
                i,
                format!(
                    "{} has no usable credential; {}'s, {}",
                    provider.display_name(),
                    other.display_name(),
                    all[i].describe()
                ),
            )
        }
    }
}

/// Why a subscription has or lacks room, for reasons.
fn state_text(state: &WindowState, threshold: u8) -> String {
    match state {
        WindowState::Unknown => "no cached usage (`claude-auth usage` fetches it)".into(),
        WindowState::Under(Some((label, p))) => {
            format!(
                "every window under {threshold}% (fullest: {label} at {})",
                pct(*p)
            )
        }
        WindowState::Under(None) => "no window reported".into(),
        WindowState::Over(label, p) => {
            format!(
                "its {label} window is at {} (threshold {threshold}%)",
                pct(*p)
            )
        }
        WindowState::Exhausted(why) => format!("used up: {why}"),
    }
}

fn subscription_first(
    inputs: &Inputs<'_>,
    order: &[usize],
    state: &dyn Fn(usize) -> WindowState,
) -> (usize, String) {
    let all = inputs.candidates;
    let t = inputs.threshold;
    let subs: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| all[i].class.is_subscription())
        .collect();
    if let Some(&i) = subs
        .iter()
        .find(|&&i| matches!(state(i), WindowState::Under(_) | WindowState::Unknown))
    {
        return (
            i,
            format!("{}: {}", all[i].describe(), state_text(&state(i), t)),
        );
    }
    let full = subs
        .first()
        .map(|&i| format!("{}: {}", all[i].describe(), state_text(&state(i), t)));
    if let Some(&k) = order.iter().find(|&&i| !all[i].class.is_subscription()) {
        let why = match full {
            Some(f) => format!("{f}; using {}, billed per token", all[k].describe()),
            None => format!(
                "no subscription is usable; using {}, billed per token",
                all[k].describe()
            ),
        };
        return (k, why);
    }
    // Only subscriptions, none under the threshold: the least used.
    let i = least_used(inputs, &subs, state).unwrap_or(order[0]);
    (
        i,
        format!(
            "no subscription is under {t}% and there is no API key to move to; staying on {}: {}",
            all[i].describe(),
            state_text(&state(i), t)
        ),
    )
}

/// The fullest window's percent, for ranking (unknown: `None`).
fn fullness(state: &WindowState) -> Option<f64> {
    match state {
        WindowState::Under(Some((_, p))) | WindowState::Over(_, p) => Some(*p),
        WindowState::Under(None) => Some(0.0),
        WindowState::Exhausted(_) => Some(100.0),
        WindowState::Unknown => None,
    }
}

/// The candidate among `subs` with the most room: known usage first, lowest
/// fullest window; then those without cached usage, in order.
fn least_used(
    _inputs: &Inputs<'_>,
    subs: &[usize],
    state: &dyn Fn(usize) -> WindowState,
) -> Option<usize> {
    let known = subs
        .iter()
        .copied()
        .filter_map(|i| fullness(&state(i)).map(|f| (i, f)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i);
    known.or_else(|| subs.first().copied())
}

fn cheapest(
    inputs: &Inputs<'_>,
    order: &[usize],
    state: &dyn Fn(usize) -> WindowState,
) -> (usize, String) {
    let all = inputs.candidates;
    let room: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| all[i].class.is_subscription())
        .filter(|&i| !matches!(state(i), WindowState::Exhausted(_)))
        .collect();
    if let Some(i) = least_used(inputs, &room, state) {
        return (
            i,
            format!(
                "{} costs nothing extra (a subscription not used up; {})",
                all[i].describe(),
                state_text(&state(i), inputs.threshold)
            ),
        );
    }
    if let Some(&k) = order.iter().find(|&&i| !all[i].class.is_subscription()) {
        return (
            k,
            format!(
                "no subscription has room left; {} is billed per token (API keys are taken in the manual order: claude-auth keeps no price list)",
                all[k].describe()
            ),
        );
    }
    let i = order[0];
    (
        i,
        format!(
            "every subscription is used up and there is no API key; {}: {}",
            all[i].describe(),
            state_text(&state(i), inputs.threshold)
        ),
    )
}

fn fastest(
    inputs: &Inputs<'_>,
    order: &[usize],
    state: &dyn Fn(usize) -> WindowState,
) -> (usize, String) {
    let all = inputs.candidates;
    let open: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| !matches!(state(i), WindowState::Exhausted(_)))
        .collect();
    let best = open
        .iter()
        .filter_map(|&i| inputs.view.latency(all[i].class).map(|l| (i, l)))
        .min_by_key(|(_, l)| l.median_ms);
    let Some((_, best)) = best else {
        let (i, why) = manual(inputs, order);
        return (
            i,
            format!("no latency recorded in the usage ledger for any candidate (requests through `claude-auth proxy`, `exec` or `chat` record it); the manual choice: {why}"),
        );
    };
    // The class's first candidate in the manual order (its winner first).
    let i = open
        .iter()
        .copied()
        .filter(|&i| all[i].class == best.class)
        .find(|&i| all[i].winner)
        .or_else(|| open.iter().copied().find(|&i| all[i].class == best.class))
        .unwrap_or(order[0]);
    (
        i,
        format!(
            "{} has the lowest median latency, {} ms over {} recent requests",
            all[i].describe(),
            best.median_ms,
            best.samples
        ),
    )
}

/// Why candidate `i` lost to `chosen` under `strategy`, in a few words.
fn why_not(
    inputs: &Inputs<'_>,
    strategy: Strategy,
    i: usize,
    chosen: usize,
    state: &WindowState,
) -> String {
    let all = inputs.candidates;
    let (c, winner) = (&all[i], &all[chosen]);
    let t = inputs.threshold;
    let behind = || {
        if c.class == winner.class {
            format!("same class, after {} in the order", winner.login)
        } else {
            format!("{} ranks first", winner.class)
        }
    };
    match strategy {
        Strategy::Manual | Strategy::PreferAnthropic | Strategy::PreferOpenai => {
            if c.provider != winner.provider {
                format!(
                    "not the {} provider",
                    if strategy == Strategy::Manual {
                        "active"
                    } else {
                        "preferred"
                    }
                )
            } else if !c.winner {
                format!("shadowed in {}'s chain by {}", c.provider, winner.login)
            } else {
                behind()
            }
        }
        Strategy::SubscriptionFirst | Strategy::Cheapest if c.class.is_subscription() => {
            match state {
                WindowState::Under(_) | WindowState::Unknown => {
                    format!("{}; {}", state_text(state, t), behind())
                }
                other => state_text(other, t),
            }
        }
        Strategy::SubscriptionFirst | Strategy::Cheapest => {
            if winner.class.is_subscription() {
                "an API key, billed per token; a subscription has room".into()
            } else {
                behind()
            }
        }
        Strategy::Fastest => match (state, inputs.view.latency(c.class)) {
            (WindowState::Exhausted(why), _) => format!("used up: {why}"),
            (_, Some(l)) => format!("median {} ms over {} requests", l.median_ms, l.samples),
            (_, None) => "no latency recorded".into(),
        },
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
