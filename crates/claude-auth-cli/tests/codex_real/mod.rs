//! The real Codex CLI (`@openai/codex`, pinned in `tests/codex`), run offline
//! beside claude-auth in the CLI tests.
//!
//! `scripts/test` installs it and exports `CLAUDE_AUTH_TEST_CODEX` (the native
//! binary). A test without it fails under `CI` and says "skipped" otherwise
//! (`common::require_env`). Every run: a cleared environment with `HOME` the
//! test's home and `CODEX_HOME` its `.codex` (0700), every proxy variable
//! pointing at a closed loopback port, and Codex's refresh and revoke URLs
//! (`CODEX_REFRESH_TOKEN_URL_OVERRIDE`, `CODEX_REVOKE_TOKEN_URL_OVERRIDE`)
//! on loopback too, so nothing can reach OpenAI; each run is bounded by a
//! deadline and killed past it. What Codex 0.171.0 prints and how it locks:
//! `docs/codex-locks.md` (summarised in the interop tests).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{self, Run};

/// The version `tests/codex/package.json` pins.
pub const PINNED_VERSION: &str = "0.171.0";

/// How long one Codex command may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// One Codex installation in a test's home.
pub struct Codex {
    bin: PathBuf,
    home: PathBuf,
    codex_home: PathBuf,
    vars: BTreeMap<String, String>,
}

impl Codex {
    /// Codex with `CODEX_HOME=<home>/.codex` (created 0700), or `None` after
    /// reporting the missing environment.
    pub fn new(home: &Path) -> Option<Codex> {
        let bin = std::env::var("CLAUDE_AUTH_TEST_CODEX").unwrap_or_default();
        if !common::require_env(
            !bin.is_empty(),
            "no Codex CLI (CLAUDE_AUTH_TEST_CODEX is unset)",
        ) {
            return None;
        }
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "CLAUDE_AUTH_TEST_CODEX={} is not a file",
            bin.display()
        );
        let codex_home = home.join(".codex");
        std::fs::create_dir_all(&codex_home).unwrap();
        set_mode(&codex_home, 0o700);
        let closed = common::closed_local_url();
        let mut vars = BTreeMap::new();
        for proxy in [
            "HTTPS_PROXY",
            "HTTP_PROXY",
            "ALL_PROXY",
            "https_proxy",
            "http_proxy",
            "all_proxy",
        ] {
            vars.insert(proxy.to_owned(), closed.clone());
        }
        vars.insert("NO_PROXY".into(), "127.0.0.1,localhost".into());
        vars.insert("no_proxy".into(), "127.0.0.1,localhost".into());
        vars.insert(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE".into(),
            format!("{closed}/oauth/token"),
        );
        vars.insert(
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE".into(),
            format!("{closed}/oauth/revoke"),
        );
        Some(Codex {
            bin,
            home: home.to_owned(),
            codex_home,
            vars,
        })
    }

    /// `CODEX_HOME`.
    pub fn codex_home(&self) -> &Path {
        &self.codex_home
    }

    /// `$CODEX_HOME/auth.json`.
    pub fn auth_json(&self) -> PathBuf {
        self.codex_home.join("auth.json")
    }

    /// Set a variable for every later run (e.g. the refresh URL of a loopback
    /// issuer).
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.vars.insert(key.to_owned(), value.into());
        self
    }

    /// The command, environment cleared and set as the module docs say.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env_clear()
            .env("PATH", common::PATH)
            .env("HOME", &self.home)
            .env("CODEX_HOME", &self.codex_home)
            .envs(&self.vars)
            .current_dir(&self.home);
        cmd
    }

    /// Start `args` with `input` on stdin (then closed); outputs piped.
    pub fn spawn(&self, args: &[&str], input: Option<&str>) -> Child {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn codex");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            let _ = stdin.write_all(input.as_bytes());
        }
        drop(stdin);
        child
    }

    /// Run `args` with `input` on stdin, to the end (at most [`DEADLINE`]).
    pub fn run(&self, args: &[&str], input: Option<&str>) -> Run {
        let child = self.spawn(args, input);
        finish(child, args)
    }

    /// `codex login status`.
    pub fn login_status(&self) -> Run {
        self.run(&["login", "status"], None)
    }

    /// `codex login --with-api-key` with `key` on stdin.
    pub fn login_with_api_key(&self, key: &str) -> Run {
        self.run(&["login", "--with-api-key"], Some(&format!("{key}\n")))
    }

    /// What `codex app-server` answers to `getAuthStatus` (`includeToken`,
    /// no refresh): `{authMethod, authToken, requiresOpenaiAuth}`, the
    /// credential Codex would send.
    pub fn app_server_auth_status(&self) -> Value {
        self.app_server_auth_status_with(false)
    }

    /// [`Self::app_server_auth_status`], asking Codex to refresh first when
    /// `refresh` (`getAuthStatus {refreshToken: true}`). Note that app-server
    /// also refreshes a login due for refresh by itself as it starts.
    pub fn app_server_auth_status_with(&self, refresh: bool) -> Value {
        let mut child = self
            .command(&["app-server"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn codex app-server");
        let mut stdin = child.stdin.take().unwrap();
        let (tx, rx) = mpsc::channel::<Value>();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        let requests = [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"clientInfo": {"name": "claude-auth-tests", "version": "1"}}}),
            json!({"jsonrpc": "2.0", "method": "initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "getAuthStatus",
                   "params": {"includeToken": true, "refreshToken": refresh}}),
        ];
        for r in requests {
            writeln!(stdin, "{r}").unwrap();
        }
        stdin.flush().unwrap();
        let deadline = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        let answer = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(v) if v.get("id") == Some(&json!(2)) => break v,
                Ok(v) => seen.push(v),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "codex app-server gave no getAuthStatus answer ({e}); it said: {seen:?}"
                    );
                }
            }
        };
        // Closing stdin ends the server; kill it if it lingers.
        drop(stdin);
        let stop = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() >= stop {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(rx);
        let _ = reader.join();
        assert!(
            answer.get("error").is_none(),
            "getAuthStatus failed: {answer}"
        );
        answer["result"].clone()
    }
}

