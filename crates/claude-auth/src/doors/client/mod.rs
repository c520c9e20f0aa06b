//! A Messages API client on top of [`AuthManager`].
//!
//! Every request carries a credential the manager vouches for, with exactly
//! the headers its kind calls for and nothing that imitates another tool:
//!
//! | credential | headers |
//! |---|---|
//! | API key | `x-api-key` |
//! | OAuth token | `Authorization: Bearer`, `anthropic-beta: oauth-2025-04-20` (merged with the caller's betas), `anthropic-workspace-id` when the login has one |
//! | bearer token (gateways) | `Authorization: Bearer` |
//!
//! plus `anthropic-version: 2023-06-01` and this crate's own User-Agent —
//! never `x-app`, a Claude Code identity prompt, or billing/attestation
//! headers.
//!
//! Failures are retried with exponential backoff and jitter (408, 409, 429,
//! 5xx, 529 and connection errors; `retry-after-ms` / `retry-after` are
//! honoured up to a minute; two retries by default). A 401 triggers exactly
//! one [`AuthManager::force_refresh`] with the rejected token and, when that
//! yields a different token, one more try. With failover on (`[selection]
//! fallback`, [`ClientBuilder::failover`]) a request an entry rejects goes
//! to the next Anthropic entry, and every switch is announced (`failover`).
//! Streams are decoded into typed
//! [`StreamEvent`]s as the bytes arrive ([`MessageStream`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), claude_auth::client::ClientError> {
//! use claude_auth::client::{Client, MessageRequest, DEFAULT_MODEL};
//! use futures_util::StreamExt;
//!
//! // The credential, base URL and workspace the environment selects.
//! let client = Client::from_env()?;
//!
//! let answer = client
//!     .create_message(&MessageRequest::new(DEFAULT_MODEL, 256).user("Say hi"))
//!     .await?;
//! println!("{}", answer.text());
//!
//! let mut stream = client
//!     .stream_message(&MessageRequest::new(DEFAULT_MODEL, 256).user("Count to 3"))
//!     .await?;
//! while let Some(event) = stream.next().await {
//!     if let Some(text) = event?.text_delta() {
//!         print!("{text}");
//!     }
//! }
//! # Ok(()) }
//! ```

mod builder;
pub mod error;
mod events;
mod failover;
mod meta;
mod models;
pub mod sse;
mod stream;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::env::Env;
use crate::credential::{Credential, Provider};
use crate::doors::wire;
use crate::engine::manager::{AuthManager, ManagerOptions};
use crate::oauth::token_client::sanitize;
use crate::source::{ResolveOptions, Resolver};
use crate::usage::tap::UsageTap;
use crate::usage::writer::UsageSink;

pub use builder::ClientBuilder;
pub use error::{ApiError, ClientError};
pub use failover::FailoverCallback;
pub use meta::{RateLimits, Response, ResponseMeta};
pub use stream::MessageStream;
pub use types::{
    ContentBlock, Delta, ErrorBody, InputMessage, ListModels, Message, MessageAccumulator,
    MessageContent, MessageDeltaBody, MessageRequest, Metadata, ModelInfo, ModelPage,
    RedactedThinkingBlock, Role, StreamEvent, SystemPrompt, TextBlock, ThinkingBlock, ToolUseBlock,
    Usage, UsageDelta,
};

/// The `anthropic-version` header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The beta that OAuth access tokens need on the Messages API.
pub use crate::doors::wire::OAUTH_BETA;
/// The model the examples and `claude-auth chat` use unless told otherwise.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
/// Retries after the first attempt, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Longest wait for a whole non-streamed response (and for a stream's headers).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait for a TCP + TLS connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence inside a stream (the API pings every few seconds).
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Error bodies are read up to this size; the rest is dropped.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whether a status is retried: 408, 409, 429 and every 5xx (529 included).
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..600).contains(&status)
}

/// The base URL for the credential `options` selects: the winning source's
/// (a profile's `base_url`, else `ANTHROPIC_BASE_URL`), else the resolver
/// environment's `ANTHROPIC_BASE_URL`, else [`DEFAULT_BASE_URL`](crate::config::provider::DEFAULT_BASE_URL). Reads
/// files, never the network.
pub fn resolve_base_url(resolver: &Resolver, options: &ResolveOptions) -> String {
    let resolution = resolver.resolve(options);
    crate::source::base_url_for(resolution.winning(), resolver.env(), resolver.settings())
}

