//! The explained resolution: what `claude-auth status` prints.
//!
//! [`StatusReport`] turns a [`Resolution`] into plain, serialisable data: the
//! active profile and why, the config dir and why, every source in precedence
//! order with the winner marked and shadowed ones flagged, the winning
//! credential's kind, masked value, expiry, scopes and identity, and the
//! warnings. Field names are camelCase and stable; no raw secret ever appears.

use serde::Serialize;

use crate::config::locations::Located;
use crate::credential::{seconds_until, Credential, CredentialKind, Provider};
use crate::source::{ActiveProfile, Found, NoCredential, Outcome, Resolution, SourceId, Warning};
use crate::store::profile_files::ProfileFiles;

/// What a credential looks like to a human (never the value itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSummary {
    /// `apiKey`, `bearerToken`, `oauthToken` or `workloadIdentity`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `anthropic` or `openai`.
    pub provider: String,
    /// The masked value (`sk-ant-oat01-…abcd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Expiry, RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_iso: Option<String>,
    /// Seconds until expiry (negative when expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<i64>,
    /// Whether it has expired.
    pub expired: bool,
    /// Whether it can be refreshed.
    pub refreshable: bool,
    /// Granted scopes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Account email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Organization name (or UUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Workspace id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Subscription type (`pro`, `max`, …; for ChatGPT logins the plan:
    /// `plus`, `pro`, `team`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// The ChatGPT account id (OpenAI logins only; the id token's
    /// `chatgpt_account_id`, or auth.json's `tokens.account_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Profile, for profile sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Storage kind, for stored credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// Where it is kept.
    pub location: String,
    /// Base URL requests go to, when not the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Refresh health of a stored login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshHealth {
    /// Provider preset the login came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Last successful refresh, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh_at: Option<String>,
    /// Last refresh error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it happened, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<String>,
    /// Whether the server rejected the current refresh token (log in again).
    pub login_required: bool,
}

/// One source's line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceLine {
    /// Stable id (`anthropic-api-key`, `claude-code`, …).
    pub id: String,
    /// Human label.
    pub label: String,
    /// `found`, `skipped`, `error` or `notChecked`.
    pub status: String,
    /// Whether it won.
    pub winner: bool,
    /// Whether it holds a credential that a higher source shadows.
    pub shadowed: bool,
    /// Why it was skipped, the error, or why it was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialSummary>,
}

/// A login's cached usage, as `status` shows it (never fetched by `status`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageLine {
    /// The login key (`profile-work`, `claude-code`, …).
    pub login: String,
    /// The source's id.
    pub source: String,
    /// What the usage cache holds.
    #[serde(flatten)]
    pub report: crate::usage::fetch::UsageReport,
}

/// The whole explained resolution.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// Whether a usable credential resolved.
    pub ok: bool,
    /// The provider whose chain this is (`anthropic`, `openai`).
    pub provider: Provider,
    /// The active profile and why.
    pub active_profile: ActiveProfile,
    /// The spec config dir and why.
    pub config_dir: Located,
    /// Codex's home and why (the OpenAI chain only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codex_home: Option<Located>,
    /// The settings file in effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_file: Option<String>,
    /// The winning source's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    /// The winning credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialSummary>,
    /// The error that stopped the chain, or why nothing resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do next, when something is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Every source in precedence order.
    pub sources: Vec<SourceLine>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Refresh health of the winning login (last refresh, last error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshHealth>,
    /// When the report was made, Unix seconds.
    pub generated_at: u64,
    /// Cached usage per login, when `claude-auth usage` has fetched some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<UsageLine>,
}

fn kind_name(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ApiKey => "apiKey",
        CredentialKind::BearerToken => "bearerToken",
        CredentialKind::OauthToken => "oauthToken",
    }
}

