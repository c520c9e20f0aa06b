//! Rotation-safe refresh against a real authorization server (oidc-provider,
//! refresh-token rotation with reuse detection that revokes the grant).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rig;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use claude_auth::credential::now_unix;
use claude_auth::store::profile_files::ProfileFiles;
use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, Secret, Settings, TokenSet};
use rig::{skip, Rig};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_claude-auth");

/// A temp HOME with a `work` profile holding `tokens`, pointed at the rig.
struct Home {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Home {
    fn new(rig: &Rig, tokens: &TokenSet, expires_at: u64) -> Home {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let files = ProfileFiles::new(root.join("anthropic"));
        let mut set = tokens.clone();
        set.expires_at = Some(expires_at);
        // base_url = the rig's issuer: the spec's refresh is POST {base_url}/v1/oauth/token.
        files
            .write_config_if_missing("work", &set, Some(&rig.issuer))
            .unwrap();
        files.write_credentials("work", &set).unwrap();
        files.set_active_profile("work").unwrap();
        Home { _tmp: tmp, root }
    }

    fn vars(&self) -> Vec<(&'static str, String)> {
        let r = |p: &str| self.root.join(p).display().to_string();
        vec![
            ("HOME", self.root.display().to_string()),
            ("ANTHROPIC_CONFIG_DIR", r("anthropic")),
            ("CLAUDE_AUTH_CONFIG_DIR", r("own")),
            ("CLAUDE_AUTH_SETTINGS", r("own/config.toml")),
            ("CLAUDE_CONFIG_DIR", r("claude")),
        ]
    }

    fn env(&self) -> Env {
        self.vars()
            .into_iter()
            .fold(Env::empty(), |e, (k, v)| e.with(k, v))
    }

