//! Anthropic's usage, from `GET /api/oauth/usage` (subscription logins) and
//! from response headers: the `anthropic-ratelimit-unified-*` headers of
//! subscription traffic and the `anthropic-ratelimit-{requests,tokens,…}-*`
//! headers of API-key traffic (PROTOCOL.md, "Using the credentials").

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::time::parse_rfc3339;
use super::{json_f64, json_object, ApiLimit, SnapshotSource, UsageSnapshot, Window};
use super::{FIVE_HOURS, SEVEN_DAYS};
use crate::credential::Provider;

/// The usage endpoint, relative to the API base URL.
pub const USAGE_PATH: &str = "/api/oauth/usage";
/// The profile endpoint (plan and account), relative to the API base URL.
pub const PROFILE_PATH: &str = "/api/oauth/profile";

/// The length and label of a window the endpoint names.
fn window_shape(id: &str) -> (Option<u64>, String) {
    if id == "five_hour" {
        (Some(FIVE_HOURS), "5h".into())
    } else if id == "seven_day" {
        (Some(SEVEN_DAYS), "7d".into())
    } else if let Some(model) = id.strip_prefix("seven_day_") {
        (Some(SEVEN_DAYS), format!("7d {}", model.replace('_', " ")))
    } else if let Some(rest) = id.strip_prefix("five_hour_") {
        (Some(FIVE_HOURS), format!("5h {}", rest.replace('_', " ")))
    } else {
        (None, id.replace('_', " "))
    }
}

/// Decode `/api/oauth/usage`: every key whose value is an object with a
/// numeric `utilization` (0–100) is a window (`five_hour`, `seven_day`,
/// `seven_day_opus`, … and any the API adds); `resets_at` is ISO-8601 or
/// null; `extra_usage` is kept as sent; nulls and unknown shapes are skipped.
///
/// ```
/// use claude_auth::usage::anthropic::parse_usage;
/// let body = br#"{"five_hour":{"utilization":42.0,"resets_at":"2026-12-05T12:00:00Z"},
///                 "seven_day":{"utilization":10,"resets_at":null},"seven_day_opus":null}"#;
/// let s = parse_usage(body, 0).unwrap();
/// assert_eq!(s.windows.len(), 2);
/// assert_eq!((s.windows[0].label.as_str(), s.windows[0].used_percent), ("5h", 42.0));
/// ```
pub fn parse_usage(body: &[u8], now: u64) -> Result<UsageSnapshot, String> {
    let map = json_object(body)?;
    let mut snapshot = UsageSnapshot::new(Provider::Anthropic, SnapshotSource::Endpoint, now);
    for (key, value) in &map {
        if key == "extra_usage" {
            if !value.is_null() {
                snapshot.extra = Some(value.clone());
            }
            continue;
        }
        let Value::Object(window) = value else {
            continue;
        };
        let Some(used) = json_f64(window.get("utilization")) else {
            continue;
        };
        let resets_at = window
            .get("resets_at")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339);
        let (length, label) = window_shape(key);
        snapshot
            .windows
            .push(Window::new(key, &label, used).timed(length, resets_at));
    }
    Ok(snapshot)
}

/// The plan a `/api/oauth/profile` answer names: `organization.organization_type`
/// without its `claude_` prefix (`max`, `pro`, `team`, `enterprise`), and the
/// account's email.
pub fn parse_profile(body: &[u8]) -> Result<(Option<String>, Option<String>), String> {
    let map = json_object(body)?;
    let plan = map
        .get("organization")
        .and_then(|o| o.get("organization_type"))
        .and_then(Value::as_str)
        .map(|t| super::clean_text(t.strip_prefix("claude_").unwrap_or(t)));
    let email = map
        .get("account")
        .and_then(|a| a.get("email"))
        .and_then(Value::as_str)
        .map(super::clean_text);
    Ok((plan, email))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

const UNIFIED: &str = "anthropic-ratelimit-unified-";
const API_LIMITS: [&str; 4] = ["requests", "tokens", "input-tokens", "output-tokens"];

/// The usage a response's headers carry, or `None` when it carries none:
/// the unified 5-hour and 7-day windows (utilization is a 0–1 fraction
/// there), the unified status, and the API-key limits.
pub fn from_headers(headers: &HeaderMap, now: u64) -> Option<UsageSnapshot> {
    let mut snapshot = UsageSnapshot::new(Provider::Anthropic, SnapshotSource::Headers, now);
    for (short, id, label, length) in [
        ("5h", "five_hour", "5h", FIVE_HOURS),
        ("7d", "seven_day", "7d", SEVEN_DAYS),
    ] {
        let used = header(headers, &format!("{UNIFIED}{short}-utilization"))
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite());
        if let Some(used) = used {
            let reset =
                header(headers, &format!("{UNIFIED}{short}-reset")).and_then(|v| v.parse().ok());
            snapshot
                .windows
                .push(Window::new(id, label, used * 100.0).timed(Some(length), reset));
        }
    }
    snapshot.status = header(headers, &format!("{UNIFIED}status")).map(super::clean_text);
    for name in API_LIMITS {
        let get = |part: &str| header(headers, &format!("anthropic-ratelimit-{name}-{part}"));
        let limit = ApiLimit {
            name: name.to_owned(),
            limit: get("limit").and_then(|v| v.parse().ok()),
            remaining: get("remaining").and_then(|v| v.parse().ok()),
            resets_at: get("reset").and_then(parse_rfc3339),
        };
        if limit.limit.is_some() || limit.remaining.is_some() {
            snapshot.api_limits.push(limit);
        }
    }
    (!snapshot.is_empty()).then_some(snapshot)
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
