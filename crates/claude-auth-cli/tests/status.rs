//! `claude-auth status`: exit codes, the `--json` report, warnings, and the
//! precedence of every tier of the chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    found_sources, masked, now, source, warning_codes, write_file, Sandbox, SOURCE_IDS,
    SOURCE_LABELS,
};
use serde_json::{json, Value};

const API_KEY: &str = "sk-ant-api03-StatusApiKeyAAAAAAAAAAAAAAAA1111";
const AUTH_TOKEN: &str = "gateway-token-StatusBearerBBBBBBBBBB2222";
const PROFILE_TOKEN: &str = "sk-ant-oat01-StatusProfileCCCCCCCCCCCCCC3333";
const CC_TOKEN: &str = "sk-ant-oat01-StatusClaudeCodeDDDDDDDDDDD4444";

/// The lines of the human "Sources" block, without the heading.
fn source_block(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| *l != "Sources, in precedence order:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A source line: `  <mark> <label padded to 42> <detail>`.
fn source_line(mark: &str, label: &str, detail: &str) -> String {
    format!("  {mark} {label:<42} {detail}")
}

#[test]
fn status_exits_1_with_no_credential() {
    let sb = Sandbox::new();
    let run = sb.run(&["status"]);
    run.assert_code(1);
    assert_eq!(run.stderr, "");
    let home = sb.home().display().to_string();
    let lines = run.stdout_lines();
    assert_eq!(
        lines[..7],
        [
            "Active profile: default (default)".to_owned(),
            format!("Config dir:     {home}/.config/anthropic (default)"),
            String::new(),
            "✗ No usable credential".to_owned(),
            "  no credential found; run `claude-auth login`, set ANTHROPIC_API_KEY, or see `claude-auth status`".to_owned(),
            "  → log in with `claude-auth login`, or set ANTHROPIC_API_KEY".to_owned(),
            String::new(),
        ]
    );
}

#[test]
fn status_json_exits_1_with_no_credential_and_ok_false() {
    let sb = Sandbox::new();
    let (run, status) = sb.status_json();
    run.assert_code(1);
    assert_eq!(status["ok"], false);
    assert_eq!(status.get("winner"), None);
    assert_eq!(status.get("credential"), None);
    assert_eq!(status["warnings"], json!([]));
}

#[test]
fn status_exits_0_with_a_credential() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    sb.run(&["status"]).assert_code(0);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["ok"], true);
    assert_eq!(status["winner"], "anthropic-api-key");
    assert_eq!(status["credential"]["type"], "apiKey");
    assert_eq!(status["credential"]["masked"], masked(API_KEY));
}

#[test]
fn human_status_lists_every_source_in_precedence_order() {
    let sb = Sandbox::new();
    let run = sb.run(&["status"]);
    let home = sb.home().display();
    let reasons = [
        "none given".to_owned(),
        "not set".to_owned(),
        "not set".to_owned(),
        "not set".to_owned(),
        "ANTHROPIC_FEDERATION_RULE_ID not set".to_owned(),
        format!(
            "no profile \"default\" ({home}/.config/anthropic/configs/default.json does not exist)"
        ),
        "not set".to_owned(),
        "not set".to_owned(),
        "not configured (external_command in settings, or CLAUDE_AUTH_EXTERNAL_COMMAND)".to_owned(),
        format!("no login in {home}/.claude/.credentials.json"),
        format!("no {home}/.config/claude/auth.json"),
    ];
    let expected: Vec<String> = SOURCE_LABELS
        .iter()
        .zip(&reasons)
        .map(|(label, reason)| source_line("·", label, reason))
        .collect();
    assert_eq!(source_block(&run.stdout), expected, "{run}");
}

#[test]
fn human_status_marks_the_winner_and_shadowed_sources_in_order() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o600);
    let run = sb.run(&["status"]);
    run.assert_code(0);
    let block = source_block(&run.stdout);
    let labels: Vec<&str> = block
        .iter()
        .map(|l| {
            let rest: String = l.chars().skip(4).collect();
            SOURCE_LABELS
                .iter()
                .find(|label| rest.starts_with(&format!("{label:<42} ")))
                .copied()
                .unwrap_or_else(|| panic!("unknown source line {l:?}"))
        })
        .collect();
    assert_eq!(labels, SOURCE_LABELS);
    assert_eq!(
        block[1],
        source_line(
            "✓",
            "ANTHROPIC_API_KEY",
            "wins (environment variable ANTHROPIC_API_KEY)"
        )
    );
    assert_eq!(
        block[9],
        source_line(
            "~",
            "Claude Code login",
            &format!("shadowed: OAuth token {}", masked(CC_TOKEN))
        )
    );
}

