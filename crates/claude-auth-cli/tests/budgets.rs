#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Budgets end to end: the real binary's `claude-auth proxy` processes in
//! front of a loopback stand-in for the vendors' APIs, clients speaking
//! raw HTTP so the refusal's exact bytes are asserted, and the ledger read
//! back through the library.

mod budgets_support;
mod common;
mod upstream;

use budgets_support::{post, Proxy};
use claude_auth::usage::ledger::Ledger;
use common::{now, write_file, Sandbox};
use serde_json::{json, Value};
use upstream::Upstream;

const TOKEN: &str = "sk-ant-oat01-Bq7Wr2Lk9Vd4Tn8Wc3Hs6Jb1Fp5Gz0Ya-budget-test";
const MESSAGE: &str =
    r#"{"model":"claude-test-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;

/// A sandbox whose `work` profile (an OAuth token) sends to `up`, with
/// `settings` as claude-auth's config.toml.
fn sandbox(up: &Upstream, settings: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_static_profile("work", TOKEN, Some(now() + 86_400));
    let path = sb.config_path("work");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["base_url"] = up.url.clone().into();
    write_file(&path, &config.to_string(), 0o644);
    write_file(&sb.own_dir().join("config.toml"), settings, 0o600);
    sb
}

fn ledger(sb: &Sandbox) -> Ledger {
    Ledger::open(&sb.own_dir().join("state").join("usage.db")).unwrap()
}

#[test]
fn a_profile_budget_refuses_every_request_of_that_login_past_it() {
    let up = Upstream::start();
    // Each answer is 5 input and 1 output token: 6.
    let sb = sandbox(&up, "[profiles.work]\nbudget = \"12/5h\"\n");
    let proxy = Proxy::start(&sb, &["--profile", "work", "proxy"], &[]);
    let hp = proxy.hostport();
    for _ in 0..2 {
        let a = post(&hp, "/v1/messages", proxy.key(), MESSAGE);
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let refused = post(&hp, "/v1/messages", proxy.key(), MESSAGE);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert_eq!(refused.header("x-should-retry"), Some("false"));
    let body: Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message":
            "claude-auth: profile \"work\" has spent its budget of 12/5h: 12 tokens in the last 5h; raise or remove `budget` under [profiles.work] in claude-auth's config.toml"}})
    );
    assert_eq!(up.requests().len(), 2, "the refused request never left");
    let stderr = proxy.stop();
    assert!(stderr.contains("POST /v1/messages -> 429"), "{stderr}");
    let ledger = ledger(&sb);
    let rows = ledger.history(0).unwrap();
    assert_eq!(rows.iter().map(|r| r.requests).sum::<u64>(), 2, "{rows:?}");
    let events = ledger.events(0).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (
            events[0].kind.as_str(),
            events[0].profile.as_deref(),
            events[0].agent.as_deref()
        ),
        ("budget-refused", Some("profile-work"), None)
    );
    assert_eq!(events[0].detail, body["error"]["message"].as_str().unwrap());
}

