#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `exec --provider openai` with a ChatGPT login in Codex's `auth.json`,
//! end to end: the setting `[openai] chatgpt_base_url` points ChatGPT
//! logins' requests at the loopback stand-in, the child (the official
//! `openai` Python SDK from the test venv) calls through `exec`'s private
//! proxy, the upstream sees the Bearer and `ChatGPT-Account-Id`, and no
//! ChatGPT token reaches the child.
//!
//! Without `CLAUDE_AUTH_TEST_PYTHON` the test fails under `CI` and says it
//! skipped otherwise; `scripts/test` sets it.

mod common;
mod openai_issuer;
mod upstream;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use common::{test_python, write_file, Run, Sandbox};
use openai_issuer::{Minted, OpenaiIssuer};
use serde_json::Value;
use upstream::openai::CODEX_PREFIX;
use upstream::{Upstream, TEXT};

/// The account the test issuer's default login belongs to.
const ACCOUNT: &str = "0f7a3c1e-5b2d-4e8a-9c61-2d4b8e7f1a90";

/// One `responses.create` (the Codex backend's API) with the official SDK,
/// configured only by the environment; prints the answer and the whole
/// environment as JSON.
const PY_RESPONSES: &str = r#"
import json, os, openai
client = openai.OpenAI(max_retries=0)
r = client.responses.create(model="gpt-test-1", input="hi")
print(json.dumps({"text": r.output_text, "env": dict(os.environ)}))
"#;

fn run(sb: &Sandbox, args: &[&str]) -> Run {
    let out = sb.command(args).stdin(Stdio::null()).output().unwrap();
    Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Codex's `auth.json` holding a ChatGPT login, in a fresh `$CODEX_HOME`.
fn write_codex_login(sb: &mut Sandbox, minted: &Minted) {
    let home = sb.root().join("codex");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, PermissionsExt::from_mode(0o700)).unwrap();
    let auth = serde_json::json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": minted.id_token,
            "access_token": minted.access_token,
            "refresh_token": minted.refresh_token,
            "account_id": ACCOUNT,
        },
        "last_refresh": "2026-12-05T09:00:00Z",
    });
    write_file(
        &home.join("auth.json"),
        &serde_json::to_string_pretty(&auth).unwrap(),
        0o600,
    );
    sb.set("CODEX_HOME", home.display().to_string());
}

/// claude-auth's settings file with `[openai] chatgpt_base_url = url`.
fn write_chatgpt_base_url(sb: &Sandbox, url: &str) {
    let dir = sb.own_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o700)).unwrap();
    write_file(
        &dir.join("config.toml"),
        &format!("[openai]\nchatgpt_base_url = \"{url}\"\n"),
        0o600,
    );
}

#[test]
fn exec_provider_openai_with_a_codex_chatgpt_login_reaches_the_configured_backend_through_its_proxy(
) {
    let Some(py) = test_python("exec_provider_openai_chatgpt") else {
        return;
    };
    let issuer = OpenaiIssuer::start();
    let minted = issuer.mint_default();
    let up = Upstream::start();
    let mut sb = Sandbox::new();
    sb.set("LC_ALL", "C.UTF-8");
    write_codex_login(&mut sb, &minted);
    let backend = format!("{}{CODEX_PREFIX}", up.url);
    write_chatgpt_base_url(&sb, &backend);

    let out = run(
        &sb,
        &[
            "exec",
            "--provider",
            "openai",
            "--",
            &py,
            "-c",
            PY_RESPONSES,
        ],
    );
    out.assert_code(0);
    let got: Value = serde_json::from_str(out.stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"));
    assert_eq!(got["text"], TEXT);

    // The child has only the private proxy's URL and one-time key.
    let env: BTreeMap<String, String> = serde_json::from_value(got["env"].clone()).unwrap();
    let local = &env["OPENAI_BASE_URL"];
    assert!(local.starts_with("http://127.0.0.1:"), "{local}");
    assert_ne!(local, &backend);
    assert!(env["OPENAI_API_KEY"].starts_with("ca-local-"), "{env:?}");
    assert_eq!(env["CLAUDE_AUTH_EXEC"], "Codex login");
    for (k, v) in &env {
        for secret in [
            &minted.access_token,
            &minted.refresh_token,
            &minted.id_token,
        ] {
            assert!(
                !v.contains(secret.as_str()),
                "a ChatGPT token reached the child in {k}"
            );
        }
    }

    // The upstream got one request, with the login's Bearer and account.
    let requests = up.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(r.path, format!("{CODEX_PREFIX}/responses"));
    assert_eq!(
        r.all("authorization"),
        [format!("Bearer {}", minted.access_token)]
    );
    assert_eq!(r.all("chatgpt-account-id"), [ACCOUNT]);
    assert!(r.all("x-api-key").is_empty());

    // `env --raw-token` names the same configured backend.
    let out = run(&sb, &["env", "--provider", "openai", "--raw-token"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "OPENAI_API_KEY='{}'\nOPENAI_BASE_URL='{backend}'\n",
            minted.access_token
        )
    );

    // A non-loopback http URL is refused, naming the file and the setting.
    write_chatgpt_base_url(&sb, "http://chatgpt.example/backend-api/codex");
    let out = run(&sb, &["exec", "--provider", "openai", "--", "true"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains(
            "config.toml (openai.chatgpt_base_url): must be https (http only on loopback)"
        ),
        "{out}"
    );
}
