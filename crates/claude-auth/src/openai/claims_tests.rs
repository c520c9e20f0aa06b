use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;

use super::*;

fn jwt(payload: &Value) -> Secret {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    Secret::new(format!("{header}.{body}.c2lnbmF0dXJl"))
}

fn id_token() -> Secret {
    jwt(&json!({
        "email": "me@example.com",
        "iss": "https://auth.openai.com",
        "https://api.openai.com/auth": {
            "chatgpt_account_id": "acct-123",
            "chatgpt_plan_type": "pro",
            "chatgpt_user_id": "user-456",
            "organizations": [{"id": "org-1"}],
        },
        "unknown_claim": {"nested": [1, 2, 3]},
    }))
}

#[test]
fn id_token_claims() {
    let claims = ChatGptClaims::decode(&id_token(), "tokens.id_token").unwrap();
    assert_eq!(
        claims,
        ChatGptClaims {
            email: Some("me@example.com".into()),
            account_id: Some("acct-123".into()),
            plan_type: Some("pro".into()),
            user_id: Some("user-456".into()),
            exp: None,
        }
    );
}

#[test]
fn access_token_exp_integer_or_float() {
    let claims = ChatGptClaims::decode(&jwt(&json!({"exp": 1_900_000_000u64})), "t").unwrap();
    assert_eq!(claims.exp, Some(1_900_000_000));
    let claims = ChatGptClaims::decode(&jwt(&json!({"exp": 1_900_000_000.7})), "t").unwrap();
    assert_eq!(claims.exp, Some(1_900_000_000));
    let claims = ChatGptClaims::decode(&jwt(&json!({"exp": -5})), "t").unwrap();
    assert_eq!(claims.exp, None);
    let claims = ChatGptClaims::decode(&jwt(&json!({"exp": "soon"})), "t").unwrap();
    assert_eq!(claims.exp, None);
}

#[test]
fn claims_of_other_types_are_ignored() {
    let token = jwt(&json!({
        "email": 7,
        "https://api.openai.com/auth": {"chatgpt_plan_type": ["pro"], "chatgpt_account_id": ""},
    }));
    assert_eq!(
        ChatGptClaims::decode(&token, "t").unwrap(),
        ChatGptClaims::default()
    );
    let token = jwt(&json!({"https://api.openai.com/auth": "not an object"}));
    assert_eq!(
        ChatGptClaims::decode(&token, "t").unwrap(),
        ChatGptClaims::default()
    );
}

#[test]
fn padded_payload_is_accepted() {
    let body = URL_SAFE.encode(json!({"email": "a@b.c"}).to_string());
    assert!(body.ends_with('='), "the test needs a padded payload");
    let token = Secret::new(format!("aGVhZGVy.{body}.c2ln"));
    let claims = ChatGptClaims::decode(&token, "t").unwrap();
    assert_eq!(claims.email.as_deref(), Some("a@b.c"));
}

#[test]
fn malformed_tokens_give_errors_naming_the_token_never_quoting_it() {
    let secret_part = "c2VjcmV0LXNlY3JldC1zZWNyZXQ";
    let cases = [
        (
            format!("{secret_part}.only-two"),
            ClaimsError::NotAJwt {
                what: "tokens.access_token".into(),
            },
        ),
        (
            format!("a.b.c.{secret_part}"),
            ClaimsError::NotAJwt {
                what: "tokens.access_token".into(),
            },
        ),
        (
            format!("a.{secret_part}!!.c"),
            ClaimsError::Base64 {
                what: "tokens.access_token".into(),
            },
        ),
        (
            format!("a.{}.c", URL_SAFE_NO_PAD.encode("[1,2]")),
            ClaimsError::NotJson {
                what: "tokens.access_token".into(),
            },
        ),
        (
            format!("a.{}.c", URL_SAFE_NO_PAD.encode("not json")),
            ClaimsError::NotJson {
                what: "tokens.access_token".into(),
            },
        ),
        (
            format!("a.{}.c", "A".repeat(MAX_TOKEN_LEN)),
            ClaimsError::TooLong {
                what: "tokens.access_token".into(),
            },
        ),
    ];
    for (token, expected) in cases {
        let err =
            ChatGptClaims::decode(&Secret::new(token.clone()), "tokens.access_token").unwrap_err();
        assert_eq!(err, expected);
        let message = err.to_string();
        assert!(message.contains("tokens.access_token"), "{message}");
        assert!(!message.contains(secret_part), "{message}");
    }
}

fn tokens(id: Secret, access: Secret, account_id: Option<&str>) -> CodexTokens {
    CodexTokens::new(
        id,
        access,
        Secret::new("rt-0123456789"),
        account_id.map(str::to_owned),
    )
}

#[test]
fn identity_from_a_codex_login() {
    let access = jwt(
        &json!({"exp": 1_900_000_000u64, "https://api.openai.com/auth": {"chatgpt_plan_type": "free"}}),
    );
    let who = CodexIdentity::from_tokens(&tokens(id_token(), access, Some("acct-stored")));
    assert_eq!(
        who,
        CodexIdentity {
            email: Some("me@example.com".into()),
            account_id: Some("acct-stored".into()),
            plan_type: Some("pro".into()),
            user_id: Some("user-456".into()),
            expires_at: Some(1_900_000_000),
            problems: vec![],
        }
    );
    // No stored account id: the id token's.
    let access = jwt(&json!({"exp": 1}));
    let who = CodexIdentity::from_tokens(&tokens(id_token(), access, None));
    assert_eq!(who.account_id.as_deref(), Some("acct-123"));
}

#[test]
fn identity_names_the_token_that_could_not_be_read() {
    let who = CodexIdentity::from_tokens(&tokens(
        Secret::new("not-a-jwt-at-all"),
        Secret::new("opaque-access-token"),
        Some("acct-stored"),
    ));
    assert_eq!(who.account_id.as_deref(), Some("acct-stored"));
    assert_eq!(who.plan_type, None);
    assert_eq!(who.expires_at, None);
    assert_eq!(
        who.problems,
        vec![
            ClaimsError::NotAJwt {
                what: "tokens.id_token".into()
            },
            ClaimsError::NotAJwt {
                what: "tokens.access_token".into()
            },
        ]
    );
}
