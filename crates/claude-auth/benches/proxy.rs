//! Helpers for `scripts/bench-proxy` (not a criterion bench; run without a
//! mode, as `cargo bench` does, it only prints how to use it).
//!
//! ```text
//! proxy upstream [--port P] [--workers N]
//!     A fast stand-in for the Messages API on 127.0.0.1: `POST /v1/messages`
//!     answers a small fixed JSON message; with `"stream":true` in the body it
//!     answers SSE: `message_start` at once, then a `content_block_delta`
//!     every BENCH_SSE_INTERVAL_MS (100) ms, BENCH_SSE_EVENTS (40) times, then
//!     `message_stop`. Requests whose `x-api-key` is not BENCH_UPSTREAM_KEY
//!     (when set) get a 401. Prints `LISTENING http://127.0.0.1:<port>`.
//! proxy sse --url URL --key KEY --streams N [--ramp-ms R] [--sequential]
//!     Opens N SSE streams to URL/v1/messages (x-api-key KEY): all concurrent,
//!     the starts spread evenly over R ms (0: all at once), each read to its
//!     end; or with --sequential one after the other, each dropped after its
//!     first event. Prints time to response headers and to the first event
//!     per stream (median, p90, p99, max) as one `BENCH_JSON {…}` line.
//! proxy relay --upstream HOST:PORT [--workers N]
//!     The floor for any proxy: a byte relay (layer 4) on 127.0.0.1 that opens
//!     one upstream connection per client connection and copies bytes both
//!     ways (`tokio::io::copy_bidirectional`), with no HTTP parsing, no
//!     authentication and no pool. It makes the same reads and writes per
//!     request as a pass-through HTTP proxy, and nothing else, so no HTTP
//!     proxy can be cheaper. `--workers 1` (the default) runs tokio's
//!     current-thread runtime. Prints `LISTENING http://127.0.0.1:<port>`.
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

const MESSAGE: &str = r#"{"id":"msg_bench01","type":"message","role":"assistant","model":"claude-bench","content":[{"type":"text","text":"Hello from the bench upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":8}}"#;
const SSE_START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-bench\",\"content\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n";
const SSE_DELTA: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tick \"}}\n\n";
const SSE_STOP: &str = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

type Body = BoxBody<Bytes, Infallible>;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

// ---------------------------------------------------------------------------
// The upstream.

struct Upstream {
    key: Option<String>,
    events: u64,
    interval: Duration,
}

fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()).boxed());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    resp
}

async fn answer(up: Arc<Upstream>, req: Request<Incoming>) -> Response<Body> {
    let key_ok = match &up.key {
        Some(k) => req
            .headers()
            .get("x-api-key")
            .is_some_and(|v| v.as_bytes() == k.as_bytes()),
        None => true,
    };
    let post_messages = req.method() == hyper::Method::POST && req.uri().path() == "/v1/messages";
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if !key_ok {
        return text(
            StatusCode::UNAUTHORIZED,
            "application/json",
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        );
    }
    if !post_messages {
        return text(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"type":"error","error":{"type":"not_found_error","message":"not found"}}"#,
        );
    }
    let stream = body.windows(13).any(|w| w == b"\"stream\":true");
    if !stream {
        return text(StatusCode::OK, "application/json", MESSAGE);
    }
    let (events, interval) = (up.events, up.interval);
    let first = futures_util::stream::once(async { Bytes::from_static(SSE_START.as_bytes()) });
    let ticks = futures_util::stream::unfold(0u64, move |n| async move {
        if n > events {
            return None;
        }
        if n == events {
            return Some((Bytes::from_static(SSE_STOP.as_bytes()), n + 1));
        }
        tokio::time::sleep(interval).await;
        Some((Bytes::from_static(SSE_DELTA.as_bytes()), n + 1))
    });
    let frames = first
        .chain(ticks)
        .map(|b| Ok::<_, Infallible>(Frame::data(b)));
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(frames)));
    let h = resp.headers_mut();
    h.insert("content-type", "text/event-stream".parse().unwrap());
    h.insert("cache-control", "no-cache".parse().unwrap());
    resp
}

