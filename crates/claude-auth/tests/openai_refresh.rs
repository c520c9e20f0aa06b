//! The ChatGPT refresh of Codex's login, end to end against the loopback
//! issuer in ChatGPT's shape (rotating refresh tokens, reuse detection): a
//! due login is refreshed once and written back into `auth.json` the way
//! Codex keeps it; a dead refresh token means "log in again", is remembered,
//! and never blanks the file; a transient failure keeps a valid token; a
//! process holding Codex's lock makes us wait and adopt its write; 16
//! processes on one expired login make exactly one refresh, and no secret
//! reaches `RUST_LOG=trace` output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../claude-auth-cli/tests/openai_issuer/mod.rs"]
mod openai_issuer;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use claude_auth::credential::{Credential, Provider};
use claude_auth::lock::FileLock;
use claude_auth::manager::AuthError;
use claude_auth::secure_file::{mode_of, write_atomic_strict};
use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, Settings};
use openai_issuer::{Config, Minted, OpenaiIssuer};
use serde_json::{json, Value};

struct Rig {
    issuer: OpenaiIssuer,
    dir: tempfile::TempDir,
}

impl Rig {
    fn start(access_ttl: i64) -> Rig {
        let issuer = OpenaiIssuer::start_with(Config {
            access_ttl,
            ..Config::default()
        });
        Rig {
            issuer,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn codex_home(&self) -> PathBuf {
        self.dir.path().join("codex")
    }

    fn auth_json(&self) -> PathBuf {
        self.codex_home().join("auth.json")
    }

    fn env(&self) -> Env {
        let d = self.dir.path();
        Env::empty()
            .with("HOME", d.to_string_lossy())
            .with("CLAUDE_AUTH_CONFIG_DIR", d.join("own").to_string_lossy())
            .with("CODEX_HOME", self.codex_home().to_string_lossy())
            .with("CLAUDE_AUTH_OPENAI_ISSUER", &self.issuer.url)
    }

    /// Codex's document for `minted`, with keys we do not own.
    /// A login minted already expired; refreshes from now on give tokens
    /// valid for an hour.
    fn expired_login(&self) -> Minted {
        let minted = self.issuer.mint_default();
        self.issuer.configure(|c| c.access_ttl = 3600);
        minted
    }

    fn write_login(&self, minted: &Minted) -> Vec<u8> {
        let doc = json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": minted.id_token,
                "access_token": minted.access_token,
                "refresh_token": minted.refresh_token,
                "account_id": "acct-from-login",
                "future_token_field": "kept"
            },
            "last_refresh": "2026-01-01T00:00:00Z",
            "agent_identity": {"kept": true}
        });
        let bytes = serde_json::to_vec_pretty(&doc).unwrap();
        write_atomic_strict(&self.auth_json(), &bytes, 0o600).unwrap();
        bytes
    }

    fn manager(&self) -> AuthManager {
        manager_for(self.env())
    }

    fn doc(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.auth_json()).unwrap()).unwrap()
    }
}

