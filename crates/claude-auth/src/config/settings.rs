//! claude-auth's own settings, for what the spec has no field for.
//!
//! `config.toml` in claude-auth's config dir (or the file named by
//! `CLAUDE_AUTH_SETTINGS`). Never written into the SDKs' files. Every field is
//! optional; environment variables override the file:
//!
//! ```toml
//! # Order of the sources consulted after the spec's tiers (ids below).
//! sources = ["claude-code-oauth-token", "seed-env", "external-command", "claude-code", "seed-file"]
//! disabled_sources = ["seed-file"]
//! storage = "file"                # default storage for new credentials: file | keyring | encrypted-file
//!
//! [external_command]              # a credential_process-style helper
//! command = "op read op://Private/Anthropic/credential"
//! timeout_secs = 10
//! cache_secs = 300                # for output with no expiry
//!
//! [refresh]
//! threshold_secs = 300
//! forced_cooldown_secs = 5        # at most one refresh per this many seconds after API 401s
//!
//! [keyring]
//! service = "claude-auth"
//!
//! [usage]
//! ttl_secs = 60                   # how long `usage` trusts a fetched answer
//! retention_days = 90             # how long the usage ledger keeps requests
//! ledger = true                   # false: the proxy and client record nothing
//!
//! [profiles.work]
//! storage = "keyring"
//! budget = "50%5h"                # or "500k/5h": refused by the proxy past it
//!
//! [openai]
//! issuer = "https://auth.openai.com"   # the ChatGPT issuer (a loopback one in tests)
//! chatgpt_base_url = "https://chatgpt.com/backend-api/codex"   # where ChatGPT logins' requests go
//!
//! [openai.external_command]       # last in the OpenAI chain; same keys as above
//! command = "op read op://Private/OpenAI/credential"
//!
//! [selection]                     # see crate::config::selection
//! strategy = "subscription-first"
//! subscription_threshold_percent = 80
//! fallback = ["anthropic-subscription", "anthropic-api-key", "openai"]
//! failover = true
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::env::Env;
use crate::config::locations::own_config_dir;
use crate::config::provider::{PresetOverride, Presets};
use crate::config::selection::{SelectionFile, SelectionSettings};
use crate::config::source_id::SourceId;
use crate::error::{Error, Result};
use crate::secure_file::{read_optional, ReadPolicy};
use crate::store::StorageKind;

/// Default order of the sources after the spec's tiers.
pub const DEFAULT_EXTRA_ORDER: [SourceId; 5] = [
    SourceId::ClaudeCodeOauthToken,
    SourceId::SeedEnv,
    SourceId::ExternalCommand,
    SourceId::ClaudeCode,
    SourceId::SeedFile,
];

/// Default shortest time between two forced refreshes after API 401s
/// (seconds): an API that rejects every token must not rotate the refresh
/// token once per request.
pub const DEFAULT_FORCED_REFRESH_COOLDOWN_SECS: u64 = 5;

/// Default refresh threshold (seconds before expiry).
pub const DEFAULT_REFRESH_THRESHOLD_SECS: u64 = 300;

/// The external command source's settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExternalCommandSettings {
    /// Shell command (run with `sh -c`, or `cmd /C` on Windows).
    pub command: String,
    /// Kill it after this many seconds (default 10).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How long output without an expiry is reused (default 300).
    #[serde(default = "default_cache")]
    pub cache_secs: u64,
}

fn default_timeout() -> u64 {
    10
}
fn default_cache() -> u64 {
    300
}

/// Refresh settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RefreshSettings {
    /// Refresh this many seconds before expiry.
    pub threshold_secs: Option<u64>,
    /// The shortest time between two forced refreshes after API 401s.
    pub forced_cooldown_secs: Option<u64>,
}

/// Keyring settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyringSettings {
    /// Service name entries are stored under (default `claude-auth`).
    pub service: Option<String>,
}

/// `[openai]`: the OpenAI provider.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OpenaiSettings {
    /// The ChatGPT issuer (default `https://auth.openai.com`), for tests
    /// against a loopback issuer.
    pub issuer: Option<String>,
    /// The ChatGPT backend's base URL for ChatGPT logins' requests (default
    /// `https://chatgpt.com/backend-api/codex`), for tests against a
    /// loopback upstream or a gateway.
    pub chatgpt_base_url: Option<String>,
    /// The OpenAI chain's external command (`[openai.external_command]`).
    pub external_command: Option<ExternalCommandSettings>,
}

