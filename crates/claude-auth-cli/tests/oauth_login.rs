//! `claude-auth login` (the browser / paste OAuth flow) end to end, against
//! the OAuth test rig: a real oidc-provider server and headless Chromium as
//! `$BROWSER` (tests/oauth-rig). Run through `scripts/test`, which installs
//! the rig; without it every test prints a skip note and returns.
//!
//! Browser logins cost ~4 s each on 2 cores and slow each other down when
//! run in parallel, so every test that drives the browser holds
//! [`BROWSER_LOCK`] for its whole run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rig;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rig::Rig;
use serde_json::Value;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_claude-auth");
/// `PATH` for children.
const PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// The account the browser driver signs in as.
const EMAIL: &str = "user@example.com";
/// Upper bound for any one command (a browser login is ~4 s).
const LIMIT: Duration = Duration::from_secs(60);

static BROWSER_LOCK: Mutex<()> = Mutex::new(());

/// Serialise browser logins across the tests of this file.
fn browser_lock() -> MutexGuard<'static, ()> {
    BROWSER_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The rig is installed (else a failure under `CI`, a "skipped" note
/// otherwise).
fn have_rig() -> bool {
    if rig::rig_dir().is_none() {
        rig::skip(&rig::current_test());
        return false;
    }
    true
}

fn start_rig(args: &[&str]) -> Rig {
    Rig::start(args).expect("rig installed")
}

// ---------------------------------------------------------------------------
// A private HOME and environment for the binary.

struct Home {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    extra: Vec<(String, String)>,
}

impl Home {
    /// A fresh HOME whose settings file holds `settings`.
    fn new(settings: &str) -> Home {
        let tmp = tempfile::Builder::new()
            .prefix("claude-auth-oauth-login.")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let home = root.join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::write(root.join("config.toml"), settings).unwrap();
        Home {
            _tmp: tmp,
            root,
            home,
            extra: Vec::new(),
        }
    }

    fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    fn anthropic_dir(&self) -> PathBuf {
        self.home.join("anthropic")
    }
    fn config_path(&self, profile: &str) -> PathBuf {
        self.anthropic_dir()
            .join("configs")
            .join(format!("{profile}.json"))
    }
    fn credentials_path(&self, profile: &str) -> PathBuf {
        self.anthropic_dir()
            .join("credentials")
            .join(format!("{profile}.json"))
    }
    fn credentials(&self, profile: &str) -> Value {
        read_json(&self.credentials_path(profile))
    }

    /// The base environment: cleared, then only what these tests need.
    fn base_env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", PATH)
            .env("HOME", &self.home)
            .current_dir(&self.home);
        if let Some(node) = std::env::var_os("CLAUDE_AUTH_TEST_NODE") {
            cmd.env("CLAUDE_AUTH_TEST_NODE", node);
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        self.base_env(&mut cmd);
        cmd.args(args)
            .env("ANTHROPIC_CONFIG_DIR", self.anthropic_dir())
            .env("CLAUDE_AUTH_CONFIG_DIR", self.home.join("claude-auth"))
            .env("CLAUDE_CONFIG_DIR", self.home.join("claude"))
            .env("CLAUDE_AUTH_SETTINGS", self.root.join("config.toml"))
            .env("BROWSER", rig::browser())
            // A bus that leads nowhere: no test reaches a keyring.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", self.root.join("no-such-bus").display()),
            );
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        cmd
    }

    /// Start the binary; stdin piped (kept open) or null.
    fn spawn(&self, args: &[&str], piped_stdin: bool) -> Running {
        let mut child = self
            .command(args)
            .stdin(if piped_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn claude-auth");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let err = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.expect("stderr is UTF-8");
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        let out = std::thread::spawn(move || {
            let mut all = String::new();
            stdout.read_to_string(&mut all).expect("stdout is UTF-8");
            all
        });
        Running {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            child,
            stdin,
            lines,
            out: Some(out),
            err: Some(err),
        }
    }

    /// Run to completion with stdin closed.
    fn run(&self, args: &[&str]) -> Out {
        self.spawn(args, false).finish(LIMIT)
    }

    /// Run the rig's browser driver on `url` (as a browser on "another
    /// machine"), with this HOME.
    fn drive(&self, url: &str) -> String {
        let mut cmd = Command::new(rig::browser());
        self.base_env(&mut cmd);
        let out = cmd
            .arg(url)
            .stdin(Stdio::null())
            .output()
            .expect("run the browser driver");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "browser driver failed:\n{stderr}");
        stderr
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// What a finished command produced.
struct Out {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "claude-auth {:?}: exit {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

impl Out {
    #[track_caller]
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{self}");
        self
    }
}

/// A running command whose stderr is read line by line.
struct Running {
    args: Vec<String>,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
}

impl Running {
    /// The next stderr line matching `pred`, within `within`.
    #[track_caller]
    fn wait_line(&self, what: &str, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(line) => seen.push(line),
                Err(e) => panic!(
                    "no {what} on stderr of {:?} ({e}); saw:\n{}",
                    self.args,
                    seen.join("\n")
                ),
            }
        }
    }

    /// The next authorize URL printed on stderr (the loopback one first,
    /// then the manual one when the provider has a paste page).
    #[track_caller]
    fn authorize_url(&self, rig: &Rig) -> String {
        let prefix = format!("{}?", rig.authorize_url());
        self.wait_line("authorize URL", Duration::from_secs(20), |l| {
            l.trim().starts_with(&prefix)
        })
        .trim()
        .to_owned()
    }

    /// Write `text` to stdin.
    fn paste(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Close stdin (EOF).
    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Wait for the exit (killing it after `within`), and collect output.
    #[track_caller]
    fn finish(mut self, within: Duration) -> Out {
        let started = Instant::now();
        let deadline = started + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.stdin = None;
        let out = Out {
            args: self.args.clone(),
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: self.out.take().unwrap().join().unwrap(),
            stderr: self.err.take().unwrap().join().unwrap(),
            elapsed: started.elapsed(),
        };
        assert!(
            status.is_some(),
            "still running after {within:?}, killed:\n{out}"
        );
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave a login waiting for 300 s.
        if self.out.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// URLs and a stand-in callback listener.

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII escape");
                out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A query parameter of a URL or request target, decoded.
fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next().unwrap();
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

/// The port of the `redirect_uri` in an authorize URL.
fn redirect_port(authorize_url: &str) -> u16 {
    let redirect = query_param(authorize_url, "redirect_uri").expect("redirect_uri");
    let rest = redirect
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a 127.0.0.1 redirect: {redirect}"));
    rest.strip_suffix("/callback")
        .unwrap_or_else(|| panic!("not a /callback redirect: {redirect}"))
        .parse()
        .unwrap()
}

/// The same URL with its loopback redirect moved to `port`.
fn with_redirect_port(authorize_url: &str, port: u16) -> String {
    let from = format!(
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A{}%2Fcallback",
        redirect_port(authorize_url)
    );
    assert_eq!(authorize_url.matches(&from).count(), 1, "{authorize_url}");
    authorize_url.replace(
        &from,
        &format!("redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback"),
    )
}

/// A tiny HTTP listener standing in for "the browser's machine": it answers
/// every request with a page and reports the target of the first
/// `GET /callback…` it receives.
struct Catcher {
    port: u16,
    targets: mpsc::Receiver<String>,
}

impl Catcher {
    fn start() -> Catcher {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, targets) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let tx = tx.clone();
                // One thread per connection: Chromium may preconnect sockets
                // that never send anything.
                std::thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(20)))
                        .unwrap();
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let body = "<!doctype html><title>caught</title><p>caught</p>";
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    if head.starts_with("GET /callback?") {
                        let _ = tx.send(target);
                    }
                });
            }
        });
        Catcher { port, targets }
    }

    fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// The callback's request target (`/callback?code=…&state=…`).
    fn target(&self) -> String {
        self.targets
            .recv_timeout(Duration::from_secs(5))
            .expect("the browser reached the stand-in callback")
    }
}

