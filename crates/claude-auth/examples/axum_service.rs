//! A small web service: a health check built on `claude-auth status`, and an
//! endpoint that asks Claude.
//!
//! ```sh
//! cargo run -p claude-auth --example axum_service -- 127.0.0.1:3000
//! curl -s localhost:3000/health        # 200 with the status JSON, 503 when no credential
//! curl -s localhost:3000/ask -H 'content-type: application/json' -d '{"prompt":"Say hi"}'
//! ```
//!
//! `/health` resolves afresh on every call (files only, no network), so it
//! turns 503 the moment the login is gone and 200 again after
//! `claude-auth login`. It shows masked credentials and local paths: keep
//! the service on loopback or behind your own authentication.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use claude_auth::client::{Client, ClientBuilder, ClientError, MessageRequest, DEFAULT_MODEL};
use claude_auth::{Env, ManagerOptions, ResolveOptions, Resolver, StatusReport};

#[derive(Clone)]
struct AppState {
    client: Client,
    resolver: Resolver,
}

#[derive(Deserialize)]
struct Ask {
    prompt: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    system: Option<String>,
}

async fn health(State(state): State<AppState>) -> Response {
    let resolver = state.resolver.clone();
    let report = tokio::task::spawn_blocking(move || {
        StatusReport::from_resolution(&resolver.resolve(&ResolveOptions::default()))
    })
    .await;
    match report {
        Ok(report) => {
            let code = if report.ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, Json(report)).into_response()
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": format!("status check failed: {e}")})),
        )
            .into_response(),
    }
}

async fn ask(State(state): State<AppState>, Json(ask): Json<Ask>) -> Response {
    let mut request = MessageRequest::new(
        ask.model.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        ask.max_tokens.unwrap_or(1024),
    )
    .user(ask.prompt);
    if let Some(system) = ask.system {
        request = request.system(system);
    }
    match state.client.create_message(&request).await {
        Ok(answer) => Json(json!({
            "text": answer.text(),
            "model": answer.model,
            "stopReason": answer.stop_reason,
            "usage": answer.usage,
            "requestId": answer.meta.request_id,
            "rateLimits": answer.meta.rate_limits,
        }))
        .into_response(),
        Err(e) => {
            let code = match &e {
                ClientError::Auth(_) => StatusCode::SERVICE_UNAVAILABLE,
                ClientError::Api(api) if api.status == 429 => StatusCode::TOO_MANY_REQUESTS,
                ClientError::Api(api) if api.status == 400 => StatusCode::BAD_REQUEST,
                ClientError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
            (
                code,
                Json(json!({"error": e.to_string(), "requestId": e.request_id()})),
            )
                .into_response()
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()?;
    let resolver = Resolver::new(Env::from_process())?;
    let client =
        ClientBuilder::from_resolver(resolver.clone(), ManagerOptions::default())?.build()?;
    let app = Router::new()
        .route("/health", get(health))
        .route("/ask", post(ask))
        .with_state(AppState { client, resolver });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
