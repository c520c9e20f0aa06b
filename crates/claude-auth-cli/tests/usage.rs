//! `claude-auth usage` against a loopback stand-in for Anthropic's account
//! endpoints (`/api/oauth/usage`, `/api/oauth/profile`) in their real
//! shapes, unknown keys and nulls included; a 429 with `retry-after: 0`; an
//! HTML error page; 16 processes at once; API-key limits and `--history`
//! from the usage ledger (`--provider openai`: tests/usage_openai.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod upstream;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use claude_auth::usage::ledger::{Ledger, RequestRecord};
use common::{now, Sandbox};

const TOKEN: &str = "sk-ant-oat01-UsageTest0000000000000000000000000000";

/// What the stand-in answers to `/api/oauth/usage`.
#[derive(Clone)]
enum Mode {
    Ok,
    Limited,
    Html,
}

/// Every request's headers, in arrival order.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

struct Stand {
    url: String,
    mode: Arc<Mutex<Mode>>,
    usage_hits: Arc<AtomicUsize>,
    seen: Seen,
    _thread: std::thread::JoinHandle<()>,
}

fn usage_body(resets_5h: u64) -> String {
    let iso = |t: u64| {
        // RFC 3339 by way of the library's formatter.
        claude_auth::status::rfc3339(t)
    };
    json!({
        "five_hour": {"utilization": 60.0, "resets_at": iso(resets_5h)},
        "seven_day": {"utilization": 12, "resets_at": null, "brand_new": true},
        "seven_day_oauth_apps": null,
        "seven_day_opus": {"utilization": 3.5, "resets_at": iso(resets_5h + 86_400)},
        "extra_usage": {"is_enabled": false},
        "unknown_future_key": {"x": [1, 2, 3]}
    })
    .to_string()
}

