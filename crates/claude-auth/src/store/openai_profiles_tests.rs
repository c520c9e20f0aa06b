#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::credential::{Identity, TokenSet};
use crate::secret::Secret;
use crate::secure_file::mode_of;
use crate::store::keyring::MemoryKeyring;

fn profiles(dir: &Path) -> (OpenaiProfiles, Arc<MemoryKeyring>) {
    let env = Env::empty()
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.to_string_lossy())
        .with("CLAUDE_AUTH_ENCRYPTION_KEY", {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        });
    let keyring = Arc::new(MemoryKeyring::new());
    let p = OpenaiProfiles::new(&env, &Settings::default()).with_keyring_backend(keyring.clone());
    (p, keyring)
}

fn chatgpt() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new("eyJ.access.sig"),
        refresh_token: Some(Secret::new("rt-0123456789")),
        expires_at: Some(1_900_000_000),
        scopes: Vec::new(),
        identity: Identity {
            email: Some("me@example.com".into()),
            account_uuid: Some("acct-1".into()),
            subscription_type: Some("plus".into()),
            ..Identity::default()
        },
        provider: Provider::Openai,
        client_id: Some("app_x".into()),
        id_token: Some(Secret::new("eyJ.id.sig")),
    })
}

#[test]
fn file_profiles_round_trip_in_their_own_dir_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, _) = profiles(tmp.path());
    p.save("work", &chatgpt(), StorageKind::File).unwrap();
    let path = tmp.path().join("openai/credentials/work.json");
    assert_eq!(p.file_path("work"), path);
    assert_eq!(mode_of(&path), Some(0o600));
    assert_eq!(mode_of(&tmp.path().join("openai/credentials")), Some(0o700));
    let stored = p.load_stored("work").unwrap().unwrap();
    assert_eq!(stored.credential, chatgpt());
    assert_eq!(stored.storage, StorageKind::File);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["provider"], "openai");
    assert_eq!(json["id_token"], "eyJ.id.sig");
    assert_eq!(p.list().unwrap(), ["work"]);
    assert!(p.delete("work").unwrap());
    assert_eq!(p.load("work").unwrap(), None);
    assert!(!p.delete("work").unwrap());
}

#[test]
fn keyring_accounts_are_namespaced_and_storage_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, keyring) = profiles(tmp.path());
    p.save("work", &chatgpt(), StorageKind::File).unwrap();
    p.save("work", &chatgpt(), StorageKind::Keyring).unwrap();
    assert_eq!(
        keyring.names(),
        [("claude-auth".to_owned(), "openai/work".to_owned())]
    );
    // Moved: the file copy is gone, the record says keyring.
    assert!(!p.file_path("work").exists());
    assert_eq!(p.storage_of("work").unwrap(), StorageKind::Keyring);
    let stored = p.load_stored("work").unwrap().unwrap();
    assert_eq!(stored.credential, chatgpt());
    assert!(
        stored.location.contains("openai/work"),
        "{}",
        stored.location
    );
    assert_eq!(p.list().unwrap(), ["work"]);
    assert!(p.delete("work").unwrap());
    assert!(keyring.names().is_empty());
    assert_eq!(p.list().unwrap(), Vec::<String>::new());
}

#[test]
fn encrypted_profiles_live_under_encrypted_openai() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, _) = profiles(tmp.path());
    p.save("ci", &chatgpt(), StorageKind::EncryptedFile)
        .unwrap();
    assert!(tmp.path().join("encrypted/openai/ci.json.enc").is_file());
    assert_eq!(p.load("ci").unwrap(), Some(chatgpt()));
}

#[test]
fn only_openai_credentials_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, _) = profiles(tmp.path());
    let anthropic = Credential::anthropic_api_key("sk-ant-api03-xxxxxxxxxxxx");
    let err = p.save("x", &anthropic, StorageKind::File).unwrap_err();
    assert!(err.to_string().contains("only hold an OpenAI"), "{err}");
    // One put there by hand is refused on read, naming the file.
    KeyFileStore::new(tmp.path().join("openai/credentials"))
        .save("x", &anthropic)
        .unwrap();
    let err = p.load("x").unwrap_err().to_string();
    assert!(
        err.contains("x.json") && err.contains("not OpenAI"),
        "{err}"
    );
    assert!(!err.contains("sk-ant"), "{err}");
}

#[test]
fn active_profile_pointer() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, _) = profiles(tmp.path());
    assert_eq!(p.active().unwrap(), None);
    p.set_active("work").unwrap();
    assert_eq!(p.active().unwrap().as_deref(), Some("work"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("openai/active")).unwrap(),
        "work"
    );
    assert!(p.set_active("../x").is_err());
    assert!(p.load("../x").is_err());
}

#[test]
fn a_broken_registry_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, _) = profiles(tmp.path());
    crate::secure_file::write_atomic(&p.registry_path(), b"[1,", 0o600).unwrap();
    let err = p.load("work").unwrap_err().to_string();
    assert!(err.contains("storage.json"), "{err}");
}

#[cfg(feature = "encrypted-file")]
#[test]
fn encrypted_profiles_are_bound_to_openai_names() {
    use crate::store::encrypted::EncryptedFileStore;
    use crate::store::CredentialStore;
    let tmp = tempfile::tempdir().unwrap();
    let (p, _) = profiles(tmp.path());
    let env = Env::empty().with("CLAUDE_AUTH_ENCRYPTION_KEY", {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    });
    let anthropic_store = EncryptedFileStore::from_env(tmp.path().join("encrypted"), &env);
    let openai_dir = tmp.path().join("encrypted/openai");

    // An Anthropic encrypted file, same key, copied into encrypted/openai/.
    let anthropic = Credential::anthropic_api_key("sk-ant-api03-xxxxxxxxxxxx");
    anthropic_store.save("ci", &anthropic).unwrap();
    std::fs::create_dir_all(&openai_dir).unwrap();
    std::fs::set_permissions(
        &openai_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let copied = openai_dir.join("ci.json.enc");
    std::fs::copy(tmp.path().join("encrypted/ci.json.enc"), &copied).unwrap();
    p.record("ci", Some(StorageKind::EncryptedFile)).unwrap();
    let err = p.load("ci").unwrap_err().to_string();
    assert!(err.contains("could not decrypt"), "{err}");
    // The fix it names removes the OpenAI profile, not the Anthropic one.
    assert!(
        err.contains("`claude-auth logout --provider openai --profile ci`"),
        "{err}"
    );

    // And an OpenAI one copied to the Anthropic side does not open there.
    p.save("ci", &chatgpt(), StorageKind::EncryptedFile)
        .unwrap();
    std::fs::copy(&copied, tmp.path().join("encrypted/work.json.enc")).unwrap();
    std::fs::copy(&copied, tmp.path().join("encrypted/ci.json.enc")).unwrap();
    let err = anthropic_store.load("ci").unwrap_err().to_string();
    assert!(err.contains("could not decrypt"), "{err}");
    assert!(err.contains("`claude-auth logout --profile ci`"), "{err}");

    // Files written before the binding (bare name, an OpenAI credential) open.
    EncryptedFileStore::from_env(openai_dir, &env)
        .save("old", &chatgpt())
        .unwrap();
    p.record("old", Some(StorageKind::EncryptedFile)).unwrap();
    assert_eq!(p.load("old").unwrap(), Some(chatgpt()));
}
