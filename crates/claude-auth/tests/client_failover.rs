#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The library client's failover over real HTTP on loopback (the CLI tests'
//! stand-in Messages API): with `[selection] fallback`, a request the
//! subscription rejects goes again with the API key, and the embedder's
//! callback, the ledger's `events` and a `tracing` warning say so; a 529 is
//! retried as before and never switches; without failover the rejection
//! comes back as it was; one request never goes back to an entry that
//! rejected it, even once that hold is over.

mod common;
#[path = "../../claude-auth-cli/tests/upstream/mod.rs"]
mod upstream;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use claude_auth::client::{ClientBuilder, ClientError, MessageRequest};
use claude_auth::credential::now_unix;
use claude_auth::doors::failover::{Switch, SwitchReason};
use claude_auth::doors::rejection::RejectReason;
use claude_auth::usage::ledger::Ledger;
use claude_auth::usage::writer::UsageSink;
use claude_auth::{Env, Provider, Providers, Settings};
use upstream::{Upstream, OVERLOADED, TEXT};

const API_KEY: &str = "sk-ant-api03-client-failover-0000000000";
const OAUTH_TOKEN: &str = "sk-ant-oat01-client-failover-1111111111";
const FALLBACK: &str =
    "[selection]\nfallback = [\"anthropic-subscription\", \"anthropic-api-key\"]\n";

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    for dir in path.ancestors().skip(1).take(2) {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A temp HOME: an active subscription profile `work` (a static OAuth
/// token), an API key in the environment, both sent to `upstream`, and
/// `config` as config.toml.
fn env_in(home: &Path, upstream: &str, config: &str) -> Env {
    let anthropic = home.join("anthropic");
    write(
        &anthropic.join("configs/work.json"),
        r#"{"version":"1.0","authentication":{"type":"user_oauth"}}"#,
        0o644,
    );
    write(
        &anthropic.join("credentials/work.json"),
        &format!(r#"{{"version":"1.0","type":"oauth_token","access_token":"{OAUTH_TOKEN}"}}"#),
        0o600,
    );
    write(&anthropic.join("active_config"), "work", 0o644);
    write(&home.join(".config/claude-auth/config.toml"), config, 0o600);
    Env::empty()
        .with("HOME", home.display().to_string())
        .with("ANTHROPIC_CONFIG_DIR", anthropic.display().to_string())
        .with(
            "CLAUDE_CONFIG_DIR",
            home.join(".claude").display().to_string(),
        )
        .with(
            "XDG_CONFIG_HOME",
            home.join(".config").display().to_string(),
        )
        .with("ANTHROPIC_BASE_URL", upstream)
        .with("ANTHROPIC_API_KEY", API_KEY)
}

fn reject_subscription(upstream: &Upstream) {
    let reset = (now_unix() + 3600).to_string();
    upstream.answer_for(
        OAUTH_TOKEN,
        429,
        &[
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-reset", &reset),
        ],
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"limit reached"}}"#,
    );
}

fn who(upstream: &Upstream) -> Vec<&'static str> {
    upstream
        .credentials()
        .iter()
        .map(|c| match c.as_deref() {
            Some(OAUTH_TOKEN) => "subscription",
            Some(API_KEY) => "api-key",
            _ => "other",
        })
        .collect()
}

fn request() -> MessageRequest {
    MessageRequest::new("claude-test-1", 16).user("hi")
}

/// A client over `env`'s fallback chain (when failover is on), recording
/// into the ledger; the switches it reported.
fn client(
    env: &Env,
    upstream: &str,
) -> (
    claude_auth::client::Client,
    Arc<Mutex<Vec<Switch>>>,
    UsageSink,
) {
    let settings = Settings::load(env).unwrap();
    let providers = Providers::with_settings(env.clone(), settings);
    let sink = UsageSink::open(env, Provider::Anthropic, "profile-work", None).unwrap();
    let switches = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&switches);
    let chain = providers.fallback_chain(&Provider::Anthropic).unwrap();
    let first = match &chain {
        Some(c) => c.entries[0].manager.clone(),
        None => providers.manager(&Provider::Anthropic).unwrap().clone(),
    };
    let mut builder = ClientBuilder::new(first)
        .base_url(upstream)
        .max_retries(0)
        .usage(sink.clone())
        .on_failover(move |s| seen.lock().unwrap().push(s.clone()));
    if let Some(chain) = chain {
        let classes: Vec<&str> = chain.entries.iter().map(|e| e.class.as_str()).collect();
        assert_eq!(classes, ["anthropic-subscription", "anthropic-api-key"]);
        builder = builder.failover(chain);
    }
    (builder.build().unwrap(), switches, sink)
}

