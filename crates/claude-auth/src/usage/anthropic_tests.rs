//! Decoding Anthropic's usage endpoint and headers.

use super::*;
use crate::usage::test_headers as headers;

#[test]
fn endpoint_windows_unknown_keys_and_nulls() {
    let body = br#"{
        "five_hour": {"utilization": 37.5, "resets_at": "2026-12-05T12:00:00.123+00:00"},
        "seven_day": {"utilization": "12", "resets_at": null},
        "seven_day_oauth_apps": null,
        "seven_day_opus": {"utilization": 100, "resets_at": "2026-12-08T00:00:00Z", "new_field": 1},
        "iguana_necktie": {"utilization": 5},
        "extra_usage": {"is_enabled": false, "monthly_limit": null},
        "something_new": [1, 2]
    }"#;
    let s = parse_usage(body, 7).unwrap();
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
            ("five_hour", "5h", 37.5, Some(18_000), Some(1_796_472_000)),
            ("seven_day", "7d", 12.0, Some(604_800), None),
            (
                "seven_day_opus",
                "7d opus",
                100.0,
                Some(604_800),
                Some(1_796_688_000)
            ),
            ("iguana_necktie", "iguana necktie", 5.0, None, None),
        ]
    );
    assert_eq!(
        s.extra,
        Some(serde_json::json!({"is_enabled": false, "monthly_limit": null}))
    );
    assert_eq!((s.source, s.fetched_at), (SnapshotSource::Endpoint, 7));
}

#[test]
fn endpoint_refuses_what_is_not_a_json_object() {
    assert_eq!(
        parse_usage(b"<!DOCTYPE html><html>502 Bad Gateway</html>", 0).unwrap_err(),
        "expected JSON, got an HTML page"
    );
    assert_eq!(
        parse_usage(b"[]", 0).unwrap_err(),
        "expected a JSON object, got an array"
    );
    assert!(parse_usage(b"", 0).is_err());
}

#[test]
fn profile_plan_and_email() {
    let body = br#"{"account":{"uuid":"u","email":"a@b.c","display_name":"A"},
        "organization":{"uuid":"o","organization_type":"claude_max","rate_limit_tier":"x"}}"#;
    assert_eq!(
        parse_profile(body).unwrap(),
        (Some("max".into()), Some("a@b.c".into()))
    );
    assert_eq!(parse_profile(b"{}").unwrap(), (None, None));
}

#[test]
fn unified_and_api_key_headers() {
    let h = headers(&[
        ("anthropic-ratelimit-unified-status", "allowed_warning"),
        ("anthropic-ratelimit-unified-5h-utilization", "0.82"),
        ("anthropic-ratelimit-unified-5h-reset", "1764936000"),
        ("anthropic-ratelimit-unified-7d-utilization", "0.4"),
        ("anthropic-ratelimit-tokens-limit", "80000"),
        ("anthropic-ratelimit-tokens-remaining", "60000"),
        ("anthropic-ratelimit-tokens-reset", "2026-12-05T12:00:00Z"),
        ("content-type", "application/json"),
    ]);
    let s = from_headers(&h, 5).unwrap();
    assert_eq!(s.status.as_deref(), Some("allowed_warning"));
    assert_eq!(s.windows.len(), 2);
    assert!((s.windows[0].used_percent - 82.0).abs() < 1e-9);
    assert_eq!(s.windows[0].resets_at, Some(1_764_936_000));
    assert_eq!(s.windows[1].resets_at, None);
    assert_eq!(
        s.api_limits,
        vec![ApiLimit {
            name: "tokens".into(),
            limit: Some(80_000),
            remaining: Some(60_000),
            resets_at: Some(1_796_472_000)
        }]
    );
    assert_eq!(s.api_limits[0].used_percent(), Some(25.0));
    assert!(from_headers(&headers(&[("content-type", "text/plain")]), 0).is_none());
}

#[test]
fn vendor_text_cannot_drive_the_terminal() {
    let body = "{\"five\\u001b[2J\\u202e_hour\": {\"utilization\": 1}}";
    let s = parse_usage(body.as_bytes(), 0).unwrap();
    assert_eq!(s.windows[0].label, "five?[2J? hour");
    let profile = br#"{"account":{"email":"a\u0007@b"},"organization":{"organization_type":"claude_\u001b]0;x\u0007"}}"#;
    assert_eq!(
        parse_profile(profile).unwrap(),
        (Some("?]0;x?".into()), Some("a?@b".into()))
    );
}