/// Wait for `child` (at most [`DEADLINE`], killed past it) and collect its
/// output.
pub fn finish(mut child: Child, args: &[&str]) -> Run {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("codex {args:?} ran over {DEADLINE:?} (hung offline?)");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: status.code().unwrap_or(-1),
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

/// `chmod`.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// An unsigned-looking JWT with `claims` (Codex and claude-auth read the
/// claims without verifying the signature).
pub fn jwt(claims: &Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT"});
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(b"not-a-real-signature")
    )
}

/// The facts a ChatGPT login's tokens carry.
#[derive(Clone, Debug)]
pub struct ChatGptLogin {
    /// `email`.
    pub email: String,
    /// `chatgpt_account_id` (and `tokens.account_id`).
    pub account_id: String,
    /// `chatgpt_plan_type`.
    pub plan: String,
    /// The access token's `exp`.
    pub expires_at: u64,
    /// A tag that makes the tokens unique.
    pub tag: String,
}

impl ChatGptLogin {
    fn auth_claims(&self) -> Value {
        json!({
            "chatgpt_account_id": self.account_id,
            "chatgpt_plan_type": self.plan,
            "chatgpt_user_id": format!("user-{}", self.tag),
        })
    }

    /// The id token (email, plan, account).
    pub fn id_token(&self) -> String {
        jwt(&json!({
            "iss": "https://auth.openai.com",
            "aud": ["app_EMoamEEZ73f0CkXaXp7hrann"],
            "email": self.email,
            "email_verified": true,
            "exp": self.expires_at,
            "https://api.openai.com/auth": self.auth_claims(),
        }))
    }

    /// The access token (a JWT whose `exp` is the expiry).
    pub fn access_token(&self) -> String {
        jwt(&json!({
            "iss": "https://auth.openai.com",
            "aud": ["https://api.openai.com/v1"],
            "exp": self.expires_at,
            "jti": format!("access-{}", self.tag),
            "https://api.openai.com/auth": self.auth_claims(),
        }))
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> String {
        format!("rt_{}_0123456789abcdef", self.tag)
    }
}