    fn credentials(&self) -> Value {
        let path = self.root.join("anthropic/credentials/work.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(args);
        for (k, v) in self.vars() {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

fn manager(home: &Home) -> AuthManager {
    AuthManager::new(
        Resolver::with_settings(home.env(), Settings::default()),
        ManagerOptions::default(),
    )
    .unwrap()
}

fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn access(v: &Value) -> String {
    v["access_token"].as_str().unwrap().to_owned()
}

fn refresh(v: &Value) -> String {
    v["refresh_token"].as_str().unwrap().to_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn thousand_concurrent_tasks_on_an_expired_token_make_exactly_one_refresh() {
    let Some(rig) = Rig::start(&["--require-json"]) else {
        return skip("thousand_tasks");
    };
    let tokens = rig.tokens_from_browser_login("json");
    let home = Home::new(&rig, &tokens, now_unix() - 60);
    let before = home.credentials();
    rig.admin("reset");
    rig.admin("delay?ms=200");
    let mgr = manager(&home);
    let rt = two_workers();
    let got: Vec<String> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..1000 {
            let m = mgr.clone();
            set.spawn(async move { m.credential().await.unwrap().secret().expose().to_owned() });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    });
    let after = home.credentials();
    assert_eq!(got.len(), 1000);
    assert!(
        got.iter().all(|t| *t == access(&after)),
        "every caller gets the persisted new token"
    );
    assert_ne!(access(&after), access(&before));
    assert_ne!(
        refresh(&after),
        refresh(&before),
        "the rotated refresh token was persisted"
    );
    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(rig.stat("reuseDetected"), 0);
    assert_eq!(rig.stats()["tokenRequests"][0]["encoding"], "json");
}

#[test]
fn a_caller_that_gives_up_mid_refresh_does_not_lose_the_rotated_token() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("caller_gives_up");
    };
    let tokens = rig.tokens_from_browser_login("form");
    let home = Home::new(&rig, &tokens, now_unix() - 60);
    let before = home.credentials();
    rig.admin("reset");
    // The server rotates the refresh token, then holds its answer.
    rig.admin("delay?ms=2000&phase=after");
    let mgr = manager(&home);
    let rt = two_workers();
    let m = mgr.clone();
    let caller = rt.spawn(async move { m.credential().await });
    let deadline = Instant::now() + Duration::from_secs(20);
    while rig.stat("refreshGrants") == 0 {
        assert!(
            Instant::now() < deadline,
            "the refresh never reached the server"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The old refresh token is now spent at the server; the caller gives up
    // before the answer arrives (a timeout, a closed connection).
    caller.abort();
    assert!(rt.block_on(caller).unwrap_err().is_cancelled());
    let got = rt.block_on(mgr.credential()).unwrap();
    let after = home.credentials();
    assert_eq!(got.secret().expose(), access(&after));
    assert_ne!(
        refresh(&after),
        refresh(&before),
        "the rotated token was persisted"
    );
    assert_eq!(rig.stat("refreshGrants"), 1, "the refresh was not repeated");
    assert_eq!(rig.stat("reuseDetected"), 0);
    assert_eq!(rig.stat("revokedGrants"), 0);
}

#[test]
fn callers_waiting_on_a_failing_refresh_share_its_outcome_instead_of_retrying_it() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("waiters_share_failure");
    };
    let tokens = rig.tokens_from_browser_login("form");
    // Inside the refresh threshold (300 s) but not expired.
    let home = Home::new(&rig, &tokens, now_unix() + 100);
    rig.admin("reset");
    rig.admin("fail?status=503&count=1000");
    let mgr = manager(&home);
    let rt = two_workers();
    let got = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let m = mgr.clone();
            set.spawn(async move { m.obtain().await.unwrap() });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    });
    assert_eq!(got.len(), 50);
    for o in &got {
        assert_eq!(o.credential.secret().expose(), tokens.access_token.expose());
        assert!(
            o.warning
                .as_deref()
                .unwrap_or_default()
                .contains("refresh failed"),
            "{:?}",
            o.warning
        );
    }
    assert_eq!(
        rig.stat("injectedFailures"),
        4,
        "one refresh (with its retries) for all 50 callers"
    );
    // The failure is not cached: the next call tries again.
    let again = rt.block_on(mgr.obtain()).unwrap();
    assert!(again.warning.is_some());
    assert_eq!(rig.stat("injectedFailures"), 8);
}

#[test]
fn rotation_chain_survives_repeated_refreshes() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("rotation_chain");
    };
    let tokens = rig.tokens_from_browser_login("form");
    let home = Home::new(&rig, &tokens, now_unix() - 60);
    rig.admin("reset");
    // Back-to-back forced refreshes: no cooldown between them (that a
    // cooldown holds them to one grant is
    // `forced_refreshes_inside_the_cooldown_make_one_grant`).
    let mgr = AuthManager::new(
        Resolver::with_settings(home.env(), Settings::default()),
        ManagerOptions {
            forced_refresh_cooldown: Some(Duration::ZERO),
            ..ManagerOptions::default()
        },
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut seen_refresh = vec![refresh(&home.credentials())];
    for _ in 0..3 {
        let current = rt.block_on(mgr.credential()).unwrap();
        rt.block_on(mgr.force_refresh(current.secret())).unwrap();
        let r = refresh(&home.credentials());
        assert!(
            !seen_refresh.contains(&r),
            "each refresh rotates the refresh token"
        );
        seen_refresh.push(r);
    }
    // First call refreshed the expired token, then three forced refreshes.
    assert_eq!(rig.stat("refreshGrants"), 4);
    assert_eq!(rig.stat("reuseDetected"), 0);
    assert_eq!(rig.stat("revokedGrants"), 0);
}

/// F12: an API that answers 401 to every token must not rotate the refresh
/// token once per request. 20 concurrent forced refreshes after a 401, then
/// 20 sequential ones each rejecting the token just handed out, all inside
/// the cooldown: one refresh grant, and every caller gets its token.
#[test]
fn forced_refreshes_inside_the_cooldown_make_one_grant() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("forced_cooldown");
    };
    let tokens = rig.tokens_from_browser_login("form");
    // Valid for an hour: only the 401s make these refreshes.
    let home = Home::new(&rig, &tokens, now_unix() + 3600);
    rig.admin("reset");
    let mgr = manager(&home);
    let rt = two_workers();
    let rejected = tokens.access_token.clone();
    let got: Vec<String> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let m = mgr.clone();
            let r = rejected.clone();
            set.spawn(async move {
                let o = m.force_refresh(&r).await.unwrap();
                o.credential.secret().expose().to_owned()
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    });
    let after = home.credentials();
    assert_ne!(access(&after), tokens.access_token.expose());
    assert!(got.iter().all(|t| *t == access(&after)), "{got:?}");
    assert_eq!(rig.stat("refreshGrants"), 1);
    let mut current = Secret::new(access(&after));
    for _ in 0..20 {
        let o = rt.block_on(mgr.force_refresh(&current)).unwrap();
        current = o.credential.secret().clone();
    }
    assert_eq!(current.expose(), access(&after));
    assert_eq!(access(&home.credentials()), access(&after));
    assert_eq!(rig.stat("refreshGrants"), 1, "no grant inside the cooldown");
    assert_eq!(rig.stat("reuseDetected"), 0);
}

