//! Unit tests of the client's error mapping and retry rules.

use super::*;

#[test]
fn retryable_statuses() {
    for s in [408, 409, 429, 500, 502, 503, 529] {
        assert!(retryable_status(s), "{s}");
    }
    for s in [400, 401, 403, 404, 413] {
        assert!(!retryable_status(s), "{s}");
    }
}

#[test]
fn error_bodies_become_typed_errors() {
    let mut h = HeaderMap::new();
    h.insert("request-id", HeaderValue::from_static("req_1"));
    let e = api_error(
        400,
        &h,
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"bad sk-ant-api03-secretsecret"},"request_id":"req_body"}"#,
        "u",
        1,
    );
    assert_eq!(e.error_type.as_deref(), Some("invalid_request_error"));
    assert_eq!(e.message, "bad [redacted]");
    assert_eq!(e.request_id.as_deref(), Some("req_1"));
    let e = api_error(404, &HeaderMap::new(), b"<html>", "http://x/v1/messages", 1);
    assert_eq!(
        e.message,
        "this endpoint moved or is wrong: http://x/v1/messages"
    );
}
