#![allow(clippy::unwrap_used, clippy::expect_used)]
//! claude-auth and the real Codex CLI (`@openai/codex` 0.171.0, pinned in
//! `tests/codex`, run offline: tests/codex_real) share `$CODEX_HOME`:
//!
//! - we read what Codex wrote (`codex login --with-api-key`, and its refresh
//!   of a ChatGPT login against the loopback issuer, tests/openai_issuer);
//! - Codex reads what we wrote (a ChatGPT login whose id token carries
//!   email, plan and account; an API key) and what we refreshed, and the keys
//!   we do not own stay in the file;
//! - through the CLI: `token --provider openai` gives the key Codex wrote and
//!   adopts a refresh Codex made; Codex uses the login `login --provider
//!   chatgpt --device-code --codex` wrote and the one `token --provider
//!   openai` refreshed (no refresh of its own, no reuse, unknown keys kept);
//! - our file lock is the lock Codex takes: holding `auth.json.lock` makes
//!   Codex give up its write after its 5 s budget, holding `auth.lock` makes
//!   it wait and write only after we release.
//!
//! What Codex shows: `codex login status` (stderr) says `Logged in using
//! ChatGPT` or `API key configured - <masked>`; the credential it would send is
//! what `codex app-server` answers to `getAuthStatus` (`authMethod`,
//! `authToken`). Offline it cannot show the email (its `account/read` asks
//! the ChatGPT backend), so the account facts are checked on our side of the
//! same file.
//!
//! Needs `CLAUDE_AUTH_TEST_CODEX` (set by `scripts/test`): without it these
//! tests fail under `CI` and say "skipped" otherwise.

mod codex_real;
mod common;
mod openai_issuer;

use std::path::Path;

use claude_auth::engine::lock::FileLock;
use claude_auth::openai::auth_file::{AuthMode, CodexAuth, CodexAuthFile, CodexTokens};
use claude_auth::openai::chatgpt::RefreshedTokens;
use claude_auth::openai::claims::CodexIdentity;
use claude_auth::openai::home::{auth_json_lock_path, auth_json_path, auth_lock_path};
use claude_auth::Secret;
use codex_real::{ChatGptLogin, Codex};
use common::{now, Sandbox};
use openai_issuer::{Account, Config as IssuerConfig, OpenaiIssuer};
use serde_json::{json, Value};

const API_KEY: &str = "sk-proj-CodexInterop0123456789abcdefXYZ";

fn login(tag: &str, expires_at: u64) -> ChatGptLogin {
    ChatGptLogin {
        email: format!("{tag}@example.com"),
        account_id: format!("acct-{tag}-7f3e"),
        plan: "pro".into(),
        expires_at,
        tag: tag.into(),
    }
}

fn tokens_of(l: &ChatGptLogin) -> CodexTokens {
    CodexTokens::new(
        Secret::new(l.id_token()),
        Secret::new(l.access_token()),
        Secret::new(l.refresh_token()),
        Some(l.account_id.clone()),
    )
}

fn load(path: &Path) -> CodexAuth {
    CodexAuthFile::new(path)
        .load()
        .unwrap_or_else(|e| panic!("our library cannot read {}: {e}", path.display()))
        .unwrap_or_else(|| panic!("no {}", path.display()))
}

