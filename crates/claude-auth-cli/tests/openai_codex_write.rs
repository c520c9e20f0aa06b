//! Writes and deletes of Codex's login (`login --provider openai --codex`,
//! `logout --provider openai --codex`) take Codex's own locks as Codex
//! 0.171.0 does (docs/codex-locks.md items 1-2: `auth.lock`, then
//! `auth.json.lock` tried every 10 ms for 5 s), and `logout --provider
//! openai` revokes a ChatGPT login's refresh token at the issuer's
//! `/oauth/revoke` as Codex does (item 7), against the loopback issuer.
//!
//! The lock holder is this test process (`flock(2)` through std's
//! `File::lock`, the call Codex makes); that the binary waits is seen, not
//! guessed: its open file descriptors (`/proc/<pid>/fd`) show the lock file
//! it is trying while auth.json is still untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod openai_issuer;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{write_file, Sandbox};
use openai_issuer::{Config, OpenaiIssuer, CLIENT_ID};
use serde_json::{json, Value};

const API_KEY: &str = "sk-proj-Tq3Vw8Xy2Zb5Nc7Md4Lf6Kg9Jh1";
const OTHER: &str = "{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"sk-proj-someone-else-0000\"}";

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

/// Hold `flock(LOCK_EX)` on `path` (created if missing) until dropped.
fn hold(path: &Path) -> File {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    file.try_lock().expect("the lock is free");
    file
}

/// `login --with-token --provider openai --codex` with the key on stdin,
/// running.
fn spawn_login(sb: &Sandbox) -> Child {
    let mut child = sb
        .command(&["login", "--with-token", "--provider", "openai", "--codex"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{API_KEY}\n").as_bytes()).unwrap();
    child
}

/// The files `pid` has open.
fn open_files(pid: u32) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .collect()
}

/// Wait (at most 20 s) until `child` has `path` open: it is trying the
/// lock we hold.
fn wait_until_trying(child: &mut Child, path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !open_files(child.id()).iter().any(|p| p == path) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the binary ended before trying {}",
            path.display()
        );
        assert!(Instant::now() < deadline, "never tried {}", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn login_codex_waits_for_codex_locks_in_codex_order() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let home = codex_home(&sb);
    let auth_json = home.join("auth.json");
    write_file(&auth_json, OTHER, 0o600);

    // Codex holds auth.lock (it is committing): we wait on it, and do not
    // touch auth.json.lock before we have it.
    let auth_lock = hold(&home.join("auth.lock"));
    let mut child = spawn_login(&sb);
    wait_until_trying(&mut child, &home.join("auth.lock"));
    assert!(!open_files(child.id()).contains(&home.join("auth.json.lock")));
    // Then Codex holds auth.json.lock as well, and lets auth.lock go: we
    // take auth.lock and wait on auth.json.lock.
    let commit_lock = hold(&home.join("auth.json.lock"));
    drop(auth_lock);
    wait_until_trying(&mut child, &home.join("auth.json.lock"));
    assert_eq!(std::fs::read_to_string(&auth_json).unwrap(), OTHER);
    assert!(child.try_wait().unwrap().is_none());
    drop(commit_lock);
    let (code, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&auth_json).unwrap()).unwrap();
    assert_eq!(doc["OPENAI_API_KEY"], API_KEY);
    assert_eq!(common::mode(&auth_json), 0o600);
    // Both locks are free again, and the lock files stay (as Codex's do).
    drop(hold(&home.join("auth.lock")));
    drop(hold(&home.join("auth.json.lock")));
}

#[test]
fn login_codex_gives_up_after_five_seconds_and_leaves_the_file() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let home = codex_home(&sb);
    let auth_json = home.join("auth.json");
    write_file(&auth_json, OTHER, 0o600);
    let lock_path = home.join("auth.json.lock");
    let _held = hold(&lock_path);
    let started = Instant::now();
    let mut child = spawn_login(&sb);
    wait_until_trying(&mut child, &lock_path);
    let (code, stderr) = finish(child);
    let took = started.elapsed();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "a Codex process has held its lock {} for over 5 s; let it finish and try again",
            lock_path.display()
        )),
        "{stderr}"
    );
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(15),
        "{took:?}"
    );
    assert_eq!(std::fs::read_to_string(&auth_json).unwrap(), OTHER);
    assert!(!stderr.contains(API_KEY));
}