/// Per-profile settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// Where this profile's credential is stored.
    pub storage: Option<StorageKind>,
    /// A budget for every request through a proxy with this login, agent
    /// or not: tokens per a rolling period (`"500k/5h"`) or a share of a
    /// window (`"50%5h"`); checked when the settings load
    /// ([`Settings::profile_budget`]).
    pub budget: Option<String>,
}

/// Default time a fetched usage answer is trusted.
pub const DEFAULT_USAGE_TTL_SECS: u64 = 60;
/// Default time the usage ledger keeps a request.
pub const DEFAULT_USAGE_RETENTION_DAYS: u64 = 90;

/// `[usage]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UsageSettings {
    /// Seconds a fetched usage answer is used before asking again.
    pub ttl_secs: Option<u64>,
    /// Days the usage ledger keeps requests.
    pub retention_days: Option<u64>,
    /// Whether the proxy and the client record into the ledger.
    pub ledger: Option<bool>,
}

/// The settings file's shape.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    sources: Option<Vec<String>>,
    #[serde(default)]
    disabled_sources: Vec<String>,
    storage: Option<StorageKind>,
    external_command: Option<ExternalCommandSettings>,
    #[serde(default)]
    refresh: RefreshSettings,
    #[serde(default)]
    keyring: KeyringSettings,
    #[serde(default)]
    profiles: BTreeMap<String, ProfileSettings>,
    #[serde(default)]
    providers: BTreeMap<String, PresetOverride>,
    #[serde(default)]
    usage: UsageSettings,
    #[serde(default)]
    openai: OpenaiSettings,
    #[serde(default)]
    selection: SelectionFile,
}

/// Effective settings (file, then environment overrides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The file they came from, if it exists.
    pub path: Option<PathBuf>,
    /// Order of the sources after the spec's tiers.
    pub extra_order: Vec<SourceId>,
    /// Sources switched off.
    pub disabled: Vec<SourceId>,
    /// Default storage for new credentials.
    pub storage: StorageKind,
    /// External command source, if configured.
    pub external_command: Option<ExternalCommandSettings>,
    /// Refresh threshold, seconds.
    pub refresh_threshold_secs: u64,
    /// The shortest time between two forced refreshes after API 401s, seconds.
    pub forced_refresh_cooldown_secs: u64,
    /// Keyring service name.
    pub keyring_service: String,
    /// Per-profile settings.
    pub profiles: BTreeMap<String, ProfileSettings>,
    /// Provider preset overrides and custom providers (`[providers.<id>]`).
    pub providers: BTreeMap<String, PresetOverride>,
    /// Where logins actually stored each profile (claude-auth's own
    /// `profiles.json`, written by `login`, never by hand).
    pub stored_in: BTreeMap<String, StorageKind>,
    /// Seconds a fetched usage answer is used (`[usage] ttl_secs`).
    pub usage_ttl_secs: u64,
    /// Days the usage ledger keeps requests (`[usage] retention_days`).
    pub usage_retention_days: u64,
    /// Whether the proxy and the client record into the usage ledger
    /// (`[usage] ledger`, default true).
    pub usage_ledger: bool,
    /// The ChatGPT issuer (`[openai] issuer`, env
    /// `CLAUDE_AUTH_OPENAI_ISSUER`); `None`: `https://auth.openai.com`.
    pub openai_issuer: Option<String>,
    /// The ChatGPT backend's base URL (`[openai] chatgpt_base_url`, env
    /// `CLAUDE_AUTH_CHATGPT_BASE_URL`); `None`:
    /// [`crate::openai::chatgpt::CODEX_BASE_URL`].
    pub chatgpt_base_url: Option<String>,
    /// The OpenAI chain's external command (`[openai.external_command]`),
    /// if configured.
    pub openai_external_command: Option<ExternalCommandSettings>,
    /// `[selection]`: strategy, threshold, fallback, failover.
    pub selection: SelectionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            path: None,
            extra_order: DEFAULT_EXTRA_ORDER.to_vec(),
            disabled: Vec::new(),
            storage: StorageKind::File,
            external_command: None,
            refresh_threshold_secs: DEFAULT_REFRESH_THRESHOLD_SECS,
            forced_refresh_cooldown_secs: DEFAULT_FORCED_REFRESH_COOLDOWN_SECS,
            keyring_service: "claude-auth".into(),
            profiles: BTreeMap::new(),
            providers: BTreeMap::new(),
            stored_in: BTreeMap::new(),
            usage_ttl_secs: DEFAULT_USAGE_TTL_SECS,
            usage_retention_days: DEFAULT_USAGE_RETENTION_DAYS,
            usage_ledger: true,
            openai_issuer: None,
            chatgpt_base_url: None,
            openai_external_command: None,
            selection: SelectionSettings::default(),
        }
    }
}

