//! OpenAI's usage, from ChatGPT's `GET …/backend-api/wham/usage` (ChatGPT
//! logins) and from response headers: `x-codex-*` on Codex traffic, and
//! `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` on API-key
//! traffic, whose reset is a duration such as `6m0s` (PROTOCOL.md, "OpenAI").

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::time::parse_go_duration_ms;
use super::{json_f64, json_object, json_u64, window_label, ApiLimit, SnapshotSource};
use super::{UsageSnapshot, Window};
use crate::credential::Provider;

/// The usage endpoint, relative to `https://chatgpt.com/backend-api`.
pub const USAGE_PATH: &str = "/wham/usage";

/// The usage endpoint beside a ChatGPT login's base URL: the Codex base
/// (`https://chatgpt.com/backend-api/codex`) is one level below
/// `backend-api`, where `wham/usage` is; any other base is taken as the
/// `backend-api` itself.
///
/// ```
/// use claude_auth::usage::openai::usage_url;
/// assert_eq!(usage_url("https://chatgpt.com/backend-api/codex"), "https://chatgpt.com/backend-api/wham/usage");
/// assert_eq!(usage_url("http://127.0.0.1:9/backend-api/"), "http://127.0.0.1:9/backend-api/wham/usage");
/// ```
pub fn usage_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let base = base.strip_suffix("/codex").unwrap_or(base);
    format!("{base}{USAGE_PATH}")
}

fn window(id: &str, w: &Map<String, Value>, now: u64) -> Option<Window> {
    let used = json_f64(w.get("used_percent"))?;
    let length = json_u64(w.get("limit_window_seconds"));
    let resets_at = json_u64(w.get("reset_at"))
        .or_else(|| json_u64(w.get("reset_after_seconds")).map(|s| now.saturating_add(s)));
    let label = length.map(window_label).unwrap_or_else(|| id.to_owned());
    Some(Window::new(id, &label, used).timed(length, resets_at))
}

