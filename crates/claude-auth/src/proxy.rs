//! An authenticating reverse proxy on loopback.
//!
//! Programs we do not control (the official SDKs, which never refresh a
//! subscription token; agents; CI jobs) point `ANTHROPIC_BASE_URL` at the
//! proxy and authenticate with a per-proxy local key. The proxy:
//!
//! - listens on loopback only and forwards only to the one upstream base URL
//!   it was given — absolute-form targets and `CONNECT` are refused, so it is
//!   never an open proxy;
//! - requires the local key (`x-api-key` or `Authorization: Bearer`),
//!   compared in constant time, unless started without auth;
//! - drops every incoming auth header and injects the current credential
//!   (`x-api-key` for keys; `Authorization: Bearer` plus the OAuth beta,
//!   merged into `anthropic-beta`, for OAuth tokens), refreshed ahead of
//!   expiry by the [`AuthManager`];
//! - on an upstream 401, refreshes once and retries once — request bodies up
//!   to [`ProxyConfig::max_buffered_body`] are buffered so a retry is possible;
//! - streams responses (SSE) chunk by chunk, never buffering them;
//! - logs each request (method, path, status, time) without query strings or
//!   headers, so no secret reaches the log; shuts down gracefully.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::manager::AuthManager;
use crate::oauth::pkce::constant_time_eq;
use crate::secret::Secret;

/// The OAuth beta every OAuth-token request needs.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";

/// Proxy settings.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Where to listen (must be a loopback address).
    pub listen: SocketAddr,
    /// Upstream API base URL (e.g. `https://api.anthropic.com`).
    pub upstream: String,
    /// The local key clients must present; `None` disables the check.
    pub local_key: Option<Secret>,
    /// Largest request body buffered for a retry after a 401.
    pub max_buffered_body: usize,
    /// Write an access line per request to stderr.
    pub access_log: bool,
    /// Upstream request timeout (connect + headers; bodies stream).
    pub connect_timeout: Duration,
}

impl ProxyConfig {
    /// Defaults: 1 MiB retry buffer, access log on, 10 s connect timeout.
    pub fn new(listen: SocketAddr, upstream: impl Into<String>, local_key: Option<Secret>) -> Self {
        ProxyConfig {
            listen,
            upstream: upstream.into(),
            local_key,
            max_buffered_body: 1 << 20,
            access_log: true,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A fresh random local key (`ca-local-…`), for one proxy's clients.
pub fn generate_local_key() -> Result<Secret> {
    use base64::Engine;
    let mut buf = [0u8; 24];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Unsupported(format!("the OS random number generator failed: {e}")))?;
    Ok(Secret::new(format!(
        "ca-local-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    )))
}

/// A running proxy.
pub struct ProxyHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ProxyHandle {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let in-flight requests finish (up to `grace`), return.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(grace, self.task).await;
    }
}

struct Shared {
    manager: AuthManager,
    config: ProxyConfig,
    upstream: String,
    http: reqwest::Client,
}

type ProxyBody = BoxBody<Bytes, std::io::Error>;

fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed()
}

fn json_error(status: StatusCode, kind: &str, message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
        .to_string();
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.to_owned());
    }
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned)
}

/// The upstream headers for `credential`: the client's headers minus
/// hop-by-hop and auth headers, plus exactly one credential header.
pub fn upstream_headers(incoming: &HeaderMap, credential: &Credential) -> Result<HeaderMap> {
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || n == "x-api-key"
            || n == "authorization"
            || n == "content-length"
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let bad =
        |_| Error::Unsupported("the credential contains characters not allowed in a header".into());
    match credential {
        Credential::ApiKey { key, .. } => {
            let mut v = HeaderValue::from_str(key.expose()).map_err(bad)?;
            v.set_sensitive(true);
            out.insert(HeaderName::from_static("x-api-key"), v);
        }
        Credential::Bearer { token, .. } => {
            let mut v =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(bad)?;
            v.set_sensitive(true);
            out.insert(hyper::header::AUTHORIZATION, v);
        }
        Credential::OAuth(set) => {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", set.access_token.expose()))
                .map_err(bad)?;
            v.set_sensitive(true);
            out.insert(hyper::header::AUTHORIZATION, v);
            let mut betas: Vec<String> = out
                .get_all("anthropic-beta")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|b| b.trim().to_owned())
                .filter(|b| !b.is_empty())
                .collect();
            if !betas.iter().any(|b| b == OAUTH_BETA) {
                betas.push(OAUTH_BETA.to_owned());
            }
            out.remove("anthropic-beta");
            let joined = HeaderValue::from_str(&betas.join(",")).map_err(bad)?;
            out.insert(HeaderName::from_static("anthropic-beta"), joined);
            if let Some(ws) = &set.identity.workspace_id {
                if !out.contains_key("anthropic-workspace-id") {
                    if let Ok(v) = HeaderValue::from_str(ws) {
                        out.insert(HeaderName::from_static("anthropic-workspace-id"), v);
                    }
                }
            }
        }
    }
    Ok(out)
}

