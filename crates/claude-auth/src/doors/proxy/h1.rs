//! The upstream leg's HTTP/1.1 client codec: writing a request's head and
//! reading a response's head and body framing, on buffers only (the I/O is
//! `upstream`'s). It replaces hyper's client dispatcher, whose channel,
//! one-shot and body channels cost about half of the proxy's allocations
//! per request. The client leg's HTTP/1 server (`h1_server`) shares its
//! head search, field notes and length reading; HTTP/2 stays hyper's.
//!
//! Bounded everywhere: a response head of at most [`MAX_HEAD`] bytes and
//! [`MAX_HEADERS`] fields, a chunk-size line of at most [`MAX_CHUNK_LINE`]
//! bytes, trailers of at most [`MAX_TRAILERS`] bytes (read and dropped),
//! interim (1xx) responses of at most [`MAX_HEAD`] bytes in all.
//! What it cannot frame without doubt (two different `Content-Length`s, a
//! `101`, a malformed chunk) is an error: the request fails with a 502 and
//! the connection is closed.

use std::io;

use bytes::{Bytes, BytesMut};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::PathAndQuery;
use hyper::{Method, StatusCode, Version};

/// The largest response head (status line and headers) read.
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in a response head.
pub(super) const MAX_HEADERS: usize = 128;
/// The longest chunk-size line (with extensions and CRLF).
pub(super) const MAX_CHUNK_LINE: usize = 1024;
/// The most trailer bytes read (and dropped) after the last chunk.
pub(super) const MAX_TRAILERS: usize = 16 * 1024;

fn invalid(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// Whether a request of `method` whose body is empty says so with
/// `Content-Length: 0` (as hyper's client does: not for the methods whose
/// requests carry no body).
fn announces_empty_body(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::CONNECT
    )
}

/// Append a request head to `out`: the request line, `headers` (any
/// `Content-Length` or `Transfer-Encoding` among them left out) and the
/// framing of the body: `Content-Length` when its `length` is known,
/// else `Transfer-Encoding: chunked`.
pub(super) fn encode_head(
    out: &mut Vec<u8>,
    method: &Method,
    path_and_query: &PathAndQuery,
    headers: &HeaderMap,
    length: Option<u64>,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path_and_query.as_str().as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match length {
        Some(0) if !announces_empty_body(method) => {}
        Some(n) => {
            out.extend_from_slice(b"content-length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

pub(super) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        // `n % 10` is below 10: the cast cannot truncate.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The framing line before a chunk of `len` bytes of a chunked body.
pub(super) fn chunk_prefix(out: &mut Vec<u8>, len: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        digits[i] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// How a response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (`HEAD`, 204, 304, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the upstream closes the connection.
    Close,
}

/// A response head, read.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) status: StatusCode,
    pub(super) version: Version,
    pub(super) headers: HeaderMap,
    pub(super) framing: Framing,
    /// Whether the connection can take another request after this exchange.
    pub(super) keep_alive: bool,
}

/// Read a response head from the front of `buf`, for a request of `method`.
/// `Ok(None)`: not all of it is there yet (`buf` is left as it is).
/// Interim (1xx) responses before it are consumed and skipped.
#[cfg(test)]
pub(super) fn parse_head(buf: &mut BytesMut, method: &Method) -> io::Result<Option<Head>> {
    parse_head_counting(buf, method, &mut 0, &mut 0)
}

/// [`parse_head`], with `interim` the bytes of interim responses already
/// skipped in this exchange: together they may take no more than
/// [`MAX_HEAD`], so an upstream cannot keep a request waiting with an
/// endless stream of them. `scanned`: how much of `buf` an earlier call
/// looked through for the head's end (0 at first), so that a head
/// dripping in is scanned once, not once per piece.
pub(super) fn parse_head_counting(
    buf: &mut BytesMut,
    method: &Method,
    interim: &mut usize,
    scanned: &mut usize,
) -> io::Result<Option<Head>> {
    loop {
        // The head is split off and frozen first, then parsed: the values
        // are slices of it, not copies.
        let Some(len) = head_end(buf, *scanned) else {
            if buf.len() >= MAX_HEAD {
                return Err(invalid("the upstream's response head is too large"));
            }
            *scanned = buf.len();
            return Ok(None);
        };
        *scanned = 0;
        if len > MAX_HEAD {
            return Err(invalid("the upstream's response head is too large"));
        }
        let head = buf.split_to(len).freeze();
        let mut fields =
            [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            &head,
            &mut fields,
        );
        match parsed {
            Ok(httparse::Status::Complete(n)) if n == len => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(invalid("the upstream's response has too many headers"))
            }
            _ => return Err(invalid("the upstream's response head is malformed")),
        }
        let code = response.code.unwrap_or(0);
        let status =
            StatusCode::from_u16(code).map_err(|_| invalid("the upstream's status is invalid"))?;
        if status.is_informational() {
            if status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(invalid("the upstream switched protocols unasked"));
            }
            *interim += len;
            if *interim > MAX_HEAD {
                return Err(invalid("the upstream sent too many interim responses"));
            }
            continue;
        }
        let mut headers = HeaderMap::with_capacity(response.headers.len());
        // What framing needs, noted on the way: no lookups afterwards.
        let mut seen = Seen::default();
        for field in response.headers.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| invalid("the upstream sent an invalid header name"))?;
            let value = HeaderValue::from_maybe_shared(head.slice_ref(field.value))
                .map_err(|_| invalid("the upstream sent an invalid header value"))?;
            seen.note(&name, &value);
            headers.append(name, value);
        }
        let minor = response.version.unwrap_or(1);
        let version = if minor == 0 {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        let (framing, keep_alive) = framing(method, status, version, &mut headers, seen)?;
        return Ok(Some(Head {
            status,
            version,
            headers,
            framing,
            keep_alive,
        }));
    }
}

