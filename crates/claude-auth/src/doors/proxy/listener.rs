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
//!
//! A connection's first bytes choose its protocol: the HTTP/2 preface
//! (prior knowledge, as `h2c` clients send it) goes to hyper's HTTP/2
//! server, anything else to the proxy's own HTTP/1 server (`h1_conn`).
//! The state and the socket those limits apply to are `activity`'s.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};

use super::activity::{Activity, ClientBody, IdleLimited, Limits, Tracked};
use super::handler::{handle, Shared};

/// How long the accept loop pauses after an accept error that is not about
/// one connection (out of file descriptors, out of memory).
pub(super) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What an HTTP/2 client with prior knowledge sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

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
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .keep_alive_interval(config.http2_keep_alive)
        .keep_alive_timeout(config.http2_keep_alive);
    let h2 = Arc::new(h2);
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
        let (shared, drain, h2) = (Arc::clone(&shared), Arc::clone(&drain), Arc::clone(&h2));
        tokio::spawn(async move {
            let signal = std::pin::pin!(drain.notify.notified());
            let mut watch = DrainWatch {
                signal,
                registered: false,
                drain: &drain,
            };
            connection(io, shared, activity, &h2, &mut watch).await;
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

type H2Builder = hyper::server::conn::http2::Builder<TokioExecutor>;

/// One connection: its first bytes say which protocol serves it.
async fn connection(
    mut io: IdleLimited<TcpStream>,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    h2: &H2Builder,
    drain: &mut DrainWatch<'_, '_>,
) {
    let mut rbuf = BytesMut::with_capacity(8 * 1024);
    let sniffed = poll_fn(|cx| loop {
        let known = rbuf.len() >= H2_PREFACE.len() || !H2_PREFACE.starts_with(&rbuf);
        if known {
            return Poll::Ready(Some(rbuf.starts_with(H2_PREFACE)));
        }
        if rbuf.is_empty() && drain.draining(cx) {
            return Poll::Ready(None);
        }
        match tokio_util::io::poll_read_buf(Pin::new(&mut io), cx, &mut rbuf) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(None),
            Poll::Ready(Ok(_)) => {}
        }
    })
    .await;
    match sniffed {
        None => {}
        Some(false) => super::h1_conn::serve(io, rbuf, shared, activity, drain).await,
        Some(true) => {
            let io = Rewind {
                read: rbuf.freeze(),
                io,
            };
            serve_h2(TokioIo::new(io), shared, activity, h2, drain).await;
        }
    }
}

/// An HTTP/2 connection, served by hyper.
async fn serve_h2(
    io: TokioIo<Rewind<IdleLimited<TcpStream>>>,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    h2: &H2Builder,
    drain: &mut DrainWatch<'_, '_>,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        // Counted from here until the response body is done or dropped.
        let active = activity.begin();
        let req = req.map(|body| ClientBody::h2(body, &activity));
        let shared = Arc::clone(&shared);
        async move {
            let resp = handle(shared, req).await;
            Ok::<_, std::convert::Infallible>(resp.map(|body| Tracked {
                body,
                _active: active,
            }))
        }
    });
    let mut conn = std::pin::pin!(h2.serve_connection(io, service));
    let mut draining = false;
    let _ = poll_fn(|cx| {
        if !draining && drain.draining(cx) {
            draining = true;
            conn.as_mut().graceful_shutdown();
        }
        conn.as_mut().poll(cx)
    })
    .await;
}

/// Tells the open connections to finish gracefully. Unlike hyper_util's
/// `GracefulShutdown`, whose watch channel each connection polls every
/// time it is polled (a lock each time, several per request), a connection
/// registers for the signal once and then reads a flag.
#[derive(Default)]
struct Drain {
    draining: AtomicBool,
    notify: Notify,
}

/// A connection's view of the [`Drain`].
pub(super) struct DrainWatch<'a, 'd> {
    signal: Pin<&'a mut tokio::sync::futures::Notified<'d>>,
    registered: bool,
    drain: &'d Drain,
}

impl DrainWatch<'_, '_> {
    /// Whether the proxy is shutting down; the first call registers the
    /// connection's task to be woken when it starts to.
    pub(super) fn draining(&mut self, cx: &mut Context<'_>) -> bool {
        // The signal is polled once, to register this task's waker (the
        // same for every later poll); then the flag is read, which is set
        // before the waiters are woken.
        if !self.registered {
            self.registered = true;
            if self.signal.as_mut().poll(cx).is_ready() {
                return true;
            }
        }
        self.draining_now()
    }

    /// Whether the proxy is shutting down, read without registering.
    pub(super) fn draining_now(&self) -> bool {
        self.drain.draining.load(Ordering::Acquire)
    }
}

/// The socket with the bytes read to choose the protocol put back in front.
struct Rewind<T> {
    read: Bytes,
    io: T,
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.read.is_empty() {
            let n = this.read.len().min(buf.remaining());
            buf.put_slice(&this.read[..n]);
            this.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
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