#[test]
fn status_json_lists_every_source_id_in_order() {
    let sb = Sandbox::new();
    let (_, status) = sb.status_json();
    let ids: Vec<&str> = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, SOURCE_IDS);
}

#[test]
fn status_json_describes_a_refreshable_profile_credential() {
    let mut sb = Sandbox::new();
    let expires_at = now() + 3600;
    sb.write_profile(
        "work",
        &json!({
            "version": "1.0",
            "authentication": {"type": "user_oauth", "client_id": "client-xyz", "scope": "user:inference user:profile"},
        }),
        &json!({
            "version": "1.0",
            "type": "oauth_token",
            "access_token": PROFILE_TOKEN,
            "refresh_token": "sk-ant-ort01-StatusRefreshEEEEEEEEEEEEEE5555",
            "expires_at": expires_at,
            "scope": "user:inference user:profile",
        }),
    );
    sb.set("ANTHROPIC_PROFILE", "work");
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["ok"], true);
    assert_eq!(status["winner"], "anthropic-profile");
    assert_eq!(
        status["activeProfile"],
        json!({"name": "work", "origin": "ANTHROPIC_PROFILE"})
    );
    assert_eq!(
        status["configDir"],
        json!({"path": sb.anthropic_dir().display().to_string(), "origin": "default"})
    );
    let c = &status["credential"];
    assert_eq!(c["type"], "oauthToken");
    assert_eq!(c["masked"], masked(PROFILE_TOKEN));
    assert_eq!(c["expiresAt"], expires_at);
    assert_eq!(
        c["expiresInSecs"].as_i64().unwrap(),
        expires_at as i64 - status["generatedAt"].as_i64().unwrap()
    );
    assert_eq!(c["expired"], false);
    assert_eq!(c["refreshable"], true);
    assert_eq!(c["scopes"], json!(["user:inference", "user:profile"]));
    assert_eq!(c["profile"], "work");
    assert_eq!(
        c["location"],
        sb.credentials_path("work").display().to_string()
    );
    let line = source(&status, "anthropic-profile");
    assert_eq!(line["status"], "found");
    assert_eq!(line["winner"], true);
    assert_eq!(line["shadowed"], false);
    assert_eq!(warning_codes(&status), Vec::<String>::new());
}

#[test]
fn absurd_expiry_saturates_and_is_reported_never_wraps() {
    for expires_at in [u64::MAX, i64::MAX as u64 + 1] {
        let mut sb = Sandbox::new();
        sb.write_static_profile("far", PROFILE_TOKEN, Some(expires_at));
        sb.set("ANTHROPIC_PROFILE", "far");
        let (run, status) = sb.status_json();
        run.assert_code(0);
        let c = &status["credential"];
        assert_eq!(c["expiresAt"], expires_at, "{c}");
        let generated = status["generatedAt"].as_u64().unwrap();
        let expected = i64::try_from(expires_at - generated).unwrap_or(i64::MAX);
        assert_eq!(c["expiresInSecs"], expected, "{c}");
        assert!(expected > i64::MAX / 2);
        assert_eq!(c["expiresAtIso"], "9999-12-31T23:59:59Z", "{c}");
        assert_eq!(c["expired"], false, "{c}");
        assert!(
            c["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().contains("past the year 9999")),
            "{c}"
        );
        let human = sb.run(&["status"]);
        human.assert_code(0);
        assert!(
            human.stdout.contains("9999-12-31T23:59:59Z (in "),
            "{}",
            human.stdout
        );
        assert!(!human.stdout.contains(" ago"), "{}", human.stdout);
        let token = sb.run(&["token"]);
        token.assert_code(0);
        assert_eq!(token.stdout, format!("{PROFILE_TOKEN}\n"));
    }
}

#[test]
fn api_key_env_shadowing_a_profile_warns_env_shadows_profile() {
    let mut sb = Sandbox::new();
    sb.login(Some("default"), PROFILE_TOKEN);
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["winner"], "anthropic-api-key");
    assert_eq!(
        found_sources(&status),
        [
            ("anthropic-api-key".to_owned(), true, false),
            ("active-profile".to_owned(), false, true),
        ]
    );
    assert_eq!(warning_codes(&status), ["env-shadows-profile"]);
    assert_eq!(
        status["warnings"][0]["message"],
        "ANTHROPIC_API_KEY shadows profile \"default\"; unset it to use the profile"
    );
}

