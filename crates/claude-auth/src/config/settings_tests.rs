#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn openai_external_command_is_its_own_table() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(
        &path,
        "[openai]\nissuer = \"http://127.0.0.1:9\"\n[openai.external_command]\ncommand = \"op read x\"\ntimeout_secs = 3\n",
    )
    .unwrap();
    let s = Settings::from_file(&path).unwrap();
    let cmd = s.openai_external_command.unwrap();
    assert_eq!(
        (cmd.command.as_str(), cmd.timeout_secs, cmd.cache_secs),
        ("op read x", 3, 300)
    );
    assert_eq!(s.external_command, None);
    std::fs::write(
        &path,
        "[openai.external_command]\ncommand = \"x\"\ntimeout = 3\n",
    )
    .unwrap();
    let err = Settings::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("unknown field `timeout`"), "{err}");
}

#[test]
fn file_and_env_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(
        &path,
        "sources = [\"claude-code\", \"seed-file\"]\nstorage = \"keyring\"\n[profiles.work]\nstorage = \"encrypted-file\"\n[external_command]\ncommand = \"echo hi\"\n",
    )
    .unwrap();
    let env = Env::empty().with("CLAUDE_AUTH_SETTINGS", path.display().to_string());
    let s = Settings::load(&env).unwrap();
    assert_eq!(s.extra_order, [SourceId::ClaudeCode, SourceId::SeedFile]);
    assert_eq!(s.storage_for("work"), StorageKind::EncryptedFile);
    assert_eq!(s.storage_for("other"), StorageKind::Keyring);
    assert_eq!(s.external_command.as_ref().unwrap().timeout_secs, 10);
    assert_eq!(s.openai_external_command, None);
    let env = env
        .with("CLAUDE_AUTH_SOURCES", "seed-env")
        .with("CLAUDE_AUTH_STORAGE", "file");
    let s = Settings::load(&env).unwrap();
    assert_eq!(s.extra_order, [SourceId::SeedEnv]);
    assert_eq!(s.storage_for("other"), StorageKind::File);
}

#[test]
fn openai_issuer_from_file_and_env_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, "[openai]\nissuer = \"http://127.0.0.1:8080/\"\n").unwrap();
    let env = Env::empty().with("CLAUDE_AUTH_SETTINGS", path.display().to_string());
    let s = Settings::load(&env).unwrap();
    assert_eq!(s.openai_issuer.as_deref(), Some("http://127.0.0.1:8080"));
    let s = Settings::load(
        &env.clone()
            .with("CLAUDE_AUTH_OPENAI_ISSUER", "https://a.example"),
    )
    .unwrap();
    assert_eq!(s.openai_issuer.as_deref(), Some("https://a.example"));
    let err =
        Settings::load(&env.with("CLAUDE_AUTH_OPENAI_ISSUER", "http://evil.example")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CLAUDE_AUTH_OPENAI_ISSUER: must be https"),
        "{err}"
    );
}

#[test]
fn chatgpt_base_url_from_file_and_env_is_checked_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    let write = |url: &str| {
        std::fs::write(&path, format!("[openai]\nchatgpt_base_url = \"{url}\"\n")).unwrap();
    };
    write("http://127.0.0.1:8080/backend-api/codex/");
    let env = Env::empty().with("CLAUDE_AUTH_SETTINGS", path.display().to_string());
    let s = Settings::load(&env).unwrap();
    assert_eq!(
        s.chatgpt_base_url.as_deref(),
        Some("http://127.0.0.1:8080/backend-api/codex")
    );
    let s = Settings::load(
        &env.clone()
            .with("CLAUDE_AUTH_CHATGPT_BASE_URL", "https://gw.example/c"),
    )
    .unwrap();
    assert_eq!(s.chatgpt_base_url.as_deref(), Some("https://gw.example/c"));
    let err = Settings::load(
        &env.clone()
            .with("CLAUDE_AUTH_CHATGPT_BASE_URL", "http://gw.example"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("CLAUDE_AUTH_CHATGPT_BASE_URL: must be https (http only on loopback); use https://chatgpt.com/backend-api/codex"),
        "{err}"
    );
    write("https://gw.example/c?x=1");
    let err = Settings::load(&env).unwrap_err().to_string();
    assert!(
        err.contains("config.toml (openai.chatgpt_base_url): must have no query"),
        "{err}"
    );
}

#[test]
fn unknown_source_id_names_the_setting() {
    let env = Env::empty().with("CLAUDE_AUTH_SOURCES", "claude-code,nonsense");
    let err = Settings::load(&env).unwrap_err().to_string();
    assert!(err.starts_with("CLAUDE_AUTH_SOURCES:"), "{err}");
    assert!(err.contains("nonsense"), "{err}");
}

#[test]
fn unknown_keys_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, "storrage = \"file\"\n").unwrap();
    let err = Settings::from_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("config.toml") && err.contains("storrage"),
        "{err}"
    );
}

#[test]
fn profile_budgets_are_checked_at_load() {
    use crate::budgets::{Budget, WindowRef};
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(
        &path,
        "[profiles.work]\nbudget = \"50%5h\"\n[profiles.ci]\nbudget = \"500k/5h\"\n",
    )
    .unwrap();
    let s = Settings::from_file(&path).unwrap();
    assert_eq!(
        s.profile_budget("work"),
        Some(Budget::Share {
            percent: 50.0,
            window: WindowRef::FiveHours
        })
    );
    assert_eq!(
        s.profile_budget("ci"),
        Some(Budget::Tokens {
            tokens: 500_000,
            per: Some(18_000)
        })
    );
    assert_eq!(s.profile_budget("other"), None);
    for (text, why) in [
        ("500k", "budget 500000 has no period"),
        ("50%1h", "the window must be 5h or 7d"),
        ("lots", "is not a number of tokens"),
    ] {
        std::fs::write(&path, format!("[profiles.work]\nbudget = \"{text}\"\n")).unwrap();
        let err = Settings::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("(profiles.work.budget)"), "{err}");
        assert!(err.contains(why), "{text}: {err}");
    }
}
