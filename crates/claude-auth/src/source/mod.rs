//! The resolution chain: which credential wins, and why.
//!
//! First the official spec's tiers, in the spec's order:
//!
//! 1. explicit (a credential or profile given in code or on the command line)
//! 2. `ANTHROPIC_API_KEY`, then `ANTHROPIC_AUTH_TOKEN`
//! 3. `ANTHROPIC_PROFILE` (explicit: its errors surface)
//! 4. workload identity federation from the environment
//! 5. the active profile (`active_config`, else `default`)
//!
//! then the sources users already have, in an order the settings can change
//! (default shown): `CLAUDE_CODE_OAUTH_TOKEN`, the seed's
//! `CLAUDE_ACCESS_TOKEN`/`CLAUDE_REFRESH_TOKEN`, the external command, Claude
//! Code's credential file, the seed library's `auth.json`.
//!
//! Every source yields a [`SourceReport`]: found, skipped (and why), or an
//! error. A source the user chose (a flag, an env var naming it, a configured
//! command, `ANTHROPIC_CONFIG_DIR`/`active_config`) stops the chain with its
//! error; an auto-discovered one records the error and falls through. The
//! record of every source *is* `status`.
//!
//! Each source is its own small module (one file per source below); this
//! module only orders them and keeps the record. What a source finds carries
//! its [`Backing`]: where the credential is kept, which the engine locks,
//! re-reads and writes back through (`Found::location` is for display).

pub mod backing;
mod base_url;
pub mod external;
pub mod federation;
pub mod seed_file;

mod active_profile;
mod anthropic_profile;
mod api_key;
mod auth_token;
mod claude_code;
mod claude_code_token;
pub(crate) mod codex;
mod explicit;
mod openai_chain;
mod openai_env;
pub mod openai_external;
mod openai_profile;
mod profiles;
mod seed_env;
mod warnings;

use std::path::PathBuf;

use serde::Serialize;

use crate::config::env::Env;
use crate::config::locations::{anthropic_config_dir, claude_code_dir, own_config_dir, Located};
use crate::config::settings::Settings;
use crate::credential::{now_unix, Credential, Provider};
use crate::error::{Error, Result};
use crate::store::claude_code::ClaudeCodeStore;
use crate::store::key_file::KeyFileStore;
use crate::store::openai_profiles::OpenaiProfiles;
use crate::store::profile_files::{ProfileFiles, DEFAULT_PROFILE};
use crate::store::StorageKind;

pub use crate::config::source_id::{SourceId, OPENAI_CHAIN, SPEC_TIERS};
pub use backing::Backing;
pub use base_url::{base_url_for, base_url_for_provider, OPENAI_DEFAULT_BASE_URL};
pub use federation::Federation;
pub use seed_file::{parse_seed_file, read_seed_file, write_seed_file};

/// What a source found.
#[derive(Clone, Debug)]
pub struct Found {
    /// The credential, or `None` for federation (a token comes from an exchange).
    pub credential: Option<Credential>,
    /// The profile, for profile sources.
    pub profile: Option<String>,
    /// Where it is kept (path, keyring entry, variable), for display.
    pub location: String,
    /// What keeps it: what is locked, re-read and written back on refresh.
    pub backing: Backing,
    /// Storage kind, for stored credentials.
    pub storage: Option<StorageKind>,
    /// Base URL the profile pins (or `ANTHROPIC_BASE_URL` fills).
    pub base_url: Option<String>,
    /// Notes about this credential (e.g. "refresh token in env is not rotated").
    pub notes: Vec<String>,
}

impl Found {
    /// A found credential, kept in `backing`, shown as `location`.
    pub fn new(credential: Credential, location: impl Into<String>, backing: Backing) -> Self {
        Found {
            credential: Some(credential),
            profile: None,
            location: location.into(),
            backing,
            storage: None,
            base_url: None,
            notes: Vec::new(),
        }
    }

    /// Federation settings when this is a workload identity source.
    pub fn federation(&self) -> Option<&Federation> {
        match &self.backing {
            Backing::Federation(f) => Some(f),
            _ => None,
        }
    }
}