fn upstream(args: &[String]) {
    let port: u16 = arg(args, "--port").map_or(0, |p| p.parse().unwrap());
    let workers: usize = arg(args, "--workers").map_or(2, |w| w.parse().unwrap());
    let up = Arc::new(Upstream {
        key: std::env::var("BENCH_UPSTREAM_KEY").ok(),
        events: env_num("BENCH_SSE_EVENTS", 40),
        interval: Duration::from_millis(env_num("BENCH_SSE_INTERVAL_MS", 100)),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .unwrap();
        println!("LISTENING http://{}", listener.local_addr().unwrap());
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let up = Arc::clone(&up);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let up = Arc::clone(&up);
                    async move { Ok::<_, Infallible>(answer(up, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

// ---------------------------------------------------------------------------
// The relay.

fn relay(args: &[String]) {
    let upstream: SocketAddr = arg(args, "--upstream")
        .expect("--upstream HOST:PORT")
        .parse()
        .expect("--upstream must be an IP address and port");
    let workers: usize = arg(args, "--workers").map_or(1, |w| w.parse().unwrap());
    let rt = if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap()
    };
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .unwrap();
        println!("LISTENING http://{}", listener.local_addr().unwrap());
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = up.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
            });
        }
    });
}

// ---------------------------------------------------------------------------
// The SSE client.

#[derive(Default)]
struct StreamResult {
    headers: Option<Duration>,
    first_event: Option<Duration>,
    events: u64,
    error: Option<String>,
}

async fn one_stream(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    read_to_end: bool,
) -> StreamResult {
    let mut r = StreamResult::default();
    let start = Instant::now();
    let sent = http
        .post(url)
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(r#"{"model":"claude-bench","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        .send()
        .await;
    let mut resp = match sent {
        Ok(resp) if resp.status().is_success() => resp,
        Ok(resp) => {
            r.error = Some(format!("HTTP {}", resp.status()));
            return r;
        }
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    r.headers = Some(start.elapsed());
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let first = r.first_event.is_none();
                if first {
                    r.first_event = Some(start.elapsed());
                }
                r.events += chunk.windows(7).filter(|w| w == b"event: ").count() as u64;
                if first && !read_to_end {
                    return r;
                }
            }
            Ok(None) => return r,
            Err(e) => {
                r.error = Some(e.to_string());
                return r;
            }
        }
    }
}

fn stats_json(name: &str, mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return format!("\"{name}\":null");
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    format!(
        "\"{name}\":{{\"median_ms\":{median:.4},\"p90_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.4},\"min_ms\":{:.4}}}",
        q(0.90),
        q(0.99),
        v[n - 1],
        v[0]
    )
}

fn sse(args: &[String]) {
    let base = arg(args, "--url").expect("--url");
    let url = format!("{}/v1/messages", base.trim_end_matches('/'));
    let key = arg(args, "--key").expect("--key").to_owned();
    let streams: usize = arg(args, "--streams").map_or(1000, |n| n.parse().unwrap());
    let ramp = Duration::from_millis(arg(args, "--ramp-ms").map_or(0, |n| n.parse().unwrap()));
    let sequential = args.iter().any(|a| a == "--sequential");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let wall = Instant::now();
    let results: Vec<StreamResult> = rt.block_on(async {
        if sequential {
            let mut out = Vec::with_capacity(streams);
            for _ in 0..streams {
                out.push(one_stream(&http, &url, &key, false).await);
            }
            return out;
        }
        let t0 = tokio::time::Instant::now();
        let handles: Vec<_> = (0..streams)
            .map(|i| {
                let (http, url, key) = (http.clone(), url.clone(), key.clone());
                let at = t0 + ramp.mul_f64(i as f64 / streams as f64);
                tokio::spawn(async move {
                    tokio::time::sleep_until(at).await;
                    one_stream(&http, &url, &key, true).await
                })
            })
            .collect();
        let mut out = Vec::with_capacity(streams);
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    let wall = wall.elapsed();
    let ms = |d: &Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
    let failed: Vec<&StreamResult> = results.iter().filter(|r| r.error.is_some()).collect();
    let events: u64 = results.iter().map(|r| r.events).sum();
    let first_error = failed
        .first()
        .and_then(|r| r.error.clone())
        .unwrap_or_default()
        .replace('"', "'");
    println!(
        "BENCH_JSON {{\"streams\":{streams},\"sequential\":{sequential},\"ramp_ms\":{},\"wall_s\":{:.3},\"failed\":{},\"first_error\":\"{first_error}\",\"events\":{events},{},{}}}",
        ramp.as_millis(),
        wall.as_secs_f64(),
        failed.len(),
        stats_json("headers", results.iter().filter_map(|r| ms(&r.headers)).collect()),
        stats_json("first_event", results.iter().filter_map(|r| ms(&r.first_event)).collect()),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("upstream") => upstream(&args),
        Some("sse") => sse(&args),
        Some("relay") => relay(&args),
        _ => println!(
            "benches/proxy.rs holds the helpers of scripts/bench-proxy (modes: upstream, sse, relay); run scripts/bench-proxy"
        ),
    }
}
