//! Permission, owner and symlink refusals, seen through the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod upstream;

use std::os::unix::fs::{chown, symlink, PermissionsExt};
use std::path::Path;

use common::{source, write_file, Sandbox};
use serde_json::json;
use upstream::Upstream;

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

fn symlink_message(path: &std::path::Path) -> String {
    format!(
        "{} is a symlink; refusing to follow it for secret material. Move the real file into place",
        path.display()
    )
}

#[test]
fn login_refuses_a_symlinked_credentials_file_as_reads_do() {
    // Reads refuse the link, so a write through it would "succeed" into a
    // login nothing can use: the write refuses it too, and touches nothing.
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.credentials_path("work");
    let before = std::fs::read_to_string(&path).unwrap();
    let real = sb.root().join("dotfiles/work.json");
    write_file(&real, &before, 0o600);
    std::fs::remove_file(&path).unwrap();
    symlink(&real, &path).unwrap();
    let second = "sk-ant-oat01-SafetySecondCCCCCCCCCCCCCCCCCCCCC3333";
    let run = sb.run_stdin(
        &["login", "--with-token", "--profile", "work"],
        &format!("{second}\n"),
    );
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [format!("error: {}", symlink_message(&path))]
    );
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("work.json")]);
}

#[test]
fn login_refuses_a_symlinked_api_key_file_as_reads_do() {
    let sb = Sandbox::new();
    sb.login(Some("keys"), KEY);
    let path = sb.key_file_path("keys");
    let before = std::fs::read_to_string(&path).unwrap();
    let real = sb.root().join("dotfiles/keys.json");
    write_file(&real, &before, 0o600);
    std::fs::remove_file(&path).unwrap();
    symlink(&real, &path).unwrap();
    let run = sb.run_stdin(
        &["login", "--with-token", "--profile", "keys"],
        "sk-ant-api03-SafetyOtherKeyDDDDDDDDDDDDDDDDDD4444\n",
    );
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines(),
        [format!("error: {}", symlink_message(&path))]
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), before);
}

#[test]
fn a_dotfiles_linked_config_file_is_still_followed() {
    // Files whose reads follow symlinks keep the link on write (README).
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let config = sb.config_path("work");
    let real = sb.root().join("dotfiles/configs-work.json");
    write_file(&real, &std::fs::read_to_string(&config).unwrap(), 0o644);
    std::fs::remove_file(&config).unwrap();
    symlink(&real, &config).unwrap();
    let token = sb.run(&["token", "--profile", "work"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{TOKEN}\n"));
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

// ---------------------------------------------------------------------------
// Settings and config files another user controls (they decide where the
// token is sent): refused like credentials, and nothing is sent.

/// The uid of `nobody`, owner of the planted files.
const OTHER_UID: u32 = 65534;

/// Whether this process may chown files to another user (root). Without it
/// the test is skipped, or fails when `CI` is set.
fn can_chown(sb: &Sandbox, test: &str) -> bool {
    let probe = sb.root().join("chown-probe");
    std::fs::write(&probe, b"").unwrap();
    let ok = chown(&probe, Some(OTHER_UID), None).is_ok();
    std::fs::remove_file(&probe).unwrap();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} needs root (to chown files to uid {OTHER_UID})"
        );
        println!("skipped {test}: needs root to chown files to another user");
    }
    ok
}

fn foreign_owner_message(path: &Path) -> String {
    let p = path.display();
    format!(
        "{p} is owned by another user (uid {OTHER_UID}; you are uid 0); refusing to use it. If it is yours, run `chown 0 {p}`; otherwise remove it"
    )
}

fn writable_message(path: &Path, mode: &str) -> String {
    let p = path.display();
    format!("{p} is writable by group or others (mode {mode}); run `chmod go-w {p}`")
}

/// A static OAuth profile `work` whose config sends requests to `url`.
fn profile_with_base_url(sb: &Sandbox, url: &str) {
    sb.write_profile(
        "work",
        &json!({"version": "1.0", "authentication": {"type": "user_oauth"}, "base_url": url}),
        &json!({"version": "1.0", "type": "oauth_token", "access_token": TOKEN}),
    );
}

