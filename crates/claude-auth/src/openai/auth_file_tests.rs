use std::path::Path;

use serde_json::json;

use super::*;
use crate::secure_file::mode_of;

const PATH: &str = "/home/me/.codex/auth.json";

fn parse(doc: &Value) -> Result<CodexAuth> {
    CodexAuth::parse(doc.to_string().as_bytes(), Path::new(PATH))
}

fn parse_err(doc: &Value) -> String {
    parse(doc).unwrap_err().to_string()
}

fn chatgpt_doc() -> Value {
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": "eyJhbGciOi.id-payload.sig",
            "access_token": "eyJhbGciOi.access-payload.sig",
            "refresh_token": "rt_refresh-0123456789",
            "account_id": "acct-123",
            "future_token_field": {"kept": true}
        },
        "last_refresh": "2026-11-30T08:15:42.123456789Z",
        "agent_identity": {"agent_runtime_id": "r-1", "email": "me@example.com"},
        "zz_newer_key": [1, "two", null]
    })
}

#[test]
fn chatgpt_document_parses_into_secrets() {
    let auth = parse(&chatgpt_doc()).unwrap();
    assert_eq!(auth.auth_mode, Some(AuthMode::ChatGpt));
    assert_eq!(auth.api_key(), None);
    let tokens = auth.tokens().unwrap();
    assert_eq!(tokens.id_token.expose(), "eyJhbGciOi.id-payload.sig");
    assert_eq!(
        tokens.access_token.expose(),
        "eyJhbGciOi.access-payload.sig"
    );
    assert_eq!(tokens.refresh_token.expose(), "rt_refresh-0123456789");
    assert_eq!(tokens.account_id.as_deref(), Some("acct-123"));
    assert_eq!(
        tokens.extra(),
        json!({"future_token_field": {"kept": true}})
            .as_object()
            .unwrap()
    );
    let last = auth.last_refresh.as_ref().unwrap();
    assert_eq!(last.unix(), 1_796_026_542);
    assert_eq!(last.as_str(), "2026-11-30T08:15:42.123456789Z");
    assert_eq!(
        auth.extra().keys().collect::<Vec<_>>(),
        ["agent_identity", "zz_newer_key"]
    );
    // Debug never shows a secret.
    let debug = format!("{auth:?}");
    assert!(!debug.contains("rt_refresh"), "{debug}");
    assert!(!debug.contains("payload"), "{debug}");
}

#[test]
fn round_trip_keeps_every_key_and_writes_pretty_json_as_codex_does() {
    let original = chatgpt_doc();
    let auth = parse(&original).unwrap();
    let bytes = auth.to_bytes();
    let written: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(written, original);
    // Codex's serde_json::to_string_pretty: 2 spaces, no trailing newline,
    // its own keys first in its order, then the others as read.
    let expected = serde_json::to_vec_pretty(&original).unwrap();
    assert_eq!(&*bytes, expected.as_slice());
    // And parsing what we wrote gives the same document.
    assert_eq!(CodexAuth::parse(&bytes, Path::new(PATH)).unwrap(), auth);
}

#[test]
fn unknown_keys_before_known_ones_are_kept() {
    let original = json!({
        "early": 1,
        "tokens": {"extra_first": "x", "id_token": "id-token-1", "access_token": "access-token-1", "refresh_token": "refresh-token-1", "account_id": null},
        "OPENAI_API_KEY": null
    });
    let auth = parse(&original).unwrap();
    let written: Value = serde_json::from_slice(&auth.to_bytes()).unwrap();
    assert_eq!(written, original);
}

#[test]
fn older_codex_document_without_auth_mode_parses_and_stays_without_it() {
    let original = json!({
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": "id-token-1",
            "access_token": "access-token-1",
            "refresh_token": "refresh-token-1",
            "account_id": null
        },
        "last_refresh": "2025-06-01T10:00:00Z"
    });
    let auth = parse(&original).unwrap();
    assert_eq!(auth.auth_mode, None);
    assert_eq!(auth.tokens().unwrap().account_id, None);
    let written: Value = serde_json::from_slice(&auth.to_bytes()).unwrap();
    assert_eq!(written, original);
}

