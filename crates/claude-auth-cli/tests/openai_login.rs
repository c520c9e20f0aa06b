//! `claude-auth login --provider chatgpt|openai` and `logout --provider
//! openai`, end to end: the real binary against the loopback issuer in
//! ChatGPT's shape (`tests/openai_issuer`), with headless Chromium (the
//! OAuth rig's browser driver) as `$BROWSER` for the browser login. The
//! browser tests need the rig (`scripts/test` installs it): without it they
//! fail under `CI` and print a skip note otherwise.
//!
//! The redirect ports are fixed (1455, 1457): every test that listens holds
//! `ports_lock` (a file lock shared with every test process).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod openai_issuer;
mod rig;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{mode, write_file, Sandbox};
use openai_issuer::{claims, ports_lock, Config, OpenaiIssuer, AUTH_CLAIM};
use serde_json::{json, Value};

const EMAIL: &str = "user@example.com";
const ACCOUNT: &str = "0f7a3c1e-5b2d-4e8a-9c61-2d4b8e7f1a90";
const API_KEY: &str = "sk-proj-Tq3Vw8Xy2Zb5Nc7Md4Lf6Kg9Jh1";

fn sandbox(issuer: &OpenaiIssuer) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    let codex_home = sb.root().join("codex");
    sb.set("CODEX_HOME", codex_home.to_string_lossy());
    sb
}

fn codex_home(sb: &Sandbox) -> PathBuf {
    PathBuf::from(sb.var("CODEX_HOME").unwrap())
}

fn profile_path(sb: &Sandbox, name: &str) -> PathBuf {
    sb.own_dir()
        .join("openai")
        .join("credentials")
        .join(format!("{name}.json"))
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A running binary whose stderr lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    err: std::thread::JoinHandle<String>,
}

fn spawn(sb: &Sandbox, args: &[&str]) -> Running {
    let mut child = sb
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let err = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    Running { child, lines, err }
}

impl Running {
    /// The next stderr line that starts (after trimming) with `prefix`.
    fn line_starting(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).expect("the line in time");
            if line.trim().starts_with(prefix) {
                return line.trim().to_owned();
            }
        }
    }

    fn paste(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{text}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the login did not end");
            std::thread::sleep(Duration::from_millis(20));
        };
        (status.code().unwrap_or(-1), self.err.join().unwrap())
    }
}

fn assert_chatgpt_profile(sb: &Sandbox, name: &str) {
    let path = profile_path(sb, name);
    assert_eq!(mode(&path), 0o600);
    let doc = read_json(&path);
    assert_eq!(doc["provider"], "openai", "{doc:#}");
    let text = doc.to_string();
    assert!(text.contains(EMAIL) && text.contains(ACCOUNT), "{doc:#}");
    assert_eq!(
        std::fs::read_to_string(sb.own_dir().join("openai").join("active"))
            .unwrap()
            .trim(),
        name
    );
}

const NOTICE: &str = "Note: OpenAI's ChatGPT login (the client used here is Codex's) is meant for OpenAI's own tools such as Codex; applications should use API keys (`claude-auth login --with-token --provider openai`). claude-auth identifies itself honestly and does not imitate Codex.";

#[test]
fn browser_login_in_headless_chromium() {
    if rig::rig_dir().is_none() {
        rig::skip("browser_login_in_headless_chromium");
        return;
    }
    let _ports = ports_lock();
    let issuer = OpenaiIssuer::start();
    let mut sb = sandbox(&issuer);
    sb.set("BROWSER", rig::browser().to_string_lossy());
    if let Ok(node) = std::env::var("CLAUDE_AUTH_TEST_NODE") {
        sb.set("CLAUDE_AUTH_TEST_NODE", node);
    }
    let run = sb.run(&["login", "--provider", "chatgpt"]);
    run.assert_code(0);
    assert!(run.stderr.contains(NOTICE), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "Logged in to ChatGPT as {EMAIL} (ChatGPT plus), OpenAI profile default"
        )),
        "{run}"
    );
    let queries = issuer.authorize_queries();
    assert_eq!(queries.len(), 1);
    assert_eq!(
        queries[0]["redirect_uri"],
        "http://localhost:1455/auth/callback"
    );
    assert_eq!(issuer.stats().code_exchanges, 1);
    assert_chatgpt_profile(&sb, "default");
    // No token in the output.
    let stored = read_json(&profile_path(&sb, "default")).to_string();
    for token in ["rt_", "eyJ"] {
        assert!(
            stored.contains(token) && !run.stderr.contains(token),
            "{run}"
        );
    }
}

