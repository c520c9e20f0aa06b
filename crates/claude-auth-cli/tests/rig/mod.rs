//! The OAuth test rig (tests/oauth-rig: oidc-provider + headless Chromium),
//! from Rust tests. Shared by the CLI's and the library's OAuth tests.
//!
//! `scripts/test` exports `CLAUDE_AUTH_TEST_OAUTH_RIG` and
//! `CLAUDE_AUTH_TEST_NODE`; without them [`Rig::start`] returns `None` and the
//! test calls [`skip`]: a failure under `CI`, a "skipped" note otherwise.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

// proxy_exec loads both common and rig: two copies of these few functions.
#[allow(clippy::duplicate_mod)]
#[path = "../common/require_env.rs"]
mod require_env;
#[allow(unused_imports)] // each test file uses a different part
pub use require_env::{
    current_test, missing_env, missing_env_named, require_env, require_secret_service,
};

/// The public test client.
pub const CLIENT_ID: &str = "claude-auth-test";
/// The confidential test client and its secret.
pub const SECRET_CLIENT_ID: &str = "claude-auth-test-secret";
pub const CLIENT_SECRET: &str = "claude-auth-test-secret-value";

/// A running rig server; killed on drop.
pub struct Rig {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub issuer: String,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rig directory, if the harness set it up.
pub fn rig_dir() -> Option<PathBuf> {
    std::env::var_os("CLAUDE_AUTH_TEST_OAUTH_RIG").map(PathBuf::from)
}

/// The `$BROWSER` driver.
pub fn browser() -> PathBuf {
    rig_dir().expect("rig").join("browser")
}

/// The rig is not available: a failure under `CI`, a "skipped" note
/// otherwise ([`missing_env`]); the test returns right after.
pub fn skip(test: &str) {
    missing_env_named(test, "no OAuth rig (CLAUDE_AUTH_TEST_OAUTH_RIG is unset)");
}

impl Rig {
    /// Start a server with extra `args`; `None` when the rig is not installed.
    pub fn start(args: &[&str]) -> Option<Rig> {
        let dir = rig_dir()?;
        let node = std::env::var_os("CLAUDE_AUTH_TEST_NODE").unwrap_or_else(|| "node".into());
        let mut child = Command::new(node)
            .arg(dir.join("server.mjs"))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the rig server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let issuer = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("rig said {line:?}"))
            .to_owned();
        Some(Rig { child, issuer })
    }

    pub fn token_url(&self) -> String {
        format!("{}/v1/oauth/token", self.issuer)
    }
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/authorize", self.issuer)
    }
    pub fn revocation_url(&self) -> String {
        format!("{}/v1/oauth/revoke", self.issuer)
    }

    /// `GET /__rig/stats`.
    pub fn stats(&self) -> Value {
        let (status, body) = http(&self.issuer, "GET", "/__rig/stats", None);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A number from the stats.
    pub fn stat(&self, key: &str) -> u64 {
        self.stats()[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no stat {key}"))
    }

    /// `POST /__rig/<path>` (e.g. `delay?ms=500`, `fail?status=503&count=2`, `reset`).
    pub fn admin(&self, path: &str) {
        let (status, body) = http(&self.issuer, "POST", &format!("/__rig/{path}"), Some(""));
        assert!((200..300).contains(&status), "{path}: {status} {body}");
    }

    /// A `[providers.<id>]` settings table for this rig.
    pub fn provider_toml(&self, id: &str, code_encoding: &str, refresh_encoding: &str) -> String {
        format!(
            "[providers.{id}]\nname = \"Test rig\"\nclient_id = \"{CLIENT_ID}\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\nrevocation_url = \"{}\"\nscopes = [\"user:profile\", \"user:inference\"]\nredirect_host = \"127.0.0.1\"\ncode_encoding = \"{code_encoding}\"\nrefresh_encoding = \"{refresh_encoding}\"\n",
            self.authorize_url(),
            self.token_url(),
            self.revocation_url()
        )
    }

    /// Mint a token set the way a real user does: the library's login flow,
    /// the callback on loopback, and headless Chromium as the browser.
    pub fn tokens_from_browser_login(&self, code_encoding: &str) -> claude_auth::TokenSet {
        let overrides: std::collections::BTreeMap<String, claude_auth::provider::PresetOverride> =
            toml::from_str(
                &self
                    .provider_toml("rig", code_encoding, "form")
                    .replace("[providers.rig]", "[rig]"),
            )
            .unwrap();
        let presets = claude_auth::provider::Presets::load(&overrides, "test").unwrap();
        let preset = presets.get("rig").unwrap().clone();
        let request = claude_auth::oauth::login::LoginRequest {
            preset,
            callback_port: None,
            timeout: Duration::from_secs(60),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = claude_auth::oauth::token_client::TokenClient::new().unwrap();
            claude_auth::oauth::login::login::<tokio::io::BufReader<tokio::io::Empty>>(
                &request,
                &client,
                &DriveBrowser,
                None,
            )
            .await
            .expect("browser login")
        })
    }
}

/// Login events that run the rig's browser driver on the URL.
pub struct DriveBrowser;

impl claude_auth::oauth::login::LoginEvents for DriveBrowser {
    fn ready(&self, browser_url: &str, _manual: Option<&str>) {
        let url = browser_url.to_owned();
        std::thread::spawn(move || {
            let out = Command::new(browser())
                .arg(&url)
                .stdin(Stdio::null())
                .output()
                .expect("run browser driver");
            if !out.status.success() {
                eprintln!(
                    "browser driver failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        });
    }
    fn ignored(&self, why: &str) {
        eprintln!("ignored: {why}");
    }
    fn exchanging(&self) {}
}

/// A minimal HTTP/1.1 request over loopback: (status, body).
pub fn http(base: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(hostport).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    // The rig answers with Content-Length (no chunking) for admin endpoints.
    (status, body)
}
