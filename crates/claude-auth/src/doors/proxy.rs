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
//! - on an upstream 401, refreshes once and retries once — when the credential
//!   can be refreshed, request bodies up to [`ProxyConfig::max_buffered_body`]
//!   are buffered so a retry is possible (others stream straight through);
//! - streams responses (SSE) chunk by chunk, never buffering them, keeping
//!   their `Content-Length`; passes redirects to the client, never follows them,
//!   and points a redirect into the upstream base URL back at the proxy;
//! - keeps upstream connections alive in a small pool of its own (HTTP/1.1,
//!   rustls for https); goes through reqwest instead only when an
//!   `HTTPS_PROXY`-style setting applies to the upstream;
//! - refuses methods the APIs do not use (`TRACE` above all, which an
//!   echoing upstream would answer with the injected credential);
//! - bounds what any local process can hold: connections at once, and how
//!   long a connection may go without a request (see `listener`);
//! - logs each request (method, path, status, time) without query strings or
//!   headers, so no secret reaches the log, and escapes what the client sent;
//!   shuts down gracefully.

mod listener;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body as _, Frame, Incoming};
use hyper::client::conn::http1;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::credential::Credential;
use crate::engine::manager::AuthManager;
use crate::error::{Error, Result};
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
    /// Upstream connect timeout: TCP connect, TLS and the HTTP/1.1 handshake of
    /// a new upstream connection (a reused one needs none; bodies stream).
    pub connect_timeout: Duration,
    /// How long a client may take to send a request's headers, idle time on
    /// a kept-alive connection included (HTTP/1.1): a connection that
    /// dawdles longer is closed, so no local process can hold connections
    /// open by trickling bytes. Clients' own keep-alive expiry is shorter
    /// (httpx 5 s, Node 4 s).
    pub header_read_timeout: Duration,
    /// How long a connection may go without a request in progress before it
    /// is closed, in every protocol and state: before its first request
    /// (while the protocol is sniffed, the HTTP/2 preface or a request's
    /// headers arrive) and between requests. What the client sends
    /// meanwhile (HTTP/2 pings, settings, part of a header block) does not
    /// count as a request.
    pub idle_timeout: Duration,
    /// While HTTP/2 requests are in progress, ping the client this often and
    /// close the connection when a ping is not answered within as long.
    pub http2_keep_alive: Duration,
    /// Connections served at once; more wait in the kernel's backlog until
    /// one closes.
    pub max_connections: usize,
}

