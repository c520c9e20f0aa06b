//! The encrypted-file store: round trips, wrong keys, tampering, file
//! permissions, error messages, and that no input makes decryption panic.
#![cfg(feature = "encrypted-file")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::fs;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use claude_auth::credential::{Credential, Identity, Provider, TokenSet};
use claude_auth::store::encrypted::{
    EncryptedFileStore, KdfParams, ENCRYPTION_KEY_VAR, PASSPHRASE_VAR,
};
use claude_auth::store::CredentialStore;
use claude_auth::{Env, Error, Secret};
use proptest::prelude::*;
use serde_json::Value;

const ACCESS: &str = "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaaaaaa";
const REFRESH: &str = "sk-ant-ort01-REFRESHrrrrrrrrrrrrrrrrrr";
const API_KEY: &str = "sk-ant-api03-KEYkkkkkkkkkkkkkkkkkkkkkk";
const WRONG_KEY_MESSAGE: &str = "could not decrypt: wrong key or the file was modified";

/// Cheap Argon2id parameters so tests stay fast in debug builds.
const CHEAP: KdfParams = KdfParams {
    m_kib: 64,
    t: 1,
    p: 1,
};

fn oauth() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new(ACCESS),
        refresh_token: Some(Secret::new(REFRESH)),
        expires_at: Some(1_775_000_000),
        scopes: vec!["user:inference".into()],
        identity: Identity {
            email: Some("dev@example.com".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some("client-id".into()),
        id_token: None,
    })
}

fn api_key() -> Credential {
    Credential::anthropic_api_key(API_KEY)
}

fn key_store(dir: &Path) -> EncryptedFileStore {
    EncryptedFileStore::with_key(dir, [0x42; 32])
}

fn passphrase_store(dir: &Path, passphrase: &str) -> EncryptedFileStore {
    EncryptedFileStore::with_passphrase_and_kdf(dir, Secret::new(passphrase), CHEAP)
}

