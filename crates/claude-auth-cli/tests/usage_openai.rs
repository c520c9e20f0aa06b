#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `claude-auth usage --provider openai`: an OpenAI API key's limits from
//! the `x-ratelimit-*` headers the ledger kept (seeded, and fed by `proxy
//! --provider openai` end to end), and a ChatGPT login in Codex's
//! `auth.json` from a loopback `backend-api/wham/usage` in ChatGPT's shape
//! (`[openai] chatgpt_base_url` points it there), with the bearer token and
//! `ChatGPT-Account-Id`, cached for the TTL.

mod common;
mod openai_issuer;
mod upstream;

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{json, Value};

use claude_auth::usage::ledger::Ledger;
use common::{now, write_file, Sandbox};
use openai_issuer::OpenaiIssuer;

fn login<'a>(json: &'a Value, login: &str) -> &'a Value {
    json["logins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["login"] == login)
        .unwrap_or_else(|| panic!("no login {login} in {json:#}"))
}

const WHAM: &str = r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":42,"limit_window_seconds":18000,"reset_after_seconds":3600,"reset_at":null},"secondary_window":{"used_percent":7,"limit_window_seconds":604800,"reset_after_seconds":500000}},"credits":null,"new_key":{"a":1}}"#;

/// A loopback `backend-api` answering `GET /backend-api/wham/usage`; every
/// request's (path, authorization, chatgpt-account-id).
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

fn backend() -> (String, Seen, std::thread::JoinHandle<()>) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let s = Arc::clone(&seen);
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let h = |n: &str| {
                                req.headers()
                                    .get(n)
                                    .map(|v| v.to_str().unwrap().to_owned())
                                    .unwrap_or_default()
                            };
                            s.lock().unwrap().push((
                                req.uri().path().to_owned(),
                                h("authorization"),
                                h("chatgpt-account-id"),
                            ));
                            let ok = req.uri().path() == "/backend-api/wham/usage";
                            let resp = hyper::Response::builder()
                                .status(if ok { 200 } else { 404 })
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(if ok {
                                    WHAM.as_bytes()
                                } else {
                                    b"{}"
                                })))
                                .unwrap();
                            async move { Ok::<_, Infallible>(resp) }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
    });
    let addr = rx.recv().unwrap();
    (format!("http://{addr}"), seen, thread)
}