struct Inner {
    /// One pool of connections for every request.
    http: reqwest::Client,
    manager: AuthManager,
    base_url: String,
    max_retries: u32,
    timeout: Duration,
    stream_idle_timeout: Duration,
    backoff_base: Duration,
    backoff_max: Duration,
    max_retry_after: Duration,
    betas: Vec<String>,
    usage: Option<UsageSink>,
    failover: Option<failover::ClientFailover>,
}

/// The Messages API client: cheap to clone (one shared connection pool and
/// [`AuthManager`]), `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("max_retries", &self.inner.max_retries)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// One API call, replayable across retries.
struct Call<'a> {
    method: Method,
    path: &'static str,
    query: Vec<(&'static str, String)>,
    body: Option<Bytes>,
    betas: &'a [String],
    stream: bool,
}

/// Why sending failed before any status arrived.
enum Transport {
    Http(reqwest::Error),
    TimedOut,
}

impl Transport {
    fn retryable(&self) -> bool {
        match self {
            Transport::TimedOut => true,
            Transport::Http(e) => e.is_connect() || e.is_timeout() || e.is_request(),
        }
    }

    fn into_error(self, url: &str, timeout: Duration, attempts: u32) -> ClientError {
        match self {
            Transport::Http(e) if !e.is_timeout() => ClientError::Connection {
                url: url.to_owned(),
                message: describe_transport(&e),
                attempts,
            },
            _ => ClientError::Timeout {
                url: url.to_owned(),
                after: timeout,
                attempts,
            },
        }
    }
}

/// A transport error in words: its innermost cause, sanitised.
pub(crate) fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let detail = sanitize(&cause.to_string());
    if e.is_connect() {
        format!("could not connect ({detail})")
    } else {
        detail
    }
}

fn plain_header(value: &str, what: &str) -> Result<HeaderValue, ClientError> {
    HeaderValue::from_str(value).map_err(|_| {
        ClientError::InvalidRequest(format!("{what} {value:?} cannot go in an HTTP header"))
    })
}

/// Read at most [`MAX_ERROR_BODY`] bytes of an error response, within `timeout`.
async fn read_error_body(mut response: reqwest::Response, timeout: Duration) -> Vec<u8> {
    let read = async {
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = MAX_ERROR_BODY - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
        body
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_default()
}

/// The typed error for an error response.
fn api_error(status: u16, headers: &HeaderMap, body: &[u8], url: &str, attempts: u32) -> ApiError {
    let mut error_type = None;
    let mut message = None;
    let mut body_request_id = None;
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(sanitize);
        body_request_id = text(map.get("request_id"));
        match map.get("error") {
            // Anthropic: {"type":"error","error":{"type":..,"message":..},"request_id":..}
            Some(Value::Object(inner)) => {
                error_type = text(inner.get("type"));
                message = text(inner.get("message"));
            }
            // OAuth-style and gateway bodies: {"error":"..","error_description":".."}
            Some(Value::String(e)) => {
                error_type = Some(sanitize(e));
                message = text(map.get("error_description")).or_else(|| text(map.get("message")));
            }
            _ => message = text(map.get("message")),
        }
    }
    let message = message.unwrap_or_else(|| {
        if status == 404 {
            format!("this endpoint moved or is wrong: {url}")
        } else {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_owned()
        }
    });
    let meta = ResponseMeta::from_response(status, headers, attempts);
    ApiError {
        status,
        error_type,
        message,
        request_id: meta.request_id.or(body_request_id),
        url: url.to_owned(),
        retry_after: meta.rate_limits.retry_after,
        rate_limits: meta.rate_limits,
        attempts,
    }
}

fn message_body(request: &MessageRequest, stream: bool) -> Result<Bytes, ClientError> {
    let mut value = serde_json::to_value(request)
        .map_err(|e| ClientError::InvalidRequest(format!("the request does not serialize: {e}")))?;
    if let Value::Object(map) = &mut value {
        if stream {
            map.insert("stream".into(), Value::Bool(true));
        } else {
            map.remove("stream");
        }
    }
    serde_json::to_vec(&value)
        .map(Bytes::from)
        .map_err(|e| ClientError::InvalidRequest(format!("the request does not serialize: {e}")))
}

impl Client {
    /// A builder over `manager`.
    pub fn builder(manager: AuthManager) -> ClientBuilder {
        ClientBuilder::new(manager)
    }

