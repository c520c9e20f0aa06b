//! Unit tests of the token endpoint client's parsing and errors.

use super::*;
use crate::credential::{now_unix, Provider, TokenSet};

#[test]
fn success_body_with_identity() {
    let r = parse_success(
        "u",
        br#"{"access_token":"sk-ant-oat01-x","refresh_token":"sk-ant-ort01-r","expires_in":28800,"scope":"a b","token_type":"Bearer","account":{"uuid":"u1","email_address":"e@x"},"organization":{"uuid":"o1","name":"Org"}}"#,
    )
    .unwrap();
    let set = r.into_token_set(Provider::Anthropic, Some("c".into()), None);
    assert_eq!(set.scopes, ["a", "b"]);
    assert_eq!(set.identity.email.as_deref(), Some("e@x"));
    assert_eq!(set.identity.organization_name.as_deref(), Some("Org"));
    assert!(set.expires_at.unwrap() >= now_unix() + 28_790);
}

#[test]
fn an_absurd_expires_in_saturates() {
    let body = format!(
        r#"{{"access_token":"sk-ant-oat01-x","expires_in":{}}}"#,
        u64::MAX
    );
    let r = parse_success("u", body.as_bytes()).unwrap();
    let set = r.into_token_set(Provider::Anthropic, None, None);
    assert_eq!(set.expires_at, Some(u64::MAX));
}

#[test]
fn tokens_in_a_response_are_checked() {
    for body in [
        &br#"{"access_token":"sk-ant-oat01-x\n"}"#[..],
        br#"{"access_token":"sk-ant-oat01-x","refresh_token":"a b c d e f"}"#,
        br#"{"access_token":"short"}"#,
    ] {
        let e = parse_success("u", body).unwrap_err().to_string();
        assert!(e.contains("is not a usable token"), "{e}");
    }
}

#[test]
fn missing_refresh_token_keeps_the_old_one() {
    let prev = TokenSet {
        refresh_token: Some(Secret::new("old-refresh")),
        ..TokenSet::access_only(Secret::new("a"), Provider::Anthropic)
    };
    let r = parse_success("u", br#"{"access_token":"new-access"}"#).unwrap();
    let set = r.into_token_set(Provider::Anthropic, None, Some(&prev));
    assert_eq!(set.refresh_token.unwrap().expose(), "old-refresh");
}

#[test]
fn error_bodies_are_parsed_and_sanitised() {
    let (e, d) = parse_error_body(
        br#"{"error":"invalid_grant","error_description":"token sk-ant-ort01-zzz was used"}"#,
        &Redactor::default(),
    );
    assert_eq!(e.as_deref(), Some("invalid_grant"));
    assert_eq!(d.as_deref(), Some("token [redacted] was used"));
    let (e, d) = parse_error_body(
        br#"{"type":"error","error":{"type":"not_found_error","message":"nope"}}"#,
        &Redactor::default(),
    );
    assert_eq!(
        (e.as_deref(), d.as_deref()),
        (Some("not_found_error"), Some("nope"))
    );
}
