//! One request through the proxy: refuse what it must not forward (absolute
//! targets, CONNECT, unused methods, a missing local key, dot segments),
//! inject the credential, send, and on an upstream 401 refresh once and
//! retry once; relay the answer as it streams; log it, escaped.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::uri::PathAndQuery;
use hyper::{Request, Response, StatusCode, Version};

use super::activity::ClientBody;
use super::agent_auth::{authenticate, sink_for};
use super::headers::{auth_value, inject, is_dropped_from_request, is_hop_by_hop, strip};
use super::metered::MeteredBody;
use super::shape::own_error;
use super::target::Target;
use super::upstream::Upstream;
use super::{ProxyBody, ProxyConfig, RelayedBody, UpstreamBody};
use crate::agents::AgentRef;
use crate::budgets::Charge;
use crate::credential::Credential;
use crate::engine::manager::AuthManager;
use crate::error::{Error, Result};

/// The last credential header built, for the credential it was built from.
pub(super) struct CachedAuth {
    pub(super) credential: Arc<Credential>,
    pub(super) value: HeaderValue,
}

pub(super) struct Shared {
    pub(super) manager: AuthManager,
    pub(super) config: ProxyConfig,
    pub(super) target: Target,
    pub(super) upstream: Upstream,
    pub(super) auth: Mutex<Option<CachedAuth>>,
}

impl Shared {
    /// The credential's header value (`x-api-key` or `Authorization`),
    /// built once per credential rather than per request.
    pub(super) fn auth_value(&self, credential: &Arc<Credential>) -> Result<HeaderValue> {
        if let Ok(cached) = self.auth.lock() {
            if let Some(c) = cached
                .as_ref()
                .filter(|c| Arc::ptr_eq(&c.credential, credential))
            {
                return Ok(c.value.clone());
            }
        }
        let value = auth_value(credential)?;
        if let Ok(mut cached) = self.auth.lock() {
            *cached = Some(CachedAuth {
                credential: Arc::clone(credential),
                value: value.clone(),
            });
        }
        Ok(value)
    }
}

pub(super) fn full(body: impl Into<Bytes>) -> ProxyBody {
    Either::Left(Full::new(body.into()))
}

pub(super) fn internal_error(shared: &Shared, e: &Error) -> Response<ProxyBody> {
    own_error(
        shared,
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        &e.to_string(),
    )
}

pub(super) enum BodyPlan {
    Buffered(Bytes),
    Stream(ClientBody),
}

/// Buffer the body when a retry may need it again (up to `limit`; a body
/// declaring more is streamed, and one of unknown length must fit);
/// otherwise stream it.
pub(super) async fn plan_body(
    shared: &Shared,
    body: ClientBody,
    headers: &HeaderMap,
    may_retry: bool,
) -> std::result::Result<BodyPlan, Response<ProxyBody>> {
    let limit = shared.config.max_buffered_body;
    if !may_retry {
        return Ok(BodyPlan::Stream(body));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > limit => Ok(BodyPlan::Stream(body)),
        _ => {
            let limited = http_body_util::Limited::new(body, limit);
            match limited.collect().await {
                Ok(c) => Ok(BodyPlan::Buffered(c.to_bytes())),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(own_error(
                    shared,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request_too_large",
                    "claude-auth proxy: a request body without Content-Length must fit the retry buffer",
                )),
                Err(_) => Err(own_error(
                    shared,
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "claude-auth proxy: the request body could not be read",
                )),
            }
        }
    }
}

pub(super) async fn send(
    shared: &Shared,
    method: hyper::Method,
    path_and_query: PathAndQuery,
    headers: HeaderMap,
    body: UpstreamBody,
) -> std::result::Result<Response<RelayedBody>, Response<ProxyBody>> {
    let mut req = Request::new(body);
    *req.method_mut() = method;
    *req.headers_mut() = headers;
    shared
        .upstream
        .send(&shared.target, req, path_and_query)
        .await
        .map_err(|e| {
            let why = if e.connect {
                "could not connect to the upstream API"
            } else {
                "the upstream request failed"
            };
            own_error(
                shared,
                StatusCode::BAD_GATEWAY,
                "api_error",
                &format!("claude-auth proxy: {why}"),
            )
        })
}