fn settings(rig: &Rig, code_encoding: &str) -> String {
    rig.provider_toml("rig", code_encoding, "form")
}

/// A `$BROWSER` that fails the test if it runs: it touches `marker`.
fn forbidden_browser(home: &Home) -> (PathBuf, PathBuf) {
    let marker = home.root.join("browser-ran");
    let script = home.root.join("forbidden-browser");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, marker)
}

// ---------------------------------------------------------------------------
// 1. End to end through headless Chromium as $BROWSER.

#[test]
fn browser_login_end_to_end_writes_the_official_profile() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let home = Home::new(&settings(&rig, "json"));

    let before = now();
    // stdin null (as in CI): the paste reader hits EOF at once, the browser
    // flow must still complete.
    let out = home.run(&["login", "--provider", "rig", "--profile", "work"]);
    let after = now();
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!(
            "✓ Logged in as {EMAIL} (oauth-rig test org), profile work"
        )),
        "{out}"
    );
    assert_eq!(out.stdout, "", "{out}");

    let config = read_json(&home.config_path("work"));
    assert_eq!(config["authentication"]["type"], "user_oauth", "{config}");
    assert_eq!(
        config["authentication"]["client_id"],
        rig::CLIENT_ID,
        "{config}"
    );

    let creds_path = home.credentials_path("work");
    let creds = read_json(&creds_path);
    assert_eq!(creds["type"], "oauth_token", "{creds}");
    let access = creds["access_token"].as_str().expect("access_token");
    let refresh = creds["refresh_token"].as_str().expect("refresh_token");
    assert!(!access.is_empty() && !refresh.is_empty() && access != refresh);
    let expires_at = creds["expires_at"]
        .as_u64()
        .unwrap_or_else(|| panic!("expires_at is not an integer: {creds}"));
    assert!(
        (before + 3600..=after + 3600).contains(&expires_at),
        "expires_at {expires_at} not in now+3600 ({before}..={after})"
    );
    assert_eq!(creds["account_email"], EMAIL, "{creds}");
    assert_eq!(mode(&creds_path), 0o600);
    assert_eq!(
        std::fs::read_to_string(home.anthropic_dir().join("active_config"))
            .unwrap()
            .trim(),
        "work"
    );

    let stats = rig.stats();
    assert_eq!(stats["codeGrants"], 1, "{stats}");

    let token = home.run(&["token", "--profile", "work"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{access}\n"), "{token}");

    let status = home.run(&["status", "--json"]);
    status.assert_code(0);
    let json: Value =
        serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("{e}\n{status}"));
    assert_eq!(json["winner"], "active-profile", "{json:#}");
    assert_eq!(json["credential"]["profile"], "work", "{json:#}");
    assert_eq!(json["credential"]["account"], EMAIL, "{json:#}");
    assert_eq!(json["credential"]["refreshable"], true, "{json:#}");
    assert_eq!(
        json["credential"]["location"],
        creds_path.display().to_string(),
        "{json:#}"
    );
}