fn manager_for(env: Env) -> AuthManager {
    let settings = Settings::load(&env).unwrap();
    let resolver = Resolver::for_provider(env, settings, Provider::Openai);
    AuthManager::new(resolver, ManagerOptions::default()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_expired_codex_login_is_refreshed_once_and_written_back_as_codex_keeps_it() {
    let rig = Rig::start(-60);
    let minted = rig.expired_login();
    rig.write_login(&minted);
    let rt = runtime();
    let manager = rig.manager();
    let got = rt.block_on(manager.obtain()).unwrap();
    assert!(got.refreshed);
    assert_eq!(rig.issuer.stats().refreshes, 1);
    assert_eq!(rig.issuer.stats().reuses, 0);

    let doc = rig.doc();
    let tokens = &doc["tokens"];
    assert_eq!(got.credential.secret().expose(), tokens["access_token"]);
    assert_ne!(tokens["access_token"], minted.access_token);
    assert_ne!(tokens["refresh_token"], minted.refresh_token);
    assert!(rig
        .issuer
        .is_live(tokens["refresh_token"].as_str().unwrap()));
    // What we do not own is kept; last_refresh is now.
    assert_eq!(tokens["account_id"], "acct-from-login");
    assert_eq!(tokens["future_token_field"], "kept");
    assert_eq!(doc["agent_identity"], json!({"kept": true}));
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert_ne!(doc["last_refresh"], "2026-01-01T00:00:00Z");
    assert_eq!(mode_of(&rig.auth_json()), Some(0o600));
    assert_eq!(got.credential.openai_account_id(), Some("acct-from-login"));
    let Credential::OAuth(set) = &*got.credential else {
        panic!("not a token set")
    };
    assert_eq!(set.id_token.as_ref().unwrap().expose(), tokens["id_token"]);
    assert!(set.expires_at.unwrap() > claude_auth::credential::now_unix() + 300);
    assert_eq!(
        got.provenance.base_url,
        claude_auth::openai::chatgpt::CODEX_BASE_URL
    );

    // Valid now: another manager (another process) does not refresh again.
    let again = rt.block_on(rig.manager().obtain()).unwrap();
    assert!(!again.refreshed);
    assert_eq!(again.credential.secret(), got.credential.secret());
    assert_eq!(rig.issuer.stats().refreshes, 1);
}

#[test]
fn a_dead_refresh_token_means_log_in_again_is_remembered_and_never_blanks_the_file() {
    let rig = Rig::start(-60);
    let minted = rig.expired_login();
    let bytes = rig.write_login(&minted);
    rig.issuer.invalidate_all();
    let rt = runtime();
    let err = rt.block_on(rig.manager().obtain()).unwrap_err();
    assert!(err.login_required(), "{err}");
    let AuthError::LoginRequired { message, command } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("refresh_token_invalidated"), "{message}");
    assert!(command.contains("codex login"), "{command}");
    assert!(!err.to_string().contains(&minted.refresh_token));
    assert_eq!(std::fs::read(rig.auth_json()).unwrap(), bytes);
    let before = rig.issuer.token_requests().len();
    // Another process: the dead token is remembered, not presented again.
    let err = rt.block_on(rig.manager().obtain()).unwrap_err();
    assert!(err.login_required(), "{err}");
    assert_eq!(rig.issuer.token_requests().len(), before);
    assert_eq!(std::fs::read(rig.auth_json()).unwrap(), bytes);
}

#[test]
fn a_reused_refresh_token_means_log_in_again() {
    let rig = Rig::start(-60);
    let minted = rig.expired_login();
    let bytes = rig.write_login(&minted);
    // Someone (a Codex without a lock) already rotated it.
    let (status, _) = rig.issuer.post_json(
        "/oauth/token",
        &json!({"client_id": openai_issuer::CLIENT_ID, "grant_type": "refresh_token",
                "refresh_token": minted.refresh_token}),
    );
    assert_eq!(status, 200);
    let err = runtime().block_on(rig.manager().obtain()).unwrap_err();
    let AuthError::LoginRequired { message, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("refresh_token_reused"), "{message}");
    assert_eq!(std::fs::read(rig.auth_json()).unwrap(), bytes);
}

#[test]
fn a_transient_failure_keeps_the_token_while_it_is_valid() {
    // Valid for two more minutes: due (within 5 min), not expired.
    let rig = Rig::start(120);
    let minted = rig.issuer.mint_default();
    let bytes = rig.write_login(&minted);
    rig.issuer.fail_next(500, r#"{"error":"server_error"}"#, 1);
    let got = runtime().block_on(rig.manager().obtain()).unwrap();
    assert!(!got.refreshed);
    assert_eq!(got.credential.secret().expose(), minted.access_token);
    let warning = got.warning.unwrap();
    assert!(warning.contains("HTTP 500"), "{warning}");
    assert_eq!(std::fs::read(rig.auth_json()).unwrap(), bytes);
}

#[test]
fn a_process_holding_codex_s_lock_makes_us_wait_and_adopt_its_write() {
    let rig = Rig::start(-60);
    rig.write_login(&rig.expired_login());
    // "Codex" holds auth.lock.
    let held =
        FileLock::acquire(&rig.codex_home().join("auth.lock"), Duration::from_secs(1)).unwrap();
    let rt = runtime();
    let manager = rig.manager();
    let waiting = rt.spawn(async move { manager.obtain().await });
    // Ours is taken before Codex's: once our lock file exists, the refresh
    // is waiting on auth.lock.
    let locks = rig.dir.path().join("own/locks");
    while !std::fs::read_dir(&locks)
        .map(|d| d.flatten().count() > 0)
        .unwrap_or(false)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!waiting.is_finished());
    // "Codex" commits a refresh of its own, then lets go.
    let fresh = rig.issuer.mint_default();
    rig.write_login(&fresh);
    drop(held);
    let got = rt.block_on(waiting).unwrap().unwrap();
    assert!(got.refreshed, "adopted");
    assert_eq!(got.credential.secret().expose(), fresh.access_token);
    assert_eq!(rig.issuer.stats().refreshes, 0);
    assert_eq!(rig.doc()["tokens"]["refresh_token"], fresh.refresh_token);
}

#[test]
fn a_corrupt_auth_json_is_reported_and_left_untouched() {
    let rig = Rig::start(-60);
    let broken = b"{\"tokens\": {\"access_token\": \"eyJ-secret-part\", \"refresh_token\": 7";
    write_atomic_strict(&rig.auth_json(), broken, 0o600).unwrap();
    let resolver = Resolver::for_provider(rig.env(), Settings::default(), Provider::Openai);
    let res = resolver.resolve(&Default::default());
    let codex = res
        .reports
        .iter()
        .find(|r| r.id == claude_auth::SourceId::Codex)
        .unwrap();
    let claude_auth::source::Outcome::Error(message) = &codex.outcome else {
        panic!("{:?}", codex.outcome)
    };
    assert!(
        message.contains(&rig.auth_json().display().to_string()),
        "{message}"
    );
    assert!(message.contains("not JSON"), "{message}");
    assert!(!message.contains("secret-part"), "{message}");
    let err = runtime().block_on(rig.manager().obtain()).unwrap_err();
    assert!(!err.to_string().contains("secret-part"), "{err}");
    assert_eq!(std::fs::read(rig.auth_json()).unwrap(), broken);
    assert_eq!(rig.issuer.stats().refreshes, 0);
}

/// The child of [`sixteen_processes_on_one_expired_login_refresh_once`]:
/// one process of the claude-auth library getting a token.
#[test]
fn child_process_obtains_an_openai_token() {
    let Ok(root) = std::env::var("CLAUDE_AUTH_TEST_OPENAI_CHILD") else {
        return;
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let issuer = std::env::var("CLAUDE_AUTH_OPENAI_ISSUER").unwrap();
    let root = Path::new(&root);
    let env = Env::empty()
        .with("HOME", root.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", root.join("own").to_string_lossy())
        .with("CODEX_HOME", root.join("codex").to_string_lossy())
        .with("CLAUDE_AUTH_OPENAI_ISSUER", issuer);
    let got = runtime().block_on(manager_for(env).obtain()).unwrap();
    // A fingerprint of the token, never the token.
    let fp = claude_auth::refresh_state::fingerprint(got.credential.secret());
    println!("CHILD-TOKEN {fp} refreshed={}", got.refreshed);
}

#[test]
fn sixteen_processes_on_one_expired_login_refresh_once_and_log_no_secret() {
    let rig = Rig::start(-60);
    let minted = rig.expired_login();
    rig.write_login(&minted);
    // The issuer holds each refresh a moment, so the processes overlap.
    rig.issuer.delay_refresh(Duration::from_millis(300));
    let children: Vec<_> = (0..16)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "child_process_obtains_an_openai_token",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("CLAUDE_AUTH_TEST_OPENAI_CHILD", rig.dir.path())
                .env("CLAUDE_AUTH_OPENAI_ISSUER", &rig.issuer.url)
                .env("RUST_LOG", "trace")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut fingerprints = Vec::new();
    let mut refreshed = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("CHILD-TOKEN ").map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("{stdout}"));
        let (fp, how) = line.split_once(' ').unwrap();
        fingerprints.push(fp.to_owned());
        refreshed += usize::from(how == "refreshed=true");
        let doc = rig.doc();
        for secret in [
            &minted.access_token,
            &minted.refresh_token,
            &minted.id_token,
            &doc["tokens"]["access_token"].as_str().unwrap().to_owned(),
            &doc["tokens"]["refresh_token"].as_str().unwrap().to_owned(),
        ] {
            assert!(!stdout.contains(secret.as_str()), "a secret on stdout");
            assert!(!stderr.contains(secret.as_str()), "a secret on stderr");
        }
    }
    let stats = rig.issuer.stats();
    assert_eq!(stats.refreshes, 1, "{stats:?}");
    assert_eq!(stats.reuses, 0, "{stats:?}");
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), 1, "every process got the same token");
    assert!(refreshed >= 1);
    assert!(rig
        .issuer
        .is_live(rig.doc()["tokens"]["refresh_token"].as_str().unwrap()));
}

