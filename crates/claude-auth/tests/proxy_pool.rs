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
                        // `/v1/early` answers before reading the body
                        // (which it then reads on the side, so the
                        // connection stays open for it);
                        // `/v1/length` answers with the body's length and
                        // `/v1/headers` with the header names it got.
                        let path = req.uri().path().to_owned();
                        let mut names: Vec<String> =
                            req.headers().keys().map(|k| k.to_string()).collect();
                        names.sort();
                        let answer = match path.as_str() {
                            "/v1/early" => {
                                let body = req.into_body();
                                tokio::spawn(async move {
                                    let _ = body.collect().await;
                                });
                                ANSWER.to_owned()
                            }
                            "/v1/headers" => names.join(","),
                            _ => {
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                if path == "/v1/length" {
                                    body.len().to_string()
                                } else {
                                    ANSWER.to_owned()
                                }
                            }
                        };
                        let mut resp = hyper::Response::new(Full::new(Bytes::from(answer)));
                        resp.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        if close_every > 0 && nth % close_every == 0 {
                            resp.headers_mut()
                                .insert("connection", "close".parse().unwrap());
                        }
                        // `/v1/redirect` sends the client to another host,
                        // `/v1/redirect-home` to another path of this one.
                        if let Some(to) = redirect_for(&record, nth, addr) {
                            *resp.status_mut() = hyper::StatusCode::TEMPORARY_REDIRECT;
                            resp.headers_mut().insert("location", to.parse().unwrap());
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

fn redirect_for(record: &Mutex<Vec<Seen>>, nth: usize, addr: SocketAddr) -> Option<String> {
    match record.lock().unwrap()[nth - 1].2.as_str() {
        "/v1/redirect" => Some("http://127.0.0.1:9/elsewhere".into()),
        "/v1/redirect-home" => Some(format!("http://{addr}/v1/moved?x=1")),
        _ => None,
    }
}

async fn proxy(upstream: &Upstream) -> claude_auth::proxy::ProxyHandle {
    proxy_with(upstream, |_| {}).await
}

async fn proxy_with(
    upstream: &Upstream,
    adjust: impl FnOnce(&mut ProxyConfig),
) -> claude_auth::proxy::ProxyHandle {
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
    adjust(&mut config);
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

    // A redirect to the upstream itself is pointed back at the proxy: a
    // client that follows it comes back through the proxy, which injects the
    // real key again, instead of going to the upstream with its local one.
    let resp = client()
        .post(format!("{}/v1/redirect-home", handle.url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.headers().get("location").unwrap(), "/v1/moved?x=1");
    let followed = reqwest::Client::new()
        .post(format!("{}/v1/redirect-home", handle.url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), 200);
    let seen = up.seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v1/redirect",
            "/v1/redirect-home",
            "/v1/redirect-home",
            "/v1/moved?x=1"
        ]
    );
    assert!(
        seen.iter().all(|s| s.4 == API_KEY),
        "every request reached the upstream with the real key"
    );
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_the_upstream_answered_early_does_not_hold_up_other_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = upstream(0).await;
    let handle = proxy(&up).await;
    // Client A announces 1,000 bytes, sends 10 and stalls; the upstream
    // answers at once, so the proxy has A's whole answer while the upstream
    // connection is still busy receiving A's body.
    let mut a = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
    a.write_all(
        b"POST /v1/early HTTP/1.1\r\nhost: proxy\r\ncontent-length: 1000\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).ends_with(ANSWER) {
        let n = a.read(&mut buf).await.unwrap();
        assert!(n > 0, "A's answer: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    // B must not be given A's busy connection. A bound, not a timing:
    // without the fix B waits for A's upload, which never comes.
    let b = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        client().get(format!("{}/v1/models", handle.url())).send(),
    )
    .await
    .expect("B is not held up by A's stalled upload")
    .unwrap();
    assert_eq!(b.status(), 200);
    assert_eq!(b.text().await.unwrap(), ANSWER);
    assert_eq!(up.connections.load(Ordering::SeqCst), 2);
    drop(a);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_larger_than_the_retry_buffer_streams_through_with_an_api_key() {
    let up = upstream(0).await;
    let handle = proxy(&up).await;
    // 2 MiB in 64 KiB chunks, no Content-Length: an API key is never
    // refreshed, so nothing needs buffering for a retry.
    let chunks = (0..32).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 64 * 1024])));
    let resp = client()
        .post(format!("{}/v1/length", handle.url()))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), (2 * 1024 * 1024).to_string());
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_named_in_connection_are_not_forwarded() {
    let up = upstream(0).await;
    let handle = proxy(&up).await;
    let resp = client()
        .get(format!("{}/v1/headers", handle.url()))
        .header("connection", "x-hop, keep-alive")
        .header("x-hop", "1")
        .header("proxy-connection", "keep-alive")
        .header("x-end-to-end", "1")
        .send()
        .await
        .unwrap();
    let names = resp.text().await.unwrap();
    let names: Vec<&str> = names.split(',').collect();
    assert!(names.contains(&"x-end-to-end"), "{names:?}");
    for hop in ["x-hop", "proxy-connection", "connection"] {
        assert!(!names.contains(&hop), "{hop} forwarded: {names:?}");
    }
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2c_client_is_served_and_its_authority_does_not_choose_the_upstream() {
    let up = upstream(0).await;
    let handle = proxy(&up).await;
    let tcp = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    // Over HTTP/2 every request names a scheme and an authority: here one
    // that is neither the proxy nor the upstream.
    let req = hyper::Request::post("http://elsewhere.example/v1/messages")
        .header("x-api-key", "ignored-without-auth")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, ANSWER.as_bytes());
    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].3, up.addr.to_string(), "Host is the upstream's");
    assert_eq!(seen[0].4, API_KEY);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = upstream(0).await;
    let handle = proxy_with(&up, |c| {
        c.header_read_timeout = std::time::Duration::from_millis(200)
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
    slow.write_all(b"GET /v1/models HTTP/1.1\r\nhost: proxy\r\n")
        .await
        .unwrap();
    // A bound, not a timing: without the timeout the proxy waits forever.
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), slow.read(&mut buf))
        .await
        .expect("the proxy closed the connection");
    // Closed (0 bytes, or a reset), never answered: nothing went upstream.
    assert!(!matches!(read, Ok(n) if n > 0), "{read:?}");
    assert!(up.seen.lock().unwrap().is_empty());
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}
