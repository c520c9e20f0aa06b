//! Provider selection: which of the credentials on this machine a request
//! (or an agent) should use, and why.
//!
//! People running many agents have several usable credentials at once: a
//! Claude subscription, an Anthropic API key, a ChatGPT login, an OpenAI API
//! key. [`Providers::candidates`](crate::Providers::candidates) lists every
//! usable one across both chains (from one resolution each) with its
//! [`CandidateClass`]; [`Providers::manager_for`](crate::Providers::manager_for)
//! builds an engine that resolves exactly that credential (with the usual
//! refresh rules: locks, persist before use, rotation safety). A strategy
//! ([`Strategy`]) picks one, from cached usage only (never a network call in
//! the decision), and says why in one line ([`Decision`]).
//!
//! The `[selection]` settings table is parsed in
//! [`crate::config::selection`]; the user's preferences (strategy, failover,
//! cost, the last decision) live in [`preferences`].

mod candidates;
pub mod decide;
pub mod preferences;
mod run;
mod view;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::credential::Provider;
use crate::source::SourceId;

pub use candidates::class_of;
pub use decide::{decide, Decision, Inputs, NoChoice, NotChosen, SelectRequest};
pub use run::{SelectError, Selection};
pub use view::{ClassLatency, UsageView, WindowState};

/// What a usable credential is, for billing: a subscription (usage counts
/// against its windows, nothing is billed per token) or an API key (billed
/// per token, pay as you go).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CandidateClass {
    /// A Claude OAuth login (Pro, Max, Team, Enterprise).
    AnthropicSubscription,
    /// An Anthropic API key (also a bearer token from `ANTHROPIC_AUTH_TOKEN`
    /// or a gateway, and workload identity federation: billed per token).
    AnthropicApiKey,
    /// A ChatGPT login (Codex's, or claude-auth's own).
    OpenaiSubscription,
    /// An OpenAI API key.
    OpenaiApiKey,
}

impl CandidateClass {
    /// Every class, in the order `fallback` examples list them.
    pub const ALL: [CandidateClass; 4] = [
        CandidateClass::AnthropicSubscription,
        CandidateClass::AnthropicApiKey,
        CandidateClass::OpenaiSubscription,
        CandidateClass::OpenaiApiKey,
    ];

    /// The kebab-case name (settings, JSON, CLI).
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateClass::AnthropicSubscription => "anthropic-subscription",
            CandidateClass::AnthropicApiKey => "anthropic-api-key",
            CandidateClass::OpenaiSubscription => "openai-subscription",
            CandidateClass::OpenaiApiKey => "openai-api-key",
        }
    }

    /// Whose credential it is.
    pub fn provider(self) -> Provider {
        match self {
            CandidateClass::AnthropicSubscription | CandidateClass::AnthropicApiKey => {
                Provider::Anthropic
            }
            CandidateClass::OpenaiSubscription | CandidateClass::OpenaiApiKey => Provider::Openai,
        }
    }

    /// Whether it is a subscription (nothing billed per token).
    pub fn is_subscription(self) -> bool {
        matches!(
            self,
            CandidateClass::AnthropicSubscription | CandidateClass::OpenaiSubscription
        )
    }
}

impl fmt::Display for CandidateClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CandidateClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CandidateClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown credential class {s:?}; use one of {}",
                    CandidateClass::ALL.map(CandidateClass::as_str).join(", ")
                )
            })
    }
}

/// One entry of a list of credentials (the `fallback` setting): a class, or
/// a provider alone, meaning "that provider's winner, whatever its class".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClassOrProvider {
    /// A class (`anthropic-api-key`, …).
    Class(CandidateClass),
    /// A provider alone (`anthropic`, `openai`).
    Provider(Provider),
}

impl ClassOrProvider {
    /// Whether `candidate` fits this entry (a provider alone fits only its
    /// chain's winner).
    pub fn matches(&self, candidate: &Candidate) -> bool {
        match self {
            ClassOrProvider::Class(c) => candidate.class == *c,
            ClassOrProvider::Provider(p) => candidate.provider == *p && candidate.winner,
        }
    }
}

impl fmt::Display for ClassOrProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassOrProvider::Class(c) => f.write_str(c.as_str()),
            ClassOrProvider::Provider(p) => f.write_str(p.as_str()),
        }
    }
}

impl FromStr for ClassOrProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "anthropic" => Ok(ClassOrProvider::Provider(Provider::Anthropic)),
            "openai" => Ok(ClassOrProvider::Provider(Provider::Openai)),
            other => other.parse().map(ClassOrProvider::Class).map_err(|_| {
                format!(
                    "unknown entry {other:?}; use a credential class ({}) or a provider alone (anthropic, openai)",
                    CandidateClass::ALL.map(CandidateClass::as_str).join(", ")
                )
            }),
        }
    }
}

