//! One HTTP/1.x client connection, served in its own task: read a request
//! head, hand the request to the handler (its body read from the same
//! socket as the handler asks for it), write the answer as it streams, and
//! go on with the next request while both sides keep the connection alive.
//!
//! One short path per request, in one task, with no channel between the
//! socket and the handler (hyper's server has one for every body): the
//! connection's socket and read buffer sit behind a mutex that the
//! request body and the writer take in turn, never across an await.
//!
//! Every state keeps the listener's limits: the socket is `activity`'s
//! `IdleLimited` (idle and head-read time, body time and gaps, blocked
//! writes). Besides, while the answer is awaited the connection is watched
//! for the client going away, which cancels the request (as hyper does);
//! a request the proxy refuses before reading its body ends the connection
//! unless the rest of the body is already in; closing lingers briefly so
//! that the answer is not lost to a reset.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use hyper::{Method, Request, Response, Version};
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use super::activity::{Activity, ClientBody, IdleLimited};
use super::h1::{Decoded, Decoder, Framing};
use super::h1_server::{self as codec, HeadError, HeadOut, RequestHead, Sending};
use super::handler::{handle, Shared};
use super::listener::DrainWatch;
use super::shape::own_error;
use super::ProxyBody;

/// Reads of the client's socket take at least this much room.
const READ_SIZE: usize = 8 * 1024;
/// The room for reads that only watch for the client leaving during a
/// streamed answer (what comes is kept: the next request's start).
const GONE_READ: usize = 512;
/// Body data up to this size is copied behind its framing (one write for
/// a small answer, head and body); larger pieces are written as they are.
const COPY_BELOW: usize = 16 * 1024;
/// Closing a connection the client may still be sending on: what is read
/// and dropped first, at most, so that the kernel does not answer the
/// client's data with a reset that discards the answer it has not read.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 256 * 1024;

/// The socket and what has been read from it, shared by the connection's
/// loop and the request body.
pub(super) struct Conn {
    io: IdleLimited<TcpStream>,
    rbuf: BytesMut,
    /// The current request's body, as it is read.
    decoder: Decoder,
    /// A `100 Continue` is owed before the body is read: bytes of it written.
    continue_due: Option<usize>,
    /// The body could not be read (cut short, misframed): the connection
    /// is in no state for another request.
    broken: bool,
    /// The client closed its side.
    eof: bool,
    /// Which request the connection is on (its body reads only for it).
    request: u64,
}