#[test]
fn sixteen_processes_on_an_expired_token_make_exactly_one_refresh_and_log_no_secret() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("sixteen_processes");
    };
    let tokens = rig.tokens_from_browser_login("form");
    let home = Home::new(&rig, &tokens, now_unix() - 60);
    let before = home.credentials();
    rig.admin("reset");
    rig.admin("delay?ms=300");
    let children: Vec<_> = (0..16)
        .map(|_| {
            home.command(&["token"])
                .env("RUST_LOG", "trace")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let after = home.credentials();
    for out in &outputs {
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{}\n", access(&after)));
        let err = text(&out.stderr);
        for secret in [
            access(&before),
            refresh(&before),
            access(&after),
            refresh(&after),
        ] {
            assert!(
                !err.contains(&secret),
                "a secret leaked into RUST_LOG=trace output"
            );
        }
    }
    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(rig.stat("reuseDetected"), 0);
}

#[test]
fn refresh_form_encoding_through_a_provider_preset() {
    let Some(rig) = Rig::start(&["--require-form"]) else {
        return skip("form_encoding");
    };
    let tokens = rig.tokens_from_browser_login("form");
    let home = Home::new(&rig, &tokens, now_unix() - 60);
    std::fs::create_dir_all(home.root.join("own/state")).unwrap();
    std::fs::write(
        home.root.join("own/config.toml"),
        rig.provider_toml("rig", "form", "form"),
    )
    .unwrap();
    std::fs::write(
        home.root.join("own/state/profile-work.json"),
        r#"{"provider":"rig"}"#,
    )
    .unwrap();
    rig.admin("reset");
    let out = home.run(&["token"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", access(&home.credentials()))
    );
    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(rig.stats()["tokenRequests"][0]["encoding"], "form");
    let status: Value = serde_json::from_slice(&home.run(&["status", "--json"]).stdout).unwrap();
    assert!(status["refresh"]["lastRefreshAt"].is_string(), "{status}");
    assert_eq!(status["refresh"]["provider"], "rig");
}

#[test]
fn invalid_grant_asks_for_login_keeps_the_file_and_is_not_retried() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("invalid_grant");
    };
    let mut tokens = TokenSet::access_only(
        "sk-ant-oat01-stale-access-0000".into(),
        claude_auth::Provider::Anthropic,
    );
    tokens.refresh_token = Some("bogus-refresh-token-that-the-server-never-issued".into());
    tokens.client_id = Some(rig::CLIENT_ID.into());
    let home = Home::new(&rig, &tokens, now_unix() - 60);
    let path = home.root.join("anthropic/credentials/work.json");
    let before = std::fs::read(&path).unwrap();
    let first = home.run(&["token"]);
    assert_eq!(first.status.code(), Some(4), "{}", text(&first.stderr));
    assert!(
        text(&first.stderr).contains("log in again: claude-auth login --profile work"),
        "{}",
        text(&first.stderr)
    );
    assert!(first.stdout.is_empty());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the stored credential is never blanked"
    );
    let requests = rig.stats()["tokenRequests"].as_array().unwrap().len();
    assert_eq!(requests, 1);
    let second = home.run(&["token"]);
    assert_eq!(second.status.code(), Some(4));
    assert_eq!(
        rig.stats()["tokenRequests"].as_array().unwrap().len(),
        1,
        "a dead refresh token is not presented again"
    );
    let status: Value = serde_json::from_slice(&home.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["refresh"]["loginRequired"], true);
    assert_eq!(status["ok"], false);
}

