#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::*;
use crate::config::env::Env;
use crate::config::settings::Settings;
use crate::credential::{Identity, TokenSet};
use crate::secret::Secret;
use crate::source::{base_url_for, Backing, NoCredential};
use crate::store::StorageKind;

fn env(dir: &Path) -> Env {
    Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.join("own").to_string_lossy())
        .with("CODEX_HOME", dir.join("codex").to_string_lossy())
}

fn openai(env: Env) -> Resolver {
    Resolver::for_provider(env, Settings::default(), Provider::Openai)
}

fn chatgpt() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new("eyJ.access.sig"),
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
        id_token: Some(Secret::new("eyJ.id.sig")),
    })
}

fn all() -> ResolveOptions {
    ResolveOptions {
        examine_all: true,
        ..ResolveOptions::default()
    }
}

#[test]
fn the_chain_is_openai_s_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let r = openai(env(tmp.path()));
    assert_eq!(r.provider(), &Provider::Openai);
    let res = r.resolve(&all());
    let ids: Vec<SourceId> = res.reports.iter().map(|x| x.id).collect();
    assert_eq!(ids, OPENAI_CHAIN);
    assert_eq!(res.provider, Provider::Openai);
    assert_eq!(
        res.codex_home.as_ref().unwrap().path,
        tmp.path().join("codex")
    );
    assert!(matches!(res.credential(), Err(NoCredential::None)));
}

#[test]
fn anthropic_chain_is_unchanged_and_ignores_openai_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path()).with("OPENAI_API_KEY", "sk-proj-aaaaaaaaaaaa");
    let r = Resolver::for_provider(e.clone(), Settings::default(), Provider::Anthropic);
    let res = r.resolve(&all());
    assert!(res.reports.iter().all(|x| !x.id.is_openai()));
    assert!(res.winner().is_none());
    assert_eq!(
        Resolver::with_settings(e, Settings::default()).provider(),
        &Provider::Anthropic
    );
}

#[test]
fn openai_api_key_wins_over_codex_api_key_with_its_base_url() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path())
        .with("OPENAI_API_KEY", "sk-proj-aaaaaaaaaaaa")
        .with("CODEX_API_KEY", "sk-proj-bbbbbbbbbbbb")
        .with("OPENAI_BASE_URL", "http://127.0.0.1:9/v1");
    let res = openai(e.clone()).resolve(&all());
    let winner = res.winner().unwrap();
    assert_eq!(winner.id, SourceId::OpenaiApiKey);
    let found = res.winning().unwrap();
    assert_eq!(found.backing, Backing::Environment);
    assert_eq!(
        found.credential.as_ref().unwrap().secret().expose(),
        "sk-proj-aaaaaaaaaaaa"
    );
    assert_eq!(
        base_url_for(Some(found), &e, &Settings::default()),
        "http://127.0.0.1:9/v1"
    );
    assert!(
        res.reports[2].found().is_some(),
        "CODEX_API_KEY is examined"
    );
    let codes: Vec<&str> = res.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, ["both-openai-env-keys"]);
    // Without OPENAI_BASE_URL: the public API.
    let e = env(tmp.path()).with("CODEX_API_KEY", "sk-proj-bbbbbbbbbbbb");
    let res = openai(e.clone()).resolve(&ResolveOptions::default());
    assert_eq!(res.winner().unwrap().id, SourceId::CodexApiKey);
    assert_eq!(
        base_url_for(res.winning(), &e, &Settings::default()),
        "https://api.openai.com/v1"
    );
    assert_eq!(
        res.winning()
            .unwrap()
            .credential
            .as_ref()
            .unwrap()
            .openai_account_id(),
        None
    );
}

#[test]
fn a_broken_env_key_stops_the_chain_without_echoing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path()).with("OPENAI_API_KEY", "sk-proj aaaaaaaa");
    let res = openai(e).resolve(&ResolveOptions::default());
    let err = res.credential().unwrap_err().to_string();
    assert!(err.contains("OPENAI_API_KEY"), "{err}");
    assert!(!err.contains("aaaaaaaa"), "{err}");
}

