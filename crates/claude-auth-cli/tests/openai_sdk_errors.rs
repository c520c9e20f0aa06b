#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The errors `claude-auth proxy --provider openai` answers itself reach the
//! official `openai` Python SDK (from the test venv) as its usual errors,
//! with our message, type and code where it reads them: a wrong local key
//! is its `AuthenticationError` with code `invalid_api_key`, an upstream
//! that cannot be reached its `InternalServerError` of type `server_error`.
//! Without the venv the test fails under `CI` and says it skipped otherwise.

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Stdio};

use common::{test_python, Sandbox};
use serde_json::{json, Value};

/// Two calls with the SDK: one with a wrong key, one with the proxy's; for
/// each, the error's class, status, type, code and message as it parsed them.
const PY_ERRORS: &str = r#"
import json, os, openai
out = []
for key in ["sk-not-the-local-key", os.environ["OPENAI_API_KEY"]]:
    client = openai.OpenAI(api_key=key, max_retries=0)
    try:
        client.chat.completions.create(model="gpt-test-1",
                                       messages=[{"role": "user", "content": "hi"}])
        out.append("answered")
    except openai.APIStatusError as e:
        out.append([type(e).__name__, e.status_code, e.type, e.code, e.body["message"]])
print(json.dumps(out))
"#;

/// A running proxy: killed on drop.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_openai_proxys_own_errors_are_the_openai_sdks_usual_errors() {
    let Some(py) = test_python("openai_sdk_errors") else {
        return;
    };
    // A loopback port nothing listens on: the upstream.
    let dead = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    let mut sb = Sandbox::new();
    sb.set(
        "OPENAI_API_KEY",
        "sk-proj-Wd5Rt8Nc2Lx7Vb1Qm4Hs9Jf3Kg6Pz0Ye-sdk-errors",
    );
    let upstream = format!("http://{dead}/v1");
    let mut child = sb
        .command(&[
            "proxy",
            "--quiet",
            "--provider",
            "openai",
            "--upstream",
            &upstream,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let proxy = Proxy(child);
    let vars = common::exported(stdout, 2);
    let out = std::process::Command::new(&py)
        .arg("-c")
        .arg(PY_ERRORS)
        .env_clear()
        .env("PATH", common::PATH)
        .env("HOME", sb.home())
        .envs(&vars)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    drop(proxy);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stdout.lines().last().unwrap_or_default();
    let got: Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}{stderr}"));
    assert_eq!(
        got,
        json!([
            [
                "AuthenticationError",
                401,
                "invalid_request_error",
                "invalid_api_key",
                "claude-auth proxy: missing or wrong local key (send it as Authorization: Bearer <key>, as OPENAI_API_KEY is sent)"
            ],
            [
                "InternalServerError",
                502,
                "server_error",
                null,
                "claude-auth proxy: could not connect to the upstream API"
            ]
        ])
    );
}
