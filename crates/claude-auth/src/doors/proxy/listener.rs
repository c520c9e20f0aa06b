//! The proxy's listener: accepting connections within limits.
//!
//! Anything on the machine can connect to the proxy, without a key, so no
//! connection may cost it more than a bounded share of its sockets and time:
//!
//! - at most [`ProxyConfig::max_connections`](super::ProxyConfig::max_connections) connections are served at once;
//!   further ones wait in the kernel's backlog until a slot frees;
//! - an accept error (out of file descriptors: `EMFILE`, `ENFILE`) backs off
//!   for [`ACCEPT_BACKOFF`] instead of retrying at once, which would spin a
//!   core while serving nothing;
//! - a connection with no request in progress (before the first one, while
//!   the protocol is being sniffed or the HTTP/2 preface or a request's
//!   headers arrive, and between requests) is closed after
//!   [`ProxyConfig::idle_timeout`](super::ProxyConfig::idle_timeout), whatever the protocol and whatever the
//!   client sends meanwhile (HTTP/2 pings and settings do not count);
//! - a connection whose client is sending a request body is closed when the
//!   body takes longer than [`ProxyConfig::body_timeout`](super::ProxyConfig::body_timeout) or nothing of it
//!   arrives for the idle limit: a body trickling in holds no connection;
//! - a connection whose client stops reading what it asked for (a write to
//!   it blocked for [`ProxyConfig::send_timeout`](super::ProxyConfig::send_timeout)) is closed;
//! - HTTP/1's header read timeout is part of that idle limit (the shorter
//!   of the two applies), and HTTP/2 pings a client while
//!   requests are in progress, closing the connection when a ping goes
//!   unanswered ([`ProxyConfig::http2_keep_alive`](super::ProxyConfig::http2_keep_alive)).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::handler::{handle, Shared};
use super::ProxyBody;