#[test]
fn api_key_shadowing_claude_code_login_warns_api_key_shadows_subscription() {
    let mut sb = Sandbox::new();
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o600);
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["winner"], "anthropic-api-key");
    assert_eq!(
        found_sources(&status),
        [
            ("anthropic-api-key".to_owned(), true, false),
            ("claude-code".to_owned(), false, true),
        ]
    );
    assert_eq!(warning_codes(&status), ["api-key-shadows-subscription"]);
    let message = status["warnings"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "ANTHROPIC_API_KEY shadows your Claude subscription login ({})",
            sb.claude_code_path().display()
        )),
        "{message}"
    );
}

#[test]
fn both_api_key_and_auth_token_warn_and_the_api_key_wins() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    sb.set("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["winner"], "anthropic-api-key");
    assert_eq!(
        found_sources(&status),
        [
            ("anthropic-api-key".to_owned(), true, false),
            ("anthropic-auth-token".to_owned(), false, true),
        ]
    );
    assert_eq!(warning_codes(&status), ["both-env-credentials"]);
    let token = sb.run(&["token"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{API_KEY}\n"));
}

#[test]
fn expired_static_token_warns_expired_no_refresh_and_exits_1() {
    let sb = Sandbox::new();
    let expired_at = now() - 7200;
    sb.write_static_profile("default", PROFILE_TOKEN, Some(expired_at));
    let (run, status) = sb.status_json();
    run.assert_code(1);
    assert_eq!(status["ok"], false);
    assert_eq!(status["winner"], "active-profile");
    let c = &status["credential"];
    assert_eq!(c["expired"], true);
    assert_eq!(c["refreshable"], false);
    assert_eq!(c["expiresAt"], expired_at);
    assert_eq!(
        c["expiresInSecs"].as_i64().unwrap(),
        expired_at as i64 - status["generatedAt"].as_i64().unwrap()
    );
    assert_eq!(warning_codes(&status), ["expired-no-refresh"]);
    assert_eq!(
        status["hint"],
        "the credential has expired; log in again with `claude-auth login`"
    );
}

#[test]
fn claude_code_file_mode_0644_warns_unsafe_permissions() {
    let sb = Sandbox::new();
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o644);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["winner"], "claude-code");
    assert_eq!(warning_codes(&status), ["unsafe-permissions"]);
    let path = sb.claude_code_path().display().to_string();
    assert_eq!(
        status["warnings"][0]["message"],
        format!("{path} is accessible by group or others (mode 0644); run `chmod 600 {path}`")
    );
}

#[test]
fn xdg_config_home_differing_from_python_sdk_dir_warns() {
    let mut sb = Sandbox::new();
    let xdg = sb.home().join("xdg");
    sb.set("XDG_CONFIG_HOME", xdg.display().to_string());
    sb.login(Some("work"), PROFILE_TOKEN);
    assert!(xdg.join("anthropic/credentials/work.json").is_file());
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(
        status["configDir"],
        json!({"path": xdg.join("anthropic").display().to_string(), "origin": "XDG_CONFIG_HOME"})
    );
    assert_eq!(warning_codes(&status), ["python-sdk-config-dir"]);
    assert_eq!(
        status["warnings"][0]["message"],
        format!(
            "profiles are in {xdg}/anthropic (XDG_CONFIG_HOME), but the official Python SDK reads {home}/.config/anthropic; set ANTHROPIC_CONFIG_DIR={xdg}/anthropic so every SDK agrees",
            xdg = xdg.display(),
            home = sb.home().display()
        )
    );
}