impl ProxyConfig {
    /// Defaults: 1 MiB retry buffer, access log on, 10 s connect timeout,
    /// 30 s to send the headers, 30 s idle, HTTP/2 pings every 20 s, 1,024
    /// connections.
    pub fn new(listen: SocketAddr, upstream: impl Into<String>, local_key: Option<Secret>) -> Self {
        ProxyConfig {
            listen,
            upstream: upstream.into(),
            local_key,
            max_buffered_body: 1 << 20,
            access_log: true,
            connect_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            http2_keep_alive: Duration::from_secs(20),
            max_connections: 1024,
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

/// The upstream base URL, parsed once at start: every request only joins
/// its path and query to it.
struct Target {
    scheme: Scheme,
    authority: Authority,
    /// The `Host` header for `authority` (what the HTTP client would derive).
    host: HeaderValue,
    /// The base URL's path without its trailing slash ("" for none).
    prefix: String,
    /// The base URL, for resolving a redirect's `Location` against.
    base: url::Url,
}

impl Target {
    fn parse(raw: &str) -> Result<Target> {
        let upstream = raw.trim_end_matches('/');
        let setting = |message: String| Error::Setting {
            setting: "upstream base URL".into(),
            message,
        };
        let url = url::Url::parse(upstream).map_err(|e| setting(format!("{upstream:?}: {e}")))?;
        let scheme = match url.scheme() {
            "https" => Scheme::HTTPS,
            "http" => Scheme::HTTP,
            other => {
                return Err(setting(format!(
                    "{other}: only http and https are supported"
                )))
            }
        };
        // Not echoed: it may hold a password.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(setting(
                "user names and passwords in the URL are not supported".into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(setting(format!(
                "{upstream:?}: a base URL has no query or fragment"
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| setting(format!("{upstream:?}: no host")))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let bad = |_| setting(format!("{upstream:?}: not a usable host"));
        Ok(Target {
            scheme,
            host: HeaderValue::from_str(&authority).map_err(bad)?,
            authority: Authority::try_from(authority)
                .map_err(|_| setting(format!("{upstream:?}: not a usable host")))?,
            prefix: url.path().trim_end_matches('/').to_owned(),
            base: url,
        })
    }

    /// The upstream path and query for an incoming origin-form target.
    /// `None` for anything else, and for a path with a `.` or `..` segment
    /// (plain or percent-encoded), which could climb out of the base URL's
    /// path once the upstream normalises it.
    fn join(&self, incoming: Option<&PathAndQuery>) -> Option<PathAndQuery> {
        match incoming {
            Some(pq) if !pq.as_str().starts_with('/') || has_dot_segment(pq.path()) => None,
            Some(pq) if self.prefix.is_empty() => Some(pq.clone()),
            Some(pq) => PathAndQuery::try_from(format!("{}{}", self.prefix, pq.as_str())).ok(),
            None if self.prefix.is_empty() => Some(PathAndQuery::from_static("/")),
            None => PathAndQuery::try_from(format!("{}/", self.prefix)).ok(),
        }
    }

    /// The absolute upstream URI for a path and query from [`Target::join`].
    fn absolute(&self, path_and_query: PathAndQuery) -> Option<Uri> {
        let mut parts = hyper::http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts).ok()
    }

    /// A redirect's `Location` as the client must follow it: a URL into the
    /// upstream base URL (absolute on the upstream's scheme and host, or a
    /// path under its prefix) becomes the path the proxy serves it at, so the
    /// client comes back through the proxy instead of going to the upstream
    /// with its local key (nginx's `proxy_redirect default`). `None` leaves
    /// it as it is: another host, or a path outside the base URL.
    fn local_location(&self, location: &HeaderValue) -> Option<HeaderValue> {
        let text = location.to_str().ok()?;
        // A path-relative reference resolves the same against the proxy's
        // URL as against the upstream's: left to the client.
        let rooted = text.starts_with(['/', '\\']);
        if !rooted && url::Url::parse(text).is_err() {
            return None;
        }
        // Resolved as a client would (`\` as `/`, dot segments, default
        // ports, case), then compared with the upstream's origin.
        let resolved = self.base.join(text).ok()?;
        let same_origin = resolved.scheme() == self.base.scheme()
            && resolved.host() == self.base.host()
            && resolved.port_or_known_default() == self.base.port_or_known_default();
        if !same_origin {
            return None;
        }
        let tail = match resolved.path().strip_prefix(self.prefix.as_str())? {
            "" => "/",
            t if t.starts_with('/') => t,
            _ => return None,
        };
        // `//host/…` would send the client to another host.
        if tail.starts_with("//") {
            return None;
        }
        let mut out = tail.to_owned();
        if let Some(q) = resolved.query() {
            out.push('?');
            out.push_str(q);
        }
        if let Some(f) = resolved.fragment() {
            out.push('#');
            out.push_str(f);
        }
        HeaderValue::from_str(&out).ok()
    }

    /// The absolute upstream URI for an incoming origin-form target.
    #[cfg(test)]
    fn uri(&self, incoming: Option<&PathAndQuery>) -> Option<Uri> {
        self.absolute(self.join(incoming)?)
    }
}

fn has_dot_segment(path: &str) -> bool {
    // The usual path ("/v1/messages") has neither, and costs two scans.
    if !path.contains('.') && !path.contains('%') {
        return false;
    }
    path.split('/').any(|segment| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    })
}

type UpstreamBody = Either<Full<Bytes>, Incoming>;
type RelayedBody = Either<PooledBody, reqwest::Body>;
type ProxyBody = Either<Full<Bytes>, RelayedBody>;

/// The upstream HTTP client.
enum Upstream {
    /// Our own pool of HTTP/1.1 connections (rustls for https): the normal case.
    Direct(Arc<Pool>),
    /// reqwest, only when an `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` setting
    /// applies to the upstream (it speaks to outgoing proxies).
    ViaProxy(reqwest::Client),
}

/// Why the upstream request failed.
struct SendFailed {
    connect: bool,
}

impl Upstream {
    fn new(target: &Target, config: &ProxyConfig) -> Result<Upstream> {
        let probe = target
            .join(None)
            .and_then(|pq| target.absolute(pq))
            .ok_or_else(|| Error::Setting {
                setting: "upstream base URL".into(),
                message: "not a usable URL".into(),
            })?;
        let system_proxy =
            hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&probe);
        if system_proxy.is_some() {
            let http = reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .tcp_nodelay(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| {
                    Error::Unsupported(format!("could not build the upstream HTTP client: {e}"))
                })?;
            return Ok(Upstream::ViaProxy(http));
        }
        // TCP and TLS as reqwest set them up (it served this before).
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(15)));
        http.set_keepalive_interval(Some(Duration::from_secs(15)));
        http.set_keepalive_retries(Some(3));
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        http.set_tcp_user_timeout(Some(Duration::from_secs(30)));
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Unsupported(format!("could not set up TLS: {e}")))?
        .with_webpki_roots()
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Upstream::Direct(Arc::new(Pool {
            connector: HttpsConnector::from((http, tls)),
            origin: probe,
            connect_timeout: config.connect_timeout,
            idle: Mutex::new(Vec::new()),
        })))
    }

    async fn send(
        &self,
        target: &Target,
        mut req: Request<UpstreamBody>,
        path_and_query: PathAndQuery,
    ) -> std::result::Result<Response<RelayedBody>, SendFailed> {
        match self {
            Upstream::Direct(pool) => {
                *req.uri_mut() = Uri::from(path_and_query);
                Ok(Pool::send(pool, req).await?.map(Either::Left))
            }
            Upstream::ViaProxy(client) => {
                *req.uri_mut() = target
                    .absolute(path_and_query)
                    .ok_or(SendFailed { connect: false })?;
                let req = req.map(|body| match body {
                    Either::Left(full) => reqwest::Body::wrap(full),
                    Either::Right(incoming) => reqwest::Body::wrap_stream(
                        http_body_util::BodyStream::new(incoming)
                            .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) }),
                    ),
                });
                let req =
                    reqwest::Request::try_from(req).map_err(|_| SendFailed { connect: false })?;
                match client.execute(req).await {
                    Ok(resp) => Ok(Response::from(resp).map(Either::Right)),
                    Err(e) => Err(SendFailed {
                        connect: e.is_connect(),
                    }),
                }
            }
        }
    }
}

