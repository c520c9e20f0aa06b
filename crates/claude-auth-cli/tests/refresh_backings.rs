//! Refresh for the backings beyond profiles and Claude Code, against the real
//! OAuth rig: the seed library's `auth.json` (refreshed with the Claude
//! subscription client, written back in its own format) and a token set
//! given in code (held in memory, handed to the caller's hook).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rig;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use claude_auth::credential::now_unix;
use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, TokenSet};
use rig::{skip, Rig};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_claude-auth");

fn vars(root: &Path) -> Vec<(&'static str, String)> {
    let r = |p: &str| root.join(p).display().to_string();
    vec![
        ("HOME", r("")),
        ("ANTHROPIC_CONFIG_DIR", r("anthropic")),
        ("CLAUDE_AUTH_CONFIG_DIR", r("own")),
        ("CLAUDE_AUTH_SETTINGS", r("own/config.toml")),
        ("CLAUDE_CONFIG_DIR", r("claude")),
    ]
}

fn write_settings(root: &Path, toml: &str) {
    std::fs::create_dir_all(root.join("own")).unwrap();
    std::fs::write(root.join("own/config.toml"), toml).unwrap();
}

#[test]
fn an_expired_seed_auth_json_is_refreshed_and_written_back_in_its_own_format() {
    let Some(rig) = Rig::start(&["--require-json"]) else {
        return skip("seed_auth_json");
    };
    let tokens = rig.tokens_from_browser_login("json");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The Claude subscription client, pointed at the rig by the settings.
    write_settings(
        root,
        &format!(
            "[providers.claude]\nclient_id = \"{}\"\ntoken_url = \"{}\"\n",
            rig::CLIENT_ID,
            rig.token_url()
        ),
    );
    let file = root.join(".config/claude/auth.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let old_refresh = tokens.refresh_token.as_ref().unwrap().expose().to_owned();
    std::fs::write(
        &file,
        json!({
            "access_token": tokens.access_token.expose(),
            "refresh_token": old_refresh,
            "token_expiry": now_unix() - 60,
            "user_note": {"kept": true},
        })
        .to_string(),
    )
    .unwrap();
    rig.admin("reset");
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("token")
        .stdin(Stdio::null());
    for (k, v) in vars(root) {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let after: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        printed,
        format!("{}\n", after["access_token"].as_str().unwrap())
    );
    assert_ne!(after["access_token"], tokens.access_token.expose());
    assert_ne!(after["refresh_token"], old_refresh.as_str(), "rotated");
    // Seconds, not milliseconds: in the future, but not by years.
    let expiry = after["token_expiry"].as_u64().unwrap();
    assert!(
        expiry > now_unix() && expiry < now_unix() + 400 * 86_400,
        "{expiry}"
    );
    assert_eq!(
        after["user_note"],
        json!({"kept": true}),
        "unknown keys kept"
    );
    assert_eq!(
        after.as_object().unwrap().len(),
        4,
        "its own format, nothing added: {after}"
    );
    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(rig.stat("reuseDetected"), 0);
}

#[test]
fn a_token_set_given_in_code_is_refreshed_in_memory_and_handed_to_the_hook() {
    let Some(rig) = Rig::start(&[]) else {
        return skip("token_set_in_code");
    };
    let tokens = rig.tokens_from_browser_login("form");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The rig as a provider preset: the token set's client id selects it.
    write_settings(root, &rig.provider_toml("rig", "form", "form"));
    let env = vars(root)
        .into_iter()
        .fold(Env::empty(), |e, (k, v)| e.with(k, v));
    let mut set = tokens.clone();
    set.client_id = Some(rig::CLIENT_ID.into());
    set.expires_at = Some(now_unix() - 60);
    let persisted: Arc<Mutex<Vec<TokenSet>>> = Arc::default();
    let hook = Arc::clone(&persisted);
    let options = ManagerOptions::for_token_set(set, move |new| {
        hook.lock().unwrap().push(new.clone());
    });
    let mgr = AuthManager::new(Resolver::new(env).unwrap(), options).unwrap();
    rig.admin("reset");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let first = rt.block_on(mgr.credential()).unwrap();
    assert_ne!(first.secret(), &tokens.access_token);
    {
        let seen = persisted.lock().unwrap();
        assert_eq!(seen.len(), 1, "the hook gets the refreshed set");
        assert_eq!(&seen[0].access_token, first.secret());
        assert_ne!(seen[0].refresh_token, tokens.refresh_token, "rotated");
        assert!(seen[0].expires_at.unwrap() > now_unix());
    }
    // Held in memory: the next call hands it out without a grant.
    let again = rt.block_on(mgr.credential()).unwrap();
    assert_eq!(again.secret(), first.secret());
    assert_eq!(rig.stat("refreshGrants"), 1);
    // A 401 forces a refresh with the rotated refresh token (the original
    // one would be reuse, which the rig punishes by revoking the grant).
    let forced = rt.block_on(mgr.force_refresh(first.secret())).unwrap();
    assert_ne!(forced.credential.secret(), first.secret());
    let seen = persisted.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(&seen[1].access_token, forced.credential.secret());
    assert_eq!(rig.stat("refreshGrants"), 2);
    assert_eq!(rig.stat("reuseDetected"), 0);
}