#[test]
fn transient_failure_while_the_token_is_still_valid_hands_out_the_old_token_with_a_warning() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("transient_failure");
    };
    let tokens = rig.tokens_from_browser_login("form");
    // Inside the refresh threshold (300 s) but not expired.
    let home = Home::new(&rig, &tokens, now_unix() + 100);
    let before = std::fs::read(home.root.join("anthropic/credentials/work.json")).unwrap();
    rig.admin("reset");
    rig.admin("fail?status=503&count=50");
    let out = home.run(&["token"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", tokens.access_token.expose())
    );
    assert!(
        text(&out.stderr).contains("refresh failed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(home.root.join("anthropic/credentials/work.json")).unwrap(),
        before
    );
    assert_eq!(
        rig.stat("injectedFailures"),
        4,
        "retried with backoff up to the attempt limit"
    );
    assert_eq!(rig.stat("refreshGrants"), 0);
}

fn hold_flock(path: &Path) -> std::process::Child {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(120)",
        ])
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn a_killed_lock_holder_delays_others_only_until_it_dies() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("killed_lock_holder");
    };
    let tokens = rig.tokens_from_browser_login("form");
    let home = Home::new(&rig, &tokens, now_unix() - 60);
    rig.admin("reset");
    let mut holder = hold_flock(&home.root.join("anthropic/credentials/work.json.lock"));
    let mut token = home
        .command(&["token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While the holder lives, the refresh waits and nothing reaches the server.
    let until = Instant::now() + Duration::from_millis(700);
    while Instant::now() < until {
        assert!(
            token.try_wait().unwrap().is_none(),
            "token finished while another process held the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(rig.stats()["tokenRequests"].as_array().unwrap().len(), 0);
    holder.kill().unwrap(); // SIGKILL: the kernel drops its lock
    holder.wait().unwrap();
    let killed_at = Instant::now();
    let out = token.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(killed_at.elapsed() < Duration::from_secs(10));
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", access(&home.credentials()))
    );
    assert_eq!(rig.stat("refreshGrants"), 1);
}

#[test]
fn a_held_claude_code_lock_makes_us_wait_and_adopt_what_claude_code_wrote() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("claude_code_lock");
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let claude = root.join("claude");
    std::fs::create_dir_all(&claude).unwrap();
    let expired_ms = (now_unix() - 60) * 1000;
    std::fs::write(
        claude.join(".credentials.json"),
        format!(
            r#"{{"claudeAiOauth":{{"accessToken":"sk-ant-oat01-expired-aaaaaaaa","refreshToken":"sk-ant-ort01-old-bbbbbbbb","expiresAt":{expired_ms},"scopes":["user:inference"],"subscriptionType":"max"}},"mcpOAuth":{{"x":1}}}}"#
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("own")).unwrap();
    // Were we to refresh, it would go to the rig (and fail on this fake token).
    std::fs::write(
        root.join("own/config.toml"),
        format!("[providers.claude]\ntoken_url = \"{}\"\n", rig.token_url()),
    )
    .unwrap();
    let lock = claude.join(".oauth_refresh.lock");
    std::fs::create_dir(&lock).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("ANTHROPIC_CONFIG_DIR", root.join("anthropic"))
        .env("CLAUDE_AUTH_CONFIG_DIR", root.join("own"))
        .env("CLAUDE_AUTH_SETTINGS", root.join("own/config.toml"))
        .env("CLAUDE_CONFIG_DIR", &claude)
        .arg("token")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let until = Instant::now() + Duration::from_millis(700);
    while Instant::now() < until {
        assert!(
            child.try_wait().unwrap().is_none(),
            "did not wait for Claude Code's lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // "Claude Code" finishes its refresh: writes a fresh token, releases the lock.
    let fresh_ms = (now_unix() + 8 * 3600) * 1000;
    std::fs::write(
        claude.join(".credentials.json"),
        format!(
            r#"{{"claudeAiOauth":{{"accessToken":"sk-ant-oat01-fresh-from-claude-code","refreshToken":"sk-ant-ort01-new-cccccccc","expiresAt":{fresh_ms},"scopes":["user:inference"],"subscriptionType":"max"}},"mcpOAuth":{{"x":1}}}}"#
        ),
    )
    .unwrap();
    std::fs::remove_dir(&lock).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "sk-ant-oat01-fresh-from-claude-code\n");
    assert_eq!(
        rig.stats()["tokenRequests"].as_array().unwrap().len(),
        0,
        "no refresh of our own"
    );
    assert!(
        !lock.exists() && !root.join("claude.lock").exists(),
        "our locks were released"
    );
}

/// Claude Code's login in a keychain item (as on macOS: the Keychain), here
/// the real Secret Service standing in for the Keychain: refreshed once and
/// written back to the item, nothing else touched, Claude Code's lock
/// directories gone afterwards (that they are taken and waited on is
/// `a_held_claude_code_lock_makes_us_wait_and_adopt_what_claude_code_wrote`).
#[cfg(target_os = "linux")]
#[test]
fn a_claude_code_login_in_the_keychain_is_refreshed_back_into_the_item() {
    use claude_auth::store::claude_code::ClaudeCodeStore;
    use claude_auth::store::keyring::ForeignItem;
    if !rig::require_secret_service() {
        return;
    }
    let Some(rig) = Rig::start(&["--require-json"]) else {
        return skip("claude_code_keychain");
    };
    let tokens = rig.tokens_from_browser_login("json");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let claude = root.join("claude");
    std::fs::create_dir_all(&claude).unwrap();
    std::fs::create_dir_all(root.join("own")).unwrap();
    std::fs::write(
        root.join("own/config.toml"),
        format!("[providers.claude]\ntoken_url = \"{}\"\n", rig.token_url()),
    )
    .unwrap();
    // A stale login in the file, which the item shadows and which must stay as it is.
    let file_login = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-file-aaaaaaaa","refreshToken":"sk-ant-ort01-file-bbbbbbbb","expiresAt":1,"scopes":["user:inference"]}}"#;
    std::fs::write(claude.join(".credentials.json"), file_login).unwrap();
    let item = ForeignItem {
        service: format!(
            "claude-auth-test-{}-Claude Code-credentials",
            std::process::id()
        ),
        account: "alice".into(),
    };
    let expired_ms = (now_unix() - 60) * 1000;
    item.write(
        &serde_json::json!({
            "claudeAiOauth": {
                "accessToken": tokens.access_token.expose(),
                "refreshToken": tokens.refresh_token.as_ref().unwrap().expose(),
                "expiresAt": expired_ms,
                "scopes": ["user:inference", "user:profile"],
                "subscriptionType": "max",
                "clientId": rig::CLIENT_ID,
            },
            "mcpOAuth": {"srv": {"token": "m"}},
        })
        .to_string(),
    )
    .unwrap();
    let env = [
        ("HOME", root.to_owned()),
        ("ANTHROPIC_CONFIG_DIR", root.join("anthropic")),
        ("CLAUDE_AUTH_CONFIG_DIR", root.join("own")),
        ("CLAUDE_AUTH_SETTINGS", root.join("own/config.toml")),
        ("CLAUDE_CONFIG_DIR", claude.clone()),
    ]
    .into_iter()
    .fold(Env::empty(), |e, (k, v)| e.with(k, v.display().to_string()));
    let store = ClaudeCodeStore::new(&claude, claude.join(".claude.json"))
        .with_keychain(&item.service, &item.account);
    let mgr = AuthManager::new(
        Resolver::new(env).unwrap().with_claude_code_store(store),
        ManagerOptions::default(),
    )
    .unwrap();
    rig.admin("reset");
    let got = two_workers()
        .block_on(mgr.credential())
        .unwrap()
        .secret()
        .expose()
        .to_owned();
    let after: Value = serde_json::from_str(&item.read().unwrap().unwrap()).unwrap();
    let _ = item.delete();
    let o = &after["claudeAiOauth"];
    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(
        o["accessToken"],
        got.as_str(),
        "the item holds what was handed out"
    );
    assert_ne!(got, tokens.access_token.expose());
    assert_ne!(
        o["refreshToken"],
        tokens.refresh_token.as_ref().unwrap().expose(),
        "rotated"
    );
    assert!(o["expiresAt"].as_u64().unwrap() > now_unix() * 1000);
    assert_eq!(o["clientId"], rig::CLIENT_ID);
    // The scopes the server granted (its order), user:inference kept for Claude Code.
    let mut scopes: Vec<&str> = o["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["user:inference", "user:profile"]);
    assert_eq!(after["mcpOAuth"]["srv"]["token"], "m");
    assert_eq!(
        std::fs::read_to_string(claude.join(".credentials.json")).unwrap(),
        file_login,
        "the file is not touched"
    );
    assert!(
        !claude.join(".oauth_refresh.lock").exists() && !root.join("claude.lock").exists(),
        "no lock directory is left behind"
    );
}
