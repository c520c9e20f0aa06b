//! Unit tests of the keyring store and the Claude Code Keychain logic over
//! [`MemoryKeyring`]: entry naming, the JSON shape, error mapping. The same
//! code against a real Secret Service: `tests/keyring_store.rs`.

use std::sync::Arc;

use super::*;

use serde_json::Value;

use crate::credential::{Credential, Identity, Provider, TokenSet};
use crate::secret::Secret;
use crate::store::claude_code::{ClaudeCodeStore, KEYCHAIN_SERVICE};

fn oauth() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new("sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaa"),
        refresh_token: Some(Secret::new("sk-ant-ort01-REFRESHrrrrrrrrrrrrrrr")),
        expires_at: Some(1_775_000_000),
        scopes: vec!["user:inference".into()],
        identity: Identity::default(),
        provider: Provider::Anthropic,
        client_id: Some("client-id".into()),
        id_token: None,
    })
}

fn store() -> (Arc<MemoryKeyring>, KeyringStore) {
    let keyring = Arc::new(MemoryKeyring::new());
    let store = KeyringStore::with_backend("svc", keyring.clone());
    (keyring, store)
}

#[test]
fn one_entry_per_profile_named_service_and_profile_holding_compact_portable_json() {
    let (keyring, store) = store();
    store.save("work", &oauth()).unwrap();
    store
        .save(
            "ci",
            &Credential::anthropic_api_key("sk-ant-api03-KEYkkkkkkkkkkkk"),
        )
        .unwrap();
    assert_eq!(
        keyring.names(),
        vec![
            ("svc".to_owned(), "ci".to_owned()),
            ("svc".to_owned(), "work".to_owned())
        ]
    );
    let text = keyring.text("svc", "work").unwrap();
    assert!(
        !text.contains('\n') && !text.contains(": "),
        "compact: {text}"
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value, crate::credential::to_portable_json(&oauth()));
    assert_eq!(store.load("work").unwrap(), Some(oauth()));
    assert_eq!(
        store.location("work"),
        "keyring service \"svc\", account \"work\""
    );
}

#[test]
fn missing_is_none_and_delete_says_whether_there_was_one() {
    let (_keyring, store) = store();
    assert_eq!(store.load("work").unwrap(), None);
    assert!(!store.delete("work").unwrap());
    store.save("work", &oauth()).unwrap();
    assert!(store.delete("work").unwrap());
    assert!(!store.delete("work").unwrap());
    assert_eq!(store.load("work").unwrap(), None);
}