/// The end of the head at the front of `buf` (after its empty line), if it
/// is all there, looking from `from` on (where an earlier look stopped,
/// less the 3 bytes an end can straddle). Lines end in CRLF or,
/// leniently, LF. Shared with the server side (`h1_server`).
pub(super) fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let from = from.saturating_sub(3);
    let rest = buf.get(from..)?;
    memchr::memchr_iter(b'\n', rest).find_map(|i| match rest.get(i + 1..) {
        Some([b'\n', ..]) => Some(from + i + 2),
        Some([b'\r', b'\n', ..]) => Some(from + i + 3),
        _ => None,
    })
}

/// Which of the headers framing depends on a head has (noted as the head
/// is read, so that no lookups follow). Shared with `h1_server`.
#[derive(Clone, Copy, Default)]
pub(super) struct Seen {
    pub(super) connection: bool,
    pub(super) transfer_encoding: bool,
    pub(super) content_length: bool,
    /// `Expect` (a request's only).
    pub(super) expect: bool,
    /// What the `Content-Length` fields said so far, read as they came:
    /// the length and whether it was given more than once.
    length: Option<Result<(u64, bool), BadLength>>,
}

impl Seen {
    pub(super) fn note(&mut self, name: &HeaderName, value: &HeaderValue) {
        if name == header::CONNECTION {
            self.connection = true;
        } else if name == header::TRANSFER_ENCODING {
            self.transfer_encoding = true;
        } else if name == header::CONTENT_LENGTH {
            self.content_length = true;
            for part in value.as_bytes().split(|&b| b == b',') {
                self.length = Some(match (self.length, decimal(part.trim_ascii())) {
                    (Some(Err(bad)), _) => Err(bad),
                    (_, None) => Err(BadLength::Invalid),
                    (None, Some(n)) => Ok((n, false)),
                    (Some(Ok((l, _))), Some(n)) if l == n => Ok((n, true)),
                    (Some(Ok(_)), Some(_)) => Err(BadLength::Differ),
                });
            }
        } else if name == header::EXPECT {
            self.expect = true;
        }
    }

    /// The length the `Content-Length` fields stated, `None` when there
    /// were none. A list of one length repeated (`2, 2`, or the field
    /// twice) is that length (RFC 9112 6.3 (5)), and is put back in
    /// `headers` as one value (RFC 9110 8.6): many clients refuse the list.
    pub(super) fn length(&self, headers: &mut HeaderMap) -> Result<Option<u64>, BadLength> {
        match self.length {
            None => Ok(None),
            Some(Err(bad)) => Err(bad),
            Some(Ok((n, repeated))) => {
                if repeated {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
                }
                Ok(Some(n))
            }
        }
    }
}

/// Whether a comma-separated header holds `token` (case-insensitively).
pub(super) fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The body's framing (RFC 9112 6.3) and whether the connection stays open.
fn framing(
    method: &Method,
    status: StatusCode,
    version: Version,
    headers: &mut HeaderMap,
    seen: Seen,
) -> io::Result<(Framing, bool)> {
    let mut keep_alive = if version == Version::HTTP_10 {
        seen.connection && has_token(headers, header::CONNECTION, "keep-alive")
    } else {
        !(seen.connection && has_token(headers, header::CONNECTION, "close"))
    };
    if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((Framing::Empty, keep_alive));
    }
    if seen.transfer_encoding {
        // Chunked when it is the last coding (of the last field: one that
        // cannot be read is not chunked, as in hyper); anything else runs to
        // the end of the connection. A length beside it is ignored, and such
        // a connection is not used again; nor is one whose HTTP/1.0 answer
        // has a Transfer-Encoding (RFC 9112 6.1: its framing is faulty).
        let last = headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').map(str::trim).rfind(|t| !t.is_empty()));
        let chunked = last.is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
        if seen.content_length || version == Version::HTTP_10 {
            keep_alive = false;
        }
        if chunked {
            return Ok((Framing::Chunked, keep_alive));
        }
        return Ok((Framing::Close, false));
    }
    let length = match seen.length(headers) {
        Ok(length) => length,
        Err(BadLength::Invalid) => {
            return Err(invalid("the upstream sent an invalid Content-Length"))
        }
        Err(BadLength::Differ) => {
            return Err(invalid("the upstream sent two different Content-Lengths"))
        }
    };
    Ok(match length {
        Some(0) => (Framing::Empty, keep_alive),
        Some(n) => (Framing::Length(n), keep_alive),
        None => (Framing::Close, false),
    })
}