/// The one line of `codex login status` that says who is logged in (Codex
/// may print a warning line before it).
fn status_line(run: &common::Run) -> String {
    run.stderr
        .lines()
        .find(|l| !l.starts_with("WARNING: "))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn pinned_codex_runs_offline() {
    let sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let run = codex.run(&["--version"], None);
    run.assert_code(0);
    assert_eq!(
        run.stdout.trim(),
        format!("codex-cli {}", codex_real::PINNED_VERSION)
    );
    let run = codex.login_status();
    run.assert_code(1);
    assert_eq!(status_line(&run), "Not logged in", "{run}");
}

#[test]
fn we_read_the_api_key_codex_wrote() {
    let sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let run = codex.login_with_api_key(API_KEY);
    run.assert_code(0);
    assert!(run.stderr.contains("API key saved."), "{run}");

    let path = auth_json_path(codex.codex_home());
    let auth = load(&path);
    assert_eq!(auth.api_key().map(Secret::expose), Some(API_KEY));
    assert_eq!(auth.auth_mode, Some(AuthMode::ApiKey));
    assert!(auth.tokens().is_none());
    assert_eq!(common::mode(&path), 0o600);
}

#[test]
fn codex_reads_the_chatgpt_login_we_wrote() {
    let sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let l = login("ours", now() + 3600);
    let path = auth_json_path(codex.codex_home());
    CodexAuthFile::new(&path)
        .save(&CodexAuth::chatgpt(tokens_of(&l), now()))
        .unwrap();
    let written = std::fs::read(&path).unwrap();

    let run = codex.login_status();
    run.assert_code(0);
    assert_eq!(status_line(&run), "Logged in using ChatGPT", "{run}");

    let status = codex.app_server_auth_status();
    assert_eq!(status["authMethod"], "chatgpt", "{status}");
    assert_eq!(status["authToken"], l.access_token(), "{status}");

    // A valid login: Codex neither refreshed nor rewrote it, and the account
    // it carries is the one we put in.
    assert_eq!(std::fs::read(&path).unwrap(), written);
    let identity = CodexIdentity::from_tokens(load(&path).tokens().unwrap());
    assert_eq!(identity.email.as_deref(), Some(l.email.as_str()));
    assert_eq!(identity.account_id.as_deref(), Some(l.account_id.as_str()));
    assert_eq!(identity.plan_type.as_deref(), Some("pro"));
    assert_eq!(identity.expires_at, Some(l.expires_at));
}

#[test]
fn codex_reads_the_api_key_we_wrote() {
    let sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let path = auth_json_path(codex.codex_home());
    CodexAuthFile::new(&path)
        .save(&CodexAuth::with_api_key(Secret::new(API_KEY)))
        .unwrap();

    let run = codex.login_status();
    run.assert_code(0);
    // Codex masks the key: its first 8 characters, `***`, its last 5.
    assert_eq!(
        status_line(&run),
        format!(
            "API key configured - {}***{}",
            &API_KEY[..8],
            &API_KEY[API_KEY.len() - 5..]
        ),
        "{run}"
    );
    assert!(!run.stderr.contains(API_KEY) && !run.stdout.contains(API_KEY));

    let status = codex.app_server_auth_status();
    assert_eq!(status["authMethod"], "apikey", "{status}");
    assert_eq!(status["authToken"], API_KEY, "{status}");
}

#[test]
fn codex_reads_the_login_we_refreshed_and_the_keys_we_do_not_own_stay() {
    let sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let old = login("before", now() - 600);
    let path = auth_json_path(codex.codex_home());
    // A file as a newer Codex might write it: keys we do not own at the top
    // level and inside `tokens`.
    let doc = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": old.id_token(),
            "access_token": old.access_token(),
            "refresh_token": old.refresh_token(),
            "account_id": old.account_id,
            "future_token_field": {"kept": true},
        },
        "last_refresh": "2026-11-01T00:00:00Z",
        "x_future_top_level": {"id": "agent-1", "kept": [1, 2, 3]},
    });
    common::write_file(&path, &serde_json::to_string_pretty(&doc).unwrap(), 0o600);

    // Our refresh (the server rotated all three tokens; same account).
    let new = ChatGptLogin {
        tag: "after".into(),
        expires_at: now() + 3600,
        ..old.clone()
    };
    let file = CodexAuthFile::new(&path);
    let mut auth = load(&path);
    let body = json!({
        "id_token": new.id_token(),
        "access_token": new.access_token(),
        "refresh_token": new.refresh_token(),
    });
    auth.apply_refresh(
        RefreshedTokens::from_refresh_response(body.to_string().as_bytes()).unwrap(),
        now(),
    )
    .unwrap();
    file.save(&auth).unwrap();

    let run = codex.login_status();
    run.assert_code(0);
    assert_eq!(status_line(&run), "Logged in using ChatGPT", "{run}");
    let status = codex.app_server_auth_status();
    assert_eq!(status["authMethod"], "chatgpt", "{status}");
    assert_eq!(status["authToken"], new.access_token(), "{status}");

    let after: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(after["x_future_top_level"], doc["x_future_top_level"]);
    assert_eq!(
        after["tokens"]["future_token_field"],
        doc["tokens"]["future_token_field"]
    );
    assert_eq!(after["tokens"]["refresh_token"], new.refresh_token());
    assert_eq!(after["tokens"]["account_id"], old.account_id);
    assert_ne!(after["last_refresh"], doc["last_refresh"]);
}

