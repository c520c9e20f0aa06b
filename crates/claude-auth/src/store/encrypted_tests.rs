//! Unit tests of the encrypted file store.

use super::*;

#[test]
fn raw_key_env_is_decoded_or_explained_without_the_value() {
    let key = STANDARD.encode([7u8; 32]);
    assert_eq!(*decode_raw_key(&key).unwrap(), [7u8; 32]);
    assert_eq!(
        *decode_raw_key(&format!("{}\n", key.trim_end_matches('='))).unwrap(),
        [7u8; 32]
    );
    let short = decode_raw_key("c2VjcmV0LXZhbHVl").unwrap_err();
    assert!(short.contains("decodes to 12 bytes"), "{short}");
    assert!(!short.contains("c2VjcmV0"), "{short}");
    let bad = decode_raw_key("not*base64!SECRET").unwrap_err();
    assert!(
        bad.contains("not valid base64") && !bad.contains("SECRET"),
        "{bad}"
    );
}

#[test]
fn debug_shows_the_kind_of_key_only() {
    let store = EncryptedFileStore::with_key("/tmp/x", [9u8; 32]);
    let text = format!("{store:?}");
    assert!(text.contains("raw key"), "{text}");
    let env = Env::empty().with(PASSPHRASE_VAR, "correct horse");
    let text = format!("{:?}", EncryptedFileStore::from_env("/tmp/x".into(), &env));
    assert!(
        text.contains("passphrase") && !text.contains("horse"),
        "{text}"
    );
}

#[test]
fn aad_binds_profile_and_header() {
    let header = Header {
        kdf: Kdf::Raw,
        nonce: [1; NONCE_LEN],
        ciphertext: Vec::new(),
    };
    assert_ne!(header.aad("a"), header.aad("b"));
    let other = Header {
        kdf: Kdf::Argon2id {
            params: KdfParams::DEFAULT,
            salt: vec![0; 16],
        },
        nonce: [1; NONCE_LEN],
        ciphertext: Vec::new(),
    };
    assert_ne!(header.aad("a"), other.aad("a"));
}