/// Idle upstream connections are closed after this long (reqwest's default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// At most this many idle upstream connections are kept: a bound, set high
/// enough that a burst's connections are reused by the next burst (with 256,
/// 1,000 SSE streams after 1,000 others peaked 4 MB higher, reconnecting).
const POOL_MAX_IDLE: usize = 1024;

/// Keep-alive HTTP/1.1 connections to the one upstream. Simpler than a
/// general client's pool, and cheaper per request: no per-host map to hash
/// into, and a connection goes back when its response body has been read
/// (by [`PooledBody`]), not through a task spawned per request.
struct Pool {
    connector: HttpsConnector<HttpConnector>,
    /// `scheme://authority/…` of the upstream, for the connector.
    origin: Uri,
    connect_timeout: Duration,
    /// Most recently used last.
    idle: Mutex<Vec<(http1::SendRequest<UpstreamBody>, Instant)>>,
}

impl Pool {
    fn checkout(&self) -> Option<http1::SendRequest<UpstreamBody>> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((sender, since)) = idle.pop() {
            if !sender.is_closed() && since.elapsed() < POOL_IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    fn checkin(self: &Arc<Self>, mut sender: http1::SendRequest<UpstreamBody>) {
        if sender.is_closed() {
            return;
        }
        if !sender.is_ready() {
            // The upstream answered before the request body was all sent
            // (or the connection is still finishing): it goes back only once
            // it can take a request, so nobody waits behind a slow upload.
            // (Off a runtime, e.g. while it shuts down, it is just closed.)
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let pool = Arc::clone(self);
                runtime.spawn(async move {
                    if sender.ready().await.is_ok() {
                        pool.idle_push(sender);
                    }
                });
            }
            return;
        }
        self.idle_push(sender);
    }

    fn idle_push(&self, sender: http1::SendRequest<UpstreamBody>) {
        if let Ok(mut idle) = self.idle.lock() {
            // After a burst, keep the most recently used: the oldest idle
            // connection is closed once the cap is reached.
            if idle.len() >= POOL_MAX_IDLE {
                idle.remove(0);
            }
            idle.push((sender, Instant::now()));
        }
    }