/// A source's outcome.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// It holds a credential.
    Found(Box<Found>),
    /// Nothing there; the reason.
    Skipped(String),
    /// Something is there but broken; the message (file, field, fix).
    Error(String),
    /// Not consulted; why.
    NotChecked(String),
}

/// One source's line in the record.
#[derive(Clone, Debug)]
pub struct SourceReport {
    /// Which source.
    pub id: SourceId,
    /// What it found.
    pub outcome: Outcome,
    /// Whether it won.
    pub winner: bool,
}

impl SourceReport {
    /// The credential it found, if any.
    pub fn found(&self) -> Option<&Found> {
        match &self.outcome {
            Outcome::Found(f) => Some(f),
            _ => None,
        }
    }
}

/// A warning worth a user's attention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// Stable code, e.g. `api-key-shadows-subscription`.
    pub code: &'static str,
    /// The message, with what to do.
    pub message: String,
}

/// Where the active profile's name came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveProfile {
    /// The name.
    pub name: String,
    /// `--profile`, `ANTHROPIC_PROFILE`, `active_config` or `default`.
    pub origin: String,
}

/// What the caller asks of resolution.
#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// An explicit credential (tier 1), from code.
    pub explicit_credential: Option<Credential>,
    /// An explicit profile (tier 1), from `--profile`.
    pub explicit_profile: Option<String>,
    /// Examine every source, even after the winner (for `status`): shadowed
    /// credentials are found and reported. The external command is never
    /// run once something has won.
    pub examine_all: bool,
    /// Consult this source only (and accept only this profile from it): an
    /// engine for exactly one credential
    /// ([`Providers::manager_for`](crate::Providers::manager_for)). The
    /// source stops the chain with an error when it no longer holds that
    /// credential, rather than another source standing in silently.
    pub pin: Option<Pin>,
}

/// One credential, by its source and profile (see [`ResolveOptions::pin`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// The source.
    pub source: SourceId,
    /// The profile it must hold (`None`: whatever it holds, for sources
    /// without profiles).
    pub profile: Option<String>,
}

/// The chain's result: the winner and the record of every source.
#[derive(Debug)]
pub struct Resolution {
    /// Every source in precedence order.
    pub reports: Vec<SourceReport>,
    /// The error of a source the user chose, which stopped the chain.
    pub error: Option<(SourceId, Error)>,
    /// Warnings (shadowing, expiry, permissions, …).
    pub warnings: Vec<Warning>,
    /// The spec config dir and why.
    pub config_dir: Located,
    /// The active profile and why.
    pub active_profile: ActiveProfile,
    /// The settings file in effect, if one exists.
    pub settings_path: Option<PathBuf>,
    /// When resolution ran (Unix seconds).
    pub now: u64,
    /// The provider whose chain this is.
    pub provider: Provider,
    /// Codex's home and why (the OpenAI chain only).
    pub codex_home: Option<Located>,
}

impl Resolution {
    /// The winning report.
    pub fn winner(&self) -> Option<&SourceReport> {
        self.reports.iter().find(|r| r.winner)
    }

    /// The winning source's find.
    pub fn winning(&self) -> Option<&Found> {
        self.winner().and_then(SourceReport::found)
    }

    /// The winning credential, or why there is none.
    pub fn credential(&self) -> std::result::Result<&Credential, NoCredential> {
        if let Some((id, err)) = &self.error {
            return Err(NoCredential::Failed {
                origin: *id,
                message: err.to_string(),
            });
        }
        match self.winning() {
            Some(Found {
                credential: Some(c),
                ..
            }) => Ok(c),
            Some(found) if found.federation().is_some() => Err(NoCredential::NeedsExchange),
            _ => Err(NoCredential::None),
        }
    }
}

/// Why resolution produced no usable credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoCredential {
    /// No source holds one.
    #[error("no credential found; run `claude-auth login`, set ANTHROPIC_API_KEY, or see `claude-auth status`")]
    None,
    /// A source the user chose is broken.
    #[error("{origin}: {message}")]
    Failed {
        /// The source.
        origin: SourceId,
        /// Its error.
        message: String,
    },
    /// Workload identity federation won; its token comes from an exchange.
    #[error("workload identity federation won: its access token comes from a token exchange, which `AuthManager` (and so `claude-auth token`, `env`, `exec` and `proxy`) performs")]
    NeedsExchange,
}

