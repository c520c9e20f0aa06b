use serde_json::json;

use super::*;

#[test]
fn the_preset_is_protocol_md() {
    let oauth = ChatGptOAuth::default();
    assert_eq!(oauth.issuer, "https://auth.openai.com");
    assert_eq!(oauth.client_id, "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(
        oauth.authorize_url(),
        "https://auth.openai.com/oauth/authorize"
    );
    assert_eq!(oauth.token_url(), "https://auth.openai.com/oauth/token");
    assert_eq!(
        oauth.device_usercode_url(),
        "https://auth.openai.com/api/accounts/deviceauth/usercode"
    );
    assert_eq!(
        oauth.device_token_url(),
        "https://auth.openai.com/api/accounts/deviceauth/token"
    );
    assert_eq!(
        oauth.device_verification_url(),
        "https://auth.openai.com/codex/device"
    );
    assert_eq!(
        oauth.device_redirect_uri(),
        "https://auth.openai.com/deviceauth/callback"
    );
    assert_eq!(REDIRECT_PORTS, [1455, 1457]);
    assert_eq!(redirect_uri(1455), "http://localhost:1455/auth/callback");
    assert_eq!(redirect_uri(1457), "http://localhost:1457/auth/callback");
    assert_eq!(SCOPE, "openid profile email offline_access");
    assert_eq!(
        EXTRA_AUTHORIZE_PARAMS,
        [
            ("id_token_add_organizations", "true"),
            ("codex_cli_simplified_flow", "true")
        ]
    );
    assert_eq!(DEVICE_MAX_WAIT.as_secs(), 900);
    assert_eq!(REFRESH_MARGIN.as_secs(), 300);
}

#[test]
fn another_issuer_keeps_the_client() {
    let oauth = ChatGptOAuth::with_issuer("http://127.0.0.1:4000/");
    assert_eq!(oauth.issuer, "http://127.0.0.1:4000");
    assert_eq!(oauth.client_id, CLIENT_ID);
    assert_eq!(oauth.token_url(), "http://127.0.0.1:4000/oauth/token");
}

#[test]
fn code_exchange_is_a_form() {
    let body = ChatGptOAuth::default().code_exchange_form(
        &Secret::new("code/with+odd=chars"),
        &redirect_uri(1455),
        &Secret::new("verifier-0123456789"),
    );
    assert_eq!(
        body.expose(),
        "grant_type=authorization_code&code=code%2Fwith%2Bodd%3Dchars\
         &redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback\
         &client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=verifier-0123456789"
    );
    assert_eq!(format!("{body:?}"), "Secret([redacted])");
}

#[test]
fn refresh_is_json_with_exactly_three_fields() {
    let body = ChatGptOAuth::default().refresh_body(&Secret::new("rt-\"quoted\"-0123"));
    let value: Value = serde_json::from_str(body.expose()).unwrap();
    assert_eq!(
        value,
        json!({
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "grant_type": "refresh_token",
            "refresh_token": "rt-\"quoted\"-0123"
        })
    );
}

#[test]
fn revocation_is_what_codex_sends() {
    // docs/codex-locks.md item 7: Codex 0.171.0's `codex logout` traffic.
    let oauth = ChatGptOAuth::default();
    assert_eq!(oauth.revoke_url(), "https://auth.openai.com/oauth/revoke");
    let body = oauth.revoke_body(&Secret::new("rt-0123456789"));
    assert_eq!(format!("{body:?}"), "Secret([redacted])");
    let value: Value = serde_json::from_str(body.expose()).unwrap();
    assert_eq!(
        value,
        json!({
            "token": "rt-0123456789",
            "token_type_hint": "refresh_token",
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"
        })
    );
    assert_eq!(
        ChatGptOAuth::with_issuer("http://127.0.0.1:4000").revoke_url(),
        "http://127.0.0.1:4000/oauth/revoke"
    );
}

#[test]
fn device_code_bodies() {
    let oauth = ChatGptOAuth::default();
    let usercode: Value = serde_json::from_str(&oauth.device_usercode_body()).unwrap();
    assert_eq!(
        usercode,
        json!({"client_id": "app_EMoamEEZ73f0CkXaXp7hrann"})
    );
    let poll = ChatGptOAuth::device_poll_body(&Secret::new("dev-auth-1"), "ABCD-EFGH");
    let poll: Value = serde_json::from_str(poll.expose()).unwrap();
    assert_eq!(
        poll,
        json!({"device_auth_id": "dev-auth-1", "user_code": "ABCD-EFGH"})
    );
}

#[test]
fn refresh_response_keeps_only_what_came_back() {
    let body =
        json!({"access_token": "new-access-token", "refresh_token": null, "expires_in": 3600});
    let tokens = RefreshedTokens::from_refresh_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        tokens,
        RefreshedTokens {
            id_token: None,
            access_token: Some(Secret::new("new-access-token")),
            refresh_token: None,
        }
    );
    let all = json!({"id_token": "new-id-token", "access_token": "new-access-token", "refresh_token": "new-refresh-token"});
    let tokens = RefreshedTokens::from_refresh_response(all.to_string().as_bytes()).unwrap();
    assert_eq!(tokens.refresh_token.unwrap().expose(), "new-refresh-token");
}

