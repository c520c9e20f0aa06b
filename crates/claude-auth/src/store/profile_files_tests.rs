//! Unit tests of the spec profile files (Unix: they check file modes).

use super::*;
use crate::credential::{Identity, Provider};
use crate::secure_file::mode_of;

fn set(refresh: bool) -> TokenSet {
    TokenSet {
        access_token: Secret::new("sk-ant-oat01-aaaaaaaaaaaaaaaa"),
        refresh_token: refresh.then(|| Secret::new("sk-ant-ort01-rrrrrrrrrrrrrrrr")),
        expires_at: Some(1_775_000_000),
        scopes: vec!["user:inference".into()],
        identity: Identity {
            organization_uuid: Some("org-1".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: refresh.then(|| "client-1".to_owned()),
        id_token: None,
    }
}

#[test]
fn save_writes_both_files_in_spec_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(tmp.path());
    files.save("work", &Credential::OAuth(set(true))).unwrap();
    let config: Value =
        serde_json::from_slice(&fs::read(files.config_path("work")).unwrap()).unwrap();
    assert_eq!(config["authentication"]["type"], "user_oauth");
    assert_eq!(config["authentication"]["client_id"], "client-1");
    assert_eq!(config["organization_id"], "org-1");
    let creds_text = fs::read_to_string(files.default_credentials_path("work")).unwrap();
    assert!(!creds_text.ends_with('\n'));
    assert!(creds_text.contains("\n  \"type\": \"oauth_token\""));
    let creds: Value = serde_json::from_str(&creds_text).unwrap();
    assert_eq!(creds["expires_at"], 1_775_000_000);
    assert_eq!(
        mode_of(&files.default_credentials_path("work")),
        Some(0o600)
    );
    assert_eq!(mode_of(&tmp.path().join("credentials")), Some(0o700));
    assert_eq!(mode_of(&files.config_path("work")), Some(0o644));
    assert_eq!(
        files.load("work").unwrap(),
        Some(Credential::OAuth(set(true)))
    );
}

#[test]
fn rewrite_keeps_unknown_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(tmp.path());
    files.save("p", &Credential::OAuth(set(false))).unwrap();
    let path = files.default_credentials_path("p");
    let mut v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    v["x_custom"] = "kept".into();
    write_atomic(&path, &to_json_bytes(&v), 0o600).unwrap();
    files.save("p", &Credential::OAuth(set(false))).unwrap();
    let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["x_custom"], "kept");
}

#[test]
fn unparsable_credentials_are_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(tmp.path());
    let path = files.default_credentials_path("p");
    write_atomic(&path, b"not json", 0o600).unwrap();
    assert!(files.save("p", &Credential::OAuth(set(false))).is_err());
    assert_eq!(fs::read(&path).unwrap(), b"not json");
}

#[test]
fn refreshable_config_requires_refresh_token() {
    let tmp = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(tmp.path());
    files.save("p", &Credential::OAuth(set(true))).unwrap();
    let err = files.save("p", &Credential::OAuth(set(false))).unwrap_err();
    assert!(err.to_string().contains("has a client_id"), "{err}");
}

#[test]
fn unknown_auth_type_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(tmp.path());
    let path = files.config_path("p");
    write_atomic(&path, br#"{"authentication":{"type":"magic"}}"#, 0o644).unwrap();
    let err = files.load("p").unwrap_err().to_string();
    assert!(
        err.contains("configs/p.json") && err.contains("authentication.type"),
        "{err}"
    );
    assert!(!err.contains("magic"), "values are never quoted: {err}");
}

#[test]
fn active_config_is_trimmed_and_validated() {
    let tmp = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(tmp.path());
    assert_eq!(files.active_profile().unwrap(), None);
    fs::write(files.active_config_path(), "  work\n").unwrap();
    assert_eq!(files.active_profile().unwrap().as_deref(), Some("work"));
    fs::write(files.active_config_path(), "../etc").unwrap();
    assert!(files.active_profile().is_err());
}

#[test]
fn delete_all_keeps_the_directory_and_foreign_files() {
    let tmp = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(tmp.path());
    files.save("a", &Credential::OAuth(set(false))).unwrap();
    files.set_active_profile("a").unwrap();
    fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let removed = files.delete_all().unwrap();
    assert_eq!(removed.len(), 3);
    assert!(tmp.path().join("notes.txt").exists());
    assert!(files.list().unwrap().is_empty());
}