// ---------------------------------------------------------------------------
// 2. Both encodings of the code exchange, and a mismatch.

#[test]
fn code_exchange_uses_the_providers_encoding() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    for encoding in ["json", "form"] {
        let rig = start_rig(&[&format!("--require-{encoding}")]);
        let home = Home::new(&settings(&rig, encoding));
        let out = home.run(&["login", "--provider", "rig", "--profile", "work"]);
        out.assert_code(0);
        assert!(
            out.stderr.contains(&format!("✓ Logged in as {EMAIL}")),
            "{out}"
        );
        let stats = rig.stats();
        assert_eq!(stats["requireEncoding"], encoding, "{stats}");
        assert_eq!(stats["codeGrants"], 1, "{stats}");
        let requests = stats["tokenRequests"].as_array().unwrap();
        assert_eq!(requests.len(), 1, "{stats}");
        assert_eq!(requests[0]["grant_type"], "authorization_code", "{stats}");
        assert_eq!(requests[0]["encoding"], encoding, "{stats}");
        assert_eq!(requests[0]["status"], 200, "{stats}");
        assert!(home.credentials_path("work").exists());
    }
}

#[test]
fn code_exchange_with_the_wrong_encoding_fails_clearly() {
    if !have_rig() {
        return;
    }
    // The server wants JSON, the provider is configured for forms. The rig
    // checks the encoding before it looks at the code, so a pasted code
    // (with the login's real state) reaches the same failure as a browser
    // login would, without the browser's 4 s.
    let rig = start_rig(&["--require-json"]);
    let home = Home::new(&settings(&rig, "form"));
    let mut login = home.spawn(
        &[
            "login",
            "--provider",
            "rig",
            "--profile",
            "work",
            "--no-browser",
        ],
        true,
    );
    let url = login.authorize_url(&rig);
    let state = query_param(&url, "state").expect("state");
    login.paste(&format!("not-a-real-code#{state}\n"));
    let out = login.finish(LIMIT);
    out.assert_code(1);
    assert!(out.stderr.contains("exchanging the code failed"), "{out}");
    assert!(out.stderr.contains("HTTP 400: invalid_request"), "{out}");
    assert!(
        out.stderr.contains(
            "token requests must be application/json (got application/x-www-form-urlencoded)"
        ),
        "{out}"
    );
    assert!(!out.stderr.contains("Logged in"), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    let stats = rig.stats();
    assert_eq!(stats["codeGrants"], 0, "{stats}");
    let requests = stats["tokenRequests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "one attempt, no retry of a 400: {stats}");
    assert_eq!(requests[0]["encoding"], "form", "{stats}");
    assert_eq!(requests[0]["status"], 400, "{stats}");
    assert!(!home.credentials_path("work").exists());
    assert!(!home.config_path("work").exists());
}

// ---------------------------------------------------------------------------
// 3. The paste flow (--no-browser).

#[test]
fn no_browser_paste_of_the_redirect_url() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let mut home = Home::new(&settings(&rig, "json"));
    let (script, marker) = forbidden_browser(&home);
    home.set("BROWSER", script.to_str().unwrap());

    let mut login = home.spawn(
        &[
            "login",
            "--provider",
            "rig",
            "--profile",
            "work",
            "--no-browser",
        ],
        true,
    );
    let url = login.authorize_url(&rig);
    let login_port = redirect_port(&url);

    // The browser is on another machine: its redirect lands elsewhere.
    let catcher = Catcher::start();
    home.drive(&with_redirect_port(&url, catcher.port));
    let target = catcher.target();
    let code = query_param(&target, "code").expect("code");
    assert_eq!(
        query_param(&target, "state"),
        query_param(&url, "state"),
        "{target}"
    );
    // Nothing reached the login's own listener.
    assert_eq!(rig.stat("codeGrants"), 0);

    login.paste(&format!("http://127.0.0.1:{}{target}\n", catcher.port));
    let out = login.finish(LIMIT);
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("✓ Logged in as {EMAIL}")),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("Open this URL in a browser on this machine:"),
        "{out}"
    );
    assert!(!out.stderr.contains(&code), "the code was echoed:\n{out}");
    assert!(!marker.exists(), "--no-browser ran $BROWSER");
    assert_eq!(home.credentials("work")["account_email"], EMAIL);
    assert_eq!(rig.stat("codeGrants"), 1);
    // The login's listener is gone.
    assert!(TcpStream::connect(("127.0.0.1", login_port)).is_err());
}