/// Codex takes `auth.json.lock` with `flock(LOCK_EX|LOCK_NB)` every 10 ms
/// and gives up after 5 s: while our `FileLock` holds it, its login fails and
/// leaves the file as it was.
#[test]
fn our_lock_on_auth_json_lock_keeps_codex_from_writing() {
    let sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let path = auth_json_path(codex.codex_home());
    CodexAuthFile::new(&path)
        .save(&CodexAuth::with_api_key(Secret::new(API_KEY)))
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    let held = FileLock::acquire(
        &auth_json_lock_path(codex.codex_home()),
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let run = codex.login_with_api_key("sk-proj-SomeoneElse0123456789abcdef");
    drop(held);

    run.assert_code(1);
    assert!(
        run.stderr.contains("credential commit lock timed out"),
        "{run}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Codex takes `auth.lock` with a blocking `flock(LOCK_EX)` before it
/// writes: while our `FileLock` holds it, Codex waits (seen in /proc/locks as
/// a blocked FLOCK waiter) without touching auth.json, and writes once we
/// release.
#[test]
fn codex_waits_for_our_auth_lock_before_writing() {
    let sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let lock_path = auth_lock_path(codex.codex_home());
    let held = FileLock::acquire(&lock_path, std::time::Duration::from_secs(5)).unwrap();
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&lock_path).unwrap().ino()
    };
    let args = ["login", "--with-api-key"];
    let child = codex.spawn(&args, Some(&format!("{API_KEY}\n")));
    let pid = child.id();

    let deadline = std::time::Instant::now() + codex_real::DEADLINE;
    while !blocked_on_flock(pid, inode) {
        assert!(
            std::time::Instant::now() < deadline,
            "codex never waited on auth.lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !codex.auth_json().exists(),
        "Codex wrote auth.json while we held auth.lock"
    );
    drop(held);

    let run = codex_real::finish(child, &args);
    run.assert_code(0);
    assert_eq!(
        load(&codex.auth_json()).api_key().map(Secret::expose),
        Some(API_KEY)
    );
}

/// `/proc/locks` lists a process blocked in `flock` as
/// `N: -> FLOCK  ADVISORY  WRITE <pid> <maj>:<min>:<inode> 0 EOF`.
fn blocked_on_flock(pid: u32, inode: u64) -> bool {
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    locks.lines().any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f.len() >= 7
            && f[1] == "->"
            && f[2] == "FLOCK"
            && f[5] == pid.to_string()
            && f[6].rsplit(':').next() == Some(&inode.to_string())
    })
}