    /// A client for the credential this process's environment selects
    /// (the full resolution chain, settings included), with its base URL.
    /// With `[selection] fallback` set (failover on), it fails over along
    /// the list's Anthropic entries.
    pub fn from_env() -> Result<Client, ClientError> {
        let env = Env::from_process();
        let resolver = Resolver::new(env.clone())?;
        let mut builder = ClientBuilder::from_resolver(resolver, ManagerOptions::default())?;
        if let Some(chain) = crate::Providers::new(env)?.fallback_chain(&Provider::Anthropic)? {
            builder = builder.failover(chain);
        }
        builder.build()
    }

    /// Where requests go, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The manager that supplies credentials.
    pub fn manager(&self) -> &AuthManager {
        &self.inner.manager
    }

    /// `POST /v1/messages`: the whole answer at once.
    pub async fn create_message(
        &self,
        request: &MessageRequest,
    ) -> Result<Response<Message>, ClientError> {
        let call = Call {
            method: Method::POST,
            path: "/v1/messages",
            query: Vec::new(),
            body: Some(message_body(request, false)?),
            betas: &request.betas,
            stream: false,
        };
        self.json(&call).await
    }

    /// `POST /v1/messages` with `stream: true`: typed events as they arrive.
    /// Retries and 401 recovery apply until the stream's headers arrive.
    pub async fn stream_message(
        &self,
        request: &MessageRequest,
    ) -> Result<MessageStream, ClientError> {
        let call = Call {
            method: Method::POST,
            path: "/v1/messages",
            query: Vec::new(),
            body: Some(message_body(request, true)?),
            betas: &request.betas,
            stream: true,
        };
        let started = std::time::Instant::now();
        let (response, meta, url, usage) = self.execute(&call).await?;
        let meter = usage.map(|sink| {
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            stream::Meter::new(sink, content_type, meta.status, started)
        });
        Ok(MessageStream::new(
            response,
            meta,
            url,
            self.inner.stream_idle_timeout,
            meter,
        ))
    }

    /// `GET /v1/models`: one page of the models this credential may use.
    pub async fn list_models(&self, page: &ListModels) -> Result<Response<ModelPage>, ClientError> {
        let call = Call {
            method: Method::GET,
            path: "/v1/models",
            query: page.query(),
            body: None,
            betas: &[],
            stream: false,
        };
        self.json(&call).await
    }

