//! Interop with the official Python SDK (`anthropic==2.12.0` in the test
//! venv): a login made by claude-auth is what the SDK's
//! `default_credentials()` resolves, and files the SDK (or Python tools
//! writing Claude Code's and the seed library's formats) writes are what
//! `claude-auth token` prints.
//!
//! Without `CLAUDE_AUTH_TEST_PYTHON` a test fails under `CI` and says it
//! skipped otherwise (`common::test_python`).
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

/// A sandbox whose `ANTHROPIC_CONFIG_DIR` is its own `anthropic-config`
/// (the dir, and as text for the SDK's environment).
fn sandbox_with_config_dir() -> (Sandbox, std::path::PathBuf, String) {
    let mut sb = Sandbox::new();
    let dir = sb.root().join("anthropic-config");
    let dir_text = dir.display().to_string();
    sb.set("ANTHROPIC_CONFIG_DIR", &dir_text);
    (sb, dir, dir_text)
}

#[test]
fn python_sdk_resolves_our_login_through_anthropic_profile() {
    let Some(python) = test_python("python_sdk_resolves_our_login_through_anthropic_profile")
    else {
        return;
    };
    let (sb, dir, dir_text) = sandbox_with_config_dir();
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

/// A stand-in for Anthropic's jwt-bearer token endpoint (no third-party
/// server implements that grant), in Python's standard library: prints its
/// port, answers `<argv[1]><n>` valid for an hour to each well-formed
/// exchange, and prints how many it answered when its stdin closes.
const FEDERATION_STANDIN: &str = r#"
import json, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
count = 0
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = json.loads(self.rfile.read(int(self.headers['content-length'])))
        ok = (self.path == '/v1/oauth/token'
              and body.get('grant_type') == 'urn:ietf:params:oauth:grant-type:jwt-bearer'
              and body.get('assertion') == 'eyJinterop'
              and body.get('federation_rule_id') == 'fdrl_interop')
        count += 1
        out = json.dumps({'access_token': sys.argv[1] + str(count), 'expires_in': 3600,
                          'token_type': 'Bearer'} if ok else {'error': 'invalid_request'}).encode()
        self.send_response(200 if ok else 400)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *args):
        pass
server = HTTPServer(('127.0.0.1', 0), H)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
print(count, flush=True)
"#;

struct Standin {
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    base_url: String,
}

impl Standin {
    fn start(python: &str, prefix: &str) -> Standin {
        use std::io::BufRead;
        let mut child = std::process::Command::new(python)
            .args(["-c", FEDERATION_STANDIN, prefix])
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let port = lines.next().unwrap().unwrap();
        Standin {
            child,
            lines,
            base_url: format!("http://127.0.0.1:{}", port.trim()),
        }
    }

    /// Stop it; how many exchanges it answered.
    fn stop(mut self) -> u64 {
        drop(self.child.stdin.take());
        let n = self.lines.next().unwrap().unwrap().trim().parse().unwrap();
        self.child.wait().unwrap();
        n
    }
}

/// An active `oidc_federation` profile `fed` pointing at `base_url`.
fn write_federation_profile(sb: &Sandbox, base_url: &str) {
    let identity = sb.root().join("identity.jwt");
    std::fs::write(&identity, "eyJinterop\n").unwrap();
    common::write_file(
        &sb.config_path("fed"),
        &serde_json::json!({
            "version": "1.0",
            "authentication": {
                "type": "oidc_federation",
                "federation_rule_id": "fdrl_interop",
                "identity_token": {"source": "file", "path": identity},
            },
            "organization_id": "org-interop",
            "base_url": base_url,
        })
        .to_string(),
        0o644,
    );
    sb.write_active_config("fed");
}

#[test]
fn federation_token_cache_is_shared_with_the_python_sdk_both_ways() {
    let Some(python) =
        test_python("federation_token_cache_is_shared_with_the_python_sdk_both_ways")
    else {
        return;
    };
    let (sb, _, dir_text) = sandbox_with_config_dir();
    let sdk_env = [("ANTHROPIC_CONFIG_DIR", dir_text.as_str())];

    // We exchange and cache; the SDK then uses our cache without exchanging.
    let standin = Standin::start(&python, "sk-ant-oat01-exchangedByUs-");
    write_federation_profile(&sb, &standin.base_url);
    let ours = sb.run(&["token"]);
    ours.assert_code(0);
    assert_eq!(ours.stdout, "sk-ant-oat01-exchangedByUs-1\n");
    let py = run_python(&python, &sb, &sdk_env, SDK_RESOLVE);
    py.assert_code(0);
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.credentials_path("fed")).unwrap()).unwrap();
    assert_eq!(
        py.stdout,
        format!("sk-ant-oat01-exchangedByUs-1\n{}\n", cached["expires_at"])
    );
    assert_eq!(standin.stop(), 1, "the SDK used our cache");

    // The SDK exchanges and caches; we then use its cache without exchanging.
    std::fs::remove_file(sb.credentials_path("fed")).unwrap();
    let standin = Standin::start(&python, "sk-ant-oat01-exchangedBySdk-");
    write_federation_profile(&sb, &standin.base_url);
    let py = run_python(&python, &sb, &sdk_env, SDK_RESOLVE);
    py.assert_code(0);
    assert!(
        py.stdout.starts_with("sk-ant-oat01-exchangedBySdk-1\n"),
        "{}",
        py.stdout
    );
    let ours = sb.run(&["token"]);
    ours.assert_code(0);
    assert_eq!(ours.stdout, "sk-ant-oat01-exchangedBySdk-1\n");
    assert_eq!(standin.stop(), 1, "we used the SDK's cache");
}
