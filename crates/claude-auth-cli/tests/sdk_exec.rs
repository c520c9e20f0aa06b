#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The official SDKs as children of plain `exec` (and of what `env` prints)
//! with an OAuth login, against a loopback Messages API that, like the real
//! one, answers an OAuth token sent without the `oauth-2025-04-20` beta with
//! `401 OAuth authentication is currently not supported.` (tests/upstream).
//!
//! - a spec profile: the child gets the profile (`ANTHROPIC_PROFILE`,
//!   `ANTHROPIC_CONFIG_DIR`) and the SDK adds the beta header itself;
//! - a Claude Code login: the child gets a private proxy, which adds it.
//!
//! Python tests need `CLAUDE_AUTH_TEST_PYTHON` (the venv with `anthropic`
//! 2.12.0 and python-dotenv), TypeScript tests `CLAUDE_AUTH_TEST_SDK_NODE`
//! (tests/sdk-node: `@anthropic-ai/sdk` 1.17.0 and npm `dotenv`); both are set
//! by `scripts/test`. Without them these tests fail under `CI` and say
//! "skipped" otherwise (tests/common/require_env.rs).
//!
//! Also here: `env --format dotenv` is safe to source from `sh`, `bash` and
//! `dash` and reads back exactly with python-dotenv and npm `dotenv`.

mod common;
mod upstream;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{now, test_python, write_file, Run, Sandbox, BIN, PATH};
use serde_json::Value;
use upstream::{Upstream, OAUTH_BETA, STREAM_DELTAS, TEXT};

const TOKEN: &str = "sk-ant-oat01-Sd7Kq2Wm9Xr4Tn6Vb1Lc8Hf3Jp5Gz0Ya-sdk-exec";

/// One `messages.create` and one `messages.stream`; prints the answers and
/// the environment as JSON.
const PY_BOTH: &str = r#"
import json, os, anthropic
client = anthropic.Anthropic(max_retries=0)
m = client.messages.create(model="claude-test-1", max_tokens=16,
                           messages=[{"role": "user", "content": "hi"}])
deltas = []
with client.messages.stream(model="claude-test-1", max_tokens=16,
                            messages=[{"role": "user", "content": "hi"}]) as stream:
    for text in stream.text_stream:
        deltas.append(text)
    final = stream.get_final_message()
print(json.dumps({"text": m.content[0].text, "deltas": deltas,
                  "stop_reason": final.stop_reason, "env": dict(os.environ)}))
"#;

/// The same with the TypeScript SDK; `argv[1]` is its node_modules dir.
const NODE_BOTH: &str = r#"
const Anthropic = require(process.argv[1] + '/@anthropic-ai/sdk').default;
(async () => {
  const client = new Anthropic({ maxRetries: 0 });
  const req = { model: 'claude-test-1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
  const m = await client.messages.create(req);
  const deltas = [];
  const stream = client.messages.stream(req);
  stream.on('text', (t) => deltas.push(t));
  const final = await stream.finalMessage();
  console.log(JSON.stringify({ text: m.content[0].text, deltas, stop_reason: final.stop_reason, env: process.env }));
})().catch((e) => { console.error(String(e)); process.exit(3); });
"#;

/// Credential variables a child must see only when meant.
const CREDENTIAL_VARS: [&str; 5] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_CONFIG_DIR",
];

/// The node binary and tests/sdk-node's node_modules, or `None` when
/// scripts/test did not set them up (a failure under `CI`, a "skipped" note
/// otherwise).
fn test_node(test: &str) -> Option<(String, String)> {
    let dir = std::env::var("CLAUDE_AUTH_TEST_SDK_NODE").unwrap_or_default();
    if dir.is_empty() {
        common::missing_env_named(
            test,
            "no TypeScript SDK (CLAUDE_AUTH_TEST_SDK_NODE is unset)",
        );
        return None;
    }
    let node = std::env::var("CLAUDE_AUTH_TEST_NODE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    Some((node, format!("{dir}/node_modules")))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    // Python adds no LC_CTYPE of its own (PEP 538) to the environment it reports.
    sb.set("LC_ALL", "C.UTF-8");
    sb
}

/// Run the binary (stdin closed) with the sandbox's environment plus `extra`.
fn run(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let out = sb
        .command(args)
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// The JSON the child printed (its last stdout line).
#[track_caller]
fn child_json(run: &Run) -> Value {
    run.assert_code(0);
    let last = run.stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}):\n{run}"))
}

/// The credential variables the child reported.
fn credential_env(out: &Value) -> BTreeMap<String, String> {
    CREDENTIAL_VARS
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), out["env"][k].as_str()?.to_owned())))
        .collect()
}