/// Summarise what a source found.
pub fn summarize(found: &Found, now: u64) -> CredentialSummary {
    let mut s = CredentialSummary {
        kind: "workloadIdentity".into(),
        provider: "anthropic".into(),
        masked: None,
        expires_at: None,
        expires_at_iso: None,
        expires_in_secs: None,
        expired: false,
        refreshable: false,
        scopes: Vec::new(),
        account: None,
        organization: None,
        workspace: None,
        subscription: None,
        account_id: None,
        profile: found.profile.clone(),
        storage: found.storage.map(|k| k.as_str().to_owned()),
        location: found.location.clone(),
        base_url: found.base_url.clone(),
        notes: found.notes.clone(),
    };
    if let Some(fed) = found.federation() {
        s.organization = fed.organization_id.clone();
        s.workspace = fed.workspace_id.clone();
        s.refreshable = true;
        if let Some(cache) = &fed.token_cache {
            let note = match ProfileFiles::read_token_cache(cache) {
                Ok(Some((token, expires_at))) => {
                    s.masked = Some(token.masked());
                    s.expires_at = Some(expires_at);
                    s.expires_at_iso = Some(rfc3339(expires_at));
                    s.expires_in_secs = Some(seconds_until(expires_at, now));
                    s.expired = expires_at <= now;
                    if expires_at > now {
                        format!("the exchanged token is cached in {}", cache.display())
                    } else {
                        format!(
                            "the token cached in {} has expired: the next use exchanges anew",
                            cache.display()
                        )
                    }
                }
                Ok(None) => format!(
                    "no exchanged token cached yet in {}: the next use exchanges",
                    cache.display()
                ),
                Err(e) => format!("the cached exchanged token cannot be used: {e}"),
            };
            s.notes.push(note);
        }
    }
    if let Some(cred) = &found.credential {
        s.kind = kind_name(cred.kind()).into();
        s.provider = cred.provider().as_str().into();
        s.masked = Some(cred.secret().masked());
        s.expires_at = cred.expires_at();
        s.expires_at_iso = cred.expires_at().map(rfc3339);
        s.expires_in_secs = cred.expires_at().map(|e| seconds_until(e, now));
        s.expired = cred.is_expired_at(now);
        if let Some(e) = cred.expires_at().filter(|e| *e > MAX_RFC3339_SECS) {
            s.notes.push(format!(
                "expires_at {e} is past the year 9999: shown as {}, it never expires in practice",
                rfc3339(e)
            ));
        }
        s.refreshable = cred.can_refresh();
        if let Credential::OAuth(set) = cred {
            s.scopes = set.scopes.clone();
            let id = &set.identity;
            s.account = id.email.clone();
            s.organization = id
                .organization_name
                .clone()
                .or_else(|| id.organization_uuid.clone());
            s.workspace = id
                .workspace_name
                .clone()
                .or_else(|| id.workspace_id.clone());
            s.subscription = id.subscription_type.clone();
            if set.provider == Provider::Openai {
                s.account_id = id.account_uuid.clone();
            }
        }
    }
    s
}

fn hint_for(resolution: &Resolution) -> Option<String> {
    if resolution.provider == Provider::Openai {
        return openai_hint(resolution);
    }
    if let Some((id, _)) = &resolution.error {
        return Some(match id {
            SourceId::AnthropicProfile => "fix the profile, or unset ANTHROPIC_PROFILE".into(),
            SourceId::Explicit => "fix the profile named by --profile, or choose another".into(),
            SourceId::ActiveProfile => "fix the active profile, choose another with `claude-auth profile use <name>`, or log in with `claude-auth login`".into(),
            _ => format!("fix {} or unset what selects it", id.label()),
        });
    }
    match resolution.winning() {
        None => Some("log in with `claude-auth login`, or set ANTHROPIC_API_KEY".into()),
        Some(found) => match &found.credential {
            Some(c) if c.is_expired_at(resolution.now) && !c.can_refresh() => {
                Some("the credential has expired; log in again with `claude-auth login`".into())
            }
            _ => None,
        },
    }
}

