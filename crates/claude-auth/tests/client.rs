#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Messages API client over real HTTP on loopback, against a small
//! stand-in for the Anthropic API written here with hyper. Every test runs in
//! a temp HOME with an `Env` built from nothing, so no real credential or
//! file is ever read.

use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use claude_auth::client::{
    Client, ClientBuilder, ClientError, ContentBlock, Delta, ListModels, MessageAccumulator,
    MessageRequest, StreamEvent,
};
use claude_auth::credential::{now_unix, Identity, Provider, TokenSet};
use claude_auth::oauth::token_client::USER_AGENT;
use claude_auth::{Env, ManagerOptions, Resolver, Secret, Settings};

// ---------------------------------------------------------------------------
// The stand-in API
// ---------------------------------------------------------------------------

/// One request the upstream received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Every value of `name` (so a duplicated header shows up).
    fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    fn one(&self, name: &str) -> Option<String> {
        let all = self.all(name);
        assert!(all.len() <= 1, "header {name} sent {} times", all.len());
        all.into_iter().next()
    }
}

enum Reply {
    Full {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    Stream {
        headers: Vec<(&'static str, String)>,
        chunks: mpsc::Receiver<Bytes>,
    },
    /// Answer after a pause.
    Later(Duration, Box<Reply>),
}

fn reply(status: u16, body: Value) -> Reply {
    Reply::Full {
        status,
        headers: vec![("request-id", format!("req_{status}"))],
        body: body.to_string(),
    }
}

fn reply_with(status: u16, headers: &[(&'static str, &str)], body: Value) -> Reply {
    Reply::Full {
        status,
        headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        body: body.to_string(),
    }
}

fn api_error_body(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

fn message_body(text: &str) -> Value {
    json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 3, "output_tokens": 2}
    })
}

/// The handler sees the request and how many earlier requests had its path.
type Handler = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

type Body = UnsyncBoxBody<Bytes, Infallible>;

struct Upstream {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    async fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Upstream {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let handler = Arc::clone(&handler);
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                            let handler = Arc::clone(&handler);
                            let record = Arc::clone(&record);
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body.collect().await.unwrap().to_bytes();
                                let seen = Seen {
                                    method: parts.method.to_string(),
                                    path: parts.uri.path().to_owned(),
                                    query: parts.uri.query().map(str::to_owned),
                                    headers: parts.headers,
                                    body,
                                };
                                let nth = {
                                    let mut all = record.lock().unwrap();
                                    let nth = all.iter().filter(|s| s.path == seen.path).count();
                                    all.push(seen.clone());
                                    nth
                                };
                                let mut reply = handler(&seen, nth);
                                while let Reply::Later(pause, then) = reply {
                                    tokio::time::sleep(pause).await;
                                    reply = *then;
                                }
                                Ok::<_, Infallible>(into_response(reply))
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Upstream { url, seen }
    }

    fn requests(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn into_response(reply: Reply) -> hyper::Response<Body> {
    let (status, headers, body): (u16, _, Body) = match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut headers = headers;
            headers.push(("content-type", "application/json".into()));
            (status, headers, Full::new(Bytes::from(body)).boxed_unsync())
        }
        Reply::Stream { headers, chunks } => {
            let mut headers = headers;
            headers.push(("content-type", "text/event-stream".into()));
            let frames = futures_util::stream::unfold(chunks, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
            });
            (200, headers, StreamBody::new(frames).boxed_unsync())
        }
        Reply::Later(..) => unreachable!("resolved by the service"),
    };
    let mut response = hyper::Response::builder().status(status);
    for (k, v) in headers {
        response = response.header(k, v);
    }
    response.body(body).unwrap()
}

// ---------------------------------------------------------------------------
// Environments and clients
// ---------------------------------------------------------------------------

/// A temp HOME with every config dir inside it, and the upstream as base URL.
fn env_in(home: &Path, upstream: &str) -> Env {
    Env::empty()
        .with("HOME", home.display().to_string())
        .with(
            "ANTHROPIC_CONFIG_DIR",
            home.join("anthropic").display().to_string(),
        )
        .with(
            "CLAUDE_CONFIG_DIR",
            home.join(".claude").display().to_string(),
        )
        .with(
            "XDG_CONFIG_HOME",
            home.join(".config").display().to_string(),
        )
        .with("ANTHROPIC_BASE_URL", upstream)
}

fn builder(env: Env) -> ClientBuilder {
    let resolver = Resolver::with_settings(env, Settings::default());
    ClientBuilder::from_resolver(resolver, ManagerOptions::default())
        .unwrap()
        // Retries wait 1–4 ms unless the server says otherwise.
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
}

fn client(env: Env) -> Client {
    builder(env).build().unwrap()
}

const API_KEY: &str = "sk-ant-api03-test-key-0000000000";
const OLD_ACCESS: &str = "sk-ant-oat01-old-access-000000000";
const NEW_ACCESS: &str = "sk-ant-oat01-new-access-111111111";

/// A refreshable OAuth profile, as `claude-auth login` or `ant auth login`
/// writes it, with the workspace `wrkspc_test`.
fn write_oauth_profile(env: &Env, name: &str) {
    let resolver = Resolver::with_settings(env.clone(), Settings::default());
    let set = TokenSet {
        access_token: Secret::new(OLD_ACCESS),
        refresh_token: Some(Secret::new("sk-ant-ort01-old-refresh-00000000")),
        expires_at: Some(now_unix() + 3600),
        scopes: vec!["user:inference".into()],
        identity: Identity {
            workspace_id: Some("wrkspc_test".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some("test-client".into()),
        id_token: None,
    };
    let files = resolver.profile_files();
    files.write_config_if_missing(name, &set, None).unwrap();
    files.write_credentials(name, &set).unwrap();
}

fn request() -> MessageRequest {
    MessageRequest::new("claude-test", 64).user("Hello")
}

async fn ok_upstream() -> Upstream {
    Upstream::start(|_, _| reply(200, message_body("Hi!"))).await
}

// ---------------------------------------------------------------------------
// Headers per credential kind
// ---------------------------------------------------------------------------

#[tokio::test]
async fn api_key_is_sent_as_x_api_key_and_nothing_else_authenticates() {
    let up = ok_upstream().await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let answer = client(env).create_message(&request()).await.unwrap();

    assert_eq!(answer.text(), "Hi!");
    let seen = &up.requests("/v1/messages")[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.one("x-api-key").as_deref(), Some(API_KEY));
    assert_eq!(seen.one("authorization"), None);
    assert_eq!(seen.one("anthropic-beta"), None);
    assert_eq!(seen.one("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(seen.one("anthropic-workspace-id"), None);
    assert_eq!(seen.one("user-agent").as_deref(), Some(USER_AGENT));
    assert_eq!(
        seen.one("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(seen.one("x-app"), None);
    let body = seen.json();
    assert_eq!(
        body,
        json!({"model": "claude-test", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]}),
        "no system prompt, no stream flag, nothing added"
    );
}

#[tokio::test]
async fn oauth_token_is_a_bearer_with_the_oauth_beta_merged_once_and_the_workspace() {
    let up = ok_upstream().await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_PROFILE", "work");
    write_oauth_profile(&env, "work");
    let client = builder(env).beta("files-api-2025-04-14").build().unwrap();

    let req = request()
        .beta("oauth-2025-04-20")
        .beta("prompt-caching-2024-07-31,files-api-2025-04-14");
    client.create_message(&req).await.unwrap();

    let seen = &up.requests("/v1/messages")[0];
    assert_eq!(
        seen.one("authorization"),
        Some(format!("Bearer {OLD_ACCESS}"))
    );
    assert_eq!(seen.one("x-api-key"), None);
    assert_eq!(
        seen.one("anthropic-beta").as_deref(),
        Some("oauth-2025-04-20,files-api-2025-04-14,prompt-caching-2024-07-31")
    );
    assert_eq!(
        seen.one("anthropic-workspace-id").as_deref(),
        Some("wrkspc_test")
    );
    assert_eq!(seen.one("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(seen.one("user-agent").as_deref(), Some(USER_AGENT));
    assert_eq!(seen.one("x-app"), None);
    assert!(seen.json().get("system").is_none());
}

#[tokio::test]
async fn plain_bearer_token_sends_authorization_only() {
    let up = ok_upstream().await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_AUTH_TOKEN", "gateway-token-123");

    client(env).create_message(&request()).await.unwrap();

    let seen = &up.requests("/v1/messages")[0];
    assert_eq!(
        seen.one("authorization").as_deref(),
        Some("Bearer gateway-token-123")
    );
    assert_eq!(seen.one("x-api-key"), None);
    assert_eq!(seen.one("anthropic-beta"), None);
    assert_eq!(seen.one("anthropic-workspace-id"), None);
    assert_eq!(seen.one("anthropic-version").as_deref(), Some("2023-06-01"));
}

#[tokio::test]
async fn the_builder_base_url_beats_the_environment() {
    let up = ok_upstream().await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), "http://127.0.0.1:9").with("ANTHROPIC_API_KEY", API_KEY);

    let client = builder(env)
        .base_url(format!("{}/", up.url))
        .build()
        .unwrap();
    client.create_message(&request()).await.unwrap();

    assert_eq!(client.base_url(), up.url);
    assert_eq!(up.requests("/v1/messages").len(), 1);
}

#[tokio::test]
async fn no_credential_is_an_auth_error_and_sends_nothing() {
    let up = ok_upstream().await;
    let home = tempfile::tempdir().unwrap();

    let err = client(env_in(home.path(), &up.url))
        .create_message(&request())
        .await
        .unwrap_err();

    assert!(matches!(err, ClientError::Auth(_)), "{err:?}");
    assert!(err.login_required());
    assert!(up.requests("/v1/messages").is_empty());
}

// ---------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------

#[tokio::test]
async fn overloaded_529_is_retried_after_retry_after_ms() {
    let up = Upstream::start(|_, nth| {
        if nth < 2 {
            reply_with(
                529,
                &[("retry-after-ms", "60")],
                api_error_body("overloaded_error", "Overloaded"),
            )
        } else {
            reply(200, message_body("finally"))
        }
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let started = Instant::now();
    let answer = client(env).create_message(&request()).await.unwrap();

    assert_eq!(answer.text(), "finally");
    assert_eq!(up.requests("/v1/messages").len(), 3);
    assert_eq!(answer.meta.attempts, 3);
    // The backoff is 1–4 ms: only retry-after-ms explains two 60 ms waits.
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn rate_limited_429_is_retried_up_to_max_retries_then_surfaces_typed() {
    let up = Upstream::start(|_, _| {
        reply_with(
            429,
            &[("retry-after-ms", "5"), ("request-id", "req_429")],
            api_error_body(
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
            ),
        )
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let err = builder(env)
        .max_retries(3)
        .build()
        .unwrap()
        .create_message(&request())
        .await
        .unwrap_err();

    assert_eq!(up.requests("/v1/messages").len(), 4);
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 429);
    assert_eq!(api.error_type.as_deref(), Some("rate_limit_error"));
    assert_eq!(api.request_id.as_deref(), Some("req_429"));
    assert_eq!(api.retry_after, Some(Duration::from_millis(5)));
    assert_eq!(api.attempts, 4);
}

#[tokio::test]
async fn default_max_retries_is_two() {
    let up = Upstream::start(|_, _| reply(503, api_error_body("api_error", "busy"))).await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let err = client(env).create_message(&request()).await.unwrap_err();

    assert_eq!(err.status(), Some(503));
    assert_eq!(up.requests("/v1/messages").len(), 3);
}

#[tokio::test]
async fn bad_request_400_is_not_retried_and_carries_type_message_and_request_id() {
    let up = Upstream::start(|_, _| {
        reply_with(
            400,
            &[("request-id", "req_011CabcDEF")],
            api_error_body("invalid_request_error", "max_tokens: Field required"),
        )
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let err = client(env).create_message(&request()).await.unwrap_err();

    assert_eq!(up.requests("/v1/messages").len(), 1);
    let ClientError::Api(api) = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.error_type.as_deref(), Some("invalid_request_error"));
    assert_eq!(api.message, "max_tokens: Field required");
    assert_eq!(err.request_id(), Some("req_011CabcDEF"));
    assert_eq!(
        err.to_string(),
        format!(
            "{}/v1/messages answered HTTP 400 invalid_request_error: max_tokens: Field required (request-id req_011CabcDEF)",
            up.url
        )
    );
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &url).with("ANTHROPIC_API_KEY", API_KEY);

    let err = client(env).create_message(&request()).await.unwrap_err();

    match err {
        ClientError::Connection {
            attempts, url: u, ..
        } => {
            assert_eq!(attempts, 3);
            assert_eq!(u, format!("{url}/v1/messages"));
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let up = Upstream::start(|_, _| {
        Reply::Later(
            Duration::from_millis(500),
            Box::new(reply(200, message_body("late"))),
        )
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let err = builder(env)
        .max_retries(0)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .create_message(&request())
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::Timeout { attempts: 1, .. }),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// 401 recovery
// ---------------------------------------------------------------------------

fn token_response() -> Reply {
    reply(
        200,
        json!({
            "access_token": NEW_ACCESS,
            "refresh_token": "sk-ant-ort01-new-refresh-11111111",
            "expires_in": 28800,
            "token_type": "Bearer"
        }),
    )
}

#[tokio::test]
async fn oauth_401_forces_one_refresh_and_retries_once_with_the_new_token() {
    let up = Upstream::start(|seen, nth| match seen.path.as_str() {
        "/v1/oauth/token" => token_response(),
        _ if nth == 0 => reply(
            401,
            api_error_body("authentication_error", "invalid bearer token"),
        ),
        _ => reply(200, message_body("after refresh")),
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_PROFILE", "work");
    write_oauth_profile(&env, "work");

    let answer = client(env.clone())
        .create_message(&request())
        .await
        .unwrap();

    assert_eq!(answer.text(), "after refresh");
    let refreshes = up.requests("/v1/oauth/token");
    assert_eq!(refreshes.len(), 1);
    assert_eq!(
        refreshes[0].json()["refresh_token"],
        "sk-ant-ort01-old-refresh-00000000"
    );
    let messages = up.requests("/v1/messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0].one("authorization"),
        Some(format!("Bearer {OLD_ACCESS}"))
    );
    assert_eq!(
        messages[1].one("authorization"),
        Some(format!("Bearer {NEW_ACCESS}"))
    );
    // The rotated tokens were persisted before use.
    let stored = Resolver::with_settings(env, Settings::default())
        .load_profile("work")
        .unwrap()
        .unwrap();
    assert_eq!(stored.credential.unwrap().secret().expose(), NEW_ACCESS);
}

#[tokio::test]
async fn oauth_401_after_the_refresh_is_returned_without_another_refresh() {
    let up = Upstream::start(|seen, _| match seen.path.as_str() {
        "/v1/oauth/token" => token_response(),
        _ => reply(
            401,
            api_error_body("authentication_error", "invalid bearer token"),
        ),
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_PROFILE", "work");
    write_oauth_profile(&env, "work");

    let err = client(env).create_message(&request()).await.unwrap_err();

    assert_eq!(err.status(), Some(401));
    assert_eq!(
        err.api().unwrap().error_type.as_deref(),
        Some("authentication_error")
    );
    assert_eq!(up.requests("/v1/oauth/token").len(), 1);
    assert_eq!(up.requests("/v1/messages").len(), 2);
}

#[tokio::test]
async fn api_key_401_is_a_typed_error_without_retry() {
    let up = Upstream::start(|_, _| {
        reply_with(
            401,
            &[("request-id", "req_401")],
            api_error_body("authentication_error", "invalid x-api-key"),
        )
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let err = client(env).create_message(&request()).await.unwrap_err();

    assert_eq!(up.requests("/v1/messages").len(), 1);
    assert!(up.requests("/v1/oauth/token").is_empty());
    let api = err.api().expect("an API error");
    assert_eq!(
        (
            api.status,
            api.error_type.as_deref(),
            api.request_id.as_deref()
        ),
        (401, Some("authentication_error"), Some("req_401"))
    );
    assert!(!err.to_string().contains(API_KEY));
}

// ---------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------

fn sse(event: &str, data: Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

fn stream_script() -> Vec<String> {
    vec![
        sse(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant", "model": "claude-test", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 7, "output_tokens": 1}}}),
        ),
        sse("ping", json!({"type": "ping"})),
        sse(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ),
        sse(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me see."}}),
        ),
        sse(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "c2ln"}}),
        ),
        sse(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        sse(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ),
        sse(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hello"}}),
        ),
        sse(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": ", wörld"}}),
        ),
        sse(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        sse(
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}}),
        ),
        sse(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"q\": "}}),
        ),
        sse(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"rust\"}"}}),
        ),
        sse(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 2}),
        ),
        sse(
            "brand_new_event",
            json!({"type": "brand_new_event", "x": 1}),
        ),
        sse(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 42}}),
        ),
        sse("message_stop", json!({"type": "message_stop"})),
    ]
}

/// Short names for the event sequence.
fn label(event: &StreamEvent) -> String {
    match event {
        StreamEvent::MessageStart { .. } => "message_start".into(),
        StreamEvent::ContentBlockStart {
            index,
            content_block,
        } => format!("start {index} {}", content_block.kind()),
        StreamEvent::ContentBlockDelta { index, delta } => match delta {
            Delta::Text(t) => format!("delta {index} text {t}"),
            Delta::InputJson(j) => format!("delta {index} json {j}"),
            Delta::Thinking(t) => format!("delta {index} thinking {t}"),
            Delta::Signature(s) => format!("delta {index} signature {s}"),
            other => format!("delta {index} {other:?}"),
        },
        StreamEvent::ContentBlockStop { index } => format!("stop {index}"),
        StreamEvent::MessageDelta { delta, usage } => format!(
            "message_delta {} {}",
            delta.stop_reason.as_deref().unwrap_or("-"),
            usage.as_ref().and_then(|u| u.output_tokens).unwrap_or(0)
        ),
        StreamEvent::MessageStop => "message_stop".into(),
        StreamEvent::Ping => "ping".into(),
        StreamEvent::Error { error } => format!("error {}", error.kind),
        StreamEvent::Unknown { event, .. } => format!("unknown {event}"),
    }
}

#[tokio::test]
async fn stream_events_arrive_typed_in_order_before_the_body_ends() {
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    let rx = Mutex::new(Some(rx));
    let up = Upstream::start(move |_, _| Reply::Stream {
        headers: vec![
            ("request-id", "req_stream".into()),
            ("anthropic-ratelimit-unified-status", "allowed".into()),
        ],
        chunks: rx.lock().unwrap().take().expect("one stream"),
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    // The upstream sends the body slowly, in pieces that split lines and a
    // multi-byte character, and holds the last piece until the test has seen
    // the first event.
    let body = stream_script().concat().into_bytes();
    let (last, rest) = {
        let cut = body.len() - 20;
        (body[cut..].to_vec(), body[..cut].to_vec())
    };
    let (first_seen_tx, first_seen_rx) = oneshot::channel::<()>();
    let last_sent = Arc::new(AtomicBool::new(false));
    let last_sent_by_sender = Arc::clone(&last_sent);
    let sender = tokio::spawn(async move {
        for piece in rest.chunks(37) {
            tx.send(Bytes::copy_from_slice(piece)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        first_seen_rx.await.unwrap();
        last_sent_by_sender.store(true, Ordering::SeqCst);
        tx.send(Bytes::from(last)).await.unwrap();
    });

    let mut stream = client(env)
        .stream_message(&request().extra(
            "thinking",
            json!({"type": "enabled", "budget_tokens": 1024}),
        ))
        .await
        .unwrap();
    assert_eq!(stream.request_id(), Some("req_stream"));
    assert_eq!(stream.meta().rate_limits.status.as_deref(), Some("allowed"));

    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the first event arrives while the body is still open")
        .unwrap()
        .unwrap();
    assert!(!last_sent.load(Ordering::SeqCst));
    assert!(matches!(&first, StreamEvent::MessageStart { message } if message.id == "msg_s"));
    first_seen_tx.send(()).unwrap();

    let mut events = vec![first];
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
    {
        events.push(event.unwrap());
    }
    sender.await.unwrap();

    let labels: Vec<String> = events.iter().map(label).collect();
    assert_eq!(
        labels,
        [
            "message_start",
            "ping",
            "start 0 thinking",
            "delta 0 thinking Let me see.",
            "delta 0 signature c2ln",
            "stop 0",
            "start 1 text",
            "delta 1 text Hello",
            "delta 1 text , wörld",
            "stop 1",
            "start 2 tool_use",
            "delta 2 json {\"q\": ",
            "delta 2 json \"rust\"}",
            "stop 2",
            "unknown brand_new_event",
            "message_delta tool_use 42",
            "message_stop",
        ]
    );
    let StreamEvent::Unknown { data, .. } = &events[14] else {
        unreachable!()
    };
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap(),
        json!({"type": "brand_new_event", "x": 1})
    );

    let mut acc = MessageAccumulator::new();
    for e in &events {
        acc.push(e);
    }
    let message = acc.into_message().unwrap();
    assert_eq!(message.text(), "Hello, wörld");
    assert!(
        matches!(&message.content[2], ContentBlock::ToolUse(t) if t.input == json!({"q": "rust"}))
    );
    assert_eq!(message.usage.output_tokens, 42);

    let seen = &up.requests("/v1/messages")[0];
    assert_eq!(seen.json()["stream"], true);
    assert_eq!(seen.one("accept").as_deref(), Some("text/event-stream"));
}

#[tokio::test]
async fn an_error_event_mid_stream_fails_final_message_with_the_request_id() {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let rx = Mutex::new(Some(rx));
    let up = Upstream::start(move |_, _| Reply::Stream {
        headers: vec![("request-id", "req_midstream".into())],
        chunks: rx.lock().unwrap().take().expect("one stream"),
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);
    let script = stream_script();
    tx.send(Bytes::from(script[0].clone())).await.unwrap();
    tx.send(Bytes::from(sse(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )))
    .await
    .unwrap();
    drop(tx);

    let stream = client(env).stream_message(&request()).await.unwrap();
    let err = stream.final_message().await.unwrap_err();

    let ClientError::StreamError(api) = &err else {
        panic!("expected a stream error, got {err:?}")
    };
    assert_eq!(api.error_type.as_deref(), Some("overloaded_error"));
    assert_eq!(api.message, "Overloaded");
    assert_eq!(err.request_id(), Some("req_midstream"));
}

#[tokio::test]
async fn a_silent_stream_ends_with_a_timeout() {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let rx = Mutex::new(Some(rx));
    let up = Upstream::start(move |_, _| Reply::Stream {
        headers: Vec::new(),
        chunks: rx.lock().unwrap().take().expect("one stream"),
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);
    tx.send(Bytes::from(stream_script()[0].clone()))
        .await
        .unwrap();

    let mut stream = builder(env)
        .stream_idle_timeout(Duration::from_millis(150))
        .build()
        .unwrap()
        .stream_message(&request())
        .await
        .unwrap();

    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::MessageStart { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Err(ClientError::Timeout { .. }))
    ));
    assert!(stream.next().await.is_none());
    drop(tx);
}

#[tokio::test]
async fn a_stream_is_retried_like_any_request_until_its_headers_arrive() {
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    let rx = Mutex::new(Some(rx));
    let up = Upstream::start(move |_, nth| {
        if nth == 0 {
            return reply_with(
                529,
                &[("retry-after-ms", "1")],
                api_error_body("overloaded_error", "Overloaded"),
            );
        }
        Reply::Stream {
            headers: Vec::new(),
            chunks: rx.lock().unwrap().take().expect("one stream"),
        }
    })
    .await;
    for part in stream_script() {
        tx.send(Bytes::from(part)).await.unwrap();
    }
    drop(tx);
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let stream = client(env).stream_message(&request()).await.unwrap();
    assert_eq!(stream.meta().attempts, 2);
    let message = stream.final_message().await.unwrap();

    assert_eq!(message.text(), "Hello, wörld");
    assert_eq!(message.stop_reason.as_deref(), Some("tool_use"));
}

// ---------------------------------------------------------------------------
// Models, rate limits, types
// ---------------------------------------------------------------------------

#[tokio::test]
async fn models_are_listed_with_paging() {
    let up = Upstream::start(|_, _| {
        reply(
            200,
            json!({
                "data": [
                    {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"},
                    {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5", "created_at": "2025-10-01T00:00:00Z"}
                ],
                "has_more": true, "first_id": "claude-sonnet-4-5", "last_id": "claude-haiku-4-5"
            }),
        )
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let page = client(env)
        .list_models(&ListModels {
            limit: Some(2),
            after_id: Some("claude-opus-4-1".into()),
            ..ListModels::default()
        })
        .await
        .unwrap();

    let ids: Vec<&str> = page.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["claude-sonnet-4-5", "claude-haiku-4-5"]);
    assert_eq!(
        page.data[0].display_name.as_deref(),
        Some("Claude Sonnet 4.5")
    );
    assert_eq!(page.data[0].extra["type"], "model");
    assert!(page.has_more);
    assert_eq!(page.last_id.as_deref(), Some("claude-haiku-4-5"));
    let seen = &up.requests("/v1/models")[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(
        seen.query.as_deref(),
        Some("limit=2&after_id=claude-opus-4-1")
    );
    assert_eq!(seen.one("x-api-key").as_deref(), Some(API_KEY));
    assert_eq!(seen.one("content-type"), None);
}

#[tokio::test]
async fn unified_rate_limit_headers_are_exposed_on_responses() {
    let up = Upstream::start(|_, _| {
        reply_with(
            200,
            &[
                ("request-id", "req_rl"),
                ("anthropic-ratelimit-unified-status", "allowed_warning"),
                ("anthropic-ratelimit-unified-reset", "1775000000"),
                ("anthropic-ratelimit-unified-5h-utilization", "0.91"),
                ("anthropic-ratelimit-unified-5h-reset", "1775000000"),
                ("anthropic-ratelimit-unified-7d-utilization", "0.4"),
                ("anthropic-ratelimit-unified-7d-reset", "1775500000"),
                (
                    "anthropic-ratelimit-unified-representative-claim",
                    "five_hour",
                ),
                ("anthropic-ratelimit-unified-overage-status", "rejected"),
            ],
            message_body("ok"),
        )
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let answer = client(env).create_message(&request()).await.unwrap();

    let limits = &answer.meta.rate_limits;
    assert_eq!(answer.meta.request_id.as_deref(), Some("req_rl"));
    assert_eq!(limits.status.as_deref(), Some("allowed_warning"));
    assert_eq!(limits.reset, Some(1_775_000_000));
    assert_eq!(limits.five_hour_utilization, Some(0.91));
    assert_eq!(limits.five_hour_reset, Some(1_775_000_000));
    assert_eq!(limits.seven_day_utilization, Some(0.4));
    assert_eq!(limits.seven_day_reset, Some(1_775_500_000));
    assert_eq!(limits.representative_claim.as_deref(), Some("five_hour"));
    assert_eq!(limits.overage_status.as_deref(), Some("rejected"));
    assert_eq!(limits.headers.len(), 8);
}

#[tokio::test]
async fn responses_keep_unknown_fields() {
    let up = Upstream::start(|_, _| {
        let mut body = message_body("x");
        body["container"] = json!({"id": "cntr_1"});
        body["content"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "web_search_tool_result", "tool_use_id": "s1", "content": []}));
        reply(200, body)
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = env_in(home.path(), &up.url).with("ANTHROPIC_API_KEY", API_KEY);

    let answer = client(env).create_message(&request()).await.unwrap();

    assert_eq!(answer.extra["container"], json!({"id": "cntr_1"}));
    assert_eq!(answer.content[1].kind(), "web_search_tool_result");
    assert!(matches!(&answer.content[1], ContentBlock::Unknown(v) if v["tool_use_id"] == "s1"));
}

#[test]
fn the_client_is_clone_send_sync_and_streams_are_send() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    fn assert_send<T: Send + 'static>() {}
    assert_traits::<Client>();
    assert_send::<claude_auth::client::MessageStream>();
    assert_send::<ClientError>();
}
