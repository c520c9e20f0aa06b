//! One upstream connection and one exchange on it, in the task of the
//! request using it: the request's head and body are written (the body as
//! it arrives from the client, chunked when its length is unknown) while
//! the response head is watched for, then the response body is read as the
//! client's side reads it ([`PooledBody`]). Framing is `h1`'s.
//!
//! No task, channel or one-shot per request or connection: a request and
//! its answer cross no task or thread boundary, and the connection costs
//! nothing while it sits idle in the pool.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::Either;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::HeaderMap;
use hyper::http::uri::PathAndQuery;
use hyper::Method;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::activity::ClientBody;
use super::h1::{self, Decoded, Decoder, Head};
use super::upstream::Pool;
use super::UpstreamBody;

/// What the connector gives: plain TCP or TLS over it.
pub(super) type Connected = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// The socket: plain TCP as it is, TLS through hyper's I/O adapter (boxed:
/// its state is large, and a link moves with the response it carries).
pub(super) enum Io {
    Tcp(tokio::net::TcpStream),
    Tls(Box<TokioIo<Connected>>),
}

impl From<Connected> for Io {
    fn from(stream: Connected) -> Io {
        match stream {
            MaybeHttpsStream::Http(tcp) => Io::Tcp(tcp.into_inner()),
            tls @ MaybeHttpsStream::Https(_) => Io::Tls(Box::new(TokioIo::new(tls))),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The first read into an empty buffer; doubled while reads fill it, up to
/// [`MAX_READ`] (a large body takes fewer reads).
const FIRST_READ: usize = 8 * 1024;
const MAX_READ: usize = 64 * 1024;
/// Request body data up to this size is copied behind its framing, so that
/// a small request goes out in one write.
const COPY_BELOW: usize = 16 * 1024;

/// One keep-alive connection to the upstream, with its buffers.
pub(super) struct Link {
    io: Io,
    /// What has been read and not yet taken.
    rbuf: BytesMut,
    /// A request head (and small body pieces with their framing).
    wbuf: Vec<u8>,
    read_size: usize,
    /// The limit on an exchange ([`Link::exchange`]) and on the silences
    /// of its answer's body ([`PooledBody`]): made once per connection and
    /// moved only when it goes off early, not a new timer (a timer-wheel
    /// insert and removal) for every request and every body.
    clock: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Why an exchange failed.
pub(super) struct Failed {
    /// The request may go out again on another connection: this one was
    /// found closed before the request reached the upstream whole, or
    /// before any answer to a request that is harmless to repeat.
    pub(super) retry: bool,
}

/// The request body, as it is being sent.
pub(super) enum Outgoing {
    /// All of it, in memory (sent again as it is after a failed attempt).
    Buffered(Bytes),
    /// From the client, as it arrives; `started` once a piece was taken.
    Stream { body: ClientBody, started: bool },
}

impl Outgoing {
    pub(super) fn new(body: UpstreamBody) -> Outgoing {
        match body {
            Either::Left(mut full) => {
                // A `Full` yields its one frame at once.
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let bytes = match Pin::new(&mut full).poll_frame(&mut cx) {
                    Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
                    _ => Bytes::new(),
                };
                Outgoing::Buffered(bytes)
            }
            Either::Right(body) => Outgoing::Stream {
                body,
                started: false,
            },
        }
    }

    fn length(&self) -> Option<u64> {
        match self {
            Outgoing::Buffered(b) => Some(b.len() as u64),
            Outgoing::Stream { body, .. } => body.size_hint().exact(),
        }
    }

    /// Whether it can be sent again from the start.
    pub(super) fn replayable(&self) -> bool {
        match self {
            Outgoing::Buffered(_) => true,
            Outgoing::Stream { started, .. } => !started,
        }
    }
}

/// Where the sending of a request stands.
struct Sending {
    /// Bytes of `wbuf` written.
    written: usize,
    /// A body piece written after `wbuf` (large pieces are not copied).
    piece: Option<Bytes>,
    /// Chunked framing: a chunk's data is out, its CRLF not yet.
    chunk_open: bool,
    chunked: bool,
    body_done: bool,
    /// Everything written and flushed.
    sent: bool,
    /// Bytes of interim (1xx) responses skipped so far.
    interim: usize,
    /// How much of the read buffer was looked through for the head's end.
    scanned: usize,
    /// Some byte of this request reached the socket: a non-idempotent
    /// request is then never sent again (RFC 9110 9.2.2).
    wrote_any: bool,
    /// A small body of known length is on its way from the client: the
    /// head waits for it, so that both go out in one write (one segment,
    /// one wake-up of the upstream), as a buffering proxy sends them.
    hold_head: bool,
}

impl Link {
    pub(super) fn new(io: Io) -> Link {
        Link {
            io,
            rbuf: BytesMut::new(),
            wbuf: Vec::new(),
            read_size: FIRST_READ,
            clock: None,
        }
    }

    /// Read what the upstream sent into `rbuf`; `Ok(0)` at its end.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.rbuf.capacity() - self.rbuf.len() < self.read_size / 2 {
            self.rbuf.reserve(self.read_size);
        }
        let spare = self.rbuf.capacity() - self.rbuf.len();
        let polled = tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf);
        if let Poll::Ready(Ok(n)) = polled {
            if n == spare && self.read_size < MAX_READ {
                self.read_size *= 2;
            }
        }
        polled
    }

    /// Whether the upstream closed it (or sent something unasked) while it
    /// sat idle. Polled without a waker: nothing waits on an idle link.
    pub(super) fn closed_while_idle(&mut self) -> bool {
        if !self.rbuf.is_empty() {
            return true;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        !self.poll_fill(&mut cx).is_pending()
    }

    /// Send a request and read its response head. Returns the head and
    /// whether the request went out whole (an upstream may answer before
    /// the body is all sent; the connection is then not used again).
    pub(super) async fn exchange(
        &mut self,
        method: &Method,
        path_and_query: &PathAndQuery,
        headers: &HeaderMap,
        body: &mut Outgoing,
        limit: Duration,
    ) -> Result<(Head, bool), Failed> {
        let deadline = tokio::time::Instant::now() + limit;
        self.wbuf.clear();
        let length = body.length();
        h1::encode_head(&mut self.wbuf, method, path_and_query, headers, length);
        let mut sending = Sending {
            written: 0,
            piece: None,
            chunk_open: false,
            chunked: length.is_none(),
            body_done: false,
            sent: false,
            interim: 0,
            scanned: 0,
            wrote_any: false,
            hold_head: false,
        };
        match body {
            Outgoing::Buffered(bytes) => {
                sending.body_done = true;
                if bytes.len() < COPY_BELOW {
                    self.wbuf.extend_from_slice(bytes);
                } else {
                    sending.piece = Some(bytes.clone());
                }
            }
            Outgoing::Stream { body, .. } if body.is_end_stream() => {
                sending.body_done = true;
                if sending.chunked {
                    self.wbuf.extend_from_slice(b"0\r\n\r\n");
                }
            }
            Outgoing::Stream { .. } => {
                sending.hold_head = length.is_some_and(|n| n < COPY_BELOW as u64);
            }
        }
        let result =
            std::future::poll_fn(
                |cx| match self.poll_exchange(cx, method, body, &mut sending) {
                    Poll::Ready(done) => Poll::Ready(done),
                    // An upstream that never answers: the connection is not used
                    // again and the client gets a 502.
                    Poll::Pending => self
                        .poll_clock(cx, deadline)
                        .map(|()| Err(Failed { retry: false })),
                },
            )
            .await;
        if self.wbuf.capacity() > 4 * COPY_BELOW {
            self.wbuf = Vec::new();
        }
        result
    }

    fn poll_exchange(
        &mut self,
        cx: &mut Context<'_>,
        method: &Method,
        body: &mut Outgoing,
        s: &mut Sending,
    ) -> Poll<Result<(Head, bool), Failed>> {
        // Once anything of the response has come, nothing is sent again.
        let answered = Failed { retry: false };
        loop {
            if !self.rbuf.is_empty() {
                match h1::parse_head_counting(
                    &mut self.rbuf,
                    method,
                    &mut s.interim,
                    &mut s.scanned,
                ) {
                    Ok(Some(head)) => return Poll::Ready(Ok((head, s.sent))),
                    Ok(None) => {}
                    Err(_) => return Poll::Ready(Err(answered)),
                }
            }
            if !s.sent {
                match self.poll_send(cx, body, s) {
                    Poll::Ready(Ok(())) => continue,
                    // The upstream closed or reset the connection before it
                    // had the whole request. Sent again only when none of it
                    // went out, or when sending it twice is harmless
                    // (idempotent), as nginx and hyper do.
                    Poll::Ready(Err(SendError::Upstream)) => {
                        return Poll::Ready(Err(Failed {
                            retry: body.replayable() && (!s.wrote_any || method.is_idempotent()),
                        }))
                    }
                    Poll::Ready(Err(SendError::Client)) => return Poll::Ready(Err(answered)),
                    Poll::Pending => {}
                }
            }
            match self.poll_fill(cx) {
                // Closed or reset before any byte of an answer: a kept-alive
                // connection the upstream closed as the request went out.
                // Sent again (on another connection) when that is harmless:
                // an idempotent method, as nginx does (RFC 9110 9.2.2).
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_))
                    if self.rbuf.is_empty() && s.interim == 0 =>
                {
                    return Poll::Ready(Err(Failed {
                        retry: body.replayable() && (method.is_idempotent() || !s.wrote_any),
                    }))
                }
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Err(answered)),
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Ready once `deadline` has passed.
    fn poll_clock(&mut self, cx: &mut Context<'_>, deadline: tokio::time::Instant) -> Poll<()> {
        let clock = self
            .clock
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if deadline < clock.deadline() {
            clock.as_mut().reset(deadline);
        }
        loop {
            std::task::ready!(clock.as_mut().poll(cx));
            if tokio::time::Instant::now() >= deadline {
                return Poll::Ready(());
            }
            clock.as_mut().reset(deadline);
        }
    }

    /// One step of sending: `Ready(Ok)` after progress, `Pending` when
    /// neither the socket nor the client's body can give any.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        body: &mut Outgoing,
        s: &mut Sending,
    ) -> Poll<Result<(), SendError>> {
        let io = Pin::new(&mut self.io);
        if (s.body_done || !s.hold_head) && s.written < self.wbuf.len() {
            let n = std::task::ready!(ready_write(io.poll_write(cx, &self.wbuf[s.written..])))?;
            s.wrote_any |= n > 0;
            s.written += n;
            if s.written == self.wbuf.len() {
                self.wbuf.clear();
                s.written = 0;
            }
            return Poll::Ready(Ok(()));
        }
        if let Some(piece) = s.piece.as_mut() {
            let n = std::task::ready!(ready_write(io.poll_write(cx, piece)))?;
            s.wrote_any |= n > 0;
            let _ = piece.split_to(n);
            if piece.is_empty() {
                s.piece = None;
            }
            return Poll::Ready(Ok(()));
        }
        if !s.body_done {
            let Outgoing::Stream { body, started } = body else {
                s.body_done = true;
                return Poll::Ready(Ok(()));
            };
            match Pin::new(&mut *body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(_))) => return Poll::Ready(Err(SendError::Client)),
                Poll::Ready(Some(Ok(frame))) => {
                    *started = true;
                    // Trailers from the client are not forwarded.
                    if let Ok(data) = frame.into_data() {
                        self.queue_piece(s, data);
                    }
                    // The last piece: no second round for the end.
                    if body.is_end_stream() {
                        self.end_body(s);
                    }
                }
                Poll::Ready(None) => self.end_body(s),
            }
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut self.io).poll_flush(cx) {
            Poll::Ready(Ok(())) => {
                s.sent = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(_)) => Poll::Ready(Err(SendError::Upstream)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The client's body has ended: the chunked framing's last chunk.
    fn end_body(&mut self, s: &mut Sending) {
        s.body_done = true;
        if s.chunked {
            if s.chunk_open {
                self.wbuf.extend_from_slice(b"\r\n");
            }
            self.wbuf.extend_from_slice(b"0\r\n\r\n");
        }
    }

    /// A piece of the client's body, behind its chunk framing when chunked.
    fn queue_piece(&mut self, s: &mut Sending, data: Bytes) {
        if data.is_empty() {
            return;
        }
        if s.chunked {
            if s.chunk_open {
                self.wbuf.extend_from_slice(b"\r\n");
            }
            h1::chunk_prefix(&mut self.wbuf, data.len());
            s.chunk_open = true;
        }
        if data.len() < COPY_BELOW {
            self.wbuf.extend_from_slice(&data);
        } else {
            s.piece = Some(data);
        }
    }
}

enum SendError {
    /// Writing to the upstream failed.
    Upstream,
    /// The client's body failed (it went away, or broke a limit).
    Client,
}

fn ready_write(polled: Poll<io::Result<usize>>) -> Poll<Result<usize, SendError>> {
    match polled {
        Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Poll::Ready(Err(SendError::Upstream)),
        Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
        Poll::Pending => Poll::Pending,
    }
}

/// An upstream response body, read from its connection as it is polled;
/// the connection goes back to the pool once the body has been read to
/// the end (and only when it can take another request).
pub(super) struct PooledBody {
    link: Option<Link>,
    decoder: Decoder,
    pool: Arc<Pool>,
    keep_alive: bool,
    /// The longest silent gap allowed between two reads of the body.
    gap_limit: Duration,
    /// When the silence ends the body: set the first time a read has to
    /// wait, moved on when data comes (on the connection's one clock).
    gap_deadline: Option<tokio::time::Instant>,
    /// Data came since the deadline was set: set it afresh at the next wait.
    gap_stale: bool,
}

impl PooledBody {
    pub(super) fn new(
        link: Link,
        head: &Head,
        sent_whole: bool,
        pool: Arc<Pool>,
        gap_limit: Duration,
    ) -> PooledBody {
        let mut body = PooledBody {
            link: Some(link),
            decoder: Decoder::new(head.framing),
            pool,
            keep_alive: head.keep_alive && sent_whole,
            gap_limit,
            gap_deadline: None,
            gap_stale: false,
        };
        if body.decoder.is_done() {
            body.finish();
        }
        body
    }

    /// The body is complete: the connection goes back when nothing else
    /// came after it.
    fn finish(&mut self) {
        if let Some(link) = self.link.take() {
            if self.keep_alive && link.rbuf.is_empty() {
                self.pool.checkin(link);
            }
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            let Some(link) = this.link.as_mut() else {
                return Poll::Ready(None);
            };
            let decoded = match this.decoder.decode(&mut link.rbuf) {
                Ok(Decoded::NeedMore) => match link.poll_fill(cx) {
                    Poll::Pending => {
                        // Silent upstream: bounded (ProxyConfig::upstream_timeout).
                        let deadline = match this.gap_deadline {
                            Some(at) if !std::mem::take(&mut this.gap_stale) => at,
                            _ => {
                                this.gap_stale = false;
                                *this
                                    .gap_deadline
                                    .insert(tokio::time::Instant::now() + this.gap_limit)
                            }
                        };
                        if link.poll_clock(cx, deadline).is_pending() {
                            return Poll::Pending;
                        }
                        this.link = None;
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the upstream sent nothing of the body for too long",
                        ))));
                    }
                    Poll::Ready(Ok(0)) => this.decoder.eof(),
                    Poll::Ready(Ok(_)) => {
                        this.gap_stale = true;
                        continue;
                    }
                    Poll::Ready(Err(e)) => Err(e),
                },
                other => other,
            };
            match decoded {
                Ok(Decoded::Data(data)) => {
                    if this.decoder.is_done() {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(Decoded::Done) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(Decoded::NeedMore) => continue,
                Err(e) => {
                    // The connection is in no state to be used again.
                    this.link = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.link.is_none() || self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.remaining() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