#[test]
fn api_key_only_document_parses() {
    let original = json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-abcdefghijklmnop"});
    let auth = parse(&original).unwrap();
    assert_eq!(auth.auth_mode, Some(AuthMode::ApiKey));
    assert_eq!(auth.api_key().unwrap().expose(), "sk-proj-abcdefghijklmnop");
    assert!(auth.tokens().is_none());
    assert!(auth.last_refresh.is_none());
    let written: Value = serde_json::from_slice(&auth.to_bytes()).unwrap();
    assert_eq!(written, original);
    // The oldest form: only the key.
    let auth = parse(&json!({"OPENAI_API_KEY": "sk-abcdefghijklmnop"})).unwrap();
    assert_eq!(auth.auth_mode, None);
    assert!(auth.api_key().is_some());
    // Codex's own API-key document.
    let ours = CodexAuth::with_api_key(Secret::new("sk-proj-abcdefghijklmnop"));
    assert_eq!(ours.to_json(), original);
}

#[test]
fn newer_auth_modes_and_nulls_are_kept() {
    let original = json!({"auth_mode": "agent_identity", "OPENAI_API_KEY": null, "tokens": null, "last_refresh": null});
    let auth = parse(&original).unwrap();
    assert_eq!(
        auth.auth_mode,
        Some(AuthMode::Other("agent_identity".into()))
    );
    assert!(auth.tokens().is_none());
    let written: Value = serde_json::from_slice(&auth.to_bytes()).unwrap();
    assert_eq!(
        written,
        json!({"auth_mode": "agent_identity", "OPENAI_API_KEY": null})
    );
    // An empty key reads as none.
    assert!(parse(&json!({"OPENAI_API_KEY": ""}))
        .unwrap()
        .api_key()
        .is_none());
}

#[test]
fn malformed_documents_name_the_file_and_the_field_never_a_value() {
    let with_tokens = |tokens: Value| json!({"OPENAI_API_KEY": null, "tokens": tokens});
    let good = || json!({"id_token": "id-token-1", "access_token": "access-token-1", "refresh_token": "refresh-token-1", "account_id": null});
    let patched = |key: &str, value: Value| {
        let mut t = good();
        t[key] = value;
        with_tokens(t)
    };
    let removed = |key: &str| {
        let mut t = good();
        t.as_object_mut().unwrap().remove(key);
        with_tokens(t)
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!([1, 2]), "must contain a JSON object"),
        (
            json!({"auth_mode": 3}),
            "auth_mode must be a string or null",
        ),
        (
            json!({"OPENAI_API_KEY": 42}),
            "OPENAI_API_KEY must be a string or null",
        ),
        (
            json!({"OPENAI_API_KEY": "sk-secret value"}),
            "OPENAI_API_KEY is not a usable token: it holds whitespace",
        ),
        (
            json!({"tokens": "eyJ-secret"}),
            "tokens must be an object or null",
        ),
        (removed("id_token"), "tokens.id_token is missing"),
        (removed("access_token"), "tokens.access_token is missing"),
        (removed("refresh_token"), "tokens.refresh_token is missing"),
        (
            patched("access_token", json!(null)),
            "tokens.access_token must be a string",
        ),
        (
            patched("refresh_token", json!("short")),
            "tokens.refresh_token is not a usable token: it is 5 characters long",
        ),
        (
            patched("id_token", json!("id-secret\nline")),
            "tokens.id_token is not a usable token: it holds a control character",
        ),
        (
            patched("account_id", json!(7)),
            "tokens.account_id must be a string or null",
        ),
        (
            patched("account_id", json!("acct secret")),
            "tokens.account_id must be at most 256 visible ASCII characters",
        ),
        (
            json!({"last_refresh": 1_700_000_000}),
            "last_refresh must be a string or null",
        ),
        (
            json!({"last_refresh": "yesterday-secret"}),
            "last_refresh must be an RFC 3339 time",
        ),
    ];
    for (doc, expected) in cases {
        let message = parse_err(&doc);
        assert!(message.starts_with(PATH), "{message}");
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
        assert!(!message.contains("secret"), "{message}");
    }
    let not_json = CodexAuth::parse(b"{\"tokens\": eyJ-secret", Path::new(PATH))
        .unwrap_err()
        .to_string();
    assert!(not_json.contains("not JSON"), "{not_json}");
    assert!(!not_json.contains("secret"), "{not_json}");
}

fn refreshed(id: Option<&str>, access: Option<&str>, refresh: Option<&str>) -> RefreshedTokens {
    RefreshedTokens {
        id_token: id.map(Secret::new),
        access_token: access.map(Secret::new),
        refresh_token: refresh.map(Secret::new),
    }
}

