#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn agent_ids_are_short_printable_names() {
    for ok in ["a", "worker-1", "Claude_2.test", &"x".repeat(MAX_ID_LEN)] {
        assert_eq!(validate_agent_id(ok), Ok(()), "{ok}");
    }
    let rule =
        "use 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit";
    assert_eq!(
        validate_agent_id(""),
        Err(format!("--agent-id is empty: {rule}"))
    );
    assert_eq!(
        validate_agent_id(&"x".repeat(MAX_ID_LEN + 1)),
        Err(format!("--agent-id is 65 characters long: {rule}"))
    );
    assert_eq!(
        validate_agent_id("two words"),
        Err(format!(
            "--agent-id \"two words\" is not a valid agent id: {rule}"
        ))
    );
    assert_eq!(
        validate_agent_id("-flag"),
        Err(format!(
            "--agent-id \"-flag\" is not a valid agent id: {rule}"
        ))
    );
    // A control character is not echoed to the terminal.
    assert_eq!(
        validate_agent_id("a\u{1b}[31m"),
        Err(format!(
            "--agent-id \"a?[31m\" is not a valid agent id: {rule}"
        ))
    );
    assert!(validate_agent_id("é").is_err());
}

#[test]
fn agent_keys_are_prefixed_random_and_stored_only_as_their_hash() {
    let a = generate_agent_key().unwrap();
    let b = generate_agent_key().unwrap();
    assert!(a.expose().starts_with(KEY_PREFIX));
    // 24 bytes are 32 base64url characters, unpadded.
    assert_eq!(a.expose().len(), KEY_PREFIX.len() + 32);
    assert!(a.expose()[KEY_PREFIX.len()..]
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    assert_ne!(a.expose(), b.expose());
    assert!(!format!("{a:?}").contains(a.expose()));
    // SHA-256 of "abc" (FIPS 180-2).
    assert_eq!(
        key_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(key_hash(a.expose()).len(), 64);
}