/// Codex refreshes an expired ChatGPT login we wrote against the loopback
/// issuer (tests/openai_issuer, in the real issuer's shape, rotating refresh
/// tokens): one refresh, no reuse, and our library reads what Codex wrote:
/// the live refresh token and the access token Codex now sends.
#[test]
fn we_read_the_login_codex_refreshed() {
    let sandbox = Sandbox::new();
    let Some(mut codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let issuer = OpenaiIssuer::start_with(IssuerConfig {
        access_ttl: -600,
        ..IssuerConfig::default()
    });
    let minted = issuer.mint_default();
    issuer.configure(|c| c.access_ttl = 3600);
    let account = Account::default();
    let path = auth_json_path(codex.codex_home());
    let tokens = CodexTokens::new(
        Secret::new(minted.id_token.clone()),
        Secret::new(minted.access_token.clone()),
        Secret::new(minted.refresh_token.clone()),
        Some(account.account_id.clone()),
    );
    CodexAuthFile::new(&path)
        .save(&CodexAuth::chatgpt(tokens, now() - 86_400))
        .unwrap();
    codex.set(
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
        format!("{}/oauth/token", issuer.url),
    );

    let status = codex.app_server_auth_status_with(true);
    let stats = issuer.stats();
    assert_eq!(stats.reuses, 0, "{stats:?}");
    assert_eq!(stats.failed_token_requests, 0, "{stats:?}");
    assert!(stats.refreshes >= 1, "{stats:?}");

    let auth = load(&path);
    let tokens = auth.tokens().unwrap();
    assert_ne!(tokens.refresh_token.expose(), minted.refresh_token);
    assert!(issuer.is_live(tokens.refresh_token.expose()));
    assert_eq!(status["authMethod"], "chatgpt", "{status}");
    assert_eq!(
        status["authToken"],
        tokens.access_token.expose(),
        "{status}"
    );
    let identity = CodexIdentity::from_tokens(tokens);
    assert_eq!(identity.email.as_deref(), Some(account.email.as_str()));
    assert_eq!(
        identity.account_id.as_deref(),
        Some(account.account_id.as_str())
    );
    assert!(identity.expires_at.unwrap() > now());
}

/// A sandbox whose claude-auth uses `codex`'s home and the loopback issuer.
fn cli_sandbox(sandbox: &mut Sandbox, codex: &Codex, issuer: Option<&OpenaiIssuer>) {
    sandbox.set("CODEX_HOME", codex.codex_home().to_string_lossy());
    if let Some(issuer) = issuer {
        sandbox.set("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    }
}

/// `claude-auth token --provider openai`, asserting success: the token.
#[track_caller]
fn cli_token(sandbox: &Sandbox) -> String {
    let run = sandbox.run(&["token", "--provider", "openai"]);
    run.assert_code(0);
    run.stdout.trim_end().to_owned()
}

#[test]
fn claude_auth_token_gives_the_api_key_codex_login_wrote() {
    let mut sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    cli_sandbox(&mut sandbox, &codex, None);
    codex.login_with_api_key(API_KEY).assert_code(0);
    assert_eq!(cli_token(&sandbox), API_KEY);
}

/// `claude-auth login --provider chatgpt --device-code --codex` against the
/// loopback issuer: Codex is logged in with that login and sends the token
/// `claude-auth token --provider openai` gives.
#[test]
fn codex_uses_the_chatgpt_login_claude_auth_login_wrote() {
    let mut sandbox = Sandbox::new();
    let Some(codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let issuer = OpenaiIssuer::start_with(IssuerConfig {
        device_auto_approve_after: Some(0),
        ..IssuerConfig::default()
    });
    cli_sandbox(&mut sandbox, &codex, Some(&issuer));
    let run = sandbox.run(&["login", "--provider", "chatgpt", "--device-code", "--codex"]);
    run.assert_code(0);

    let run = codex.login_status();
    run.assert_code(0);
    assert_eq!(status_line(&run), "Logged in using ChatGPT", "{run}");
    let token = cli_token(&sandbox);
    let status = codex.app_server_auth_status();
    assert_eq!(status["authMethod"], "chatgpt", "{status}");
    assert_eq!(status["authToken"], token, "{status}");
    let account = Account::default();
    let identity = CodexIdentity::from_tokens(load(&codex.auth_json()).tokens().unwrap());
    assert_eq!(identity.email.as_deref(), Some(account.email.as_str()));
    assert_eq!(
        identity.account_id.as_deref(),
        Some(account.account_id.as_str())
    );
    assert_eq!(issuer.stats().refreshes, 0);
}

/// An expired ChatGPT login in Codex's auth.json (with keys we do not own):
/// `claude-auth token --provider openai` refreshes it once; Codex then uses
/// the refreshed login as it is (no refresh of its own) and the keys stay.
#[test]
fn codex_uses_the_login_claude_auth_refreshed_and_unknown_keys_stay() {
    let mut sandbox = Sandbox::new();
    let Some(mut codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let issuer = OpenaiIssuer::start_with(IssuerConfig {
        access_ttl: -600,
        ..IssuerConfig::default()
    });
    let minted = issuer.mint_default();
    issuer.configure(|c| c.access_ttl = 3600);
    cli_sandbox(&mut sandbox, &codex, Some(&issuer));
    codex.set(
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
        format!("{}/oauth/token", issuer.url),
    );
    let account = Account::default();
    let doc = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": minted.id_token,
            "access_token": minted.access_token,
            "refresh_token": minted.refresh_token,
            "account_id": account.account_id,
            "future_token_field": {"kept": true},
        },
        "last_refresh": "2026-11-01T00:00:00Z",
        "x_future_top_level": ["kept", 1],
    });
    common::write_file(
        &codex.auth_json(),
        &serde_json::to_string_pretty(&doc).unwrap(),
        0o600,
    );

    let token = cli_token(&sandbox);
    assert_ne!(token, minted.access_token);
    assert_eq!(issuer.stats().refreshes, 1);

    let run = codex.login_status();
    run.assert_code(0);
    assert_eq!(status_line(&run), "Logged in using ChatGPT", "{run}");
    let status = codex.app_server_auth_status();
    assert_eq!(status["authToken"], token, "{status}");
    let stats = issuer.stats();
    assert_eq!((stats.refreshes, stats.reuses), (1, 0), "{stats:?}");

    let after: Value = serde_json::from_slice(&std::fs::read(codex.auth_json()).unwrap()).unwrap();
    assert_eq!(after["x_future_top_level"], doc["x_future_top_level"]);
    assert_eq!(
        after["tokens"]["future_token_field"],
        doc["tokens"]["future_token_field"]
    );
    assert_eq!(after["tokens"]["access_token"], token);
    assert!(issuer.is_live(after["tokens"]["refresh_token"].as_str().unwrap()));
}

/// Codex refreshes an expired login first; `claude-auth token --provider
/// openai` then gives Codex's new token without a refresh of its own.
#[test]
fn claude_auth_adopts_the_refresh_codex_made() {
    let mut sandbox = Sandbox::new();
    let Some(mut codex) = Codex::new(sandbox.home()) else {
        return;
    };
    let issuer = OpenaiIssuer::start_with(IssuerConfig {
        access_ttl: -600,
        ..IssuerConfig::default()
    });
    let minted = issuer.mint_default();
    issuer.configure(|c| c.access_ttl = 3600);
    cli_sandbox(&mut sandbox, &codex, Some(&issuer));
    codex.set(
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
        format!("{}/oauth/token", issuer.url),
    );
    let tokens = CodexTokens::new(
        Secret::new(minted.id_token.clone()),
        Secret::new(minted.access_token.clone()),
        Secret::new(minted.refresh_token.clone()),
        Some(Account::default().account_id),
    );
    CodexAuthFile::new(codex.auth_json())
        .save(&CodexAuth::chatgpt(tokens, now() - 86_400))
        .unwrap();

    let status = codex.app_server_auth_status_with(true);
    let refreshed_by_codex = issuer.stats().refreshes;
    assert!(refreshed_by_codex >= 1);

    assert_eq!(cli_token(&sandbox), status["authToken"].as_str().unwrap());
    let stats = issuer.stats();
    assert_eq!(
        (stats.refreshes, stats.reuses),
        (refreshed_by_codex, 0),
        "{stats:?}"
    );
}