#[test]
fn bad_token_responses_never_quote_a_value() {
    let cases: Vec<(&[u8], TokenResponseError)> = vec![
        (b"<html>secret</html>", TokenResponseError::NotJson),
        (b"[\"secret-token\"]", TokenResponseError::NotJson),
        (b"{\"expires_in\": 10}", TokenResponseError::Empty),
        (
            b"{\"access_token\": 12345678}",
            TokenResponseError::Invalid("access_token is not a string".into()),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            RefreshedTokens::from_refresh_response(body).unwrap_err(),
            expected
        );
    }
    let err = RefreshedTokens::from_refresh_response(b"{\"access_token\": \"secret token\"}")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "the token response's access_token is not a usable token: it holds whitespace"
        ),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn code_exchange_response_needs_all_three() {
    let all = json!({"id_token": "new-id-token", "access_token": "new-access-token", "refresh_token": "new-refresh-token"});
    let tokens = ExchangedTokens::from_response(all.to_string().as_bytes()).unwrap();
    assert_eq!(tokens.id_token.expose(), "new-id-token");
    assert_eq!(tokens.access_token.expose(), "new-access-token");
    assert_eq!(tokens.refresh_token.expose(), "new-refresh-token");
    for missing in ["id_token", "access_token", "refresh_token"] {
        let mut body = all.clone();
        body.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            ExchangedTokens::from_response(body.to_string().as_bytes()).unwrap_err(),
            TokenResponseError::Missing(missing)
        );
    }
}

#[test]
fn refresh_error_classification() {
    use RefreshErrorReason::*;
    let big = format!(
        "{{\"error\": \"refresh_token_reused\", \"pad\": \"{}\"}}",
        "x".repeat(MAX_ERROR_BODY)
    );
    let cases: Vec<(u16, &str, RefreshErrorReason)> = vec![
        (400, r#"{"error": "refresh_token_expired"}"#, Expired),
        (400, r#"{"error": "refresh_token_reused"}"#, Reused),
        (
            400,
            r#"{"error": "refresh_token_invalidated"}"#,
            Invalidated,
        ),
        (
            401,
            r#"{"error": {"code": "refresh_token_expired", "message": "m"}}"#,
            Expired,
        ),
        (
            400,
            r#"{"error": {"code": "refresh_token_reused"}}"#,
            Reused,
        ),
        (
            403,
            r#"{"error": {"code": "refresh_token_invalidated"}}"#,
            Invalidated,
        ),
        (401, r#"{"error": "invalid_grant"}"#, Unauthorized),
        (401, "", Unauthorized),
        (401, "<html>", Unauthorized),
        (400, r#"{"error": "invalid_grant"}"#, Transient),
        (
            400,
            r#"{"error": {"message": "refresh_token_expired"}}"#,
            Transient,
        ),
        (400, r#"{"code": "refresh_token_expired"}"#, Transient),
        (429, r#"{"error": "rate_limited"}"#, Transient),
        (500, "", Transient),
        (503, r#"{"error": 5}"#, Transient),
        (400, &big, Transient),
    ];
    for (status, body, expected) in cases {
        assert_eq!(
            RefreshErrorReason::classify(status, body.as_bytes()),
            expected,
            "HTTP {status} {}",
            &body[..body.len().min(80)]
        );
    }
}

#[test]
fn permanent_reasons_say_log_in_again() {
    use RefreshErrorReason::*;
    for reason in [Expired, Reused, Invalidated, Unauthorized] {
        assert!(reason.is_permanent());
        assert!(
            reason.message().ends_with("log in again"),
            "{}",
            reason.message()
        );
    }
    assert!(!Transient.is_permanent());
    assert_eq!(Expired.code(), Some("refresh_token_expired"));
    assert_eq!(Reused.code(), Some("refresh_token_reused"));
    assert_eq!(Invalidated.code(), Some("refresh_token_invalidated"));
    assert_eq!(Unauthorized.code(), None);
    assert_eq!(Transient.code(), None);
}

fn jwt_with_exp(exp: u64) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let body = URL_SAFE_NO_PAD.encode(json!({ "exp": exp }).to_string());
    format!("eyJhbGciOiJub25lIn0.{body}.sig")
}

fn login(access_token: &str, last_refresh: Option<&str>) -> CodexAuth {
    let mut doc = json!({
        "OPENAI_API_KEY": null,
        "tokens": {"id_token": "id-token-1", "access_token": access_token, "refresh_token": "refresh-token-1", "account_id": null}
    });
    if let Some(last) = last_refresh {
        doc["last_refresh"] = json!(last);
    }
    CodexAuth::parse(
        doc.to_string().as_bytes(),
        std::path::Path::new("auth.json"),
    )
    .unwrap()
}

#[test]
fn refresh_is_due_five_minutes_before_exp() {
    let exp = 1_800_000_000;
    let auth = login(&jwt_with_exp(exp), Some("2020-01-01T00:00:00Z"));
    assert!(!refresh_due(&auth, exp - 301));
    assert!(refresh_due(&auth, exp - 300));
    assert!(refresh_due(&auth, exp + 10));
}

#[test]
fn without_exp_refresh_is_due_eight_days_after_the_last() {
    // 2027-01-15T08:00:00Z is 1_800_000_000.
    let auth = login("opaque-access-token", Some("2027-01-15T08:00:00Z"));
    let eight_days = 8 * 24 * 3600;
    assert!(!refresh_due(&auth, 1_800_000_000 + eight_days - 1));
    assert!(refresh_due(&auth, 1_800_000_000 + eight_days));
    // Neither known: due.
    assert!(refresh_due(&login("opaque-access-token", None), 0));
    // An API-key document is never due.
    let key = CodexAuth::with_api_key(Secret::new("sk-proj-abcdefghijklmnop"));
    assert!(!refresh_due(&key, u64::MAX));
}