/// The upstream response as ours: status, headers (minus hop-by-hop ones;
/// `Content-Length` stays, so a fixed-length answer is not re-chunked) and
/// the body, streamed frame by frame.
pub(super) fn relay(
    shared: &Shared,
    upstream: Response<RelayedBody>,
    started: Instant,
    agent: Option<&AgentRef>,
    charge: Option<Charge>,
) -> Response<ProxyBody> {
    relay_with(
        shared,
        shared.config.usage.as_ref(),
        upstream,
        (started, agent, charge),
    )
}

/// [`relay`], metered into `usage` (the failover entry's login), under
/// the request's agent.
pub(super) fn relay_with(
    shared: &Shared,
    usage: Option<&crate::usage::writer::UsageSink>,
    upstream: Response<RelayedBody>,
    (started, agent, charge): (Instant, Option<&AgentRef>, Option<Charge>),
) -> Response<ProxyBody> {
    let target = &shared.target;
    let (mut parts, body) = upstream.into_parts();
    let body = match usage {
        None => MeteredBody::plain(body),
        Some(sink) => {
            let sink = sink_for(sink, agent);
            sink.headers(&parts.headers);
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            MeteredBody::metered(
                body,
                sink,
                content_type,
                parts.status.as_u16(),
                started,
                charge,
            )
        }
    };
    strip(&mut parts.headers, is_hop_by_hop);
    if let Some(location) = parts.headers.get(header::LOCATION) {
        if let Some(ours) = target.local_location(location) {
            parts.headers.insert(header::LOCATION, ours);
        }
    }
    parts.version = Version::HTTP_11;
    parts.extensions.clear();
    Response::from_parts(parts, Either::Right(body))
}

/// The methods the APIs behind the proxy use (the Messages and OpenAI APIs:
/// GET, POST, DELETE; PUT, PATCH, HEAD and OPTIONS are harmless), as an
/// `Allow` header. `TRACE` and `TRACK` are refused, as an upstream that echoes
/// a request would hand the injected credential back to the client, and so
/// is any method the APIs do not know.
pub(super) const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

pub(super) fn is_allowed_method(method: &hyper::Method) -> bool {
    use hyper::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
}

/// Client-supplied text as it may appear in the log: printable ASCII as it
/// is, a backslash doubled, anything else (control characters, newlines,
/// bidi overrides, any non-ASCII character) as `\u{…}`.
pub(super) fn escape_for_log(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;
    if text
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'\\')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

