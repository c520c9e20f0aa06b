//! [`Providers`]: one object for both vendors' logins.
//!
//! People who run coding agents have a Claude login and a Codex login on the
//! same machine. `Providers` holds an [`AuthManager`] per provider (each
//! built on first use, so a command for one provider never resolves the
//! other), lists the providers and their usable logins, hands out a
//! credential for a given provider or for the active one, and records which
//! provider is active and why ([`active_provider`](crate::engine::active_provider)).
//!
//! ```no_run
//! use claude_auth::{Env, Providers};
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let providers = Providers::new(Env::from_process())?;
//! let active = providers.active()?;
//! println!("{} ({})", active.provider, active.reason);
//! let (provider, obtained) = providers.obtain(None).await?;
//! println!("a {} for {provider}", obtained.credential.kind().label());
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Serialize;

use crate::config::env::Env;
use crate::config::locations::validate_profile_name;
use crate::config::settings::Settings;
use crate::credential::{now_unix, Credential, Provider};
use crate::engine::active_provider::{self, ActiveProvider, Origin, SwitchRecord};
use crate::engine::manager::{AuthError, AuthManager, ManagerOptions, Obtained};
use crate::error::{Error, Result};
use crate::profiles::{Activated, ProfileError, Profiles};
use crate::source::{NoCredential, Resolution, ResolveOptions, Resolver, SourceId};
use crate::status::{rfc3339, summarize};

/// One usable (or expired) login a provider's chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    /// The source that holds it.
    pub source: SourceId,
    /// Whether it is the one the chain hands out.
    pub winner: bool,
    /// `apiKey`, `bearerToken`, `oauthToken` or `workloadIdentity`.
    pub kind: String,
    /// The profile, for profile sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The plan (`pro`, `max`, `plus`, …), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The account id (ChatGPT account, Claude account UUID), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The account's email, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Where it is kept.
    pub location: String,
    /// Whether it has expired (and cannot be refreshed).
    pub expired: bool,
}

/// A provider and its logins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailableProvider {
    /// The provider.
    pub provider: Provider,
    /// Whether its chain hands out a usable credential.
    pub usable: bool,
    /// What its chain found, in precedence order.
    pub logins: Vec<Login>,
    /// Why nothing usable resolved, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What [`Providers::switch`] did.
#[derive(Clone, Debug)]
pub struct Switched {
    /// What was recorded.
    pub record: SwitchRecord,
    /// Where.
    pub path: PathBuf,
    /// The error the previous record gave, when it could not be read and
    /// this switch replaced it.
    pub replaced_unreadable: Option<String>,
    /// Where the profile named with `--profile` was made active.
    pub profile_activation: Option<ProfileActivation>,
    /// The active provider now (a flag or `CLAUDE_AUTH_PROVIDER` still
    /// overrides the record).
    pub active: ActiveProvider,
    /// Whether the provider switched to has a usable login.
    pub usable: bool,
}

/// Where a profile was made active.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileActivation {
    /// Anthropic's: `active_config`, or claude-auth's own pointer.
    Anthropic(Activated),
    /// Ours for OpenAI: `<own_config_dir>/openai/active`.
    Openai(PathBuf),
}

/// What [`Providers::choose`] found: the active provider and its
/// credential, or why it has none usable.
#[derive(Debug)]
pub struct Chosen {
    /// The active provider.
    pub provider: Provider,
    /// Its credential (refreshed when due), or why there is none usable.
    pub obtained: std::result::Result<Obtained, AuthError>,
    /// Whether the other provider's chain was walked on the way and had no
    /// usable login (a caller wanting its credential too need not ask).
    pub other_unusable: bool,
}

/// Whether `e` means "no usable login" by [`usable`]'s measure: none, a
/// broken source, or expired with no way to refresh.
fn no_usable_login(e: &AuthError) -> bool {
    matches!(
        e,
        AuthError::NoCredential(NoCredential::None | NoCredential::Failed { .. })
            | AuthError::Expired { .. }
    )
}

/// Both providers' managers, the active provider, and `switch`.
#[derive(Debug)]
pub struct Providers {
    env: Env,
    settings: Settings,
    flag: Option<Provider>,
    options: [ManagerOptions; 2],
    resolvers: [OnceLock<Resolver>; 2],
    managers: [OnceLock<AuthManager>; 2],
}

fn slot(provider: &Provider) -> usize {
    match provider {
        Provider::Anthropic => 0,
        Provider::Openai => 1,
    }
}

/// Whether a resolution hands out something usable: a credential that is
/// valid or can be refreshed, or a federation exchange.
pub fn usable(resolution: &Resolution) -> bool {
    match resolution.credential() {
        Ok(c) => !c.is_expired_at(resolution.now) || c.can_refresh(),
        Err(NoCredential::NeedsExchange) => true,
        Err(_) => false,
    }
}

impl Providers {
    /// Both providers for `env`, with the settings it points at.
    pub fn new(env: Env) -> Result<Providers> {
        let settings = Settings::load(&env)?;
        Ok(Providers::with_settings(env, settings))
    }

