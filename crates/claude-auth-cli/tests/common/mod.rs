//! Shared helpers for the CLI's integration tests.
//!
//! Every test runs the real `claude-auth` binary in a [`Sandbox`]: a fresh
//! temp dir used as `HOME`, with the child's environment cleared
//! (`env_clear`) and only `PATH`, `HOME`, a D-Bus address that leads nowhere
//! (so no test can reach the user's keyring) and what the test sets added
//! back. Every location claude-auth reads therefore lies inside the temp dir:
//!
//! | what | where (no variable set) |
//! |---|---|
//! | spec config dir | `$HOME/.config/anthropic` |
//! | claude-auth's own dir | `$HOME/.config/claude-auth` |
//! | Claude Code | `$HOME/.claude/.credentials.json` |
//! | seed library | `$HOME/.config/claude/auth.json` |
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

mod require_env;
#[allow(unused_imports)] // each test file uses a different part
pub use require_env::{
    missing_env, missing_env_named, require_curl, require_env, require_secret_service, under_ci,
};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_claude-auth");

/// `PATH` for children: enough for `sh`, `printf` and friends.
pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Now, Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A local URL nothing listens on (connections are refused at once), for
/// tests whose commands would otherwise reach the network.
pub fn closed_local_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// What one run of a command produced.
#[derive(Clone, Debug)]
pub struct Run {
    /// The arguments (for messages).
    pub args: Vec<String>,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout of {:?} is not JSON ({e}):\n{}", self.args, self))
    }

    /// stdout's lines.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// stderr's lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// Assert the exit code, showing the output when it differs.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code of {:?}:\n{self}", self.args);
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- exit {} ---\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A private HOME and environment for the binary.
pub struct Sandbox {
    tmp: tempfile::TempDir,
    home: PathBuf,
    vars: BTreeMap<String, String>,
    transcript: RefCell<Vec<Run>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A fresh sandbox: `HOME` is an empty dir, nothing else is set.
    pub fn new() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("claude-auth-cli-test.")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let home = root.join("home");
        std::fs::create_dir(&home).unwrap();
        let mut vars = BTreeMap::new();
        // A bus address that leads nowhere: the keyring store fails fast
        // instead of reaching (or auto-launching) a real session bus.
        vars.insert(
            "DBUS_SESSION_BUS_ADDRESS".to_owned(),
            format!("unix:path={}", root.join("no-such-bus").display()),
        );
        Sandbox {
            tmp,
            home,
            vars,
            transcript: RefCell::new(Vec::new()),
        }
    }

    /// The temp dir that holds `HOME` (for files outside HOME).
    pub fn root(&self) -> PathBuf {
        self.tmp.path().canonicalize().unwrap()
    }

    /// `HOME`.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Set a variable for every later run.
    pub fn set(&mut self, key: &str, value: impl AsRef<str>) -> &mut Self {
        self.vars.insert(key.to_owned(), value.as_ref().to_owned());
        self
    }

    /// Unset a variable for later runs.
    pub fn unset(&mut self, key: &str) -> &mut Self {
        self.vars.remove(key);
        self
    }

    /// The value set for `key`, if any.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// The spec config dir the binary will use.
    pub fn anthropic_dir(&self) -> PathBuf {
        match self.var("ANTHROPIC_CONFIG_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match self.var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
                Some(xdg) => PathBuf::from(xdg).join("anthropic"),
                None => self.home.join(".config").join("anthropic"),
            },
        }
    }

    /// claude-auth's own dir.
    pub fn own_dir(&self) -> PathBuf {
        match self.var("CLAUDE_AUTH_CONFIG_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match self.var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
                Some(xdg) => PathBuf::from(xdg).join("claude-auth"),
                None => self.home.join(".config").join("claude-auth"),
            },
        }
    }

    /// Claude Code's config dir.
    pub fn claude_dir(&self) -> PathBuf {
        match self.var("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => self.home.join(".claude"),
        }
    }

    /// `configs/<p>.json`.
    pub fn config_path(&self, profile: &str) -> PathBuf {
        self.anthropic_dir()
            .join("configs")
            .join(format!("{profile}.json"))
    }

    /// `credentials/<p>.json`.
    pub fn credentials_path(&self, profile: &str) -> PathBuf {
        self.anthropic_dir()
            .join("credentials")
            .join(format!("{profile}.json"))
    }

    /// `active_config`.
    pub fn active_config_path(&self) -> PathBuf {
        self.anthropic_dir().join("active_config")
    }

    /// claude-auth's own key file for `profile`.
    pub fn key_file_path(&self, profile: &str) -> PathBuf {
        self.own_dir()
            .join("credentials")
            .join(format!("{profile}.json"))
    }

    /// Claude Code's credential file.
    pub fn claude_code_path(&self) -> PathBuf {
        self.claude_dir().join(".credentials.json")
    }

    /// The seed library's default file.
    pub fn seed_path(&self) -> PathBuf {
        self.home.join(".config").join("claude").join("auth.json")
    }

    /// A command for the binary with this sandbox's environment only.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", &self.home)
            .envs(&self.vars)
            .current_dir(&self.home);
        cmd
    }

    /// Run the binary with stdin closed.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    /// Run the binary with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        self.run_with_stdin(args, Some(input))
    }

    fn run_with_stdin(&self, args: &[&str], input: Option<&str>) -> Run {
        let mut cmd = self.command(args);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn claude-auth");
        if let Some(input) = input {
            let mut stdin = child.stdin.take().unwrap();
            // The child may exit before reading (a refused login): ignore EPIPE.
            let _ = stdin.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().unwrap();
        let run = Run {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        };
        self.transcript.borrow_mut().push(run.clone());
        run
    }

    /// Every run so far.
    pub fn transcript(&self) -> Vec<Run> {
        self.transcript.borrow().clone()
    }

    /// `login --with-token` with `token` on stdin, asserting success.
    #[track_caller]
    pub fn login(&self, profile: Option<&str>, token: &str) -> Run {
        let mut args = vec!["login", "--with-token"];
        if let Some(p) = profile {
            args.extend(["--profile", p]);
        }
        let run = self.run_stdin(&args, &format!("{token}\n"));
        run.assert_code(0);
        run
    }

    /// `status --json`, parsed.
    pub fn status_json(&self) -> (Run, Value) {
        let run = self.run(&["status", "--json"]);
        let json = run.json();
        (run, json)
    }

    /// Write a spec profile by hand: `configs/<p>.json` (0644) and
    /// `credentials/<p>.json` (0600).
    pub fn write_profile(&self, profile: &str, config: &Value, credentials: &Value) {
        write_file(
            &self.config_path(profile),
            &serde_json::to_string_pretty(config).unwrap(),
            0o644,
        );
        write_file(
            &self.credentials_path(profile),
            &serde_json::to_string_pretty(credentials).unwrap(),
            0o600,
        );
    }

    /// A static (no client_id) OAuth profile holding `token`.
    pub fn write_static_profile(&self, profile: &str, token: &str, expires_at: Option<u64>) {
        let mut creds = serde_json::json!({
            "version": "1.0",
            "type": "oauth_token",
            "access_token": token,
        });
        if let Some(exp) = expires_at {
            creds["expires_at"] = exp.into();
        }
        self.write_profile(
            profile,
            &serde_json::json!({"version": "1.0", "authentication": {"type": "user_oauth"}}),
            &creds,
        );
    }

    /// Write `active_config`.
    pub fn write_active_config(&self, profile: &str) {
        write_file(&self.active_config_path(), profile, 0o644);
    }

    /// Claude Code's credential file with a subscription login.
    pub fn write_claude_code(&self, access: &str, expires_at_ms: u64, mode: u32) {
        let doc = serde_json::json!({
            "claudeAiOauth": {
                "accessToken": access,
                "refreshToken": "sk-ant-ort01-m1Wq8ZkR3vTn6YpLc2HsXe9GdJb4Af7U",
                "expiresAt": expires_at_ms,
                "scopes": ["user:inference", "user:profile"],
                "subscriptionType": "max",
                "rateLimitTier": "default_claude_max_20x"
            },
            "mcpOAuth": {}
        });
        write_file(
            &self.claude_code_path(),
            &serde_json::to_string(&doc).unwrap(),
            mode,
        );
    }

    /// The seed library's `auth.json` at `path`.
    pub fn write_seed(&self, path: &Path, access: &str, token_expiry: u64) {
        let doc = serde_json::json!({
            "access_token": access,
            "refresh_token": "sk-ant-ort01-Tz5Nc8Kd2QwXr7Lm4Vb9Jh3Fs6Gp1Ey0",
            "token_expiry": token_expiry,
        });
        write_file(path, &serde_json::to_string(&doc).unwrap(), 0o600);
    }
}