#[test]
fn the_active_openai_profile_is_found_and_an_env_key_shadowing_it_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path());
    let r = openai(e.clone());
    r.openai_profiles()
        .save("work", &chatgpt(), StorageKind::File)
        .unwrap();
    r.openai_profiles().set_active("work").unwrap();
    let res = r.resolve(&ResolveOptions::default());
    let found = res.winning().unwrap();
    assert_eq!(res.winner().unwrap().id, SourceId::OpenaiProfile);
    assert_eq!(
        found.backing,
        Backing::OpenaiProfile {
            profile: "work".into(),
            storage: StorageKind::File
        }
    );
    assert_eq!(res.active_profile.name, "work");
    let cred = found.credential.as_ref().unwrap();
    assert_eq!(cred.openai_account_id(), Some("acct-1"));
    assert_eq!(
        base_url_for(Some(found), &e, &Settings::default()),
        crate::openai::chatgpt::CODEX_BASE_URL
    );
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);

    let res = openai(e.with("OPENAI_API_KEY", "sk-proj-aaaaaaaaaaaa")).resolve(&all());
    assert_eq!(res.winner().unwrap().id, SourceId::OpenaiApiKey);
    let w: Vec<&Warning> = res.warnings.iter().collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, "openai-api-key-shadows-chatgpt");
    assert!(w[0].message.contains("work.json"), "{}", w[0].message);
}

#[test]
fn an_explicit_profile_that_is_missing_stops_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let options = ResolveOptions {
        explicit_profile: Some("nope".into()),
        ..ResolveOptions::default()
    };
    let res = openai(env(tmp.path())).resolve(&options);
    let err = res.credential().unwrap_err().to_string();
    assert!(err.starts_with("openai-profile:"), "{err}");
    assert!(
        err.contains("login --provider chatgpt --profile nope"),
        "{err}"
    );
    // The Anthropic profile tier is not consulted for it.
    assert!(matches!(res.reports[0].outcome, Outcome::Skipped(_)));
}

#[test]
fn disabled_sources_switch_off_openai_sources_but_sources_cannot_order_them() {
    let tmp = tempfile::tempdir().unwrap();
    let settings_path = tmp.path().join("config.toml");
    std::fs::write(&settings_path, "disabled_sources = [\"codex\"]\n").unwrap();
    let settings = Settings::from_file(&settings_path).unwrap();
    let r = Resolver::for_provider(env(tmp.path()), settings, Provider::Openai);
    let ids: Vec<SourceId> = r.resolve(&all()).reports.iter().map(|x| x.id).collect();
    assert!(!ids.contains(&SourceId::Codex), "{ids:?}");
    std::fs::write(&settings_path, "sources = [\"codex\"]\n").unwrap();
    let err = Settings::from_file(&settings_path).unwrap_err().to_string();
    assert!(err.contains("OpenAI chain"), "{err}");
}

#[test]
fn a_chatgpt_login_goes_to_the_configured_chatgpt_base_url_and_an_api_key_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path()).with("OPENAI_BASE_URL", "http://127.0.0.1:9/v1");
    let r = openai(e.clone());
    r.openai_profiles()
        .save("default", &chatgpt(), StorageKind::File)
        .unwrap();
    let settings = Settings {
        chatgpt_base_url: Some("http://127.0.0.1:8/backend-api/codex".into()),
        ..Settings::default()
    };
    let res = r.resolve(&ResolveOptions::default());
    assert_eq!(res.winner().unwrap().id, SourceId::OpenaiProfile);
    assert_eq!(
        base_url_for(res.winning(), &e, &settings),
        "http://127.0.0.1:8/backend-api/codex"
    );
    let e = e.with("OPENAI_API_KEY", "sk-proj-aaaaaaaaaaaa");
    let res = openai(e.clone()).resolve(&ResolveOptions::default());
    assert_eq!(res.winner().unwrap().id, SourceId::OpenaiApiKey);
    assert_eq!(
        base_url_for(res.winning(), &e, &settings),
        "http://127.0.0.1:9/v1"
    );
}