fn envelope(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn write_envelope(path: &Path, value: &Value) {
    fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

fn assert_wrong_key(result: claude_auth::Result<Option<Credential>>, path: &Path) {
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Encrypted { path: p, .. } if p == path),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(WRONG_KEY_MESSAGE), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn raw_key_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let store = key_store(tmp.path());
    store.save("work", &oauth()).unwrap();
    store.save("key", &api_key()).unwrap();
    assert_eq!(store.load("work").unwrap(), Some(oauth()));
    assert_eq!(store.load("key").unwrap(), Some(api_key()));
    assert_eq!(store.path("work"), tmp.path().join("work.json.enc"));

    let env = envelope(&store.path("work"));
    assert_eq!(env["version"], 1);
    assert_eq!(env["cipher"], "xchacha20poly1305");
    assert_eq!(env["kdf"], serde_json::json!({"alg": "raw"}));
    assert_eq!(
        STANDARD
            .decode(env["nonce"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );
}

#[test]
fn passphrase_round_trip_with_fresh_salt_and_nonce_per_write() {
    let tmp = tempfile::tempdir().unwrap();
    let store = passphrase_store(tmp.path(), "correct horse battery staple");
    store.save("work", &oauth()).unwrap();
    let first = envelope(&store.path("work"));
    assert_eq!(first["kdf"]["alg"], "argon2id");
    assert_eq!(first["kdf"]["m_kib"], 64);
    assert_eq!(first["kdf"]["t"], 1);
    assert_eq!(first["kdf"]["p"], 1);
    assert_eq!(store.load("work").unwrap(), Some(oauth()));

    // A store with the default parameters reads it (parameters come from
    // the file), and a rewrite uses a new salt and nonce.
    let reader = EncryptedFileStore::with_passphrase(
        tmp.path(),
        Secret::new("correct horse battery staple"),
    );
    assert_eq!(reader.load("work").unwrap(), Some(oauth()));
    store.save("work", &oauth()).unwrap();
    let second = envelope(&store.path("work"));
    assert_ne!(first["kdf"]["salt"], second["kdf"]["salt"]);
    assert_ne!(first["nonce"], second["nonce"]);
}

#[test]
fn from_env_uses_the_raw_key_then_the_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let key_b64 = STANDARD.encode([0x42; 32]);
    let with_key = Env::empty().with(ENCRYPTION_KEY_VAR, key_b64.as_str());
    let store = EncryptedFileStore::from_env(tmp.path().to_owned(), &with_key);
    store.save("work", &api_key()).unwrap();
    // Same key through with_key.
    assert_eq!(key_store(tmp.path()).load("work").unwrap(), Some(api_key()));

    // A passphrase-only file still opens when both variables are set.
    passphrase_store(tmp.path(), "pw")
        .save("old", &oauth())
        .unwrap();
    let both = with_key.clone().with(PASSPHRASE_VAR, "pw");
    let store = EncryptedFileStore::from_env(tmp.path().to_owned(), &both);
    assert_eq!(store.load("old").unwrap(), Some(oauth()));
    assert_eq!(store.load("work").unwrap(), Some(api_key()));
}

#[test]
fn wrong_key_fails_with_a_plain_message() {
    let tmp = tempfile::tempdir().unwrap();
    key_store(tmp.path()).save("work", &oauth()).unwrap();
    let other = EncryptedFileStore::with_key(tmp.path(), [0x43; 32]);
    assert_wrong_key(other.load("work"), &other.path("work"));

    passphrase_store(tmp.path(), "right")
        .save("pw", &oauth())
        .unwrap();
    let wrong = passphrase_store(tmp.path(), "wrong");
    assert_wrong_key(wrong.load("pw"), &wrong.path("pw"));
}

#[test]
fn key_kind_mismatch_says_which_variable_to_set() {
    let tmp = tempfile::tempdir().unwrap();
    passphrase_store(tmp.path(), "pw")
        .save("pw", &oauth())
        .unwrap();
    let text = key_store(tmp.path()).load("pw").unwrap_err().to_string();
    assert!(
        text.contains("encrypted with a passphrase") && text.contains(PASSPHRASE_VAR),
        "{text}"
    );

    key_store(tmp.path()).save("raw", &oauth()).unwrap();
    let text = passphrase_store(tmp.path(), "pw")
        .load("raw")
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("encrypted with a raw key") && text.contains(ENCRYPTION_KEY_VAR),
        "{text}"
    );
}

#[test]
fn tampered_ciphertext_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let store = key_store(tmp.path());
    store.save("work", &oauth()).unwrap();
    let path = store.path("work");
    let original = envelope(&path);
    let mut ciphertext = STANDARD
        .decode(original["ciphertext"].as_str().unwrap())
        .unwrap();
    ciphertext[3] ^= 0x01;
    let mut tampered = original.clone();
    tampered["ciphertext"] = STANDARD.encode(&ciphertext).into();
    write_envelope(&path, &tampered);
    assert_wrong_key(store.load("work"), &path);

    // Changing the nonce or truncating the tag fails the same way.
    let mut tampered = original.clone();
    tampered["nonce"] = STANDARD.encode([0u8; 24]).into();
    write_envelope(&path, &tampered);
    assert_wrong_key(store.load("work"), &path);
    let mut tampered = original.clone();
    let mut short = STANDARD
        .decode(original["ciphertext"].as_str().unwrap())
        .unwrap();
    short.pop();
    tampered["ciphertext"] = STANDARD.encode(&short).into();
    write_envelope(&path, &tampered);
    assert_wrong_key(store.load("work"), &path);
}

#[test]
fn tampered_kdf_parameters_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let store = passphrase_store(tmp.path(), "pw");
    store.save("work", &oauth()).unwrap();
    let path = store.path("work");
    let mut tampered = envelope(&path);
    tampered["kdf"]["t"] = 2.into();
    write_envelope(&path, &tampered);
    assert_wrong_key(store.load("work"), &path);
}

#[test]
fn file_renamed_to_another_profile_does_not_decrypt() {
    let tmp = tempfile::tempdir().unwrap();
    let store = key_store(tmp.path());
    store.save("personal", &oauth()).unwrap();
    fs::rename(store.path("personal"), store.path("work")).unwrap();
    assert_wrong_key(store.load("work"), &store.path("work"));
}