#[test]
fn a_profile_budget_without_a_period_is_refused_at_start_with_the_fix() {
    let up = Upstream::start();
    let sb = sandbox(&up, "[profiles.work]\nbudget = \"500k\"\n");
    let run = sb.run(&["--profile", "work", "proxy"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("(profiles.work.budget): budget 500000 has no period"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"500000/5h\""), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// agents

const API_KEY: &str = "sk-ant-api03-Hn3Wr2Lk9Vd4Tn8Wc3Hs6Jb1Fp5Gz0Ya-budget-test";
const OPENAI_KEY: &str = "sk-proj-budget-test-Rk8Nw2Lp6Vc9Xq3Hm7Jd1Fs5Gb0Ye";

/// A child script sending `$1` requests through what the environment points
/// at (Anthropic's or OpenAI's variables, `$3` = `anthropic` or `openai`),
/// each answer's body into `$2/<i>.body` and its status into `$2/codes`.
const SEND: &str = r#"n=$1; dir=$2; i=1
while [ "$i" -le "$n" ]; do
  if [ "$3" = openai ]; then
    curl -s -o "$dir/$i.body" -w '%{http_code}\n' -H "authorization: Bearer $OPENAI_API_KEY" \
      -H 'content-type: application/json' \
      -d '{"model":"gpt-test-1","messages":[{"role":"user","content":"hi"}]}' \
      "$OPENAI_BASE_URL/chat/completions" >> "$dir/codes"
  else
    curl -s -o "$dir/$i.body" -w '%{http_code}\n' -H "x-api-key: $ANTHROPIC_API_KEY" \
      -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \
      -d '{"model":"claude-test-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' \
      "$ANTHROPIC_BASE_URL/v1/messages" >> "$dir/codes"
  fi
  i=$((i+1))
done"#;

/// A sandbox with an API key of each vendor, sending to `up`.
fn key_sandbox(up: &Upstream) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", API_KEY)
        .set("ANTHROPIC_BASE_URL", &up.url)
        .set("OPENAI_API_KEY", OPENAI_KEY)
        .set("OPENAI_BASE_URL", format!("{}/v1", up.url));
    sb
}

/// Four agents behind one shared proxy of `provider`, sending three
/// requests each at once; `a1`'s budget is two answers (12 tokens), the
/// others' 1000. Returns each agent's statuses and bodies.
/// One agent's HTTP statuses and answer bodies, in order.
type Answers = (Vec<u16>, Vec<String>);

fn four_agents(provider: &str) -> (Upstream, Sandbox, Vec<Answers>) {
    let up = Upstream::start();
    let sb = key_sandbox(&up);
    let proxy = Proxy::start(&sb, &["proxy", "--provider", provider, "--quiet"], &[]);
    let url = proxy
        .vars
        .get("ANTHROPIC_BASE_URL")
        .or_else(|| proxy.vars.get("OPENAI_BASE_URL"))
        .unwrap()
        .clone();
    let children: Vec<_> = ["a1", "a2", "a3", "a4"]
        .iter()
        .map(|id| {
            let dir = sb.root().join(id);
            std::fs::create_dir(&dir).unwrap();
            let budget = if *id == "a1" { "12" } else { "1000" };
            let child = sb
                .command(&[
                    "exec",
                    "--provider",
                    provider,
                    "--agent-id",
                    id,
                    "--budget-tokens",
                    budget,
                    "--proxy-url",
                    &url,
                    "--",
                    "sh",
                    "-c",
                    SEND,
                    "sh",
                    "3",
                    dir.to_str().unwrap(),
                    provider,
                ])
                .stdin(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (dir, child)
        })
        .collect();
    let mut out = Vec::new();
    for (dir, mut child) in children {
        assert!(child.wait().unwrap().success());
        let codes = std::fs::read_to_string(dir.join("codes")).unwrap();
        let codes: Vec<u16> = codes.lines().map(|l| l.parse().unwrap()).collect();
        let bodies = (1..=3)
            .map(|i| std::fs::read_to_string(dir.join(format!("{i}.body"))).unwrap())
            .collect();
        out.push((codes, bodies));
    }
    // Stopped (SIGTERM), the proxy writes what it has queued.
    proxy.stop();
    let events = ledger(&sb).events(0).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].kind.as_str(), events[0].agent.as_deref()),
        ("budget-refused", Some("a1"))
    );
    (up, sb, out)
}

const A1_MESSAGE: &str = "claude-auth: agent \"a1\" has spent its budget of 12: 12 tokens since it started; start the agent again with a larger budget (claude-auth exec --agent-id a1 --budget-tokens N, or --budget P%5h)";