    /// Both providers with given settings.
    pub fn with_settings(env: Env, settings: Settings) -> Providers {
        Providers {
            env,
            settings,
            flag: None,
            options: [ManagerOptions::default(), ManagerOptions::default()],
            resolvers: [OnceLock::new(), OnceLock::new()],
            managers: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// A provider chosen on the command line (`--provider`) or in code: it
    /// beats every other rule of [`Providers::active`].
    pub fn with_provider(mut self, provider: Option<Provider>) -> Providers {
        self.flag = provider;
        self
    }

    /// The options `provider`'s manager is built with (an explicit profile,
    /// a refresh threshold, …). Set before its first use.
    pub fn with_options(mut self, provider: &Provider, options: ManagerOptions) -> Providers {
        self.options[slot(provider)] = options;
        self
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The options `provider`'s manager is built with.
    pub fn manager_options(&self, provider: &Provider) -> &ManagerOptions {
        &self.options[slot(provider)]
    }

    /// `provider`'s resolver (built on first use).
    pub fn resolver(&self, provider: &Provider) -> &Resolver {
        self.resolvers[slot(provider)].get_or_init(|| {
            Resolver::for_provider(self.env.clone(), self.settings.clone(), provider.clone())
        })
    }

    /// `provider`'s manager (built on first use).
    pub fn manager(&self, provider: &Provider) -> Result<&AuthManager, AuthError> {
        let cell = &self.managers[slot(provider)];
        if let Some(m) = cell.get() {
            return Ok(m);
        }
        let built = AuthManager::new(
            self.resolver(provider).clone(),
            self.options[slot(provider)].clone(),
        )?;
        // A racing caller may have built one first; nobody holds the loser.
        Ok(cell.get_or_init(|| built))
    }

    /// `provider`'s chain, walked with its manager's options
    /// (`examine_all` for a full record, as `status` wants).
    pub fn resolve(&self, provider: &Provider, examine_all: bool) -> Resolution {
        let options = ResolveOptions {
            examine_all,
            ..self.options[slot(provider)].resolve.clone()
        };
        self.resolver(provider).resolve(&options)
    }

    /// Whether `provider`'s chain hands out something usable.
    pub fn has_usable_login(&self, provider: &Provider) -> bool {
        usable(&self.resolve(provider, false))
    }

    /// Every provider and what its chain found.
    pub fn available_providers(&self) -> Vec<AvailableProvider> {
        Provider::ALL
            .iter()
            .map(|provider| {
                let resolution = self.resolve(provider, true);
                let now = resolution.now;
                let logins = resolution
                    .reports
                    .iter()
                    .filter_map(|r| Some((r, r.found()?)))
                    .map(|(r, found)| {
                        let summary = summarize(found, now);
                        let identity = found
                            .credential
                            .as_ref()
                            .and_then(Credential::token_set)
                            .map(|s| &s.identity);
                        Login {
                            source: r.id,
                            winner: r.winner,
                            kind: summary.kind,
                            profile: summary.profile,
                            plan: summary.subscription,
                            account: identity.and_then(|i| i.account_uuid.clone()),
                            email: identity.and_then(|i| i.email.clone()),
                            location: summary.location,
                            expired: summary.expired && !summary.refreshable,
                        }
                    })
                    .collect();
                let ok = usable(&resolution);
                AvailableProvider {
                    provider: provider.clone(),
                    usable: ok,
                    logins,
                    error: match resolution.credential() {
                        Err(e) if !ok => Some(e.to_string()),
                        _ if !ok => {
                            Some("the credential has expired and cannot be refreshed".into())
                        }
                        _ => None,
                    },
                }
            })
            .collect()
    }

    /// Where `switch` records its choice.
    pub fn record_path(&self) -> PathBuf {
        active_provider::record_path(&self.env)
    }

    /// What `switch` recorded, if anything (an unusable record is an error
    /// naming the file and the fix).
    pub fn record(&self) -> Result<Option<SwitchRecord>> {
        SwitchRecord::load(&self.record_path())
    }

    /// The active provider and why, first rule that answers: `--provider`
    /// ([`Providers::with_provider`]), `CLAUDE_AUTH_PROVIDER`, the `switch`
    /// record, the only provider with a usable login, Anthropic. An
    /// unusable record or a bad
    /// `CLAUDE_AUTH_PROVIDER` is an error once the rule reaches it.
    pub fn active(&self) -> Result<ActiveProvider> {
        self.active_with(|p| self.has_usable_login(p))
    }

    /// [`Providers::active`], told whether a provider has a usable login by
    /// `usable` (for a caller that has resolved both chains already, such as
    /// `status`, so no chain is walked twice).
    pub fn active_with(&self, usable: impl FnMut(&Provider) -> bool) -> Result<ActiveProvider> {
        let mut active =
            active_provider::decide(self.flag.as_ref(), &self.env, || self.record(), usable)?;
        active.profile = self.active_profile(&active.provider);
        Ok(active)
    }

    /// `provider`'s selected profile: the explicit one, else what its own
    /// pointer names (`None` for the implicit `default`, or a pointer that
    /// cannot be read: the chain reports that).
    pub fn active_profile(&self, provider: &Provider) -> Option<String> {
        if let Some(p) = &self.options[slot(provider)].resolve.explicit_profile {
            return Some(p.clone());
        }
        match provider {
            Provider::Anthropic => self
                .resolver(provider)
                .active_profile(None)
                .ok()
                .filter(|a| a.origin != "default")
                .map(|a| a.name),
            Provider::Openai => self
                .resolver(provider)
                .openai_active_profile(None)
                .ok()
                .filter(|a| a.origin != "default")
                .map(|a| a.name),
        }
    }

    /// A valid credential for `provider`, or for the active provider
    /// (found as [`Providers::choose`] does, each chain walked at most once).
    pub async fn obtain(
        &self,
        provider: Option<Provider>,
    ) -> Result<(Provider, Obtained), AuthError> {
        let chosen = self.choose(provider).await?;
        Ok((chosen.provider, chosen.obtained?))
    }

    /// The active provider (`provider`, else the rule of
    /// [`Providers::active`]) and its credential, with as few resolutions
    /// as the rule allows: when no flag, `CLAUDE_AUTH_PROVIDER` or `switch`
    /// record chose, Anthropic is active whenever it has a usable login
    /// (alone, or both: the default), so the OpenAI chain is walked only
    /// when Anthropic has none. Each chain is walked once (an external
    /// credential command runs once). An error here is the rule's own (a
    /// bad `CLAUDE_AUTH_PROVIDER`, an unusable record); the credential's is
    /// in [`Chosen::obtained`].
    pub async fn choose(&self, provider: Option<Provider>) -> Result<Chosen> {
        let flag = provider.or_else(|| self.flag.clone());
        let decided =
            active_provider::decide(flag.as_ref(), &self.env, || self.record(), |_| false)?;
        if decided.origin != Origin::Default {
            return Ok(Chosen {
                obtained: self.obtain_from(&decided.provider).await,
                provider: decided.provider,
                other_unusable: false,
            });
        }
        let anthropic = match self.obtain_from(&Provider::Anthropic).await {
            Err(e) if no_usable_login(&e) => e,
            obtained => {
                return Ok(Chosen {
                    provider: Provider::Anthropic,
                    obtained,
                    other_unusable: false,
                })
            }
        };
        Ok(match self.obtain_from(&Provider::Openai).await {
            // Neither has a usable login: the default, Anthropic.
            Err(e) if no_usable_login(&e) => Chosen {
                provider: Provider::Anthropic,
                obtained: Err(anthropic),
                other_unusable: true,
            },
            // OpenAI is the only provider with one (failing or not).
            obtained => Chosen {
                provider: Provider::Openai,
                obtained,
                other_unusable: true,
            },
        })
    }

    async fn obtain_from(&self, provider: &Provider) -> std::result::Result<Obtained, AuthError> {
        self.manager(provider)?.obtain().await
    }

    /// Make `provider` the active one (and `profile` its active profile),
    /// recorded in [`Providers::record_path`]. A record that could not be
    /// parsed is replaced (this is the new choice); one that cannot be read
    /// for another reason (permissions, owner, a symlink loop) is an error.
    pub fn switch(
        &self,
        provider: Provider,
        profile: Option<&str>,
    ) -> Result<Switched, ProfileError> {
        let path = self.record_path();
        let replaced_unreadable = match SwitchRecord::load(&path) {
            Ok(_) => None,
            Err(e @ Error::Parse { .. }) => Some(e.to_string()),
            Err(e) => return Err(e.into()),
        };
        let profile_activation = match (profile, &provider) {
            (None, _) => None,
            (Some(name), Provider::Anthropic) => Some(ProfileActivation::Anthropic(
                Profiles::new(self.resolver(&provider).clone()).use_profile(name)?,
            )),
            (Some(name), Provider::Openai) => {
                let profiles = self.resolver(&provider).openai_profiles();
                validate_profile_name(name, "--profile")?;
                if !profiles.list()?.iter().any(|p| p == name) {
                    return Err(ProfileError::Store(Error::Setting {
                        setting: "--profile".into(),
                        message: format!("no OpenAI profile {name:?}; log in to it with `claude-auth login --provider openai --profile {name}`, or leave out --profile"),
                    }));
                }
                profiles.set_active(name)?;
                Some(ProfileActivation::Openai(profiles.active_path()))
            }
        };
        let command = match profile {
            Some(p) => format!("claude-auth switch {provider} --profile {p}"),
            None => format!("claude-auth switch {provider}"),
        };
        let record = SwitchRecord {
            provider: provider.clone(),
            profile: profile.map(str::to_owned),
            reason: format!("chosen with `{command}`"),
            time: rfc3339(now_unix()),
        };
        record.save(&path)?;
        Ok(Switched {
            active: self.active()?,
            usable: self.has_usable_login(&provider),
            record,
            path,
            replaced_unreadable,
            profile_activation,
        })
    }
}

#[cfg(test)]
#[path = "providers_tests.rs"]
mod tests;