#[test]
fn browser_login_denied_in_chromium() {
    if rig::rig_dir().is_none() {
        rig::skip("browser_login_denied_in_chromium");
        return;
    }
    let _ports = ports_lock();
    let issuer = OpenaiIssuer::start();
    let mut sb = sandbox(&issuer);
    sb.set("BROWSER", rig::browser().to_string_lossy());
    sb.set("RIG_BROWSER_ACTION", "deny");
    if let Ok(node) = std::env::var("CLAUDE_AUTH_TEST_NODE") {
        sb.set("CLAUDE_AUTH_TEST_NODE", node);
    }
    let run = sb.run(&["login", "--provider", "chatgpt"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("the issuer refused the login: access_denied (The user denied the request)"),
        "{run}"
    );
    assert_eq!(issuer.stats().code_exchanges, 0);
    assert!(!profile_path(&sb, "default").exists());
}

#[test]
fn paste_flow_with_no_browser() {
    let _ports = ports_lock();
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let mut running = spawn(
        &sb,
        &[
            "login",
            "--provider",
            "chatgpt",
            "--paste",
            "--profile",
            "work",
        ],
    );
    let url = running.line_starting(&format!("{}/oauth/authorize?", issuer.url));
    let location = issuer.approve_without_browser(&url);
    running.paste(&location);
    let (code, stderr) = running.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Open this URL in a browser:"), "{stderr}");
    assert!(stderr.contains("OpenAI profile work"), "{stderr}");
    assert_chatgpt_profile(&sb, "work");
}

#[test]
fn device_code_login_writes_codex_auth_json_keeping_unknown_keys() {
    let issuer = OpenaiIssuer::start_with(Config {
        device_auto_approve_after: Some(1),
        ..Config::default()
    });
    let sb = sandbox(&issuer);
    let auth_json = codex_home(&sb).join("auth.json");
    write_file(
        &auth_json,
        &json!({"OPENAI_API_KEY": null, "tokens": null, "last_refresh": null, "agent_identity": {"kept": true}}).to_string(),
        0o600,
    );
    let run = sb.run(&["login", "--provider", "chatgpt", "--device-code", "--codex"]);
    run.assert_code(0);
    let user_code = issuer.user_codes().pop().unwrap();
    assert!(
        run.stderr
            .contains(&format!("  {}/codex/device", issuer.url)),
        "{run}"
    );
    assert!(run.stderr.contains(&user_code), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "Logged in to ChatGPT as {EMAIL} (ChatGPT plus), Codex's login"
        )),
        "{run}"
    );
    assert_eq!(mode(&auth_json), 0o600);
    let doc = read_json(&auth_json);
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert!(doc["OPENAI_API_KEY"].is_null());
    assert_eq!(doc["agent_identity"], json!({"kept": true}));
    assert_eq!(doc["tokens"]["account_id"], ACCOUNT);
    assert_eq!(
        claims(doc["tokens"]["id_token"].as_str().unwrap())["email"],
        EMAIL
    );
    assert_eq!(
        claims(doc["tokens"]["id_token"].as_str().unwrap())[AUTH_CLAIM]["chatgpt_plan_type"],
        "plus"
    );
    assert!(issuer.is_live(doc["tokens"]["refresh_token"].as_str().unwrap()));
    assert!(
        doc["last_refresh"].as_str().unwrap().ends_with('Z'),
        "{doc:#}"
    );
    // Nothing went to our own OpenAI profiles.
    assert!(!sb.own_dir().join("openai").join("credentials").exists());
}

#[test]
fn both_ports_busy_is_a_clear_error() {
    let _ports = ports_lock();
    let _held: Vec<_> = [1455u16, 1457]
        .iter()
        .map(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).unwrap())
        .collect();
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let run = sb.run(&["login", "--provider", "chatgpt"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("cannot listen for the login callback: ports 1455 and 1457 are both in use"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("claude-auth login --provider chatgpt --device-code"),
        "{run}"
    );
    assert!(issuer.authorize_queries().is_empty());
}

#[test]
fn api_key_with_token_validated_and_stored() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let run = sb.run_stdin(
        &["login", "--with-token", "--provider", "openai"],
        "sk-ant-api03-Xx9Yy8Zz7Ww6Vv5Uu4\n",
    );
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("that is an Anthropic key (sk-ant-…), not an OpenAI API key"),
        "{run}"
    );
    let run = sb.run_stdin(
        &["login", "--with-token", "--provider", "openai"],
        "hello-there\n",
    );
    run.assert_code(2);
    assert!(run.stderr.contains("OpenAI's keys start with sk-"), "{run}");
    assert!(!sb.own_dir().join("openai").exists());

    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--provider",
            "openai",
            "--profile",
            "api",
        ],
        &format!("{API_KEY}\n"),
    );
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("Stored the OpenAI API key sk-proj-…9Jh1 for OpenAI profile api"),
        "{run}"
    );
    assert!(!run.stderr.contains(API_KEY), "{run}");
    let doc = read_json(&profile_path(&sb, "api"));
    assert_eq!(doc["provider"], "openai");
    assert!(doc.to_string().contains(API_KEY));
    // Anthropic's spec dir holds nothing.
    assert!(!sb.anthropic_dir().exists());
}

