#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The proxy's own HTTP/1 server (the client leg) as clients meet it on the
//! wire: pipelined requests, `Expect: 100-continue`, HTTP/1.0 and `HEAD`,
//! requests it refuses (framed two ways, heads too large, a wrong key with
//! a body it did not read), and a client that goes away while its answer
//! is awaited. The upstream answers with the path it was asked for and the
//! length of the body it got.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

mod common;
use common::http1::{read_answer, read_request, Answer};
use common::proxy::api_key_proxy;

use claude_auth::proxy::ProxyHandle;

const API_KEY: &str = "sk-ant-api03-proxy-h1-server-test-000000";
const LOCAL_KEY: &str = "ca-local-h1-server-test";
const WAIT: Duration = Duration::from_secs(20);

struct Upstream {
    addr: SocketAddr,
    /// Request lines, in the order they came.
    seen: Arc<Mutex<Vec<String>>>,
    /// Notified when a `/slow` or `/stall` request arrives, and when its
    /// connection ends.
    slow_arrived: Arc<Notify>,
    slow_closed: Arc<Notify>,
    /// Lets a `/resume` answer go on after its first chunk.
    resume: Arc<Notify>,
}

/// Answers `/slow` never, `/stall` with the first chunk of an answer
/// only, `/resume` with its first chunk and the rest once told to,
/// `/chunked` in chunks, anything else with `<path> <body length>`.
async fn upstream() -> Upstream {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (slow_arrived, slow_closed) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let resume = Arc::new(Notify::new());
    let (record, arrived, closed, go_on) = (
        Arc::clone(&seen),
        Arc::clone(&slow_arrived),
        Arc::clone(&slow_closed),
        Arc::clone(&resume),
    );
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (record, arrived, closed, go_on) = (
                Arc::clone(&record),
                Arc::clone(&arrived),
                Arc::clone(&closed),
                Arc::clone(&go_on),
            );
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some((line, body)) = read_request(&mut conn, &mut buf).await {
                    record.lock().unwrap().push(line.clone());
                    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                    let answer = match path.as_str() {
                        "/slow" | "/stall" => {
                            if path == "/stall" {
                                let first = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                                             5\r\nfirst\r\n";
                                let _ = conn.write_all(first.as_bytes()).await;
                            }
                            arrived.notify_one();
                            let mut rest = [0u8; 64];
                            while conn.read(&mut rest).await.is_ok_and(|n| n > 0) {}
                            closed.notify_one();
                            return;
                        }
                        "/resume" => {
                            let first = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                                         5\r\nfirst\r\n";
                            if conn.write_all(first.as_bytes()).await.is_err() {
                                return;
                            }
                            go_on.notified().await;
                            "6\r\nsecond\r\n0\r\n\r\n".to_owned()
                        }
                        "/chunked" => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                                       5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"
                            .to_owned(),
                        _ => {
                            let text = format!("{path} {}", body.len());
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{text}",
                                text.len()
                            )
                        }
                    };
                    if conn.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Upstream {
        addr,
        seen,
        slow_arrived,
        slow_closed,
        resume,
    }
}

async fn proxy(up: &Upstream) -> ProxyHandle {
    let upstream = format!("http://{}", up.addr);
    api_key_proxy(API_KEY, upstream, Some(LOCAL_KEY), |_| {}).await
}

/// A request with the local key; `extra` header lines end in CRLF.
fn request(method: &str, path: &str, extra: &str, body: &str) -> String {
    let length = if body.is_empty() {
        String::new()
    } else {
        format!("content-length: {}\r\n", body.len())
    };
    format!("{method} {path} HTTP/1.1\r\nhost: proxy\r\nx-api-key: {LOCAL_KEY}\r\n{extra}{length}\r\n{body}")
}

