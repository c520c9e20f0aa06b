#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Many `claude-auth token --provider openai` processes on one expired
//! ChatGPT login in Codex's `auth.json`, against the loopback issuer in
//! ChatGPT's shape (rotating refresh tokens, reuse detection): exactly one
//! refresh, no reuse, every process prints the same new token, the file
//! holds it (unknown keys kept), and `RUST_LOG=trace` puts no secret on
//! stderr.

mod common;
mod openai_issuer;

use std::process::Stdio;
use std::time::Duration;

use common::{write_file, Sandbox};
use openai_issuer::{Config, OpenaiIssuer};
use serde_json::{json, Value};

const PROCESSES: usize = 16;

#[test]
fn sixteen_token_processes_on_an_expired_chatgpt_login_refresh_once() {
    let issuer = OpenaiIssuer::start_with(Config {
        access_ttl: -60,
        ..Config::default()
    });
    let minted = issuer.mint_default();
    issuer.configure(|c| c.access_ttl = 3600);
    // Each refresh is held a moment, so the processes overlap it.
    issuer.delay_refresh(Duration::from_millis(300));

    let mut sb = Sandbox::new();
    let codex_home = sb.root().join("codex");
    std::fs::create_dir(&codex_home).unwrap();
    std::fs::set_permissions(
        &codex_home,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let auth_path = codex_home.join("auth.json");
    let doc = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {"id_token": minted.id_token, "access_token": minted.access_token,
                   "refresh_token": minted.refresh_token, "account_id": "acct-x"},
        "last_refresh": "2026-12-05T09:00:00Z",
        "kept_unknown_key": {"x": 1}
    });
    write_file(
        &auth_path,
        &serde_json::to_string_pretty(&doc).unwrap(),
        0o600,
    );
    sb.set("CODEX_HOME", codex_home.display().to_string());
    sb.set("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    sb.set("RUST_LOG", "trace");

    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            sb.command(&["token", "--provider", "openai", "-n"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();

    let stats = issuer.stats();
    let now: Value = serde_json::from_slice(&std::fs::read(&auth_path).unwrap()).unwrap();
    let new_access = now["tokens"]["access_token"].as_str().unwrap();
    let new_refresh = now["tokens"]["refresh_token"].as_str().unwrap();
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(stdout, new_access, "every process prints the new token");
        for secret in [
            minted.access_token.as_str(),
            minted.refresh_token.as_str(),
            minted.id_token.as_str(),
            new_access,
            new_refresh,
        ] {
            assert!(
                !stderr.contains(secret),
                "a secret in RUST_LOG=trace output"
            );
        }
    }
    assert!(
        outputs.iter().any(|o| !o.stderr.is_empty()),
        "RUST_LOG=trace produced output"
    );
    assert_eq!(stats.refreshes, 1, "{stats:?}");
    assert_eq!(stats.reuses, 0, "{stats:?}");
    assert_ne!(new_refresh, minted.refresh_token);
    assert!(issuer.is_live(new_refresh));
    assert_eq!(now["tokens"]["account_id"], "acct-x");
    assert_eq!(now["kept_unknown_key"], json!({"x": 1}));
    assert_ne!(now["last_refresh"], "2026-12-05T09:00:00Z");
}