#[tokio::test]
async fn a_rejection_moves_to_the_api_key_and_the_embedder_is_told() {
    let home = tempfile::tempdir().unwrap();
    let upstream = Upstream::start();
    let env = env_in(home.path(), &upstream.url, FALLBACK);
    let (client, switches, sink) = client(&env, &upstream.url);
    reject_subscription(&upstream);

    let answer = client.create_message(&request()).await.unwrap();
    assert_eq!(answer.text(), TEXT);
    assert_eq!(who(&upstream), ["subscription", "api-key"]);
    let seen = switches.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].from.as_str(), seen[0].to.as_str(), &seen[0].reason),
        (
            "anthropic-subscription",
            "anthropic-api-key",
            &SwitchReason::Rejected(RejectReason::UnifiedRejected)
        )
    );
    // Later requests stay on the key, silently until a switch.
    upstream.clear();
    client.create_message(&request()).await.unwrap();
    assert_eq!(who(&upstream), ["api-key"]);
    assert_eq!(switches.lock().unwrap().len(), 1);

    sink.writer.flush();
    let events = Ledger::open_in(&claude_auth::usage::state_dir(&env))
        .unwrap()
        .events(0)
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "failover");
    assert_eq!(events[0].profile.as_deref(), Some("profile-work"));
    assert_eq!(events[0].detail, format!("client: {}", seen[0]));
}

#[tokio::test]
async fn a_529_never_switches_and_without_failover_the_rejection_comes_back() {
    let home = tempfile::tempdir().unwrap();
    let upstream = Upstream::start();
    let env = env_in(home.path(), &upstream.url, FALLBACK);
    let (client, switches, _) = client(&env, &upstream.url);
    upstream.answer_for(OAUTH_TOKEN, 529, &[], OVERLOADED);
    match client.create_message(&request()).await {
        Err(ClientError::Api(e)) => assert_eq!(e.status, 529),
        other => panic!("{other:?}"),
    }
    assert_eq!(who(&upstream), ["subscription"]);
    assert!(switches.lock().unwrap().is_empty());

    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &upstream.url, "");
    // Without failover: the subscription, asked for explicitly (the key in
    // the environment is the chain's winner).
    let providers = Providers::with_settings(env.clone(), Settings::load(&env).unwrap());
    let subscription = providers
        .candidates()
        .into_iter()
        .find(|c| c.class.as_str() == "anthropic-subscription")
        .unwrap();
    let client = ClientBuilder::new(providers.manager_for(&subscription).unwrap())
        .base_url(&upstream.url)
        .max_retries(0)
        .build()
        .unwrap();
    reject_subscription(&upstream);
    upstream.clear();
    match client.create_message(&request()).await {
        Err(ClientError::Api(e)) => {
            assert_eq!(e.status, 429);
            assert_eq!(e.message, "limit reached");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(who(&upstream), ["subscription"]);
}

/// A loopback Messages API rejecting both credentials, windows already
/// reset (so each is held for one second only): the subscription at once,
/// the API key only once the clock is two seconds past its arrival, when
/// the subscription's hold is over. The credentials it saw, in order.
async fn rejecting_both() -> (String, Arc<Mutex<Vec<&'static str>>>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let arrived = now_unix();
                let (head, _) = common::http1::read_whole_request(&mut stream, &mut Vec::new())
                    .await
                    .expect("the client closed before its request was whole");
                let who = if head.contains(OAUTH_TOKEN) {
                    "subscription"
                } else {
                    assert!(head.contains(API_KEY), "no known credential in {head}");
                    "api-key"
                };
                log.lock().unwrap().push(who);
                // Waits on the clock itself, not for a guessed time.
                while who == "api-key" && now_unix() < arrived + 2 {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                let body = format!(
                    r#"{{"type":"error","error":{{"type":"rate_limit_error","message":"{who} limit reached"}}}}"#
                );
                let answer = format!(
                    "HTTP/1.1 429 Too Many Requests\r\nanthropic-ratelimit-unified-status: rejected\r\nanthropic-ratelimit-unified-reset: 1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_never_goes_back_to_an_entry_that_rejected_it() {
    let home = tempfile::tempdir().unwrap();
    let (url, seen) = rejecting_both().await;
    let env = env_in(home.path(), &url, FALLBACK);
    let (client, switches, _) = client(&env, &url);
    // The subscription's hold is over by the time the key has rejected too:
    // the request still gets the key's rejection, not the subscription again.
    match client.create_message(&request()).await {
        Err(ClientError::Api(e)) => {
            assert_eq!(e.status, 429);
            assert_eq!(e.message, "api-key limit reached");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*seen.lock().unwrap(), ["subscription", "api-key"]);
    assert_eq!(switches.lock().unwrap().len(), 1);
}