    /// Drop connections idle for longer than [`POOL_IDLE_TIMEOUT`] (or
    /// closed by the upstream), as a client's pool does between requests.
    fn prune(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|(sender, since)| {
                !sender.is_closed() && since.elapsed() < POOL_IDLE_TIMEOUT
            });
        }
    }

    /// A new connection: TCP, TLS for https, HTTP/1.1 handshake, all within
    /// the connect timeout.
    async fn connect(&self) -> std::result::Result<http1::SendRequest<UpstreamBody>, SendFailed> {
        use tower_service::Service;
        let failed = SendFailed { connect: true };
        let connect = async {
            let mut connector = self.connector.clone();
            std::future::poll_fn(|cx| connector.poll_ready(cx))
                .await
                .map_err(|_| SendFailed { connect: true })?;
            let io = connector
                .call(self.origin.clone())
                .await
                .map_err(|_| SendFailed { connect: true })?;
            let (sender, conn) = http1::handshake(io)
                .await
                .map_err(|_| SendFailed { connect: true })?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(sender)
        };
        tokio::time::timeout(self.connect_timeout, connect)
            .await
            .unwrap_or(Err(failed))
    }

    async fn send(
        pool: &Arc<Pool>,
        mut req: Request<UpstreamBody>,
    ) -> std::result::Result<Response<PooledBody>, SendFailed> {
        loop {
            let (mut sender, reused) = match pool.checkout() {
                Some(sender) => (sender, true),
                // Boxed: rare, and it would otherwise enlarge every request's future,
                // which the server keeps per connection (1,000 SSE streams: 1,000 of them).
                None => (Box::pin(pool.connect()).await?, false),
            };
            // A pooled connection may still be finishing its last response,
            // or have been closed by the upstream meanwhile.
            if sender.ready().await.is_err() {
                if reused {
                    continue;
                }
                return Err(SendFailed { connect: false });
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let mut body = PooledBody {
                        inner: body,
                        sender: Some(sender),
                        pool: Arc::clone(pool),
                        done: false,
                    };
                    body.done = body.inner.is_end_stream();
                    return Ok(Response::from_parts(parts, body));
                }
                // Closed before the request went out: it comes back, and is
                // sent again on another connection (a fresh one at the latest).
                Err(mut e) => match e.take_message() {
                    Some(again) if reused => req = again,
                    _ => return Err(SendFailed { connect: false }),
                },
            }
        }
    }
}

/// An upstream response body; its connection goes back to the pool once
/// the body has been read to the end.
struct PooledBody {
    inner: Incoming,
    sender: Option<http1::SendRequest<UpstreamBody>>,
    pool: Arc<Pool>,
    done: bool,
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.done = true,
            Poll::Ready(Some(Ok(_))) => this.done = this.inner.is_end_stream(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body dropped before its end leaves the connection unusable.
        if let (true, Some(sender)) = (self.done, self.sender.take()) {
            self.pool.checkin(sender);
        }
    }
}

/// The last credential header built, for the credential it was built from.
struct CachedAuth {
    credential: Arc<Credential>,
    value: HeaderValue,
}

struct Shared {
    manager: AuthManager,
    config: ProxyConfig,
    target: Target,
    upstream: Upstream,
    auth: Mutex<Option<CachedAuth>>,
}