fn parse_ids(list: &[String], setting: &str) -> Result<Vec<SourceId>> {
    list.iter()
        .map(|s| {
            s.trim().parse::<SourceId>().map_err(|m| Error::Setting {
                setting: setting.to_owned(),
                message: m,
            })
        })
        .collect()
}

/// The order of Anthropic's extra sources: the OpenAI chain's sources have a
/// fixed order and cannot be put there.
fn parse_order(list: &[String], setting: &str) -> Result<Vec<SourceId>> {
    let ids = parse_ids(list, setting)?;
    if let Some(id) = ids.iter().find(|id| id.is_openai()) {
        return Err(Error::Setting {
            setting: setting.to_owned(),
            message: format!(
                "{id} belongs to the OpenAI chain, whose order is fixed; it can only be listed in disabled_sources"
            ),
        });
    }
    Ok(ids)
}

impl Settings {
    /// The settings file's path: `CLAUDE_AUTH_SETTINGS`, else
    /// `<own config dir>/config.toml`.
    pub fn default_path(env: &Env) -> PathBuf {
        env.path("CLAUDE_AUTH_SETTINGS")
            .unwrap_or_else(|| own_config_dir(env).path.join("config.toml"))
    }

    /// Load the settings file (missing is fine) and apply environment
    /// overrides: `CLAUDE_AUTH_SOURCES`, `CLAUDE_AUTH_DISABLED_SOURCES`
    /// (comma-separated ids), `CLAUDE_AUTH_STORAGE`,
    /// `CLAUDE_AUTH_EXTERNAL_COMMAND`, `CLAUDE_AUTH_REFRESH_THRESHOLD_SECS`,
    /// `CLAUDE_AUTH_KEYRING_SERVICE`, `CLAUDE_AUTH_OPENAI_ISSUER`,
    /// `CLAUDE_AUTH_CHATGPT_BASE_URL`.
    pub fn load(env: &Env) -> Result<Settings> {
        let path = Settings::default_path(env);
        let mut settings = Settings::from_file(&path)?;
        settings.apply_env(env)?;
        settings.stored_in = load_registry(&registry_path(env))?;
        Ok(settings)
    }