pub(super) async fn handle(shared: Arc<Shared>, req: Request<ClientBody>) -> Response<ProxyBody> {
    if !shared.config.access_log {
        return handle_inner(&shared, req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = handle_inner(&shared, req).await;
    // Path only: query strings and headers never reach the log. Both come
    // from the client, so they are escaped: no control or bidi character
    // reaches a terminal or a log reader.
    eprintln!(
        "claude-auth proxy: {} {} -> {} ({:.1} ms)",
        escape_for_log(method.as_str()),
        escape_for_log(&path),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

pub(super) async fn handle_inner(shared: &Shared, req: Request<ClientBody>) -> Response<ProxyBody> {
    let started = Instant::now();
    // CONNECT (a tunnel to anywhere) is among the methods it does not
    // serve: 405, with what it does serve in `Allow`.
    if !is_allowed_method(req.method()) {
        let mut resp = own_error(
            shared,
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            &format!(
                "claude-auth proxy: the {} method is refused; it forwards only {ALLOWED_METHODS}",
                escape_for_log(req.method().as_str())
            ),
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
        return resp;
    }
    // Only origin-form targets ("/v1/messages"): never an open proxy. Over
    // HTTP/2 every request carries :scheme and :authority (the Host of
    // HTTP/1.1); only the path is used, as for HTTP/1.1.
    let absolute = req.version() < hyper::Version::HTTP_2
        && (req.uri().scheme().is_some() || req.uri().authority().is_some());
    if absolute {
        return own_error(
            shared,
            StatusCode::FORBIDDEN,
            "permission_error",
            "claude-auth proxy forwards only to its configured API; absolute URLs are refused",
        );
    }
    let agent = match authenticate(shared, req.headers()).await {
        Ok(agent) => agent,
        Err(resp) => return resp,
    };
    // Budgets: before anything is forwarded (or a credential obtained).
    let charge = match &shared.config.budgets {
        None => None,
        Some(book) => match book.admit(agent.as_ref().map(|a| a.session)).await {
            Ok(charge) => charge,
            Err(refusal) => return budget_refusal(book.provider(), &refusal),
        },
    };
    let Some(path_and_query) = shared.target.join(req.uri().path_and_query()) else {
        return own_error(
            shared,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "claude-auth proxy: the request target must be a path, without . or .. segments",
        );
    };
    let (parts, body) = req.into_parts();
    let method = parts.method;
    let mut headers = parts.headers;
    if let Some(chain) = &shared.config.failover {
        let forward = super::failover::forward(
            shared,
            chain,
            method,
            path_and_query,
            headers,
            body,
            (started, agent.as_ref(), charge),
        );
        return Box::pin(forward).await;
    }
    let obtained = match shared.manager.obtain().await {
        Ok(o) => o,
        Err(e) => {
            return own_error(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                &format!("claude-auth proxy: no usable credential: {e}"),
            )
        }
    };
    let credential = obtained.credential;
    strip(&mut headers, is_dropped_from_request);
    headers.insert(header::HOST, shared.target.host.clone());
    let may_retry = credential.can_refresh();
    let plan = match plan_body(shared, body, &headers, may_retry).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    // Kept for the retry: the stripped client headers, before the credential.
    let retry_headers = match &plan {
        BodyPlan::Buffered(_) if may_retry => Some(headers.clone()),
        _ => None,
    };
    let injected = shared
        .auth_value(&credential)
        .and_then(|value| inject(&mut headers, &credential, value));
    if let Err(e) = injected {
        return internal_error(shared, &e);
    }
    let bytes = match plan {
        BodyPlan::Stream(body) => {
            return match send(shared, method, path_and_query, headers, Either::Right(body)).await {
                Ok(r) => relay(shared, r, started, agent.as_ref(), charge),
                Err(resp) => resp,
            };
        }
        BodyPlan::Buffered(bytes) => bytes,
    };
    let first = match send(
        shared,
        method.clone(),
        path_and_query.clone(),
        headers,
        Either::Left(Full::new(bytes.clone())),
    )
    .await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Some(headers) = retry_headers.filter(|_| first.status() == StatusCode::UNAUTHORIZED) else {
        return relay(shared, first, started, agent.as_ref(), charge);
    };
    // One forced refresh and one retry; boxed for the same reason as connecting.
    drop(first);
    Box::pin(retry_after_401(
        shared,
        &credential,
        method,
        path_and_query,
        headers,
        bytes,
        (started, agent.as_ref(), charge),
    ))
    .await
}

pub(super) async fn retry_after_401(
    shared: &Shared,
    credential: &Credential,
    method: hyper::Method,
    path_and_query: PathAndQuery,
    mut headers: HeaderMap,
    bytes: Bytes,
    (started, agent, charge): (Instant, Option<&AgentRef>, Option<Charge>),
) -> Response<ProxyBody> {
    let refreshed = match shared.manager.force_refresh(credential.secret()).await {
        Ok(o) => o.credential,
        Err(e) => {
            return own_error(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                &format!(
                    "claude-auth proxy: the API rejected the credential and refreshing failed: {e}"
                ),
            )
        }
    };
    let injected = shared
        .auth_value(&refreshed)
        .and_then(|value| inject(&mut headers, &refreshed, value));
    if let Err(e) = injected {
        return internal_error(shared, &e);
    }
    match send(
        shared,
        method,
        path_and_query,
        headers,
        Either::Left(Full::new(bytes)),
    )
    .await
    {
        Ok(r) => relay(shared, r, started, agent, charge),
        Err(resp) => resp,
    }
}

/// A request refused for its budget: a 429 in the provider's error shape
/// that the SDKs do not retry.
pub(super) fn budget_refusal(
    provider: &crate::credential::Provider,
    refusal: &crate::budgets::Refusal,
) -> Response<ProxyBody> {
    let mut resp = Response::new(full(refusal.body(provider)));
    *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let (name, value) = crate::budgets::refusal::NO_RETRY;
    headers.insert(name, HeaderValue::from_static(value));
    resp
}