#[test]
fn no_browser_paste_of_code_hash_state_from_the_manual_page() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    // The provider's "paste the code" page is the stand-in listener.
    let catcher = Catcher::start();
    let mut home = Home::new(&format!(
        "{}manual_redirect_url = \"{}\"\n",
        settings(&rig, "json"),
        catcher.redirect_uri()
    ));
    let (script, marker) = forbidden_browser(&home);
    home.set("BROWSER", script.to_str().unwrap());

    let mut login = home.spawn(
        &[
            "login",
            "--provider",
            "rig",
            "--profile",
            "work",
            "--no-browser",
        ],
        true,
    );
    let loopback = login.authorize_url(&rig);
    login.wait_line("the manual-URL hint", Duration::from_secs(5), |l| {
        l.contains(
            "On another machine (SSH)? Open this URL there instead and paste the code shown:",
        )
    });
    let manual = login.authorize_url(&rig);
    assert_eq!(
        query_param(&manual, "redirect_uri").as_deref(),
        Some(catcher.redirect_uri().as_str())
    );
    assert_eq!(
        query_param(&manual, "state"),
        query_param(&loopback, "state")
    );
    assert_eq!(
        query_param(&manual, "code_challenge"),
        query_param(&loopback, "code_challenge")
    );

    home.drive(&manual);
    let target = catcher.target();
    let code = query_param(&target, "code").expect("code");
    let state = query_param(&target, "state").expect("state");
    login.paste(&format!("{code}#{state}\n"));
    let out = login.finish(LIMIT);
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("✓ Logged in as {EMAIL}")),
        "{out}"
    );
    assert!(!marker.exists(), "--no-browser ran $BROWSER");
    assert!(home.credentials_path("work").exists());
    let stats = rig.stats();
    assert_eq!(stats["codeGrants"], 1, "{stats}");
    assert_eq!(stats["failedTokenRequests"], 0, "{stats}");
}

