#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use super::*;
use crate::credential::Provider;

fn jwt(claims: serde_json::Value) -> Secret {
    Secret::new(format!(
        "e30.{}.sig",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ))
}

fn stored() -> TokenSet {
    TokenSet {
        access_token: jwt(json!({"exp": 1_000u64})),
        refresh_token: Some(Secret::new("rt-old-0123456789")),
        expires_at: Some(1_000),
        scopes: Vec::new(),
        identity: Identity {
            email: Some("old@example.com".into()),
            account_uuid: Some("acct-login".into()),
            subscription_type: Some("plus".into()),
            ..Identity::default()
        },
        provider: Provider::Openai,
        client_id: Some(CLIENT_ID.into()),
        id_token: Some(jwt(json!({"email": "old@example.com"}))),
    }
}

#[test]
fn only_returned_tokens_replace_stored_ones() {
    let old = stored();
    let access = jwt(json!({"exp": 2_000u64}));
    let new = merged(
        &old,
        RefreshedTokens {
            access_token: Some(access.clone()),
            ..RefreshedTokens::default()
        },
    );
    assert_eq!(new.access_token, access);
    assert_eq!(new.expires_at, Some(2_000));
    assert_eq!(new.refresh_token, old.refresh_token);
    assert_eq!(new.id_token, old.id_token);
    assert_eq!(new.identity, old.identity);
}

#[test]
fn a_new_id_token_brings_its_email_and_plan_but_not_another_account() {
    let old = stored();
    let id = jwt(json!({"email": "new@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acct-other"}}));
    let new = merged(
        &old,
        RefreshedTokens {
            id_token: Some(id.clone()),
            refresh_token: Some(Secret::new("rt-new-0123456789")),
            ..RefreshedTokens::default()
        },
    );
    assert_eq!(new.id_token, Some(id));
    assert_eq!(new.identity.email.as_deref(), Some("new@example.com"));
    assert_eq!(new.identity.subscription_type.as_deref(), Some("pro"));
    assert_eq!(new.identity.account_uuid.as_deref(), Some("acct-login"));
    assert_eq!(new.refresh_token.unwrap().expose(), "rt-new-0123456789");
    assert_eq!(new.access_token, old.access_token);
    assert_eq!(new.expires_at, old.expires_at);
}
