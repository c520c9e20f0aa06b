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

pub mod external;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::config::env::Env;
use crate::config::locations::{
    anthropic_config_dir, claude_code_dir, own_config_dir, python_sdk_config_dir, seed_auth_file,
    validate_profile_name, Located,
};
use crate::config::settings::Settings;
use crate::credential::{now_unix, Credential, Identity, Provider, TokenSet};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secure_file::{mode_of, read_optional, ReadPolicy};
use crate::store::claude_code::ClaudeCodeStore;
use crate::store::key_file::KeyFileStore;
use crate::store::profile_files::{ProfileAuth, ProfileCredential, ProfileFiles, DEFAULT_PROFILE};
use crate::store::{CredentialStore, StorageKind};

/// Every source the chain knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceId {
    /// A credential or profile given in code or on the command line.
    Explicit,
    /// `ANTHROPIC_API_KEY`.
    AnthropicApiKey,
    /// `ANTHROPIC_AUTH_TOKEN`.
    AnthropicAuthToken,
    /// `ANTHROPIC_PROFILE`.
    AnthropicProfile,
    /// Workload identity federation from the environment.
    WorkloadIdentity,
    /// The active profile on disk.
    ActiveProfile,
    /// `CLAUDE_CODE_OAUTH_TOKEN`.
    ClaudeCodeOauthToken,
    /// `CLAUDE_ACCESS_TOKEN` / `CLAUDE_REFRESH_TOKEN` (the seed's CI fallback).
    SeedEnv,
    /// The configured external command.
    ExternalCommand,
    /// Claude Code's credential file.
    ClaudeCode,
    /// The seed library's `auth.json` / `CLAUDE_AUTH_FILE`.
    SeedFile,
}

/// The spec's tiers, whose order is fixed.
pub const SPEC_TIERS: [SourceId; 6] = [
    SourceId::Explicit,
    SourceId::AnthropicApiKey,
    SourceId::AnthropicAuthToken,
    SourceId::AnthropicProfile,
    SourceId::WorkloadIdentity,
    SourceId::ActiveProfile,
];

