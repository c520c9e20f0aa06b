#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Agent sessions end to end: the real binary, real child processes (sh and
//! curl), a loopback stand-in for the Messages API (tests/upstream), and the
//! usage ledger read back through `claude-auth agents --json`.
//!
//! - `exec --agent-id` records the session and its exit code;
//! - requests through `exec --proxy --agent-id` (a private proxy) and
//!   through a shared `claude-auth proxy` with `--proxy-url` (two agents at
//!   once) are attributed to the right agent;
//! - a closed session's key and an unknown key are refused by the shared
//!   proxy, and so is the key of a session for the other provider;
//! - `kill -9` of the child (exec records the signal) and of exec itself
//!   (the session stays running while the child lives, and is closed as
//!   died by the first read after it is gone).
//!
//! The agents send their requests with curl (a Debian package `scripts/test`
//! installs); without it the tests that need it fail under `CI` and say they
//! skipped otherwise.

mod budgets_support;
mod common;
mod upstream;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, Sandbox};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use upstream::Upstream;

const API_KEY: &str = "sk-ant-api03-Qm7Xr2Lk9Vd4Tn8Wc3Hs6Jb1Fp5Gz0Ya-agents-test";

/// Tokens the stand-in reports for one non-streamed answer (5 in, 1 out).
const TOKENS_PER_ANSWER: u64 = 6;

/// A child script that sends `$1` messages through whatever the environment
/// points at (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY) and writes each HTTP
/// status to `$2`, one a line.
const SEND: &str = r#"n=$1; out=$2; i=0
while [ "$i" -lt "$n" ]; do
  curl -s -o /dev/null -w '%{http_code}\n' -H "x-api-key: $ANTHROPIC_API_KEY" \
    -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \
    -d '{"model":"claude-test-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' \
    "$ANTHROPIC_BASE_URL/v1/messages" >> "$out"
  i=$((i+1))
done"#;

fn sandbox(upstream: &Upstream) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", API_KEY)
        .set("ANTHROPIC_BASE_URL", &upstream.url);
    sb
}

fn agents(sb: &Sandbox) -> Vec<Value> {
    let run = sb.run(&["agents", "--json"]);
    run.assert_code(0);
    run.json().as_array().unwrap().clone()
}

#[track_caller]
fn agent<'a>(list: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<&Value> = list.iter().filter(|a| a["id"] == id).collect();
    assert_eq!(found.len(), 1, "agent {id} in {list:#?}");
    found[0]
}

/// Poll `check` every 20 ms until it holds, failing after `limit`.
#[track_caller]
fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `exec` with its arguments, not waited for.
fn spawn(sb: &Sandbox, args: &[&str]) -> Child {
    sb.command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        args: Vec::new(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether `pid` is still a live process (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

fn pid_in(path: &Path) -> i32 {
    wait_for("the child's pid", Duration::from_secs(10), || {
        read(path).ends_with('\n')
    });
    read(path).trim().parse().unwrap()
}

#[test]
fn exec_records_the_session_and_its_exit_code() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    let pid_file = sb.root().join("pid");
    let script = format!(
        "echo \"$CLAUDE_AUTH_AGENT_ID\"; echo $$ > {}; exit 3",
        pid_file.display()
    );
    let run = sb.run(&["exec", "--agent-id", "builder-1", "--", "sh", "-c", &script]);
    run.assert_code(3);
    assert_eq!(run.stdout, "builder-1\n");
    let pid = read(&pid_file).trim().parse::<u64>().unwrap();
    let list = agents(&sb);
    assert_eq!(list.len(), 1);
    let a = &list[0];
    assert_eq!(a["id"], "builder-1");
    assert_eq!(a["provider"], "anthropic");
    assert_eq!(a["profile"], "anthropic-api-key");
    assert_eq!(a["state"], "exited");
    assert_eq!(a["exitCode"], 3);
    assert_eq!(a["signal"], Value::Null);
    assert_eq!(a["pid"], pid);
    assert!(a["ended"].as_u64().unwrap() >= a["started"].as_u64().unwrap());
    assert_eq!(a["usage"]["requests"], 0);
    // The human table says the same.
    let table = sb.run(&["agents"]);
    table.assert_code(0);
    let lines = table.stdout_lines();
    assert!(lines[0].starts_with("AGENT "), "{}", table.stdout);
    assert!(
        lines[1].starts_with("builder-1    anthropic/anth…"),
        "{}",
        table.stdout
    );
    assert!(lines[1].contains(" exited 3 "), "{}", table.stdout);
    assert!(lines.iter().all(|l| l.chars().count() <= 80));

    // A bad id is refused before anything runs.
    let bad = sb.run(&["exec", "--agent-id", "two words", "--", "true"]);
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("--agent-id \"two words\" is not a valid agent id: use 1 to 64 ASCII letters, digits, '.', '_' or '-'"),
        "{}",
        bad.stderr
    );
    // --proxy-url needs an agent, and a loopback http URL.
    sb.run(&["exec", "--proxy-url", "http://127.0.0.1:1", "--", "true"])
        .assert_code(2);
    let far = sb.run(&[
        "exec",
        "--agent-id",
        "x",
        "--proxy-url",
        "http://example.com:8787",
        "--",
        "true",
    ]);
    far.assert_code(2);
    assert!(
        far.stderr
            .contains("--proxy-url \"http://example.com:8787\": it must be a loopback address"),
        "{}",
        far.stderr
    );
    let env = sb
        .command(&["exec", "--agent-id", "x", "--", "true"])
        .env("CLAUDE_AUTH_PROXY_URL", "https://127.0.0.1:8787")
        .output()
        .unwrap();
    assert_eq!(env.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&env.stderr).contains(
        "CLAUDE_AUTH_PROXY_URL \"https://127.0.0.1:8787\": the shared proxy speaks plain http on loopback"
    ));
    assert_eq!(agents(&sb).len(), 1);
}

