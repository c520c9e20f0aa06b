//! Permission and symlink refusals, seen through the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};

use common::{source, write_file, Sandbox};

const TOKEN: &str = "sk-ant-oat01-SafetyTokenAAAAAAAAAAAAAAAAAAAA1111";
const KEY: &str = "sk-ant-api03-SafetyKeyBBBBBBBBBBBBBBBBBBBBBB2222";

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chmod_message(path: &std::path::Path, mode: &str) -> String {
    let p = path.display();
    format!("{p} is accessible by group or others (mode {mode}); run `chmod 600 {p}`")
}

#[test]
fn credentials_file_mode_0644_is_refused_with_the_exact_chmod_command() {
    let mut sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.credentials_path("work");
    chmod(&path, 0o644);
    sb.set("ANTHROPIC_PROFILE", "work");
    let expected = chmod_message(&path, "0644");

    let (run, status) = sb.status_json();
    run.assert_code(1);
    let line = source(&status, "anthropic-profile");
    assert_eq!(line["status"], "error");
    assert_eq!(line["reason"], expected.as_str());
    assert_eq!(
        status["error"],
        format!("anthropic-profile: {expected}").as_str()
    );
    assert!(common::warning_codes(&status).contains(&"unsafe-permissions".to_owned()));

    let human = sb.run(&["status"]);
    human.assert_code(1);
    assert!(
        human
            .stdout_lines()
            .contains(&format!("  anthropic-profile: {expected}").as_str()),
        "{human}"
    );

    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert_eq!(token.stdout, "");
    assert_eq!(
        token.stderr_lines(),
        [format!("error: anthropic-profile: {expected}")]
    );
}

#[test]
fn credentials_file_mode_0640_is_refused_too() {
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.credentials_path("work");
    chmod(&path, 0o640);
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert_eq!(
        token.stderr_lines(),
        [format!(
            "error: active-profile: {}",
            chmod_message(&path, "0640")
        )]
    );
}

#[test]
fn symlinked_credentials_file_is_refused() {
    let mut sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.credentials_path("work");
    let real = sb.root().join("real-credentials.json");
    std::fs::rename(&path, &real).unwrap();
    symlink(&real, &path).unwrap();
    sb.set("ANTHROPIC_PROFILE", "work");
    let expected = format!(
        "{} is a symlink; refusing to follow it for secret material. Move the real file into place",
        path.display()
    );

    let (run, status) = sb.status_json();
    run.assert_code(1);
    assert_eq!(
        source(&status, "anthropic-profile")["reason"],
        expected.as_str()
    );

    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert_eq!(token.stdout, "");
    assert_eq!(
        token.stderr_lines(),
        [format!("error: anthropic-profile: {expected}")]
    );
}

#[test]
fn api_key_file_mode_0644_is_refused() {
    let sb = Sandbox::new();
    sb.login(Some("keys"), KEY);
    let path = sb.key_file_path("keys");
    chmod(&path, 0o644);
    let token = sb.run(&["token", "--profile", "keys"]);
    token.assert_code(1);
    assert_eq!(
        token.stderr_lines(),
        [format!("error: explicit: {}", chmod_message(&path, "0644"))]
    );
}

#[test]
fn group_writable_config_file_is_refused() {
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let config = sb.config_path("work");
    chmod(&config, 0o664);
    let token = sb.run(&["token"]);
    token.assert_code(1);
    let p = config.display();
    assert_eq!(
        token.stderr_lines(),
        [format!(
            "error: active-profile: {p} is writable by group or others (mode 0664); run `chmod go-w {p}`"
        )]
    );
}

#[test]
fn login_writes_through_a_symlinked_credentials_file_to_its_target() {
    // Dotfile managers link files into place; a rewrite must keep the link.
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.credentials_path("work");
    let real = sb.root().join("dotfiles/work.json");
    write_file(&real, &std::fs::read_to_string(&path).unwrap(), 0o600);
    std::fs::remove_file(&path).unwrap();
    symlink(&real, &path).unwrap();
    let second = "sk-ant-oat01-SafetySecondCCCCCCCCCCCCCCCCCCCCC3333";
    sb.login(Some("work"), second);
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    assert_eq!(doc["access_token"], second);
}

#[test]
fn claude_code_file_0644_is_read_but_warned_about() {
    let sb = Sandbox::new();
    sb.write_claude_code(TOKEN, (common::now() + 3600) * 1000, 0o644);
    let human = sb.run(&["status"]);
    human.assert_code(0);
    let path = sb.claude_code_path();
    let lines = human.stdout_lines();
    let at = lines
        .iter()
        .position(|l| *l == "Warnings:")
        .expect("a Warnings: block");
    assert_eq!(
        lines[at + 1],
        format!("  ! {}", chmod_message(&path, "0644"))
    );
}