// ---------------------------------------------------------------------------
// 4. The user clicks Cancel.

#[test]
fn denied_login_fails_and_stores_nothing() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let mut home = Home::new(&settings(&rig, "json"));
    home.set("RIG_BROWSER_ACTION", "deny");
    let out = home.run(&["login", "--provider", "rig", "--profile", "work"]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("the provider refused the login: access_denied"),
        "{out}"
    );
    assert!(!out.stderr.contains("Logged in"), "{out}");
    assert!(!home.credentials_path("work").exists());
    assert!(!home.anthropic_dir().join("active_config").exists());
    let stats = rig.stats();
    assert_eq!(stats["codeGrants"], 0, "{stats}");
    assert_eq!(
        stats["tokenRequests"].as_array().unwrap().len(),
        0,
        "{stats}"
    );
}

// ---------------------------------------------------------------------------
// 5. Wrong state, other paths, junk and silent clients do not end the login.

#[test]
fn callback_ignores_wrong_state_other_paths_junk_and_silent_clients() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let home = Home::new(&settings(&rig, "json"));
    let login = home.spawn(
        &[
            "login",
            "--provider",
            "rig",
            "--profile",
            "work",
            "--no-browser",
        ],
        false,
    );
    let url = login.authorize_url(&rig);
    let port = redirect_port(&url);
    let base = format!("http://127.0.0.1:{port}");

    let (status, body) = rig::http(&base, "GET", "/callback?code=x&state=WRONG", None);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("wrong state"), "{body}");
    login.wait_line(
        "the ignored-callback warning",
        Duration::from_secs(5),
        |l| l.contains("ignored a callback with a missing or wrong state"),
    );
    let (status, _) = rig::http(&base, "GET", "/callback?code=x", None);
    assert_eq!(status, 400);
    let (status, _) = rig::http(&base, "GET", "/other?code=x&state=y", None);
    assert_eq!(status, 404);

    // Junk: answered 400, connection closed, server still up.
    let mut junk = TcpStream::connect(("127.0.0.1", port)).unwrap();
    junk.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    junk.write_all(b"\x00\x01\x02 not http at all \xff\xfe\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = junk.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // Half a request, then silence; and a client that sends nothing.
    let mut partial = TcpStream::connect(("127.0.0.1", port)).unwrap();
    partial.write_all(b"GET /callback?code=").unwrap();
    let silent = TcpStream::connect(("127.0.0.1", port)).unwrap();

    // While they hang on, the real login completes.
    home.drive(&url);
    let out = login.finish(LIMIT);
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("✓ Logged in as {EMAIL}")),
        "{out}"
    );
    assert!(home.credentials_path("work").exists());
    assert_eq!(rig.stat("codeGrants"), 1);
    drop((partial, silent));
}

// ---------------------------------------------------------------------------
// 6. Timeout.

#[test]
fn login_times_out_and_closes_the_callback_port() {
    if !have_rig() {
        return;
    }
    let rig = start_rig(&[]);
    let home = Home::new(&settings(&rig, "json"));
    let login = home.spawn(
        &[
            "login",
            "--provider",
            "rig",
            "--profile",
            "work",
            "--no-browser",
            "--timeout",
            "2",
        ],
        false,
    );
    let url = login.authorize_url(&rig);
    let port = redirect_port(&url);
    let out = login.finish(Duration::from_secs(15));
    out.assert_code(1);
    assert!(
        out.elapsed < Duration::from_secs(8),
        "took {:?}",
        out.elapsed
    );
    assert!(
        out.stderr.contains("no login completed within 2 s"),
        "{out}"
    );
    let refused = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(!home.credentials_path("work").exists());
    assert_eq!(rig.stat("codeGrants"), 0);
}

// ---------------------------------------------------------------------------
// 7. A replayed code (library level).