#[test]
fn api_key_into_codex_and_a_corrupt_auth_json_left_alone() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let auth_json = codex_home(&sb).join("auth.json");
    write_file(&auth_json, "{not json", 0o600);
    let run = sb.run_stdin(
        &["login", "--with-token", "--provider", "openai", "--codex"],
        &format!("{API_KEY}\n"),
    );
    run.assert_code(1);
    assert!(
        run.stderr.contains(&auth_json.display().to_string()),
        "{run}"
    );
    assert_eq!(std::fs::read_to_string(&auth_json).unwrap(), "{not json");

    std::fs::remove_file(&auth_json).unwrap();
    let run = sb.run_stdin(
        &["login", "--with-token", "--provider", "openai", "--codex"],
        &format!("{API_KEY}\n"),
    );
    run.assert_code(0);
    let doc = read_json(&auth_json);
    assert_eq!(doc["auth_mode"], "apikey");
    assert_eq!(doc["OPENAI_API_KEY"], API_KEY);
    assert_eq!(mode(&auth_json), 0o600);
    assert_eq!(mode(&codex_home(&sb)), 0o700);
}

#[test]
fn logout_revokes_and_removes_the_login() {
    let issuer = OpenaiIssuer::start_with(Config {
        device_auto_approve_after: Some(0),
        ..Config::default()
    });
    let sb = sandbox(&issuer);
    sb.run(&["login", "--provider", "chatgpt", "--device-code"])
        .assert_code(0);
    sb.run(&["login", "--provider", "chatgpt", "--device-code", "--codex"])
        .assert_code(0);
    let run = sb.run(&["logout", "--provider", "openai"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("Logged out of OpenAI profile default"),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!(
            "removed {}",
            profile_path(&sb, "default").display()
        )),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!(
            "revoked the ChatGPT login at {}/oauth/revoke",
            issuer.url
        )),
        "{run}"
    );
    assert_eq!(issuer.stats().revocations, 1);
    assert!(!profile_path(&sb, "default").exists());
    let run = sb.run(&["logout", "--provider", "openai"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("Not logged in to OpenAI profile default: nothing to remove"),
        "{run}"
    );

    let auth_json = codex_home(&sb).join("auth.json");
    assert!(auth_json.exists());
    let run = sb.run(&["logout", "--provider", "openai", "--codex"]);
    run.assert_code(0);
    assert!(run.stderr.contains("Logged out of Codex's login"), "{run}");
    assert!(!auth_json.exists());
    let run = sb.run(&["logout", "--provider", "openai", "--codex"]);
    assert!(
        run.stderr
            .contains("Codex is not logged in: nothing to remove"),
        "{run}"
    );
}

#[test]
fn keyring_unavailable_falls_back_visibly() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    // Our OpenAI profile: --storage keyring on a machine without a keyring.
    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--provider",
            "openai",
            "--storage",
            "keyring",
        ],
        &format!("{API_KEY}\n"),
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("warning: the keyring is unavailable ("),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!(
            "stored in {}",
            profile_path(&sb, "default").display()
        )),
        "{run}"
    );
    // Codex in "auto" mode: the keyring if there is one, else its file.
    write_file(
        &codex_home(&sb).join("config.toml"),
        "cli_auth_credentials_store = \"auto\"\n",
        0o600,
    );
    let run = sb.run_stdin(
        &["login", "--with-token", "--provider", "openai", "--codex"],
        &format!("{API_KEY}\n"),
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("warning: the keyring is unavailable ("),
        "{run}"
    );
    assert_eq!(
        read_json(&codex_home(&sb).join("auth.json"))["OPENAI_API_KEY"],
        API_KEY
    );
    // "keyring" mode without a keyring is an error, and nothing is written.
    write_file(
        &codex_home(&sb).join("config.toml"),
        "cli_auth_credentials_store = \"keyring\"\n",
        0o600,
    );
    std::fs::remove_file(codex_home(&sb).join("auth.json")).unwrap();
    let run = sb.run_stdin(
        &["login", "--with-token", "--provider", "openai", "--codex"],
        &format!("{API_KEY}\n"),
    );
    run.assert_code(1);
    assert!(run.stderr.contains("Codex Auth"), "{run}");
    assert!(!codex_home(&sb).join("auth.json").exists());
}

