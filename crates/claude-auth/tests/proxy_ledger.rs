#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The doors feed the usage ledger: through the proxy and through the
//! library client, a streamed (SSE) answer and a JSON answer each add
//! exactly one row with the right token counts, the rate-limit headers
//! become the login's latest, and the stream is not held back while it is
//! counted.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use claude_auth::proxy::{start, ProxyConfig};
use claude_auth::usage::ledger::Ledger;
use claude_auth::usage::writer::{LedgerWriter, UsageSink};
use claude_auth::{AuthManager, Env, ManagerOptions, Provider, Resolver, Settings};

const API_KEY: &str = "sk-ant-api03-proxy-ledger-test-00000000";

const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"model\":\"claude-stream\",\"usage\":{\"input_tokens\":21,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n";
const REST: &str = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/// An upstream whose SSE answer sends `message_start`, then waits for the
/// gate before the rest.
async fn upstream(gate: Arc<Notify>) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let gate = Arc::clone(&gate);
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let stream = String::from_utf8_lossy(&body).contains(r#""stream":true"#);
                        let resp = hyper::Response::builder()
                            .header("anthropic-ratelimit-tokens-remaining", "777")
                            .header("anthropic-ratelimit-tokens-limit", "1000")
                            .header("set-cookie", "session=NEVER-STORED");
                        let body = if stream {
                            let chunks = futures_util::stream::unfold(0, move |i| {
                                let gate = Arc::clone(&gate);
                                async move {
                                    match i {
                                        0 => Some((
                                            Ok::<_, Infallible>(Frame::data(Bytes::from(START))),
                                            1,
                                        )),
                                        1 => {
                                            gate.notified().await;
                                            Some((Ok(Frame::data(Bytes::from(REST))), 2))
                                        }
                                        _ => None,
                                    }
                                }
                            });
                            return Ok::<_, Infallible>(
                                resp.header("content-type", "text/event-stream")
                                    .body(BodyExt::boxed(StreamBody::new(chunks)))
                                    .unwrap(),
                            );
                        } else {
                            r#"{"id":"m2","type":"message","role":"assistant","content":[],"stop_reason":"end_turn","stop_sequence":null,"model":"claude-json","usage":{"input_tokens":3,"output_tokens":2,"cache_creation_input_tokens":5}}"#
                        };
                        Ok(resp
                            .header("content-type", "application/json")
                            .body(BodyExt::boxed(Full::new(Bytes::from(body))))
                            .unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// What both tests start from: the gated upstream, a manager holding an
/// API key, and a ledger writer on a fresh file.
struct Stage {
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    gate: Arc<Notify>,
    addr: SocketAddr,
    manager: AuthManager,
    writer: LedgerWriter,
}

async fn stage() -> Stage {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let gate = Arc::new(Notify::new());
    let addr = upstream(Arc::clone(&gate)).await;
    let env = Env::empty()
        .with("HOME", dir.path().display().to_string())
        .with("ANTHROPIC_API_KEY", API_KEY);
    let manager = AuthManager::new(
        Resolver::with_settings(env, Settings::default()),
        ManagerOptions::default(),
    )
    .unwrap();
    let writer = LedgerWriter::spawn(Ledger::open(&path).unwrap()).unwrap();
    Stage {
        dir,
        path,
        gate,
        addr,
        manager,
        writer,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_and_a_json_answer_each_add_one_row() {
    let Stage {
        dir: _dir,
        path,
        gate,
        addr,
        manager,
        writer,
    } = stage().await;
    let mut config = ProxyConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        format!("http://{addr}"),
        None,
    );
    config.access_log = false;
    config.usage = Some(UsageSink {
        writer: writer.clone(),
        provider: Provider::Anthropic,
        login: "anthropic-api-key".into(),
        agent: Some("agent-7".into()),
    });
    let proxy = start(manager, config).await.unwrap();
    let client = reqwest::Client::new();

    // The stream: its first event arrives while the upstream still holds
    // the rest, so counting does not hold it back.
    let mut resp = client
        .post(format!("{}/v1/messages", proxy.url()))
        .body(r#"{"stream":true}"#)
        .send()
        .await
        .unwrap();
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("message_start"));
    gate.notify_one();
    let mut rest = Vec::new();
    while let Some(c) = resp.chunk().await.unwrap() {
        rest.extend_from_slice(&c);
    }
    assert_eq!(String::from_utf8(rest).unwrap(), REST);

    let json = client
        .post(format!("{}/v1/messages", proxy.url()))
        .body("{}")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(json.contains("claude-json"));
    writer.flush();

    let ledger = Ledger::open(&path).unwrap();
    let mut rows = ledger.history(0).unwrap();
    rows.sort_by(|a, b| a.model.cmp(&b.model));
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.model.as_deref(),
                r.agent.as_deref(),
                r.requests,
                r.input_tokens,
                r.output_tokens,
                r.cache_tokens,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("claude-json"), Some("agent-7"), 1, 3, 2, 5),
            (Some("claude-stream"), Some("agent-7"), 1, 21, 9, 4),
        ]
    );
    let (_, latest) = ledger
        .latest_limits(&Provider::Anthropic, "anthropic-api-key")
        .unwrap()
        .unwrap();
    assert_eq!(
        latest.get("anthropic-ratelimit-tokens-remaining").unwrap(),
        "777"
    );
    assert!(latest.get("set-cookie").is_none());
    proxy.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_adds_one_row_per_message_streamed_or_not() {
    use claude_auth::client::{ClientBuilder, MessageRequest};
    let Stage {
        dir: _dir,
        path,
        gate,
        addr,
        manager,
        writer,
    } = stage().await;
    let client = ClientBuilder::new(manager)
        .base_url(format!("http://{addr}"))
        .usage(UsageSink {
            writer: writer.clone(),
            provider: Provider::Anthropic,
            login: "anthropic-api-key".into(),
            agent: None,
        })
        .build()
        .unwrap();
    let message = client
        .create_message(&MessageRequest::new("claude-json", 10).user("hi"))
        .await
        .unwrap();
    assert_eq!(message.body.model, "claude-json");
    gate.notify_one();
    let streamed = client
        .stream_message(&MessageRequest::new("claude-stream", 10).user("hi"))
        .await
        .unwrap()
        .final_message()
        .await
        .unwrap();
    assert_eq!(streamed.usage.output_tokens, 9);
    writer.flush();
    let ledger = Ledger::open(&path).unwrap();
    let mut rows = ledger.history(0).unwrap();
    rows.sort_by(|a, b| a.model.cmp(&b.model));
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.model.as_deref(),
                r.requests,
                r.input_tokens,
                r.output_tokens,
                r.cache_tokens,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("claude-json"), 1, 3, 2, 5),
            (Some("claude-stream"), 1, 21, 9, 4)
        ]
    );
    let (_, latest) = ledger
        .latest_limits(&Provider::Anthropic, "anthropic-api-key")
        .unwrap()
        .unwrap();
    assert_eq!(
        latest.get("anthropic-ratelimit-tokens-limit").unwrap(),
        "1000"
    );
}