#[test]
fn four_agents_behind_one_proxy_one_is_refused_the_others_go_on_anthropic() {
    if !common::require_curl() {
        return;
    }
    let (up, _sb, agents) = four_agents("anthropic");
    assert_eq!(agents[0].0, vec![200, 200, 429]);
    let body: Value = serde_json::from_str(&agents[0].1[2]).unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": A1_MESSAGE}})
    );
    for (codes, _) in &agents[1..] {
        assert_eq!(codes, &vec![200, 200, 200]);
    }
    assert_eq!(up.requests().len(), 11, "the refused request never left");
}

#[test]
fn four_agents_behind_one_proxy_one_is_refused_the_others_go_on_openai() {
    if !common::require_curl() {
        return;
    }
    let (up, _sb, agents) = four_agents("openai");
    assert_eq!(agents[0].0, vec![200, 200, 429]);
    let body: Value = serde_json::from_str(&agents[0].1[2]).unwrap();
    assert_eq!(
        body,
        json!({"error": {"message": A1_MESSAGE, "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}})
    );
    for (codes, _) in &agents[1..] {
        assert_eq!(codes, &vec![200, 200, 200]);
    }
    assert_eq!(up.requests().len(), 11);
}

/// Poll `check` every 10 ms until it holds, failing after 10 s.
#[track_caller]
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited 10 s for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn one_budget_holds_across_two_proxies() {
    use claude_auth::agents::{key_hash, sessions, NewSession};
    let up = Upstream::start();
    let sb = key_sandbox(&up);
    // Each proxy reads the ledger before every request with a budget, so
    // the test waits only for the other's row to be written.
    let fresh = [("CLAUDE_AUTH_BUDGET_REFRESH_MS", "0")];
    let a = Proxy::start(&sb, &["proxy", "--quiet"], &fresh);
    let b = Proxy::start(&sb, &["proxy", "--quiet"], &fresh);
    // The session as `exec --agent-id s1 --budget-tokens 12` registers it;
    // this process is its agent and holds its key.
    let key = "ca-agent-budget-test-two-proxies-0000000000000";
    let ledger = ledger(&sb);
    sessions::register(
        &ledger,
        &NewSession {
            id: "s1",
            provider: &claude_auth::Provider::Anthropic,
            profile: Some("anthropic-api-key"),
            pid: Some(std::process::id()),
            budget: Some("12"),
            key_hash: Some(&key_hash(key)),
        },
        now(),
    )
    .unwrap();
    let rows = || {
        ledger
            .history(0)
            .unwrap()
            .iter()
            .map(|r| r.requests)
            .sum::<u64>()
    };
    let ask = |p: &Proxy| post(&p.hostport(), "/v1/messages", key, MESSAGE);
    assert_eq!(ask(&a).status, 200);
    wait_for("a's row", || rows() == 1);
    assert_eq!(ask(&b).status, 200, "6 of 12 spent through a");
    wait_for("b's row", || rows() == 2);
    for p in [&a, &b] {
        let refused = ask(p);
        assert_eq!(refused.status, 429);
        assert!(
            refused
                .body
                .contains("has spent its budget of 12: 12 tokens since it started"),
            "{}",
            refused.body
        );
    }
    assert_eq!(up.requests().len(), 2);
}

#[test]
fn a_response_that_crosses_the_budget_mid_stream_completes() {
    use std::io::{Read, Write};
    let up = Upstream::start();
    // The stream's first event reports 6 tokens (5 in, 1 out) of its 9.
    let sb = sandbox(&up, "[profiles.work]\nbudget = \"6/5h\"\n");
    let proxy = Proxy::start(&sb, &["--profile", "work", "proxy", "--quiet"], &[]);
    let hp = proxy.hostport();
    let body = r#"{"model":"claude-test-1","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut stream = std::net::TcpStream::connect(&hp).unwrap();
    write!(
        stream,
        "POST /v1/messages HTTP/1.1\r\nhost: {hp}\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        proxy.key(),
        body.len()
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("message_start") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    // Spent while streaming: another request is refused now…
    let refused = post(&hp, "/v1/messages", proxy.key(), MESSAGE);
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(
        refused.body.contains("6 tokens in the last 5h"),
        "{}",
        refused.body
    );
    // …and the stream in flight is not cut.
    stream.read_to_end(&mut seen).unwrap();
    let text = String::from_utf8_lossy(&seen);
    for delta in upstream::STREAM_DELTAS {
        assert!(text.contains(&format!("\"text\":\"{delta}\"")), "{text}");
    }
    assert!(text.contains("message_stop"), "{text}");
    let after = post(&hp, "/v1/messages", proxy.key(), MESSAGE);
    assert!(
        after.body.contains("9 tokens in the last 5h"),
        "{}",
        after.body
    );
}

fn env_of(run: &common::Run) -> std::collections::BTreeMap<String, String> {
    run.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("CLAUDE_AUTH_"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn the_agent_environment_carries_the_budget_the_plan_and_the_windows() {
    let up = Upstream::start();
    let sb = sandbox(&up, "");
    let reset = now() + 3600;
    let cache = json!({
        "snapshot": {"provider": "anthropic", "plan": "max", "source": "endpoint", "fetchedAt": now(),
            "windows": [
                {"id": "five_hour", "label": "5h", "usedPercent": 42.0, "windowSecs": 18000, "resetsAt": reset},
                {"id": "seven_day", "label": "7d", "usedPercent": 7.5, "windowSecs": 604800, "resetsAt": now() + 86400},
                {"id": "seven_day_opus", "label": "7d opus", "usedPercent": 3.0, "windowSecs": 604800, "resetsAt": now() - 10}]},
        "plan": "max",
    });
    write_file(
        &sb.own_dir()
            .join("state")
            .join("usage")
            .join("anthropic-profile-work.json"),
        &cache.to_string(),
        0o600,
    );
    let run = sb.run(&[
        "--profile",
        "work",
        "exec",
        "--agent-id",
        "e1",
        "--budget-tokens",
        "5k",
        "--",
        "env",
    ]);
    run.assert_code(0);
    let env = env_of(&run);
    let want = [
        ("CLAUDE_AUTH_AGENT_BUDGET", "5k"),
        ("CLAUDE_AUTH_AGENT_BUDGET_TOKENS", "5000"),
        ("CLAUDE_AUTH_AGENT_ID", "e1"),
        ("CLAUDE_AUTH_SUBSCRIPTION_TIER", "max"),
        ("CLAUDE_AUTH_WINDOW_5H_PERCENT", "42"),
        ("CLAUDE_AUTH_WINDOW_7D_PERCENT", "7.5"),
    ];
    for (k, v) in want {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "{k} in {env:?}");
    }
    assert!(
        !env.contains_key("CLAUDE_AUTH_WINDOW_7D_OPUS_PERCENT"),
        "reset since: {env:?}"
    );
    assert!(!env.keys().any(|k| k.contains("DAILY")), "{env:?}");

    // A share of a window with nothing to estimate it from: not enforced, and said.
    let run = sb.run(&[
        "--profile",
        "work",
        "exec",
        "--agent-id",
        "e2",
        "--budget",
        "20%5h",
        "--",
        "env",
    ]);
    run.assert_code(0);
    let env = env_of(&run);
    assert_eq!(
        env.get("CLAUDE_AUTH_AGENT_BUDGET").map(String::as_str),
        Some("20%5h")
    );
    assert!(
        !env.contains_key("CLAUDE_AUTH_AGENT_BUDGET_TOKENS"),
        "{env:?}"
    );
    assert!(
        run.stderr.contains("the budget 20%5h is not enforced yet: no response of this login has reported its 5h window yet"),
        "{}",
        run.stderr
    );

    // With the login's window in the ledger (40 % used for 4000 tokens in
    // it: 100 per 1 %), the share is 2000 tokens, and says how.
    let ledger = ledger(&sb);
    let headers = vec![
        (
            "anthropic-ratelimit-unified-5h-reset".to_owned(),
            reset.to_string(),
        ),
        (
            "anthropic-ratelimit-unified-5h-utilization".to_owned(),
            "0.4".to_owned(),
        ),
    ];
    let row = |tokens| claude_auth::usage::ledger::RequestRecord {
        at: now(),
        provider: "anthropic".into(),
        profile: Some("profile-work".into()),
        status: 200,
        output_tokens: tokens,
        ..Default::default()
    };
    ledger
        .record_batch(
            &[row(1000), row(1000), row(2000)],
            &[(
                claude_auth::Provider::Anthropic,
                "profile-work".into(),
                now(),
                headers,
            )],
        )
        .unwrap();
    let run = sb.run(&[
        "--profile",
        "work",
        "exec",
        "--agent-id",
        "e3",
        "--budget",
        "20%5h",
        "--",
        "env",
    ]);
    run.assert_code(0);
    assert_eq!(
        env_of(&run)
            .get("CLAUDE_AUTH_AGENT_BUDGET_TOKENS")
            .map(String::as_str),
        Some("2000")
    );
    assert!(
        run.stderr.contains("claude-auth: budget 20%5h ≈ 2000 tokens: the 5h window is at 40.0 % for 4000 tokens of this login since it began, ≈ 100 tokens per 1 %"),
        "{}",
        run.stderr
    );

    // Bad budgets are refused before anything runs.
    let run = sb.run(&[
        "exec",
        "--agent-id",
        "e4",
        "--budget",
        "20%1h",
        "--",
        "true",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--budget \"20%1h\": the window must be 5h or 7d"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["exec", "--budget-tokens", "5", "--", "true"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--agent-id"), "{}", run.stderr);
}

/// The ledger held by another process: SQLite's WAL locks (bytes 120–127
/// of the `-shm` file, <https://www.sqlite.org/walformat.html>) taken with
/// an open-file-description lock, so that every read of the ledger waits
/// (SQLite retries for seconds) until this is dropped.
struct LedgerHeld(#[allow(dead_code)] std::fs::File);

fn hold_ledger(sb: &Sandbox) -> LedgerHeld {
    use nix::fcntl::{fcntl, FcntlArg};
    use nix::libc;
    let shm = sb.own_dir().join("state").join("usage.db-shm");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&shm)
        .unwrap();
    let lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 120,
        l_len: 8,
        l_pid: 0,
    };
    // Waits for the proxy's ledger writer, if it is writing.
    fcntl(&file, FcntlArg::F_OFD_SETLKW(&lock)).unwrap();
    LedgerHeld(file)
}

#[test]
fn a_ledger_read_never_holds_up_the_proxy() {
    use std::time::{Duration, Instant};
    let up = Upstream::start();
    let sb = sandbox(&up, "[profiles.work]\nbudget = \"1M/5h\"\n");
    // Every request with a budget waits for a read of the ledger begun
    // after it came in.
    let proxy = Proxy::start(
        &sb,
        &["--profile", "work", "proxy"],
        &[("CLAUDE_AUTH_BUDGET_REFRESH_MS", "0")],
    );
    let hp = proxy.hostport();
    assert_eq!(post(&hp, "/v1/messages", proxy.key(), MESSAGE).status, 200);
    let held = hold_ledger(&sb);
    let waiting = {
        let (hp, key) = (hp.clone(), proxy.key().to_owned());
        std::thread::spawn(move || post(&hp, "/v1/messages", &key, MESSAGE))
    };
    // While that request waits for its read, the proxy's one thread goes
    // on answering what needs no read (a wrong key's 401) at once; with
    // the read on that thread, each waited for the ledger (seconds).
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(post(&hp, "/v1/messages", "wrong", MESSAGE).status, 401);
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "a 401 took {:?} while a budget's read waited for the ledger",
            t.elapsed()
        );
    }
    assert!(!waiting.is_finished(), "the budget's read waits");
    drop(held);
    let answer = waiting.join().unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(up.requests().len(), 2);
}