#[test]
fn logout_codex_waits_for_codex_commit_lock_then_deletes() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let home = codex_home(&sb);
    let auth_json = home.join("auth.json");
    write_file(&auth_json, OTHER, 0o600);
    let lock_path = home.join("auth.json.lock");
    let held = hold(&lock_path);
    let mut child = sb
        .command(&["logout", "--provider", "openai", "--codex"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_trying(&mut child, &lock_path);
    assert!(auth_json.exists());
    drop(held);
    let (code, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Logged out of Codex's login"), "{stderr}");
    assert!(!auth_json.exists());
    // An API key has nothing to revoke.
    assert!(issuer.revoke_requests().is_empty());
}

fn codex_chatgpt_login(sb: &Sandbox, issuer: &OpenaiIssuer) -> String {
    let minted = issuer.mint_default();
    let doc = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": minted.id_token,
            "access_token": minted.access_token,
            "refresh_token": minted.refresh_token,
            "account_id": "0f7a3c1e-5b2d-4e8a-9c61-2d4b8e7f1a90",
        },
        "last_refresh": "2026-12-05T10:00:00.000000000Z",
    });
    write_file(
        &codex_home(sb).join("auth.json"),
        &serde_json::to_string_pretty(&doc).unwrap(),
        0o600,
    );
    minted.refresh_token
}

#[test]
fn logout_revokes_the_chatgpt_refresh_token_as_codex_does() {
    let issuer = OpenaiIssuer::start_with(Config {
        device_auto_approve_after: Some(0),
        ..Config::default()
    });
    let sb = sandbox(&issuer);
    // Codex's login.
    let rt = codex_chatgpt_login(&sb, &issuer);
    let run = sb.run(&["logout", "--provider", "openai", "--codex"]);
    run.assert_code(0);
    let url = format!("{}/oauth/revoke", issuer.url);
    assert!(
        run.stderr
            .contains(&format!("revoked the ChatGPT login at {url}")),
        "{run}"
    );
    assert!(!codex_home(&sb).join("auth.json").exists());
    let requests = issuer.revoke_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].body,
        json!({"token": rt, "token_type_hint": "refresh_token", "client_id": CLIENT_ID})
    );
    assert_eq!(requests[0].content_type, "application/json");
    assert!(
        requests[0].user_agent.starts_with("claude-auth/"),
        "{}",
        requests[0].user_agent
    );
    assert_eq!(requests[0].status, 200);
    assert!(!issuer.is_live(&rt));
    assert_eq!(issuer.stats().revocations, 1);
    assert!(!run.stderr.contains(&rt), "{run}");

    // Our own OpenAI profile: its refresh token is revoked too, and can no
    // longer refresh.
    sb.run(&["login", "--provider", "chatgpt", "--device-code"])
        .assert_code(0);
    let run = sb.run(&["logout", "--provider", "openai"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains(&format!("revoked the ChatGPT login at {url}")),
        "{run}"
    );
    assert!(run.stderr.contains("Logged out of OpenAI profile default"));
    let requests = issuer.revoke_requests();
    assert_eq!(requests.len(), 2);
    let revoked = requests[1].body["token"].as_str().unwrap().to_owned();
    assert!(revoked.starts_with("rt_") && revoked != rt);
    let (status, body) = issuer.post_json(
        "/oauth/token",
        &json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": revoked}),
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("refresh_token_invalidated"), "{body}");
    assert_eq!(issuer.stats().revocations, 2);
}

#[test]
fn a_failed_revocation_is_a_warning_and_the_login_is_removed_anyway() {
    let issuer = OpenaiIssuer::start();
    let sb = sandbox(&issuer);
    let rt = codex_chatgpt_login(&sb, &issuer);
    issuer.fail_next_revokes(503, r#"{"error":"temporarily_unavailable"}"#, 1);
    let run = sb.run(&["logout", "--provider", "openai", "--codex"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!(
            "warning: could not revoke the ChatGPT login ({}/oauth/revoke answered HTTP 503: temporarily_unavailable); removing it locally anyway",
            issuer.url
        )),
        "{run}"
    );
    assert!(run.stderr.contains("Logged out of Codex's login"), "{run}");
    assert!(!codex_home(&sb).join("auth.json").exists());
    assert!(issuer.is_live(&rt));
    assert_eq!(issuer.stats().revocations, 0);

    // An issuer that cannot be reached: the same, with the reason.
    let mut sb2 = sandbox(&issuer);
    sb2.set("CLAUDE_AUTH_OPENAI_ISSUER", common::closed_local_url());
    codex_chatgpt_login(&sb2, &issuer);
    let run = sb2.run(&["logout", "--provider", "openai", "--codex"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains(
            "warning: could not revoke the ChatGPT login (could not reach http://127.0.0.1:"
        ),
        "{run}"
    );
    assert!(!codex_home(&sb2).join("auth.json").exists());
}
