#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The proxy's own HTTP/1.1 client (the upstream leg) against an upstream
//! that writes its answers byte for byte: chunked and close-delimited
//! bodies, interim responses, HEAD, answers cut short, heads too large, and
//! kept-alive connections the upstream closes while they sit idle. Each
//! answer is chosen by the request's path; the upstream records which
//! connection each request came on.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::http1::read_request;
use common::proxy::api_key_proxy;

use claude_auth::proxy::ProxyHandle;

const API_KEY: &str = "sk-ant-api03-proxy-h1-test-0000000000";

/// (connection number, request line, the request's body)
type Seen = Vec<(usize, String, Vec<u8>)>;

struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

/// The raw answer for a request line; `None`: close without answering.
fn answer(line: &str) -> (Vec<u8>, bool) {
    let path = line.split(' ').nth(1).unwrap_or("");
    let (raw, close): (String, bool) = match path {
        "/chunked" => (
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n\
             6;ext=1\r\nevent:\r\n10\r\ndata: 0123456789\r\n0\r\nx-trailer: t\r\n\r\n"
                .into(),
            false,
        ),
        "/until-close" => (
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall until the end".into(),
            true,
        ),
        "/continue" => (
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".into(),
            false,
        ),
        "/cut" => (
            "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..".into(),
            true,
        ),
        "/huge-head" => (
            format!(
                "HTTP/1.1 200 OK\r\nx-big: {}\r\ncontent-length: 2\r\n\r\nok",
                "a".repeat(70 * 1024)
            ),
            false,
        ),
        "/many-headers" => {
            let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
            (
                format!("HTTP/1.1 200 OK\r\n{many}content-length: 2\r\n\r\nok"),
                false,
            )
        }
        "/two-lengths" => (
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok".into(),
            false,
        ),
        "/bad-chunk" => (
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n".into(),
            false,
        ),
        // HEAD: a length, and no body.
        _ if line.starts_with("HEAD ") => {
            ("HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n".into(), false)
        }
        // `/close-soon`: answered, then the connection is closed while idle.
        "/close-soon" => ("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".into(), true),
        _ => ("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".into(), false),
    };
    (raw.into_bytes(), close)
}

async fn upstream() -> Upstream {
    upstream_with(|_, line| Some(answer(line))).await
}

/// The answer to the `n`th request on a connection (from 0) with request
/// line `line`: the raw answer and whether to close after it, or `None` to
/// close without answering.
type Respond = fn(n: usize, line: &str) -> Option<(Vec<u8>, bool)>;

/// An upstream that answers as `respond` says.
async fn upstream_with(respond: Respond) -> Upstream {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut conn, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            let number = n;
            n += 1;
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut asked = 0;
                while let Some((line, body)) = read_request(&mut conn, &mut buf).await {
                    record.lock().unwrap().push((number, line.clone(), body));
                    let Some((raw, close)) = respond(asked, &line) else {
                        return;
                    };
                    asked += 1;
                    if conn.write_all(&raw).await.is_err() {
                        return;
                    }
                    if close {
                        if line.contains("/close-soon") {
                            // Closed once the proxy has taken the answer,
                            // while the connection sits in its pool.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        return;
                    }
                }
            });
        }
    });
    Upstream { addr, seen }
}

