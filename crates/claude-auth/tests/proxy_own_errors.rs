#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every error a proxy serving OpenAI's API answers itself is in OpenAI's
//! error shape (`{"error":{"message","type","param","code"}}`), with the
//! same status and message as an Anthropic proxy's, so the OpenAI SDK on the
//! other side raises its usual error with our message: a wrong local key, a
//! refused method, an absolute URL, a dot segment, a body too large to keep
//! or unreadable, an upstream that cannot be reached, no usable credential
//! (with and without failover). Real proxies (`proxy::start`) and a raw TCP
//! client.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use claude_auth::proxy::{start, ProxyConfig, ProxyFailover, ProxyHandle};
use claude_auth::{
    AuthManager, Credential, Env, ManagerOptions, Provider, ResolveOptions, Resolver, Secret,
    Settings,
};

const LOCAL_KEY: &str = "ca-local-openai-errors-test-key";

/// An OpenAI engine holding `key` given in code, or none at all.
fn manager(key: Option<&str>, home: &std::path::Path) -> AuthManager {
    let env = Env::empty().with("HOME", home.display().to_string());
    let options = ManagerOptions {
        resolve: ResolveOptions {
            explicit_credential: key.map(|k| Credential::ApiKey {
                key: Secret::new(k),
                provider: Provider::Openai,
            }),
            ..ResolveOptions::default()
        },
        ..ManagerOptions::default()
    };
    AuthManager::new(
        Resolver::for_provider(env, Settings::default(), Provider::Openai),
        options,
    )
    .unwrap()
}

/// A loopback address nothing listens on.
async fn dead_address() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    listener.local_addr().unwrap()
}

/// A proxy for `manager` before `upstream`, with a one-entry failover
/// chain when `failover` (so every body is kept, up to 64 bytes here).
async fn proxy(manager: AuthManager, upstream: SocketAddr, failover: bool) -> ProxyHandle {
    let mut config = ProxyConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        format!("http://{upstream}/v1"),
        Some(Secret::new(LOCAL_KEY)),
    );
    config.access_log = false;
    config.max_buffered_body = 64;
    if failover {
        let chain = ProxyFailover::new("openai-api-key".into(), Vec::new(), Vec::new());
        config.failover = Some(Arc::new(chain));
    }
    start(manager, config).await.unwrap()
}

/// Send `raw` (a whole request, `{addr}` for the proxy's address); the
/// answer's status, `Allow` header and JSON body.
async fn exchange(proxy: &ProxyHandle, raw: &str) -> (u16, Option<String>, Value) {
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    let raw = raw.replace("{addr}", &proxy.addr.to_string());
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    (status, header("allow"), serde_json::from_str(body).unwrap())
}

/// A request with the local key as the OpenAI SDK sends it.
fn post(target: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nhost: {{addr}}\r\nauthorization: Bearer {LOCAL_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A chunked request with the local key; `chunks` as sent.
fn chunked(chunks: &str) -> String {
    format!(
        "POST /chat/completions HTTP/1.1\r\nhost: {{addr}}\r\nauthorization: Bearer {LOCAL_KEY}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{chunks}"
    )
}

/// Which proxy, the request, and the answer: status, type, code, message.
type Case<'a> = (
    &'a ProxyHandle,
    String,
    u16,
    &'static str,
    Option<&'static str>,
    String,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_an_openai_proxy_makes_itself_is_in_openais_shape() {
    let home = tempfile::tempdir().unwrap();
    let upstream = dead_address().await;
    let keyed = proxy(
        manager(Some("sk-openai-errors"), home.path()),
        upstream,
        true,
    )
    .await;
    let bare = manager(None, home.path());
    let no_credential = format!(
        "claude-auth proxy: no usable credential: {}",
        bare.obtain().await.unwrap_err()
    );
    let empty = proxy(bare.clone(), upstream, false).await;
    let empty_chain = proxy(bare, upstream, true).await;
    let big = format!(
        "40\r\n{}\r\n10\r\n{}\r\n0\r\n\r\n",
        "x".repeat(64),
        "y".repeat(16)
    );
    let chat = r#"{"model":"gpt-test","messages":[]}"#;
    let wrong_key = format!(
        "POST /chat/completions HTTP/1.1\r\nhost: {{addr}}\r\nauthorization: Bearer sk-not-the-local-key\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{chat}",
        chat.len()
    );
    let allowed = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
    let cases: Vec<Case> = vec![
        (
            &keyed,
            wrong_key,
            401,
            "invalid_request_error",
            Some("invalid_api_key"),
            "claude-auth proxy: missing or wrong local key (send it as Authorization: Bearer <key>, as OPENAI_API_KEY is sent)".into(),
        ),
        (
            &keyed,
            "TRACE /models HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n".into(),
            405,
            "invalid_request_error",
            None,
            format!("claude-auth proxy: the TRACE method is refused; it forwards only {allowed}"),
        ),
        (
            &keyed,
            post("http://example.com/chat/completions", chat),
            403,
            "invalid_request_error",
            None,
            "claude-auth proxy forwards only to its configured API; absolute URLs are refused"
                .into(),
        ),
        (
            &keyed,
            post("/v1/../chat/completions", chat),
            400,
            "invalid_request_error",
            None,
            "claude-auth proxy: the request target must be a path, without . or .. segments".into(),
        ),
        (
            &keyed,
            chunked(&big),
            413,
            "invalid_request_error",
            None,
            "claude-auth proxy: a request body without Content-Length must fit the retry buffer"
                .into(),
        ),
        (
            &keyed,
            chunked("zz\r\nnot a chunk\r\n"),
            400,
            "invalid_request_error",
            None,
            "claude-auth proxy: the request body could not be read".into(),
        ),
        (
            &keyed,
            post("/chat/completions", chat),
            502,
            "server_error",
            None,
            "claude-auth proxy: could not connect to the upstream API".into(),
        ),
        (
            &empty,
            post("/chat/completions", chat),
            401,
            "invalid_request_error",
            None,
            no_credential.clone(),
        ),
        (
            &empty_chain,
            post("/chat/completions", chat),
            401,
            "invalid_request_error",
            None,
            no_credential,
        ),
    ];
    for (proxy, raw, status, kind, code, message) in cases {
        let (got, allow, body) = exchange(proxy, &raw).await;
        let case = raw.lines().next().unwrap().to_owned();
        assert_eq!(got, status, "{case}: {body}");
        assert_eq!(
            body,
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
            "{case}"
        );
        assert_eq!(allow.is_some(), status == 405, "{case}");
    }
    for p in [keyed, empty, empty_chain] {
        p.shutdown(Duration::from_secs(1)).await;
    }
}