impl SourceId {
    /// The stable id (settings, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceId::Explicit => "explicit",
            SourceId::AnthropicApiKey => "anthropic-api-key",
            SourceId::AnthropicAuthToken => "anthropic-auth-token",
            SourceId::AnthropicProfile => "anthropic-profile",
            SourceId::WorkloadIdentity => "workload-identity",
            SourceId::ActiveProfile => "active-profile",
            SourceId::ClaudeCodeOauthToken => "claude-code-oauth-token",
            SourceId::SeedEnv => "seed-env",
            SourceId::ExternalCommand => "external-command",
            SourceId::ClaudeCode => "claude-code",
            SourceId::SeedFile => "seed-file",
        }
    }

    /// What it is, for humans.
    pub fn label(self) -> &'static str {
        match self {
            SourceId::Explicit => "explicit (--profile or code)",
            SourceId::AnthropicApiKey => "ANTHROPIC_API_KEY",
            SourceId::AnthropicAuthToken => "ANTHROPIC_AUTH_TOKEN",
            SourceId::AnthropicProfile => "ANTHROPIC_PROFILE",
            SourceId::WorkloadIdentity => "workload identity federation",
            SourceId::ActiveProfile => "active profile",
            SourceId::ClaudeCodeOauthToken => "CLAUDE_CODE_OAUTH_TOKEN",
            SourceId::SeedEnv => "CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN",
            SourceId::ExternalCommand => "external command",
            SourceId::ClaudeCode => "Claude Code login",
            SourceId::SeedFile => "claude-oauth-auth file",
        }
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceId {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let all = [
            SourceId::ClaudeCodeOauthToken,
            SourceId::SeedEnv,
            SourceId::ExternalCommand,
            SourceId::ClaudeCode,
            SourceId::SeedFile,
        ];
        if let Some(id) = all.iter().find(|id| id.as_str() == s) {
            return Ok(*id);
        }
        if let Some(id) = SPEC_TIERS.iter().find(|id| id.as_str() == s) {
            return Err(format!("{id} is one of the spec's tiers: its place is fixed and it cannot be reordered or disabled"));
        }
        Err(format!(
            "unknown source {s:?}; known: {}",
            all.iter()
                .map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Workload identity federation settings (from the environment or a profile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Federation {
    /// `federation_rule_id`.
    pub federation_rule_id: String,
    /// `organization_id`.
    pub organization_id: Option<String>,
    /// `service_account_id`.
    pub service_account_id: Option<String>,
    /// `workspace_id`.
    pub workspace_id: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// The identity token file (re-read on every exchange), if any.
    pub identity_token_file: Option<PathBuf>,
    /// A literal identity token (`ANTHROPIC_IDENTITY_TOKEN`).
    pub identity_token: Option<Secret>,
    /// Where exchanged tokens are cached: an `oidc_federation` profile's
    /// credentials file (`credentials_path`, else `credentials/<p>.json`),
    /// as the SDKs do; `None` for federation from the environment, which is
    /// cached in memory only.
    pub token_cache: Option<PathBuf>,
}

/// What a source found.
#[derive(Clone, Debug)]
pub struct Found {
    /// The credential, or `None` for federation (a token comes from an exchange).
    pub credential: Option<Credential>,
    /// Federation settings when this is a workload identity source.
    pub federation: Option<Federation>,
    /// The profile, for profile sources.
    pub profile: Option<String>,
    /// Where it is kept (path, keyring entry, variable).
    pub location: String,
    /// Storage kind, for stored credentials.
    pub storage: Option<StorageKind>,
    /// Base URL the profile pins (or `ANTHROPIC_BASE_URL` fills).
    pub base_url: Option<String>,
    /// Notes about this credential (e.g. "refresh token in env is not rotated").
    pub notes: Vec<String>,
}

impl Found {
    fn new(credential: Credential, location: impl Into<String>) -> Self {
        Found {
            credential: Some(credential),
            federation: None,
            profile: None,
            location: location.into(),
            storage: None,
            base_url: None,
            notes: Vec::new(),
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
            Some(Found {
                federation: Some(_),
                ..
            }) => Err(NoCredential::NeedsExchange),
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
}

enum Step {
    Found(Box<Found>),
    Skip(String),
    /// An error; `true` when the user chose this source (it stops the chain).
    Fail(Error, bool),
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
            settings,
            env,
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

    /// claude-auth's own key files.
    pub fn own_keys(&self) -> &KeyFileStore {
        &self.own_keys
    }

    /// The store a profile's credential lives in, per the settings.
    pub fn store_for(&self, kind: StorageKind) -> Result<Box<dyn CredentialStore>> {
        match kind {
            StorageKind::File => Ok(Box::new(self.profiles.clone())),
            #[cfg(feature = "keyring")]
            StorageKind::Keyring => Ok(Box::new(crate::store::keyring::KeyringStore::new(
                &self.settings.keyring_service,
            ))),
            #[cfg(feature = "encrypted-file")]
            StorageKind::EncryptedFile => Ok(Box::new(
                crate::store::encrypted::EncryptedFileStore::from_env(
                    own_config_dir(&self.env).path.join("encrypted"),
                    &self.env,
                ),
            )),
            #[allow(unreachable_patterns)]
            other => Err(Error::Unsupported(format!(
                "storage {other} is not compiled into this build of claude-auth"
            ))),
        }
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

    /// Which profile is active, and why (ignoring `--profile`).
    pub fn active_profile(&self, explicit: Option<&str>) -> Result<ActiveProfile> {
        if let Some(p) = explicit {
            return Ok(ActiveProfile {
                name: p.to_owned(),
                origin: "--profile".into(),
            });
        }
        if let Some(p) = self.env.get("ANTHROPIC_PROFILE") {
            return Ok(ActiveProfile {
                name: p.to_owned(),
                origin: "ANTHROPIC_PROFILE".into(),
            });
        }
        if let Some(p) = self.profiles.active_profile()? {
            return Ok(ActiveProfile {
                name: p,
                origin: format!("{}", self.profiles.active_config_path().display()),
            });
        }
        if let Some(p) = self.own_active_profile()? {
            return Ok(ActiveProfile {
                name: p,
                origin: format!("{}", self.own_active_path().display()),
            });
        }
        Ok(ActiveProfile {
            name: DEFAULT_PROFILE.into(),
            origin: "default".into(),
        })
    }

    /// claude-auth's own active-profile pointer, used for profiles the
    /// official SDKs cannot read (API keys, keyring): writing those into the
    /// spec's `active_config` would break every SDK. Consulted only when
    /// `active_config` does not exist.
    pub fn own_active_path(&self) -> PathBuf {
        own_config_dir(&self.env).path.join("active_profile")
    }

    /// The name in claude-auth's own pointer, if any.
    pub fn own_active_profile(&self) -> Result<Option<String>> {
        crate::store::profile_files::read_profile_pointer(&self.own_active_path())
    }

    /// Whether a profile exists anywhere (spec config, own key file, settings).
    pub fn profile_exists(&self, name: &str) -> bool {
        self.profiles.config_exists(name)
            || self.own_keys.path(name).exists()
            || self.settings.profiles.contains_key(name)
            || self.settings.stored_in.contains_key(name)
    }

    /// Every known profile, sorted.
    pub fn list_profiles(&self) -> Result<Vec<String>> {
        let mut names = self.profiles.list()?;
        if let Ok(entries) =
            std::fs::read_dir(self.own_keys.path("x").parent().unwrap_or(&PathBuf::new()))
        {
            for e in entries.flatten() {
                if let Some(stem) = e.file_name().to_str().and_then(|n| n.strip_suffix(".json")) {
                    if validate_profile_name(stem, "").is_ok() {
                        names.push(stem.to_owned());
                    }
                }
            }
        }
        names.extend(self.settings.profiles.keys().cloned());
        names.extend(self.settings.stored_in.keys().cloned());
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Load one profile from wherever its storage says.
    pub fn load_profile(&self, name: &str) -> Result<Option<Found>> {
        self.load_profile_from(name, self.settings.storage_for(name))
    }

    /// Load one profile from a given storage.
    pub fn load_profile_from(&self, name: &str, storage: StorageKind) -> Result<Option<Found>> {
        let base_url_env = self.env.get("ANTHROPIC_BASE_URL").map(str::to_owned);
        if storage == StorageKind::File {
            if let Some((config, content)) = self.profiles.load_profile(name)? {
                let base_url = config.base_url.clone().or(base_url_env);
                let mut found = match content {
                    ProfileCredential::OAuth(mut set) => {
                        if set.identity.workspace_id.is_none() {
                            set.identity.workspace_id =
                                self.env.get("ANTHROPIC_WORKSPACE_ID").map(str::to_owned);
                        }
                        let mut f = Found::new(
                            Credential::OAuth(set),
                            self.profiles
                                .credentials_path(name, Some(&config))
                                .display()
                                .to_string(),
                        );
                        if matches!(
                            config.auth,
                            ProfileAuth::UserOauth {
                                client_id: None,
                                ..
                            }
                        ) {
                            f.notes.push(
                                "no client_id in the profile's config: the token is static or rotated by another tool".into(),
                            );
                        }
                        f
                    }
                    ProfileCredential::Federation => {
                        let ProfileAuth::OidcFederation {
                            federation_rule_id,
                            service_account_id,
                            identity_token_path,
                            scope,
                        } = &config.auth
                        else {
                            return Err(Error::parse(
                                &config.path,
                                "inconsistent authentication block",
                            ));
                        };
                        let e = |k: &str| self.env.get(k).map(str::to_owned);
                        let federation = Federation {
                            federation_rule_id: federation_rule_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_FEDERATION_RULE_ID"))
                                .ok_or_else(|| {
                                    Error::parse(
                                        &config.path,
                                        "authentication.federation_rule_id is missing",
                                    )
                                })?,
                            organization_id: config
                                .organization_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_ORGANIZATION_ID")),
                            service_account_id: service_account_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_SERVICE_ACCOUNT_ID")),
                            workspace_id: config
                                .workspace_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_WORKSPACE_ID")),
                            scope: scope.clone().or_else(|| e("ANTHROPIC_SCOPE")),
                            identity_token_file: identity_token_path
                                .clone()
                                .or_else(|| self.env.path("ANTHROPIC_IDENTITY_TOKEN_FILE")),
                            identity_token: None,
                            token_cache: Some(self.profiles.credentials_path(name, Some(&config))),
                        };
                        Found {
                            credential: None,
                            federation: Some(federation),
                            profile: None,
                            location: config.path.display().to_string(),
                            storage: None,
                            base_url: None,
                            notes: Vec::new(),
                        }
                    }
                };
                found.profile = Some(name.to_owned());
                found.storage = Some(StorageKind::File);
                found.base_url = base_url;
                return Ok(Some(found));
            }
            if let Some(cred) = self.own_keys.load(name)? {
                let mut f = Found::new(cred, self.own_keys.location(name));
                f.profile = Some(name.to_owned());
                f.storage = Some(StorageKind::File);
                f.base_url = base_url_env;
                return Ok(Some(f));
            }
            return Ok(None);
        }
        let store = self.store_for(storage)?;
        let loaded = store.load(name);
        if let Ok(Some(cred)) = loaded {
            let mut f = Found::new(cred, store.location(name));
            f.profile = Some(name.to_owned());
            f.storage = Some(storage);
            f.base_url = base_url_env;
            return Ok(Some(f));
        }
        // A login that fell back to a file (keyring unavailable at the time)
        // is still found, and said so.
        if storage == StorageKind::Keyring {
            if let Ok(Some(mut f)) = self.load_profile_from(name, StorageKind::File) {
                f.notes.push(format!(
                    "profile {name:?} is set to use the keyring, but its credential is in a file (the keyring was unavailable when it was stored)"
                ));
                return Ok(Some(f));
            }
        }
        loaded.map(|_| None)
    }

    /// Walk the chain.
    pub fn resolve(&self, options: &ResolveOptions) -> Resolution {
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

        let mut reports: Vec<SourceReport> = Vec::with_capacity(order.len());
        let mut error: Option<(SourceId, Error)> = None;
        let mut decided = false;
        for id in order {
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
            if decided
                && id == SourceId::ExternalCommand
                && self.settings.external_command.is_some()
            {
                reports.push(SourceReport {
                    id,
                    outcome: Outcome::NotChecked("not run: a source above won".into()),
                    winner: false,
                });
                continue;
            }
            let step = self.evaluate(id, options);
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

        let mut resolution = Resolution {
            reports,
            error,
            warnings,
            config_dir: self.config_dir.clone(),
            active_profile,
            settings_path: self.settings.path.clone().filter(|p| p.exists()),
            now,
        };
        self.add_warnings(&mut resolution);
        resolution
    }

    fn evaluate(&self, id: SourceId, options: &ResolveOptions) -> Step {
        match id {
            SourceId::Explicit => {
                if let Some(cred) = &options.explicit_credential {
                    return Step::Found(Box::new(Found::new(cred.clone(), "given in code")));
                }
                match &options.explicit_profile {
                    Some(p) => self.profile_step(p, "--profile", true),
                    None => Step::Skip("none given".into()),
                }
            }
            SourceId::AnthropicApiKey => match self.env.get("ANTHROPIC_API_KEY") {
                Some(v) => {
                    let v = match Secret::token(v, "ANTHROPIC_API_KEY") {
                        Ok(v) => v,
                        Err(m) => return Step::Fail(env_error("ANTHROPIC_API_KEY", &m), true),
                    };
                    let mut f = Found::new(Credential::anthropic_api_key(v), "environment variable ANTHROPIC_API_KEY");
                    f.base_url = self.env.get("ANTHROPIC_BASE_URL").map(str::to_owned);
                    Step::Found(Box::new(f))
                }
                None => Step::Skip(self.unset_reason("ANTHROPIC_API_KEY")),
            },
            SourceId::AnthropicAuthToken => match self.env.get("ANTHROPIC_AUTH_TOKEN") {
                Some(v) => {
                    let v = match Secret::token(v, "ANTHROPIC_AUTH_TOKEN") {
                        Ok(v) => v,
                        Err(m) => return Step::Fail(env_error("ANTHROPIC_AUTH_TOKEN", &m), true),
                    };
                    let cred = match Credential::from_bare_anthropic_token(v) {
                        Ok(Credential::ApiKey { key, provider }) => {
                            Credential::Bearer { token: key, provider, expires_at: None }
                        }
                        Ok(c) => c,
                        Err(m) => return Step::Fail(env_error("ANTHROPIC_AUTH_TOKEN", m), true),
                    };
                    let mut f = Found::new(cred, "environment variable ANTHROPIC_AUTH_TOKEN");
                    f.base_url = self.env.get("ANTHROPIC_BASE_URL").map(str::to_owned);
                    Step::Found(Box::new(f))
                }
                None => Step::Skip(self.unset_reason("ANTHROPIC_AUTH_TOKEN")),
            },
            SourceId::AnthropicProfile => match self.env.get("ANTHROPIC_PROFILE") {
                Some(p) => self.profile_step(p, "ANTHROPIC_PROFILE", true),
                None => Step::Skip(self.unset_reason("ANTHROPIC_PROFILE")),
            },
            SourceId::WorkloadIdentity => self.federation_from_env(),
            SourceId::ActiveProfile => {
                let pointer = match self.profiles.active_profile() {
                    Ok(Some(p)) => Some(p),
                    Ok(None) => match self.own_active_profile() {
                        Ok(p) => p,
                        Err(e) => return Step::Fail(e, true),
                    },
                    Err(e) => return Step::Fail(e, true),
                };
                let named = pointer.is_some();
                let user_configured = self.env.is_set("ANTHROPIC_CONFIG_DIR") || named;
                let name = pointer.unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
                if !named && !self.profile_exists(&name) {
                    // Nothing there is broken, so the chain goes on. The
                    // official SDKs raise "config file not found" when
                    // ANTHROPIC_CONFIG_DIR is set: say so.
                    let sdk_note = if user_configured {
                        "; with ANTHROPIC_CONFIG_DIR set, the official SDKs report this as an error"
                    } else {
                        ""
                    };
                    return Step::Skip(format!(
                        "no profile {name:?} ({} does not exist){sdk_note}",
                        self.profiles.config_path(&name).display()
                    ));
                }
                let origin = if self.env.is_set("ANTHROPIC_CONFIG_DIR") && !self.profiles.active_config_path().exists() {
                    "ANTHROPIC_CONFIG_DIR".to_owned()
                } else {
                    "active_config".to_owned()
                };
                self.profile_step(&name, &origin, user_configured)
            }
            SourceId::ClaudeCodeOauthToken => match self.env.get("CLAUDE_CODE_OAUTH_TOKEN") {
                Some(v) => {
                    let v = match Secret::token(v, "CLAUDE_CODE_OAUTH_TOKEN") {
                        Ok(v) => v,
                        Err(m) => return Step::Fail(env_error("CLAUDE_CODE_OAUTH_TOKEN", &m), true),
                    };
                    let set = TokenSet::access_only(v, Provider::Anthropic);
                    let mut f = Found::new(Credential::OAuth(set), "environment variable CLAUDE_CODE_OAUTH_TOKEN");
                    f.notes.push("used as is: no refresh, expiry unknown".into());
                    Step::Found(Box::new(f))
                }
                None => Step::Skip(self.unset_reason("CLAUDE_CODE_OAUTH_TOKEN")),
            },
            SourceId::SeedEnv => match self.env.get("CLAUDE_ACCESS_TOKEN") {
                Some(v) => {
                    let v = match Secret::token(v, "CLAUDE_ACCESS_TOKEN") {
                        Ok(v) => v,
                        Err(m) => return Step::Fail(env_error("CLAUDE_ACCESS_TOKEN", &m), true),
                    };
                    let mut set = TokenSet::access_only(v, Provider::Anthropic);
                    set.refresh_token = self.env.get("CLAUDE_REFRESH_TOKEN").map(Secret::new);
                    let mut f = Found::new(Credential::OAuth(set), "environment variables CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN");
                    if self.env.is_set("CLAUDE_REFRESH_TOKEN") {
                        f.notes.push(
                            "CLAUDE_REFRESH_TOKEN is not used to refresh: a rotated refresh token cannot be written back to the environment, and reusing the old one would log you out".into(),
                        );
                    }
                    Step::Found(Box::new(f))
                }
                None if self.env.is_set("CLAUDE_REFRESH_TOKEN") => Step::Fail(
                    env_error("CLAUDE_REFRESH_TOKEN", "is set but CLAUDE_ACCESS_TOKEN is not; set both, or log in with `claude-auth login`"),
                    true,
                ),
                None => Step::Skip(self.unset_reason("CLAUDE_ACCESS_TOKEN")),
            },
            SourceId::ExternalCommand => match &self.settings.external_command {
                Some(cmd) => match external::run(cmd) {
                    Ok(cred) => Step::Found(Box::new(Found::new(cred, format!("command `{}`", cmd.command)))),
                    Err(e) => Step::Fail(e, true),
                },
                None => Step::Skip("not configured (external_command in settings, or CLAUDE_AUTH_EXTERNAL_COMMAND)".into()),
            },
            SourceId::ClaudeCode => match self.claude_code.load_login() {
                Ok(Some(login)) => {
                    let mut cred = login.credential;
                    if let Credential::OAuth(set) = &mut cred {
                        if let Some(acct) = self.claude_code.account() {
                            set.identity = Identity {
                                subscription_type: set.identity.subscription_type.take(),
                                rate_limit_tier: set.identity.rate_limit_tier.take(),
                                ..acct
                            };
                        }
                    }
                    let mut f = Found::new(cred, login.location);
                    f.notes.push("owned by Claude Code: refreshed only under Claude Code's lock".into());
                    f.notes.extend(login.note);
                    Step::Found(Box::new(f))
                }
                Ok(None) => Step::Skip(format!("no login in {}", self.claude_code.locations())),
                Err(e) => Step::Fail(e, false),
            },
            SourceId::SeedFile => {
                let file = seed_auth_file(&self.env);
                let chosen = file.origin == "CLAUDE_AUTH_FILE";
                match read_seed_file(&file.path) {
                    Ok(Some(cred)) => Step::Found(Box::new(Found::new(cred, file.path.display().to_string()))),
                    Ok(None) if chosen => Step::Fail(
                        Error::parse(&file.path, "does not exist (named by CLAUDE_AUTH_FILE)"),
                        true,
                    ),
                    Ok(None) => Step::Skip(format!("no {}", file.path.display())),
                    Err(e) => Step::Fail(e, chosen),
                }
            }
        }
    }

    fn unset_reason(&self, var: &str) -> String {
        if self.env.is_empty_value(var) {
            format!("{var} is set but empty, which counts as unset")
        } else {
            "not set".into()
        }
    }

    fn profile_step(&self, name: &str, origin: &str, chosen: bool) -> Step {
        if let Err(e) = validate_profile_name(name, origin) {
            return Step::Fail(e, true);
        }
        match self.load_profile(name) {
            Ok(Some(found)) => Step::Found(Box::new(found)),
            Ok(None) if chosen => Step::Fail(
                Error::ProfileNotFound {
                    profile: name.to_owned(),
                    path: self.profiles.config_path(name),
                },
                true,
            ),
            Ok(None) => Step::Skip(format!("profile {name:?} holds no credential")),
            Err(e) => Step::Fail(e, chosen),
        }
    }

    fn federation_from_env(&self) -> Step {
        let rule = self.env.get("ANTHROPIC_FEDERATION_RULE_ID");
        let org = self.env.get("ANTHROPIC_ORGANIZATION_ID");
        let file = self.env.path("ANTHROPIC_IDENTITY_TOKEN_FILE");
        let literal = self.env.get("ANTHROPIC_IDENTITY_TOKEN");
        match (rule, org) {
            (None, None) => return Step::Skip("ANTHROPIC_FEDERATION_RULE_ID not set".into()),
            (Some(_), None) => {
                return Step::Skip(
                    "ANTHROPIC_FEDERATION_RULE_ID is set but ANTHROPIC_ORGANIZATION_ID is not"
                        .into(),
                )
            }
            (None, Some(_)) => {
                return Step::Skip(
                    "ANTHROPIC_ORGANIZATION_ID is set but ANTHROPIC_FEDERATION_RULE_ID is not"
                        .into(),
                )
            }
            _ => {}
        }
        if file.is_none() && literal.is_none() {
            return Step::Skip(
                "ANTHROPIC_FEDERATION_RULE_ID and ANTHROPIC_ORGANIZATION_ID are set but neither ANTHROPIC_IDENTITY_TOKEN_FILE nor ANTHROPIC_IDENTITY_TOKEN".into(),
            );
        }
        let federation = Federation {
            federation_rule_id: rule.unwrap_or_default().to_owned(),
            organization_id: org.map(str::to_owned),
            service_account_id: self
                .env
                .get("ANTHROPIC_SERVICE_ACCOUNT_ID")
                .map(str::to_owned),
            workspace_id: self.env.get("ANTHROPIC_WORKSPACE_ID").map(str::to_owned),
            scope: self.env.get("ANTHROPIC_SCOPE").map(str::to_owned),
            identity_token: if file.is_none() {
                literal.map(Secret::new)
            } else {
                None
            },
            identity_token_file: file.clone(),
            token_cache: None,
        };
        let location = match &file {
            Some(f) => format!("identity token file {}", f.display()),
            None => "identity token in ANTHROPIC_IDENTITY_TOKEN".into(),
        };
        Step::Found(Box::new(Found {
            credential: None,
            federation: Some(federation),
            profile: None,
            location,
            storage: None,
            base_url: self.env.get("ANTHROPIC_BASE_URL").map(str::to_owned),
            notes: vec![
                "the access token comes from a jwt-bearer exchange at the token endpoint".into(),
            ],
        }))
    }

    fn add_warnings(&self, r: &mut Resolution) {
        let mut warnings = std::mem::take(&mut r.warnings);
        self.collect_warnings(r, &mut warnings);
        r.warnings = warnings;
    }

    fn collect_warnings(&self, r: &Resolution, out: &mut Vec<Warning>) {
        let env = &self.env;
        if env.is_set("ANTHROPIC_API_KEY") && env.is_set("ANTHROPIC_AUTH_TOKEN") {
            out.push(Warning {
                code: "both-env-credentials",
                message: "ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN are both set; the API key wins. Unset the one you do not mean".into(),
            });
        }
        if env
            .get("ANTHROPIC_API_KEY")
            .is_some_and(|k| k.starts_with("sk-ant-oat"))
        {
            out.push(Warning {
                code: "oauth-token-in-api-key-variable",
                message: "ANTHROPIC_API_KEY holds an OAuth access token (sk-ant-oat…), which the API rejects as an x-api-key; put it in ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN".into(),
            });
        }
        if let Some(winner) = r.winner() {
            let winner_id = winner.id;
            let env_winner = matches!(
                winner_id,
                SourceId::AnthropicApiKey | SourceId::AnthropicAuthToken
            );
            for report in r.reports.iter().filter(|x| !x.winner) {
                let Some(found) = report.found() else {
                    continue;
                };
                let subscription = found
                    .credential
                    .as_ref()
                    .and_then(Credential::token_set)
                    .is_some_and(|s| {
                        s.identity.subscription_type.is_some() || report.id == SourceId::ClaudeCode
                    });
                if env_winner && subscription {
                    out.push(Warning {
                        code: "api-key-shadows-subscription",
                        message: format!(
                            "{} shadows your Claude subscription login ({}): requests are billed to that key's API account, not your subscription. Unset {} to use the subscription",
                            winner_id.label(),
                            found.location,
                            winner_id.label()
                        ),
                    });
                } else if env_winner && found.profile.is_some() {
                    out.push(Warning {
                        code: "env-shadows-profile",
                        message: format!(
                            "{} shadows profile {:?}; unset it to use the profile",
                            winner_id.label(),
                            found.profile.as_deref().unwrap_or_default()
                        ),
                    });
                }
            }
            if let Some(Found {
                credential: Some(cred),
                ..
            }) = winner.found()
            {
                if cred.is_expired_at(r.now) && !cred.can_refresh() {
                    out.push(Warning {
                        code: "expired-no-refresh",
                        message: format!(
                            "the winning credential ({}) has expired and cannot be refreshed; log in again: claude-auth login",
                            winner_id.label()
                        ),
                    });
                }
            }
        }
        // A profile meant for the keyring whose credential sits in a file:
        // the fallback is never silent.
        for report in &r.reports {
            let Some(found) = report.found() else {
                continue;
            };
            let (Some(profile), Some(StorageKind::File)) = (&found.profile, found.storage) else {
                continue;
            };
            let intended = self
                .settings
                .profiles
                .get(profile)
                .and_then(|p| p.storage)
                .unwrap_or(self.settings.storage);
            if intended == StorageKind::Keyring {
                out.push(Warning {
                    code: "keyring-fallback",
                    message: format!(
                        "profile {profile:?} is set to use the keyring, but its credential is in a file ({}) because the keyring was unavailable when it was stored; run `claude-auth login --profile {profile} --storage keyring` once the keyring works",
                        found.location
                    ),
                });
            }
        }
        // Another tool's files read leniently: say when others can read them.
        let loose = [self.claude_code.path(), seed_auth_file(env).path];
        for path in loose {
            if let Some(mode) = mode_of(&path) {
                if mode & 0o077 != 0 {
                    out.push(Warning {
                        code: "unsafe-permissions",
                        message: format!(
                            "{} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`",
                            path.display(),
                            path.display()
                        ),
                    });
                }
            }
        }
        for report in &r.reports {
            if let Outcome::Error(m) = &report.outcome {
                if m.contains("chmod 600") && !out.iter().any(|w| w.message == *m) {
                    out.push(Warning {
                        code: "unsafe-permissions",
                        message: m.clone(),
                    });
                }
            }
        }
        let py = python_sdk_config_dir(env);
        if py != self.config_dir.path && self.config_dir.path.join("configs").is_dir() {
            out.push(Warning {
                code: "python-sdk-config-dir",
                message: format!(
                    "profiles are in {} (XDG_CONFIG_HOME), but the official Python SDK reads {}; set ANTHROPIC_CONFIG_DIR={} so every SDK agrees",
                    self.config_dir.path.display(),
                    py.display(),
                    self.config_dir.path.display()
                ),
            });
        }
    }
}

fn env_error(var: &str, message: &str) -> Error {
    Error::Setting {
        setting: var.to_owned(),
        message: message.to_owned(),
    }
}

/// Read the seed library's `auth.json`: `{"access_token", "refresh_token",
/// "token_expiry"}` with `token_expiry` in Unix seconds.
pub fn read_seed_file(path: &std::path::Path) -> Result<Option<Credential>> {
    let Some(bytes) = read_optional(path, ReadPolicy::Lenient)? else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::parse(
            path,
            format!("not JSON (line {} column {})", e.line(), e.column()),
        )
    })?;
    let map = value
        .as_object()
        .ok_or_else(|| Error::parse(path, "must contain a JSON object"))?;
    let s = |k: &str| {
        map.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let access =
        s("access_token").ok_or_else(|| Error::parse(path, "missing field 'access_token'"))?;
    let expires_at = match map.get("token_expiry") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|f| *f >= 0.0)
                .map(|f| f as u64)
                .ok_or_else(|| {
                    Error::parse(
                        path,
                        "field 'token_expiry' must be a number of Unix seconds",
                    )
                })?,
        ),
    };
    let token = |v: String, what: &str| Secret::token(v, what).map_err(|m| Error::parse(path, m));
    let mut set =
        TokenSet::access_only(token(access, "field 'access_token'")?, Provider::Anthropic);
    set.refresh_token = s("refresh_token")
        .map(|r| token(r, "field 'refresh_token'"))
        .transpose()?;
    set.expires_at = expires_at;
    Ok(Some(Credential::OAuth(set)))
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
