//! The proxy's upstream leg: its own pool of keep-alive HTTP/1.1
//! connections to the one upstream (rustls for https), or reqwest when an
//! outgoing proxy setting applies. A connection is driven by the task of
//! the request using it (`link`), and goes back to the pool only once its
//! response body has been read to the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use http_body_util::Either;
use hyper::http::uri::PathAndQuery;
use hyper::{Request, Response, Uri};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;

use super::link::{Link, Outgoing, PooledBody};
use super::target::Target;
use super::{ProxyConfig, RelayedBody, UpstreamBody};
use crate::error::{Error, Result};

/// The upstream HTTP client.
pub(super) enum Upstream {
    /// Our own pool of HTTP/1.1 connections (rustls for https): the normal case.
    Direct(Arc<Pool>),
    /// reqwest, only when an `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` setting
    /// applies to the upstream (it speaks to outgoing proxies).
    ViaProxy(reqwest::Client),
}

/// Why the upstream request failed.
pub(super) struct SendFailed {
    pub(super) connect: bool,
}

impl Upstream {
    pub(super) fn new(target: &Target, config: &ProxyConfig) -> Result<Upstream> {
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
                .read_timeout(config.upstream_timeout)
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
            read_timeout: config.upstream_timeout,
            idle: Mutex::new(Vec::new()),
            ticks: AtomicU64::new(0),
        })))
    }

    pub(super) async fn send(
        &self,
        target: &Target,
        mut req: Request<UpstreamBody>,
        path_and_query: PathAndQuery,
    ) -> std::result::Result<Response<RelayedBody>, SendFailed> {
        match self {
            Upstream::Direct(pool) => Ok(Pool::send(pool, req, path_and_query)
                .await?
                .map(Either::Left)),
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
pub(super) const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// At most this many idle upstream connections are kept: a bound, set high
/// enough that a burst's connections are reused by the next burst (with 256,
/// 1,000 SSE streams after 1,000 others peaked 4 MB higher, reconnecting).
pub(super) const POOL_MAX_IDLE: usize = 1024;

/// Keep-alive HTTP/1.1 connections to the one upstream. Simpler than a
/// general client's pool, and cheaper per request: no per-host map to hash
/// into, and no task per connection. A connection is driven by the task of
/// the request using it (the client's connection), so a request and its
/// answer cross no task or thread boundary; while idle in the pool nobody
/// polls it, and a connection the upstream closed meanwhile is noticed when
/// it is taken out (the request then goes out on another one) or by
/// [`Pool::prune`].
pub(super) struct Pool {
    pub(super) connector: HttpsConnector<HttpConnector>,
    /// `scheme://authority/…` of the upstream, for the connector.
    pub(super) origin: Uri,
    pub(super) connect_timeout: Duration,
    /// How long the upstream may take to answer, and to send each piece of
    /// its body ([`ProxyConfig::upstream_timeout`]).
    pub(super) read_timeout: Duration,
    /// Most recently used last, each with the [`Pool::ticks`] at its
    /// return: how long it has been idle is counted in prune ticks, not
    /// read from the clock on every request.
    pub(super) idle: Mutex<Vec<(Link, u64)>>,
    /// Bumped by every [`Pool::prune`], each [`PRUNE_EVERY`].
    pub(super) ticks: AtomicU64,
}

/// How often the proxy prunes the pool ([`Pool::prune`]).
pub(super) const PRUNE_EVERY: Duration = Duration::from_secs(POOL_IDLE_TIMEOUT.as_secs() / 3);
/// A connection back in the pool for this many prune ticks has been idle
/// for at least `2 ×` [`PRUNE_EVERY`] and at most [`POOL_IDLE_TIMEOUT`]: it
/// is closed rather than used (the upstream may be closing it).
const IDLE_TICKS: u64 = 3;

impl Pool {
    /// The most recently used idle connection that is still open.
    pub(super) fn checkout(&self) -> Option<Link> {
        let mut idle = self.idle.lock().ok()?;
        let now = self.ticks.load(Ordering::Relaxed);
        while let Some((mut link, since)) = idle.pop() {
            if now.saturating_sub(since) < IDLE_TICKS && !link.closed_while_idle() {
                return Some(link);
            }
        }
        None
    }

    /// A connection whose exchange is complete, back for the next request.
    pub(super) fn checkin(&self, link: Link) {
        if let Ok(mut idle) = self.idle.lock() {
            // After a burst, keep the most recently used: the oldest idle
            // connection is closed once the cap is reached.
            if idle.len() >= POOL_MAX_IDLE {
                idle.remove(0);
            }
            idle.push((link, self.ticks.load(Ordering::Relaxed)));
        }
    }

    /// Drop connections idle for longer than [`POOL_IDLE_TIMEOUT`] or
    /// closed by the upstream, as a client's pool does between requests.
    /// Called every [`PRUNE_EVERY`]: each call is a tick of the pool's clock.
    pub(super) fn prune(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            let now = self.ticks.fetch_add(1, Ordering::Relaxed) + 1;
            idle.retain_mut(|(link, since)| {
                now.saturating_sub(*since) < IDLE_TICKS && !link.closed_while_idle()
            });
        }
    }

    /// A new connection: TCP, and TLS for https, within the connect timeout.
    pub(super) async fn connect(&self) -> std::result::Result<Link, SendFailed> {
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
            Ok(Link::new(io.into()))
        };
        tokio::time::timeout(self.connect_timeout, connect)
            .await
            .unwrap_or(Err(failed))
    }

    /// Send `req` to `path_and_query` upstream on a pooled connection (or a
    /// new one) and return the response, whose body reads from it.
    pub(super) async fn send(
        pool: &Arc<Pool>,
        req: Request<UpstreamBody>,
        path_and_query: PathAndQuery,
    ) -> std::result::Result<Response<PooledBody>, SendFailed> {
        let (parts, body) = req.into_parts();
        let mut body = Outgoing::new(body);
        loop {
            let (mut link, reused) = match pool.checkout() {
                Some(link) => (link, true),
                // Boxed: rare, and it would otherwise enlarge every request's future,
                // which the server keeps per connection (1,000 SSE streams: 1,000 of them).
                None => (Box::pin(pool.connect()).await?, false),
            };
            // Within `read_timeout`: an upstream that never answers fails
            // the exchange, the connection is dropped (never pooled) and
            // the client gets a 502.
            let exchanged = link
                .exchange(
                    &parts.method,
                    &path_and_query,
                    &parts.headers,
                    &mut body,
                    pool.read_timeout,
                )
                .await;
            match exchanged {
                Ok((head, sent_whole)) => {
                    let body = PooledBody::new(
                        link,
                        &head,
                        sent_whole,
                        Arc::clone(pool),
                        pool.read_timeout,
                    );
                    let mut resp = Response::new(body);
                    *resp.status_mut() = head.status;
                    *resp.version_mut() = head.version;
                    *resp.headers_mut() = head.headers;
                    return Ok(resp);
                }
                // A kept-alive connection the upstream had closed: the
                // request goes out again on another (a fresh one at the latest).
                Err(failed) if failed.retry && reused => continue,
                Err(_) => return Err(SendFailed { connect: false }),
            }
        }
    }
}

#[cfg(test)]
#[path = "upstream_tests.rs"]
mod tests;