#[test]
fn codex_keyring_entry_in_the_secret_service() {
    if !common::require_secret_service() {
        return;
    }
    use claude_auth::store::keyring::{KeyringBackend, OsKeyring};
    let issuer = OpenaiIssuer::start();
    let mut sb = sandbox(&issuer);
    sb.set(
        "DBUS_SESSION_BUS_ADDRESS",
        std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap(),
    );
    let home = codex_home(&sb);
    write_file(
        &home.join("config.toml"),
        "cli_auth_credentials_store = \"keyring\"\n",
        0o600,
    );
    let account = claude_auth::openai::home::keyring_account(&home);
    let run = sb.run_stdin(
        &["login", "--with-token", "--provider", "openai", "--codex"],
        &format!("{API_KEY}\n"),
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!(
            "stored in keyring entry \"Codex Auth\" / {account:?}"
        )),
        "{run}"
    );
    let doc: Value = serde_json::from_str(&OsKeyring.get("Codex Auth", &account).unwrap()).unwrap();
    assert_eq!(doc["auth_mode"], "apikey");
    assert_eq!(doc["OPENAI_API_KEY"], API_KEY);
    assert!(!home.join("auth.json").exists());
    let run = sb.run(&["logout", "--provider", "openai", "--codex"]);
    run.assert_code(0);
    assert!(run.stderr.contains("Logged out of Codex's login"), "{run}");
    assert!(OsKeyring.get("Codex Auth", &account).is_err());
}

#[test]
fn browser_login_on_1457_when_1455_is_busy() {
    if rig::rig_dir().is_none() {
        rig::skip("browser_login_on_1457_when_1455_is_busy");
        return;
    }
    let _ports = ports_lock();
    let _held = std::net::TcpListener::bind(("127.0.0.1", 1455)).unwrap();
    let issuer = OpenaiIssuer::start();
    let mut sb = sandbox(&issuer);
    sb.set("BROWSER", rig::browser().to_string_lossy());
    if let Ok(node) = std::env::var("CLAUDE_AUTH_TEST_NODE") {
        sb.set("CLAUDE_AUTH_TEST_NODE", node);
    }
    let run = sb.run(&["login", "--provider", "chatgpt", "--profile", "p1457"]);
    run.assert_code(0);
    assert_eq!(
        issuer.authorize_queries()[0]["redirect_uri"],
        "http://localhost:1457/auth/callback"
    );
    assert_chatgpt_profile(&sb, "p1457");
}

#[test]
fn no_secret_in_trace_logs_of_a_device_login() {
    let issuer = OpenaiIssuer::start_with(Config {
        device_auto_approve_after: Some(1),
        ..Config::default()
    });
    let mut sb = sandbox(&issuer);
    sb.set("RUST_LOG", "trace");
    let run = sb.run(&["login", "--provider", "chatgpt", "--device-code"]);
    run.assert_code(0);
    let stored = read_json(&profile_path(&sb, "default"));
    let text = stored.to_string();
    assert!(text.contains("rt_") && text.contains("eyJ"), "{stored:#}");
    // The logs are there (reqwest and hyper trace every request)…
    assert!(run.stderr.contains("TRACE"), "{run}");
    // …and hold none of the tokens, codes or ids.
    for marker in ["rt_", "eyJ", "deviceauth_"] {
        assert!(!run.stderr.contains(marker), "{marker} in:\n{run}");
    }
}

#[test]
fn logout_leaves_an_unparseable_codex_file_alone() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let auth_json = codex_home(&sb).join("auth.json");
    write_file(&auth_json, "{\"tokens\": [", 0o600);
    let run = sb.run(&["logout", "--provider", "openai", "--codex"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(&auth_json.display().to_string()),
        "{run}"
    );
    assert_eq!(
        std::fs::read_to_string(&auth_json).unwrap(),
        "{\"tokens\": ["
    );
}

#[test]
fn the_login_is_what_token_provider_openai_hands_out() {
    let issuer = OpenaiIssuer::start_with(Config {
        device_auto_approve_after: Some(0),
        ..Config::default()
    });
    let sb = sandbox(&issuer);
    sb.run(&["login", "--provider", "chatgpt", "--device-code"])
        .assert_code(0);
    let stored = read_json(&profile_path(&sb, "default")).to_string();
    let run = sb.run(&["token", "--provider", "openai"]);
    run.assert_code(0);
    let token = run.stdout.trim();
    assert!(token.starts_with("eyJ") && stored.contains(token), "{run}");
    assert_eq!(claims(token)[AUTH_CLAIM]["chatgpt_account_id"], ACCOUNT);
}
