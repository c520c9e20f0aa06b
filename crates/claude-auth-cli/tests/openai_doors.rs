#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The doors with `--provider openai`, end to end: the real binary, the
//! official `openai` Python SDK (from the test venv) as the client, the
//! loopback stand-in's OpenAI routes (tests/upstream/openai.rs) as the
//! upstream, and the ChatGPT-shaped test issuer (tests/openai_issuer) for
//! ChatGPT logins.
//!
//! `token --provider openai` prints the key; `exec --provider openai` gives
//! the child `OPENAI_API_KEY` and `OPENAI_BASE_URL` and the SDK reaches the
//! upstream with them; with both providers usable a child (and `env`) gets
//! both sets and `ACTIVE_AUTH_PROVIDER`; a ChatGPT login reaches a child
//! only as a private proxy's URL and local key, and `proxy --provider
//! openai` injects the Bearer and `ChatGPT-Account-Id` for the SDK.
//!
//! Without `CLAUDE_AUTH_TEST_PYTHON` a Python test fails under `CI` and
//! says it skipped otherwise; `scripts/test` sets it.

mod common;
mod openai_issuer;
mod upstream;

use std::collections::BTreeMap;
use std::process::{Child, Stdio};

use common::{test_python, write_file, Run, Sandbox};
use openai_issuer::{Minted, OpenaiIssuer};
use serde_json::Value;
use upstream::openai::CODEX_PREFIX;
use upstream::{Upstream, TEXT};

const OPENAI_KEY: &str = "sk-proj-Hq4Tz8Wm1Xc6Vr3Nb9Ld2Kf7Jg5Ps0Ya-openai-doors";
const ANTHROPIC_KEY: &str = "sk-ant-api03-Lp3Xw7Qm2Zt8Vc4Nr6Hb1Jd5Fg9Ks0Ya-openai-doors";
/// The account the test issuer's default login belongs to.
const ACCOUNT: &str = "0f7a3c1e-5b2d-4e8a-9c61-2d4b8e7f1a90";

/// One `chat.completions.create` with the official SDK, configured only by
/// the environment; prints the answer and the whole environment as JSON.
const PY_CHAT: &str = r#"
import json, os, openai
client = openai.OpenAI(max_retries=0)
c = client.chat.completions.create(model="gpt-test-1",
                                   messages=[{"role": "user", "content": "hi"}])
print(json.dumps({"text": c.choices[0].message.content, "env": dict(os.environ),
                  "version": openai.__version__}))
"#;

/// A streamed `chat.completions.create`: a monotonic timestamp per delta.
const PY_CHAT_STREAM: &str = r#"
import json, time, openai
client = openai.OpenAI(max_retries=0)
stream = client.chat.completions.create(model="gpt-test-1", stream=True,
                                        messages=[{"role": "user", "content": "hi"}])
deltas = []
for chunk in stream:
    text = chunk.choices[0].delta.content if chunk.choices else None
    if text:
        deltas.append([time.monotonic(), text])
print(json.dumps({"deltas": deltas}))
"#;

/// One `responses.create` (the Codex backend's API) with the official SDK.
const PY_RESPONSES: &str = r#"
import json, os, openai
client = openai.OpenAI(max_retries=0)
r = client.responses.create(model="gpt-test-1", input="hi")
print(json.dumps({"text": r.output_text}))
"#;

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("LC_ALL", "C.UTF-8");
    sb
}

/// Run the binary (stdin closed) with the sandbox's environment.
fn run(sb: &Sandbox, args: &[&str]) -> Run {
    let out = sb.command(args).stdin(Stdio::null()).output().unwrap();
    Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The JSON the Python script printed (its last stdout line).
#[track_caller]
fn py_json(run: &Run) -> Value {
    run.assert_code(0);
    let last = run.stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}):\n{run}"))
}

