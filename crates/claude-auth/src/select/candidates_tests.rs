#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::json;

use crate::config::env::Env;
use crate::config::settings::Settings;
use crate::credential::{Credential, Identity, Provider, TokenSet};
use crate::engine::providers::Providers;
use crate::secret::Secret;
use crate::select::CandidateClass;
use crate::source::SourceId;
use crate::store::StorageKind;

const ANT_KEY: &str = "sk-ant-api03-SelectAnthropicKeyAAAA1111";
const OPENAI_KEY: &str = "sk-proj-SelectOpenaiKeyBBBBBBBB2222";
const OAT: &str = "sk-ant-oat01-SelectProfileCCCC3333";

fn env(dir: &Path) -> Env {
    Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.join("own").to_string_lossy())
        .with("CODEX_HOME", dir.join("codex").to_string_lossy())
}

fn chatgpt() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new("eyJ.select.sig"),
        refresh_token: Some(Secret::new("rt-0123456789")),
        expires_at: Some(4_000_000_000),
        scopes: Vec::new(),
        identity: Identity {
            account_uuid: Some("acct-1".into()),
            subscription_type: Some("plus".into()),
            ..Identity::default()
        },
        provider: Provider::Openai,
        client_id: Some(crate::openai::chatgpt::CLIENT_ID.into()),
        id_token: None,
    })
}

/// An Anthropic spec profile with a static OAuth token, as `ant` writes it.
fn write_anthropic_profile(home: &Path, name: &str, token: &str) {
    let dir = home.join(".config").join("anthropic");
    let config = json!({"version": "1.0", "authentication": {"type": "user_oauth"}});
    let creds = json!({"version": "1.0", "type": "oauth_token", "access_token": token});
    for (sub, value) in [("configs", config), ("credentials", creds)] {
        crate::secure_file::write_atomic(
            &dir.join(sub).join(format!("{name}.json")),
            value.to_string().as_bytes(),
            0o600,
        )
        .unwrap();
    }
}

/// Four credentials: each provider's API key in the environment (the
/// winners), a Claude profile and a ChatGPT profile behind them.
fn four(dir: &Path) -> Providers {
    write_anthropic_profile(dir, "default", OAT);
    let p = Providers::with_settings(
        env(dir)
            .with("ANTHROPIC_API_KEY", ANT_KEY)
            .with("OPENAI_API_KEY", OPENAI_KEY),
        Settings::default(),
    );
    let stored = p.resolver(&Provider::Openai).openai_profiles();
    stored
        .save("personal", &chatgpt(), StorageKind::File)
        .unwrap();
    stored.set_active("personal").unwrap();
    p
}

#[test]
fn candidates_list_every_usable_credential_of_both_chains_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let p = four(tmp.path());
    let got: Vec<(CandidateClass, SourceId, Option<&str>, &str, bool)> = Vec::new();
    let list = p.candidates();
    let got = list.iter().fold(got, |mut acc, c| {
        acc.push((
            c.class,
            c.source,
            c.profile.as_deref(),
            c.login.as_str(),
            c.winner,
        ));
        acc
    });
    assert_eq!(
        got,
        [
            (
                CandidateClass::AnthropicApiKey,
                SourceId::AnthropicApiKey,
                None,
                "anthropic-api-key",
                true
            ),
            (
                CandidateClass::AnthropicSubscription,
                SourceId::ActiveProfile,
                Some("default"),
                "profile-default",
                false
            ),
            (
                CandidateClass::OpenaiApiKey,
                SourceId::OpenaiApiKey,
                None,
                "openai-api-key",
                true
            ),
            (
                CandidateClass::OpenaiSubscription,
                SourceId::OpenaiProfile,
                Some("personal"),
                "profile-personal",
                false
            ),
        ]
    );
    assert_eq!(list[3].plan.as_deref(), Some("plus"));
}

#[tokio::test]
async fn manager_for_resolves_exactly_that_credential_even_when_shadowed() {
    let tmp = tempfile::tempdir().unwrap();
    let p = four(tmp.path());
    let list = p.candidates();
    for (candidate, secret) in list
        .iter()
        .zip([ANT_KEY, OAT, OPENAI_KEY, "eyJ.select.sig"])
    {
        let m = p.manager_for(candidate).unwrap();
        let got = m.obtain().await.unwrap();
        assert_eq!(got.credential.secret().expose(), secret, "{candidate:?}");
        assert_eq!(got.provenance.source, Some(candidate.source));
        assert_eq!(got.provenance.profile, candidate.profile);
    }
}

#[tokio::test]
async fn a_pinned_engine_whose_credential_went_away_says_so_instead_of_standing_in() {
    let tmp = tempfile::tempdir().unwrap();
    let p = four(tmp.path());
    let subscription = p
        .candidates()
        .into_iter()
        .find(|c| c.class == CandidateClass::AnthropicSubscription)
        .unwrap();
    // The active profile now points at another profile.
    write_anthropic_profile(tmp.path(), "other", "sk-ant-oat01-OtherDDDD4444");
    std::fs::write(
        tmp.path().join(".config/anthropic/active_config"),
        "other\n",
    )
    .unwrap();
    let err = p
        .manager_for(&subscription)
        .unwrap()
        .obtain()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no longer there") && err.contains("\"other\""),
        "{err}"
    );
}

#[test]
fn expired_credentials_that_cannot_be_refreshed_are_not_candidates() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Providers::with_settings(env(tmp.path()), Settings::default());
    let mut set = chatgpt();
    if let Credential::OAuth(s) = &mut set {
        s.expires_at = Some(1);
        s.refresh_token = None;
    }
    let stored = p.resolver(&Provider::Openai).openai_profiles();
    stored.save("old", &set, StorageKind::File).unwrap();
    stored.set_active("old").unwrap();
    assert!(p.candidates().is_empty());
}