async fn answer(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Answer {
    tokio::time::timeout(WAIT, read_answer(conn, buf, false))
        .await
        .expect("an answer in time")
        .expect("an answer before the connection closed")
}

/// Whether the proxy closed the connection (nothing more comes).
async fn closed(conn: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut more = [0u8; 1024];
    let n = tokio::time::timeout(WAIT, conn.read(&mut more))
        .await
        .expect("the connection to end in time")
        .unwrap_or(0);
    buf.extend_from_slice(&more[..n]);
    n == 0
}

/// The client closes `conn`: the upstream connection of its held request
/// (`/slow`, `/stall`) is closed in turn.
async fn the_upstream_sees_the_client_leave(up: &Upstream, conn: TcpStream) {
    let gone = up.slow_closed.notified();
    drop(conn);
    tokio::time::timeout(WAIT, gone)
        .await
        .expect("the upstream connection to be closed once the client left");
}

/// Read into `buf` until `done` says it holds enough.
async fn read_until(conn: &mut TcpStream, buf: &mut Vec<u8>, done: impl Fn(&[u8]) -> bool) {
    while !done(buf) {
        let mut more = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, conn.read(&mut more))
            .await
            .expect("more of the answer in time")
            .unwrap();
        assert!(n > 0, "closed after {}", String::from_utf8_lossy(buf));
        buf.extend_from_slice(&more[..n]);
    }
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    let all = [
        request("GET", "/first", "", ""),
        request("POST", "/second", "content-type: text/plain\r\n", "hello"),
        request("GET", "/third", "", ""),
    ]
    .concat();
    conn.write_all(all.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    for expected in ["/first 0", "/second 5", "/third 0"] {
        let a = answer(&mut conn, &mut buf).await;
        assert_eq!((a.status, text(&a).as_str()), (200, expected));
        assert_eq!(a.header("connection"), None);
        assert!(a.header("date").is_some(), "{:?}", a.headers);
    }
    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "GET /first HTTP/1.1",
            "POST /second HTTP/1.1",
            "GET /third HTTP/1.1"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_framed_two_ways_or_too_large_are_refused_and_never_reach_the_upstream() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    let cases = [
        (
            request(
                "POST",
                "/smuggle",
                "transfer-encoding: chunked\r\ncontent-length: 4\r\n",
                "",
            ) + "0\r\n\r\nGET /hidden HTTP/1.1\r\n\r\n",
            400,
            "claude-auth proxy: a request cannot have both Transfer-Encoding and Content-Length",
        ),
        (
            request(
                "POST",
                "/two",
                "content-length: 1\r\ncontent-length: 2\r\n",
                "",
            ),
            400,
            "claude-auth proxy: the request has two different Content-Lengths",
        ),
        (
            format!("GET / HTTP/1.1\r\nx-big: {}\r\n\r\n", "a".repeat(70 * 1024)),
            431,
            "claude-auth proxy: the request head is too large",
        ),
        (
            "GET / HTTP/1.1\r\nno colon here\r\n\r\n".to_owned(),
            400,
            "claude-auth proxy: the request head is malformed",
        ),
    ];
    for (raw, status, message) in cases {
        let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
        // The proxy may answer and close before all of it is written.
        let _ = conn.write_all(raw.as_bytes()).await;
        let mut buf = Vec::new();
        let a = answer(&mut conn, &mut buf).await;
        assert_eq!(a.status, status, "{message}");
        assert_eq!(a.header("connection"), Some("close"));
        let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(body["error"]["message"], message);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert!(closed(&mut conn, &mut buf).await);
    }
    assert!(up.seen.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_expecting_100_continue_gets_it_before_it_sends_the_body() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nhost: proxy\r\nx-api-key: {LOCAL_KEY}\r\n\
         expect: 100-continue\r\ncontent-length: 10\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let interim = answer(&mut conn, &mut buf).await;
    assert_eq!(interim.status, 100);
    conn.write_all(b"0123456789").await.unwrap();
    let a = answer(&mut conn, &mut buf).await;
    assert_eq!((a.status, text(&a).as_str()), (200, "/upload 10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_keeps_its_connection_only_when_its_unread_body_is_all_in() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    let wrong = |body_length: usize, sent: &str| {
        format!(
            "POST /v1/messages HTTP/1.1\r\nhost: proxy\r\nx-api-key: wrong\r\n\
             content-length: {body_length}\r\n\r\n{sent}"
        )
    };
    // All of the body came with the head: skipped, and the connection goes on.
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(wrong(5, "hello").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let a = answer(&mut conn, &mut buf).await;
    assert_eq!((a.status, a.header("connection")), (401, None));
    conn.write_all(request("GET", "/after", "", "").as_bytes())
        .await
        .unwrap();
    let a = answer(&mut conn, &mut buf).await;
    assert_eq!((a.status, text(&a).as_str()), (200, "/after 0"));
    // Most of it still to come: the answer says the connection ends, and it does.
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(wrong(100_000, "only a little").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let a = answer(&mut conn, &mut buf).await;
    assert_eq!((a.status, a.header("connection")), (401, Some("close")));
    assert!(closed(&mut conn, &mut buf).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_and_head_are_answered_as_their_version_and_method_need() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    // HEAD: the length a GET would have, no body, and the connection goes on.
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(request("HEAD", "/headed", "", "").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let a = tokio::time::timeout(WAIT, read_answer(&mut conn, &mut buf, true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.status, a.header("content-length")), (200, Some("9")));
    conn.write_all(request("GET", "/next", "", "").as_bytes())
        .await
        .unwrap();
    let a = answer(&mut conn, &mut buf).await;
    assert_eq!(text(&a), "/next 0", "no HEAD body was left before it");
    // HTTP/1.0 cannot take chunks: a body of unknown length runs to the
    // end of the connection.
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    let old = format!("GET /chunked HTTP/1.0\r\nx-api-key: {LOCAL_KEY}\r\n\r\n");
    conn.write_all(old.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let a = answer(&mut conn, &mut buf).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("transfer-encoding"), None);
    assert_eq!(a.header("connection"), Some("close"));
    assert_eq!(text(&a), "firstsecond");
    // HTTP/1.0 asking to keep the connection, with a known length: kept.
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    for path in ["/one", "/two"] {
        let kept = format!(
            "GET {path} HTTP/1.0\r\nconnection: keep-alive\r\nx-api-key: {LOCAL_KEY}\r\n\r\n"
        );
        conn.write_all(kept.as_bytes()).await.unwrap();
        let a = answer(&mut conn, &mut buf).await;
        assert_eq!(a.header("connection"), Some("keep-alive"));
        assert_eq!(text(&a), format!("{path} 0"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_while_waiting_ends_its_upstream_request() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(request("GET", "/slow", "", "").as_bytes())
        .await
        .unwrap();
    tokio::time::timeout(WAIT, up.slow_arrived.notified())
        .await
        .expect("the request to reach the upstream");
    the_upstream_sees_the_client_leave(&up, conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_in_the_middle_of_its_answer_ends_the_upstream_request() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(request("GET", "/stall", "", "").as_bytes())
        .await
        .unwrap();
    // The head and the first chunk arrive; then the upstream says nothing.
    let mut got = Vec::new();
    read_until(&mut conn, &mut got, |b| b.ends_with(b"5\r\nfirst\r\n")).await;
    the_upstream_sees_the_client_leave(&up, conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_request_is_answered_though_the_client_then_shuts_its_side() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    for _ in 0..10 {
        let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
        let both = [
            request("GET", "/first", "", ""),
            request("GET", "/second", "", ""),
        ]
        .concat();
        conn.write_all(both.as_bytes()).await.unwrap();
        conn.shutdown().await.unwrap();
        let mut buf = Vec::new();
        // The first is in hand before the end of the connection is seen;
        // the second may be cancelled by it (the client may have gone).
        let a = answer(&mut conn, &mut buf).await;
        assert_eq!((a.status, text(&a).as_str()), (200, "/first 0"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_while_an_answer_streams_is_kept_and_answered_after_it() {
    let up = upstream().await;
    let proxy = proxy(&up).await;
    let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(request("GET", "/resume", "", "").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    read_until(&mut conn, &mut buf, |b| b.ends_with(b"5\r\nfirst\r\n")).await;
    let (_, rest) = std::str::from_utf8(&buf)
        .unwrap()
        .split_once("\r\n\r\n")
        .unwrap();
    buf = rest.as_bytes().to_vec();
    // The next request, while the first answer waits on the upstream (the
    // proxy watching the connection reads it, and must keep it).
    conn.write_all(request("GET", "/after", "", "").as_bytes())
        .await
        .unwrap();
    up.resume.notify_one();
    // The rest of the first answer (its chunks as they came), then the
    // second answer whole.
    let rest: &[u8] = b"5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n";
    read_until(&mut conn, &mut buf, |b| b.len() >= rest.len()).await;
    assert_eq!(&buf[..rest.len()], rest);
    buf.drain(..rest.len());
    let a = answer(&mut conn, &mut buf).await;
    assert_eq!((a.status, text(&a).as_str()), (200, "/after 0"));
}