/// `hint_for` for the OpenAI chain.
fn openai_hint(resolution: &Resolution) -> Option<String> {
    const LOG_IN: &str = "log in with `claude-auth login --provider chatgpt` (or Codex's `codex login`), or set OPENAI_API_KEY";
    if let Some((id, _)) = &resolution.error {
        return Some(match id {
            SourceId::Explicit | SourceId::OpenaiProfile => "fix the OpenAI profile, or choose another with `claude-auth switch openai --profile NAME`".into(),
            _ => format!("fix {} or unset what selects it", id.label()),
        });
    }
    match resolution.winning() {
        None => Some(LOG_IN.into()),
        Some(found) => match &found.credential {
            Some(c) if c.is_expired_at(resolution.now) && !c.can_refresh() => Some(format!(
                "the credential has expired; log in again: {}",
                found.backing.login_command_for(&resolution.provider)
            )),
            _ => None,
        },
    }
}

impl StatusReport {
    /// Build the report from a resolution.
    pub fn from_resolution(resolution: &Resolution) -> StatusReport {
        let now = resolution.now;
        let mut seen_winner = false;
        let sources = resolution
            .reports
            .iter()
            .map(|r| {
                let (status, reason, credential) = match &r.outcome {
                    Outcome::Found(f) => ("found", None, Some(summarize(f, now))),
                    Outcome::Skipped(why) => ("skipped", Some(why.clone()), None),
                    Outcome::Error(m) => ("error", Some(m.clone()), None),
                    Outcome::NotChecked(why) => ("notChecked", Some(why.clone()), None),
                };
                let shadowed = credential.is_some() && !r.winner && seen_winner;
                if r.winner {
                    seen_winner = true;
                }
                SourceLine {
                    id: r.id.as_str().into(),
                    label: r.id.label().into(),
                    status: status.into(),
                    winner: r.winner,
                    shadowed,
                    reason,
                    credential,
                }
            })
            .collect();
        let winner = resolution.winner();
        let usable = resolution.credential();
        // Federation is usable when the exchange has what it needs.
        let exchange_problem = resolution
            .winning()
            .and_then(|f| f.federation())
            .and_then(|f| f.identity_token_file.as_ref())
            .filter(|p| !p.is_file())
            .map(|p| {
                format!(
                    "the identity token file {} does not exist, so the token exchange cannot be made",
                    p.display()
                )
            });
        StatusReport {
            provider: resolution.provider.clone(),
            ok: match &usable {
                Ok(c) => !c.is_expired_at(now) || c.can_refresh(),
                Err(NoCredential::NeedsExchange) => exchange_problem.is_none(),
                Err(_) => false,
            },
            active_profile: resolution.active_profile.clone(),
            config_dir: resolution.config_dir.clone(),
            codex_home: resolution.codex_home.clone(),
            settings_file: resolution
                .settings_path
                .as_ref()
                .map(|p| p.display().to_string()),
            winner: winner.map(|w| w.id.as_str().to_owned()),
            credential: resolution.winning().map(|f| summarize(f, now)),
            error: match usable {
                Err(NoCredential::NeedsExchange) => exchange_problem,
                Err(NoCredential::None) if resolution.provider == Provider::Openai => {
                    Some("no OpenAI credential found".into())
                }
                other => other.err().map(|e| e.to_string()),
            },
            hint: hint_for(resolution),
            sources,
            warnings: resolution.warnings.clone(),
            refresh: None,
            generated_at: now,
            usage: Vec::new(),
        }
    }
}

impl StatusReport {
    /// Add what the usage cache holds for every found login. Reads files
    /// only, never the network.
    pub fn add_cached_usage(&mut self, resolution: &Resolution, env: &crate::config::env::Env) {
        let Ok(fetcher) = crate::usage::fetch::UsageFetcher::new(&crate::usage::state_dir(env))
        else {
            return;
        };
        for report in &resolution.reports {
            let Some(found) = report.found() else {
                continue;
            };
            let login = crate::usage::login_key(report.id, found.profile.as_deref());
            if self.usage.iter().any(|u| u.login == login) {
                continue;
            }
            let provider = found
                .credential
                .as_ref()
                .map_or(crate::credential::Provider::Anthropic, |c| {
                    c.provider().clone()
                });
            if let Some(cached) = fetcher.cached(&provider, &login) {
                self.usage.push(UsageLine {
                    login,
                    source: report.id.as_str().to_owned(),
                    report: cached,
                });
            }
        }
    }

