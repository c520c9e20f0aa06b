use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::json;

use super::*;

fn jwt(claims: serde_json::Value) -> Secret {
    Secret::new(format!(
        "e30.{}.sig",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ))
}

fn exchanged() -> ExchangedTokens {
    ExchangedTokens {
        id_token: jwt(json!({"email": "me@example.com",
            "https://api.openai.com/auth": {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acct-9"}})),
        access_token: jwt(json!({"exp": 1_900_000_000u64})),
        refresh_token: Secret::new("rt-0123456789abcdef"),
    }
}

#[test]
fn authorize_url_has_every_parameter() {
    let oauth = ChatGptOAuth::with_issuer("http://127.0.0.1:9/");
    let pkce = PkcePair::generate().unwrap();
    let url = authorize_url(&oauth, &pkce, "http://localhost:1455/auth/callback");
    let parsed = url::Url::parse(&url).unwrap();
    assert_eq!(parsed.path(), "/oauth/authorize");
    let q: std::collections::BTreeMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], chatgpt::CLIENT_ID);
    assert_eq!(q["redirect_uri"], "http://localhost:1455/auth/callback");
    assert_eq!(q["scope"], "openid profile email offline_access");
    assert_eq!(q["code_challenge"], pkce.challenge);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["id_token_add_organizations"], "true");
    assert_eq!(q["codex_cli_simplified_flow"], "true");
    assert_eq!(q["state"], pkce.state.expose());
    assert!(!url.contains(pkce.verifier.expose()));
}

#[test]
fn login_becomes_an_openai_credential_and_a_codex_document() {
    let login = ChatGptLogin::from_exchange(exchanged(), chatgpt::CLIENT_ID);
    assert_eq!(login.tokens.account_id.as_deref(), Some("acct-9"));
    let Credential::OAuth(set) = login.credential() else {
        panic!("not OAuth")
    };
    assert_eq!(set.provider, Provider::Openai);
    assert_eq!(set.expires_at, Some(1_900_000_000));
    assert_eq!(set.identity.email.as_deref(), Some("me@example.com"));
    assert_eq!(set.identity.account_uuid.as_deref(), Some("acct-9"));
    assert_eq!(set.identity.subscription_type.as_deref(), Some("pro"));
    assert_eq!(set.client_id.as_deref(), Some(chatgpt::CLIENT_ID));
    assert_eq!(
        set.refresh_token.as_ref().map(Secret::expose),
        Some("rt-0123456789abcdef")
    );
    let doc = login.codex_auth(1_800_000_000).to_json();
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert_eq!(doc["tokens"]["account_id"], "acct-9");
    assert_eq!(doc["tokens"]["refresh_token"], "rt-0123456789abcdef");
    assert!(doc["OPENAI_API_KEY"].is_null());
}

#[test]
fn ports_are_named_in_the_busy_message() {
    assert_eq!(ports_text(&[1455, 1457]), "1455 and 1457");
    assert_eq!(ports_text(&[1455]), "1455");
    let e = ChatGptLoginError::PortsBusy {
        ports: ports_text(&[1455, 1457]),
    };
    assert!(
        e.to_string()
            .contains("ports 1455 and 1457 are both in use"),
        "{e}"
    );
}

#[test]
fn device_interval_numbers_and_strings_clamped() {
    use device::interval_of;
    assert_eq!(interval_of(Some(&json!(5))), Some(Duration::from_secs(5)));
    assert_eq!(interval_of(Some(&json!("7"))), Some(Duration::from_secs(7)));
    assert_eq!(interval_of(Some(&json!(0))), Some(DEVICE_MIN_INTERVAL));
    assert_eq!(
        interval_of(Some(&json!(3600))),
        Some(Duration::from_secs(60))
    );
    assert_eq!(interval_of(Some(&json!("soon"))), None);
    assert_eq!(interval_of(Some(&json!(-1))), None);
}