#[cfg(unix)]
#[test]
fn file_is_0600_in_a_0700_directory() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config/encrypted");
    let store = key_store(&dir);
    store.save("work", &oauth()).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&store.path("work")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["work.json.enc"], "no temp files left behind");
}

#[test]
fn file_does_not_contain_the_secrets_in_plain_text() {
    let tmp = tempfile::tempdir().unwrap();
    for store in [key_store(tmp.path()), passphrase_store(tmp.path(), "pw")] {
        store.save("work", &oauth()).unwrap();
        store.save("key", &api_key()).unwrap();
        let all = [
            fs::read(store.path("work")).unwrap(),
            fs::read(store.path("key")).unwrap(),
        ]
        .concat();
        let text = String::from_utf8_lossy(&all);
        for needle in [
            "ACCESSaaaa",
            "REFRESHrrrr",
            "KEYkkkk",
            "sk-ant",
            "dev@example.com",
        ] {
            assert!(!text.contains(needle), "{needle} found in the file");
        }
    }
}

#[test]
fn missing_key_error_names_both_variables_and_how_to_make_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let store = EncryptedFileStore::from_env(tmp.path().to_owned(), &Env::empty());
    let err = store.save("work", &oauth()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Encrypted { .. }), "{text}");
    for needle in [
        ENCRYPTION_KEY_VAR,
        PASSPHRASE_VAR,
        "head -c 32 /dev/urandom | base64",
    ] {
        assert!(text.contains(needle), "{needle} missing from: {text}");
    }
    assert!(
        !store.path("work").exists(),
        "nothing written without a key"
    );

    key_store(tmp.path()).save("work", &oauth()).unwrap();
    let text = store.load("work").unwrap_err().to_string();
    assert!(
        text.contains(ENCRYPTION_KEY_VAR) && text.contains(PASSPHRASE_VAR),
        "{text}"
    );
}

#[test]
fn malformed_key_variable_is_explained_without_its_value() {
    let tmp = tempfile::tempdir().unwrap();
    let env = Env::empty().with(ENCRYPTION_KEY_VAR, STANDARD.encode(b"short-SECRETVALUE"));
    let store = EncryptedFileStore::from_env(tmp.path().to_owned(), &env);
    let text = store.save("work", &oauth()).unwrap_err().to_string();
    assert!(
        text.contains(ENCRYPTION_KEY_VAR) && text.contains("exactly 32 bytes"),
        "{text}"
    );
    assert!(
        !text.contains("SECRETVALUE") && !text.contains("c2hvcnQt"),
        "{text}"
    );
    assert!(!format!("{store:?}").contains("c2hvcnQt"));
}

#[test]
fn delete_is_idempotent_and_needs_no_key() {
    let tmp = tempfile::tempdir().unwrap();
    key_store(tmp.path()).save("work", &oauth()).unwrap();
    let keyless = EncryptedFileStore::from_env(tmp.path().to_owned(), &Env::empty());
    assert!(keyless.delete("work").unwrap());
    assert!(!keyless.delete("work").unwrap());
    assert_eq!(key_store(tmp.path()).load("work").unwrap(), None);
    assert!(matches!(
        keyless.delete("../x"),
        Err(Error::InvalidProfileName { .. })
    ));
}

#[test]
fn unknown_envelope_version_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = key_store(tmp.path());
    store.save("work", &oauth()).unwrap();
    let mut future = envelope(&store.path("work"));
    future["version"] = 2.into();
    write_envelope(&store.path("work"), &future);
    let text = store.load("work").unwrap_err().to_string();
    assert!(text.contains("unsupported format version 2"), "{text}");
    assert!(text.contains("upgrade claude-auth"), "{text}");
}

