//! `claude-auth profile list | use | show`, human and `--json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{masked, Sandbox};
use serde_json::json;

const A: &str = "sk-ant-oat01-ProfileAaaaaaaaaaaaaaaaaaaaaaaa1111";
const B: &str = "sk-ant-oat01-ProfileBbbbbbbbbbbbbbbbbbbbbbbb2222";
const KEY: &str = "sk-ant-api03-ProfileKeyKKKKKKKKKKKKKKKKKKKK3333";

/// Profiles `a` (active, OAuth), `b` (OAuth) and `keys` (API key).
fn three_profiles() -> Sandbox {
    let sb = Sandbox::new();
    sb.login(Some("b"), B);
    sb.login(Some("keys"), KEY);
    sb.login(Some("a"), A);
    sb
}

#[test]
fn profile_list_marks_the_active_profile() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "list"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout_lines(),
        [
            format!("* {:<20} {:<15} oauthToken {}", "a", "file", masked(A)),
            format!("  {:<20} {:<15} oauthToken {}", "b", "file", masked(B)),
            format!("  {:<20} {:<15} apiKey {}", "keys", "file", masked(KEY)),
        ]
    );
}

#[test]
fn profile_list_json() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "list", "--json"]);
    run.assert_code(0);
    let list = run.json();
    let summary: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!({
                "name": e["name"],
                "active": e["active"],
                "storage": e["storage"],
                "sdkReadable": e["sdkReadable"],
                "type": e["credential"]["type"],
                "masked": e["credential"]["masked"],
                "location": e["credential"]["location"],
            })
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!({"name": "a", "active": true, "storage": "file", "sdkReadable": true,
                   "type": "oauthToken", "masked": masked(A),
                   "location": sb.credentials_path("a").display().to_string()}),
            json!({"name": "b", "active": false, "storage": "file", "sdkReadable": true,
                   "type": "oauthToken", "masked": masked(B),
                   "location": sb.credentials_path("b").display().to_string()}),
            json!({"name": "keys", "active": false, "storage": "file", "sdkReadable": false,
                   "type": "apiKey", "masked": masked(KEY),
                   "location": sb.key_file_path("keys").display().to_string()}),
        ]
    );
}

#[test]
fn profile_list_with_no_profiles_says_so_on_stderr() {
    let sb = Sandbox::new();
    let run = sb.run(&["profile", "list"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        ["No profiles. Create one with `claude-auth login --with-token --profile NAME`."]
    );
    let json = sb.run(&["profile", "list", "--json"]);
    json.assert_code(0);
    assert_eq!(json.json(), json!([]));
}

#[test]
fn profile_list_shows_a_broken_profile_with_its_error() {
    let sb = Sandbox::new();
    sb.login(Some("a"), A);
    common::write_file(&sb.credentials_path("a"), "{ broken", 0o600);
    let run = sb.run(&["profile", "list", "--json"]);
    run.assert_code(0);
    let entry = &run.json()[0];
    assert_eq!(entry.get("credential"), None);
    assert!(entry["error"].as_str().unwrap().starts_with(&format!(
        "{} is not valid: not JSON",
        sb.credentials_path("a").display()
    )));
}

#[test]
fn profile_use_switches_active_config() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "use", "b"]);
    run.assert_code(0);
    assert_eq!(
        run.stderr_lines(),
        [format!(
            "✓ Profile b is active (written to {})",
            sb.active_config_path().display()
        )]
    );
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "b"
    );
    let token = sb.run(&["token"]);
    assert_eq!(token.stdout, format!("{B}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["activeProfile"]["name"], "b");
}

#[test]
fn profile_use_of_an_api_key_profile_writes_claude_auths_own_pointer() {
    let sb = Sandbox::new();
    sb.login(Some("keys"), KEY);
    let run = sb.run(&["profile", "use", "keys"]);
    run.assert_code(0);
    let pointer = sb.own_dir().join("active_profile");
    assert_eq!(
        run.stderr_lines(),
        [
            format!(
                "✓ Profile keys is active for claude-auth (written to {})",
                pointer.display()
            ),
            "warning: the official SDKs cannot read this profile (an API key or a keyring entry); they are unaffected".to_owned(),
        ]
    );
    assert_eq!(std::fs::read_to_string(&pointer).unwrap(), "keys");
    assert_eq!(common::mode(&pointer), 0o600);
    assert!(!sb.active_config_path().exists());
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(
        status["activeProfile"],
        json!({"name": "keys", "origin": pointer.display().to_string()})
    );
    assert_eq!(status["winner"], "active-profile");
    let token = sb.run(&["token"]);
    assert_eq!(token.stdout, format!("{KEY}\n"));
}

#[test]
fn profile_use_of_an_api_key_profile_is_refused_while_active_config_selects_another() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "use", "keys"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines(),
        [
            format!(
                "error: profile \"keys\" cannot be read by the official SDKs, and {} selects a profile for all of them",
                sb.active_config_path().display()
            ),
            "hint: use `--profile keys` for this profile, or remove active_config first".to_owned(),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "a"
    );
    assert!(!sb.own_dir().join("active_profile").exists());
}