/// Decode `wham/usage`: `plan_type`, `rate_limit.{allowed, limit_reached,
/// primary_window, secondary_window}` (each `{used_percent,
/// limit_window_seconds, reset_after_seconds, reset_at}`), `credits` kept as
/// sent. Missing or null parts are skipped.
///
/// ```
/// use claude_auth::usage::openai::parse_usage;
/// let body = br#"{"plan_type":"pro","rate_limit":{"allowed":true,"limit_reached":false,
///   "primary_window":{"used_percent":12,"limit_window_seconds":18000,"reset_after_seconds":600}}}"#;
/// let s = parse_usage(body, 1000).unwrap();
/// assert_eq!(s.plan.as_deref(), Some("pro"));
/// assert_eq!((s.windows[0].label.as_str(), s.windows[0].resets_at), ("5h", Some(1600)));
/// ```
pub fn parse_usage(body: &[u8], now: u64) -> Result<UsageSnapshot, String> {
    let map = json_object(body)?;
    let mut snapshot = UsageSnapshot::new(Provider::Openai, SnapshotSource::Endpoint, now);
    snapshot.plan = map
        .get("plan_type")
        .and_then(Value::as_str)
        .map(super::clean_text);
    if let Some(Value::Object(limits)) = map.get("rate_limit") {
        for id in ["primary_window", "secondary_window"] {
            if let Some(Value::Object(w)) = limits.get(id) {
                let short = id.trim_end_matches("_window");
                if let Some(w) = window(short, w, now) {
                    snapshot.windows.push(w);
                }
            }
        }
        snapshot.status = match (
            limits.get("limit_reached").and_then(Value::as_bool),
            limits.get("allowed").and_then(Value::as_bool),
        ) {
            (Some(true), _) | (_, Some(false)) => Some("limit_reached".into()),
            (_, Some(true)) => Some("allowed".into()),
            _ => None,
        };
    }
    if let Some(credits) = map.get("credits").filter(|c| !c.is_null()) {
        snapshot.extra = Some(credits.clone());
    }
    Ok(snapshot)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The usage a response's headers carry, or `None` when it carries none:
/// Codex's primary and secondary windows and plan, and the API-key limits.
pub fn from_headers(headers: &HeaderMap, now: u64) -> Option<UsageSnapshot> {
    let mut snapshot = UsageSnapshot::new(Provider::Openai, SnapshotSource::Headers, now);
    for id in ["primary", "secondary"] {
        let get = |part: &str| header(headers, &format!("x-codex-{id}-{part}"));
        let Some(used) = get("used-percent").and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let length = get("window-minutes")
            .and_then(|v| v.parse::<u64>().ok())
            .map(|m| m.saturating_mul(60));
        let resets_at = get("reset-at").and_then(|v| v.parse().ok());
        let label = length.map(window_label).unwrap_or_else(|| id.to_owned());
        snapshot
            .windows
            .push(Window::new(id, &label, used).timed(length, resets_at));
    }
    snapshot.plan = header(headers, "x-codex-plan-type").map(super::clean_text);
    for name in ["requests", "tokens"] {
        let get = |part: &str| header(headers, &format!("x-ratelimit-{part}-{name}"));
        let limit = ApiLimit {
            name: name.to_owned(),
            limit: get("limit").and_then(|v| v.parse().ok()),
            remaining: get("remaining").and_then(|v| v.parse().ok()),
            resets_at: get("reset")
                .and_then(parse_go_duration_ms)
                .map(|ms| now.saturating_add(ms.div_ceil(1000))),
        };
        if limit.limit.is_some() || limit.remaining.is_some() {
            snapshot.api_limits.push(limit);
        }
    }
    (!snapshot.is_empty() || snapshot.plan.is_some()).then_some(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_full_and_lenient() {
        let body = br#"{"plan_type":"plus","unknown":{"x":1},
          "rate_limit":{"allowed":true,"limit_reached":true,
            "primary_window":{"used_percent":100,"limit_window_seconds":18000,"reset_after_seconds":60,"reset_at":5000},
            "secondary_window":{"used_percent":"33.5","limit_window_seconds":604800,"reset_at":null,"reset_after_seconds":100},
            "tertiary_window":{"used_percent":1}},
          "credits":{"has_credits":true,"balance":"12.5"}}"#;
        let s = parse_usage(body, 1000).unwrap();
        let got: Vec<_> = s
            .windows
            .iter()
            .map(|w| {
                (
                    w.id.as_str(),
                    w.label.as_str(),
                    w.used_percent,
                    w.window_secs,
                    w.resets_at,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("primary", "5h", 100.0, Some(18_000), Some(5_000)),
                ("secondary", "7d", 33.5, Some(604_800), Some(1_100)),
            ]
        );
        assert_eq!(s.status.as_deref(), Some("limit_reached"));
        assert_eq!(
            s.extra,
            Some(serde_json::json!({"has_credits":true,"balance":"12.5"}))
        );
        let empty = parse_usage(br#"{"rate_limit":null,"plan_type":null}"#, 0).unwrap();
        assert!(empty.is_empty());
        assert_eq!(
            parse_usage(b"<html>", 0).unwrap_err(),
            "expected JSON, got an HTML page"
        );
    }

    #[test]
    fn codex_and_api_key_headers() {
        let h = crate::usage::test_headers(&[
            ("x-codex-primary-used-percent", "41"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-at", "1764936000"),
            ("x-codex-secondary-used-percent", "7.5"),
            ("x-codex-plan-type", "pro"),
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-limit-tokens", "30000"),
            ("x-ratelimit-remaining-tokens", "29000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        let s = from_headers(&h, 100).unwrap();
        assert_eq!(s.plan.as_deref(), Some("pro"));
        assert_eq!(s.windows[0].label, "5h");
        assert_eq!(s.windows[0].resets_at, Some(1_764_936_000));
        assert_eq!(
            (s.windows[1].label.as_str(), s.windows[1].window_secs),
            ("secondary", None)
        );
        assert_eq!(s.api_limits[0].resets_at, Some(101));
        assert_eq!(s.api_limits[1].resets_at, Some(460));
        assert!(from_headers(&HeaderMap::new(), 0).is_none());
    }
}
