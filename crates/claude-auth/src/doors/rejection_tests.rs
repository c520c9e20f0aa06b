//! The rejection rule, header by header: what fails over and what does not.

use super::*;
use crate::usage::test_headers;

const A: Provider = Provider::Anthropic;
const O: Provider = Provider::Openai;

#[test]
fn unified_rejected_is_a_rejection_until_its_reset() {
    let h = test_headers(&[
        ("anthropic-ratelimit-unified-status", "rejected"),
        ("anthropic-ratelimit-unified-reset", "5000"),
        ("anthropic-ratelimit-unified-5h-utilization", "0.4"),
    ]);
    let r = Rejection::from_response(&A, 429, &h, 100).unwrap();
    assert_eq!(r.reason, RejectReason::UnifiedRejected);
    assert_eq!(r.resets_at, Some(5000));
    assert_eq!(r.until(100), 5000);
    // Also on another refusal status (403), never on success or a 5xx.
    assert!(Rejection::from_response(&A, 403, &h, 100).is_some());
    assert!(Rejection::from_response(&A, 200, &h, 100).is_none());
    assert!(Rejection::from_response(&A, 500, &h, 100).is_none());
    assert!(Rejection::from_response(&A, 529, &h, 100).is_none());
    // Without a reset: retry-after, else the default hold.
    let h = test_headers(&[
        ("anthropic-ratelimit-unified-status", "rejected"),
        ("retry-after", "30"),
    ]);
    let r = Rejection::from_response(&A, 429, &h, 100).unwrap();
    assert_eq!(r.until(100), 130);
    let h = test_headers(&[("anthropic-ratelimit-unified-status", "rejected")]);
    let r = Rejection::from_response(&A, 429, &h, 100).unwrap();
    assert_eq!(r.until(100), 100 + DEFAULT_HOLD_SECS);
}

#[test]
fn a_429_needs_a_window_at_100_percent() {
    let full = test_headers(&[
        ("anthropic-ratelimit-unified-status", "allowed_warning"),
        ("anthropic-ratelimit-unified-5h-utilization", "1.0"),
        ("anthropic-ratelimit-unified-5h-reset", "7000"),
        ("anthropic-ratelimit-unified-7d-utilization", "0.5"),
        ("anthropic-ratelimit-unified-7d-reset", "9000"),
    ]);
    let r = Rejection::from_response(&A, 429, &full, 100).unwrap();
    assert_eq!(r.reason, RejectReason::WindowFull("5h".into()));
    assert_eq!(r.resets_at, Some(7000));
    assert_eq!(r.reason.to_string(), "429 with the 5h window at 100 %");
    // The same headers on a 400 are the request's fault, not a limit.
    assert!(Rejection::from_response(&A, 400, &full, 100).is_none());
    // A plain 429 (a burst), or one at 99 %: transient.
    assert!(Rejection::from_response(&A, 429, &HeaderMap::new(), 100).is_none());
    let h = test_headers(&[("anthropic-ratelimit-unified-5h-utilization", "0.99")]);
    assert!(Rejection::from_response(&A, 429, &h, 100).is_none());
    // An Anthropic API key's per-minute limits are not windows: transient.
    let h = test_headers(&[
        ("anthropic-ratelimit-requests-limit", "50"),
        ("anthropic-ratelimit-requests-remaining", "0"),
    ]);
    assert!(Rejection::from_response(&A, 429, &h, 100).is_none());
}

#[test]
fn openai_codex_windows_and_api_key_limits() {
    let h = test_headers(&[
        ("x-codex-primary-used-percent", "100"),
        ("x-codex-primary-window-minutes", "300"),
        ("x-codex-primary-reset-at", "4000"),
    ]);
    let r = Rejection::from_response(&O, 429, &h, 100).unwrap();
    assert_eq!(r.reason, RejectReason::WindowFull("5h".into()));
    assert_eq!(r.resets_at, Some(4000));
    let h = test_headers(&[
        ("x-ratelimit-limit-tokens", "30000"),
        ("x-ratelimit-remaining-tokens", "0"),
        ("x-ratelimit-reset-tokens", "6m0s"),
        ("x-ratelimit-limit-requests", "500"),
        ("x-ratelimit-remaining-requests", "12"),
    ]);
    let r = Rejection::from_response(&O, 429, &h, 100).unwrap();
    assert_eq!(r.reason, RejectReason::WindowFull("tokens".into()));
    assert_eq!(r.resets_at, Some(460));
    let h = test_headers(&[("x-ratelimit-remaining-tokens", "5")]);
    assert!(Rejection::from_response(&O, 429, &h, 100).is_none());
    // OpenAI has no unified status; Anthropic's header means nothing there.
    let h = test_headers(&[("anthropic-ratelimit-unified-status", "rejected")]);
    assert!(Rejection::from_response(&O, 429, &h, 100).is_none());
}

#[test]
fn login_required_holds_for_the_default_time() {
    let r = Rejection::login_required();
    assert_eq!(r.reason, RejectReason::LoginRequired);
    assert_eq!(r.until(10), 10 + DEFAULT_HOLD_SECS);
    // A reset already past still skips the entry for a second.
    let r = Rejection {
        reason: RejectReason::UnifiedRejected,
        resets_at: Some(5),
    };
    assert_eq!(r.until(10), 11);
}