impl Shared {
    /// The credential's header value (`x-api-key` or `Authorization`),
    /// built once per credential rather than per request.
    fn auth_value(&self, credential: &Arc<Credential>) -> Result<HeaderValue> {
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

fn full(body: impl Into<Bytes>) -> ProxyBody {
    Either::Left(Full::new(body.into()))
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

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const ANTHROPIC_BETA: HeaderName = HeaderName::from_static("anthropic-beta");
const WORKSPACE_ID: HeaderName = HeaderName::from_static("anthropic-workspace-id");

/// Never forwarded in either direction.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
    )
}

/// What a client sends that never goes upstream: hop-by-hop headers and its
/// own auth headers (the local key). `Host` is overwritten instead.
fn is_dropped_from_request(name: &str) -> bool {
    matches!(name, "x-api-key" | "authorization") || (name != "host" && is_hop_by_hop(name))
}

/// Remove the headers `dropped` names (and, next to a `Transfer-Encoding`,
/// `Content-Length`). One pass over the names present finds them, so the
/// usual case (one or two, or none) costs a few string comparisons rather
/// than a hash lookup for every name that might be there.
fn strip(headers: &mut HeaderMap, dropped: fn(&str) -> bool) {
    // Headers the sender named in `Connection` are hop-by-hop too (RFC 9110
    // 7.6.1). Rare beyond `keep-alive`/`close`, so nothing is allocated
    // without them.
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.eq_ignore_ascii_case("keep-alive") && !t.eq_ignore_ascii_case("close"))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for name in &listed {
        headers.remove(name);
    }
    // Each name is there once, and no more than 12 names are ever dropped.
    const NONE: Option<HeaderName> = None;
    let mut found = [NONE; 12];
    let mut n = 0;
    for name in headers.keys() {
        if n < found.len() && dropped(name.as_str()) {
            found[n] = Some(name.clone());
            n += 1;
        }
    }
    let mut chunked = false;
    for name in found.iter().flatten() {
        chunked |= name == header::TRANSFER_ENCODING;
        headers.remove(name);
    }
    // hyper frames the body anew; a length sent next to chunking is not one to pass on.
    if chunked {
        headers.remove(header::CONTENT_LENGTH);
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(X_API_KEY) {
        return v.to_str().ok();
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110 11.1).
        .and_then(|v| {
            v.get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
                .map(|_| &v[7..])
        })
}

/// The credential's own header value, marked sensitive.
fn auth_value(credential: &Credential) -> Result<HeaderValue> {
    let bad =
        |_| Error::Unsupported("the credential contains characters not allowed in a header".into());
    let mut v = match credential {
        Credential::ApiKey { key, .. } => HeaderValue::from_str(key.expose()).map_err(bad)?,
        Credential::Bearer { token, .. } => {
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(bad)?
        }
        Credential::OAuth(set) => {
            HeaderValue::from_str(&format!("Bearer {}", set.access_token.expose())).map_err(bad)?
        }
    };
    v.set_sensitive(true);
    Ok(v)
}

/// Add exactly one credential header (`value`, from [`auth_value`]) to
/// already stripped `headers`, and for OAuth the beta and workspace.
fn inject(headers: &mut HeaderMap, credential: &Credential, value: HeaderValue) -> Result<()> {
    match credential {
        Credential::ApiKey { .. } => {
            headers.insert(X_API_KEY, value);
        }
        Credential::Bearer { .. } => {
            headers.insert(header::AUTHORIZATION, value);
        }
        Credential::OAuth(set) => {
            headers.insert(header::AUTHORIZATION, value);
            merge_oauth_beta(headers)?;
            if let Some(ws) = &set.identity.workspace_id {
                if !headers.contains_key(WORKSPACE_ID) {
                    if let Ok(v) = HeaderValue::from_str(ws) {
                        headers.insert(WORKSPACE_ID, v);
                    }
                }
            }
        }
    }
    Ok(())
}

/// One `anthropic-beta` header: the client's betas, trimmed, comma-joined,
/// with [`OAUTH_BETA`] added when missing.
fn merge_oauth_beta(headers: &mut HeaderMap) -> Result<()> {
    if !headers.contains_key(ANTHROPIC_BETA) {
        headers.insert(ANTHROPIC_BETA, HeaderValue::from_static(OAUTH_BETA));
        return Ok(());
    }
    let mut betas: Vec<String> = headers
        .get_all(ANTHROPIC_BETA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
        .collect();
    if !betas.iter().any(|b| b == OAUTH_BETA) {
        betas.push(OAUTH_BETA.to_owned());
    }
    let joined = HeaderValue::from_str(&betas.join(",")).map_err(|_| {
        Error::Unsupported("the anthropic-beta header contains characters not allowed".into())
    })?;
    headers.insert(ANTHROPIC_BETA, joined);
    Ok(())
}

/// The upstream headers for `credential`: the client's headers minus
/// hop-by-hop, auth and `Content-Length` headers, plus exactly one
/// credential header.
pub fn upstream_headers(incoming: &HeaderMap, credential: &Credential) -> Result<HeaderMap> {
    let mut out = incoming.clone();
    strip(&mut out, is_dropped_from_request);
    out.remove(header::HOST);
    out.remove(header::CONTENT_LENGTH);
    inject(&mut out, credential, auth_value(credential)?)?;
    Ok(out)
}

fn internal_error(e: &Error) -> Response<ProxyBody> {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        &e.to_string(),
    )
}

enum BodyPlan {
    Buffered(Bytes),
    Stream(Incoming),
}

/// Buffer the body when a retry may need it again (up to `limit`; a body
/// declaring more is streamed, and one of unknown length must fit);
/// otherwise stream it.
async fn plan_body(
    body: Incoming,
    headers: &HeaderMap,
    limit: usize,
    may_retry: bool,
) -> std::result::Result<BodyPlan, Response<ProxyBody>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        _ if !may_retry => Ok(BodyPlan::Stream(body)),
        Some(n) if n > limit => Ok(BodyPlan::Stream(body)),
        _ => {
            let limited = http_body_util::Limited::new(body, limit);
            match limited.collect().await {
                Ok(c) => Ok(BodyPlan::Buffered(c.to_bytes())),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request_too_large",
                    "claude-auth proxy: a request body without Content-Length must fit the retry buffer",
                )),
                Err(_) => Err(json_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "claude-auth proxy: the request body could not be read",
                )),
            }
        }
    }
}

