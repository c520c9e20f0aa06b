//! Subscription windows, API-key limits and their pace, for both vendors.
//!
//! A [`UsageSnapshot`] says, for one login, how much of each window is used,
//! when it resets and at what pace it is being spent. It comes from the
//! vendor's usage endpoint (Anthropic's `/api/oauth/usage`, ChatGPT's
//! `wham/usage`) or from the rate-limit headers of any response (the
//! `-unified-` headers, `x-codex-*`, and the API-key `ratelimit` headers);
//! [`anthropic`] and [`openai`] decode both, leniently, because fields come
//! and go. The [`ledger`] keeps the latest headers and every request's token
//! counts in a small SQLite database shared by all processes on the machine.

pub mod anthropic;
pub mod events;
pub mod fetch;
pub mod ledger;
pub mod openai;
mod partial;
pub mod spent;
pub mod tap;
pub mod time;
mod toplevel;
mod window;
pub mod writer;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential::Provider;

pub use window::{window_label, ApiLimit, Pace, PaceState, Window, FIVE_HOURS, SEVEN_DAYS};

/// Where a snapshot's numbers came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotSource {
    /// The vendor's usage endpoint.
    Endpoint,
    /// The rate-limit headers of a response.
    Headers,
}

/// One login's usage at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageSnapshot {
    /// Whose.
    pub provider: Provider,
    /// The plan (`pro`, `max`, `plus`, …), when the source says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Subscription windows, in the vendor's order.
    pub windows: Vec<Window>,
    /// API-key limits (requests, tokens), from headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_limits: Vec<ApiLimit>,
    /// The vendor's verdict when it gives one: `allowed`, `allowed_warning`,
    /// `rejected` (Anthropic), `limit_reached` (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Extra usage or credits, as the vendor sent them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
    /// Endpoint or headers.
    pub source: SnapshotSource,
    /// When the numbers were read, Unix seconds.
    pub fetched_at: u64,
}

impl UsageSnapshot {
    /// An empty snapshot.
    pub fn new(provider: Provider, source: SnapshotSource, fetched_at: u64) -> Self {
        UsageSnapshot {
            provider,
            plan: None,
            windows: Vec::new(),
            api_limits: Vec::new(),
            status: None,
            extra: None,
            source,
            fetched_at,
        }
    }

    /// The most used window, if any.
    pub fn fullest(&self) -> Option<&Window> {
        self.windows
            .iter()
            .max_by(|a, b| a.used_percent.total_cmp(&b.used_percent))
    }

    /// Whether it holds anything worth showing.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.api_limits.is_empty() && self.status.is_none()
    }
}

/// Text a vendor sent (a window's name, a plan, an email, a status) as it
/// may be shown on a terminal: control and bidi-override characters become
/// `?`, and it is cut at 128 characters, so an answer cannot drive the
/// terminal that prints it.
pub fn clean_text(text: &str) -> String {
    text.chars()
        .take(128)
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// A number from JSON that may come as a number or a numeric string.
pub(crate) fn json_f64(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// A non-negative whole number from JSON (number or numeric string).
pub(crate) fn json_u64(v: Option<&Value>) -> Option<u64> {
    json_f64(v).filter(|n| *n >= 0.0).map(|n| n as u64)
}

/// Decode a usage endpoint's body: a JSON object, or an error that says
/// what came instead (an HTML error page, say) without echoing it.
pub(crate) fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a JSON object, got {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
        Err(_) => {
            let start = String::from_utf8_lossy(&body[..body.len().min(64)]).to_lowercase();
            if start.trim_start().starts_with('<') {
                Err("expected JSON, got an HTML page".into())
            } else {
                Err(format!(
                    "expected JSON, got {} bytes of something else",
                    body.len()
                ))
            }
        }
    }
}

/// claude-auth's state dir, where the usage cache and ledger live:
/// `<own config dir>/state`.
pub fn state_dir(env: &crate::Env) -> std::path::PathBuf {
    crate::config::locations::own_config_dir(env)
        .path
        .join("state")
}

/// The key a login's usage is cached and kept in the ledger under:
/// `profile-<name>` for a profile, else the source's id (`claude-code`,
/// `anthropic-api-key`, …).
pub fn login_key(source: crate::source::SourceId, profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!("profile-{p}"),
        None => source.as_str().to_owned(),
    }
}

/// A header map from pairs, for tests.
#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&str, &str)]) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .unwrap_or_else(|e| panic!("{k}: {e}")),
            reqwest::header::HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{v}: {e}")),
        );
    }
    map
}