#[test]
fn a_corrupt_entry_is_named_never_quoted() {
    let (keyring, store) = store();
    keyring.set("svc", "work", "not json SECRETVALUE").unwrap();
    let text = store.load("work").unwrap_err().to_string();
    assert!(text.contains("keyring (svc, work)"), "{text}");
    assert!(text.contains("claude-auth logout --profile work"), "{text}");
    assert!(!text.contains("SECRETVALUE"), "{text}");
    // A JSON entry with a value we do not understand: not quoted either.
    keyring
        .set("svc", "work", r#"{"type":"SECRETTYPE","key":"x"}"#)
        .unwrap();
    let text = store.load("work").unwrap_err().to_string();
    assert!(!text.contains("SECRETTYPE"), "{text}");
}

#[test]
fn probe_treats_no_entry_as_working_and_an_unreachable_service_as_an_error() {
    let (keyring, store) = store();
    store.probe().unwrap();
    keyring.fail_next(keyring::Error::NoStorageAccess("locked".into()));
    let text = store.probe().unwrap_err().to_string();
    assert!(text.contains("the keyring refused access"), "{text}");
    assert!(text.contains("encrypted-file"), "{text}");
    // The failure was for one call only.
    store.probe().unwrap();
}

#[test]
fn a_failing_write_names_the_entry_and_leaves_nothing() {
    let (keyring, store) = store();
    keyring.fail_next(keyring::Error::NoStorageAccess("locked".into()));
    let err = store.save("work", &oauth()).unwrap_err();
    assert!(
        matches!(&err, Error::Keyring { service, account, .. } if service == "svc" && account == "work"),
        "{err:?}"
    );
    assert!(keyring.names().is_empty());
}

#[test]
fn memory_keyring_debug_shows_names_not_text() {
    let (keyring, store) = store();
    store.save("work", &oauth()).unwrap();
    let shown = format!("{keyring:?} {store:?}");
    assert!(shown.contains("work"), "{shown}");
    assert!(!shown.contains("ACCESSaaaa"), "{shown}");
}

#[test]
fn claude_code_keychain_item_is_read_first_and_rewritten_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let keyring = Arc::new(MemoryKeyring::new());
    let cc = ClaudeCodeStore::new(tmp.path().join("claude"), tmp.path().join("claude.json"))
        .with_keychain(KEYCHAIN_SERVICE, "dev")
        .with_keyring_backend(keyring.clone());
    let item = serde_json::json!({
        "claudeAiOauth": {
            "accessToken": "sk-ant-oat01-ITEMaaaaaaaaaaaaaaaa",
            "refreshToken": "sk-ant-ort01-ITEMrrrrrrrrrrrrrrrr",
            "expiresAt": 1_775_000_000_000u64,
            "scopes": ["user:inference"],
        },
        "mcpOAuth": {"kept": true},
    });
    keyring
        .set(KEYCHAIN_SERVICE, "dev", &item.to_string())
        .unwrap();
    let found = cc.load("default").unwrap().unwrap();
    assert_eq!(found.secret().expose(), "sk-ant-oat01-ITEMaaaaaaaaaaaaaaaa");
    // No file was written or needed.
    assert!(!tmp.path().join("claude/.credentials.json").exists());
    cc.save("default", &oauth()).unwrap();
    let back: Value =
        serde_json::from_str(&keyring.text(KEYCHAIN_SERVICE, "dev").unwrap()).unwrap();
    assert_eq!(
        back["claudeAiOauth"]["accessToken"],
        "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaa"
    );
    assert_eq!(
        back["mcpOAuth"],
        serde_json::json!({"kept": true}),
        "other keys kept"
    );
    assert!(!tmp.path().join("claude/.credentials.json").exists());
    // Logout removes the login and keeps what else the item holds.
    assert!(cc.delete("default").unwrap());
    let left: Value =
        serde_json::from_str(&keyring.text(KEYCHAIN_SERVICE, "dev").unwrap()).unwrap();
    assert_eq!(left, serde_json::json!({"mcpOAuth": {"kept": true}}));
    assert_eq!(cc.load("default").unwrap(), None);
}

#[test]
fn a_claude_code_item_that_is_not_json_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let keyring = Arc::new(MemoryKeyring::new());
    let cc = ClaudeCodeStore::new(tmp.path().join("claude"), tmp.path().join("claude.json"))
        .with_keychain(KEYCHAIN_SERVICE, "dev")
        .with_keyring_backend(keyring.clone());
    keyring
        .set(KEYCHAIN_SERVICE, "dev", "garbage SECRETGARBAGE")
        .unwrap();
    let text = cc.load("default").unwrap_err().to_string();
    assert!(!text.contains("SECRETGARBAGE"), "{text}");
    assert!(cc.save("default", &oauth()).is_err());
    assert_eq!(
        keyring.text(KEYCHAIN_SERVICE, "dev").unwrap(),
        "garbage SECRETGARBAGE"
    );
}

#[test]
fn errors_never_print_entry_bytes_and_name_the_fix() {
    let store = KeyringStore::new("svc");
    let err = store.map_error("work", keyring::Error::BadEncoding(b"SECRET\xff".to_vec()));
    let text = err.to_string();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(text.contains("keyring (svc, work)"), "{text}");
    assert!(text.contains("claude-auth logout --profile work"), "{text}");
}

#[test]
fn invalid_profile_names_are_refused_before_touching_the_keyring() {
    let store = KeyringStore::new("svc");
    assert!(matches!(
        store.load("../x"),
        Err(Error::InvalidProfileName { .. })
    ));
    assert!(matches!(
        store.delete(""),
        Err(Error::InvalidProfileName { .. })
    ));
}

#[cfg(target_os = "linux")]
#[test]
fn unreachable_secret_service_gets_the_daemon_hint() {
    let msg = platform_failure_message(
        "DBus error: org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable",
    );
    assert!(
        msg.starts_with("no Secret Service on this session's D-Bus"),
        "{msg}"
    );
    assert!(msg.contains("gnome-keyring or KeePassXC"), "{msg}");
}
