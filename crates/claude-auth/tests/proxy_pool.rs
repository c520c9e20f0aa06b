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

mod common;
use common::proxy::api_key_proxy;

use claude_auth::proxy::ProxyConfig;

const API_KEY: &str = "sk-ant-api03-proxy-pool-test-000000";
const ANSWER: &str = r#"{"type":"message","content":[]}"#;
/// The length of `/v1/big`'s answer: more than loopback buffers hold.
const BIG: usize = 64 << 20;

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
                        // `/v1/length` answers with the body's length,
                        // `/v1/headers` with the header names it got and
                        // `/v1/big` with BIG bytes.
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
                            "/v1/big" => "x".repeat(BIG),
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
    api_key_proxy(API_KEY, format!("http://{}/", upstream.addr), None, adjust).await
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
    // Client A announces 100,000 bytes, sends 10 and stalls; the upstream
    // answers at once, so the proxy has A's whole answer while the upstream
    // connection is still busy receiving A's body. (A body under 16 KiB
    // would not reach the upstream before it is whole: its head waits for
    // it, to go out in one write.)
    let mut a = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
    a.write_all(
        b"POST /v1/early HTTP/1.1\r\nhost: proxy\r\ncontent-length: 100000\r\n\r\n0123456789",
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

/// Read until the server closes the connection (EOF or a reset), within a
/// generous bound: what the server sent, or a panic naming `what`.
async fn read_until_closed(conn: &mut tokio::net::TcpStream, what: &str) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{what}: the proxy kept the connection open");
    got
}

/// The HTTP/2 connection preface a client sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
const H2_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
/// A HEADERS frame on stream 1 without END_HEADERS (`:method GET`,
/// `:path /`): the header block is never finished.
const H2_OPEN_HEADERS: &[u8] = &[0, 0, 2, 1, 0, 0, 0, 0, 1, 0x82, 0x84];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_request_are_closed_in_every_protocol_state() {
    use tokio::io::AsyncWriteExt;
    let up = upstream(0).await;
    let handle = proxy_with(&up, |c| {
        c.idle_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let cases: [(&str, Vec<u8>); 5] = [
        ("nothing sent", Vec::new()),
        ("part of the HTTP/2 preface", H2_PREFACE[..10].to_vec()),
        (
            "idle after the HTTP/2 preface",
            [H2_PREFACE, H2_SETTINGS].concat(),
        ),
        (
            "an HTTP/2 header block without END_HEADERS",
            [H2_PREFACE, H2_SETTINGS, H2_OPEN_HEADERS].concat(),
        ),
        ("part of an HTTP/1.1 request line", b"GET /v1/mo".to_vec()),
    ];
    let addr = handle.addr;
    let mut all = Vec::new();
    for (what, sent) in cases {
        all.push(tokio::spawn(async move {
            let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
            conn.write_all(&sent).await.unwrap();
            read_until_closed(&mut conn, what).await;
        }));
    }
    for task in all {
        task.await.unwrap();
    }
    assert!(up.seen.lock().unwrap().is_empty());
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_idle_after_a_request_is_closed_though_it_answers_pings() {
    let up = upstream(0).await;
    let handle = proxy_with(&up, |c| {
        c.idle_timeout = std::time::Duration::from_millis(300);
        c.http2_keep_alive = std::time::Duration::from_millis(50);
    })
    .await;
    let tcp = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get("http://proxy/v1/models")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, ANSWER.as_bytes());
    // The client keeps its end open (and answers the proxy's pings); the
    // proxy closes the connection once it has been idle long enough.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(20), conn).await;
    assert!(closed.is_ok(), "the idle HTTP/2 connection stayed open");
    assert!(sender
        .send_request(
            hyper::Request::get("http://proxy/v1/models")
                .body(Full::new(Bytes::new()))
                .unwrap()
        )
        .await
        .is_err());
    assert_eq!(up.seen.lock().unwrap().len(), 1);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

/// A raw HTTP/1.1 keep-alive exchange on `conn`: the response's status line.
async fn keep_alive_get(conn: &mut tokio::net::TcpStream) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(b"GET /v1/models HTTP/1.1\r\nhost: proxy\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).ends_with(ANSWER) {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_a_slot_frees() {
    let up = upstream(0).await;
    let handle = proxy_with(&up, |c| c.max_connections = 2).await;
    // Two kept-alive connections that were served: both slots are taken.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
        assert_eq!(keep_alive_get(&mut conn).await, "HTTP/1.1 200 OK");
        held.push(conn);
    }
    let url = format!("{}/v1/models", handle.url());
    let third = tokio::spawn(async move { client().get(url).send().await.unwrap().status() });
    // Not served while both slots are held (a bound that can only make this
    // pass wrongly, never fail wrongly).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past the cap"
    );
    assert_eq!(up.seen.lock().unwrap().len(), 2);
    drop(held.pop());
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), third)
        .await
        .expect("served once a slot freed")
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(up.seen.lock().unwrap().len(), 3);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_filling_every_slot_are_closed_and_a_valid_request_is_then_served() {
    let up = upstream(0).await;
    let handle = proxy_with(&up, |c| {
        c.max_connections = 4;
        c.idle_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    // Twice the cap and more: four are accepted, the rest wait in the backlog.
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(tokio::net::TcpStream::connect(handle.addr).await.unwrap());
    }
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        client().get(format!("{}/v1/models", handle.url())).send(),
    )
    .await
    .expect("the valid request was served once the silent ones were closed")
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), ANSWER);
    for (i, conn) in silent.iter_mut().enumerate() {
        read_until_closed(conn, &format!("silent connection {i}")).await;
    }
    assert_eq!(up.seen.lock().unwrap().len(), 1);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_and_methods_the_apis_do_not_use_are_refused() {
    let up = upstream(0).await;
    let handle = proxy(&up).await;
    let http = client();
    for method in ["TRACE", "TRACK", "PROPFIND", "FOO"] {
        let resp = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/v1/models", handle.url()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method}");
        assert_eq!(
            resp.headers().get("allow").unwrap(),
            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("the {method} method is refused")),
            "{message}"
        );
    }
    assert!(up.seen.lock().unwrap().is_empty());
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let resp = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/v1/models", handle.url()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{method}");
    }
    let seen: Vec<String> = up
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.1.clone())
        .collect();
    assert_eq!(
        seen,
        ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    );
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_its_answer_is_disconnected() {
    use tokio::io::AsyncWriteExt;
    let up = upstream(0).await;
    let handle = proxy_with(&up, |c| {
        c.send_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let mut conn = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
    conn.write_all(b"GET /v1/big HTTP/1.1\r\nhost: proxy\r\n\r\n")
        .await
        .unwrap();
    // The client reads nothing for a while: the buffers between it and the
    // proxy fill, and the proxy's write stays blocked past the send timeout.
    let asked = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while up.seen.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(asked.is_ok(), "the request never reached the upstream");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let got = read_until_closed(&mut conn, "a client not reading").await;
    assert!(
        got.len() < BIG,
        "the whole answer was sent: {} bytes",
        got.len()
    );
    handle.shutdown(std::time::Duration::from_secs(5)).await;
}