/// A spec profile `work` (made by `login --with-token`) whose config pins
/// the upstream, as a user or `ant profile set` would.
fn spec_profile_sandbox(upstream: &Upstream) -> Sandbox {
    let sb = sandbox();
    sb.login(Some("work"), TOKEN);
    let path = sb.config_path("work");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["base_url"] = upstream.url.as_str().into();
    write_file(&path, &config.to_string(), 0o644);
    sb
}

/// A Claude Code login, and `ANTHROPIC_BASE_URL` = the upstream.
fn claude_code_sandbox(upstream: &Upstream) -> Sandbox {
    let mut sb = sandbox();
    sb.write_claude_code(TOKEN, (now() + 3600) * 1000, 0o600);
    sb.set("ANTHROPIC_BASE_URL", &upstream.url);
    sb
}

/// The child answered both calls, and the upstream saw exactly two requests
/// with the OAuth token, the beta, and the second one streaming.
#[track_caller]
fn assert_both_answered(out: &Value, upstream: &Upstream) {
    assert_eq!(out["text"], TEXT);
    assert_eq!(out["deltas"], serde_json::json!(STREAM_DELTAS));
    assert_eq!(out["stop_reason"], "end_turn");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v1/messages")
        );
        assert_eq!(r.all("authorization"), [format!("Bearer {TOKEN}")]);
        assert_eq!(r.all("x-api-key"), Vec::<&str>::new());
        assert!(r.has_beta(OAUTH_BETA), "{:?}", r.all("anthropic-beta"));
    }
    assert!(!requests[0].body.contains(r#""stream":true"#));
    assert!(requests[1].body.contains(r#""stream":true"#));
}

/// The child got the profile (and Claude Code's token), nothing else.
#[track_caller]
fn assert_profile_env(out: &Value, sb: &Sandbox) {
    let env = credential_env(out);
    let want: BTreeMap<String, String> = [
        ("ANTHROPIC_PROFILE", "work".to_owned()),
        (
            "ANTHROPIC_CONFIG_DIR",
            sb.anthropic_dir().display().to_string(),
        ),
        ("CLAUDE_CODE_OAUTH_TOKEN", TOKEN.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(env, want);
    assert_eq!(out["env"]["CLAUDE_AUTH_EXEC"], "work");
}

/// The child got only a private proxy: its URL and a one-time key.
#[track_caller]
fn assert_proxy_env(out: &Value) {
    let env = credential_env(out);
    assert_eq!(
        env.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ANTHROPIC_API_KEY"]
    );
    assert!(env["ANTHROPIC_API_KEY"].starts_with("ca-local-"), "{env:?}");
    let base = out["env"]["ANTHROPIC_BASE_URL"].as_str().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(
        !out["env"].to_string().contains(TOKEN),
        "the token reached the child"
    );
}

// ---------------------------------------------------------------------------
// Python

#[test]
fn python_sdk_under_plain_exec_with_a_spec_profile() {
    let Some(py) = test_python("python_sdk_under_plain_exec_with_a_spec_profile") else {
        return;
    };
    let upstream = Upstream::start();
    let sb = spec_profile_sandbox(&upstream);
    let out = child_json(&run(&sb, &["exec", "--", &py, "-c", PY_BOTH], &[]));
    assert_both_answered(&out, &upstream);
    assert_profile_env(&out, &sb);
    assert_eq!(out["env"]["ANTHROPIC_BASE_URL"], upstream.url);
}

#[test]
fn python_sdk_under_plain_exec_with_a_claude_code_login() {
    let Some(py) = test_python("python_sdk_under_plain_exec_with_a_claude_code_login") else {
        return;
    };
    let upstream = Upstream::start();
    let sb = claude_code_sandbox(&upstream);
    let out = child_json(&run(&sb, &["exec", "--", &py, "-c", PY_BOTH], &[]));
    assert_both_answered(&out, &upstream);
    assert_proxy_env(&out);
    assert_eq!(out["env"]["CLAUDE_AUTH_EXEC"], "Claude Code login");
}

#[test]
fn raw_token_gets_the_real_apis_401_from_the_python_sdk() {
    let Some(py) = test_python("raw_token_gets_the_real_apis_401_from_the_python_sdk") else {
        return;
    };
    let upstream = Upstream::start();
    for sb in [
        spec_profile_sandbox(&upstream),
        claude_code_sandbox(&upstream),
    ] {
        upstream.clear();
        let out = run(&sb, &["exec", "--raw-token", "--", &py, "-c", PY_BOTH], &[]);
        out.assert_code(1);
        assert!(
            out.stderr
                .contains("anthropic.AuthenticationError: Error code: 401"),
            "{out}"
        );
        assert!(
            out.stderr
                .contains("'message': 'OAuth authentication is currently not supported.'"),
            "{out}"
        );
        let requests = upstream.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            requests[0].all("authorization"),
            [format!("Bearer {TOKEN}")]
        );
        assert!(!requests[0].has_beta(OAUTH_BETA));
    }
}

#[test]
fn what_env_prints_for_a_spec_profile_works_for_the_python_sdk() {
    let Some(py) = test_python("what_env_prints_for_a_spec_profile_works_for_the_python_sdk")
    else {
        return;
    };
    let upstream = Upstream::start();
    let sb = spec_profile_sandbox(&upstream);
    let dir = sb.anthropic_dir().display().to_string();
    let printed = run(&sb, &["env"], &[]);
    printed.assert_code(0);
    assert_eq!(
        printed.stdout,
        format!(
            "ANTHROPIC_PROFILE='work'\nANTHROPIC_CONFIG_DIR='{dir}'\nCLAUDE_CODE_OAUTH_TOKEN='{TOKEN}'\nANTHROPIC_BASE_URL='{}'\n",
            upstream.url
        )
    );
    assert_eq!(printed.stderr, "");

    let out = Command::new("sh")
        .arg("-c")
        .arg("eval \"$(\"$0\" env --format export)\" && exec \"$1\" -c \"$2\"")
        .args([BIN, &py, PY_BOTH])
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", sb.home())
        .env("LC_ALL", "C.UTF-8")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            sb.var("DBUS_SESSION_BUS_ADDRESS").unwrap(),
        )
        .current_dir(sb.home())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = Run {
        args: vec!["sh".into()],
        code: out.status.code().unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    };
    assert_both_answered(&child_json(&out), &upstream);
}

#[test]
fn env_refuses_a_claude_code_login_unless_asked_for_the_raw_token() {
    let upstream = Upstream::start();
    let sb = claude_code_sandbox(&upstream);
    let refused = run(&sb, &["env"], &[]);
    refused.assert_code(1);
    assert_eq!(refused.stdout, "");
    assert!(
        refused.stderr.contains(
            "from Claude Code login cannot be printed as variables the official SDKs can use"
        ),
        "{refused}"
    );
    assert!(
        refused.stderr.contains("claude-auth exec -- CMD"),
        "{refused}"
    );
    assert!(!refused.stderr.contains(TOKEN));

    let raw = run(&sb, &["env", "--raw-token"], &[]);
    raw.assert_code(0);
    assert_eq!(
        raw.stdout,
        format!("ANTHROPIC_AUTH_TOKEN='{TOKEN}'\nCLAUDE_CODE_OAUTH_TOKEN='{TOKEN}'\n")
    );
    assert!(raw.stderr.starts_with("note: OAuth tokens need"), "{raw}");
    assert_eq!(upstream.requests().len(), 0);
}

// ---------------------------------------------------------------------------
// TypeScript

#[test]
fn typescript_sdk_under_plain_exec_with_a_spec_profile() {
    let Some((node, modules)) = test_node("typescript_sdk_under_plain_exec_with_a_spec_profile")
    else {
        return;
    };
    let upstream = Upstream::start();
    let sb = spec_profile_sandbox(&upstream);
    let out = run(&sb, &["exec", "--", &node, "-e", NODE_BOTH, &modules], &[]);
    let out = child_json(&out);
    assert_both_answered(&out, &upstream);
    assert_profile_env(&out, &sb);
}

#[test]
fn typescript_sdk_under_plain_exec_with_a_claude_code_login() {
    let Some((node, modules)) =
        test_node("typescript_sdk_under_plain_exec_with_a_claude_code_login")
    else {
        return;
    };
    let upstream = Upstream::start();
    let sb = claude_code_sandbox(&upstream);
    let out = run(&sb, &["exec", "--", &node, "-e", NODE_BOTH, &modules], &[]);
    let out = child_json(&out);
    assert_both_answered(&out, &upstream);
    assert_proxy_env(&out);
}

#[test]
fn raw_token_gets_the_real_apis_401_from_the_typescript_sdk() {
    let Some((node, modules)) =
        test_node("raw_token_gets_the_real_apis_401_from_the_typescript_sdk")
    else {
        return;
    };
    let upstream = Upstream::start();
    let sb = spec_profile_sandbox(&upstream);
    let out = run(
        &sb,
        &[
            "exec",
            "--raw-token",
            "--",
            &node,
            "-e",
            NODE_BOTH,
            &modules,
        ],
        &[],
    );
    out.assert_code(3);
    assert_eq!(
        out.stderr,
        "AuthenticationError: 401 OAuth authentication is currently not supported. (request_id: req_upstream_test, path: /v1/messages, type: authentication_error)\n"
    );
}

// ---------------------------------------------------------------------------
// env --format dotenv

/// A key with everything a shell or a dotenv parser could act on (but no
/// space: a token is visible ASCII only); running either command inside it
/// would create a file under `root` (`>file` needs no space).
fn hostile_key(root: &Path) -> (String, [PathBuf; 2]) {
    let marks = [root.join("pwned-backtick"), root.join("pwned-dollar")];
    let key = format!(
        "sk-ant-api03-`>{}`$(>{})\"q\"\\d$HOME#c",
        marks[0].display(),
        marks[1].display()
    );
    (key, marks)
}

/// `env --format dotenv` for `key`, written to `<root>/.env`.
fn dotenv_file(sb: &Sandbox, key: &str) -> PathBuf {
    let out = run(
        sb,
        &["env", "--format", "dotenv"],
        &[("ANTHROPIC_API_KEY", key)],
    );
    out.assert_code(0);
    assert_eq!(out.stderr, "");
    let path = sb.root().join(".env");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

#[test]
fn dotenv_output_sourced_by_sh_bash_and_dash_gives_the_exact_value_and_runs_nothing() {
    let sb = sandbox();
    let (key, marks) = hostile_key(&sb.root());
    let file = dotenv_file(&sb, &key);
    let mut shells = vec!["sh", "bash"];
    if Path::new("/usr/bin/dash").exists() || Path::new("/bin/dash").exists() {
        shells.push("dash");
    } else {
        common::missing_env("no dash on this machine (Debian package dash)");
    }
    for shell in shells {
        let out = Command::new(shell)
            .arg("-c")
            .arg("set -a; . \"$1\"; printf %s \"$ANTHROPIC_API_KEY\"")
            .arg(shell)
            .arg(&file)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", sb.home())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), key, "{shell}");
        assert_eq!(text(&out.stderr), "", "{shell}");
        for mark in &marks {
            assert!(!mark.exists(), "{shell} ran a command from the token");
        }
    }
}

#[test]
fn dotenv_output_parses_exactly_with_python_dotenv() {
    let Some(py) = test_python("dotenv_output_parses_exactly_with_python_dotenv") else {
        return;
    };
    let sb = sandbox();
    let (key, marks) = hostile_key(&sb.root());
    let file = dotenv_file(&sb, &key);
    let out = Command::new(py)
        .arg("-c")
        .arg("import json, sys, dotenv; print(json.dumps(dotenv.dotenv_values(sys.argv[1])))")
        .arg(&file)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", sb.home())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed, serde_json::json!({ "ANTHROPIC_API_KEY": key }));
    assert!(marks.iter().all(|m| !m.exists()));
}

#[test]
fn dotenv_output_parses_exactly_with_npm_dotenv() {
    let Some((node, modules)) = test_node("dotenv_output_parses_exactly_with_npm_dotenv") else {
        return;
    };
    let sb = sandbox();
    let (key, marks) = hostile_key(&sb.root());
    let file = dotenv_file(&sb, &key);
    let out = Command::new(node)
        .arg("-e")
        .arg(
            "const d = require(process.argv[1] + '/dotenv');\
             console.log(JSON.stringify(d.parse(require('fs').readFileSync(process.argv[2]))));",
        )
        .arg(&modules)
        .arg(&file)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", sb.home())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed, serde_json::json!({ "ANTHROPIC_API_KEY": key }));
    assert!(marks.iter().all(|m| !m.exists()));
}

#[test]
fn dotenv_refuses_a_value_it_cannot_hold_without_printing_it() {
    let sb = sandbox();
    for (key, why) in [
        ("sk-ant-api03-it's", "a single quote"),
        ("sk-ant-api03-a${HOME}b", "`${`"),
        ("sk-ant-api03-a\\\\b", "a double or trailing backslash"),
    ] {
        let out = run(
            &sb,
            &["env", "--format", "dotenv"],
            &[("ANTHROPIC_API_KEY", key)],
        );
        out.assert_code(1);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr.contains(&format!(
                "the value of ANTHROPIC_API_KEY contains {why}, which a dotenv file cannot hold"
            )),
            "{out}"
        );
        assert!(!out.stderr.contains(key), "{out}");
    }
}
