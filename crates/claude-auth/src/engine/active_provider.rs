//! Which provider is active, and why: the rule, and the record `switch`
//! leaves.
//!
//! With both an Anthropic and an OpenAI login on one machine, a command that
//! is not told which to use needs one answer, always with a one-line reason:
//! the `--provider` flag, else `CLAUDE_AUTH_PROVIDER`, else what
//! `claude-auth switch` recorded (`<own_config_dir>/active_provider.json`),
//! else the only provider with a usable login, else Anthropic.
//!
//! The record is claude-auth's own small JSON file (0600, written
//! atomically), never a line in another tool's file. A record that cannot
//! be read is an error naming the file and the fix whenever the rule reaches
//! it; only `switch` (an explicit new choice) replaces an unparsable one.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::env::Env;
use crate::config::locations::{own_config_dir, validate_profile_name};
use crate::credential::Provider;
use crate::error::{Error, Result};
use crate::secure_file::{self, ReadPolicy, MAX_POINTER_BYTES};

/// The record's file name in claude-auth's own config dir.
pub const ACTIVE_PROVIDER_FILE: &str = "active_provider.json";

/// The environment variable that chooses the provider (ours).
pub const PROVIDER_VAR: &str = "CLAUDE_AUTH_PROVIDER";

/// What decided the active provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// The `--provider` flag (or a provider given in code).
    Flag,
    /// `CLAUDE_AUTH_PROVIDER`.
    Env,
    /// What `claude-auth switch` recorded.
    Switch,
    /// The only provider with a usable login.
    OnlyLogin,
    /// Nothing chose: Anthropic.
    Default,
}

/// The active provider, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveProvider {
    /// The provider.
    pub provider: Provider,
    /// Its active profile, when one is selected (`--profile`, or the
    /// provider's own active-profile pointer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Why it is active, in one line.
    pub reason: String,
    /// What decided it.
    pub origin: Origin,
}

/// What `switch` recorded: the provider, the profile it named, why, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchRecord {
    /// The provider chosen.
    pub provider: Provider,
    /// The profile named with it, if any.
    pub profile: Option<String>,
    /// How it was chosen (`chosen with \`claude-auth switch openai\``).
    pub reason: String,
    /// When, RFC 3339 UTC.
    pub time: String,
}

/// Where the record lives for `env`.
pub fn record_path(env: &Env) -> PathBuf {
    own_config_dir(env).path.join(ACTIVE_PROVIDER_FILE)
}

const FIX: &str = "choose again with `claude-auth switch anthropic` or `claude-auth switch openai`";

impl SwitchRecord {
    /// Read the record at `path`; `Ok(None)` when there is none. A record
    /// that cannot be used is an error naming the file and the fix (its
    /// contents are never echoed).
    pub fn load(path: &Path) -> Result<Option<SwitchRecord>> {
        let Some(bytes) =
            secure_file::read_optional_limited(path, ReadPolicy::Config, MAX_POINTER_BYTES)?
        else {
            return Ok(None);
        };
        SwitchRecord::parse(&bytes, path).map(Some)
    }

    /// Parse a record's bytes (`path` is for the error).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<SwitchRecord> {
        let bad = |what: &str| Error::parse(path, format!("{what}; {FIX}"));
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            bad(&format!(
                "not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let Some(obj) = value.as_object() else {
            return Err(bad("not a JSON object"));
        };
        let provider = obj
            .get("provider")
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<Provider>().ok())
            .ok_or_else(|| bad("\"provider\" must be \"anthropic\" or \"openai\""))?;
        let profile =
            match obj.get("profile") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if validate_profile_name(p, "profile").is_ok() => {
                    Some(p.clone())
                }
                Some(_) => return Err(bad(
                    "\"profile\" must be null or a profile name (^[A-Za-z0-9_-][A-Za-z0-9_.-]*$)",
                )),
            };
        let text = |key: &str| match obj.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) if s.len() <= 200 && !s.chars().any(char::is_control) => {
                Ok(s.clone())
            }
            Some(_) => Err(bad(&format!("\"{key}\" must be a short line of text"))),
        };
        Ok(SwitchRecord {
            provider,
            profile,
            reason: text("reason")?,
            time: text("time")?,
        })
    }

    /// The record as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "provider": self.provider.as_str(),
            "profile": self.profile,
            "reason": self.reason,
            "time": self.time,
        })
    }

    /// Write the record to `path` atomically, 0600 (its directory 0700 when
    /// created).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut bytes = secure_file::to_json_bytes(&self.to_json());
        bytes.push(b'\n');
        secure_file::write_atomic(path, &bytes, 0o600)
    }

    /// The reason a command shows for this record.
    pub fn explain(&self) -> String {
        let how = if self.reason.is_empty() {
            "chosen with `claude-auth switch`"
        } else {
            &self.reason
        };
        if self.time.is_empty() {
            how.to_owned()
        } else {
            format!("{how} at {}", self.time)
        }
    }
}

/// The rule, given what each step would say. `record` is only read when
/// neither the flag nor the environment decides; `usable` only when the
/// record does not either (each provider at most once, Anthropic first).
pub fn decide(
    flag: Option<&Provider>,
    env: &Env,
    record: impl FnOnce() -> Result<Option<SwitchRecord>>,
    mut usable: impl FnMut(&Provider) -> bool,
) -> Result<ActiveProvider> {
    let active = |provider: Provider, origin: Origin, reason: String| ActiveProvider {
        provider,
        profile: None,
        reason,
        origin,
    };
    if let Some(p) = flag {
        return Ok(active(
            p.clone(),
            Origin::Flag,
            format!("chosen with --provider {p}"),
        ));
    }
    if let Some(value) = env.get(PROVIDER_VAR) {
        let p: Provider = value.parse().map_err(|_| Error::Setting {
            setting: PROVIDER_VAR.into(),
            message: "must be \"anthropic\" or \"openai\"; fix it or unset it".into(),
        })?;
        let reason = format!("{PROVIDER_VAR}={p}");
        return Ok(active(p, Origin::Env, reason));
    }
    if let Some(r) = record()? {
        let reason = r.explain();
        return Ok(active(r.provider, Origin::Switch, reason));
    }
    let with_login: Vec<Provider> = Provider::ALL.into_iter().filter(|p| usable(p)).collect();
    Ok(match with_login.as_slice() {
        [only] => active(
            only.clone(),
            Origin::OnlyLogin,
            "the only provider with a usable login".into(),
        ),
        [] => active(
            Provider::Anthropic,
            Origin::Default,
            "the default: no provider has a usable login".into(),
        ),
        _ => active(
            Provider::Anthropic,
            Origin::Default,
            "the default: both providers have a usable login; choose one with `claude-auth switch`"
                .into(),
        ),
    })
}

#[cfg(test)]
#[path = "active_provider_tests.rs"]
mod tests;
