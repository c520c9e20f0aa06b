//! Codex's keyring mode against a real Secret Service (`scripts/test`
//! starts a private one): with `cli_auth_credentials_store = "keyring"` in
//! Codex's `config.toml`, the Codex source reads the entry Codex keeps
//! (service `Codex Auth`, account `cli|<hash of CODEX_HOME>`, the whole
//! `auth.json` document), and a refresh writes the rotated tokens back into
//! that entry, keeping what it does not own, never into a file.
#![cfg(all(target_os = "linux", feature = "keyring"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "../../claude-auth-cli/tests/openai_issuer/mod.rs"]
mod openai_issuer;

use claude_auth::credential::Provider;
use claude_auth::openai::home;
use claude_auth::source::Backing;
use claude_auth::store::keyring::{KeyringBackend, OsKeyring};
use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, Settings};
use openai_issuer::{Config, OpenaiIssuer};
use serde_json::{json, Value};

#[test]
fn a_codex_keyring_login_is_read_refreshed_and_written_back_into_the_entry() {
    if !common::require_secret_service() {
        return;
    }
    let issuer = OpenaiIssuer::start_with(Config {
        access_ttl: -60,
        ..Config::default()
    });
    let minted = issuer.mint_default();
    issuer.configure(|c| c.access_ttl = 3600);
    let dir = tempfile::tempdir().unwrap();
    let codex_home = dir.path().join("codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        "cli_auth_credentials_store = \"keyring\"\n",
    )
    .unwrap();
    let account = home::keyring_account(&codex_home);
    let doc = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {"id_token": minted.id_token, "access_token": minted.access_token,
                   "refresh_token": minted.refresh_token, "account_id": "acct-k"},
        "last_refresh": "2026-01-01T00:00:00Z",
        "unknown_key": [1, 2]
    });
    OsKeyring
        .set(home::KEYRING_SERVICE, &account, &doc.to_string())
        .unwrap();

    let env = Env::empty()
        .with("HOME", dir.path().to_string_lossy())
        .with(
            "CLAUDE_AUTH_CONFIG_DIR",
            dir.path().join("own").to_string_lossy(),
        )
        .with("CODEX_HOME", codex_home.to_string_lossy())
        .with("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    let settings = Settings::load(&env).unwrap();
    let manager = AuthManager::new(
        Resolver::for_provider(env, settings, Provider::Openai),
        ManagerOptions::default(),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt.block_on(manager.obtain());
    let stored = OsKeyring.get(home::KEYRING_SERVICE, &account);
    let _ = OsKeyring.delete(home::KEYRING_SERVICE, &account);
    let got = got.unwrap();
    assert!(got.refreshed);
    assert_eq!(
        got.provenance.backing,
        Backing::CodexKeyring {
            codex_home: codex_home.clone()
        }
    );
    assert_eq!(issuer.stats().refreshes, 1);
    let stored: Value = serde_json::from_str(&stored.unwrap()).unwrap();
    assert_eq!(
        got.credential.secret().expose(),
        stored["tokens"]["access_token"]
    );
    assert_ne!(stored["tokens"]["refresh_token"], minted.refresh_token);
    assert_eq!(stored["tokens"]["account_id"], "acct-k");
    assert_eq!(stored["unknown_key"], json!([1, 2]));
    assert_ne!(stored["last_refresh"], "2026-01-01T00:00:00Z");
    assert!(!codex_home.join("auth.json").exists());
}
