#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The proxy's upstream leg, in process: a loopback upstream that records
//! each request and the connection it came on, and the proxy in front of it
//! with an API key from the environment. What the end-to-end tests
//! (claude-auth-cli's proxy_exec) do not look at: keep-alive connections are
//! reused, also after the upstream closed one; answers keep their
//! Content-Length; Host is the upstream's; redirects reach the client.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use claude_auth::proxy::{start, ProxyConfig};
use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, Settings};

const API_KEY: &str = "sk-ant-api03-proxy-pool-test-000000";
const ANSWER: &str = r#"{"type":"message","content":[]}"#;

/// (connection number, method, path, host, x-api-key, content-length)
type Seen = (usize, String, String, String, String, Option<String>);

struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

/// `close_every`: answer every n-th request with `Connection: close`.
async fn upstream(close_every: usize) -> Upstream {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (record, count) = (Arc::clone(&seen), Arc::clone(&connections));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let conn = count.fetch_add(1, Ordering::SeqCst);
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let record = Arc::clone(&record);
                    async move {
                        let header =
                            |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
                        let entry = (
                            conn,
                            req.method().to_string(),
                            req.uri().to_string(),
                            header("host").unwrap_or_default(),
                            header("x-api-key").unwrap_or_default(),
                            header("content-length"),
                        );
                        let nth = {
                            let mut all = record.lock().unwrap();
                            all.push(entry);
                            all.len()
                        };
                        let _ = req.into_body().collect().await.unwrap();
                        let mut resp = hyper::Response::new(Full::new(Bytes::from(ANSWER)));
                        resp.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        if close_every > 0 && nth % close_every == 0 {
                            resp.headers_mut()
                                .insert("connection", "close".parse().unwrap());
                        }
                        if req_is_redirect(&record, nth) {
                            *resp.status_mut() = hyper::StatusCode::TEMPORARY_REDIRECT;
                            resp.headers_mut().insert(
                                "location",
                                "http://127.0.0.1:9/elsewhere".parse().unwrap(),
                            );
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Upstream {
        addr,
        seen,
        connections,
    }
}

fn req_is_redirect(record: &Mutex<Vec<Seen>>, nth: usize) -> bool {
    record.lock().unwrap()[nth - 1].2 == "/v1/redirect"
}

async fn proxy(upstream: &Upstream) -> claude_auth::proxy::ProxyHandle {
    let home = std::env::temp_dir().join(format!("claude-auth-proxy-pool-{}", std::process::id()));
    let env = Env::empty()
        .with("HOME", home.display().to_string())
        .with("ANTHROPIC_API_KEY", API_KEY);
    let manager = AuthManager::new(
        Resolver::with_settings(env, Settings::default()),
        ManagerOptions::default(),
    )
    .unwrap();
    let mut config = ProxyConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        format!("http://{}/", upstream.addr),
        None,
    );
    config.access_log = false;
    start(manager, config).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_share_one_upstream_connection_and_keep_their_length() {
    let up = upstream(0).await;
    let handle = proxy(&up).await;
    let http = client();
    for i in 0..20 {
        let resp = http
            .post(format!("{}/v1/messages?n={i}", handle.url()))
            .header("x-api-key", "ignored-without-auth")
            .body(r#"{"model":"m"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers().get("content-length").unwrap(),
            &ANSWER.len().to_string()
        );
        assert!(resp.headers().get("transfer-encoding").is_none());
        assert_eq!(resp.text().await.unwrap(), ANSWER);
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 1);
    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 20);
    for (i, (_, method, path, host, key, length)) in seen.iter().enumerate() {
        assert_eq!(method, "POST");
        assert_eq!(path, &format!("/v1/messages?n={i}"));
        assert_eq!(host, &up.addr.to_string());
        assert_eq!(key, API_KEY);
        assert_eq!(length.as_deref(), Some("13"));
    }
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_upstream_closes_are_replaced() {
    let up = upstream(3).await;
    let handle = proxy(&up).await;
    let http = client();
    for _ in 0..9 {
        let resp = http
            .get(format!("{}/v1/models", handle.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), ANSWER);
    }
    // Every third answer closed its connection.
    assert_eq!(up.connections.load(Ordering::SeqCst), 3);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_passed_to_the_client_not_followed() {
    let up = upstream(0).await;
    let handle = proxy(&up).await;
    let resp = client()
        .post(format!("{}/v1/redirect", handle.url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(
        resp.headers().get("location").unwrap(),
        "http://127.0.0.1:9/elsewhere"
    );
    assert_eq!(up.seen.lock().unwrap().len(), 1);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}