#[test]
fn a_chatgpt_login_shows_its_windows_from_wham_usage_once_per_ttl() {
    let issuer = OpenaiIssuer::start();
    let minted = issuer.mint_default();
    let (url, seen, _thread) = backend();
    let mut sb = Sandbox::new();
    let home = sb.root().join("codex");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, PermissionsExt::from_mode(0o700)).unwrap();
    let account = "acct-usage-test";
    let auth = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": minted.id_token,
            "access_token": minted.access_token,
            "refresh_token": minted.refresh_token,
            "account_id": account,
        },
        "last_refresh": "2026-12-05T09:00:00Z",
    });
    write_file(
        &home.join("auth.json"),
        &serde_json::to_string_pretty(&auth).unwrap(),
        0o600,
    );
    sb.set("CODEX_HOME", home.display().to_string());
    sb.set("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    sb.set(
        "CLAUDE_AUTH_CHATGPT_BASE_URL",
        format!("{url}/backend-api/codex"),
    );

    let run = sb.run(&["usage", "--provider", "openai", "--json"]);
    run.assert_code(0);
    let json = run.json();
    let logins = json["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 1, "{json:#}");
    let l = &logins[0];
    assert_eq!(l["snapshot"]["source"], "endpoint", "{l:#}");
    assert_eq!(l["snapshot"]["provider"], "openai");
    assert_eq!(l["plan"], "plus");
    let windows: Vec<(String, f64)> = l["snapshot"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["label"].as_str().unwrap().to_owned(),
                w["usedPercent"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        vec![("5h".to_owned(), 42.0), ("7d".to_owned(), 7.0)]
    );
    let first = seen.lock().unwrap().clone();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0, "/backend-api/wham/usage");
    assert!(first[0].1.starts_with("Bearer ") && first[0].1.len() > 20);
    assert_eq!(first[0].2, account);
    // Within the TTL: from the cache.
    let again = sb.run(&["usage", "--provider", "openai"]);
    again.assert_code(0);
    assert!(again.stdout.contains("42"), "{}", again.stdout);
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Without --provider the ChatGPT login is listed too (from the cache).
    let both = sb.run(&["usage", "--json"]);
    let both = both.json();
    let chatgpt: Vec<&Value> = both["logins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["provider"] == "openai")
        .collect();
    assert_eq!(chatgpt.len(), 1, "{both:#}");
    assert_eq!(chatgpt[0]["plan"], "plus");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn provider_openai_shows_an_openai_api_key_from_the_ledger_headers() {
    let mut sb = Sandbox::new();
    sb.set(
        "OPENAI_API_KEY",
        "sk-proj-UsageKey0000000000000000000000000000",
    );
    sb.set(
        "ANTHROPIC_API_KEY",
        "sk-ant-api03-UsageKey000000000000000000000000000000",
    );
    let run = sb.run(&["usage", "--provider", "openai", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let logins = run.json()["logins"].clone();
    assert_eq!(logins.as_array().unwrap().len(), 1, "{logins}");
    let l = login(&run.json(), "openai-api-key").clone();
    assert!(
        l["error"]
            .as_str()
            .unwrap()
            .starts_with("no response headers seen yet"),
        "{l}"
    );
    // The headers a proxied OpenAI response left in the ledger (an Anthropic
    // key's are not OpenAI's).
    let ledger = Ledger::open_in(&sb.own_dir().join("state")).unwrap();
    let mut h = hyper::HeaderMap::new();
    h.insert("x-ratelimit-limit-requests", "500".parse().unwrap());
    h.insert("x-ratelimit-remaining-requests", "499".parse().unwrap());
    h.insert("x-ratelimit-reset-requests", "120ms".parse().unwrap());
    h.insert("x-ratelimit-limit-tokens", "30000".parse().unwrap());
    h.insert("x-ratelimit-remaining-tokens", "29000".parse().unwrap());
    h.insert("x-ratelimit-reset-tokens", "6m0s".parse().unwrap());
    ledger
        .record_limits(&claude_auth::Provider::Openai, "openai-api-key", now(), &h)
        .unwrap();
    let run = sb.run(&["usage", "--provider", "openai", "--json"]);
    run.assert_code(0);
    let l = login(&run.json(), "openai-api-key").clone();
    assert_eq!(l["snapshot"]["provider"], "openai");
    assert_eq!(l["snapshot"]["source"], "headers");
    let tokens = l["snapshot"]["apiLimits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "tokens")
        .unwrap()
        .clone();
    assert_eq!(
        (tokens["limit"].clone(), tokens["remaining"].clone()),
        (json!(30000), json!(29000))
    );
    // Without the flag, both vendors: Anthropic's first, then OpenAI's.
    let both = sb.run(&["usage", "--json"]);
    let both = both.json();
    let names: Vec<(&str, &str)> = both["logins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["login"].as_str().unwrap(),
                l["provider"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("anthropic-api-key", "anthropic"),
            ("openai-api-key", "openai")
        ]
    );
    let human = sb.run(&["usage"]);
    let text = human.stdout;
    let (anthropic, openai) = text
        .split_once("\nOpenAI\n")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(anthropic.contains("ANTHROPIC_API_KEY"), "{text}");
    assert!(openai.contains("OPENAI_API_KEY"), "{text}");
    assert!(openai.contains("29000 of 30000 left"), "{text}");
    // --provider anthropic: only Anthropic's.
    let one = sb.run(&["usage", "--provider", "anthropic", "--json"]);
    assert_eq!(one.json()["logins"].as_array().unwrap().len(), 1);
    assert_eq!(one.json()["logins"][0]["login"], "anthropic-api-key");
}

#[test]
fn proxy_provider_openai_feeds_the_ledger_and_usage_provider_openai_shows_it() {
    use std::io::{Read, Write};
    let up = upstream::Upstream::start();
    let mut sb = Sandbox::new();
    sb.set(
        "OPENAI_API_KEY",
        "sk-proj-UsageProxy00000000000000000000000000",
    );
    let upstream_v1 = format!("{}/v1", up.url);
    let mut child = sb
        .command(&[
            "proxy",
            "--quiet",
            "--provider",
            "openai",
            "--upstream",
            &upstream_v1,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let vars = common::exported(child.stdout.take().unwrap(), 2);
    // One chat completion through the proxy, as the SDK would send it.
    let base = vars["OPENAI_BASE_URL"].trim_end_matches('/').to_owned();
    let (hostport, prefix) = base.trim_start_matches("http://").split_once('/').map_or(
        (base.trim_start_matches("http://"), String::new()),
        |(h, p)| (h, format!("/{p}")),
    );
    let body = r#"{"model":"gpt-test-1","messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST {prefix}/chat/completions HTTP/1.1\r\nhost: {hostport}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        vars["OPENAI_API_KEY"],
        body.len()
    );
    let mut conn = std::net::TcpStream::connect(hostport).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("x-ratelimit-remaining-tokens: 29000"), "{raw}");
    // The proxy writes its ledger rows within its batch window; it exits on
    // SIGTERM after writing what it holds.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    let ledger = Ledger::open_in(&sb.own_dir().join("state")).unwrap();
    let days = ledger.history(0).unwrap();
    let got: Vec<_> = days
        .iter()
        .map(|d| {
            (
                d.provider.as_str(),
                d.model.as_deref(),
                d.requests,
                d.input_tokens,
                d.output_tokens,
            )
        })
        .collect();
    assert_eq!(got, vec![("openai", Some("gpt-test-1"), 1, 5, 1)]);
    let run = sb.run(&["usage", "--provider", "openai", "--json"]);
    run.assert_code(0);
    let l = login(&run.json(), "openai-api-key").clone();
    assert_eq!(l["snapshot"]["source"], "headers");
    let requests = l["snapshot"]["apiLimits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "requests")
        .unwrap()
        .clone();
    assert_eq!(
        (requests["limit"].clone(), requests["remaining"].clone()),
        (json!(500), json!(499))
    );
}
