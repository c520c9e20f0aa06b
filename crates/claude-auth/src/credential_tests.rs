use super::*;

fn oauth() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new("sk-ant-oat01-aaaaaaaaaaaa"),
        refresh_token: Some(Secret::new("sk-ant-ort01-rrrrrrrrrrrr")),
        expires_at: Some(1_775_000_000),
        scopes: vec!["user:inference".into(), "user:profile".into()],
        identity: Identity {
            email: Some("a@b.c".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some("cid".into()),
        id_token: None,
    })
}

#[test]
fn portable_json_round_trips_every_kind() {
    for cred in [
        oauth(),
        Credential::anthropic_api_key("sk-ant-api03-kkkkkkkkkkkk"),
        Credential::Bearer {
            token: Secret::new("bearer-tok"),
            provider: Provider::Openai,
            expires_at: Some(5),
        },
    ] {
        let json = to_portable_json(&cred);
        assert_eq!(from_portable_json(&json).unwrap(), cred);
    }
}

#[test]
fn portable_oauth_uses_spec_field_names() {
    let json = to_portable_json(&oauth());
    assert_eq!(json["type"], "oauth_token");
    assert_eq!(json["expires_at"], 1_775_000_000);
    assert_eq!(json["scope"], "user:inference user:profile");
    assert_eq!(json["account_email"], "a@b.c");
}

#[test]
fn expires_at_must_be_an_integer() {
    let v = serde_json::json!({"access_token": "sk-ant-oat01-x", "expires_at": "1775000000"});
    assert!(from_portable_json(&v).unwrap_err().contains("expires_at"));
    let v = serde_json::json!({"access_token": "sk-ant-oat01-x", "expires_at": 1.5});
    assert!(from_portable_json(&v).is_err());
}

#[test]
fn bare_tokens_are_typed_by_prefix() {
    let k = Credential::from_bare_anthropic_token(Secret::new("sk-ant-api03-x")).unwrap();
    assert_eq!(k.kind(), CredentialKind::ApiKey);
    let o = Credential::from_bare_anthropic_token(Secret::new("sk-ant-oat01-x")).unwrap();
    assert_eq!(o.kind(), CredentialKind::OauthToken);
    let b = Credential::from_bare_anthropic_token(Secret::new("gateway-token")).unwrap();
    assert_eq!(b.kind(), CredentialKind::BearerToken);
    assert!(Credential::from_bare_anthropic_token(Secret::new("sk-ant-ort01-x")).is_err());
}

#[test]
fn tokens_are_checked_on_read() {
    for (bad, why) in [
        ("sk-ant-oat01-x\n", "control character"),
        ("sk-ant-oat01-\u{0}x", "control character"),
        ("sk-ant oat01-x", "whitespace"),
        ("x", "too short"),
    ] {
        for v in [
            serde_json::json!({"access_token": bad}),
            serde_json::json!({"access_token": "sk-ant-oat01-x", "refresh_token": bad}),
            serde_json::json!({"type": "api_key", "api_key": bad}),
            serde_json::json!({"type": "bearer_token", "access_token": bad}),
        ] {
            let e = from_portable_json(&v).unwrap_err();
            assert!(e.contains(why) && e.starts_with("field '"), "{e}");
            assert!(!e.contains(bad), "{e}");
        }
    }
    let huge = "a".repeat(crate::secret::MAX_TOKEN_LEN + 1);
    let e = from_portable_json(&serde_json::json!({"access_token": huge})).unwrap_err();
    assert!(e.contains("over 16 KiB"), "{e}");
}

#[test]
fn expiry() {
    let c = oauth();
    assert!(!c.is_expired_at(1_774_999_999));
    assert!(c.is_expired_at(1_775_000_000));
    assert!(!Credential::anthropic_api_key("k").is_expired_at(u64::MAX));
}
