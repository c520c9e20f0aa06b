#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The proxy's own last-resort answer when failover has nowhere left to go
//! (every entry of the chain rejected the request), in the error shape of
//! the API the proxy serves: Anthropic's for an Anthropic proxy, OpenAI's
//! for an OpenAI one. Real proxy (`proxy::start` with a two-entry chain),
//! a loopback upstream that answers every request, after 1.1 s, with a
//! rejection whose window resets at once (so the one-second hold has passed
//! by the next attempt and the chain runs out of attempts), and a raw TCP
//! client.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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

/// Read one request (head and a `content-length` body) from `stream`.
async fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the proxy closed before its request was whole");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        if buf.len() >= end + 4 + length {
            return;
        }
    }
}

/// A loopback upstream answering every request, after 1.1 s, with a 429
/// carrying `headers` (a rejection of the provider's kind).
async fn rejecting_upstream(headers: &'static str) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                read_request(&mut stream).await;
                tokio::time::sleep(Duration::from_millis(1100)).await;
                let body = r#"{"error":"rejected upstream"}"#;
                let answer = format!(
                    "HTTP/1.1 429 Too Many Requests\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    addr
}

/// A proxy of `provider` whose chain is two keys of it, before
/// `upstream`; one request with `path`: (status, content-type, body).
async fn exhausted(
    provider: Provider,
    upstream: SocketAddr,
    path: &str,
) -> (u16, String, serde_json::Value) {
    let home = tempfile::tempdir().unwrap();
    let first = manager(provider.clone(), "sk-failover-shape-first", home.path());
    let second = manager(provider.clone(), "sk-failover-shape-second", home.path());
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
    (status, content_type, serde_json::from_str(body).unwrap())
}

const MESSAGE: &str = "claude-auth proxy: every entry of the failover chain rejected the request";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_proxy_with_nowhere_left_answers_in_openais_shape() {
    // An API key's requests limit at 0, resetting in 1 ms.
    let upstream = rejecting_upstream(
        "x-ratelimit-limit-requests: 500\r\nx-ratelimit-remaining-requests: 0\r\nx-ratelimit-reset-requests: 1ms\r\n",
    )
    .await;
    let (status, content_type, body) =
        exhausted(Provider::Openai, upstream, "/v1/chat/completions").await;
    assert_eq!((status, content_type.as_str()), (429, "application/json"));
    assert_eq!(
        body,
        serde_json::json!({"error": {"message": MESSAGE, "type": "insufficient_quota",
            "param": null, "code": "insufficient_quota"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_proxy_with_nowhere_left_answers_in_anthropics_shape() {
    // The unified status rejected, its window reset already.
    let upstream = rejecting_upstream(
        "anthropic-ratelimit-unified-status: rejected\r\nanthropic-ratelimit-unified-reset: 1\r\n",
    )
    .await;
    let (status, content_type, body) =
        exhausted(Provider::Anthropic, upstream, "/v1/messages").await;
    assert_eq!((status, content_type.as_str()), (429, "application/json"));
    assert_eq!(
        body,
        serde_json::json!({"type": "error", "error": {"type": "rate_limit_error", "message": MESSAGE}})
    );
}