#[test]
fn apply_refresh_replaces_only_the_returned_tokens() {
    let mut auth = parse(&chatgpt_doc()).unwrap();
    auth.apply_refresh(
        refreshed(None, Some("new-access-token"), Some("new-refresh-token")),
        1_800_000_000,
    )
    .unwrap();
    let mut expected = chatgpt_doc();
    expected["tokens"]["access_token"] = json!("new-access-token");
    expected["tokens"]["refresh_token"] = json!("new-refresh-token");
    expected["last_refresh"] = json!("2027-01-15T08:00:00Z");
    assert_eq!(auth.to_json(), expected);

    auth.apply_refresh(refreshed(Some("new-id-token"), None, None), 1_800_000_060)
        .unwrap();
    expected["tokens"]["id_token"] = json!("new-id-token");
    expected["last_refresh"] = json!("2027-01-15T08:01:00Z");
    assert_eq!(auth.to_json(), expected);
}

#[test]
fn apply_refresh_without_tokens_fails_and_changes_nothing() {
    let original = json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-abcdefghijklmnop"});
    let mut auth = parse(&original).unwrap();
    let err = auth
        .apply_refresh(
            refreshed(None, Some("new-access-token"), None),
            1_800_000_000,
        )
        .unwrap_err();
    assert!(err.to_string().contains("no ChatGPT tokens"), "{err}");
    assert_eq!(auth.to_json(), original);
}

#[test]
fn a_new_chatgpt_login_document() {
    let tokens = CodexTokens::new(
        Secret::new("id-token-1"),
        Secret::new("access-token-1"),
        Secret::new("refresh-token-1"),
        Some("acct-1".into()),
    );
    let auth = CodexAuth::chatgpt(tokens, 1_800_000_000);
    assert_eq!(
        auth.to_json(),
        json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {"id_token": "id-token-1", "access_token": "access-token-1", "refresh_token": "refresh-token-1", "account_id": "acct-1"},
            "last_refresh": "2027-01-15T08:00:00Z"
        })
    );
}

#[cfg(unix)]
mod on_disk {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn write(path: &Path, bytes: &[u8], mode: u32) {
        std::fs::write(path, bytes).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn load_missing_file_is_none_and_save_creates_it_0600() {
        let dir = tempfile::tempdir().unwrap();
        let file = CodexAuthFile::new(dir.path().join("codex").join("auth.json"));
        assert_eq!(file.load().unwrap(), None);
        let auth = CodexAuth::with_api_key(Secret::new("sk-proj-abcdefghijklmnop"));
        file.save(&auth).unwrap();
        assert_eq!(mode_of(file.path()), Some(0o600));
        assert_eq!(file.load().unwrap(), Some(auth));
    }

    #[test]
    fn save_after_load_keeps_unknown_keys_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        write(&path, chatgpt_doc().to_string().as_bytes(), 0o600);
        let file = CodexAuthFile::new(&path);
        let mut auth = file.load().unwrap().unwrap();
        auth.apply_refresh(
            refreshed(None, Some("new-access-token"), None),
            1_800_000_000,
        )
        .unwrap();
        file.save(&auth).unwrap();
        let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk["agent_identity"], chatgpt_doc()["agent_identity"]);
        assert_eq!(on_disk["zz_newer_key"], chatgpt_doc()["zz_newer_key"]);
        assert_eq!(
            on_disk["tokens"]["future_token_field"],
            json!({"kept": true})
        );
        assert_eq!(on_disk["tokens"]["access_token"], json!("new-access-token"));
    }

    #[test]
    fn a_corrupt_file_is_reported_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let corrupt = b"{\"tokens\": {\"access_token\": ";
        write(&path, corrupt, 0o600);
        let file = CodexAuthFile::new(&path);
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("auth.json is not valid"), "{err}");
        let auth = CodexAuth::with_api_key(Secret::new("sk-proj-abcdefghijklmnop"));
        let err = file.save(&auth).unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), corrupt);
    }

    #[test]
    fn a_readable_by_others_file_or_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        write(&path, chatgpt_doc().to_string().as_bytes(), 0o644);
        let err = CodexAuthFile::new(&path).load().unwrap_err();
        assert!(matches!(err, Error::InsecurePermissions { .. }), "{err}");

        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let file = CodexAuthFile::new(&link);
        assert!(matches!(file.load().unwrap_err(), Error::Symlink { .. }));
        let auth = CodexAuth::with_api_key(Secret::new("sk-proj-abcdefghijklmnop"));
        assert!(matches!(
            file.save(&auth).unwrap_err(),
            Error::Symlink { .. }
        ));
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