    /// Settings from one file only; missing means defaults.
    pub fn from_file(path: &Path) -> Result<Settings> {
        // A config file: others must not be able to write it (it names the
        // commands run and the servers tokens are sent to).
        let Some(bytes) = read_optional(path, ReadPolicy::Config)? else {
            return Ok(Settings::default());
        };
        let text = String::from_utf8(bytes).map_err(|_| Error::Setting {
            setting: path.display().to_string(),
            message: "is not UTF-8 text".to_owned(),
        })?;
        let file: SettingsFile = toml::from_str(&text).map_err(|e| Error::Setting {
            setting: path.display().to_string(),
            message: e.message().to_owned(),
        })?;
        let setting = |key: &str| format!("{} ({key})", path.display());
        let mut s = Settings {
            path: Some(path.to_owned()),
            ..Settings::default()
        };
        if let Some(order) = &file.sources {
            s.extra_order = parse_order(order, &setting("sources"))?;
        }
        s.disabled = parse_ids(&file.disabled_sources, &setting("disabled_sources"))?;
        if let Some(storage) = file.storage {
            s.storage = storage;
        }
        s.external_command = file.external_command;
        if let Some(t) = file.refresh.threshold_secs {
            s.refresh_threshold_secs = t;
        }
        if let Some(t) = file.refresh.forced_cooldown_secs {
            s.forced_refresh_cooldown_secs = t;
        }
        if let Some(service) = file.keyring.service {
            s.keyring_service = service;
        }
        for (name, profile) in &file.profiles {
            crate::config::locations::validate_profile_name(name, &setting("profiles"))?;
            if let Some(text) = &profile.budget {
                check_profile_budget(text, &setting(&format!("profiles.{name}.budget")))?;
            }
        }
        s.profiles = file.profiles;
        s.providers = file.providers;
        if let Some(ttl) = file.usage.ttl_secs {
            s.usage_ttl_secs = ttl;
        }
        if let Some(days) = file.usage.retention_days {
            s.usage_retention_days = days;
        }
        if let Some(on) = file.usage.ledger {
            s.usage_ledger = on;
        }
        if let Some(issuer) = file.openai.issuer {
            s.openai_issuer = Some(check_issuer(&issuer, &setting("openai.issuer"))?);
        }
        if let Some(url) = file.openai.chatgpt_base_url {
            s.chatgpt_base_url = Some(check_chatgpt_base_url(
                &url,
                &setting("openai.chatgpt_base_url"),
            )?);
        }
        s.openai_external_command = file.openai.external_command;
        s.selection = SelectionSettings::from_file(file.selection, setting)?;
        // Check presets now so a bad [providers.x] table is reported with the file.
        Presets::load(&s.providers, &path.display().to_string())?;
        Ok(s)
    }

