//! `claude-auth logout`: credentials only; `--all` as `ant auth logout
//! --all` (never the directory, never foreign files); idempotent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{write_file, Sandbox};

const WORK: &str = "sk-ant-oat01-LogoutWorkAAAAAAAAAAAAAAAAAAAAA1111";
const HOME_TOKEN: &str = "sk-ant-oat01-LogoutHomeBBBBBBBBBBBBBBBBBBBBB2222";
const API_KEY: &str = "sk-ant-api03-LogoutKeyCCCCCCCCCCCCCCCCCCCCCC3333";

#[test]
fn logout_removes_only_the_credentials_file() {
    let sb = Sandbox::new();
    sb.login(Some("work"), WORK);
    let run = sb.run(&["logout", "--profile", "work"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [
            "✓ Logged out of profile work".to_owned(),
            format!("  removed {}", sb.credentials_path("work").display()),
        ]
    );
    assert!(!sb.credentials_path("work").exists());
    assert!(sb.config_path("work").is_file());
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "work"
    );
}

#[test]
fn logout_of_the_active_profile_without_naming_it() {
    let sb = Sandbox::new();
    sb.login(Some("work"), WORK);
    sb.login(Some("home"), HOME_TOKEN);
    sb.run(&["logout"]).assert_code(0);
    assert!(!sb.credentials_path("home").exists());
    assert!(sb.credentials_path("work").is_file());
}

#[test]
fn logout_removes_an_api_key_profiles_key_file() {
    let sb = Sandbox::new();
    sb.login(Some("keys"), API_KEY);
    assert!(sb.key_file_path("keys").is_file());
    sb.run(&["logout", "--profile", "keys"]).assert_code(0);
    assert!(!sb.key_file_path("keys").exists());
}

#[test]
fn logout_all_removes_profiles_and_active_config_but_keeps_the_dir_and_foreign_files() {
    let sb = Sandbox::new();
    sb.login(Some("work"), WORK);
    sb.login(Some("home"), HOME_TOKEN);
    sb.login(Some("keys"), API_KEY);
    let dir = sb.anthropic_dir();
    write_file(&dir.join("notes.txt"), "mine", 0o644);
    write_file(&dir.join("configs/README"), "mine too", 0o644);

    let run = sb.run(&["logout", "--all"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr_lines()[0], "✓ Logged out of every profile");

    assert!(dir.is_dir());
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("configs/README")).unwrap(),
        "mine too"
    );
    for p in ["work", "home"] {
        assert!(!sb.config_path(p).exists(), "{p}");
        assert!(!sb.credentials_path(p).exists(), "{p}");
    }
    assert!(!sb.key_file_path("keys").exists());
    assert!(!sb.active_config_path().exists());
    assert!(
        !dir.join("credentials").exists(),
        "empty credentials/ is removed"
    );
    sb.run(&["token"]).assert_code(4);
}

#[test]
fn logout_all_removes_claude_auths_own_active_pointer() {
    let sb = Sandbox::new();
    sb.login(Some("keys"), API_KEY);
    sb.run(&["profile", "use", "keys"]).assert_code(0);
    let pointer = sb.own_dir().join("active_profile");
    assert!(pointer.is_file());
    sb.run(&["logout", "--all"]).assert_code(0);
    assert!(!pointer.exists());
}

#[test]
fn logout_keeps_credentials_it_does_not_own_and_says_so() {
    let sb = Sandbox::new();
    sb.write_claude_code(WORK, (common::now() + 3600) * 1000, 0o600);
    let before = std::fs::read(sb.claude_code_path()).unwrap();
    let run = sb.run(&["logout", "--all"]);
    run.assert_code(0);
    assert_eq!(std::fs::read(sb.claude_code_path()).unwrap(), before);
    assert_eq!(
        run.stderr_lines(),
        [
            "✓ Nothing to remove",
            "  still available: Claude Code login (not managed by `logout`)"
        ]
    );
}

#[test]
fn logout_is_idempotent() {
    let sb = Sandbox::new();
    sb.login(Some("work"), WORK);
    sb.run(&["logout", "--profile", "work"]).assert_code(0);
    let again = sb.run(&["logout", "--profile", "work"]);
    again.assert_code(0);
    assert_eq!(
        again.stderr_lines(),
        ["✓ Not logged in to profile work: nothing to remove"]
    );
}

#[test]
fn logout_all_is_idempotent() {
    let sb = Sandbox::new();
    sb.login(Some("work"), WORK);
    sb.run(&["logout", "--all"]).assert_code(0);
    let again = sb.run(&["logout", "--all"]);
    again.assert_code(0);
    assert_eq!(again.stderr_lines(), ["✓ Nothing to remove"]);
    assert!(sb.anthropic_dir().is_dir());
}

#[test]
fn logout_on_a_fresh_machine_exits_0() {
    let sb = Sandbox::new();
    let run = sb.run(&["logout"]);
    run.assert_code(0);
    assert_eq!(
        run.stderr_lines(),
        ["✓ Not logged in to profile default: nothing to remove"]
    );
}
