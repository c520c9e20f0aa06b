//! The user's selection preferences: `<own_config_dir>/preferences.json`,
//! our own state file (0600 in a 0700 dir, written atomically under a lock,
//! never inside another tool's file), holding the strategy, failover on or
//! off, the cost preference and the last selection with its reason.
//!
//! The active provider is not here: `switch` keeps it in
//! `active_provider.json` ([`crate::engine::active_provider`]), its one
//! source of truth.
//!
//! Each setting's value comes from the first of: a flag, the environment
//! (`CLAUDE_AUTH_STRATEGY`, for the strategy), this file, `config.toml`'s
//! `[selection]`, a default; [`effective`] says which, for each.
//!
//! Front ends (the CLI's `switch`, the TUI) write through [`set_strategy`],
//! [`set_failover`], [`set_cost`] and [`record_selection`]. A file that
//! cannot be parsed is an error naming it, and is never overwritten.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::env::Env;
use crate::config::locations::own_config_dir;
use crate::config::settings::Settings;
use crate::credential::Provider;
use crate::engine::lock::FileLock;
use crate::error::{Error, Result};
use crate::secure_file::{read_optional, write_atomic_strict, ReadPolicy};
use crate::select::{
    CandidateClass, ClassOrProvider, CostPreference, Decision, Strategy, TaskHint,
};

/// The file's name in claude-auth's own config dir.
pub const PREFERENCES_FILE: &str = "preferences.json";
/// The environment variable that sets the strategy.
pub const STRATEGY_VAR: &str = "CLAUDE_AUTH_STRATEGY";
/// How long a writer waits for another's write.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The last decision, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSelection {
    /// The provider chosen.
    pub provider: Provider,
    /// The class chosen.
    pub class: CandidateClass,
    /// The login chosen (its usage key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The strategy that chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Why, in one line.
    pub reason: String,
    /// When, Unix seconds.
    pub at: u64,
}

/// The file's contents. Keys this version does not know are kept as found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    /// The strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Failover on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<bool>,
    /// The cost preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostPreference>,
    /// The last selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_selection: Option<LastSelection>,
    /// Anything else found in the file, written back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Where the file is for `env`.
pub fn path(env: &Env) -> PathBuf {
    own_config_dir(env).path.join(PREFERENCES_FILE)
}

impl Preferences {
    /// Read `path` (missing: defaults). A file that is not ours to read (a
    /// symlink, loose permissions, another owner) or does not parse is an
    /// error naming it and the fix.
    pub fn load(path: &Path) -> Result<Preferences> {
        let Some(bytes) = read_optional(path, ReadPolicy::Strict)? else {
            return Ok(Preferences::default());
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::parse(
                path,
                format!("{e}; fix it, or delete the file to start from defaults (it holds only selection preferences)"),
            )
        })
    }

    /// Change the file at `path` with `change`: under a lock beside it, the
    /// file re-read, changed, written atomically (0600 in a 0700 dir). A
    /// file that does not parse is left as it is and the error returned.
    pub fn update(path: &Path, change: impl FnOnce(&mut Preferences)) -> Result<Preferences> {
        if let Some(dir) = path.parent() {
            crate::secure_file::create_dir_all_with_mode(dir, 0o700)?;
        }
        let _lock = FileLock::acquire(&path.with_extension("json.lock"), LOCK_TIMEOUT)?;
        let mut prefs = Preferences::load(path)?;
        change(&mut prefs);
        let mut bytes = serde_json::to_vec_pretty(&prefs)
            .map_err(|e| Error::parse(path, format!("could not encode: {e}")))?;
        bytes.push(b'\n');
        write_atomic_strict(path, &bytes, 0o600)?;
        Ok(prefs)
    }
}

/// Set (or with `None` clear) the strategy in `env`'s preferences.
pub fn set_strategy(env: &Env, strategy: Option<Strategy>) -> Result<Preferences> {
    Preferences::update(&path(env), |p| p.strategy = strategy)
}

/// Turn failover on or off (`None`: leave it to `[selection]`).
pub fn set_failover(env: &Env, failover: Option<bool>) -> Result<Preferences> {
    Preferences::update(&path(env), |p| p.failover = failover)
}

/// Set (or clear) the cost preference.
pub fn set_cost(env: &Env, cost: Option<CostPreference>) -> Result<Preferences> {
    Preferences::update(&path(env), |p| p.cost = cost)
}

/// Record `decision` as the last selection.
pub fn record_selection(env: &Env, decision: &Decision) -> Result<Preferences> {
    Preferences::update(&path(env), |p| {
        p.last_selection = Some(LastSelection {
            provider: decision.provider.clone(),
            class: decision.candidate.class,
            login: Some(decision.candidate.login.clone()),
            strategy: Some(decision.strategy),
            reason: decision.reason.clone(),
            at: decision.at,
        });
    })
}

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A command-line flag (or a value given in code).
    Flag,
    /// An environment variable.
    Env,
    /// preferences.json.
    Preferences,
    /// config.toml `[selection]`.
    Config,
    /// The task hint's default strategy.
    Task,
    /// Nothing set it.
    Default,
}