    fn apply_env(&mut self, env: &Env) -> Result<()> {
        let split = |v: &str| {
            v.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        if let Some(v) = env.get("CLAUDE_AUTH_SOURCES") {
            self.extra_order = parse_order(&split(v), "CLAUDE_AUTH_SOURCES")?;
        }
        if let Some(v) = env.get("CLAUDE_AUTH_DISABLED_SOURCES") {
            self.disabled = parse_ids(&split(v), "CLAUDE_AUTH_DISABLED_SOURCES")?;
        }
        if let Some(v) = env.get("CLAUDE_AUTH_STORAGE") {
            self.storage = v.parse().map_err(|m| Error::Setting {
                setting: "CLAUDE_AUTH_STORAGE".into(),
                message: m,
            })?;
        }
        if let Some(cmd) = env.get("CLAUDE_AUTH_EXTERNAL_COMMAND") {
            let base = self.external_command.clone();
            self.external_command = Some(ExternalCommandSettings {
                command: cmd.to_owned(),
                timeout_secs: base
                    .as_ref()
                    .map_or_else(default_timeout, |b| b.timeout_secs),
                cache_secs: base.as_ref().map_or_else(default_cache, |b| b.cache_secs),
            });
        }
        if let Some(v) = env.get("CLAUDE_AUTH_REFRESH_THRESHOLD_SECS") {
            self.refresh_threshold_secs = v.parse().map_err(|_| Error::Setting {
                setting: "CLAUDE_AUTH_REFRESH_THRESHOLD_SECS".into(),
                message: format!("{v:?} is not a whole number of seconds"),
            })?;
        }
        if let Some(v) = env.get("CLAUDE_AUTH_KEYRING_SERVICE") {
            self.keyring_service = v.to_owned();
        }
        if let Some(v) = env.get("CLAUDE_AUTH_OPENAI_ISSUER") {
            self.openai_issuer = Some(check_issuer(v, "CLAUDE_AUTH_OPENAI_ISSUER")?);
        }
        if let Some(v) = env.get("CLAUDE_AUTH_CHATGPT_BASE_URL") {
            self.chatgpt_base_url =
                Some(check_chatgpt_base_url(v, "CLAUDE_AUTH_CHATGPT_BASE_URL")?);
        }
        Ok(())
    }

    /// Provider presets: built-ins with `[providers.<id>]` applied.
    pub fn presets(&self) -> Result<Presets> {
        let origin = self
            .path
            .as_ref()
            .map_or_else(|| "settings".to_owned(), |p| p.display().to_string());
        Presets::load(&self.providers, &origin)
    }

    /// Where to read a profile's credential: where a login put it, else the
    /// profile's setting, else the default.
    pub fn storage_for(&self, profile: &str) -> StorageKind {
        self.stored_in
            .get(profile)
            .copied()
            .or_else(|| self.profiles.get(profile).and_then(|p| p.storage))
            .unwrap_or(self.storage)
    }

    /// Where a new login for a profile goes (without `--storage`): the
    /// profile's setting, else where the last login put it, else the default.
    pub fn storage_for_new_login(&self, profile: &str) -> StorageKind {
        self.profiles
            .get(profile)
            .and_then(|p| p.storage)
            .or_else(|| self.stored_in.get(profile).copied())
            .unwrap_or(self.storage)
    }

    /// A profile's budget (`[profiles.<name>] budget`), checked at load.
    pub fn profile_budget(&self, profile: &str) -> Option<crate::budgets::Budget> {
        let text = self.profiles.get(profile)?.budget.as_deref()?;
        check_profile_budget(text, "budget").ok()
    }

    /// The sources after the spec's tiers, in order, without disabled ones.
    pub fn enabled_extra_sources(&self) -> Vec<SourceId> {
        self.extra_order
            .iter()
            .copied()
            .filter(|id| !self.disabled.contains(id))
            .collect()
    }
}

/// A profile's budget: a share of a window, or tokens per a period (a
/// profile has no session to count a plain token count over).
fn check_profile_budget(text: &str, setting: &str) -> Result<crate::budgets::Budget> {
    use crate::budgets::Budget;
    let bad = |message: String| Error::Setting {
        setting: setting.to_owned(),
        message,
    };
    match Budget::parse(text, "budget").map_err(bad)? {
        Budget::Tokens { per: None, tokens } => Err(bad(format!(
            "budget {tokens} has no period: a profile's token budget counts over a rolling period (\"{tokens}/5h\" or \"{tokens}/7d\"); or give a share of a window (\"50%5h\")"
        ))),
        budget => Ok(budget),
    }
}

/// An issuer URL: `https://…`, or `http://` on loopback only (a test
/// issuer); no query or fragment. Returned without a trailing slash.
fn check_issuer(value: &str, setting: &str) -> Result<String> {
    check_url(
        value,
        setting,
        "use https://auth.openai.com or http://127.0.0.1:PORT for a test issuer",
    )
}

/// The ChatGPT backend's base URL, checked like the issuer.
fn check_chatgpt_base_url(value: &str, setting: &str) -> Result<String> {
    check_url(
        value,
        setting,
        "use https://chatgpt.com/backend-api/codex or http://127.0.0.1:PORT/… for a test upstream",
    )
}

/// A URL tokens are sent to: `https://…`, or `http://` on loopback only; no
/// query, fragment or user. Returned without a trailing slash; errors name
/// `setting` and end with `fix`.
fn check_url(value: &str, setting: &str, fix: &str) -> Result<String> {
    let bad = |message: &str| Error::Setting {
        setting: setting.to_owned(),
        message: format!("{message}; {fix}"),
    };
    let url = url::Url::parse(value).map_err(|_| bad("is not a URL"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must be https (http only on loopback)")),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must have no query, fragment or user"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// `<own config dir>/profiles.json`: where logins stored each profile.
pub fn registry_path(env: &Env) -> PathBuf {
    own_config_dir(env).path.join("profiles.json")
}

/// Read `profiles.json` as a config file: a refused file (another owner,
/// writable by others, not a regular file, too large) is an error; one that
/// does not parse counts as empty (it is only a record of past logins).
fn load_registry(path: &Path) -> Result<BTreeMap<String, StorageKind>> {
    Ok(read_optional(path, ReadPolicy::Config)?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

/// Record that `profile`'s credential is in `storage` (`None`: forget it).
pub fn record_storage(env: &Env, profile: &str, storage: Option<StorageKind>) -> Result<()> {
    let path = registry_path(env);
    let mut map = load_registry(&path)?;
    match storage {
        Some(kind) => {
            map.insert(profile.to_owned(), kind);
        }
        None => {
            if map.remove(profile).is_none() {
                return Ok(());
            }
        }
    }
    let bytes = serde_json::to_vec_pretty(&map).unwrap_or_default();
    crate::secure_file::write_atomic(&path, &bytes, 0o600)
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
