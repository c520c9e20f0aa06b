//! A loopback stand-in for the Anthropic Messages API, for proxy and exec
//! tests: hyper 1 on its own thread and tokio runtime.
//!
//! - records every request (method, path, headers, body);
//! - answers `401 authentication_error` to a request without a credential or
//!   with one in the reject-set ([`Upstream::reject`]);
//! - as the real API does, answers an OAuth access token (`Authorization:
//!   Bearer sk-ant-oat…`) sent without the `oauth-2025-04-20` beta with
//!   exactly the real 401 ([`OAUTH_UNSUPPORTED`]);
//! - answers every request with a set status and body while one is set
//!   ([`Upstream::fail_with`]), or only a given credential's requests, with
//!   headers too ([`Upstream::answer_for`]: a rate limit, say);
//! - `POST /v1/messages`: a JSON message, or with `"stream": true` the real
//!   SSE event sequence with [`EVENT_GAP`] between events;
//! - `GET /v1/models`: a one-model list;
//! - OpenAI's `POST /v1/chat/completions` and the Codex backend's
//!   `POST /backend-api/codex/responses` ([`openai`]); anything else 404.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod openai;

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// The pause between two SSE events.
pub const EVENT_GAP: Duration = Duration::from_millis(150);

/// The text deltas of a streamed answer, in order.
pub const STREAM_DELTAS: [&str; 4] = ["Hel", "lo", " wor", "ld"];

/// The text of a non-streamed answer.
pub const TEXT: &str = "hello";

/// The model `GET /v1/models` lists.
pub const MODEL: &str = "claude-test-1";

/// The body of a 401.
pub const AUTH_ERROR: &str =
    r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;

/// The body of the real API's 401 for an OAuth token sent without the
/// `oauth-2025-04-20` beta (`request_id` as this stand-in's `request-id`).
pub const OAUTH_UNSUPPORTED: &str = r#"{"type":"error","error":{"type":"authentication_error","message":"OAuth authentication is currently not supported."},"request_id":"req_upstream_test"}"#;

/// The beta OAuth access tokens need.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";

/// The body of a 529.
pub const OVERLOADED: &str =
    r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;

/// One request as the upstream received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Every header line, lower-case names, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of header `name`, which must occur at most once.
    #[track_caller]
    pub fn one(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "{name} sent {} times: {all:?}", all.len());
        all.first().copied()
    }

    /// Whether `anthropic-beta` lists `flag` (comma-separated, any header line).
    pub fn has_beta(&self, flag: &str) -> bool {
        self.all("anthropic-beta")
            .iter()
            .flat_map(|v| v.split(','))
            .any(|f| f.trim() == flag)
    }

    /// The credential presented: `x-api-key`, else the Bearer token.
    pub fn credential(&self) -> Option<String> {
        if let Some(k) = self.all("x-api-key").first() {
            return Some((*k).to_owned());
        }
        self.all("authorization")
            .first()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    reject: Mutex<HashSet<String>>,
    fail: Mutex<Option<(u16, String)>>,
    answers: Mutex<HashMap<String, Answer>>,
}