/// The credential variables (and the provider marker) a child was given.
fn auth_vars(env: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    env.iter()
        .filter(|(k, _)| {
            k.starts_with("OPENAI_")
                || k.starts_with("ANTHROPIC_")
                || k.starts_with("CODEX_")
                || *k == "ACTIVE_AUTH_PROVIDER"
                || *k == "CLAUDE_AUTH_EXEC"
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// `exec … -- sh -c env` (plus `args` before `--`): the child's environment.
fn exec_env(sb: &Sandbox, args: &[&str]) -> BTreeMap<String, String> {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    all.extend(["--", "env"]);
    let out = run(sb, &all);
    out.assert_code(0);
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A ChatGPT login as claude-auth's own OpenAI profile `default`
/// (`<own config dir>/openai/credentials/default.json`, 0600 in 0700).
fn write_chatgpt_login(sb: &Sandbox, minted: &Minted) {
    let dir = sb.own_dir().join("openai").join("credentials");
    std::fs::create_dir_all(&dir).unwrap();
    for d in [sb.own_dir(), sb.own_dir().join("openai"), dir.clone()] {
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let login = serde_json::json!({
        "version": "1.0",
        "type": "oauth_token",
        "provider": "openai",
        "access_token": minted.access_token,
        "refresh_token": minted.refresh_token,
        "id_token": minted.id_token,
        "expires_at": common::now() + 3600,
        "account_uuid": ACCOUNT,
        "client_id": openai_issuer::CLIENT_ID,
    });
    write_file(
        &dir.join("default.json"),
        &serde_json::to_string_pretty(&login).unwrap(),
        0o600,
    );
}

#[test]
fn token_with_provider_openai_prints_the_openai_key() {
    let mut sb = sandbox();
    sb.set("OPENAI_API_KEY", OPENAI_KEY);
    let out = run(&sb, &["token", "--provider", "openai"]);
    out.assert_code(0);
    assert_eq!(out.stdout, format!("{OPENAI_KEY}\n"));

    // The flag chooses: with both, each provider's own.
    sb.set("ANTHROPIC_API_KEY", ANTHROPIC_KEY);
    let out = run(&sb, &["token", "--provider", "anthropic", "-n"]);
    out.assert_code(0);
    assert_eq!(out.stdout, ANTHROPIC_KEY);
    let out = run(&sb, &["token", "--provider", "openai", "-n"]);
    out.assert_code(0);
    assert_eq!(out.stdout, OPENAI_KEY);

    // No OpenAI credential: "log in" (exit 4), nothing on stdout.
    sb.unset("OPENAI_API_KEY");
    let out = run(&sb, &["token", "--provider", "openai"]);
    out.assert_code(4);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr_lines(),
        [
            "error: no OpenAI credential found; run `claude-auth login --provider chatgpt`, set OPENAI_API_KEY, or see `claude-auth status`",
            "hint: run `claude-auth status` to see every source",
        ]
    );

    let out = run(&sb, &["token", "--provider", "chatgpt"]);
    out.assert_code(2);
}

#[test]
fn exec_with_both_providers_gives_both_sets_and_names_the_active_one() {
    let mut sb = sandbox();
    sb.set("OPENAI_API_KEY", OPENAI_KEY)
        .set("ANTHROPIC_API_KEY", ANTHROPIC_KEY);
    let env = exec_env(&sb, &["--provider", "openai"]);
    assert_eq!(
        auth_vars(&env),
        BTreeMap::from([
            ("ACTIVE_AUTH_PROVIDER", "openai"),
            ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
            ("CLAUDE_AUTH_EXEC", "OPENAI_API_KEY"),
            ("OPENAI_API_KEY", OPENAI_KEY),
        ])
    );
    let env = exec_env(&sb, &["--provider", "anthropic"]);
    assert_eq!(env["ACTIVE_AUTH_PROVIDER"], "anthropic");
    assert_eq!(env["CLAUDE_AUTH_EXEC"], "ANTHROPIC_API_KEY");
    assert_eq!(env["OPENAI_API_KEY"], OPENAI_KEY);

    // `env` prints the same two sets, the chosen provider's first.
    let out = run(&sb, &["env", "--provider", "openai", "--format", "json"]);
    out.assert_code(0);
    let printed = out.json();
    assert_eq!(
        printed,
        serde_json::json!({
            "OPENAI_API_KEY": OPENAI_KEY,
            "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            "ACTIVE_AUTH_PROVIDER": "openai",
        })
    );
    let out = run(&sb, &["env", "--provider", "openai", "--format", "dotenv"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "OPENAI_API_KEY='{OPENAI_KEY}'\nANTHROPIC_API_KEY='{ANTHROPIC_KEY}'\nACTIVE_AUTH_PROVIDER='openai'\n"
        )
    );

    // One provider only: its set alone, no ACTIVE_AUTH_PROVIDER, and the
    // other provider's variables cleared from the child.
    sb.unset("ANTHROPIC_API_KEY");
    let env = exec_env(&sb, &["--provider", "openai"]);
    assert_eq!(
        auth_vars(&env),
        BTreeMap::from([
            ("CLAUDE_AUTH_EXEC", "OPENAI_API_KEY"),
            ("OPENAI_API_KEY", OPENAI_KEY),
        ])
    );
}

#[test]
fn exec_provider_openai_gives_the_sdk_its_key_and_base_url() {
    let Some(py) = test_python("exec_provider_openai") else {
        return;
    };
    let up = Upstream::start();
    let mut sb = sandbox();
    let base = format!("{}/v1", up.url);
    sb.set("OPENAI_API_KEY", OPENAI_KEY)
        .set("OPENAI_BASE_URL", &base);
    let out = run(
        &sb,
        &["exec", "--provider", "openai", "--", &py, "-c", PY_CHAT],
    );
    let got = py_json(&out);
    assert_eq!(got["text"], TEXT);
    assert_eq!(got["version"], "3.51.0");
    let env: BTreeMap<String, String> = serde_json::from_value(got["env"].clone()).unwrap();
    assert_eq!(
        auth_vars(&env),
        BTreeMap::from([
            ("CLAUDE_AUTH_EXEC", "OPENAI_API_KEY"),
            ("OPENAI_API_KEY", OPENAI_KEY),
            ("OPENAI_BASE_URL", base.as_str()),
        ])
    );
    let requests = up.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(
        requests[0].all("authorization"),
        [format!("Bearer {OPENAI_KEY}")]
    );

    // --proxy: the SDK reaches the same upstream through a private proxy,
    // with only the proxy's URL and local key.
    up.clear();
    let out = run(
        &sb,
        &[
            "exec",
            "--provider",
            "openai",
            "--proxy",
            "--",
            &py,
            "-c",
            PY_CHAT,
        ],
    );
    let got = py_json(&out);
    assert_eq!(got["text"], TEXT);
    let env: BTreeMap<String, String> = serde_json::from_value(got["env"].clone()).unwrap();
    let local = &env["OPENAI_BASE_URL"];
    assert!(local.starts_with("http://127.0.0.1:"), "{local}");
    assert!(env["OPENAI_API_KEY"].starts_with("ca-local-"));
    let requests = up.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(
        requests[0].all("authorization"),
        [format!("Bearer {OPENAI_KEY}")]
    );
}

#[test]
fn a_chatgpt_login_reaches_a_child_only_as_a_private_proxy() {
    let issuer = OpenaiIssuer::start();
    let minted = issuer.mint_default();
    let sb = sandbox();
    write_chatgpt_login(&sb, &minted);
    let env = exec_env(&sb, &["--provider", "openai"]);
    let vars = auth_vars(&env);
    assert_eq!(
        vars.keys().copied().collect::<Vec<_>>(),
        ["CLAUDE_AUTH_EXEC", "OPENAI_API_KEY", "OPENAI_BASE_URL"]
    );
    assert!(vars["OPENAI_BASE_URL"].starts_with("http://127.0.0.1:"));
    assert!(vars["OPENAI_API_KEY"].starts_with("ca-local-"));
    for (k, v) in &env {
        assert!(
            !v.contains(&minted.access_token) && !v.contains(&minted.refresh_token),
            "a ChatGPT token reached the child in {k}"
        );
    }
    // `env` cannot hold a proxy: it says so, and prints the token only with --raw-token.
    let out = run(&sb, &["env", "--provider", "openai"]);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("ChatGPT-Account-Id"), "{out}");
    let out = run(&sb, &["env", "--provider", "openai", "--raw-token"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "OPENAI_API_KEY='{}'\nOPENAI_BASE_URL='https://chatgpt.com/backend-api/codex'\n",
            minted.access_token
        )
    );
}

/// `proxy --provider openai` running in the background; its printed
/// variables.
struct RunningProxy {
    child: Child,
    vars: BTreeMap<String, String>,
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(sb: &Sandbox, args: &[&str]) -> RunningProxy {
    let mut all = vec!["proxy", "--quiet"];
    all.extend_from_slice(args);
    let mut child = sb
        .command(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let vars = common::exported(child.stdout.take().unwrap(), 2);
    RunningProxy { child, vars }
}

#[test]
fn proxy_provider_openai_adds_the_bearer_and_the_chatgpt_account_for_the_sdk() {
    let Some(py) = test_python("proxy_provider_openai") else {
        return;
    };
    let issuer = OpenaiIssuer::start();
    let minted = issuer.mint_default();
    let up = Upstream::start();
    let sb = sandbox();
    write_chatgpt_login(&sb, &minted);
    let upstream = format!("{}{CODEX_PREFIX}", up.url);
    let proxy = start_proxy(&sb, &["--provider", "openai", "--upstream", &upstream]);
    assert_eq!(
        proxy.vars.keys().map(String::as_str).collect::<Vec<_>>(),
        ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
    );
    let mut cmd = std::process::Command::new(&py);
    cmd.arg("-c")
        .arg(PY_RESPONSES)
        .env_clear()
        .env("PATH", common::PATH)
        .env("HOME", sb.home())
        .envs(&proxy.vars)
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let run = Run {
        args: vec!["python".into()],
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(py_json(&run)["text"], TEXT);
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
}

/// Codex's `auth.json` holding a ChatGPT login, in a fresh `$CODEX_HOME`.
fn write_codex_login(sb: &mut Sandbox, minted: &Minted) -> std::path::PathBuf {
    let home = sb.root().join("codex");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
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
        "kept_unknown_key": {"x": 1},
    });
    let path = home.join("auth.json");
    write_file(&path, &serde_json::to_string_pretty(&auth).unwrap(), 0o600);
    sb.set("CODEX_HOME", home.display().to_string());
    path
}

/// One HTTP/1.1 request on a fresh connection, read to its end: (status, body).
fn http(url: &str, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let hostport = url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(hostport).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    conn.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn a_401_for_a_chatgpt_login_refreshes_it_once_and_the_retry_carries_the_new_token() {
    let issuer = OpenaiIssuer::start();
    let minted = issuer.mint_default();
    let up = Upstream::start();
    up.reject(&minted.access_token);
    let mut sb = sandbox();
    let auth_path = write_codex_login(&mut sb, &minted);
    sb.set("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    let upstream = format!("{}{CODEX_PREFIX}", up.url);
    let proxy = start_proxy(&sb, &["--provider", "openai", "--upstream", &upstream]);
    let body = r#"{"model":"gpt-test-1","input":"hi"}"#;
    let (status, answer) = http(
        &proxy.vars["OPENAI_BASE_URL"],
        &format!(
            "POST /responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            proxy.vars["OPENAI_API_KEY"],
            body.len()
        ),
    );
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["output"][0]["content"][0]["text"], TEXT);

    // Exactly one refresh, at the issuer, and Codex's file holds its result.
    assert_eq!(issuer.stats().refreshes, 1);
    assert_eq!(issuer.stats().reuses, 0);
    let stored: Value = serde_json::from_slice(&std::fs::read(&auth_path).unwrap()).unwrap();
    let new_access = stored["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_access, minted.access_token);
    assert_ne!(
        stored["tokens"]["refresh_token"],
        minted.refresh_token.as_str()
    );
    assert!(issuer.is_live(stored["tokens"]["refresh_token"].as_str().unwrap()));
    assert_eq!(stored["kept_unknown_key"], serde_json::json!({"x": 1}));

    // The upstream saw the old token, then the new one; the same body and
    // the account on both.
    let requests = up.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        up.credentials(),
        [Some(minted.access_token.clone()), Some(new_access)]
    );
    for r in &requests {
        assert_eq!(r.path, format!("{CODEX_PREFIX}/responses"));
        assert_eq!(r.all("chatgpt-account-id"), [ACCOUNT]);
        assert_eq!(r.body, body);
    }
}

#[test]
fn a_stream_reaches_the_sdk_through_the_private_proxy_delta_by_delta() {
    let Some(py) = test_python("openai_stream_through_exec_proxy") else {
        return;
    };
    let up = Upstream::start();
    let mut sb = sandbox();
    sb.set("OPENAI_API_KEY", OPENAI_KEY)
        .set("OPENAI_BASE_URL", format!("{}/v1", up.url));
    let out = run(
        &sb,
        &[
            "exec",
            "--provider",
            "openai",
            "--proxy",
            "--",
            &py,
            "-c",
            PY_CHAT_STREAM,
        ],
    );
    let got = py_json(&out);
    let deltas = got["deltas"].as_array().unwrap();
    let texts: Vec<&str> = deltas.iter().map(|d| d[1].as_str().unwrap()).collect();
    assert_eq!(texts, upstream::STREAM_DELTAS);
    // Each delta as the upstream sent it, EVENT_GAP apart: nothing held back.
    for pair in deltas.windows(2) {
        let gap = pair[1][0].as_f64().unwrap() - pair[0][0].as_f64().unwrap();
        assert!(
            gap >= upstream::EVENT_GAP.as_secs_f64() / 2.0,
            "deltas arrived together: {deltas:?}"
        );
    }
    assert_eq!(up.credentials(), [Some(OPENAI_KEY.to_owned())]);
}