/// Everything resolution reads, built once from an environment.
#[derive(Clone, Debug)]
pub struct Resolver {
    env: Env,
    settings: Settings,
    profiles: ProfileFiles,
    config_dir: Located,
    claude_code: ClaudeCodeStore,
    own_keys: KeyFileStore,
    provider: Provider,
    openai_profiles: OpenaiProfiles,
    codex_home: Located,
    #[cfg(feature = "keyring")]
    keyring: Option<std::sync::Arc<dyn crate::store::keyring::KeyringBackend>>,
}

/// A source's answer to the chain.
pub(crate) enum Step {
    Found(Box<Found>),
    Skip(String),
    /// An error; `true` when the user chose this source (it stops the chain).
    Fail(Error, bool),
}

/// The source behind an id: each is its own module.
fn source_of(id: SourceId) -> fn(&Resolver, &ResolveOptions) -> Step {
    match id {
        SourceId::OpenaiApiKey => openai_env::evaluate_openai_api_key,
        SourceId::CodexApiKey => openai_env::evaluate_codex_api_key,
        SourceId::OpenaiProfile => openai_profile::evaluate,
        SourceId::Codex => codex::evaluate,
        SourceId::OpenaiExternalCommand => openai_external::evaluate,
        SourceId::Explicit => explicit::evaluate,
        SourceId::AnthropicApiKey => api_key::evaluate,
        SourceId::AnthropicAuthToken => auth_token::evaluate,
        SourceId::AnthropicProfile => anthropic_profile::evaluate,
        SourceId::WorkloadIdentity => federation::evaluate,
        SourceId::ActiveProfile => active_profile::evaluate,
        SourceId::ClaudeCodeOauthToken => claude_code_token::evaluate,
        SourceId::SeedEnv => seed_env::evaluate,
        SourceId::ExternalCommand => external::evaluate,
        SourceId::ClaudeCode => claude_code::evaluate,
        SourceId::SeedFile => seed_file::evaluate,
    }
}

/// Claude Code's store: its file, and on macOS first its Keychain item
/// (account `$USER`, as Claude Code names it).
fn claude_code_store(env: &Env, dir: PathBuf, account_file: PathBuf) -> ClaudeCodeStore {
    let store = ClaudeCodeStore::new(dir, account_file);
    #[cfg(all(target_os = "macos", feature = "keyring"))]
    if let Some(user) = env.get("USER").filter(|u| !u.is_empty()) {
        return store.with_keychain(crate::store::claude_code::KEYCHAIN_SERVICE, user);
    }
    let _ = env;
    store
}

impl Resolver {
    /// A resolver for `env`, with the settings it points at.
    pub fn new(env: Env) -> Result<Self> {
        let settings = Settings::load(&env)?;
        Ok(Resolver::with_settings(env, settings))
    }

    /// A resolver with given settings.
    pub fn with_settings(env: Env, settings: Settings) -> Self {
        let config_dir = anthropic_config_dir(&env);
        let cc_dir = claude_code_dir(&env);
        let account_file = if env.is_set("CLAUDE_CONFIG_DIR") {
            cc_dir.path.join(".claude.json")
        } else {
            env.home().unwrap_or_default().join(".claude.json")
        };
        Resolver {
            profiles: ProfileFiles::new(config_dir.path.clone()),
            claude_code: claude_code_store(&env, cc_dir.path, account_file),
            own_keys: KeyFileStore::new(own_config_dir(&env).path.join("credentials")),
            config_dir,
            provider: Provider::Anthropic,
            openai_profiles: OpenaiProfiles::new(&env, &settings),
            codex_home: crate::openai::home::codex_home_located(&env),
            #[cfg(feature = "keyring")]
            keyring: None,
            settings,
            env,
        }
    }

    /// A resolver for `provider`'s chain: Anthropic's (the same as
    /// [`with_settings`](Self::with_settings)), or OpenAI's (explicit,
    /// `OPENAI_API_KEY`, `CODEX_API_KEY`, claude-auth's OpenAI profile,
    /// Codex's login).
    pub fn for_provider(env: Env, settings: Settings, provider: Provider) -> Self {
        let mut resolver = Resolver::with_settings(env, settings);
        resolver.provider = provider;
        resolver
    }