#[test]
fn anthropic_config_dir_silences_the_python_sdk_dir_warning() {
    let mut sb = Sandbox::new();
    let xdg = sb.home().join("xdg");
    sb.set("XDG_CONFIG_HOME", xdg.display().to_string());
    sb.set(
        "ANTHROPIC_CONFIG_DIR",
        xdg.join("anthropic").display().to_string(),
    );
    sb.login(Some("work"), PROFILE_TOKEN);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["configDir"]["origin"], "ANTHROPIC_CONFIG_DIR");
    assert_eq!(warning_codes(&status), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// Precedence
// ---------------------------------------------------------------------------

#[test]
fn explicit_profile_flag_beats_the_api_key_env() {
    let mut sb = Sandbox::new();
    sb.login(Some("work"), PROFILE_TOKEN);
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let run = sb.run(&["--profile", "work", "status", "--json"]);
    run.assert_code(0);
    let status = run.json();
    assert_eq!(status["winner"], "explicit");
    assert_eq!(
        status["activeProfile"],
        json!({"name": "work", "origin": "--profile"})
    );
    let token = sb.run(&["token", "--profile", "work"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{PROFILE_TOKEN}\n"));
}

#[test]
fn anthropic_profile_beats_active_config() {
    let mut sb = Sandbox::new();
    sb.write_static_profile("a", "sk-ant-oat01-ProfileAaaaaaaaaaaaaaaaaaaAAAA", None);
    sb.write_static_profile("b", "sk-ant-oat01-ProfileBbbbbbbbbbbbbbbbbbbBBBB", None);
    sb.write_active_config("a");
    sb.set("ANTHROPIC_PROFILE", "b");
    let (_, status) = sb.status_json();
    assert_eq!(status["winner"], "anthropic-profile");
    assert_eq!(
        status["activeProfile"],
        json!({"name": "b", "origin": "ANTHROPIC_PROFILE"})
    );
    let token = sb.run(&["token"]);
    assert_eq!(
        token.stdout,
        "sk-ant-oat01-ProfileBbbbbbbbbbbbbbbbbbbBBBB\n"
    );
}

#[test]
fn broken_anthropic_profile_is_an_error_that_stops_the_chain() {
    let mut sb = Sandbox::new();
    write_file(&sb.config_path("work"), "{ this is not json", 0o644);
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o600);
    sb.set("ANTHROPIC_PROFILE", "work");
    let path = sb.config_path("work").display().to_string();

    let (run, status) = sb.status_json();
    run.assert_code(1);
    assert_eq!(status["ok"], false);
    assert_eq!(status.get("winner"), None);
    let error = status["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("anthropic-profile: {path} is not valid: not JSON")),
        "{error}"
    );
    assert_eq!(source(&status, "anthropic-profile")["status"], "error");
    assert_eq!(source(&status, "claude-code")["winner"], false);

    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert_eq!(token.stdout, "");
    assert!(
        token.stderr_lines()[0].starts_with(&format!(
            "error: anthropic-profile: {path} is not valid: not JSON"
        )),
        "{token}"
    );
}

#[test]
fn missing_anthropic_profile_is_an_error_naming_the_config_file() {
    let mut sb = Sandbox::new();
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o600);
    sb.set("ANTHROPIC_PROFILE", "nope");
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert_eq!(
        token.stderr_lines()[0],
        format!(
            "error: anthropic-profile: profile \"nope\" not found: no {} . Run `claude-auth login --profile nope` or `claude-auth profile list`",
            sb.config_path("nope").display()
        )
    );
}

#[test]
fn anthropic_config_dir_with_no_default_profile_falls_through_and_says_the_sdks_would_fail() {
    let mut sb = Sandbox::new();
    let dir = sb.root().join("anthropic");
    sb.set("ANTHROPIC_CONFIG_DIR", dir.display().to_string());
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o600);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["winner"], "claude-code");
    let active = source(&status, "active-profile");
    assert_eq!(active["status"], "skipped");
    assert_eq!(
        active["reason"],
        format!(
            "no profile \"default\" ({}/configs/default.json does not exist); with ANTHROPIC_CONFIG_DIR set, the official SDKs report this as an error",
            dir.display()
        )
    );
    assert_eq!(sb.run(&["token"]).stdout, format!("{CC_TOKEN}\n"));
}