/// How long the accept loop pauses after an accept error that is not about
/// one connection (out of file descriptors, out of memory).
pub(super) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accept and serve connections until `shutdown` changes (or its sender is
/// dropped), then let the open ones finish.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = &shared.config;
    // Until a request's headers are in, the connection is idle: the header
    // read timeout is part of the idle limit.
    let idle_limit = config.idle_timeout.min(config.header_read_timeout);
    let limits = Limits {
        idle: idle_limit,
        send: config.send_timeout,
        body_gap: idle_limit,
        body: config.body_timeout,
    };
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // HTTP/1's header read timeout is the idle limit below (the clock of
    // `IdleLimited`, which runs until a request's headers are in): hyper's
    // own would arm a second timer for every request.
    builder.http1().header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.http2_keep_alive)
        .keep_alive_timeout(config.http2_keep_alive);
    let drain = Arc::new(Drain::default());
    loop {
        // A free slot first: with none, connections wait in the backlog.
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // This connection's own trouble: the next one may be fine.
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "proxy accept failed; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                        _ = shutdown.changed() => break,
                    }
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let io = IdleLimited::new(stream, Arc::clone(&activity), limits);
        let shared = Arc::clone(&shared);
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            // Counted from here until the response body is done or dropped.
            let active = activity.begin();
            let req = req.map(|body| ClientBody::new(body, &activity));
            let shared = Arc::clone(&shared);
            async move {
                let resp = handle(shared, req).await;
                Ok::<_, Infallible>(resp.map(|body| Tracked {
                    body,
                    _active: active,
                }))
            }
        });
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned();
        let drain = Arc::clone(&drain);
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let mut signal = std::pin::pin!(drain.notify.notified());
            let (mut registered, mut draining) = (false, false);
            let _ = std::future::poll_fn(|cx| {
                if !draining {
                    // The signal is polled once, to register this task's
                    // waker (the same for every later poll); then the flag
                    // is read, which is set before the waiters are woken.
                    if !registered {
                        registered = true;
                        draining = signal.as_mut().poll(cx).is_ready();
                    }
                    draining |= drain.draining.load(Ordering::Acquire);
                    if draining {
                        conn.as_mut().graceful_shutdown();
                    }
                }
                conn.as_mut().poll(cx)
            })
            .await;
            drop(permit);
        });
    }
    drop(listener);
    // Every connection finishes what it is doing and closes; each holds a
    // slot until it has.
    drain.draining.store(true, Ordering::Release);
    drain.notify.notify_waiters();
    let all = u32::try_from(config.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Tells the open connections to finish gracefully. Unlike hyper_util's
/// `GracefulShutdown`, whose watch channel each connection polls every
/// time it is polled (a lock each time, several per request), a connection
/// registers for the signal once and then reads a flag.
#[derive(Default)]
struct Drain {
    draining: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

/// Accept errors that concern only the connection being accepted.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Whether a connection has a request in progress, and since when it has
/// had none.
struct Activity {
    born: Instant,
    /// Requests whose response is not yet done.
    active: AtomicUsize,
    /// When the last request ended, in milliseconds after `born`.
    idle_since_ms: AtomicU64,
    /// The connection's reader, woken when the last request ends so that
    /// it starts the idle clock.
    reader: AtomicWaker,
    /// Request bodies still being received.
    bodies: AtomicUsize,
    /// When the first of them began, in milliseconds after `born`.
    body_since_ms: AtomicU64,
    /// When the client last sent something while one was being received.
    body_read_ms: AtomicU64,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            born: Instant::now(),
            active: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            reader: AtomicWaker::new(),
            bodies: AtomicUsize::new(0),
            body_since_ms: AtomicU64::new(0),
            body_read_ms: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A request starts; it ends when the guard is dropped.
    fn begin(self: &Arc<Self>) -> ActiveGuard {
        self.active.fetch_add(1, Ordering::AcqRel);
        ActiveGuard(Arc::clone(self))
    }

    /// When a read that is still waiting fails: the idle limit when no
    /// request is in progress, the request body limits while one is being
    /// received, none otherwise (a response being streamed: the client
    /// need not send anything meanwhile).
    fn read_deadline(&self, limits: &Limits) -> Option<Instant> {
        let at = |ms: &AtomicU64| self.born + Duration::from_millis(ms.load(Ordering::Acquire));
        if self.bodies.load(Ordering::Acquire) > 0 {
            let gap = at(&self.body_read_ms) + limits.body_gap;
            let whole = at(&self.body_since_ms) + limits.body;
            return Some(gap.min(whole));
        }
        if self.active.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(at(&self.idle_since_ms) + limits.idle)
    }

    /// The client sent something.
    fn read_progress(&self) {
        if self.bodies.load(Ordering::Acquire) > 0 {
            self.body_read_ms.store(self.now_ms(), Ordering::Release);
        }
    }
}

/// The connection's time limits (see [`Activity::read_deadline`]).
#[derive(Clone, Copy)]
struct Limits {
    /// No request in progress (and a request's headers not yet in).
    idle: Duration,
    /// A write blocked.
    send: Duration,
    /// Nothing received while a request body is due.
    body_gap: Duration,
    /// A request body from its start to its end.
    body: Duration,
}

/// A request body, counted as being received (so the client's reads are
/// under the body limits) until it ends or is dropped.
pub(super) struct ClientBody {
    inner: Incoming,
    receiving: Option<Arc<Activity>>,
}

impl ClientBody {
    fn new(inner: Incoming, activity: &Arc<Activity>) -> ClientBody {
        let receiving = (!inner.is_end_stream()).then(|| {
            if activity.bodies.fetch_add(1, Ordering::AcqRel) == 0 {
                let now = activity.now_ms();
                activity.body_since_ms.store(now, Ordering::Release);
                activity.body_read_ms.store(now, Ordering::Release);
            }
            Arc::clone(activity)
        });
        ClientBody { inner, receiving }
    }

    fn received(&mut self) {
        if let Some(activity) = self.receiving.take() {
            activity.bodies.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for ClientBody {
    fn drop(&mut self) {
        self.received();
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if polled.is_ready()
            && (this.inner.is_end_stream() || !matches!(polled, Poll::Ready(Some(Ok(_)))))
        {
            this.received();
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

/// A request in progress on its connection.
struct ActiveGuard(Arc<Activity>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = u64::try_from(activity.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        activity.idle_since_ms.store(now, Ordering::Release);
        if activity.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.reader.wake();
        }
    }
}

/// A response body that keeps its request counted as in progress until it
/// has been sent (or dropped).
pub(super) struct Tracked {
    body: ProxyBody,
    _active: ActiveGuard,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = <ProxyBody as Body>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The client's socket, whose reads fail once the connection has been idle
/// for the timeout: the server then closes it, in any protocol state.
/// Its writes fail too once one has been blocked (the client not reading
/// what it asked for) for the send timeout.
struct IdleLimited<T> {
    io: T,
    activity: Arc<Activity>,
    limits: Limits,
    clock: Pin<Box<tokio::time::Sleep>>,
    /// Armed at the first blocked write after progress.
    send_clock: Pin<Box<tokio::time::Sleep>>,
    send_blocked: bool,
}

impl<T> IdleLimited<T> {
    fn new(io: T, activity: Arc<Activity>, limits: Limits) -> Self {
        let clock = Box::pin(tokio::time::sleep_until(
            (activity.born + limits.idle).into(),
        ));
        IdleLimited {
            io,
            activity,
            limits,
            clock,
            send_clock: Box::pin(tokio::time::sleep(limits.send)),
            send_blocked: false,
        }
    }

    /// After a write returned `polled`: progress disarms the send clock, a
    /// blocked write arms it (once) and fails when it runs out.
    fn write_outcome<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.send_blocked = false;
            return polled;
        }
        if !self.send_blocked {
            self.send_blocked = true;
            let deadline = tokio::time::Instant::now() + self.limits.send;
            self.send_clock.as_mut().reset(deadline);
        }
        match self.send_clock.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleLimited<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        if let Poll::Ready(r) = Pin::new(&mut this.io).poll_read(cx, buf) {
            if buf.filled().len() > before {
                this.activity.read_progress();
            }
            return Poll::Ready(r);
        }
        // Registered before looking, so the end of the last request wakes us.
        this.activity.reader.register(cx.waker());
        let Some(deadline) = this.activity.read_deadline(&this.limits) else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        // The deadline moves later with every request; rather than moving
        // the timer each time (a timer-wheel update per request), it is
        // moved when it goes off early.
        if deadline < this.clock.deadline() {
            this.clock.as_mut().reset(deadline);
        }
        loop {
            match this.clock.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if tokio::time::Instant::now() >= deadline => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "idle connection or slow request body: closed",
                    )))
                }
                Poll::Ready(()) => this.clock.as_mut().reset(deadline),
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleLimited<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.write_outcome(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.write_outcome(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.write_outcome(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