#[test]
fn a_file_that_is_not_an_envelope_is_named_and_not_quoted() {
    let tmp = tempfile::tempdir().unwrap();
    let store = key_store(tmp.path());
    let path = store.path("work");
    let broken = format!("{{\"api_key\": \"{API_KEY}\"");
    claude_auth::secure_file::write_atomic(&path, broken.as_bytes(), 0o600).unwrap();
    let text = store.load("work").unwrap_err().to_string();
    assert!(
        text.contains("not a claude-auth encrypted credentials file"),
        "{text}"
    );
    assert!(text.contains("work.json.enc"), "{text}");
    assert!(!text.contains("KEYkkkk"), "{text}");
}

/// Measures the default Argon2id parameters; run with
/// `cargo test --release -p claude-auth --test encrypted_store -- --ignored --nocapture`.
#[test]
#[ignore = "timing only; meaningful in a release build"]
fn default_argon2_parameters_timing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = EncryptedFileStore::with_passphrase(tmp.path(), Secret::new("pw"));
    let start = Instant::now();
    store.save("work", &oauth()).unwrap();
    let save = start.elapsed();
    let start = Instant::now();
    store.load("work").unwrap();
    println!(
        "Argon2id {:?}: save {save:?}, load {:?}",
        KdfParams::DEFAULT,
        start.elapsed()
    );
}

/// An envelope of `api_key()` for profile `work` under `key_store`'s key.
fn sample_envelope() -> &'static [u8] {
    static ENVELOPE: OnceLock<Vec<u8>> = OnceLock::new();
    ENVELOPE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let store = key_store(tmp.path());
        store.save("work", &api_key()).unwrap();
        fs::read(store.path("work")).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decrypting_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let store = key_store(Path::new("/nonexistent"));
        let result = store.decrypt_envelope("work", Path::new("/nonexistent/work.json.enc"), &bytes);
        prop_assert!(result.is_err());
    }

    #[test]
    fn mutated_envelopes_fail_or_give_back_the_original(
        index in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let store = key_store(Path::new("/nonexistent"));
        let mut bytes = sample_envelope().to_vec();
        let at = index.index(bytes.len());
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = replacement;
        }
        match store.decrypt_envelope("work", Path::new("/nonexistent/work.json.enc"), &bytes) {
            // Only edits that do not change the meaning (JSON whitespace,
            // the same byte) may still decrypt, and then to the original.
            Ok(credential) => prop_assert_eq!(credential, api_key()),
            Err(err) => prop_assert!(!err.to_string().contains("KEYkkkk")),
        }
    }

    #[test]
    fn structured_garbage_envelopes_never_panic(
        version in prop_oneof![Just(1u64), any::<u64>()],
        alg in prop_oneof![Just("raw".to_owned()), Just("argon2id".to_owned()), ".{0,8}"],
        // Small enough to be cheap, or above the reader's 1 GiB bound.
        m_kib in prop_oneof![0u32..256, (1u32 << 20)..],
        t in 0u32..4,
        p in 0u32..4,
        salt in proptest::collection::vec(any::<u8>(), 0..80),
        nonce in prop_oneof![
            proptest::collection::vec(any::<u8>(), 24),
            proptest::collection::vec(any::<u8>(), 0..40),
        ],
        ciphertext in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let envelope = serde_json::json!({
            "version": version,
            "kdf": {"alg": alg, "m_kib": m_kib, "t": t, "p": p, "salt": STANDARD.encode(&salt)},
            "cipher": "xchacha20poly1305",
            "nonce": STANDARD.encode(&nonce),
            "ciphertext": STANDARD.encode(&ciphertext),
        });
        let bytes = serde_json::to_vec(&envelope).unwrap();
        // A store with both key kinds, so argon2id envelopes reach the KDF
        // (with the file's parameters, bounded by the reader).
        let env = Env::empty()
            .with(ENCRYPTION_KEY_VAR, STANDARD.encode([1u8; 32]))
            .with(PASSPHRASE_VAR, "pw");
        let store = EncryptedFileStore::from_env("/nonexistent".into(), &env);
        let result = store.decrypt_envelope("work", Path::new("/nonexistent/work.json.enc"), &bytes);
        prop_assert!(result.is_err());
    }
}