#[test]
fn broken_auto_discovered_default_profile_falls_through_to_claude_code() {
    let sb = Sandbox::new();
    write_file(&sb.config_path("default"), "{ this is not json", 0o644);
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o600);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["winner"], "claude-code");
    let active = source(&status, "active-profile");
    assert_eq!(active["status"], "error");
    assert!(active["reason"]
        .as_str()
        .unwrap()
        .starts_with(&sb.config_path("default").display().to_string()));
    let token = sb.run(&["token"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{CC_TOKEN}\n"));
}

#[test]
fn broken_profile_named_by_active_config_stops_the_chain() {
    let sb = Sandbox::new();
    write_file(&sb.config_path("work"), "{ this is not json", 0o644);
    sb.write_active_config("work");
    sb.write_claude_code(CC_TOKEN, (now() + 3600) * 1000, 0o600);
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert!(
        token.stderr_lines()[0].starts_with(&format!(
            "error: active-profile: {} is not valid",
            sb.config_path("work").display()
        )),
        "{token}"
    );
}

#[test]
fn workload_identity_env_is_recognised_and_token_performs_the_exchange() {
    let mut sb = Sandbox::new();
    let jwt = sb.root().join("identity.jwt");
    write_file(&jwt, "eyJhbGciOiJSUzI1NiJ9.e30.sig", 0o600);
    sb.write_static_profile("default", PROFILE_TOKEN, None);
    sb.set("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_123")
        .set("ANTHROPIC_ORGANIZATION_ID", "org-uuid-1")
        .set("ANTHROPIC_IDENTITY_TOKEN_FILE", jwt.display().to_string());
    let (_, status) = sb.status_json();
    assert_eq!(status["winner"], "workload-identity");
    assert_eq!(status["credential"]["type"], "workloadIdentity");
    assert_eq!(status["credential"]["organization"], "org-uuid-1");
    assert_eq!(source(&status, "active-profile")["shadowed"], true);
    // `token` performs the jwt-bearer exchange at ANTHROPIC_BASE_URL; here
    // nothing listens there, so it fails naming the endpoint.
    let base = common::closed_local_url();
    sb.set("ANTHROPIC_BASE_URL", &base);
    let token = sb.run(&["token"]);
    token.assert_code(1);
    assert_eq!(token.stdout, "");
    let first = token.stderr_lines()[0];
    assert!(
        first.starts_with("error: ") && first.contains(&format!("{base}/v1/oauth/token")),
        "{token}"
    );
}

#[test]
fn workload_identity_needs_rule_and_organization() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_123")
        .set("ANTHROPIC_IDENTITY_TOKEN", "eyJhbGciOiJSUzI1NiJ9.e30.sig");
    let (_, status) = sb.status_json();
    let line = source(&status, "workload-identity");
    assert_eq!(line["status"], "skipped");
    assert_eq!(
        line["reason"],
        "ANTHROPIC_FEDERATION_RULE_ID is set but ANTHROPIC_ORGANIZATION_ID is not"
    );
}

#[test]
fn empty_env_values_count_as_unset() {
    let mut sb = Sandbox::new();
    sb.write_static_profile("default", PROFILE_TOKEN, None);
    for var in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_PROFILE",
        "ANTHROPIC_CONFIG_DIR",
        "ANTHROPIC_FEDERATION_RULE_ID",
        "ANTHROPIC_ORGANIZATION_ID",
        "ANTHROPIC_IDENTITY_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_ACCESS_TOKEN",
        "CLAUDE_AUTH_EXTERNAL_COMMAND",
        "CLAUDE_AUTH_FILE",
        "CLAUDE_CONFIG_DIR",
        "XDG_CONFIG_HOME",
    ] {
        sb.set(var, "");
    }
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["winner"], "active-profile");
    assert_eq!(status["configDir"]["origin"], "default");
    assert_eq!(
        status["activeProfile"],
        json!({"name": "default", "origin": "default"})
    );
    for (id, var) in [
        ("anthropic-api-key", "ANTHROPIC_API_KEY"),
        ("anthropic-auth-token", "ANTHROPIC_AUTH_TOKEN"),
        ("anthropic-profile", "ANTHROPIC_PROFILE"),
        ("claude-code-oauth-token", "CLAUDE_CODE_OAUTH_TOKEN"),
        ("seed-env", "CLAUDE_ACCESS_TOKEN"),
    ] {
        let line = source(&status, id);
        assert_eq!(line["status"], "skipped", "{id}");
        assert_eq!(
            line["reason"],
            format!("{var} is set but empty, which counts as unset"),
            "{id}"
        );
    }
    assert_eq!(warning_codes(&status), Vec::<String>::new());
    let token = sb.run(&["token"]);
    assert_eq!(token.stdout, format!("{PROFILE_TOKEN}\n"));
}