#[test]
fn a_config_file_another_user_owns_or_can_write_is_refused_and_nothing_is_sent() {
    let mut sb = Sandbox::new();
    if !can_chown(&sb, "config_file_owned_by_another_user") {
        return;
    }
    let upstream = Upstream::start();
    profile_with_base_url(&sb, &upstream.url);
    sb.set("ANTHROPIC_PROFILE", "work");
    let config = sb.config_path("work");

    // Owned by another user: refused, with the fix.
    chown(&config, Some(OTHER_UID), None).unwrap();
    let run = sb.run(&["chat", "hi"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [format!(
            "error: anthropic-profile: {}",
            foreign_owner_message(&config)
        )]
    );
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert_eq!(
        token.stderr_lines(),
        [format!(
            "error: anthropic-profile: {}",
            foreign_owner_message(&config)
        )]
    );

    // Ours but writable by everyone: refused too.
    chown(&config, Some(0), None).unwrap();
    chmod(&config, 0o666);
    let run = sb.run(&["chat", "hi"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines(),
        [format!(
            "error: anthropic-profile: {}",
            writable_message(&config, "0666")
        )]
    );
    assert_eq!(upstream.requests().len(), 0, "no request reached base_url");

    // Fixed as the message says: the same file now sends the request there.
    chmod(&config, 0o644);
    let run = sb.run(&["chat", "hi"]);
    run.assert_code(0);
    assert_eq!(upstream.credentials(), [Some(TOKEN.to_owned())]);
}

#[test]
fn a_profile_in_a_world_writable_directory_is_refused_and_nothing_is_sent() {
    let mut sb = Sandbox::new();
    let upstream = Upstream::start();
    let shared = sb.root().join("shared");
    sb.set("ANTHROPIC_CONFIG_DIR", shared.display().to_string());
    profile_with_base_url(&sb, &upstream.url);
    sb.set("ANTHROPIC_PROFILE", "work");
    chmod(&shared, 0o777);
    let config = sb.config_path("work");
    let run = sb.run(&["chat", "hi"]);
    run.assert_code(1);
    let expected = format!(
        "{} is in {}, which everyone can write (mode 0777, no sticky bit), so anyone could replace it; refusing to use it. Run `chmod o-w {}` or move the file",
        config.display(),
        shared.display(),
        shared.display()
    );
    assert_eq!(
        run.stderr_lines(),
        [format!("error: anthropic-profile: {expected}")]
    );
    assert_eq!(upstream.requests().len(), 0, "no request reached base_url");

    // The sticky bit (as on /tmp) keeps others from replacing the files.
    chmod(&shared, 0o1777);
    sb.run(&["chat", "hi"]).assert_code(0);
    assert_eq!(upstream.credentials(), [Some(TOKEN.to_owned())]);
}

#[test]
fn settings_and_active_config_another_user_owns_are_refused() {
    let sb = Sandbox::new();
    if !can_chown(&sb, "settings_owned_by_another_user") {
        return;
    }
    sb.login(Some("work"), TOKEN);
    let settings = sb.own_dir().join("config.toml");
    write_file(&settings, "storage = \"file\"\n", 0o644);
    chown(&settings, Some(OTHER_UID), None).unwrap();
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert!(
        token.stderr.contains(&foreign_owner_message(&settings)),
        "{token}"
    );
    chown(&settings, Some(0), None).unwrap();
    chmod(&settings, 0o664);
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert!(
        token.stderr.contains(&writable_message(&settings, "0664")),
        "{token}"
    );
    chmod(&settings, 0o644);
    sb.run(&["token"]).assert_code(0);

    let active = sb.active_config_path();
    chown(&active, Some(OTHER_UID), None).unwrap();
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert!(
        token.stderr.contains(&foreign_owner_message(&active)),
        "{token}"
    );
}
