//! The stand-in's OpenAI side, in OpenAI's shapes: `POST /v1/chat/completions`
//! (API keys; a JSON completion, or with `"stream": true` chunks as SSE
//! ending in `data: [DONE]`) and `POST /backend-api/codex/responses` (ChatGPT
//! logins, the Responses API; refused without `ChatGPT-Account-Id`).
//! Streamed events are [`super::EVENT_GAP`] apart.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::{json_response, Body, Recorded, EVENT_GAP, STREAM_DELTAS, TEXT};

/// The path prefix a ChatGPT login's requests go to.
pub const CODEX_PREFIX: &str = "/backend-api/codex";

/// The body of OpenAI's 401.
pub const AUTH_ERROR: &str = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;

/// The rate-limit headers OpenAI sends with an API key's answer (PROTOCOL.md).
pub const RATE_LIMIT_HEADERS: [(&str, &str); 6] = [
    ("x-ratelimit-limit-requests", "500"),
    ("x-ratelimit-remaining-requests", "499"),
    ("x-ratelimit-reset-requests", "120ms"),
    ("x-ratelimit-limit-tokens", "30000"),
    ("x-ratelimit-remaining-tokens", "29000"),
    ("x-ratelimit-reset-tokens", "6m0s"),
];

/// Whether `path` is one of the OpenAI routes (their errors are in OpenAI's shape).
pub fn is_openai(path: &str) -> bool {
    path.starts_with("/v1/chat/") || path.starts_with(CODEX_PREFIX)
}

fn sse(events: Vec<String>) -> Response<Body> {
    let chunks: Vec<Bytes> = events.into_iter().map(Bytes::from).collect();
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
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}

/// `POST /v1/chat/completions`.
pub fn chat_completion(recorded: &Recorded) -> Response<Body> {
    let request: Value = serde_json::from_str(&recorded.body).unwrap_or(Value::Null);
    let model = request["model"].as_str().unwrap_or("gpt-test-1").to_owned();
    if request["stream"] != json!(true) {
        let completion = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT},
                         "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        });
        let mut response = json_response(StatusCode::OK, completion.to_string());
        for (name, value) in RATE_LIMIT_HEADERS {
            response
                .headers_mut()
                .insert(name, hyper::header::HeaderValue::from_static(value));
        }
        return response;
    }
    let chunk = |delta: Value, finish: Value| {
        let c = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        });
        format!("data: {c}\n\n")
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for text in STREAM_DELTAS {
        events.push(chunk(json!({"content": text}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    events.push("data: [DONE]\n\n".to_owned());
    sse(events)
}

/// `POST /backend-api/codex/responses`: refused (400) without
/// `ChatGPT-Account-Id`.
pub fn responses(recorded: &Recorded) -> Response<Body> {
    if recorded.all("chatgpt-account-id").is_empty() {
        let error = json!({"error": {"message": "missing ChatGPT-Account-Id",
                                     "type": "invalid_request_error"}});
        return json_response(StatusCode::BAD_REQUEST, error.to_string());
    }
    let request: Value = serde_json::from_str(&recorded.body).unwrap_or(Value::Null);
    let model = request["model"].as_str().unwrap_or("gpt-test-1").to_owned();
    let response = |status: &str, text: &str| {
        json!({
            "id": "resp_1", "object": "response", "created_at": 1_700_000_000,
            "model": model, "status": status,
            "output": [{"type": "message", "id": "msg_1", "status": status, "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
        })
    };
    if request["stream"] != json!(true) {
        return json_response(StatusCode::OK, response("completed", TEXT).to_string());
    }
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![event(
        "response.created",
        json!({"type": "response.created", "response": response("in_progress", "")}),
    )];
    for text in STREAM_DELTAS {
        events.push(event(
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "item_id": "msg_1",
                   "output_index": 0, "content_index": 0, "delta": text}),
        ));
    }
    events.push(event(
        "response.completed",
        json!({"type": "response.completed",
               "response": response("completed", &STREAM_DELTAS.concat())}),
    ));
    sse(events)
}