    async fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<Response<T>, ClientError> {
        let started = std::time::Instant::now();
        let (response, meta, url, usage) = self.execute(call).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Transport::Http(e).into_error(&url, self.inner.timeout, meta.attempts))?;
        if let Some(sink) = &usage {
            // A ledger row for what carried token counts (messages).
            let mut tap = UsageTap::for_content_type(Some("application/json"));
            tap.feed(&bytes);
            if let Some(usage) = tap.finish() {
                sink.finished(meta.status, Some(usage), started);
            }
        }
        let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::InvalidResponse {
            url: url.clone(),
            message: sanitize(&e.to_string()),
        })?;
        Ok(Response { body, meta })
    }

    fn headers(&self, call: &Call<'_>, credential: &Credential) -> Result<HeaderMap, ClientError> {
        if credential.provider() != &Provider::Anthropic {
            return Err(ClientError::Config(format!(
                "the selected credential is an {} credential; this client talks to Anthropic's API",
                credential.provider().as_str()
            )));
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        headers.insert(
            ACCEPT,
            HeaderValue::from_static(if call.stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        if call.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let mut betas: Vec<&str> = Vec::new();
        if let Credential::OAuth(_) = credential {
            betas.push(OAUTH_BETA);
        }
        betas.extend(self.inner.betas.iter().map(String::as_str));
        betas.extend(call.betas.iter().map(String::as_str));
        if let Some(value) = wire::merge_betas(betas) {
            headers.insert(wire::ANTHROPIC_BETA, plain_header(&value, "beta list")?);
        }
        let auth = wire::auth_value(credential).map_err(header_error)?;
        wire::apply_credential(&mut headers, credential, auth).map_err(header_error)?;
        Ok(headers)
    }

    fn backoff(&self, retry: u32) -> Duration {
        wire::Backoff {
            base: self.inner.backoff_base,
            max: self.inner.backoff_max,
            // Up to 25 % off, so that many clients do not retry in step.
            jitter: 0.25,
        }
        .delay(retry)
    }

    fn retry_wait(&self, headers: &HeaderMap, retry: u32) -> Duration {
        match wire::retry_after(headers) {
            Some(wait) if wait <= self.inner.max_retry_after => wait,
            _ => self.backoff(retry),
        }
    }

    /// Send `call` until it succeeds, fails for good, or runs out of retries.
    async fn execute(
        &self,
        call: &Call<'_>,
    ) -> Result<(reqwest::Response, ResponseMeta, String, Option<UsageSink>), ClientError> {
        let inner = &*self.inner;
        let url = format!("{}{}", inner.base_url, call.path);
        // With failover: the entries that rejected this request.
        let mut tried = crate::doors::failover::Tried::default();
        let (mut entry, mut credential) = self.obtain_entry(&mut tried).await?;
        let mut refreshed_after_401 = false;
        let mut retries = 0u32;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let mut request = inner
                .http
                .request(call.method.clone(), &url)
                .headers(self.headers(call, &credential)?);
            if !call.query.is_empty() {
                request = request.query(&call.query);
            }
            if let Some(body) = &call.body {
                request = request.body(body.clone());
            }
            tracing::debug!(method = %call.method, url = %url, attempt = attempts, kind = credential.kind().label(), "API request");
            let sent = if call.stream {
                // No total timeout on a stream (it may run for minutes); the
                // wait for its headers is bounded here, its silences by the
                // stream's idle timeout.
                match tokio::time::timeout(inner.timeout, request.send()).await {
                    Ok(result) => result.map_err(Transport::Http),
                    Err(_) => Err(Transport::TimedOut),
                }
            } else {
                request
                    .timeout(inner.timeout)
                    .send()
                    .await
                    .map_err(Transport::Http)
            };
            let response = match sent {
                Ok(response) => response,
                Err(transport) => {
                    let retry = transport.retryable() && retries < inner.max_retries;
                    let error = transport.into_error(&url, inner.timeout, attempts);
                    if !retry {
                        return Err(error);
                    }
                    let wait = self.backoff(retries);
                    retries += 1;
                    tracing::debug!(error = %error, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            if let Some(sink) = self.entry_usage(entry) {
                sink.headers(response.headers());
            }
            if response.status().is_success() {
                let meta = ResponseMeta::from_response(status, response.headers(), attempts);
                tracing::debug!(status, request_id = ?meta.request_id, "API response");
                return Ok((response, meta, url, self.entry_usage(entry).cloned()));
            }
            let headers = response.headers().clone();
            let body = read_error_body(response, inner.timeout).await;
            let error = api_error(status, &headers, &body, &url, attempts);
            tracing::debug!(status, request_id = ?error.request_id, error_type = ?error.error_type, "API error");
            if status == 401 && !refreshed_after_401 {
                refreshed_after_401 = true;
                match self
                    .entry_manager(entry)
                    .force_refresh(credential.secret())
                    .await
                {
                    Ok(fresh) if fresh.credential.secret() != credential.secret() => {
                        tracing::debug!("401: retrying once with the refreshed credential");
                        credential = fresh.credential;
                        continue;
                    }
                    Ok(_) => {}
                    // A refreshable login that cannot be refreshed: the
                    // manager's error says what to do (log in again).
                    // With failover, a login gone for good is a rejection.
                    Err(e) if e.login_required() && self.login_gone(entry, &mut tried) => {
                        (entry, credential) = self.obtain_entry(&mut tried).await?;
                        refreshed_after_401 = false;
                        continue;
                    }
                    Err(e) if credential.can_refresh() => return Err(e.into()),
                    Err(e) => {
                        tracing::debug!(error = %e, "401: the credential cannot be refreshed")
                    }
                }
                return Err(ClientError::Api(Box::new(error)));
            }
            match self.fails_over(entry, &credential, status, &headers, &mut tried) {
                // Rejected: the next entry, announced; nothing free: the
                // rejection as it is (retrying a full window is pointless).
                Some(true) => {
                    (entry, credential) = self.obtain_entry(&mut tried).await?;
                    refreshed_after_401 = false;
                    continue;
                }
                Some(false) => return Err(ClientError::Api(Box::new(error))),
                None => {}
            }
            let should_retry = match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
                Some("true") => true,
                Some("false") => false,
                _ => retryable_status(status),
            };
            if should_retry && retries < inner.max_retries {
                let wait = self.retry_wait(&headers, retries);
                retries += 1;
                tracing::debug!(status, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(ClientError::Api(Box::new(error)));
        }
    }
}

fn header_error(e: wire::HeaderError) -> ClientError {
    ClientError::Config(format!("{e}; check it with `claude-auth status`"))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