/// Write a file (creating parents 0700) and set its mode exactly.
pub fn write_file(path: &Path, contents: &str, mode: u32) {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .unwrap();
    }
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Permission bits of a path (not following a final symlink).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The source line with `id` in a `status --json` document.
#[track_caller]
pub fn source<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["sources"]
        .as_array()
        .expect("sources is an array")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no source {id} in {status:#}"))
}

/// The warning codes of a `status --json` document, in order.
pub fn warning_codes(status: &Value) -> Vec<String> {
    status["warnings"]
        .as_array()
        .expect("warnings is an array")
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of sources that are `found`, with (winner, shadowed).
pub fn found_sources(status: &Value) -> Vec<(String, bool, bool)> {
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "found")
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["winner"].as_bool().unwrap(),
                s["shadowed"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The masked form `status` shows for a token with a known prefix.
pub fn masked(secret: &str) -> String {
    for prefix in ["sk-ant-api03-", "sk-ant-oat01-", "sk-ant-ort01-"] {
        if let Some(rest) = secret.strip_prefix(prefix) {
            let tail: String = rest.chars().skip(rest.chars().count() - 4).collect();
            return format!("{prefix}…{tail}");
        }
    }
    format!("(set, {} chars)", secret.chars().count())
}

/// Every source id, in the default precedence order.
pub const SOURCE_IDS: [&str; 11] = [
    "explicit",
    "anthropic-api-key",
    "anthropic-auth-token",
    "anthropic-profile",
    "workload-identity",
    "active-profile",
    "claude-code-oauth-token",
    "seed-env",
    "external-command",
    "claude-code",
    "seed-file",
];

/// The human labels of the sources, in the same order.
pub const SOURCE_LABELS: [&str; 11] = [
    "explicit (--profile or code)",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_PROFILE",
    "workload identity federation",
    "active profile",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN",
    "external command",
    "Claude Code login",
    "claude-oauth-auth file",
];

/// The Python interpreter of the test venv, or `None` when
/// `CLAUDE_AUTH_TEST_PYTHON` is unset ([`missing_env`]: a failure under `CI`,
/// a "skipped" note otherwise).
pub fn test_python(test: &str) -> Option<String> {
    match std::env::var("CLAUDE_AUTH_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            missing_env_named(test, "no test venv (CLAUDE_AUTH_TEST_PYTHON is unset)");
            None
        }
    }
}

/// Run Python `script` with the sandbox's HOME and `extra` variables only.
pub fn run_python(python: &str, sb: &Sandbox, extra: &[(&str, &str)], script: &str) -> Run {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", sb.home())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(extra.iter().copied())
        .current_dir(sb.home())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        args: vec!["python".into(), "-c".into(), script.into()],
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The first `count` `export NAME='value'` lines a command printed (a
/// proxy's variables), by name.
pub fn exported(stdout: std::process::ChildStdout, count: usize) -> BTreeMap<String, String> {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut vars = BTreeMap::new();
    while vars.len() < count {
        let line = lines
            .next()
            .expect("the proxy printed its variables")
            .unwrap();
        let (k, v) = line
            .strip_prefix("export ")
            .and_then(|l| l.split_once('='))
            .unwrap();
        vars.insert(k.to_owned(), v.trim_matches('\'').to_owned());
    }
    vars
}