#[test]
fn replayed_code_is_invalid_grant() {
    use claude_auth::oauth::authorize::authorize_url;
    use claude_auth::oauth::callback::{CallbackEvent, CallbackServer};
    use claude_auth::oauth::pkce::PkcePair;
    use claude_auth::oauth::token_client::{Endpoint, Grant, OAuthError, TokenClient};
    use claude_auth::provider::{PresetOverride, Presets};

    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let home = Home::new("");
    let overrides: std::collections::BTreeMap<String, PresetOverride> = toml::from_str(
        &rig.provider_toml("rig", "json", "form")
            .replace("[providers.rig]", "[rig]"),
    )
    .unwrap();
    let presets = Presets::load(&overrides, "test").unwrap();
    let preset = presets.get("rig").unwrap().clone();
    let pkce = PkcePair::generate().unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut server = CallbackServer::start("127.0.0.1", "/callback", None, pkce.state.clone())
            .await
            .unwrap();
        let url = authorize_url(&preset, &pkce, &server.redirect_uri).unwrap();
        let driver = std::thread::spawn(move || home.drive(&url));
        let code = match tokio::time::timeout(Duration::from_secs(40), server.next_event())
            .await
            .expect("a callback within 40 s")
        {
            Some(CallbackEvent::Code(code)) => code,
            other => panic!("expected a code, got {other:?}"),
        };
        let redirect_uri = server.redirect_uri.clone();
        driver.join().unwrap();
        drop(server);

        let client = TokenClient::new().unwrap();
        let endpoint = Endpoint {
            url: preset.token_url.clone(),
            encoding: preset.code_encoding,
            client_id: Some(preset.client_id.clone()),
            client_secret: None,
            headers: Default::default(),
        };
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier: pkce.verifier.clone(),
            state: None,
            expires_in: None,
        };
        let first = client
            .request(&endpoint, &grant)
            .await
            .expect("first exchange");
        let refresh = first.refresh_token.clone().expect("a refresh token");
        assert_eq!(rig.stat("codeGrants"), 1);

        let second = client.request(&endpoint, &grant).await.unwrap_err();
        assert!(
            matches!(second, OAuthError::InvalidGrant { .. }),
            "{second:?}"
        );

        // Replaying the code revoked the grant it issued.
        let endpoint = Endpoint {
            encoding: preset.refresh_encoding,
            ..endpoint
        };
        let refreshed = client
            .request(
                &endpoint,
                &Grant::Refresh {
                    refresh_token: refresh,
                    scope: None,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(refreshed, OAuthError::InvalidGrant { .. }),
            "{refreshed:?}"
        );
    });
    let stats = rig.stats();
    assert_eq!(stats["codeGrants"], 1, "{stats}");
    assert_eq!(stats["refreshGrants"], 0, "{stats}");
    let requests = stats["tokenRequests"].as_array().unwrap();
    assert_eq!(requests.len(), 3, "no retries of invalid_grant: {stats}");
    assert_eq!(requests[1]["grant_type"], "authorization_code", "{stats}");
    assert_eq!(requests[1]["error"], "invalid_grant", "{stats}");
}

// ---------------------------------------------------------------------------
// 8. Logout revokes at the provider.

#[test]
fn logout_revokes_the_grant_and_deletes_the_credentials() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let home = Home::new(&settings(&rig, "json"));
    home.run(&["login", "--provider", "rig", "--profile", "work"])
        .assert_code(0);
    assert_eq!(rig.stat("revokedGrants"), 0);
    let out = home.run(&["logout", "--profile", "work"]);
    out.assert_code(0);
    assert!(out.stderr.contains("Logged out of profile work"), "{out}");
    assert!(!home.credentials_path("work").exists());
    assert_eq!(rig.stat("revokedGrants"), 1);
}

#[test]
fn logout_with_the_provider_down_warns_and_still_deletes() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let home = Home::new(&settings(&rig, "json"));
    home.run(&["login", "--provider", "rig", "--profile", "work"])
        .assert_code(0);
    drop(rig);
    let out = home.run(&["logout", "--profile", "work"]);
    out.assert_code(0);
    // The wording is not written yet: "revoke…" or "revocation…".
    assert!(
        out.stderr.to_lowercase().contains("revo"),
        "no revocation warning:\n{out}"
    );
    assert!(out.stderr.contains("Logged out of profile work"), "{out}");
    assert!(!home.credentials_path("work").exists());
}

// ---------------------------------------------------------------------------
// 9. RUST_LOG=trace leaks no secret.

/// Every run of 43 base64url characters in `text` whose S256 challenge is
/// `challenge` (i.e. the PKCE verifier).
fn verifier_in(text: &str, challenge: &str) -> bool {
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.split(|c: char| !b64(c))
        .filter(|w| w.len() >= 43)
        .any(|w| {
            (0..=w.len() - 43)
                .any(|i| claude_auth::oauth::pkce::challenge_for(&w[i..i + 43]) == challenge)
        })
}