impl Stand {
    fn start() -> Stand {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(Mutex::new(Mode::Ok));
        let usage_hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (m, h, s) = (mode.clone(), usage_hits.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let (m, h, s) = (m.clone(), h.clone(), s.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (m, h, s) = (m.clone(), h.clone(), s.clone());
                            async move {
                                let headers = req
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                                    .collect();
                                s.lock().unwrap().push(headers);
                                let path = req.uri().path().to_owned();
                                let mode = m.lock().unwrap().clone();
                                let (status, ctype, body, retry) = match (path.as_str(), mode) {
                                    ("/api/oauth/usage", Mode::Ok) => {
                                        h.fetch_add(1, Ordering::SeqCst);
                                        // Slow enough that concurrent callers overlap.
                                        tokio::time::sleep(Duration::from_millis(300)).await;
                                        (200, "application/json", usage_body(now() + 9_000), false)
                                    }
                                    ("/api/oauth/usage", Mode::Limited) => {
                                        h.fetch_add(1, Ordering::SeqCst);
                                        (429, "application/json", r#"{"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}"#.into(), true)
                                    }
                                    ("/api/oauth/usage", Mode::Html) => {
                                        h.fetch_add(1, Ordering::SeqCst);
                                        (502, "text/html", "<html><body>502 Bad Gateway</body></html>".into(), false)
                                    }
                                    ("/api/oauth/profile", _) => (200, "application/json", json!({
                                        "account": {"uuid": "u-1", "email": "me@example.com", "display_name": "Me"},
                                        "organization": {"uuid": "o-1", "organization_type": "claude_max", "rate_limit_tier": "default_claude_max_20x", "billing_type": "stripe"}
                                    }).to_string(), false),
                                    _ => (404, "application/json", "{}".into(), false),
                                };
                                let mut r = Response::builder().status(status).header("content-type", ctype);
                                if retry {
                                    r = r.header("retry-after", "0");
                                }
                                Ok::<_, Infallible>(r.body(Full::new(Bytes::from(body)).boxed()).unwrap())
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        Stand {
            url,
            mode,
            usage_hits,
            seen,
            _thread: thread,
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn hits(&self) -> usize {
        self.usage_hits.load(Ordering::SeqCst)
    }
}

fn sandbox(stand: &Stand) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_BASE_URL", &stand.url);
    sb.write_static_profile("default", TOKEN, Some(now() + 86_400));
    sb
}

fn login<'a>(json: &'a Value, login: &str) -> &'a Value {
    json["logins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["login"] == login)
        .unwrap_or_else(|| panic!("no login {login} in {json:#}"))
}

#[test]
fn windows_plan_and_pace_from_the_endpoint_then_from_the_cache() {
    let stand = Stand::start();
    let sb = sandbox(&stand);
    let run = sb.run(&["usage", "--json"]);
    run.assert_code(0);
    let json = run.json();
    let l = login(&json, "profile-default");
    assert_eq!(l["winner"], true);
    assert_eq!(l["plan"], "max");
    assert_eq!(l["email"], "me@example.com");
    assert_eq!(l["fetched"], true);
    let windows = l["snapshot"]["windows"].as_array().unwrap();
    let labels: Vec<_> = windows
        .iter()
        .map(|w| w["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["5h", "7d", "7d opus"]);
    assert_eq!(windows[0]["usedPercent"], 60.0);
    // 60 % used with 3,000 s of 18,000 gone: ahead of pace, out before reset.
    assert_eq!(l["pace"][0]["state"], "ahead");
    assert!(l["pace"][0]["runsOutAt"].as_u64().unwrap() < now() + 9_000);
    assert_eq!(
        l["pace"][1],
        Value::Null,
        "7d has no reset time, so no pace"
    );
    assert_eq!(l["snapshot"]["extra"], json!({"is_enabled": false}));
    // What was sent: our own identity, the bearer, the OAuth beta.
    let seen = stand.seen.lock().unwrap().clone();
    let first = &seen[0];
    let get = |k: &str| first.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("authorization"), Some(&*format!("Bearer {TOKEN}")));
    assert_eq!(get("anthropic-beta"), Some("oauth-2025-04-20"));
    assert!(get("user-agent").unwrap().starts_with("claude-auth/"));
    // Again within the TTL: from the cache, no request.
    let again = sb.run(&["usage", "--json"]);
    again.assert_code(0);
    assert_eq!(stand.hits(), 1);
    assert_eq!(login(&again.json(), "profile-default")["fetched"], false);
    // The human view fits 80 columns and carries no secret.
    let human = sb.run(&["usage"]);
    human.assert_code(0);
    for line in human.stdout.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    assert!(human.stdout.contains("5h "), "{}", human.stdout);
    assert!(!human.stdout.contains("\x1b["), "no colour off a terminal");
    for out in [&run.stdout, &human.stdout, &human.stderr] {
        assert!(!out.contains(&TOKEN[14..]), "{out}");
    }
    let cache = std::fs::read_to_string(
        sb.own_dir()
            .join("state/usage/anthropic-profile-default.json"),
    )
    .unwrap();
    assert!(!cache.contains(&TOKEN[14..]));
}

#[test]
fn sixteen_processes_at_once_cause_one_fetch() {
    let stand = Stand::start();
    let sb = sandbox(&stand);
    let children: Vec<_> = (0..16)
        .map(|_| {
            sb.command(&["usage", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            login(&json, "profile-default")["snapshot"]["windows"][0]["usedPercent"],
            60.0
        );
    }
    assert_eq!(stand.hits(), 1);
}

#[test]
fn a_429_is_remembered_and_a_failure_shows_the_old_value_with_its_age() {
    let stand = Stand::start();
    let sb = sandbox(&stand);
    sb.run(&["usage", "--json", "--ttl", "0"]).assert_code(0);
    assert_eq!(stand.hits(), 1);
    // An HTML error page: the last good value, its age, and why.
    stand.set(Mode::Html);
    let run = sb.run(&["usage", "--json", "--ttl", "0"]);
    run.assert_code(0);
    let l = login(&run.json(), "profile-default").clone();
    assert_eq!(l["snapshot"]["windows"][0]["usedPercent"], 60.0);
    assert_eq!(
        l["error"],
        "the usage endpoint answered HTTP 502 (expected JSON, got an HTML page)"
    );
    assert!(l["ageSecs"].is_u64());
    let human = sb.run(&["usage", "--ttl", "0"]);
    assert!(
        human.stdout.contains("showing the last good value"),
        "{}",
        human.stdout
    );
    // A 429 makes every process wait at least a minute, whatever
    // `retry-after` says, even with --ttl 0.
    let fresh = Sandbox::new();
    let mut fresh = fresh;
    fresh.set("ANTHROPIC_BASE_URL", &stand.url);
    fresh.write_static_profile("default", TOKEN, Some(now() + 86_400));
    stand.set(Mode::Limited);
    let before = stand.hits();
    let limited = fresh.run(&["usage", "--json"]);
    assert_eq!(limited.code, 1, "nothing to show: {}", limited.stdout);
    let l = login(&limited.json(), "profile-default").clone();
    assert_eq!(
        l["error"],
        "the usage endpoint is rate limited (429); not asking again for 60 s"
    );
    assert!(l["retryNotBefore"].as_u64().unwrap() >= now() + 55);
    fresh.run(&["usage", "--json", "--ttl", "0"]);
    fresh.run(&["usage", "--json"]);
    assert_eq!(stand.hits(), before + 1, "the 429 was respected");
}

#[test]
fn an_api_key_shows_the_latest_headers_from_the_ledger() {
    let stand = Stand::start();
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_BASE_URL", &stand.url);
    sb.set(
        "ANTHROPIC_API_KEY",
        "sk-ant-api03-UsageKey000000000000000000000000000000",
    );
    let run = sb.run(&["usage", "--json"]);
    assert_eq!(run.code, 1);
    let l = login(&run.json(), "anthropic-api-key").clone();
    assert!(
        l["error"]
            .as_str()
            .unwrap()
            .starts_with("no response headers seen yet"),
        "{l}"
    );
    let ledger = Ledger::open_in(&sb.own_dir().join("state")).unwrap();
    let mut h = hyper::HeaderMap::new();
    h.insert("anthropic-ratelimit-requests-limit", "50".parse().unwrap());
    h.insert(
        "anthropic-ratelimit-requests-remaining",
        "49".parse().unwrap(),
    );
    h.insert("anthropic-ratelimit-tokens-limit", "40000".parse().unwrap());
    h.insert(
        "anthropic-ratelimit-tokens-remaining",
        "10000".parse().unwrap(),
    );
    ledger
        .record_limits(
            &claude_auth::Provider::Anthropic,
            "anthropic-api-key",
            now(),
            &h,
        )
        .unwrap();
    let run = sb.run(&["usage", "--json"]);
    run.assert_code(0);
    let l = login(&run.json(), "anthropic-api-key").clone();
    assert_eq!(l["snapshot"]["source"], "headers");
    assert_eq!(
        l["snapshot"]["apiLimits"][1],
        json!({"name": "tokens", "limit": 40000, "remaining": 10000})
    );
    assert_eq!(stand.hits(), 0, "an API key has no usage endpoint");
    let human = sb.run(&["usage"]);
    assert!(
        human.stdout.contains("10000 of 40000 left"),
        "{}",
        human.stdout
    );
}

#[test]
fn history_sums_the_ledger_and_a_corrupt_ledger_is_moved_aside() {
    let sb = Sandbox::new();
    let state = sb.own_dir().join("state");
    let ledger = Ledger::open_in(&state).unwrap();
    let day = now() / 86_400 * 86_400;
    for (agent, input) in [(Some("a1"), 10), (Some("a1"), 5), (None, 7)] {
        ledger
            .record(&RequestRecord {
                at: day + 60,
                provider: "anthropic".into(),
                model: Some("claude-test-1".into()),
                agent: agent.map(str::to_owned),
                status: 200,
                input_tokens: input,
                output_tokens: 1,
                ..RequestRecord::default()
            })
            .unwrap();
    }
    drop(ledger);
    let run = sb.run(&["usage", "--history", "--json"]);
    run.assert_code(0);
    let days = run.json()["days"].clone();
    assert_eq!(days.as_array().unwrap().len(), 2);
    assert_eq!(days[1]["agent"], "a1");
    assert_eq!(days[1]["inputTokens"], 15);
    assert_eq!(days[1]["requests"], 2);
    let bad = sb.run(&["usage", "--history", "--since", "yesterday"]);
    assert_eq!(bad.code, 2);
    // A file that is not a database: moved aside, reported, a new one made.
    std::fs::remove_file(state.join("usage.db-wal")).ok();
    std::fs::remove_file(state.join("usage.db-shm")).ok();
    std::fs::write(
        state.join("usage.db"),
        b"garbage garbage garbage ".repeat(200),
    )
    .unwrap();
    let run = sb.run(&["usage", "--history"]);
    run.assert_code(0);
    assert!(run.stderr.contains("moved to"), "{}", run.stderr);
    assert!(run.stdout.contains("No requests"), "{}", run.stdout);
    let moved = std::fs::read_dir(&state)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("usage.db.corrupt-")
        })
        .count();
    assert_eq!(moved, 1);
}

#[test]
fn status_shows_the_cached_usage_without_asking() {
    let stand = Stand::start();
    let sb = sandbox(&stand);
    let (_, before) = sb.status_json();
    assert!(
        before.get("usage").is_none(),
        "nothing cached yet: {before:#}"
    );
    sb.run(&["usage"]).assert_code(0);
    let requests = stand.seen.lock().unwrap().len();
    let (run, json) = sb.status_json();
    run.assert_code(0);
    assert_eq!(json["usage"][0]["login"], "profile-default");
    assert_eq!(json["usage"][0]["source"], "active-profile");
    assert_eq!(
        json["usage"][0]["snapshot"]["windows"][0]["usedPercent"],
        60.0
    );
    let human = sb.run(&["status"]);
    assert!(human.stdout.contains("Usage (cached"), "{}", human.stdout);
    assert!(
        human
            .stdout
            .contains("profile-default: 5h 60% (resets in 2h "),
        "{}",
        human.stdout
    );
    assert_eq!(
        stand.seen.lock().unwrap().len(),
        requests,
        "status never asks the network"
    );
}

#[test]
fn the_settings_set_the_ttl_and_the_ledger_retention() {
    let stand = Stand::start();
    let sb = sandbox(&stand);
    common::write_file(
        &sb.own_dir().join("config.toml"),
        "[usage]\nttl_secs = 0\nretention_days = 2\n",
        0o600,
    );
    // ttl 0: every run asks again.
    sb.run(&["usage"]).assert_code(0);
    sb.run(&["usage"]).assert_code(0);
    assert_eq!(stand.hits(), 2);
    let ledger = Ledger::open_in(&sb.own_dir().join("state")).unwrap();
    for age_days in [5, 1] {
        ledger
            .record(&RequestRecord {
                at: now() - age_days * 86_400,
                provider: "anthropic".into(),
                status: 200,
                input_tokens: age_days,
                ..RequestRecord::default()
            })
            .unwrap();
    }
    let run = sb.run(&["usage", "--history", "--since", "30d", "--json"]);
    run.assert_code(0);
    let days = run.json()["days"].clone();
    assert_eq!(days.as_array().unwrap().len(), 1, "{days:#}");
    assert_eq!(days[0]["inputTokens"], 1);
    assert_eq!(
        ledger.history(0).unwrap().len(),
        1,
        "the old row is gone from the file"
    );
}

/// An API key and the Messages stand-in, for `chat`.
fn chat_sandbox(up: &upstream::Upstream) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_BASE_URL", &up.url);
    sb.set(
        "ANTHROPIC_API_KEY",
        "sk-ant-api03-UsageChat000000000000000000000000000000",
    );
    sb
}

#[test]
fn chat_through_the_client_adds_a_ledger_row() {
    let up = upstream::Upstream::start();
    let sb = chat_sandbox(&up);
    sb.run(&["chat", "hello"]).assert_code(0);
    let run = sb.run(&["usage", "--history", "--json"]);
    run.assert_code(0);
    let days = run.json()["days"].clone();
    assert_eq!(days.as_array().unwrap().len(), 1, "{days:#}");
    assert_eq!(days[0]["requests"], 1);
    assert_eq!(days[0]["inputTokens"], 5);
    assert_eq!(days[0]["outputTokens"], upstream::STREAM_DELTAS.len());
}

#[test]
fn with_the_ledger_off_nothing_is_recorded() {
    let up = upstream::Upstream::start();
    let sb = chat_sandbox(&up);
    common::write_file(
        &sb.own_dir().join("config.toml"),
        "[usage]\nledger = false\n",
        0o600,
    );
    sb.run(&["chat", "hello"]).assert_code(0);
    let run = sb.run(&["usage", "--history", "--json"]);
    run.assert_code(0);
    assert_eq!(run.json()["days"], json!([]));
}
