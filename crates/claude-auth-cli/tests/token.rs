//! `claude-auth token`: exactly the secret on stdout, exit 4 when nothing is
//! usable, and every non-spec source resolving through it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{now, write_file, Sandbox};

const API_KEY: &str = "sk-ant-api03-TokenApiKeyAAAAAAAAAAAAAAAAAA1111";
const OAUTH: &str = "sk-ant-oat01-TokenOauthBBBBBBBBBBBBBBBBBBBB2222";

#[test]
fn token_prints_exactly_the_secret_and_a_newline() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{API_KEY}\n"));
    assert_eq!(run.stderr, "");
}

#[test]
fn token_n_prints_no_trailing_newline() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let run = sb.run(&["token", "-n"]);
    run.assert_code(0);
    assert_eq!(run.stdout, API_KEY);
    assert_eq!(run.stderr, "");
}

#[test]
fn token_exits_4_with_nothing_usable() {
    let sb = Sandbox::new();
    let run = sb.run(&["token"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [
            "error: no credential found; run `claude-auth login`, set ANTHROPIC_API_KEY, or see `claude-auth status`",
            "hint: run `claude-auth status` to see every source",
        ]
    );
}

#[test]
fn token_exits_4_for_an_expired_credential() {
    let sb = Sandbox::new();
    sb.write_static_profile("default", OAUTH, Some(now() - 60));
    let run = sb.run(&["token"]);
    run.assert_code(4);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [
            "error: the OAuth token from active profile has expired",
            "hint: log in again: claude-auth login",
        ]
    );
}

#[test]
fn claude_code_oauth_token_env_resolves() {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_CODE_OAUTH_TOKEN", OAUTH);
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "claude-code-oauth-token");
    assert_eq!(status["credential"]["type"], "oauthToken");
}

#[test]
fn claude_access_token_env_resolves() {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_ACCESS_TOKEN", OAUTH);
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "seed-env");
}

#[test]
fn claude_refresh_token_without_access_token_is_an_error() {
    let mut sb = Sandbox::new();
    sb.set(
        "CLAUDE_REFRESH_TOKEN",
        "sk-ant-ort01-TokenLoneRefreshCCCCCCCCCCCCC3333",
    );
    let run = sb.run(&["token"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines()[0],
        "error: seed-env: CLAUDE_REFRESH_TOKEN: is set but CLAUDE_ACCESS_TOKEN is not; set both, or log in with `claude-auth login`"
    );
}

#[test]
fn claude_auth_file_resolves_with_token_expiry_in_seconds() {
    let mut sb = Sandbox::new();
    let file = sb.root().join("elsewhere/auth.json");
    let expiry = now() + 5000;
    sb.write_seed(&file, OAUTH, expiry);
    sb.set("CLAUDE_AUTH_FILE", file.display().to_string());
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "seed-file");
    assert_eq!(status["credential"]["expiresAt"], expiry);
    assert_eq!(status["credential"]["location"], file.display().to_string());
}

#[test]
fn claude_auth_file_that_does_not_exist_is_an_error() {
    let mut sb = Sandbox::new();
    let file = sb.root().join("missing/auth.json");
    sb.set("CLAUDE_AUTH_FILE", file.display().to_string());
    let run = sb.run(&["token"]);
    run.assert_code(1);
    assert!(
        run.stderr_lines()[0].starts_with(&format!(
            "error: seed-file: {} is not valid",
            file.display()
        )),
        "{run}"
    );
}

#[test]
fn seed_auth_json_in_its_default_place_resolves() {
    let sb = Sandbox::new();
    sb.write_seed(&sb.seed_path(), OAUTH, now() + 5000);
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
}

#[test]
fn claude_code_credentials_file_resolves_with_expires_at_in_milliseconds() {
    let sb = Sandbox::new();
    let expires_secs = now() + 7200;
    sb.write_claude_code(OAUTH, expires_secs * 1000, 0o600);
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "claude-code");
    assert_eq!(status["credential"]["expiresAt"], expires_secs);
    assert_eq!(status["credential"]["subscription"], "max");
    assert_eq!(
        status["credential"]["scopes"],
        serde_json::json!(["user:inference", "user:profile"])
    );
}

#[test]
fn claude_config_dir_moves_claude_codes_file() {
    let mut sb = Sandbox::new();
    let dir = sb.root().join("cc");
    sb.set("CLAUDE_CONFIG_DIR", dir.display().to_string());
    sb.write_claude_code(OAUTH, (now() + 7200) * 1000, 0o600);
    assert!(dir.join(".credentials.json").is_file());
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
}

#[test]
fn external_command_resolves() {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_AUTH_EXTERNAL_COMMAND", format!("printf {API_KEY}"));
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{API_KEY}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "external-command");
    assert_eq!(status["credential"]["type"], "apiKey");
    assert_eq!(
        status["credential"]["location"],
        format!("command `printf {API_KEY}`")
    );
}

#[test]
fn external_command_json_output_resolves_with_expiry() {
    let mut sb = Sandbox::new();
    let expires = now() + 900;
    sb.set(
        "CLAUDE_AUTH_EXTERNAL_COMMAND",
        format!("printf '{{\"access_token\":\"{OAUTH}\",\"expires_at\":{expires}}}'"),
    );
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["credential"]["expiresAt"], expires);
}

#[test]
fn failing_external_command_surfaces_its_error() {
    let mut sb = Sandbox::new();
    sb.write_claude_code(OAUTH, (now() + 7200) * 1000, 0o600);
    sb.set("CLAUDE_AUTH_EXTERNAL_COMMAND", "echo oops >&2; exit 3");
    let run = sb.run(&["token"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        ["error: external-command: external credential command `echo oops >&2; exit 3`: exited with exit status: 3 (5 bytes on stderr, not shown since they may hold secrets)"]
    );
    let (status_run, status) = sb.status_json();
    status_run.assert_code(1);
    assert_eq!(status.get("winner"), None);
    assert_eq!(
        common::source(&status, "external-command")["status"],
        "error"
    );
}

#[test]
fn external_command_printing_nothing_is_an_error() {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_AUTH_EXTERNAL_COMMAND", "true");
    let run = sb.run(&["token"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines(),
        ["error: external-command: external credential command `true`: printed nothing; it must print a token or a JSON object"]
    );
}

#[test]
fn token_reads_an_api_key_profile_with_profile_flag() {
    let sb = Sandbox::new();
    sb.login(Some("keys"), API_KEY);
    let run = sb.run(&["token", "--profile", "keys"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{API_KEY}\n"));
}

#[test]
fn token_reads_a_seed_file_with_a_float_expiry() {
    // The seed library is Python: `time.time() + expires_in` is a float.
    let sb = Sandbox::new();
    let expiry = now() + 3000;
    write_file(
        &sb.seed_path(),
        &format!("{{\"access_token\": \"{OAUTH}\", \"token_expiry\": {expiry}.75}}"),
        0o600,
    );
    let run = sb.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{OAUTH}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["credential"]["expiresAt"], expiry);
}