// The error is the response itself, handed straight back to hyper.
#[allow(clippy::result_large_err)]
fn headers_for(
    incoming: &HeaderMap,
    credential: &Credential,
) -> std::result::Result<HeaderMap, Response<ProxyBody>> {
    upstream_headers(incoming, credential).map_err(|e| {
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            &e.to_string(),
        )
    })
}

enum BodyPlan {
    Buffered(Bytes),
    Stream(Incoming),
}

async fn plan_body(
    body: Incoming,
    headers: &HeaderMap,
    limit: usize,
) -> std::result::Result<BodyPlan, Response<ProxyBody>> {
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > limit => Ok(BodyPlan::Stream(body)),
        _ => {
            let limited = http_body_util::Limited::new(body, limit);
            match limited.collect().await {
                Ok(c) => Ok(BodyPlan::Buffered(c.to_bytes())),
                Err(_) => Err(json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request_too_large",
                    "claude-auth proxy: a request body without Content-Length must fit the retry buffer",
                )),
            }
        }
    }
}

async fn send(
    shared: &Shared,
    method: &hyper::Method,
    url: &str,
    headers: HeaderMap,
    body: reqwest::Body,
) -> std::result::Result<reqwest::Response, Response<ProxyBody>> {
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).map_err(|_| {
        json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "unsupported method",
        )
    })?;
    shared
        .http
        .request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_connect() {
                "could not connect to the upstream API"
            } else {
                "the upstream request failed"
            };
            json_error(
                StatusCode::BAD_GATEWAY,
                "api_error",
                &format!("claude-auth proxy: {why}"),
            )
        })
}

fn relay(upstream: reqwest::Response) -> Response<ProxyBody> {
    let status =
        StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if HOP_BY_HOP.contains(&name.as_str()) || name.as_str() == "content-length" {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    let stream = upstream
        .bytes_stream()
        .map_ok(Frame::data)
        .map_err(std::io::Error::other);
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ProxyBody> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = handle_inner(&shared, req).await;
    if shared.config.access_log {
        // Path only: query strings and headers never reach the log.
        eprintln!(
            "claude-auth proxy: {method} {path} -> {} ({:.1} ms)",
            resp.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    resp
}

async fn handle_inner(shared: &Shared, req: Request<Incoming>) -> Response<ProxyBody> {
    // Only origin-form targets ("/v1/messages"): never an open proxy.
    if req.method() == hyper::Method::CONNECT
        || req.uri().scheme().is_some()
        || req.uri().authority().is_some()
    {
        return json_error(
            StatusCode::FORBIDDEN,
            "permission_error",
            "claude-auth proxy forwards only to its configured API; absolute URLs and CONNECT are refused",
        );
    }
    if let Some(expected) = &shared.config.local_key {
        let ok =
            presented_key(req.headers()).is_some_and(|k| constant_time_eq(&k, expected.expose()));
        if !ok {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "claude-auth proxy: missing or wrong local key (send it as x-api-key)",
            );
        }
    }
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let url = format!("{}{}", shared.upstream, path_and_query);
    let method = req.method().clone();
    let (parts, body) = req.into_parts();
    let obtained = match shared.manager.obtain().await {
        Ok(o) => o,
        Err(e) => {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                &format!("claude-auth proxy: no usable credential: {e}"),
            )
        }
    };
    let credential = obtained.credential;
    let headers = match headers_for(&parts.headers, &credential) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let plan = match plan_body(body, &parts.headers, shared.config.max_buffered_body).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match plan {
        BodyPlan::Stream(body) => {
            let stream = http_body_util::BodyStream::new(body)
                .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) });
            match send(
                shared,
                &method,
                &url,
                headers,
                reqwest::Body::wrap_stream(stream),
            )
            .await
            {
                Ok(r) => relay(r),
                Err(resp) => resp,
            }
        }
        BodyPlan::Buffered(bytes) => {
            let first = match send(
                shared,
                &method,
                &url,
                headers,
                reqwest::Body::from(bytes.clone()),
            )
            .await
            {
                Ok(r) => r,
                Err(resp) => return resp,
            };
            if first.status().as_u16() != 401 || !credential.can_refresh() {
                return relay(first);
            }
            // One forced refresh and one retry.
            drop(first);
            let refreshed = match shared.manager.force_refresh(credential.secret()).await {
                Ok(o) => o.credential,
                Err(e) => {
                    return json_error(
                        StatusCode::UNAUTHORIZED,
                        "authentication_error",
                        &format!("claude-auth proxy: the API rejected the credential and refreshing failed: {e}"),
                    )
                }
            };
            let headers = match headers_for(&parts.headers, &refreshed) {
                Ok(h) => h,
                Err(resp) => return resp,
            };
            match send(shared, &method, &url, headers, reqwest::Body::from(bytes)).await {
                Ok(r) => relay(r),
                Err(resp) => resp,
            }
        }
    }
}