async fn proxy(up: &Upstream) -> ProxyHandle {
    api_key_proxy(API_KEY, format!("http://{}", up.addr), None, |_| {}).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The connection each request reached the upstream on, by path.
fn connections(up: &Upstream) -> Vec<(usize, String)> {
    let seen = up.seen.lock().unwrap();
    seen.iter()
        .map(|(c, line, _)| (*c, line.split(' ').nth(1).unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_and_close_delimited_answers_arrive_whole_and_only_kept_alive_ones_are_reused() {
    let up = upstream().await;
    let handle = proxy(&up).await;
    let http = client();
    let get = |path: &str| http.get(format!("{}{path}", handle.url())).send();
    let resp = get("/chunked").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.text().await.unwrap(), "event:data: 0123456789");
    // The chunked answer's connection is reused.
    assert_eq!(get("/plain").await.unwrap().text().await.unwrap(), "ok");
    // Until the upstream closes: all of it, and that connection is not reused.
    let resp = get("/until-close").await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "all until the end");
    assert_eq!(get("/plain").await.unwrap().text().await.unwrap(), "ok");
    // An interim 100 is skipped; HEAD reads no body, whatever its length says.
    assert_eq!(get("/continue").await.unwrap().text().await.unwrap(), "ok");
    let head = http
        .head(format!("{}/head", handle.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "1234");
    assert_eq!(get("/plain").await.unwrap().text().await.unwrap(), "ok");
    let conns = connections(&up);
    assert_eq!(
        conns,
        [
            (0, "/chunked".into()),
            (0, "/plain".into()),
            (0, "/until-close".into()),
            (1, "/plain".into()),
            (1, "/continue".into()),
            (1, "/head".into()),
            (1, "/plain".into()),
        ]
    );
    handle.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_the_upstream_closed_while_idle_is_not_used() {
    let up = upstream().await;
    let handle = proxy(&up).await;
    let http = client();
    for _ in 0..3 {
        let resp = http
            .post(format!("{}/close-soon", handle.url()))
            .body("{\"n\":1}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
        // The upstream closes the connection while it is idle in the pool.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Each request went out once, on a new connection, with its body: none
    // was lost on (or sent twice to) a connection found closed.
    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for (i, (conn, line, body)) in seen.iter().enumerate() {
        assert_eq!(*conn, i);
        assert!(line.starts_with("POST /close-soon "), "{line}");
        assert_eq!(body, b"{\"n\":1}");
    }
    handle.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_cannot_be_framed_safely_are_a_502_and_their_connection_is_dropped() {
    let up = upstream().await;
    let handle = proxy(&up).await;
    let http = client();
    for path in ["/huge-head", "/many-headers", "/two-lengths"] {
        let resp = http
            .get(format!("{}{path}", handle.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 502, "{path}");
        let body = resp.text().await.unwrap();
        assert!(
            body.contains("the upstream request failed"),
            "{path}: {body}"
        );
    }
    // A body cut short or badly chunked: the client's answer fails (its
    // connection is cut), it is never given a shorter body as if complete.
    for path in ["/cut", "/bad-chunk"] {
        let got = match http.get(format!("{}{path}", handle.url())).send().await {
            Ok(resp) => resp.bytes().await.map(|b| b.to_vec()),
            Err(e) => Err(e),
        };
        assert!(got.is_err(), "{path}: {got:?}");
    }
    // Every one of those connections was dropped: the next request opens a
    // new one, and is answered.
    let resp = http
        .get(format!("{}/plain", handle.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    let conns = connections(&up);
    let numbers: Vec<usize> = conns.iter().map(|(c, _)| *c).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4, 5]);
    handle.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_of_unknown_length_goes_upstream_chunked() {
    use futures_util::stream;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let up = Upstream {
        addr: listener.local_addr().unwrap(),
        seen: Arc::new(Mutex::new(Seen::new())),
    };
    // This upstream keeps the raw bytes of the request it gets.
    let raw = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&raw);
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            keep.lock().unwrap().extend_from_slice(&buf[..n]);
            if n == 0 || keep.lock().unwrap().ends_with(b"\r\n0\r\n\r\n") {
                break;
            }
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        let _ = conn.read(&mut buf).await;
    });
    let handle = proxy(&up).await;
    let pieces = ["abc", "", "defgh"].map(|p| Ok::<_, std::io::Error>(p.as_bytes().to_vec()));
    let resp = client()
        .post(format!("{}/v1/messages", handle.url()))
        .body(reqwest::Body::wrap_stream(stream::iter(pieces)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    let raw = String::from_utf8(raw.lock().unwrap().clone()).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("POST /v1/messages HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("\r\ntransfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(
        head.contains(&format!("\r\nx-api-key: {API_KEY}")),
        "{head}"
    );
    // The pieces as they came (empty ones dropped), then the last chunk.
    let pieces: String = body.split("\r\n").collect::<Vec<_>>().join("|");
    assert!(
        pieces == "3|abc|5|defgh|0||" || pieces == "8|abcdefgh|0||",
        "{body:?}"
    );
    handle.shutdown(Duration::from_secs(5)).await;
}

/// A small body of known length goes upstream in the same write as its
/// head (one segment, one wake-up of the upstream), as nginx sends a
/// buffered request, even when the client sends the body later. The client
/// asks `Expect: 100-continue` and sends the body only once the proxy has
/// asked for it, so a proxy that wrote the head first would show the
/// upstream the head alone in its first read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_body_of_known_length_goes_upstream_in_one_write_with_its_head() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let up = Upstream {
        addr: listener.local_addr().unwrap(),
        seen: Arc::new(Mutex::new(Seen::new())),
    };
    let (first_read, first) = tokio::sync::oneshot::channel::<Vec<u8>>();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let n = conn.read(&mut buf).await.unwrap();
        let got = buf[..n].to_vec();
        let mut all = got.clone();
        let _ = first_read.send(got);
        while !all.ends_with(b"0123456789") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            all.extend_from_slice(&buf[..n]);
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        let _ = conn.read(&mut buf).await;
    });
    let handle = proxy(&up).await;
    let addr = handle.url().trim_start_matches("http://").to_owned();
    let mut client = TcpStream::connect(addr.as_str()).await.unwrap();
    client
        .write_all(
            format!(
                "POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
                 content-length: 10\r\nexpect: 100-continue\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = client.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    client.write_all(b"0123456789").await.unwrap();
    let first = String::from_utf8(first.await.unwrap()).unwrap();
    assert!(
        first.starts_with("POST /v1/messages HTTP/1.1\r\n"),
        "{first}"
    );
    assert!(
        first.ends_with("\r\n\r\n0123456789"),
        "the upstream's first read should hold the head and the body: {first:?}"
    );
    let mut answer = Vec::new();
    while !answer.ends_with(b"ok") {
        let n = client.read(&mut buf).await.unwrap();
        assert!(n > 0);
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

/// Shutting down: an idle kept-alive connection is closed at once, a
/// request in flight is answered whole, shutdown returns once it has, and
/// nothing is accepted any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight_and_closes_idle_connections() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let up = Upstream {
        addr: listener.local_addr().unwrap(),
        seen: Arc::new(Mutex::new(Seen::new())),
    };
    let (got_slow, slow_arrived) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut got_slow = Some(got_slow);
        let mut released = Some(released);
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let got_slow = got_slow.take();
            let released = released.take();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let (mut got_slow, mut released) = (got_slow, released);
                while let Some((line, _)) = read_request(&mut conn, &mut buf).await {
                    if line.contains("/slow") {
                        let _ = got_slow.take().unwrap().send(());
                        released.take().unwrap().await.unwrap();
                    }
                    conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await
                        .unwrap();
                }
            });
        }
    });
    let handle = proxy(&up).await;
    let addr = handle.addr;
    let ask = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: proxy\r\n\r\n");
    let read_answer = |mut conn: TcpStream| async move {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"\r\n\r\nok") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "cut short: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        (conn, String::from_utf8(got).unwrap())
    };
    // B: one request, then idle on its kept-alive connection.
    let mut b = TcpStream::connect(addr).await.unwrap();
    b.write_all(ask("/v1/fast").as_bytes()).await.unwrap();
    let (mut b, answer) = read_answer(b).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    // A: a request the upstream holds.
    let mut a = TcpStream::connect(addr).await.unwrap();
    a.write_all(ask("/v1/slow").as_bytes()).await.unwrap();
    slow_arrived.await.unwrap();

    let stopping = tokio::spawn(handle.shutdown(Duration::from_secs(60)));
    // B is closed (a bound, not a timing: it fails only if B stays open).
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(20), b.read(&mut buf))
        .await
        .expect("the idle connection is closed at shutdown")
        .unwrap_or(0);
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf[..n]));
    // A is still being served, so shutdown is still waiting.
    assert!(!stopping.is_finished());
    release.send(()).unwrap();
    let (mut a, answer) = read_answer(a).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(
        a.read(&mut buf).await.unwrap_or(0),
        0,
        "A is closed after its answer"
    );
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("shutdown returns once the request in flight is done")
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing is accepted after shutdown"
    );
}

/// A kept-alive connection the upstream closes as a request goes out on
/// it, before any answer: an idempotent request is sent again on a new
/// connection (as nginx does), a POST is not (the upstream may have acted
/// on it) and gets a 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_request_meeting_a_connection_closed_under_it_goes_out_again() {
    // Each connection answers its first request and closes on reading its
    // second, without answering.
    let up = upstream_with(|n, _| {
        (n == 0).then(|| {
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
                false,
            )
        })
    })
    .await;
    let handle = proxy(&up).await;
    let client = client();
    let url = format!("{}/v1/models", handle.url());
    for _ in 0..2 {
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "ok");
    }
    let resp = client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), 502);
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let seen: Vec<(usize, String)> = up
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(c, line, _)| (*c, line.split(' ').next().unwrap().to_owned()))
        .collect();
    let expected = [(0, "GET"), (0, "GET"), (1, "GET"), (1, "POST"), (2, "GET")];
    assert_eq!(
        seen,
        expected.map(|(c, m)| (c, m.to_owned())),
        "the GET went out again on a new connection, the POST did not"
    );
}