#[test]
fn requests_through_a_private_proxy_are_the_agents() {
    if !common::require_curl() {
        return;
    }
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    let out = sb.root().join("codes");
    let out_s = out.display().to_string();
    let run = sb.run(&[
        "exec",
        "--proxy",
        "--agent-id",
        "solo",
        "--",
        "sh",
        "-c",
        &format!("{SEND}\necho \"$ANTHROPIC_API_KEY\""),
        "sh",
        "2",
        &out_s,
    ]);
    run.assert_code(0);
    assert_eq!(read(&out), "200\n200\n");
    // The child's key is the agent's, never the real one, and never upstream.
    let key = run.stdout.trim();
    assert!(key.starts_with("ca-agent-"), "{key}");
    assert_eq!(
        upstream.credentials(),
        [Some(API_KEY.to_owned()), Some(API_KEY.to_owned())]
    );
    let list = agents(&sb);
    let a = agent(&list, "solo");
    assert_eq!(a["state"], "exited");
    assert_eq!(a["exitCode"], 0);
    assert_eq!(a["usage"]["requests"], 2);
    assert_eq!(a["usage"]["inputTokens"], 10);
    assert_eq!(a["usage"]["outputTokens"], 2);
    assert_eq!(a["usage"]["byProvider"][0]["provider"], "anthropic");
    assert_eq!(a["usage"]["byProvider"][0]["requests"], 2);
    // Only the key's hash is kept.
    let db = std::fs::read(sb.own_dir().join("state").join("usage.db")).unwrap();
    assert!(!db.windows(key.len()).any(|w| w == key.as_bytes()));
}

