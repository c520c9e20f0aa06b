#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Failover within one request through the real proxy (`proxy::start` with
//! a two-entry chain), a loopback upstream that answers per credential, and
//! a raw TCP client: an entry that rejected a request is never asked again
//! for it, even when its hold ran out while it answered (a window already
//! reset holds for one second only, and the first entry here answers only
//! once the clock is past that), so the request goes on to the next entry,
//! and when that one rejects too, its rejection reaches the client
//! unchanged, in both vendors' kinds of rejection.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;

use claude_auth::proxy::{start, ProxyConfig, ProxyFailover, ProxyFallback};
use claude_auth::{
    AuthManager, Credential, Env, ManagerOptions, Provider, ResolveOptions, Resolver, Secret,
    Settings,
};

const LOCAL_KEY: &str = "ca-local-failover-shape-test-key";

/// An engine holding `key` of `provider`, given in code.
fn manager(provider: Provider, key: &str, home: &std::path::Path) -> AuthManager {
    let env = Env::empty().with("HOME", home.display().to_string());
    let options = ManagerOptions {
        resolve: ResolveOptions {
            explicit_credential: Some(Credential::ApiKey {
                key: Secret::new(key),
                provider: provider.clone(),
            }),
            ..ResolveOptions::default()
        },
        ..ManagerOptions::default()
    };
    AuthManager::new(
        Resolver::for_provider(env, Settings::default(), provider),
        options,
    )
    .unwrap()
}

const FIRST: &str = "sk-failover-first";
const SECOND: &str = "sk-failover-second";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Read one request (head and a `content-length` body) from `stream`; its
/// head, lowercased.
async fn read_request(stream: &mut TcpStream) -> String {
    let (head, _) = common::http1::read_whole_request(stream, &mut Vec::new())
        .await
        .expect("the proxy closed before its request was whole");
    head.to_ascii_lowercase()
}

/// How the upstream answers one credential.
#[derive(Clone, Copy)]
struct Answer {
    /// Only once the clock is two seconds past the request's arrival, so
    /// the one-second hold of a window already reset is over by then.
    slow: bool,
    /// The whole response after the status line's `HTTP/1.1 `.
    response: &'static str,
}

/// A rejection of the provider's kind (`headers`), window reset already.
fn rejection(headers: &'static str, body: &'static str) -> &'static str {
    Box::leak(
        format!(
            "429 Too Many Requests\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    )
}

const OK: &str = "200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}";

/// A loopback upstream answering the first key's requests with `first`,
/// the second's with `second`; the keys it saw, in order.
async fn upstream(first: Answer, second: Answer) -> (SocketAddr, Arc<Mutex<Vec<&'static str>>>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let arrived = unix_now();
                let head = read_request(&mut stream).await;
                let (key, answer) = if head.contains(FIRST) {
                    (FIRST, first)
                } else {
                    assert!(head.contains(SECOND), "no known key in {head}");
                    (SECOND, second)
                };
                log.lock().unwrap().push(key);
                // Waits on the clock itself, not for a guessed time.
                while answer.slow && unix_now() < arrived + 2 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let raw = format!("HTTP/1.1 {}", answer.response);
                stream.write_all(raw.as_bytes()).await.unwrap();
            });
        }
    });
    (addr, seen)
}

/// A proxy of `provider` whose chain is two keys of it, before
/// `upstream`; one request with `path`: (status, content-type, body).
async fn one_request(
    provider: Provider,
    upstream: SocketAddr,
    path: &str,
) -> (u16, String, String) {
    let home = tempfile::tempdir().unwrap();
    let first = manager(provider.clone(), FIRST, home.path());
    let second = manager(provider.clone(), SECOND, home.path());
    let class = format!("{provider}-api-key");
    let chain = ProxyFailover::new(
        class.clone(),
        vec![ProxyFallback {
            class,
            manager: second,
            usage: None,
        }],
        Vec::new(),
    );
    let mut config = ProxyConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        format!("http://{upstream}"),
        Some(Secret::new(LOCAL_KEY)),
    );
    config.access_log = false;
    config.failover = Some(Arc::new(chain));
    let proxy = start(first, config).await.unwrap();
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\nx-api-key: {LOCAL_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        proxy.addr,
        body.len()
    );
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    proxy.shutdown(Duration::from_secs(1)).await;
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// The unified status rejected, its window reset already.
const ANTHROPIC_REJECTED: &str =
    "anthropic-ratelimit-unified-status: rejected\r\nanthropic-ratelimit-unified-reset: 1\r\n";
/// An API key's requests limit at 0, resetting in 1 ms.
const OPENAI_REJECTED: &str = "x-ratelimit-limit-requests: 500\r\nx-ratelimit-remaining-requests: 0\r\nx-ratelimit-reset-requests: 1ms\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_rejection_whose_hold_ran_out_still_sends_the_request_on_to_the_next_entry() {
    let slow = Answer {
        slow: true,
        response: rejection(ANTHROPIC_REJECTED, r#"{"error":"first rejected"}"#),
    };
    let ok = Answer {
        slow: false,
        response: OK,
    };
    let (addr, seen) = upstream(slow, ok).await;
    let (status, _, body) = one_request(Provider::Anthropic, addr, "/v1/messages").await;
    assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));
    assert_eq!(*seen.lock().unwrap(), [FIRST, SECOND]);
}

/// Every entry rejects, the first slowly: the second's rejection, as sent.
async fn every_entry_rejects(provider: Provider, headers: &'static str, path: &str) {
    let first = Answer {
        slow: true,
        response: rejection(headers, r#"{"error":"first rejected"}"#),
    };
    let second = Answer {
        slow: false,
        response: rejection(headers, r#"{"error":"second rejected"}"#),
    };
    let (addr, seen) = upstream(first, second).await;
    let (status, content_type, body) = one_request(provider, addr, path).await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (429, "application/json", r#"{"error":"second rejected"}"#)
    );
    assert_eq!(*seen.lock().unwrap(), [FIRST, SECOND]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_request_every_entry_rejects_gets_the_last_rejection_unchanged() {
    every_entry_rejects(Provider::Anthropic, ANTHROPIC_REJECTED, "/v1/messages").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_request_every_entry_rejects_gets_the_last_rejection_unchanged() {
    every_entry_rejects(Provider::Openai, OPENAI_REJECTED, "/v1/chat/completions").await;
}