/// Why `Content-Length` fields cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BadLength {
    /// One is not a decimal number of at most 19 digits.
    Invalid,
    /// Two state different lengths.
    Differ,
}

/// A length as `Content-Length` states it: decimal digits only, at most
/// 19 of them (so that it fits in a `u64`).
pub(super) fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

/// Where a response body's decoder stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// This many bytes of a `Content-Length` body left.
    Length(u64),
    /// Before a chunk-size line.
    ChunkSize,
    /// This many bytes of the current chunk left.
    ChunkData(u64),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// Trailer lines after the last chunk; this many bytes read so far.
    Trailers(usize),
    /// Until the connection closes.
    Close,
    Done,
}

/// What [`Decoder::decode`] found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decoded {
    /// Body bytes, as they arrived.
    Data(Bytes),
    /// The body is complete.
    Done,
    /// More must be read first.
    NeedMore,
}

/// A response body's decoder: takes what it can from the read buffer.
#[derive(Debug)]
pub(super) struct Decoder {
    state: State,
}

impl Decoder {
    pub(super) fn new(framing: Framing) -> Decoder {
        Decoder {
            state: match framing {
                Framing::Empty => State::Done,
                Framing::Length(n) => State::Length(n),
                Framing::Chunked => State::ChunkSize,
                Framing::Close => State::Close,
            },
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// How many body bytes are left, when that is known.
    pub(super) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The next piece of the body from `buf` (which it consumes).
    pub(super) fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Decoded> {
        loop {
            match self.state {
                State::Done => return Ok(Decoded::Done),
                State::Length(left) | State::ChunkData(left) if buf.is_empty() => {
                    let _ = left;
                    return Ok(Decoded::NeedMore);
                }
                State::Length(left) => {
                    let n = take(buf.len(), left);
                    self.state = if n as u64 == left {
                        State::Done
                    } else {
                        State::Length(left - n as u64)
                    };
                    return Ok(Decoded::Data(buf.split_to(n).freeze()));
                }
                State::ChunkData(left) => {
                    let n = take(buf.len(), left);
                    self.state = if n as u64 == left {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(left - n as u64)
                    };
                    return Ok(Decoded::Data(buf.split_to(n).freeze()));
                }
                State::Close if buf.is_empty() => return Ok(Decoded::NeedMore),
                State::Close => return Ok(Decoded::Data(buf.split().freeze())),
                State::ChunkEnd => {
                    if buf.len() < 2 {
                        return Ok(Decoded::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(invalid("the upstream's chunk does not end with CRLF"));
                    }
                    let _ = buf.split_to(2);
                    self.state = State::ChunkSize;
                }
                State::ChunkSize => {
                    let Some(line) = line_end(buf, MAX_CHUNK_LINE)? else {
                        return Ok(Decoded::NeedMore);
                    };
                    let size = chunk_size(&buf[..line])?;
                    let _ = buf.split_to(line + 2);
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::Trailers(seen) => {
                    let Some(line) = line_end(buf, MAX_TRAILERS - seen)? else {
                        return Ok(Decoded::NeedMore);
                    };
                    let _ = buf.split_to(line + 2);
                    self.state = if line == 0 {
                        State::Done
                    } else {
                        State::Trailers(seen + line + 2)
                    };
                }
            }
        }
    }

    /// The connection ended: the end of a body that runs until then, an
    /// error for any other that is not complete.
    pub(super) fn eof(&mut self) -> io::Result<Decoded> {
        match self.state {
            State::Done | State::Close => {
                self.state = State::Done;
                Ok(Decoded::Done)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the upstream closed the connection before the end of the body",
            )),
        }
    }
}

/// `min(available, left)` as a length.
fn take(available: usize, left: u64) -> usize {
    usize::try_from(left).map_or(available, |left| available.min(left))
}

/// Where the first CRLF in `buf` starts; an error when there is none
/// within `limit` bytes.
fn line_end(buf: &[u8], limit: usize) -> io::Result<Option<usize>> {
    match memchr::memchr(b'\n', buf) {
        Some(0) => Err(invalid("the upstream sent a bare LF in a chunked body")),
        Some(i) if buf[i - 1] != b'\r' => {
            Err(invalid("the upstream sent a bare LF in a chunked body"))
        }
        Some(i) if i + 1 > limit => Err(invalid("the upstream's chunk line is too long")),
        Some(i) => Ok(Some(i - 1)),
        None if buf.len() >= limit => Err(invalid("the upstream's chunk line is too long")),
        None => Ok(None),
    }
}

/// A chunk-size line's size (extensions after `;` ignored).
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return Err(invalid("the upstream sent an invalid chunk size"));
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(invalid("the upstream sent an invalid chunk size")),
        };
        Ok(n << 4 | u64::from(v))
    })
}

#[cfg(test)]
#[path = "h1_tests.rs"]
mod tests;