/// A running `claude-auth proxy`: its URL and local key.
struct Shared {
    child: Child,
    url: String,
    key: String,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shared_proxy(sb: &Sandbox) -> Shared {
    let mut child = sb
        .command(&["proxy", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut value = |var: &str| {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line.strip_prefix(&format!("export {var}='"))
            .and_then(|l| l.strip_suffix("'\n"))
            .unwrap_or_else(|| panic!("proxy printed {line:?}"))
            .to_owned()
    };
    let url = value("ANTHROPIC_BASE_URL");
    let key = value("ANTHROPIC_API_KEY");
    Shared { child, url, key }
}

/// One request to `url` with `key`: the HTTP status.
fn status_with(url: &str, key: &str) -> u16 {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
        .arg(format!("x-api-key: {key}"))
        .args(["-H", "content-type: application/json", "-d"])
        .arg(r#"{"model":"claude-test-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#)
        .arg(format!("{url}/v1/messages"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).parse().unwrap()
}

#[test]
fn a_shared_proxy_attributes_each_agents_requests_and_refuses_closed_and_unknown_keys() {
    if !common::require_curl() {
        return;
    }
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    let proxy = shared_proxy(&sb);
    let dir = sb.root();
    // Each agent sends its requests, hands its key over, says it is done
    // and waits to be released, so both sessions are open at once.
    let agent_script = format!(
        "{SEND}\necho \"$ANTHROPIC_API_KEY\" > \"$3.key\"; touch \"$3.done\"\n\
         while [ ! -e {release} ]; do sleep 0.02; done",
        release = dir.join("release").display()
    );
    let mut children = Vec::new();
    for (id, n) in [("alpha", "1"), ("beta", "2")] {
        let base = dir.join(id).display().to_string();
        let codes = format!("{base}.codes");
        children.push(spawn(
            &sb,
            &[
                "exec",
                "--agent-id",
                id,
                "--proxy-url",
                &proxy.url,
                "--",
                "sh",
                "-c",
                &agent_script,
                "sh",
                n,
                &codes,
                &base,
            ],
        ));
    }
    let path = |id: &str, ext: &str| dir.join(format!("{id}.{ext}"));
    wait_for("both agents' requests", Duration::from_secs(20), || {
        path("alpha", "done").exists() && path("beta", "done").exists()
    });
    assert_eq!(read(&path("alpha", "codes")), "200\n");
    assert_eq!(read(&path("beta", "codes")), "200\n200\n");
    let (alpha_key, beta_key) = (
        read(&path("alpha", "key")).trim().to_owned(),
        read(&path("beta", "key")).trim().to_owned(),
    );
    assert!(alpha_key.starts_with("ca-agent-") && beta_key.starts_with("ca-agent-"));
    assert_ne!(alpha_key, beta_key);
    assert_ne!(alpha_key, proxy.key);
    // Upstream saw only the real key.
    assert!(upstream
        .credentials()
        .iter()
        .all(|c| c.as_deref() == Some(API_KEY)));
    // While both run: each one's requests are its own (the proxy's ledger
    // writer commits within its batch window, so wait for the rows).
    let mut list = Vec::new();
    wait_for("the ledger rows", Duration::from_secs(10), || {
        list = agents(&sb);
        list.len() == 2
            && agent(&list, "alpha")["usage"]["requests"] == 1
            && agent(&list, "beta")["usage"]["requests"] == 2
    });
    for (id, n) in [("alpha", 1), ("beta", 2)] {
        let a = agent(&list, id);
        assert_eq!(a["state"], "running");
        assert_eq!(a["usage"]["inputTokens"], 5 * n);
        assert_eq!(
            a["usage"]["inputTokens"].as_u64().unwrap()
                + a["usage"]["outputTokens"].as_u64().unwrap(),
            TOKENS_PER_ANSWER * n
        );
    }
    // An unknown agent key and a made-up one are refused; the proxy's own
    // key still works.
    let unknown = format!("ca-agent-{}", "A".repeat(32));
    assert_eq!(status_with(&proxy.url, &unknown), 401);
    assert_eq!(status_with(&proxy.url, "sk-ant-api03-not-ours"), 401);
    assert_eq!(status_with(&proxy.url, &proxy.key), 200);
    assert_eq!(status_with(&proxy.url, &alpha_key), 200);

    std::fs::write(dir.join("release"), "").unwrap();
    for child in children {
        finish(child).assert_code(0);
    }
    // alpha's request from here counts too (the shared proxy writes its
    // row within its batch window).
    wait_for("alpha's second row", Duration::from_secs(10), || {
        agent(&agents(&sb), "alpha")["usage"]["requests"] == 2
    });
    let list = agents(&sb);
    assert_eq!(agent(&list, "alpha")["state"], "exited");
    assert_eq!(agent(&list, "beta")["state"], "exited");
    assert_eq!(agent(&list, "beta")["usage"]["requests"], 2);
    // A closed session's key stops working within the proxy's re-check
    // (2 s).
    let closed = Instant::now();
    wait_for("the closed key refused", Duration::from_secs(4), || {
        status_with(&proxy.url, &alpha_key) == 401
    });
    assert!(
        closed.elapsed() < Duration::from_secs(3),
        "{:?}",
        closed.elapsed()
    );
    assert_eq!(status_with(&proxy.url, &beta_key), 401);
}

#[test]
fn kill_9_of_the_child_is_recorded_as_its_signal() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    let pid_file = sb.root().join("pid");
    let exec = spawn(
        &sb,
        &[
            "exec",
            "--agent-id",
            "victim",
            "--",
            "sh",
            "-c",
            &format!("echo $$ > {}; exec sleep 60", pid_file.display()),
        ],
    );
    let pid = pid_in(&pid_file);
    wait_for(
        "the session to watch the child",
        Duration::from_secs(10),
        || agents(&sb).first().is_some_and(|a| a["pid"] == pid),
    );
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    finish(exec).assert_code(128 + 9);
    let list = agents(&sb);
    let a = agent(&list, "victim");
    assert_eq!(a["state"], "signal");
    assert_eq!(a["signal"], 9);
    assert_eq!(a["exitCode"], Value::Null);
}

#[test]
fn kill_9_of_exec_leaves_the_session_running_until_the_child_is_gone() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    let pid_file = sb.root().join("pid");
    let mut exec = spawn(
        &sb,
        &[
            "exec",
            "--agent-id",
            "orphan",
            "--",
            "sh",
            "-c",
            &format!("echo $$ > {}; exec sleep 60", pid_file.display()),
        ],
    );
    let pid = pid_in(&pid_file);
    wait_for(
        "the session to watch the child",
        Duration::from_secs(10),
        || agents(&sb).first().is_some_and(|a| a["pid"] == pid),
    );
    exec.kill().unwrap();
    exec.wait().unwrap();
    // The child lives on: the session is still running.
    assert!(alive(pid));
    let list = agents(&sb);
    assert_eq!(agent(&list, "orphan")["state"], "running");
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    wait_for("the child to be gone", Duration::from_secs(10), || {
        !alive(pid)
    });
    // The next read closes it.
    let list = agents(&sb);
    let a = agent(&list, "orphan");
    assert_eq!(a["state"], "died");
    assert_eq!(a["exitCode"], Value::Null);
    assert!(a["ended"].as_u64().is_some());
}

/// An open session for agent `id` of `provider`, with `key`, as `exec
/// --agent-id` registers it (watching this test process, which lives).
fn open_session(sb: &Sandbox, id: &str, provider: &claude_auth::Provider, key: &str) {
    use claude_auth::agents::{key_hash, sessions, NewSession};
    let ledger = claude_auth::usage::ledger::Ledger::open_in(&sb.own_dir().join("state")).unwrap();
    let hash = key_hash(key);
    sessions::register(
        &ledger,
        &NewSession {
            id,
            provider,
            profile: None,
            pid: Some(std::process::id()),
            budget: None,
            key_hash: Some(&hash),
        },
        common::now(),
    )
    .unwrap();
}

#[test]
fn a_shared_proxy_refuses_the_key_of_an_agent_whose_session_is_for_the_other_provider() {
    use budgets_support::{post, Proxy};
    use claude_auth::Provider;
    let upstream = Upstream::start();
    let mut sb = sandbox(&upstream);
    sb.set(
        "OPENAI_API_KEY",
        "sk-proj-agents-test-Vc9Xq3Hm7Jd1Fs5Gb0YeRk8Nw2Lp6",
    )
    .set("OPENAI_BASE_URL", format!("{}/v1", upstream.url));
    let anthropic = Proxy::start(&sb, &["proxy", "--quiet"], &[]);
    let openai = Proxy::start(&sb, &["proxy", "--provider", "openai", "--quiet"], &[]);
    let claude_key = claude_auth::agents::generate_agent_key().unwrap();
    let gpt_key = claude_auth::agents::generate_agent_key().unwrap();
    open_session(&sb, "writer", &Provider::Anthropic, claude_key.expose());
    open_session(&sb, "coder", &Provider::Openai, gpt_key.expose());
    let message =
        r#"{"model":"claude-test-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;
    let chat = r#"{"model":"gpt-test-1","messages":[{"role":"user","content":"hi"}]}"#;
    let (a, o) = (anthropic.hostport(), openai.hostport());

    // Each proxy serves the agents of its own provider.
    assert_eq!(
        post(&a, "/v1/messages", claude_key.expose(), message).status,
        200
    );
    assert_eq!(
        post(&o, "/chat/completions", gpt_key.expose(), chat).status,
        200
    );
    assert_eq!(upstream.requests().len(), 2);

    // The OpenAI agent's key at the Anthropic proxy: Anthropic's 401.
    let refused = post(&a, "/v1/messages", gpt_key.expose(), message);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"type": "error", "error": {"type": "authentication_error", "message":
            "claude-auth proxy: the key is agent \"coder\"'s, whose session is for OpenAI, but this proxy serves Anthropic's API; send the agent to a `claude-auth proxy --provider openai`, or start it with `claude-auth exec --provider anthropic --agent-id coder --proxy-url …` to use this one"}})
    );
    // The Anthropic agent's key at the OpenAI proxy: OpenAI's 401.
    let refused = post(&o, "/chat/completions", claude_key.expose(), chat);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": {"message":
            "claude-auth proxy: the key is agent \"writer\"'s, whose session is for Anthropic, but this proxy serves OpenAI's API; send the agent to a `claude-auth proxy --provider anthropic`, or start it with `claude-auth exec --provider openai --agent-id writer --proxy-url …` to use this one",
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})
    );
    // Neither refused request went upstream.
    assert_eq!(upstream.requests().len(), 2);
}