#[test]
fn an_expired_openai_profile_is_refreshed_and_saved_where_it_is_kept() {
    let rig = Rig::start(-60);
    let minted = rig.expired_login();
    let resolver = Resolver::for_provider(rig.env(), Settings::default(), Provider::Openai);
    let set = claude_auth::TokenSet {
        access_token: minted.access_token.clone().into(),
        refresh_token: Some(minted.refresh_token.clone().into()),
        expires_at: Some(1),
        scopes: Vec::new(),
        identity: claude_auth::Identity {
            account_uuid: Some("acct-profile".into()),
            ..Default::default()
        },
        provider: Provider::Openai,
        client_id: Some(openai_issuer::CLIENT_ID.into()),
        id_token: Some(minted.id_token.clone().into()),
    };
    let profiles = resolver.openai_profiles();
    profiles
        .save(
            "work",
            &Credential::OAuth(set),
            claude_auth::store::StorageKind::File,
        )
        .unwrap();
    profiles.set_active("work").unwrap();
    let got = runtime().block_on(rig.manager().obtain()).unwrap();
    assert!(got.refreshed);
    assert_eq!(
        got.provenance.source,
        Some(claude_auth::SourceId::OpenaiProfile)
    );
    assert_eq!(rig.issuer.stats().refreshes, 1);
    let Some(Credential::OAuth(saved)) = profiles.load("work").unwrap() else {
        panic!("not saved")
    };
    assert_eq!(&saved.access_token, got.credential.secret());
    assert_ne!(
        saved.refresh_token.as_ref().unwrap().expose(),
        minted.refresh_token
    );
    assert!(rig
        .issuer
        .is_live(saved.refresh_token.as_ref().unwrap().expose()));
    assert!(saved.id_token.is_some());
    assert_eq!(saved.identity.account_uuid.as_deref(), Some("acct-profile"));
    assert!(saved.expires_at.unwrap() > claude_auth::credential::now_unix() + 300);
    // Not in the spec's dir, and Codex's file was never created.
    assert!(!rig.dir.path().join(".config/anthropic").exists());
    assert!(!rig.auth_json().exists());
}