    /// Add the winning login's refresh health from claude-auth's state dir.
    pub fn add_refresh_health(&mut self, resolution: &Resolution, env: &crate::config::env::Env) {
        let Some(winner) = resolution.winner() else {
            return;
        };
        let Some(found) = winner.found() else { return };
        let openai = resolution.provider == Provider::Openai;
        // Where the engine keeps this login's state: the backing's own rule
        // (Claude Code's login, a profile, the seed's `auth.json`, Codex's
        // login keyed by its home, an OpenAI profile by its name).
        let path = found.backing.state_path(env);
        let Some(path) = path else {
            return;
        };
        if !path.exists() {
            return;
        }
        let state = crate::engine::refresh_state::RefreshState::load(&path);
        let current_fp = found
            .credential
            .as_ref()
            .and_then(Credential::token_set)
            .and_then(|s| s.refresh_token.as_ref())
            .map(crate::engine::refresh_state::fingerprint);
        let login_required =
            state.dead_refresh_token.is_some() && state.dead_refresh_token == current_fp;
        if login_required {
            self.ok = false;
            self.hint = Some(if openai {
                format!(
                    "the server rejected this login's refresh token; log in again: {}",
                    found.backing.login_command()
                )
            } else {
                "the server rejected this login's refresh token; log in again with `claude-auth login`".into()
            });
        }
        self.refresh = Some(RefreshHealth {
            provider: state.provider,
            last_refresh_at: state.last_refresh_at.map(rfc3339),
            last_error: state.last_error,
            last_error_at: state.last_error_at.map(rfc3339),
            login_required,
        });
    }
}

/// One provider in `status --json`'s `providers` array: its chain's
/// record, and whether it is the active provider (and why).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// `anthropic` or `openai`.
    pub provider: Provider,
    /// Whether it is the active provider.
    pub active: bool,
    /// Why it is active (the active provider only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether its chain hands out a usable credential.
    pub ok: bool,
    /// The winning source's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    /// The winning credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialSummary>,
    /// Why nothing usable resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Every source of its chain in precedence order.
    pub sources: Vec<SourceLine>,
    /// Its warnings.
    pub warnings: Vec<Warning>,
}

impl ProviderStatus {
    /// `report`'s provider, marked active when `active` names it.
    pub fn new(
        report: &StatusReport,
        active: Option<&crate::engine::active_provider::ActiveProvider>,
    ) -> ProviderStatus {
        let active = active.filter(|a| a.provider == report.provider);
        ProviderStatus {
            provider: report.provider.clone(),
            active: active.is_some(),
            reason: active.map(|a| a.reason.clone()),
            ok: report.ok,
            winner: report.winner.clone(),
            credential: report.credential.clone(),
            error: report.error.clone(),
            hint: report.hint.clone(),
            sources: report.sources.clone(),
            warnings: report.warnings.clone(),
        }
    }
}

/// The last second RFC 3339 can write (9999-12-31T23:59:59Z).
pub const MAX_RFC3339_SECS: u64 = 253_402_300_799;

/// Unix seconds as RFC 3339 UTC (`2026-04-01T00:00:00Z`); anything past
/// year 9999 is clamped to its last second.
pub fn rfc3339(secs: u64) -> String {
    let secs = secs.min(MAX_RFC3339_SECS);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration in words: `in 7h 12m`, `3d 4h ago`.
pub fn relative(delta_secs: i64) -> String {
    let abs = delta_secs.unsigned_abs();
    let (d, h, m, s) = (abs / 86_400, abs % 86_400 / 3600, abs % 3600 / 60, abs % 60);
    let text = if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    };
    if delta_secs >= 0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
