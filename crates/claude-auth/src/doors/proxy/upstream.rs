//! The proxy's upstream leg: its own pool of keep-alive HTTP/1.1
//! connections to the one upstream (rustls for https), or reqwest when an
//! outgoing proxy setting applies. A connection is driven by the task of
//! the request using it, and goes back to the pool only once its response
//! body has been read to the end.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::Either;
use hyper::body::{Body as _, Frame, Incoming};
use hyper::client::conn::http1;
use hyper::http::uri::PathAndQuery;
use hyper::{Request, Response, Uri};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;

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

    pub(super) async fn send(
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
/// polls it, and a connection the upstream closed meanwhile is noticed at
/// its next use (the request then goes out on another one) or by
/// [`Pool::prune`].
pub(super) struct Pool {
    pub(super) connector: HttpsConnector<HttpConnector>,
    /// `scheme://authority/…` of the upstream, for the connector.
    pub(super) origin: Uri,
    pub(super) connect_timeout: Duration,
    /// Most recently used last.
    pub(super) idle: Mutex<Vec<(Link, Instant)>>,
}

type UpstreamIo = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// One upstream connection: the handle requests are sent through, and the
/// connection itself, which whoever uses the handle polls.
pub(super) struct Link {
    sender: http1::SendRequest<UpstreamBody>,
    /// `None` once the connection has ended (which fails what was queued on it).
    conn: Option<Pin<Box<http1::Connection<UpstreamIo, UpstreamBody>>>>,
}

impl Link {
    /// Let the connection do its I/O (with `cx`'s waker registered for it).
    fn drive(&mut self, cx: &mut Context<'_>) {
        if let Some(conn) = self.conn.as_mut() {
            if conn.as_mut().poll(cx).is_ready() {
                self.conn = None;
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.conn.is_none() || self.sender.is_closed()
    }

    /// Whether the upstream closed it while it sat idle (polled without a waker).
    fn closed_while_idle(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        self.drive(&mut cx);
        self.is_closed()
    }

    /// Until it can take a request, driving it meanwhile.
    async fn ready(&mut self) -> hyper::Result<()> {
        std::future::poll_fn(|cx| {
            self.drive(cx);
            self.sender.poll_ready(cx)
        })
        .await
    }
}

impl Pool {
    pub(super) fn checkout(&self) -> Option<Link> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((link, since)) = idle.pop() {
            if !link.is_closed() && since.elapsed() < POOL_IDLE_TIMEOUT {
                return Some(link);
            }
        }
        None
    }

    pub(super) fn checkin(self: &Arc<Self>, mut link: Link) {
        if link.is_closed() {
            return;
        }
        if !link.sender.is_ready() {
            // The upstream answered before the request body was all sent
            // (or the connection is still finishing): it goes back only once
            // it can take a request, so nobody waits behind a slow upload;
            // meanwhile a task of its own drives it.
            // (Off a runtime, e.g. while it shuts down, it is just closed.)
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let pool = Arc::clone(self);
                runtime.spawn(async move {
                    if link.ready().await.is_ok() {
                        pool.idle_push(link);
                    }
                });
            }
            return;
        }
        self.idle_push(link);
    }

    pub(super) fn idle_push(&self, link: Link) {
        if let Ok(mut idle) = self.idle.lock() {
            // After a burst, keep the most recently used: the oldest idle
            // connection is closed once the cap is reached.
            if idle.len() >= POOL_MAX_IDLE {
                idle.remove(0);
            }
            idle.push((link, Instant::now()));
        }
    }

    /// Drop connections idle for longer than [`POOL_IDLE_TIMEOUT`] or
    /// closed by the upstream, as a client's pool does between requests.
    pub(super) fn prune(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain_mut(|(link, since)| {
                since.elapsed() < POOL_IDLE_TIMEOUT && !link.closed_while_idle()
            });
        }
    }

    /// A new connection: TCP, TLS for https, HTTP/1.1 handshake, all within
    /// the connect timeout.
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
            let (sender, conn) = http1::handshake(io)
                .await
                .map_err(|_| SendFailed { connect: true })?;
            Ok(Link {
                sender,
                conn: Some(Box::pin(conn)),
            })
        };
        tokio::time::timeout(self.connect_timeout, connect)
            .await
            .unwrap_or(Err(failed))
    }

    pub(super) async fn send(
        pool: &Arc<Pool>,
        mut req: Request<UpstreamBody>,
    ) -> std::result::Result<Response<PooledBody>, SendFailed> {
        loop {
            let (mut link, reused) = match pool.checkout() {
                Some(link) => (link, true),
                // Boxed: rare, and it would otherwise enlarge every request's future,
                // which the server keeps per connection (1,000 SSE streams: 1,000 of them).
                None => (Box::pin(pool.connect()).await?, false),
            };
            // A pooled connection may have been closed by the upstream meanwhile.
            if link.ready().await.is_err() {
                if reused {
                    continue;
                }
                return Err(SendFailed { connect: false });
            }
            let mut answer = std::pin::pin!(link.sender.try_send_request(req));
            let answered = std::future::poll_fn(|cx| {
                link.drive(cx);
                answer.as_mut().poll(cx)
            })
            .await;
            match answered {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let mut body = PooledBody {
                        inner: body,
                        link: Some(link),
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

/// An upstream response body, which drives its connection as it is read;
/// the connection goes back to the pool once the body has been read to the
/// end.
pub(super) struct PooledBody {
    pub(super) inner: Incoming,
    pub(super) link: Option<Link>,
    pub(super) pool: Arc<Pool>,
    pub(super) done: bool,
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let mut polled = Pin::new(&mut this.inner).poll_frame(cx);
        if polled.is_pending() {
            // Nothing buffered: let the connection read, then look again.
            if let Some(link) = this.link.as_mut() {
                link.drive(cx);
            }
            polled = Pin::new(&mut this.inner).poll_frame(cx);
        }
        match &polled {
            Poll::Ready(None) => this.done = true,
            Poll::Ready(Some(Ok(_))) => this.done = this.inner.is_end_stream(),
            _ => {}
        }
        if this.done {
            // The connection finishes the exchange (and is ready for the next).
            if let Some(link) = this.link.as_mut() {
                link.drive(cx);
            }
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
        if let (true, Some(link)) = (self.done, self.link.take()) {
            self.pool.checkin(link);
        }
    }
}
