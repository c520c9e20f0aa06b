//! What each client connection may hold, and for how long: whether a
//! request is in progress ([`Activity`]), the socket whose reads and writes
//! fail past the limits of the state it is in ([`IdleLimited`]), the
//! request body counted while it is received ([`ClientBody`], for both
//! HTTP/1, read by `h1_conn`, and HTTP/2, hyper's) and the answer body
//! that keeps its request counted until it is sent ([`Tracked`]).
//! The limits themselves are the listener's (see `listener`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::h1_conn::H1Body;
use super::ProxyBody;

/// Whether a connection has a request in progress, and since when it has
/// had none.
pub(super) struct Activity {
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
    pub(super) fn new() -> Arc<Activity> {
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
    pub(super) fn begin(self: &Arc<Self>) -> ActiveGuard {
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
pub(super) struct Limits {
    /// No request in progress (and a request's headers not yet in).
    pub(super) idle: Duration,
    /// A write blocked.
    pub(super) send: Duration,
    /// Nothing received while a request body is due.
    pub(super) body_gap: Duration,
    /// A request body from its start to its end.
    pub(super) body: Duration,
}

/// A request body, counted as being received (so the client's reads are
/// under the body limits) until it ends or is dropped.
pub(super) struct ClientBody {
    inner: Inner,
    receiving: Option<Arc<Activity>>,
}

enum Inner {
    H1(H1Body),
    H2(Incoming),
}

impl ClientBody {
    /// An HTTP/2 request's body, as hyper receives it.
    pub(super) fn h2(inner: Incoming, activity: &Arc<Activity>) -> ClientBody {
        ClientBody::new(Inner::H2(inner), activity)
    }

    /// An HTTP/1 request's body, read from its connection.
    pub(super) fn h1(inner: H1Body, activity: &Arc<Activity>) -> ClientBody {
        ClientBody::new(Inner::H1(inner), activity)
    }

    fn new(inner: Inner, activity: &Arc<Activity>) -> ClientBody {
        let mut body = ClientBody {
            inner,
            receiving: None,
        };
        if !body.is_end_stream() {
            if activity.bodies.fetch_add(1, Ordering::AcqRel) == 0 {
                let now = activity.now_ms();
                activity.body_since_ms.store(now, Ordering::Release);
                activity.body_read_ms.store(now, Ordering::Release);
            }
            body.receiving = Some(Arc::clone(activity));
        }
        body
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
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        let polled = match &mut this.inner {
            Inner::H1(body) => body.poll_frame(cx),
            Inner::H2(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(io::Error::other))),
        };
        if polled.is_ready()
            && (this.is_end_stream() || !matches!(polled, Poll::Ready(Some(Ok(_)))))
        {
            this.received();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::H1(body) => body.is_end_stream(),
            Inner::H2(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::H1(body) => body.size_hint(),
            Inner::H2(body) => body.size_hint(),
        }
    }
}

/// A request in progress on its connection.
pub(super) struct ActiveGuard(Arc<Activity>);

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
    pub(super) body: ProxyBody,
    pub(super) _active: ActiveGuard,
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
pub(super) struct IdleLimited<T> {
    io: T,
    activity: Arc<Activity>,
    limits: Limits,
    clock: Pin<Box<tokio::time::Sleep>>,
    /// Armed at the first blocked write after progress.
    send_clock: Pin<Box<tokio::time::Sleep>>,
    send_blocked: bool,
}

impl<T> IdleLimited<T> {
    pub(super) fn new(io: T, activity: Arc<Activity>, limits: Limits) -> Self {
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