impl Conn {
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.poll_fill_by(cx, READ_SIZE)
    }

    /// [`Conn::poll_fill`] with room for at least half of `size`.
    fn poll_fill_by(&mut self, cx: &mut Context<'_>, size: usize) -> Poll<io::Result<usize>> {
        if self.rbuf.capacity() - self.rbuf.len() < size / 2 {
            self.rbuf.reserve(size);
        }
        let polled = tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf);
        if matches!(polled, Poll::Ready(Ok(0))) {
            self.eof = true;
        }
        polled
    }

    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        while let Some(at) = self.continue_due {
            // A client that did not wait has sent the body already (a
            // 100 begun is finished, or the answer after it would be torn).
            if at == 0 && !self.rbuf.is_empty() {
                self.continue_due = None;
                break;
            }
            match Pin::new(&mut self.io).poll_write(cx, &codec::CONTINUE[at..]) {
                Poll::Ready(Ok(n)) if at + n >= codec::CONTINUE.len() => self.continue_due = None,
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Some(Err(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => self.continue_due = Some(at + n),
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        loop {
            let decoded = match self.decoder.decode(&mut self.rbuf) {
                Ok(Decoded::NeedMore) => match self.poll_fill(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(0)) => self.decoder.eof(),
                    Poll::Ready(Ok(_)) => continue,
                    Poll::Ready(Err(e)) => Err(e),
                },
                other => other,
            };
            return match decoded {
                Ok(Decoded::Data(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(Decoded::Done) => Poll::Ready(None),
                Ok(Decoded::NeedMore) => continue,
                Err(e) => {
                    self.broken = true;
                    Poll::Ready(Some(Err(e)))
                }
            };
        }
    }

    /// Write `out`, then `piece`, whole (each emptied as it goes out).
    fn poll_write_all(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
        piece: &mut Option<Bytes>,
    ) -> Poll<io::Result<()>> {
        let mut sock = Pin::new(&mut self.io);
        loop {
            let polled = match (out.is_empty(), piece.as_deref()) {
                (true, None) => return Poll::Ready(Ok(())),
                (true, Some(p)) => sock.as_mut().poll_write(cx, p),
                (false, None) => sock.as_mut().poll_write(cx, out),
                (false, Some(p)) => sock
                    .as_mut()
                    .poll_write_vectored(cx, &[io::IoSlice::new(out), io::IoSlice::new(p)]),
            };
            let n = match polled {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            let from_out = n.min(out.len());
            out.drain(..from_out);
            if let Some(p) = piece.as_mut() {
                p.advance(n - from_out);
                if p.is_empty() {
                    *piece = None;
                }
            }
        }
    }

    /// Ready when the client has closed the connection (or it failed)
    /// while its answer is awaited or streamed. Looked at only once the
    /// request body is all in (until then its reader has the socket) and
    /// while nothing is buffered: a pipelined request already read is
    /// answered even if the client then shut its side (as hyper does).
    fn poll_gone(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_gone_by(cx, READ_SIZE)
    }

    /// [`Conn::poll_gone`] while an answer streams (an SSE stream may last
    /// minutes): the read buffer is given back first (reads into it hold
    /// the whole allocation its request head came in), and the watch
    /// reads into a small one. 1,000 streams hold 8 MB less.
    fn poll_gone_streaming(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.rbuf.is_empty() && self.rbuf.capacity() > GONE_READ {
            self.rbuf = BytesMut::new();
        }
        self.poll_gone_by(cx, GONE_READ)
    }

    fn poll_gone_by(&mut self, cx: &mut Context<'_>, size: usize) -> Poll<()> {
        if self.broken || !self.decoder.is_done() || !self.rbuf.is_empty() {
            return Poll::Pending;
        }
        match self.poll_fill_by(cx, size) {
            Poll::Ready(Ok(0) | Err(_)) => Poll::Ready(()),
            // What came is the next request: kept, and no longer watched.
            Poll::Ready(Ok(_)) | Poll::Pending => Poll::Pending,
        }
    }

    /// What is owed of a `100 Continue` begun and not finished: it goes
    /// out before the answer. One never begun is not sent any more.
    fn take_continue(&mut self) -> &'static [u8] {
        match self.continue_due.take() {
            Some(at) if at > 0 => &codec::CONTINUE[at..],
            _ => &[],
        }
    }
}

fn lock(conn: &Mutex<Conn>) -> MutexGuard<'_, Conn> {
    // Nothing panics while holding it; a poisoned lock still holds a
    // consistent buffer (the panic's request fails on its own).
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request body read from the client's connection as it is polled.
pub(super) struct H1Body {
    conn: Arc<Mutex<Conn>>,
    /// The request it belongs to: once the connection has moved on (or
    /// closed), reading would take another request's bytes.
    request: u64,
    done: bool,
}

impl H1Body {
    pub(super) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let mut c = lock(&self.conn);
        if c.request != self.request {
            self.done = true;
            return Poll::Ready(Some(Err(io::Error::other(
                "the request body was read after its request ended",
            ))));
        }
        let polled = c.poll_body(cx);
        // Done after the last piece, as hyper's bodies say.
        self.done = match &polled {
            Poll::Ready(Some(Ok(_))) => c.decoder.is_done(),
            Poll::Ready(_) => true,
            Poll::Pending => false,
        };
        polled
    }

    pub(super) fn is_end_stream(&self) -> bool {
        self.done
    }

    pub(super) fn size_hint(&self) -> SizeHint {
        match lock(&self.conn).decoder.remaining() {
            Some(n) if !self.done => SizeHint::with_exact(n),
            Some(_) => SizeHint::with_exact(0),
            None => SizeHint::default(),
        }
    }
}

/// Serve HTTP/1.x requests on a connection whose first bytes are in `rbuf`.
pub(super) async fn serve(
    io: IdleLimited<TcpStream>,
    rbuf: BytesMut,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    drain: &mut DrainWatch<'_, '_>,
) {
    let conn = Arc::new(Mutex::new(Conn {
        io,
        rbuf,
        decoder: Decoder::new(Framing::Empty),
        continue_due: None,
        broken: false,
        eof: false,
        request: 0,
    }));
    let mut writer = Writer {
        out: Vec::with_capacity(1024),
        date: (0, [0; 29]),
    };
    let mut scanned = 0;
    loop {
        let head = poll_fn(|cx| poll_head(&conn, cx, &mut scanned, drain)).await;
        let head = match head {
            Ok(Some(head)) => head,
            Ok(None) => break,
            Err(e) => {
                let resp = own_error(&shared, e.status(), "invalid_request_error", e.message());
                let request = (&Method::GET, Version::HTTP_11);
                writer.out.clear();
                let _ = writer.answer(&conn, resp, request, false).await;
                break;
            }
        };
        let active = activity.begin();
        let RequestHead {
            method,
            uri,
            version,
            headers,
            framing,
            keep_alive,
            expects_continue,
        } = head;
        let request = {
            let mut c = lock(&conn);
            c.request += 1;
            c.decoder = Decoder::new(framing);
            c.continue_due = (expects_continue && framing != Framing::Empty).then_some(0);
            c.request
        };
        let body = H1Body {
            conn: Arc::clone(&conn),
            request,
            done: framing == Framing::Empty,
        };
        let mut req = Request::new(ClientBody::h1(body, &activity));
        *req.method_mut() = method.clone();
        *req.uri_mut() = uri;
        *req.version_mut() = version;
        *req.headers_mut() = headers;
        let handling = std::pin::pin!(handle(Arc::clone(&shared), req));
        let Some(resp) = answer_or_gone(&conn, handling).await else {
            break;
        };
        let (keep_alive, owed) = {
            let mut c = lock(&conn);
            let body_in = c.continue_due.is_none() && !c.broken && body_read_from_buffer(&mut c);
            (
                keep_alive && body_in && !drain.draining_now(),
                c.take_continue(),
            )
        };
        writer.out.clear();
        writer.out.extend_from_slice(owed);
        let kept = writer
            .answer(&conn, resp, (&method, version), keep_alive)
            .await;
        drop(active);
        if !kept {
            break;
        }
    }
    close(conn).await;
}

/// The next request head, `Ok(None)` when the connection is to close
/// without one (the client closed it, the idle limit, a drain).
fn poll_head(
    conn: &Mutex<Conn>,
    cx: &mut Context<'_>,
    scanned: &mut usize,
    drain: &mut DrainWatch<'_, '_>,
) -> Poll<Result<Option<RequestHead>, HeadError>> {
    let draining = drain.draining(cx);
    let mut c = lock(conn);
    loop {
        match codec::parse_request(&mut c.rbuf, scanned) {
            Ok(Some(head)) => return Poll::Ready(Ok(Some(head))),
            Err(e) => return Poll::Ready(Err(e)),
            Ok(None) => {}
        }
        if draining && c.rbuf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        match c.poll_fill(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(Ok(None)),
            Poll::Ready(Ok(_)) => {}
        }
    }
}

/// Whether the request body is all read, taking what of it is already
/// buffered: a body the handler did not read (a refused request) is
/// skipped when it is all there, else the connection cannot go on.
fn body_read_from_buffer(c: &mut Conn) -> bool {
    loop {
        match c.decoder.decode(&mut c.rbuf) {
            Ok(Decoded::Done) => return true,
            Ok(Decoded::Data(_)) => {}
            Ok(Decoded::NeedMore) | Err(_) => return false,
        }
    }
}

/// The handler's answer, or `None` when the client closed the connection
/// first (the request is then dropped: its upstream exchange ends).
async fn answer_or_gone<F>(conn: &Mutex<Conn>, mut handling: Pin<&mut F>) -> Option<F::Output>
where
    F: Future,
{
    poll_fn(|cx| {
        if let Poll::Ready(resp) = handling.as_mut().poll(cx) {
            return Poll::Ready(Some(resp));
        }
        lock(conn).poll_gone(cx).map(|()| None)
    })
    .await
}

/// Close: the write side first, then what the client still sends is read
/// and dropped for a moment (unless it closed its side already).
async fn close(conn: Arc<Mutex<Conn>>) {
    lock(&conn).request += 1;
    let _ = poll_fn(|cx| Pin::new(&mut lock(&conn).io).poll_shutdown(cx)).await;
    let mut dropped = 0;
    let linger = poll_fn(|cx| {
        let mut c = lock(&conn);
        loop {
            if c.eof || dropped >= LINGER_BYTES {
                return Poll::Ready(());
            }
            c.rbuf.clear();
            match c.poll_fill(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(n)) => dropped += n,
            }
        }
    });
    let _ = tokio::time::timeout(LINGER_TIME, linger).await;
}

/// Writes answers, with the buffer and the date kept between them.
struct Writer {
    out: Vec<u8>,
    date: (u64, [u8; 29]),
}

impl Writer {
    /// Write `resp` for a request of `request` (method, version); whether
    /// the connection can take another request.
    async fn answer(
        &mut self,
        conn: &Mutex<Conn>,
        resp: Response<ProxyBody>,
        request: (&Method, Version),
        keep_alive: bool,
    ) -> bool {
        let (parts, mut body) = resp.into_parts();
        let stated = codec::content_length(&parts.headers);
        let sending = codec::sending(request, parts.status, stated, body.size_hint().exact());
        let keep_alive = keep_alive && sending != Sending::Close;
        let date = (!parts.headers.contains_key(hyper::header::DATE))
            .then(|| codec::date_now(&mut self.date));
        codec::encode_response_head(
            &mut self.out,
            &HeadOut {
                status: parts.status,
                headers: &parts.headers,
                sending,
                date,
                keep_alive,
                version: request.1,
            },
        );
        if sending == Sending::None {
            drop(body);
            return self.flush(conn, None).await.is_ok() && keep_alive;
        }
        let mut left = match sending {
            Sending::Length(n) => Some(n),
            _ => None,
        };
        loop {
            let next = poll_fn(|cx| match Pin::new(&mut body).poll_frame(cx) {
                // Waiting on the upstream: a client that left ends it.
                Poll::Pending if self.out.is_empty() => {
                    lock(conn).poll_gone_streaming(cx).map(|()| Next::Gone)
                }
                Poll::Pending => Poll::Ready(Next::Flush),
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Next::Frame(frame)),
                Poll::Ready(Some(Err(_))) => Poll::Ready(Next::Failed),
                Poll::Ready(None) => Poll::Ready(Next::End),
            })
            .await;
            match next {
                Next::Flush => {
                    if self.flush(conn, None).await.is_err() {
                        return false;
                    }
                }
                Next::Frame(frame) => {
                    let Ok(mut data) = frame.into_data() else {
                        continue; // trailers are not passed on
                    };
                    let mut over = false;
                    if let Some(left) = left.as_mut() {
                        let room = usize::try_from(*left).unwrap_or(usize::MAX);
                        if data.len() > room {
                            data.truncate(room);
                            over = true;
                        }
                        *left -= data.len() as u64;
                    }
                    if data.len() < COPY_BELOW {
                        codec::encode_data(&mut self.out, sending, &data);
                    } else {
                        if sending == Sending::Chunked {
                            super::h1::chunk_prefix(&mut self.out, data.len());
                        }
                        if self.flush(conn, Some(data)).await.is_err() {
                            return false;
                        }
                        if sending == Sending::Chunked {
                            self.out.extend_from_slice(b"\r\n");
                        }
                    }
                    if over {
                        // More than its length said: what fits is sent, and
                        // the connection ends.
                        let _ = self.flush(conn, None).await;
                        return false;
                    }
                }
                Next::Gone => return false,
                Next::Failed => {
                    // The answer cannot be completed: the client sees it
                    // cut short (no last chunk, fewer bytes than said).
                    let _ = self.flush(conn, None).await;
                    return false;
                }
                Next::End => {
                    if sending == Sending::Chunked {
                        self.out.extend_from_slice(codec::LAST_CHUNK);
                    }
                    let whole = left.is_none_or(|n| n == 0);
                    return self.flush(conn, None).await.is_ok() && whole && keep_alive;
                }
            }
        }
    }

    /// Write the buffer, then `piece`.
    async fn flush(&mut self, conn: &Mutex<Conn>, mut piece: Option<Bytes>) -> io::Result<()> {
        let out = &mut self.out;
        poll_fn(|cx| lock(conn).poll_write_all(cx, out, &mut piece)).await
    }
}

/// What a response body gave.
enum Next {
    Frame(Frame<Bytes>),
    Flush,
    /// The client closed the connection.
    Gone,
    Failed,
    End,
}
