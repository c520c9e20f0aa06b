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
