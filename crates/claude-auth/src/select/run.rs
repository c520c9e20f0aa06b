//! [`Providers::select`]: the settings in effect, the candidates, their
//! cached usage, the strategy's choice, and the choice recorded.

use crate::credential::now_unix;
use crate::engine::providers::Providers;
use crate::error::Error;
use crate::select::decide::{decide, Decision, Inputs, NoChoice, SelectRequest};
use crate::select::preferences::{effective, record_selection, Effective};
use crate::select::view::UsageView;
use crate::select::Candidate;
use crate::usage::events::{Event, EVENT_SELECTION};
use crate::usage::ledger::Ledger;
use crate::usage::state_dir;

/// Why [`Providers::select`] could not choose.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// A setting (`CLAUDE_AUTH_STRATEGY`, preferences.json, the active
    /// provider's record) could not be used; the error names it.
    #[error(transparent)]
    Settings(#[from] Error),
    /// No candidate to choose from.
    #[error(transparent)]
    NoChoice(#[from] NoChoice),
}

/// A decision and everything that went into it (what `select --json` shows).
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    /// The choice.
    #[serde(flatten)]
    pub decision: Decision,
    /// The settings in effect and where each came from.
    pub settings: Effective,
    /// Every usable credential considered.
    pub candidates: Vec<Candidate>,
    /// Whether the decision was recorded in preferences.json.
    pub recorded: bool,
    /// What could not be read or written, and chains a broken chosen source
    /// stopped (never fatal to the decision).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Providers {
    /// Choose a credential for `request`: the settings in effect (flag >
    /// `CLAUDE_AUTH_STRATEGY` > preferences.json > `[selection]` > the
    /// task's default > `manual`), every usable candidate, their cached
    /// usage (no network call), the strategy's choice with its reason; the
    /// choice is recorded as the last selection (preferences.json) and as a
    /// `selection` event in the usage ledger, unless `dry_run`.
    /// `request.provider` narrows the candidates to one provider.
    ///
    /// ```no_run
    /// use claude_auth::{Env, Providers};
    /// use claude_auth::select::{SelectRequest, Strategy};
    /// let providers = Providers::new(Env::from_process())?;
    /// let chosen = providers.select(&SelectRequest {
    ///     strategy: Some(Strategy::SubscriptionFirst),
    ///     ..SelectRequest::default()
    /// })?;
    /// println!("{}: {}", chosen.decision.candidate.class, chosen.decision.reason);
    /// let manager = providers.manager_for(&chosen.decision.candidate)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn select(&self, request: &SelectRequest) -> Result<Selection, SelectError> {
        let settings = effective(
            self.env(),
            self.settings(),
            request.strategy,
            None,
            request.task,
        )?;
        let (mut candidates, mut notes) = self.candidates_explained();
        if let Some(p) = &request.provider {
            candidates.retain(|c| &c.provider == p);
        }
        let now = now_unix();
        let view = UsageView::load(&state_dir(self.env()), &candidates, now);
        notes.extend(view.notes.iter().cloned());
        let active = match &request.provider {
            Some(p) => crate::engine::active_provider::ActiveProvider {
                provider: p.clone(),
                profile: None,
                reason: format!("--provider {p}"),
                origin: crate::engine::active_provider::Origin::Flag,
            },
            None => self.active_with(|p| candidates.iter().any(|c| &c.provider == p))?,
        };
        let decision = decide(
            &Inputs {
                candidates: &candidates,
                view: &view,
                active: &active.provider,
                active_reason: &active.reason,
                threshold: settings.subscription_threshold_percent.value,
                cost: settings.cost.value,
                now,
            },
            settings.strategy.value,
            request.task,
        )?;
        let mut recorded = false;
        if !request.dry_run {
            match record_selection(self.env(), &decision) {
                Ok(_) => recorded = true,
                Err(e) => notes.push(format!("the decision was not recorded: {e}")),
            }
            if self.settings().usage_ledger {
                let event = Event {
                    at: decision.at,
                    kind: EVENT_SELECTION.into(),
                    agent: request.agent.clone(),
                    provider: Some(decision.provider.as_str().into()),
                    profile: Some(decision.candidate.login.clone()),
                    detail: format!(
                        "chose {}: {}",
                        decision.candidate.describe(),
                        decision.reason
                    ),
                };
                if let Err(e) =
                    Ledger::open_in(&state_dir(self.env())).and_then(|l| l.record_event(&event))
                {
                    notes.push(format!(
                        "the decision was not written to the usage ledger: {e}"
                    ));
                }
            }
        }
        Ok(Selection {
            decision,
            settings,
            candidates,
            recorded,
            notes,
        })
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