/// Every tier present at once; removing the winner each time must hand the
/// win to the next tier, in the documented order.
#[test]
fn every_tier_wins_in_precedence_order() {
    const FLAG: &str = "sk-ant-oat01-TierFlagProfileFFFFFFFFFFFF0001";
    const ENV_PROFILE: &str = "sk-ant-oat01-TierEnvProfileGGGGGGGGGGGG0002";
    const ACTIVE: &str = "sk-ant-oat01-TierActiveProfileHHHHHHHHHH0003";
    const CC_ENV: &str = "sk-ant-oat01-TierClaudeCodeEnvIIIIIIIIII0004";
    const SEED_ENV: &str = "sk-ant-oat01-TierSeedEnvJJJJJJJJJJJJJJJJ0005";
    const EXTERNAL: &str = "sk-ant-api03-TierExternalKKKKKKKKKKKKKKK0006";
    const CC_FILE: &str = "sk-ant-oat01-TierClaudeCodeFileLLLLLLLLL0007";
    const SEED_FILE: &str = "sk-ant-oat01-TierSeedFileMMMMMMMMMMMMMMM0008";

    let mut sb = Sandbox::new();
    let later = now() + 3600;
    sb.write_static_profile("flagp", FLAG, None);
    sb.write_static_profile("envp", ENV_PROFILE, None);
    sb.write_static_profile("activep", ACTIVE, None);
    sb.write_active_config("activep");
    sb.write_claude_code(CC_FILE, later * 1000, 0o600);
    sb.write_seed(&sb.seed_path(), SEED_FILE, later);
    let jwt = sb.root().join("identity.jwt");
    write_file(&jwt, "eyJhbGciOiJSUzI1NiJ9.e30.sig", 0o600);
    sb.set("ANTHROPIC_API_KEY", API_KEY)
        .set("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN)
        .set("ANTHROPIC_PROFILE", "envp")
        .set("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1")
        .set("ANTHROPIC_ORGANIZATION_ID", "org-1")
        .set("ANTHROPIC_IDENTITY_TOKEN_FILE", jwt.display().to_string())
        .set("CLAUDE_CODE_OAUTH_TOKEN", CC_ENV)
        .set("CLAUDE_ACCESS_TOKEN", SEED_ENV)
        .set("CLAUDE_AUTH_EXTERNAL_COMMAND", format!("printf {EXTERNAL}"));

    let check = |sb: &Sandbox, flag: bool, winner: &str, token: Option<&str>| {
        let mut args = vec!["status", "--json"];
        if flag {
            args.extend(["--profile", "flagp"]);
        }
        let status = sb.run(&args).json();
        assert_eq!(status["winner"], winner, "winner");
        if token.is_none() {
            // Workload identity: `token` would perform a network exchange.
            return;
        }
        args[0] = "token";
        args.remove(1);
        let run = sb.run(&args);
        match token {
            Some(t) => {
                run.assert_code(0);
                assert_eq!(run.stdout, format!("{t}\n"), "token when {winner} wins");
            }
            None => unreachable!(),
        }
    };

    check(&sb, true, "explicit", Some(FLAG));
    check(&sb, false, "anthropic-api-key", Some(API_KEY));
    sb.unset("ANTHROPIC_API_KEY");
    check(&sb, false, "anthropic-auth-token", Some(AUTH_TOKEN));
    sb.unset("ANTHROPIC_AUTH_TOKEN");
    check(&sb, false, "anthropic-profile", Some(ENV_PROFILE));
    sb.unset("ANTHROPIC_PROFILE");
    check(&sb, false, "workload-identity", None);
    sb.unset("ANTHROPIC_FEDERATION_RULE_ID");
    check(&sb, false, "active-profile", Some(ACTIVE));
    std::fs::remove_file(sb.active_config_path()).unwrap();
    check(&sb, false, "claude-code-oauth-token", Some(CC_ENV));
    sb.unset("CLAUDE_CODE_OAUTH_TOKEN");
    check(&sb, false, "seed-env", Some(SEED_ENV));
    sb.unset("CLAUDE_ACCESS_TOKEN");
    check(&sb, false, "external-command", Some(EXTERNAL));
    sb.unset("CLAUDE_AUTH_EXTERNAL_COMMAND");
    check(&sb, false, "claude-code", Some(CC_FILE));
    std::fs::remove_file(sb.claude_code_path()).unwrap();
    check(&sb, false, "seed-file", Some(SEED_FILE));
    std::fs::remove_file(sb.seed_path()).unwrap();
    let status: Value = sb.run(&["status", "--json"]).json();
    assert_eq!(status.get("winner"), None);
    sb.run(&["token"]).assert_code(4);
}

#[test]
fn external_command_is_not_run_once_a_source_above_won() {
    let mut sb = Sandbox::new();
    let marker = sb.root().join("ran");
    sb.set("ANTHROPIC_API_KEY", API_KEY).set(
        "CLAUDE_AUTH_EXTERNAL_COMMAND",
        format!(
            "touch {} && printf sk-ant-api03-NeverUsedNNNNNNNNNNNN",
            marker.display()
        ),
    );
    let (_, status) = sb.status_json();
    let line = source(&status, "external-command");
    assert_eq!(line["status"], "notChecked");
    assert_eq!(line["reason"], "not run: a source above won");
    sb.run(&["token"]).assert_code(0);
    assert!(!marker.exists(), "the external command ran");
}

#[test]
fn status_of_a_federation_profile_shows_its_cached_token_or_that_the_next_use_exchanges() {
    let sb = Sandbox::new();
    let identity = sb.root().join("identity.jwt");
    write_file(
        &sb.config_path("fed"),
        &json!({
            "version": "1.0",
            "authentication": {
                "type": "oidc_federation",
                "federation_rule_id": "fdrl_1",
                "identity_token": {"source": "file", "path": identity},
            },
            "organization_id": "org-1",
        })
        .to_string(),
        0o644,
    );
    sb.write_active_config("fed");
    let cache = sb.credentials_path("fed");

    // Without the identity token there is nothing to exchange.
    let (run, status) = sb.status_json();
    run.assert_code(1);
    assert_eq!(status["ok"], false);
    assert_eq!(
        status["error"],
        format!(
            "the identity token file {} does not exist, so the token exchange cannot be made",
            identity.display()
        )
    );

    write_file(&identity, "eyJidentity", 0o600);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["ok"], true);
    assert_eq!(status["error"], Value::Null);
    assert_eq!(status["credential"]["type"], "workloadIdentity");
    assert_eq!(status["credential"]["expiresAt"], Value::Null);
    assert_eq!(
        status["credential"]["notes"],
        json!([format!(
            "no exchanged token cached yet in {}: the next use exchanges",
            cache.display()
        )])
    );

    let human = sb.run(&["status"]);
    human.assert_code(0);
    let lines = human.stdout_lines();
    assert!(
        lines.contains(&"  Expires:     no token yet: exchanged on first use"),
        "{}",
        human.stdout
    );
    assert!(lines.contains(&"  Org:         org-1"), "{}", human.stdout);

    let token = "sk-ant-oat01-StatusFederatedEEEEEEEEEEEE5555";
    let expires_at = now() + 3600;
    write_file(
        &cache,
        &json!({"version": "1.0", "type": "oauth_token", "access_token": token, "expires_at": expires_at})
            .to_string(),
        0o600,
    );
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["credential"]["expiresAt"], expires_at);
    assert_eq!(status["credential"]["masked"], masked(token));
    assert_eq!(
        status["credential"]["notes"],
        json!([format!(
            "the exchanged token is cached in {}",
            cache.display()
        )])
    );
    assert!(!run.stdout.contains(token));
    let human = sb.run(&["status"]);
    assert!(
        human.stdout.contains(", exchanged anew when due\n"),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains(token));

    // An expired cached token is shown as expired; the next use exchanges.
    write_file(
        &cache,
        &json!({"version": "1.0", "type": "oauth_token", "access_token": token, "expires_at": now() - 10})
            .to_string(),
        0o600,
    );
    let (run, status) = sb.status_json();
    run.assert_code(0);
    assert_eq!(status["credential"]["expired"], true);
    assert_eq!(
        status["credential"]["notes"],
        json!([format!(
            "the token cached in {} has expired: the next use exchanges anew",
            cache.display()
        )])
    );
}