#[test]
fn trace_logging_never_shows_a_secret() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let mut home = Home::new(&settings(&rig, "json"));
    home.set("RUST_LOG", "trace");

    // Paste flow, so the test sees the code too.
    let mut login = home.spawn(
        &[
            "login",
            "--provider",
            "rig",
            "--profile",
            "work",
            "--no-browser",
        ],
        true,
    );
    let url = login.authorize_url(&rig);
    let challenge = query_param(&url, "code_challenge").expect("code_challenge");
    let catcher = Catcher::start();
    home.drive(&with_redirect_port(&url, catcher.port));
    let target = catcher.target();
    let code = query_param(&target, "code").unwrap();
    login.paste(&format!("http://127.0.0.1:{}{target}\n", catcher.port));
    let login = login.finish(LIMIT);
    login.assert_code(0);
    assert!(
        login.stderr.contains("TRACE") || login.stderr.contains("DEBUG"),
        "RUST_LOG=trace logged nothing:\n{login}"
    );

    let first = home.credentials("work");
    let token = home.run(&["token", "--profile", "work"]);
    token.assert_code(0);
    let refresh = home.run(&["refresh", "--profile", "work"]);
    refresh.assert_code(0);
    let second = home.credentials("work");
    let logout = home.run(&["logout", "--profile", "work"]);
    logout.assert_code(0);
    assert_eq!(rig.stat("refreshGrants"), 1);

    let mut secrets = vec![("code", code)];
    for (when, creds) in [("login", &first), ("refresh", &second)] {
        for key in ["access_token", "refresh_token"] {
            let value = creds[key].as_str().unwrap().to_owned();
            assert!(value.len() >= 20, "{key}: {value}");
            secrets.push((
                if when == "login" {
                    key
                } else {
                    "rotated token"
                },
                value,
            ));
        }
    }
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(token.stdout, format!("{access}\n"));

    let outputs = [
        ("login stdout", &login.stdout),
        ("login stderr", &login.stderr),
        ("token stderr", &token.stderr),
        ("refresh stdout", &refresh.stdout),
        ("refresh stderr", &refresh.stderr),
        ("logout stdout", &logout.stdout),
        ("logout stderr", &logout.stderr),
    ];
    for (name, text) in outputs {
        for (what, secret) in &secrets {
            assert!(!text.contains(secret.as_str()), "{what} in {name}:\n{text}");
        }
        assert!(
            !verifier_in(text, &challenge),
            "PKCE verifier in {name}:\n{text}"
        );
    }
    assert!(!verifier_in(&token.stdout, &challenge));
}

// ---------------------------------------------------------------------------
// 10. The subscription terms notice.

#[test]
fn subscription_login_shows_the_terms_notice_before_the_url() {
    if !have_rig() {
        return;
    }
    let _browser = browser_lock();
    let rig = start_rig(&[]);
    let home = Home::new(&format!(
        "[providers.claude]\nclient_id = \"{}\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\nrevocation_url = \"{}\"\nredirect_host = \"127.0.0.1\"\ncode_encoding = \"json\"\n",
        rig::CLIENT_ID,
        rig.authorize_url(),
        rig.token_url(),
        rig.revocation_url()
    ));
    // stdin a pipe closed at once: EOF must not end the browser flow.
    let mut login = home.spawn(&["login", "--provider", "claude", "--profile", "sub"], true);
    login.close_stdin();
    let out = login.finish(LIMIT);
    out.assert_code(0);
    let notice = out
        .stderr
        .find("meant for Claude Code and Anthropic's own apps")
        .unwrap_or_else(|| panic!("no terms notice:\n{out}"));
    let url = out
        .stderr
        .find(&format!("{}?", rig.authorize_url()))
        .unwrap_or_else(|| panic!("no URL:\n{out}"));
    assert!(notice < url, "the notice comes after the URL:\n{out}");
    assert!(
        out.stderr.contains(&format!("✓ Logged in as {EMAIL}")),
        "{out}"
    );
    let stats = rig.stats();
    assert_eq!(stats["codeGrants"], 1, "{stats}");
    assert_eq!(stats["tokenRequests"][0]["encoding"], "json", "{stats}");
    let config = read_json(&home.config_path("sub"));
    assert_eq!(config["authentication"]["client_id"], rig::CLIENT_ID);
}