impl Serialize for ClassOrProvider {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A usable credential one of the chains found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// Whose.
    pub provider: Provider,
    /// Subscription or API key.
    pub class: CandidateClass,
    /// The source that holds it.
    pub source: SourceId,
    /// The profile, for profile sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The usage cache and ledger key ([`crate::usage::login_key`]).
    pub login: String,
    /// Whether it is its chain's winner (what that provider hands out today).
    pub winner: bool,
    /// The plan (`pro`, `max`, `plus`, …), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Where it is kept, for display.
    pub location: String,
}

impl Candidate {
    /// `anthropic-subscription (profile work)`, `anthropic-api-key
    /// (ANTHROPIC_API_KEY)`: the class and where it is.
    pub fn describe(&self) -> String {
        match &self.profile {
            Some(p) => format!("{} (profile {p})", self.class),
            None => format!("{} ({})", self.class, self.source.label()),
        }
    }
}

/// How a credential is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Anthropic's winner when Anthropic has a usable credential, else OpenAI's.
    PreferAnthropic,
    /// OpenAI's winner when OpenAI has a usable credential, else Anthropic's.
    PreferOpenai,
    /// A subscription while every one of its windows is under the threshold
    /// (default 80 %), else an API key.
    SubscriptionFirst,
    /// Whatever costs the least extra: a subscription not used up, else an
    /// API key (ranked in the manual order: no prices are kept).
    Cheapest,
    /// The class with the lowest median latency in the usage ledger.
    Fastest,
    /// Today's rule: the active provider's winner.
    Manual,
}

impl Strategy {
    /// Every strategy.
    pub const ALL: [Strategy; 6] = [
        Strategy::PreferAnthropic,
        Strategy::PreferOpenai,
        Strategy::SubscriptionFirst,
        Strategy::Cheapest,
        Strategy::Fastest,
        Strategy::Manual,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::PreferAnthropic => "prefer-anthropic",
            Strategy::PreferOpenai => "prefer-openai",
            Strategy::SubscriptionFirst => "subscription-first",
            Strategy::Cheapest => "cheapest",
            Strategy::Fastest => "fastest",
            Strategy::Manual => "manual",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Strategy::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown strategy {s:?}; use one of {}",
                    Strategy::ALL.map(Strategy::as_str).join(", ")
                )
            })
    }
}

/// What a request is for; a strategy may use it (see [`decide`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskHint {
    /// Writing code: long outputs, many tokens.
    CodeGeneration,
    /// Reading and reasoning over much input.
    Analysis,
    /// A short question: latency matters most.
    QuickQuery,
    /// Checking a result: short, latency matters.
    Validation,
}

impl TaskHint {
    /// Every hint.
    pub const ALL: [TaskHint; 4] = [
        TaskHint::CodeGeneration,
        TaskHint::Analysis,
        TaskHint::QuickQuery,
        TaskHint::Validation,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskHint::CodeGeneration => "code-generation",
            TaskHint::Analysis => "analysis",
            TaskHint::QuickQuery => "quick-query",
            TaskHint::Validation => "validation",
        }
    }

    /// The strategy a task uses when no strategy is set anywhere (flag,
    /// `CLAUDE_AUTH_STRATEGY`, preferences, `[selection]`): token-heavy work
    /// (code generation, analysis) `subscription-first`, short latency-bound
    /// requests (quick queries, validation) `fastest`.
    pub fn default_strategy(self) -> Strategy {
        match self {
            TaskHint::CodeGeneration | TaskHint::Analysis => Strategy::SubscriptionFirst,
            TaskHint::QuickQuery | TaskHint::Validation => Strategy::Fastest,
        }
    }
}

impl fmt::Display for TaskHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskHint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TaskHint::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown task {s:?}; use one of {}",
                    TaskHint::ALL.map(TaskHint::as_str).join(", ")
                )
            })
    }
}

/// A cost preference (preferences.json `cost`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CostPreference {
    /// Any usable credential may be chosen.
    #[default]
    Any,
    /// Never choose an API key (pay as you go) automatically: only
    /// subscriptions are candidates.
    SubscriptionOnly,
}

impl CostPreference {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CostPreference::Any => "any",
            CostPreference::SubscriptionOnly => "subscription-only",
        }
    }
}

impl fmt::Display for CostPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CostPreference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "any" => Ok(CostPreference::Any),
            "subscription-only" => Ok(CostPreference::SubscriptionOnly),
            other => Err(format!(
                "unknown cost preference {other:?}; use any or subscription-only"
            )),
        }
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
