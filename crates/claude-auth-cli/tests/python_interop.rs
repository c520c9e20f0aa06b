//! Interop with the official Python SDK (`anthropic==2.12.0` in the test
//! venv): a login made by claude-auth is what the SDK's
//! `default_credentials()` resolves, and files the SDK (or Python tools
//! writing Claude Code's and the seed library's formats) writes are what
//! `claude-auth token` prints.
//!
//! Skipped, with a printed note, when `CLAUDE_AUTH_TEST_PYTHON` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{now, run_python, test_python, Sandbox};

const OURS: &str = "sk-ant-oat01-InteropOursAAAAAAAAAAAAAAAAAAAAA1111";
const THEIRS: &str = "sk-ant-oat01-InteropTheirsBBBBBBBBBBBBBBBBBBBB2222";

/// Resolve with the SDK's own chain and print the token and its expiry.
const SDK_RESOLVE: &str = "\
from anthropic.lib.credentials import default_credentials
result = default_credentials()
assert result is not None, 'the SDK resolved nothing'
token = result.provider()
print(token.token)
print(token.expires_at)
";

#[test]
fn python_sdk_resolves_our_login_through_anthropic_profile() {
    let Some(python) = test_python("python_sdk_resolves_our_login_through_anthropic_profile")
    else {
        return;
    };
    let mut sb = Sandbox::new();
    let dir = sb.root().join("anthropic-config");
    let dir_text = dir.display().to_string();
    sb.set("ANTHROPIC_CONFIG_DIR", &dir_text);
    sb.login(Some("work"), OURS);
    // Another profile is active: only ANTHROPIC_PROFILE selects "work".
    sb.login(Some("other"), THEIRS);
    assert_eq!(
        std::fs::read_to_string(dir.join("active_config")).unwrap(),
        "other"
    );

    let py = run_python(
        &python,
        &sb,
        &[
            ("ANTHROPIC_CONFIG_DIR", &dir_text),
            ("ANTHROPIC_PROFILE", "work"),
        ],
        SDK_RESOLVE,
    );
    py.assert_code(0);
    assert_eq!(py.stdout, format!("{OURS}\nNone\n"));
}

#[test]
fn python_sdk_resolves_our_login_through_active_config() {
    let Some(python) = test_python("python_sdk_resolves_our_login_through_active_config") else {
        return;
    };
    let sb = Sandbox::new();
    // Nothing but HOME: both tools default to ~/.config/anthropic.
    sb.login(Some("work"), OURS);
    let py = run_python(&python, &sb, &[], SDK_RESOLVE);
    py.assert_code(0);
    assert_eq!(py.stdout, format!("{OURS}\nNone\n"));
}

#[test]
fn we_read_a_profile_the_python_sdk_wrote_with_its_own_code() {
    let Some(python) = test_python("we_read_a_profile_the_python_sdk_wrote_with_its_own_code")
    else {
        return;
    };
    let sb = Sandbox::new();
    let expires_at = now() + 3600;
    // The config the SDK reads, then the credentials written by the SDK's
    // own atomic writer, then read back by the SDK to prove it accepts them.
    let script = format!(
        "\
import json, os
from anthropic.lib.credentials import CredentialsFile
from anthropic.lib.credentials._constants import _config_dir
d = _config_dir()
os.makedirs(d / 'configs', exist_ok=True)
cfg = d / 'configs' / 'py.json'
cfg.write_text(json.dumps({{'version': '1.0', 'authentication': {{'type': 'user_oauth',
    'client_id': '9d1c250a-e61b-44d9-88ed-5944d1962f5e', 'scope': 'user:inference user:profile'}}}}, indent=2))
os.chmod(cfg, 0o644)
(d / 'active_config').write_text('py')
cf = CredentialsFile()
cf._load_config()
cf._atomic_write_credentials({{'version': '1.0', 'type': 'oauth_token', 'access_token': {THEIRS:?},
    'expires_at': {expires_at}, 'refresh_token': 'sk-ant-ort01-InteropRefreshCCCCCCCCCCCCCCCC3333',
    'scope': 'user:inference user:profile', 'x_future_field': 1}})
print(cf().token)
"
    );
    let py = run_python(&python, &sb, &[], &script);
    py.assert_code(0);
    assert_eq!(py.stdout, format!("{THEIRS}\n"));

    let token = sb.run(&["token"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{THEIRS}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "active-profile");
    assert_eq!(status["activeProfile"]["name"], "py");
    assert_eq!(status["credential"]["expiresAt"], expires_at);
    assert_eq!(status["credential"]["refreshable"], true);
    assert_eq!(
        status["credential"]["scopes"],
        serde_json::json!(["user:inference", "user:profile"])
    );
}

#[test]
fn we_read_a_claude_code_file_written_by_python() {
    let Some(python) = test_python("we_read_a_claude_code_file_written_by_python") else {
        return;
    };
    let sb = Sandbox::new();
    let expires_ms = (now() + 3600) * 1000;
    let script = format!(
        "\
import json, os
d = os.path.expanduser('~/.claude')
os.makedirs(d, mode=0o700, exist_ok=True)
fd = os.open(os.path.join(d, '.credentials.json'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, 'w') as f:
    json.dump({{'claudeAiOauth': {{'accessToken': {THEIRS:?}, 'refreshToken': 'sk-ant-ort01-InteropCcRefreshDDDDDDDDDDDDDD4444',
        'expiresAt': {expires_ms}, 'scopes': ['user:inference', 'user:profile'], 'subscriptionType': 'pro'}},
        'mcpOAuth': {{}}}}, f)
"
    );
    run_python(&python, &sb, &[], &script).assert_code(0);
    let token = sb.run(&["token"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{THEIRS}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "claude-code");
    assert_eq!(status["credential"]["expiresAt"], expires_ms / 1000);
    assert_eq!(status["credential"]["subscription"], "pro");
}

#[test]
fn we_read_a_seed_auth_json_written_by_python() {
    let Some(python) = test_python("we_read_a_seed_auth_json_written_by_python") else {
        return;
    };
    let sb = Sandbox::new();
    let script = format!(
        "\
import json, os, time
d = os.path.expanduser('~/.config/claude')
os.makedirs(d, mode=0o700, exist_ok=True)
expiry = time.time() + 3600
with open(os.path.join(d, 'auth.json'), 'w') as f:
    json.dump({{'access_token': {THEIRS:?}, 'refresh_token': 'sk-ant-ort01-InteropSeedRefreshEEEEEEEEEEEE5555',
        'token_expiry': expiry}}, f)
os.chmod(os.path.join(d, 'auth.json'), 0o600)
print(int(expiry))
"
    );
    let py = run_python(&python, &sb, &[], &script);
    py.assert_code(0);
    let expiry: u64 = py.stdout.trim().parse().unwrap();
    let token = sb.run(&["token"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{THEIRS}\n"));
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "seed-file");
    assert_eq!(status["credential"]["expiresAt"], expiry);
}
