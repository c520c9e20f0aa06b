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

/// A loopback token endpoint: answers every request with a rotated token
/// set and counts them.
fn token_stand() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut first, mut length) = (String::new(), 0usize);
            reader.read_line(&mut first).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, answer) = if first.starts_with("POST /v1/oauth/token ") {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ("200 OK", json!({"access_token": "sk-ant-oat01-PinnedNewAAAA", "refresh_token": "sk-ant-ort01-PinnedNewRefresh", "expires_in": 28800, "token_type": "Bearer"}).to_string())
            } else {
                ("404 Not Found", "{}".to_owned())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, hits)
}

#[tokio::test]
async fn a_pinned_shadowed_subscription_is_refreshed_and_its_rotated_token_persisted_first() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, hits) = token_stand();
    let e = env(tmp.path())
        .with("ANTHROPIC_API_KEY", ANT_KEY)
        .with("ANTHROPIC_BASE_URL", &url);
    let resolver = crate::source::Resolver::with_settings(e.clone(), Settings::default());
    // A refreshable login due for refresh (inside the 300 s threshold).
    let mut set = TokenSet::access_only(Secret::new(OAT), Provider::Anthropic);
    set.refresh_token = Some(Secret::new("sk-ant-ort01-PinnedOldRefresh"));
    set.client_id = Some("pinned-test".into());
    set.expires_at = Some(crate::credential::now_unix() + 60);
    let files = resolver.profile_files();
    files
        .write_config_if_missing("default", &set, None)
        .unwrap();
    files.write_credentials("default", &set).unwrap();
    let p = Providers::with_settings(e, Settings::default());
    let subscription = p
        .candidates()
        .into_iter()
        .find(|c| c.class == CandidateClass::AnthropicSubscription)
        .unwrap();
    assert!(!subscription.winner, "ANTHROPIC_API_KEY wins the chain");
    let m = p.manager_for(&subscription).unwrap();
    let got = m.obtain().await.unwrap();
    assert!(got.refreshed);
    assert_eq!(
        got.credential.secret().expose(),
        "sk-ant-oat01-PinnedNewAAAA"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Persisted (the rotated refresh token too) before it was handed out.
    let stored = resolver.load_profile("default").unwrap().unwrap();
    let stored = stored.credential.unwrap();
    assert_eq!(stored.secret().expose(), "sk-ant-oat01-PinnedNewAAAA");
    assert_eq!(
        stored
            .token_set()
            .unwrap()
            .refresh_token
            .as_ref()
            .unwrap()
            .expose(),
        "sk-ant-ort01-PinnedNewRefresh"
    );
    // A second engine for the same candidate adopts it: no second grant.
    let again = p
        .manager_for(&subscription)
        .unwrap()
        .obtain()
        .await
        .unwrap();
    assert_eq!(
        again.credential.secret().expose(),
        "sk-ant-oat01-PinnedNewAAAA"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}
