//! Unit tests of the Claude Code store on its file; the Keychain item over
//! an in-memory keyring is in `keyring_tests.rs`, over a real Secret Service
//! in `tests/keyring_store.rs`.

use super::*;
use std::fs;

const SAMPLE: &str = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-aaaaaaaaaaaa","refreshToken":"sk-ant-ort01-bbbbbbbbbbbb","expiresAt":1767225600000,"scopes":["user:inference","user:profile"],"subscriptionType":"max","rateLimitTier":"default_claude_max_20x","futureField":1},"mcpOAuth":{"srv":{"token":"m"}}}"#;

fn store(dir: &Path) -> ClaudeCodeStore {
    ClaudeCodeStore::new(dir, dir.join(".claude.json"))
}

#[test]
fn reads_milliseconds_and_fields() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join(".credentials.json"), SAMPLE).unwrap();
    let cred = store(tmp.path()).load("x").unwrap().unwrap();
    let set = cred.token_set().unwrap();
    assert_eq!(set.expires_at, Some(1_767_225_600));
    assert_eq!(set.scopes, ["user:inference", "user:profile"]);
    assert_eq!(set.identity.subscription_type.as_deref(), Some("max"));
    assert_eq!(set.client_id.as_deref(), Some(CLAUDE_CODE_CLIENT_ID));
}

#[test]
fn rewrite_keeps_every_field_it_does_not_own() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(".credentials.json");
    fs::write(&path, SAMPLE).unwrap();
    let s = store(tmp.path());
    let Credential::OAuth(mut set) = s.load("x").unwrap().unwrap() else {
        panic!()
    };
    set.access_token = Secret::new("sk-ant-oat01-newnewnewnew");
    set.expires_at = Some(1_800_000_000);
    s.save("x", &Credential::OAuth(set)).unwrap();
    let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        v["claudeAiOauth"]["accessToken"],
        "sk-ant-oat01-newnewnewnew"
    );
    assert_eq!(v["claudeAiOauth"]["expiresAt"], 1_800_000_000_000u64);
    assert_eq!(v["claudeAiOauth"]["futureField"], 1);
    assert_eq!(
        v["claudeAiOauth"]["rateLimitTier"],
        "default_claude_max_20x"
    );
    assert_eq!(v["mcpOAuth"]["srv"]["token"], "m");
}

#[test]
fn string_scopes_are_rejected_with_the_field_named() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join(".credentials.json"),
        r#"{"claudeAiOauth":{"accessToken":"a","scopes":"user:inference"}}"#,
    )
    .unwrap();
    let err = store(tmp.path()).load("x").unwrap_err().to_string();
    assert!(err.contains("claudeAiOauth.scopes"), "{err}");
}

#[test]
fn delete_keeps_mcp_logins() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(".credentials.json");
    fs::write(&path, SAMPLE).unwrap();
    assert!(store(tmp.path()).delete("x").unwrap());
    let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert!(v.get("claudeAiOauth").is_none());
    assert_eq!(v["mcpOAuth"]["srv"]["token"], "m");
}