/// One setting's value and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Which rule gave it.
    pub origin: Origin,
    /// The flag, variable or file, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl<T> Sourced<T> {
    fn new(value: T, origin: Origin, from: Option<String>) -> Self {
        Sourced {
            value,
            origin,
            from,
        }
    }

    /// `subscription-first (from CLAUDE_AUTH_STRATEGY)`, for humans.
    pub fn describe(&self) -> String
    where
        T: std::fmt::Display,
    {
        let from = match (&self.origin, &self.from) {
            (_, Some(f)) => f.clone(),
            (Origin::Default, None) => "default".into(),
            (o, None) => format!("{o:?}").to_lowercase(),
        };
        format!("{} (from {from})", self.value)
    }
}

/// The selection settings in effect, each with its origin.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    /// The strategy.
    pub strategy: Sourced<Strategy>,
    /// `subscription-first`'s threshold, percent.
    pub subscription_threshold_percent: Sourced<u8>,
    /// Whether failover is on (never without a fallback list).
    pub failover: Sourced<bool>,
    /// The fallback list.
    pub fallback: Sourced<Vec<ClassOrProvider>>,
    /// The cost preference.
    pub cost: Sourced<CostPreference>,
}

/// The settings in effect: flags (`strategy`, `failover`) > the environment
/// (`CLAUDE_AUTH_STRATEGY`) > preferences.json > `[selection]` > the task's
/// default strategy > defaults (`manual`, 80 %, failover off, cost `any`).
/// A bad `CLAUDE_AUTH_STRATEGY` or an unreadable preferences file is an
/// error naming it.
pub fn effective(
    env: &Env,
    settings: &Settings,
    strategy_flag: Option<Strategy>,
    failover_flag: Option<bool>,
    task: Option<TaskHint>,
) -> Result<Effective> {
    let prefs_path = path(env);
    let prefs = Preferences::load(&prefs_path)?;
    let prefs_from = Some(prefs_path.display().to_string());
    let config_from = |key: &str| {
        Some(match &settings.path {
            Some(p) => format!("{} (selection.{key})", p.display()),
            None => format!("config.toml (selection.{key})"),
        })
    };
    let sel = &settings.selection;
    let env_strategy = env
        .get(STRATEGY_VAR)
        .map(|v| {
            v.trim().parse::<Strategy>().map_err(|m| Error::Setting {
                setting: STRATEGY_VAR.into(),
                message: m,
            })
        })
        .transpose()?;
    let strategy = if let Some(s) = strategy_flag {
        Sourced::new(s, Origin::Flag, Some("--strategy".into()))
    } else if let Some(s) = env_strategy {
        Sourced::new(s, Origin::Env, Some(STRATEGY_VAR.into()))
    } else if let Some(s) = prefs.strategy {
        Sourced::new(s, Origin::Preferences, prefs_from.clone())
    } else if let Some(s) = sel.strategy {
        Sourced::new(s, Origin::Config, config_from("strategy"))
    } else if let Some(t) = task {
        Sourced::new(
            t.default_strategy(),
            Origin::Task,
            Some(format!("--task {t}")),
        )
    } else {
        Sourced::new(Strategy::Manual, Origin::Default, None)
    };
    let threshold = match sel.subscription_threshold_percent {
        Some(t) => Sourced::new(
            t,
            Origin::Config,
            config_from("subscription_threshold_percent"),
        ),
        None => Sourced::new(sel.threshold_percent(), Origin::Default, None),
    };
    let fallback = if sel.fallback.is_empty() {
        Sourced::new(Vec::new(), Origin::Default, None)
    } else {
        Sourced::new(
            sel.fallback.clone(),
            Origin::Config,
            config_from("fallback"),
        )
    };
    let has_list = !sel.fallback.is_empty();
    let failover = if let Some(f) = failover_flag {
        Sourced::new(f && has_list, Origin::Flag, Some("--failover".into()))
    } else if let Some(f) = prefs.failover {
        Sourced::new(f && has_list, Origin::Preferences, prefs_from.clone())
    } else if sel.failover.is_some() || has_list {
        Sourced::new(
            sel.failover_enabled(),
            Origin::Config,
            config_from("failover"),
        )
    } else {
        Sourced::new(false, Origin::Default, None)
    };
    let cost = match prefs.cost {
        Some(c) => Sourced::new(c, Origin::Preferences, prefs_from),
        None => Sourced::new(CostPreference::Any, Origin::Default, None),
    };
    Ok(Effective {
        strategy,
        subscription_threshold_percent: threshold,
        failover,
        fallback,
        cost,
    })
}

#[cfg(test)]
#[path = "preferences_tests.rs"]
mod tests;
