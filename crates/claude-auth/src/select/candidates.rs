//! Every usable credential on the machine, across both chains, and an
//! engine pinned to one of them.

use crate::credential::{Credential, Provider};
use crate::engine::manager::{AuthError, AuthManager};
use crate::engine::providers::Providers;
use crate::error::{Error, Result};
use crate::select::{Candidate, CandidateClass};
use crate::source::{Found, Pin, Resolution, ResolveOptions};
use crate::usage::login_key;

/// The class of what a source found for `provider`: an OAuth token set is a
/// subscription (a Claude or ChatGPT login); an API key, a bearer token
/// (`ANTHROPIC_AUTH_TOKEN`, a gateway's token: nothing says it is a
/// subscription) and workload identity federation (an organization's API
/// access) are billed per token, so API keys.
pub fn class_of(provider: &Provider, found: &Found) -> CandidateClass {
    let subscription = matches!(found.credential, Some(Credential::OAuth(_)));
    match (provider, subscription) {
        (Provider::Anthropic, true) => CandidateClass::AnthropicSubscription,
        (Provider::Anthropic, false) => CandidateClass::AnthropicApiKey,
        (Provider::Openai, true) => CandidateClass::OpenaiSubscription,
        (Provider::Openai, false) => CandidateClass::OpenaiApiKey,
    }
}

/// The usable credentials of one chain's resolution (walked with
/// `examine_all`), in its precedence order; none when a source the user
/// chose is broken and stopped the chain (that error is what the chain
/// says, and no other source stands in for it), with why.
pub(crate) fn from_resolution(resolution: &Resolution) -> (Vec<Candidate>, Option<String>) {
    if let Some((id, e)) = &resolution.error {
        return (
            Vec::new(),
            Some(format!("{}: {id}: {e}", resolution.provider)),
        );
    }
    let provider = &resolution.provider;
    let list = resolution
        .reports
        .iter()
        .filter_map(|r| Some((r, r.found()?)))
        .filter(|(_, found)| match &found.credential {
            Some(c) => !c.is_expired_at(resolution.now) || c.can_refresh(),
            None => found.federation().is_some(),
        })
        .map(|(r, found)| Candidate {
            provider: provider.clone(),
            class: class_of(provider, found),
            source: r.id,
            profile: found.profile.clone(),
            login: login_key(r.id, found.profile.as_deref()),
            winner: r.winner,
            plan: found
                .credential
                .as_ref()
                .and_then(Credential::token_set)
                .and_then(|s| s.identity.subscription_type.clone()),
            location: found.location.clone(),
        })
        .collect();
    (list, None)
}

impl Providers {
    /// Every usable credential across both chains (each walked once, with
    /// `examine_all`), Anthropic's chain first, each in its precedence
    /// order: class, source, profile, whether it is its chain's winner.
    /// Expired credentials that cannot be refreshed are left out, and so is
    /// a chain whose chosen source is broken.
    pub fn candidates(&self) -> Vec<Candidate> {
        self.candidates_explained().0
    }

    /// [`Providers::candidates`], and why a chain gave none when a source the
    /// user chose stopped it.
    pub fn candidates_explained(&self) -> (Vec<Candidate>, Vec<String>) {
        let mut all = Vec::new();
        let mut notes = Vec::new();
        for provider in &Provider::ALL {
            let (list, note) = from_resolution(&self.resolve(provider, true));
            all.extend(list);
            notes.extend(note);
        }
        (all, notes)
    }

    /// An engine that resolves exactly `candidate`'s credential (its source,
    /// and its profile), with every usual rule: refresh ahead of expiry
    /// under the backing's lock, persist before use, a dead refresh token
    /// never presented again. When the source no longer holds that
    /// credential the engine says so, instead of another source standing in.
    pub fn manager_for(&self, candidate: &Candidate) -> Result<AuthManager> {
        let provider = &candidate.provider;
        let mut options = self.manager_options(provider).clone();
        options.resolve = ResolveOptions {
            examine_all: false,
            pin: Some(Pin {
                source: candidate.source,
                profile: candidate.profile.clone(),
            }),
            ..options.resolve
        };
        AuthManager::new(self.resolver(provider).clone(), options).map_err(|e| match e {
            AuthError::Store(e) => e,
            other => Error::Unsupported(other.to_string()),
        })
    }
}

#[cfg(test)]
#[path = "candidates_tests.rs"]
mod tests;