#[test]
fn profile_use_of_an_sdk_profile_replaces_claude_auths_own_pointer() {
    let sb = Sandbox::new();
    sb.login(Some("keys"), KEY);
    sb.run(&["profile", "use", "keys"]).assert_code(0);
    // An OAuth login with --profile writes active_config.
    sb.login(Some("a"), A);
    sb.run(&["profile", "use", "a"]).assert_code(0);
    assert!(!sb.own_dir().join("active_profile").exists());
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "a"
    );
}

#[test]
fn profile_use_of_an_unknown_profile_fails() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "use", "nope"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines(),
        [
            "error: no profile \"nope\"",
            "hint: create it: claude-auth login --with-token --profile nope; or see `claude-auth profile list`",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "a"
    );
}

#[test]
fn profile_show_describes_the_active_profile() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "show"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout_lines(),
        [
            "Profile:      a (active)".to_owned(),
            "Storage:      file".to_owned(),
            "SDK-readable: yes".to_owned(),
            format!("Type:         oauthToken {}", masked(A)),
            format!("Stored in:    {}", sb.credentials_path("a").display()),
        ]
    );
}

#[test]
fn profile_show_json_of_a_named_profile() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "show", "keys", "--json"]);
    run.assert_code(0);
    let e = run.json();
    assert_eq!(e["name"], "keys");
    assert_eq!(e["active"], false);
    assert_eq!(e["storage"], "file");
    assert_eq!(e["sdkReadable"], false);
    assert_eq!(e["credential"]["type"], "apiKey");
    assert_eq!(e["credential"]["masked"], masked(KEY));
    assert_eq!(e.get("error"), None);
}

#[test]
fn profile_show_of_a_missing_profile_exits_1() {
    let sb = three_profiles();
    let run = sb.run(&["profile", "show", "nope"]);
    run.assert_code(1);
    assert_eq!(
        run.stdout_lines(),
        [
            "Profile:      nope",
            "Storage:      file",
            "SDK-readable: no",
            "Error:        no credential stored",
        ]
    );
    let json = sb.run(&["profile", "show", "nope", "--json"]);
    json.assert_code(1);
    assert_eq!(json.json()["error"], "no credential stored");
}

#[test]
fn profile_show_refuses_an_invalid_name() {
    let sb = Sandbox::new();
    let run = sb.run(&["profile", "show", "../x"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines(),
        ["error: invalid profile name \"../x\" (from profile show): names match ^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"]
    );
}

#[test]
fn active_config_written_by_another_tool_is_trimmed() {
    let sb = three_profiles();
    common::write_file(&sb.active_config_path(), "  b\n", 0o644);
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["activeProfile"]["name"], "b");
    let list = sb.run(&["profile", "list"]);
    assert_eq!(
        list.stdout_lines()[1],
        format!("* {:<20} {:<15} oauthToken {}", "b", "file", masked(B))
    );
    assert_eq!(sb.run(&["token"]).stdout, format!("{B}\n"));
}
