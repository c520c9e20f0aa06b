#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::config::env::Env;
use crate::config::settings::Settings;
use crate::credential::{Credential, Provider};
use crate::openai::home;
use crate::secure_file::write_atomic_strict;
use crate::source::{Backing, Outcome, ResolveOptions, Resolver, SourceId};
use crate::store::keyring::{KeyringBackend, MemoryKeyring};

fn jwt(claims: serde_json::Value) -> String {
    format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

fn chatgpt_doc() -> serde_json::Value {
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": jwt(json!({"email": "me@example.com",
                "https://api.openai.com/auth": {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acct-claim"}})),
            "access_token": jwt(json!({"exp": 1_900_000_000u64})),
            "refresh_token": "rt-0123456789",
            "account_id": "acct-1",
            "future": 1
        },
        "last_refresh": "2026-12-01T00:00:00Z",
        "agent_identity": {"kept": true}
    })
}

fn setup(dir: &Path) -> (Resolver, Arc<MemoryKeyring>) {
    let env = Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.join("own").to_string_lossy())
        .with("CODEX_HOME", dir.join("codex").to_string_lossy());
    let keyring = Arc::new(MemoryKeyring::new());
    let r = Resolver::for_provider(env, Settings::default(), Provider::Openai)
        .with_keyring_backend(keyring.clone());
    (r, keyring)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    write_atomic_strict(&dir.join("codex").join(name), bytes, 0o600).unwrap();
}

fn codex_report(r: &Resolver) -> Outcome {
    let res = r.resolve(&ResolveOptions::default());
    res.reports
        .into_iter()
        .find(|x| x.id == SourceId::Codex)
        .unwrap()
        .outcome
}

#[test]
fn a_chatgpt_login_is_an_openai_token_set_with_its_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, _) = setup(tmp.path());
    write(
        tmp.path(),
        "auth.json",
        chatgpt_doc().to_string().as_bytes(),
    );
    let res = r.resolve(&ResolveOptions::default());
    assert_eq!(res.winner().unwrap().id, SourceId::Codex);
    let found = res.winning().unwrap();
    let path = tmp.path().join("codex/auth.json");
    assert_eq!(found.backing, Backing::CodexFile { path: path.clone() });
    assert_eq!(found.location, path.display().to_string());
    let Some(Credential::OAuth(set)) = &found.credential else {
        panic!("not a token set: {:?}", found.credential)
    };
    assert_eq!(set.provider, Provider::Openai);
    assert_eq!(set.expires_at, Some(1_900_000_000));
    assert_eq!(set.identity.email.as_deref(), Some("me@example.com"));
    assert_eq!(set.identity.subscription_type.as_deref(), Some("pro"));
    assert_eq!(
        set.client_id.as_deref(),
        Some(crate::openai::chatgpt::CLIENT_ID)
    );
    assert!(set.id_token.is_some() && set.refresh_token.is_some());
    // tokens.account_id wins over the id token's claim.
    let cred = found.credential.as_ref().unwrap();
    assert_eq!(cred.openai_account_id(), Some("acct-1"));
    assert!(cred.can_refresh());
}

#[test]
fn an_api_key_login_is_an_openai_api_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, _) = setup(tmp.path());
    let doc = json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-codexkey000"});
    write(tmp.path(), "auth.json", doc.to_string().as_bytes());
    let Outcome::Found(found) = codex_report(&r) else {
        panic!("not found")
    };
    let cred = found.credential.unwrap();
    assert_eq!(
        cred,
        Credential::ApiKey {
            key: "sk-proj-codexkey000".into(),
            provider: Provider::Openai
        }
    );
}

#[test]
fn a_corrupt_auth_json_is_reported_with_file_and_field_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, _) = setup(tmp.path());
    let mut doc = chatgpt_doc();
    doc["tokens"]["refresh_token"] = json!(42);
    let bytes = doc.to_string();
    write(tmp.path(), "auth.json", bytes.as_bytes());
    let Outcome::Error(message) = codex_report(&r) else {
        panic!("not an error")
    };
    assert!(message.contains("auth.json"), "{message}");
    assert!(message.contains("tokens.refresh_token"), "{message}");
    assert!(message.contains("fix or remove the file"), "{message}");
    assert!(
        !message.contains("eyJ") && !message.contains("e30."),
        "{message}"
    );
    // Auto-discovered: the chain goes on, and nothing was written.
    assert!(r.resolve(&ResolveOptions::default()).error.is_none());
    let now = std::fs::read(tmp.path().join("codex/auth.json")).unwrap();
    assert_eq!(now, bytes.as_bytes());
    // A mode that promises what is not there says what to run.
    write(
        tmp.path(),
        "auth.json",
        br#"{"auth_mode": "apikey", "OPENAI_API_KEY": null}"#,
    );
    let Outcome::Error(message) = codex_report(&r) else {
        panic!("not an error")
    };
    assert!(message.contains("codex login"), "{message}");
}

#[test]
fn keyring_mode_reads_codex_s_entry_and_auto_falls_back_to_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, keyring) = setup(tmp.path());
    let codex_home = tmp.path().join("codex");
    write(
        tmp.path(),
        "config.toml",
        b"cli_auth_credentials_store = \"keyring\"\n",
    );
    let Outcome::Skipped(why) = codex_report(&r) else {
        panic!("not skipped")
    };
    assert!(why.contains("Codex Auth"), "{why}");
    let account = home::keyring_account(&codex_home);
    keyring
        .set(home::KEYRING_SERVICE, &account, &chatgpt_doc().to_string())
        .unwrap();
    let Outcome::Found(found) = codex_report(&r) else {
        panic!("not found")
    };
    assert_eq!(
        found.backing,
        Backing::CodexKeyring {
            codex_home: codex_home.clone()
        }
    );
    assert!(found.location.contains(&account), "{}", found.location);

    // "auto" without an entry: the file.
    keyring.delete(home::KEYRING_SERVICE, &account).unwrap();
    write(
        tmp.path(),
        "config.toml",
        b"cli_auth_credentials_store = \"auto\"\n",
    );
    write(
        tmp.path(),
        "auth.json",
        chatgpt_doc().to_string().as_bytes(),
    );
    let Outcome::Found(found) = codex_report(&r) else {
        panic!("not found")
    };
    assert!(matches!(found.backing, Backing::CodexFile { .. }));
}