/// Start the proxy. The listen address must be loopback.
pub async fn start(manager: AuthManager, config: ProxyConfig) -> Result<ProxyHandle> {
    if !config.listen.ip().is_loopback() {
        return Err(Error::Unsupported(format!(
            "the proxy listens on loopback only; {} is not a loopback address",
            config.listen.ip()
        )));
    }
    let upstream = config.upstream.trim_end_matches('/').to_owned();
    url::Url::parse(&upstream).map_err(|e| Error::Setting {
        setting: "upstream base URL".into(),
        message: format!("{upstream:?}: {e}"),
    })?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Unsupported(format!("could not listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Unsupported(format!("proxy listener: {e}")))?;
    let http = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| {
            Error::Unsupported(format!("could not build the upstream HTTP client: {e}"))
        })?;
    let shared = Arc::new(Shared {
        manager,
        config,
        upstream,
        http,
    });
    let (tx, mut rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    let service = hyper::service::service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(handle(shared, req).await) }
                    });
                    let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                _ = rx.changed() => break,
            }
        }
        drop(listener);
        graceful.shutdown().await;
    });
    Ok(ProxyHandle {
        addr,
        shutdown: tx,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{Provider, TokenSet};

    #[test]
    fn oauth_headers_replace_auth_and_merge_betas() {
        let mut incoming = HeaderMap::new();
        incoming.insert("x-api-key", HeaderValue::from_static("ca-local-xyz"));
        incoming.insert("authorization", HeaderValue::from_static("Bearer nope"));
        incoming.insert(
            "anthropic-beta",
            HeaderValue::from_static("tools-2024, oauth-2025-04-20"),
        );
        incoming.insert("connection", HeaderValue::from_static("keep-alive"));
        let cred = Credential::OAuth(TokenSet::access_only(
            Secret::new("sk-ant-oat01-t"),
            Provider::Anthropic,
        ));
        let out = upstream_headers(&incoming, &cred).unwrap();
        assert!(out.get("x-api-key").is_none());
        assert_eq!(out.get_all("authorization").iter().count(), 1);
        assert_eq!(out["authorization"], "Bearer sk-ant-oat01-t");
        assert_eq!(out["anthropic-beta"], "tools-2024,oauth-2025-04-20");
        assert!(out.get("connection").is_none());
    }

    #[test]
    fn api_key_gets_exactly_one_header() {
        let mut incoming = HeaderMap::new();
        incoming.insert(
            "authorization",
            HeaderValue::from_static("Bearer ca-local-xyz"),
        );
        let out =
            upstream_headers(&incoming, &Credential::anthropic_api_key("sk-ant-api03-k")).unwrap();
        assert_eq!(out["x-api-key"], "sk-ant-api03-k");
        assert!(out.get("authorization").is_none());
        assert!(out.get("anthropic-beta").is_none());
    }
}