/// A set answer: status, headers, body.
type Answer = (u16, Vec<(String, String)>, String);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running upstream; stopped on drop.
pub struct Upstream {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Upstream {
    /// Listen on an OS-assigned loopback port.
    pub fn start() -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(listener, shared, rx));
        });
        Upstream {
            url,
            state,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// `host:port`.
    pub fn hostport(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// Answer 401 to `credential` from now on.
    pub fn reject(&self, credential: &str) {
        lock(&self.state.reject).insert(credential.to_owned());
    }

    /// Answer every request with `status` and `body` from now on (`None`:
    /// answer normally again).
    pub fn fail_with(&self, failure: Option<(u16, &str)>) {
        *lock(&self.state.fail) = failure.map(|(s, b)| (s, b.to_owned()));
    }

    /// Answer requests presenting `credential` with `status`, `headers` and
    /// `body` from now on.
    pub fn answer_for(&self, credential: &str, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        lock(&self.state.answers).insert(credential.to_owned(), (status, headers, body.to_owned()));
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    /// The credential of every request so far, in arrival order.
    pub fn credentials(&self) -> Vec<Option<String>> {
        self.requests().iter().map(Recorded::credential).collect()
    }

    /// Forget the recorded requests.
    pub fn clear(&self) {
        lock(&self.state.requests).clear();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    // Dropping the runtime (when this returns) cancels open connections.
}

type Body = BoxBody<Bytes, Infallible>;

fn json_response(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("request-id", "req_upstream_test")
        .body(Full::new(Bytes::from(body)).boxed())
        .unwrap()
}

fn usage(output_tokens: u64) -> Value {
    json!({
        "input_tokens": 5,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    })
}

fn sse(model: &str) -> Response<Body> {
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(1)}}),
    )];
    events.push((
        "content_block_start",
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}),
    ));
    for text in STREAM_DELTAS {
        events.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": text}}),
        ));
    }
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push((
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": STREAM_DELTAS.len()}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    let chunks: Vec<Bytes> = events
        .into_iter()
        .map(|(name, data)| Bytes::from(format!("event: {name}\ndata: {data}\n\n")))
        .collect();
    let stream = futures_util::stream::unfold((0usize, chunks), |(i, chunks)| async move {
        let chunk = chunks.get(i)?.clone();
        if i > 0 {
            tokio::time::sleep(EVENT_GAP).await;
        }
        Some((Ok::<_, Infallible>(Frame::data(chunk)), (i + 1, chunks)))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    let credential = recorded.credential();
    lock(&state.requests).push(recorded.clone());
    let rejected = match &credential {
        None => true,
        Some(c) => lock(&state.reject).contains(c),
    };
    if rejected {
        let body = if openai::is_openai(&recorded.path) {
            openai::AUTH_ERROR
        } else {
            AUTH_ERROR
        };
        return json_response(StatusCode::UNAUTHORIZED, body.to_owned());
    }
    let oauth_bearer = recorded
        .all("authorization")
        .first()
        .is_some_and(|v| v.starts_with("Bearer sk-ant-oat"));
    if oauth_bearer && !recorded.has_beta(OAUTH_BETA) {
        return json_response(StatusCode::UNAUTHORIZED, OAUTH_UNSUPPORTED.to_owned());
    }
    let answer = credential
        .as_ref()
        .and_then(|c| lock(&state.answers).get(c).cloned());
    if let Some((status, headers, body)) = answer {
        let mut response = json_response(StatusCode::from_u16(status).unwrap(), body);
        for (k, v) in headers {
            response.headers_mut().insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                hyper::header::HeaderValue::from_str(&v).unwrap(),
            );
        }
        return response;
    }
    if let Some((status, body)) = lock(&state.fail).clone() {
        return json_response(StatusCode::from_u16(status).unwrap(), body);
    }
    match (recorded.method.as_str(), recorded.path.as_str()) {
        ("POST", "/v1/messages") => {
            let request: Value = serde_json::from_str(&recorded.body).unwrap_or(Value::Null);
            let model = request["model"].as_str().unwrap_or(MODEL).to_owned();
            if request["stream"] == json!(true) {
                sse(&model)
            } else {
                let message = json!({
                    "id": "msg_1", "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": TEXT}],
                    "stop_reason": "end_turn", "stop_sequence": null, "usage": usage(1),
                });
                json_response(StatusCode::OK, message.to_string())
            }
        }
        ("POST", "/v1/chat/completions") => openai::chat_completion(&recorded),
        ("POST", p) if p == format!("{}/responses", openai::CODEX_PREFIX) => {
            openai::responses(&recorded)
        }
        ("GET", "/v1/models") => {
            let models = json!({
                "data": [{"type": "model", "id": MODEL, "display_name": "Claude Test",
                          "created_at": "2025-01-01T00:00:00Z"}],
                "has_more": false, "first_id": MODEL, "last_id": MODEL,
            });
            json_response(StatusCode::OK, models.to_string())
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "not found"}})
                .to_string(),
        ),
    }
}