    /// The provider whose chain this resolver walks.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// claude-auth's own OpenAI profiles.
    pub fn openai_profiles(&self) -> &OpenaiProfiles {
        &self.openai_profiles
    }

    /// Codex's home (`CODEX_HOME`, else `~/.codex`) and why.
    pub fn codex_home(&self) -> &Located {
        &self.codex_home
    }

    /// Use `backend` for the keyring entries the OpenAI chain reads and
    /// writes (claude-auth's OpenAI profiles and Codex's keyring entry)
    /// instead of the OS keyring.
    #[cfg(feature = "keyring")]
    pub fn with_keyring_backend(
        mut self,
        backend: std::sync::Arc<dyn crate::store::keyring::KeyringBackend>,
    ) -> Self {
        self.openai_profiles = self.openai_profiles.with_keyring_backend(backend.clone());
        self.keyring = Some(backend);
        self
    }

    /// The keyring backend the OpenAI chain uses (the OS one unless
    /// [`with_keyring_backend`](Self::with_keyring_backend) said otherwise).
    #[cfg(feature = "keyring")]
    pub fn keyring_backend(&self) -> std::sync::Arc<dyn crate::store::keyring::KeyringBackend> {
        match &self.keyring {
            Some(b) => b.clone(),
            None => std::sync::Arc::new(crate::store::keyring::OsKeyring),
        }
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The spec files.
    pub fn profile_files(&self) -> &ProfileFiles {
        &self.profiles
    }

    /// Use `store` for Claude Code's login (for example one with a Keychain
    /// item configured, [`ClaudeCodeStore::with_keychain`]).
    pub fn with_claude_code_store(mut self, store: ClaudeCodeStore) -> Self {
        self.claude_code = store;
        self
    }

    /// Claude Code's store.
    pub fn claude_code(&self) -> &ClaudeCodeStore {
        &self.claude_code
    }

    /// Note where a login just stored `profile` (`None`: forgotten), as
    /// [`crate::settings::record_storage`] wrote it, so this resolver reads
    /// the profile from there without reloading the settings.
    pub fn note_storage(&mut self, profile: &str, storage: Option<StorageKind>) {
        match storage {
            Some(kind) => {
                self.settings.stored_in.insert(profile.to_owned(), kind);
            }
            None => {
                self.settings.stored_in.remove(profile);
            }
        }
    }

    /// claude-auth's own key files.
    pub fn own_keys(&self) -> &KeyFileStore {
        &self.own_keys
    }

    /// Walk the chain (this resolver's provider's).
    pub fn resolve(&self, options: &ResolveOptions) -> Resolution {
        if self.provider == Provider::Openai {
            return self.resolve_openai(options);
        }
        let now = now_unix();
        let mut warnings = Vec::new();
        let active_profile = match self.active_profile(options.explicit_profile.as_deref()) {
            Ok(a) => a,
            Err(e) => {
                // A bad active_config is reported by the active-profile tier.
                warnings.push(Warning {
                    code: "bad-active-config",
                    message: e.to_string(),
                });
                ActiveProfile {
                    name: DEFAULT_PROFILE.into(),
                    origin: "default".into(),
                }
            }
        };
        let mut order: Vec<SourceId> = SPEC_TIERS.to_vec();
        order.extend(self.settings.enabled_extra_sources());
        let (reports, error) = self.walk(order, options);

        let mut resolution = Resolution {
            reports,
            error,
            warnings,
            config_dir: self.config_dir.clone(),
            active_profile,
            settings_path: self.settings.path.clone().filter(|p| p.exists()),
            now,
            provider: Provider::Anthropic,
            codex_home: None,
        };
        self.add_warnings(&mut resolution);
        resolution
    }

    /// Consult the sources in `order`: the first found wins; a failing
    /// source the user chose stops the chain.
    fn walk(
        &self,
        order: Vec<SourceId>,
        options: &ResolveOptions,
    ) -> (Vec<SourceReport>, Option<(SourceId, Error)>) {
        let mut reports: Vec<SourceReport> = Vec::with_capacity(order.len());
        let mut error: Option<(SourceId, Error)> = None;
        let mut decided = false;
        for id in order {
            if let Some(pin) = options.pin.as_ref().filter(|p| p.source != id) {
                reports.push(SourceReport {
                    id,
                    outcome: Outcome::NotChecked(format!(
                        "not consulted: the engine is pinned to {}",
                        pin.source
                    )),
                    winner: false,
                });
                continue;
            }
            if decided && !options.examine_all {
                let why = match &error {
                    Some((src, _)) => format!("not consulted: {src} failed and stopped the chain"),
                    None => "not consulted: a source above won".to_owned(),
                };
                reports.push(SourceReport {
                    id,
                    outcome: Outcome::NotChecked(why),
                    winner: false,
                });
                continue;
            }
            let command_configured = match id {
                SourceId::ExternalCommand => self.settings.external_command.is_some(),
                SourceId::OpenaiExternalCommand => self.settings.openai_external_command.is_some(),
                _ => false,
            };
            if decided && command_configured {
                reports.push(SourceReport {
                    id,
                    outcome: Outcome::NotChecked("not run: a source above won".into()),
                    winner: false,
                });
                continue;
            }
            let mut step = source_of(id)(self, options);
            if let Some(pin) = &options.pin {
                step = pinned(step, pin);
            }
            let (outcome, winner) = match step {
                Step::Found(found) => {
                    let win = !decided;
                    decided = true;
                    (Outcome::Found(found), win)
                }
                Step::Skip(why) => (Outcome::Skipped(why), false),
                Step::Fail(err, chosen) => {
                    let message = err.to_string();
                    if chosen && !decided {
                        decided = true;
                        error = Some((id, err));
                    }
                    (Outcome::Error(message), false)
                }
            };
            reports.push(SourceReport {
                id,
                outcome,
                winner,
            });
        }
        (reports, error)
    }
}

/// A pinned source's answer: only the pinned credential counts; anything
/// else stops the chain with an error naming what changed.
fn pinned(step: Step, pin: &Pin) -> Step {
    let gone = |what: String| {
        Step::Fail(
            Error::Setting {
                setting: pin.source.label().to_owned(),
                message: format!(
                    "{what}; choose again (`claude-auth select`) or see `claude-auth status`"
                ),
            },
            true,
        )
    };
    match step {
        Step::Found(found) if found.profile != pin.profile => gone(format!(
            "the chosen credential ({}) is no longer there: it now holds {}",
            pin.profile
                .as_deref()
                .map_or("no profile".into(), |p| format!("profile {p:?}")),
            found
                .profile
                .as_deref()
                .map_or("no profile".into(), |p| format!("profile {p:?}"))
        )),
        Step::Skip(why) => gone(format!("the chosen credential is no longer there ({why})")),
        Step::Fail(e, _) => Step::Fail(e, true),
        found => found,
    }
}

/// Why an unset variable was skipped.
pub(crate) fn unset_reason(env: &Env, var: &str) -> String {
    if env.is_empty_value(var) {
        format!("{var} is set but empty, which counts as unset")
    } else {
        "not set".into()
    }
}

pub(crate) fn env_error(var: &str, message: &str) -> Error {
    Error::Setting {
        setting: var.to_owned(),
        message: message.to_owned(),
    }
}

/// Why [`resolve`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The settings could not be loaded.
    #[error(transparent)]
    Settings(#[from] Error),
    /// No usable credential.
    #[error(transparent)]
    NoCredential(#[from] NoCredential),
}

/// Resolve from the process environment with default options: the winning
/// credential, or why there is none.
///
/// ```no_run
/// let credential = claude_auth::resolve()?;
/// println!("{}", credential.kind().label());
/// # Ok::<(), claude_auth::source::ResolveError>(())
/// ```
pub fn resolve() -> std::result::Result<Credential, ResolveError> {
    let resolver = Resolver::new(Env::from_process())?;
    let resolution = resolver.resolve(&ResolveOptions::default());
    Ok(resolution.credential()?.clone())
}
