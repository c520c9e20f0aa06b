#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A request body that trickles in, or stops arriving, holds no proxy
//! connection: the proxy closes it once nothing of the body has come for the
//! idle limit, or once the body has taken longer than `body_timeout`; a body
//! sent at any pace within both goes through. Real HTTP over loopback: a
//! hyper upstream that reads each body to the end, the proxy in front of it
//! with an API key from the environment, and raw TCP clients.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::proxy::api_key_proxy;

use claude_auth::proxy::{ProxyConfig, ProxyHandle};

const API_KEY: &str = "sk-ant-api03-proxy-body-test-000000";

/// An upstream answering each request with the length of its body.
async fn upstream() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: hyper::Request<Incoming>| async {
                    let body = req.into_body().collect().await;
                    let answer = body.map(|b| b.to_bytes().len()).unwrap_or(0);
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                        answer.to_string(),
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

async fn proxy(upstream: SocketAddr, adjust: impl FnOnce(&mut ProxyConfig)) -> ProxyHandle {
    api_key_proxy(API_KEY, format!("http://{upstream}/"), None, adjust).await
}

/// A POST whose body will be `length` bytes.
fn head(length: usize) -> String {
    format!("POST /v1/length HTTP/1.1\r\nhost: proxy\r\ncontent-length: {length}\r\n\r\n")
}

/// What the proxy sent until it closed the connection, within a generous
/// bound (a panic naming `what` past it).
async fn read_until_closed(conn: &mut tokio::net::tcp::OwnedReadHalf, what: &str) -> String {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
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
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_that_stops_arriving_is_disconnected() {
    let up = upstream().await;
    let handle = proxy(up, |c| c.idle_timeout = Duration::from_millis(300)).await;
    let (mut rx, mut tx) = TcpStream::connect(handle.addr).await.unwrap().into_split();
    tx.write_all(head(1000).as_bytes()).await.unwrap();
    tx.write_all(&[b'x'; 10]).await.unwrap();
    // 990 bytes never come.
    let got = read_until_closed(&mut rx, "a body that stopped").await;
    assert!(!got.contains(" 200 "), "{got}");
    handle.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_trickling_in_is_cut_at_the_body_timeout() {
    let up = upstream().await;
    let handle = proxy(up, |c| c.body_timeout = Duration::from_secs(1)).await;
    let (mut rx, mut tx) = TcpStream::connect(handle.addr).await.unwrap().into_split();
    let started = Instant::now();
    tx.write_all(head(100_000).as_bytes()).await.unwrap();
    // A byte every 20 ms: always within the 30 s idle limit, never done.
    let trickle = tokio::spawn(async move {
        while tx.write_all(b"x").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let got = read_until_closed(&mut rx, "a trickling body").await;
    assert!(!got.contains(" 200 "), "{got}");
    // The whole-body limit closed it, not the idle limit.
    assert!(started.elapsed() >= Duration::from_secs(1));
    trickle.abort();
    handle.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_sent_in_pieces_within_the_limits_goes_through() {
    let up = upstream().await;
    let handle = proxy(up, |c| {
        c.idle_timeout = Duration::from_millis(1000);
        c.body_timeout = Duration::from_secs(20);
    })
    .await;
    let (mut rx, mut tx) = TcpStream::connect(handle.addr).await.unwrap().into_split();
    tx.write_all(head(30).as_bytes()).await.unwrap();
    // Three pieces 400 ms apart: 1.2 s in all, more than the idle limit,
    // but never 1 s without a byte.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        tx.write_all(&[b'x'; 10]).await.unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let answered = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let n = rx.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
            if got.ends_with(b"\r\n\r\n30") {
                return;
            }
        }
    })
    .await;
    assert!(
        answered.is_ok(),
        "no answer: {}",
        String::from_utf8_lossy(&got)
    );
    assert!(got.starts_with(b"HTTP/1.1 200 "));
    handle.shutdown(Duration::from_secs(5)).await;
}