async fn send(
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
            json_error(
                StatusCode::BAD_GATEWAY,
                "api_error",
                &format!("claude-auth proxy: {why}"),
            )
        })
}

/// The upstream response as ours: status, headers (minus hop-by-hop ones;
/// `Content-Length` stays, so a fixed-length answer is not re-chunked) and
/// the body, streamed frame by frame.
fn relay(target: &Target, upstream: Response<RelayedBody>) -> Response<ProxyBody> {
    let (mut parts, body) = upstream.into_parts();
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
const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

fn is_allowed_method(method: &hyper::Method) -> bool {
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
fn escape_for_log(text: &str) -> std::borrow::Cow<'_, str> {
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

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ProxyBody> {
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

async fn handle_inner(shared: &Shared, req: Request<Incoming>) -> Response<ProxyBody> {
    // Only origin-form targets ("/v1/messages"): never an open proxy. Over
    // HTTP/2 every request carries :scheme and :authority (the Host of
    // HTTP/1.1); only the path is used, as for HTTP/1.1.
    let absolute = req.version() < hyper::Version::HTTP_2
        && (req.uri().scheme().is_some() || req.uri().authority().is_some());
    if req.method() == hyper::Method::CONNECT || absolute {
        return json_error(
            StatusCode::FORBIDDEN,
            "permission_error",
            "claude-auth proxy forwards only to its configured API; absolute URLs and CONNECT are refused",
        );
    }
    if !is_allowed_method(req.method()) {
        let mut resp = json_error(
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
    if let Some(expected) = &shared.config.local_key {
        let ok =
            presented_key(req.headers()).is_some_and(|k| constant_time_eq(k, expected.expose()));
        if !ok {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "claude-auth proxy: missing or wrong local key (send it as x-api-key)",
            );
        }
    }
    let Some(path_and_query) = shared.target.join(req.uri().path_and_query()) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "claude-auth proxy: the request target must be a path, without . or .. segments",
        );
    };
    let (parts, body) = req.into_parts();
    let method = parts.method;
    let mut headers = parts.headers;
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
    strip(&mut headers, is_dropped_from_request);
    headers.insert(header::HOST, shared.target.host.clone());
    let may_retry = credential.can_refresh();
    let plan = match plan_body(body, &headers, shared.config.max_buffered_body, may_retry).await {
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
        return internal_error(&e);
    }
    let bytes = match plan {
        BodyPlan::Stream(body) => {
            return match send(shared, method, path_and_query, headers, Either::Right(body)).await {
                Ok(r) => relay(&shared.target, r),
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
        return relay(&shared.target, first);
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
    ))
    .await
}

async fn retry_after_401(
    shared: &Shared,
    credential: &Credential,
    method: hyper::Method,
    path_and_query: PathAndQuery,
    mut headers: HeaderMap,
    bytes: Bytes,
) -> Response<ProxyBody> {
    let refreshed = match shared.manager.force_refresh(credential.secret()).await {
        Ok(o) => o.credential,
        Err(e) => {
            return json_error(
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
        return internal_error(&e);
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
        Ok(r) => relay(&shared.target, r),
        Err(resp) => resp,
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
    let target = Target::parse(&config.upstream)?;
    let upstream = Upstream::new(&target, &config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Unsupported(format!("could not listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Unsupported(format!("proxy listener: {e}")))?;
    let shared = Arc::new(Shared {
        manager,
        config,
        target,
        upstream,
        auth: Mutex::new(None),
    });
    if let Upstream::Direct(pool) = &shared.upstream {
        // Close idle upstream connections in time; ends with the proxy.
        let pool = Arc::downgrade(pool);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POOL_IDLE_TIMEOUT / 3);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match pool.upgrade() {
                    Some(pool) => pool.prune(),
                    None => break,
                }
            }
        });
    }
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(listener::serve(listener, shared, rx));
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
    fn the_log_escapes_what_the_client_sent() {
        assert_eq!(escape_for_log("/v1/messages"), "/v1/messages");
        assert!(matches!(
            escape_for_log("/v1/messages"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_for_log("/a\u{202e}b\nc\rd\u{1b}[0m\te\u{7f}\\f\u{e9}"),
            "/a\\u{202e}b\\u{a}c\\u{d}d\\u{1b}[0m\\u{9}e\\u{7f}\\\\f\\u{e9}"
        );
        assert!(is_allowed_method(&hyper::Method::POST));
        for refused in ["TRACE", "TRACK", "CONNECT", "PROPFIND"] {
            let m = hyper::Method::from_bytes(refused.as_bytes()).unwrap();
            assert!(!is_allowed_method(&m), "{refused}");
        }
    }

    #[test]
    fn dot_segments_are_refused_in_any_spelling_and_other_dots_pass() {
        let target = Target::parse("https://gateway.example/anthropic/").unwrap();
        let pq = |s: &'static str| PathAndQuery::from_static(s);
        for bad in [
            "/../admin",
            "/v1/./messages",
            "/v1/..",
            "/%2e%2e/admin",
            "/%2E./admin",
            "/v1/%2e/messages",
        ] {
            assert_eq!(target.join(Some(&pq(bad))), None, "{bad}");
        }
        for good in [
            "/v1/messages",
            "/v1/files/file.v2.json",
            "/v1/x?q=../..",
            "/v1/...",
            "/v1/%41",
        ] {
            assert!(target.join(Some(&pq(good))).is_some(), "{good}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in [
            "Bearer ca-local-k",
            "bearer ca-local-k",
            "BEARER ca-local-k",
        ] {
            let mut h = HeaderMap::new();
            h.insert("authorization", HeaderValue::from_static(header));
            assert_eq!(presented_key(&h), Some("ca-local-k"), "{header}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("Basic ca-local-k"),
        );
        assert_eq!(presented_key(&h), None);
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
    #[test]
    fn hop_by_hop_headers_are_stripped_and_lengths_kept_unless_chunked() {
        let mut resp = HeaderMap::new();
        resp.insert("content-type", HeaderValue::from_static("application/json"));
        resp.insert("content-length", HeaderValue::from_static("235"));
        resp.insert("connection", HeaderValue::from_static("keep-alive"));
        resp.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        resp.append("x-custom", HeaderValue::from_static("a"));
        resp.append("x-custom", HeaderValue::from_static("b"));
        strip(&mut resp, is_hop_by_hop);
        assert_eq!(resp.len(), 4);
        assert_eq!(resp["content-length"], "235");
        assert_eq!(resp.get_all("x-custom").iter().count(), 2);

        let mut req = HeaderMap::new();
        req.insert("host", HeaderValue::from_static("127.0.0.1:1"));
        req.insert("x-api-key", HeaderValue::from_static("ca-local-xyz"));
        req.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        req.insert("content-length", HeaderValue::from_static("9"));
        req.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        strip(&mut req, is_dropped_from_request);
        let names: Vec<&str> = req.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["host", "anthropic-version"]);
    }

    #[test]
    fn redirects_into_the_upstream_come_back_through_the_proxy() {
        let at = |base: &str, location: &str| {
            Target::parse(base)
                .unwrap()
                .local_location(&HeaderValue::from_str(location).unwrap())
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let plain = "https://api.example.com";
        assert_eq!(
            at(plain, "https://api.example.com/v1/x?a=1").as_deref(),
            Some("/v1/x?a=1")
        );
        assert_eq!(
            at(plain, "HTTPS://API.EXAMPLE.COM/v1/x").as_deref(),
            Some("/v1/x")
        );
        assert_eq!(at(plain, "https://api.example.com").as_deref(), Some("/"));
        assert_eq!(
            at(plain, "https://api.example.com?a").as_deref(),
            Some("/?a")
        );
        assert_eq!(at(plain, "/v1/y").as_deref(), Some("/v1/y"));
        // Another scheme, host or port: the client's business.
        assert_eq!(at(plain, "http://api.example.com/v1/x"), None);
        assert_eq!(at(plain, "https://api.example.com:8443/v1/x"), None);
        assert_eq!(at(plain, "https://api.example.com.evil/v1/x"), None);
        assert_eq!(at(plain, "https://other.example.com/v1/x"), None);
        assert_eq!(at(plain, "//other.example.com/v1/x"), None);
        let gateway = "http://127.0.0.1:8080/anthropic/";
        assert_eq!(
            at(gateway, "http://127.0.0.1:8080/anthropic/v1/x").as_deref(),
            Some("/v1/x")
        );
        assert_eq!(at(gateway, "/anthropic/v1/x#f").as_deref(), Some("/v1/x#f"));
        assert_eq!(at(gateway, "/anthropic").as_deref(), Some("/"));
        assert_eq!(at(gateway, "/anthropic?q").as_deref(), Some("/?q"));
        assert_eq!(
            at(plain, "https://api.example.com:443/v1/x").as_deref(),
            Some("/v1/x")
        );
        assert_eq!(
            at(plain, "https://api.example.com/v1/../v2/x").as_deref(),
            Some("/v2/x")
        );
        // Never turned into a reference to another host.
        assert_eq!(at(plain, "https://api.example.com//evil.example/x"), None);
        assert_eq!(at(plain, "https://api.example.com/\\evil.example/x"), None);
        assert_eq!(at(plain, "/\\evil.example/x"), None);
        assert_eq!(at(plain, "https://api.example.com@evil.example/x"), None);
        assert_eq!(at(plain, "https://evil.example\\@api.example.com/x"), None);
        // Path-relative: resolves the same against the proxy, left alone.
        assert_eq!(at(plain, "moved"), None);
        // Outside the base URL's path: the proxy cannot serve it, left alone.
        assert_eq!(at(gateway, "/other/v1/x"), None);
        assert_eq!(at(gateway, "/anthropicx/v1"), None);
        assert_eq!(at(gateway, "http://127.0.0.1:8080/other"), None);
        assert_eq!(at(gateway, "/anthropic//evil.example/x"), None);
        assert_eq!(at(gateway, "/anthropic/../v1"), None);
        assert_eq!(
            at("http://[::1]:8080/", "http://[::1]:8080/v1/x").as_deref(),
            Some("/v1/x")
        );
        assert_eq!(at("http://[::1]:8080/", "http://[::2]:8080/v1/x"), None);
    }

    #[test]
    fn the_base_url_is_parsed_once_and_joined_with_the_path() {
        let pq = |s: &'static str| PathAndQuery::from_static(s);
        let t = Target::parse("https://api.anthropic.com/").unwrap();
        assert_eq!(t.host, "api.anthropic.com");
        assert_eq!(
            t.uri(Some(&pq("/v1/messages?beta=true"))).unwrap(),
            "https://api.anthropic.com/v1/messages?beta=true"
        );
        let t = Target::parse("http://127.0.0.1:8080/gateway/anthropic/").unwrap();
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(
            t.uri(Some(&pq("/v1/models"))).unwrap(),
            "http://127.0.0.1:8080/gateway/anthropic/v1/models"
        );
        assert!(t.uri(Some(&pq("*"))).is_none());
        // Default ports are not repeated in Host, as an HTTP client would not.
        assert_eq!(
            Target::parse("https://example.com:443").unwrap().host,
            "example.com"
        );
        assert_eq!(Target::parse("http://[::1]:9/").unwrap().host, "[::1]:9");
        for bad in [
            "ftp://example.com",
            "https://u:p@example.com",
            "https://example.com/?a=b",
            "nope",
        ] {
            let err = Target::parse(bad).err().unwrap().to_string();
            assert!(!err.contains(":p@"), "{err}");
        }
    }
}
