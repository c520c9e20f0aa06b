//! The client leg's HTTP/1.x server codec, on buffers only (the I/O is
//! `h1_conn`'s): reading a request head and its body framing, writing a
//! response head. With `h1` (the upstream leg's client codec) it replaces
//! hyper's HTTP/1 server, whose dispatcher and body channel made the path of
//! a request long in code: the proxy's time per request went to
//! instruction-cache misses more than to instructions. HTTP/2 stays hyper's.
//!
//! Strict where a lenient reading could let two parties frame a request
//! differently (RFC 9112 6.1, 6.3: request smuggling): a `Transfer-Encoding`
//! whose last coding is not `chunked`, one in an HTTP/1.0 request, one beside
//! a `Content-Length`, and two different lengths are a 400 and the connection
//! is closed. Bounded: a head of at most [`MAX_HEAD`] bytes and
//! [`MAX_HEADERS`] fields (else a 431); chunk lines and trailers as `h1`.

use bytes::{Bytes, BytesMut};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode, Uri, Version};

use super::h1::{decimal, has_token, head_end, push_decimal, BadLength, Framing, Seen};

/// The largest request head (request line and headers) read.
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in a request head (hyper's server default).
pub(super) const MAX_HEADERS: usize = 100;

/// A request head, read.
#[derive(Debug, PartialEq)]
pub(super) struct RequestHead {
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) version: Version,
    pub(super) headers: HeaderMap,
    /// How the request body is delimited (never [`Framing::Close`]).
    pub(super) framing: Framing,
    /// Whether the client can take another answer on this connection.
    pub(super) keep_alive: bool,
    /// `Expect: 100-continue` (HTTP/1.1): the client waits for a `100
    /// Continue` before it sends the body.
    pub(super) expects_continue: bool,
}

/// Why a request head was refused; the connection is closed after the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HeadError {
    /// Over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] fields: 431.
    TooLarge,
    /// Not HTTP/1.x, or framed so that it cannot be read without guessing: 400.
    Malformed(&'static str),
}

impl HeadError {
    pub(super) fn status(self) -> StatusCode {
        match self {
            HeadError::TooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            HeadError::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// What the client is told.
    pub(super) fn message(self) -> &'static str {
        match self {
            HeadError::TooLarge => "claude-auth proxy: the request head is too large",
            HeadError::Malformed(why) => why,
        }
    }
}

fn malformed(why: &'static str) -> HeadError {
    HeadError::Malformed(why)
}

/// Read a request head from the front of `buf`. `Ok(None)`: not all of it
/// is there yet (`buf` is left as it is, but for empty lines before it,
/// which RFC 9112 2.2 lets a server skip).
///
/// `scanned` is how much of `buf` an earlier call looked through without
/// finding the head's end (0 for a new head): a head dripping in a byte at
/// a time is scanned once, not once per byte.
pub(super) fn parse_request(
    buf: &mut BytesMut,
    scanned: &mut usize,
) -> Result<Option<RequestHead>, HeadError> {
    let blank = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if blank > 0 {
        let _ = buf.split_to(blank);
        *scanned = 0;
    }
    let Some(len) = head_end(buf, *scanned) else {
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        *scanned = buf.len();
        return Ok(None);
    };
    *scanned = 0;
    if len > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    // Split off and frozen first: the values are slices of it, not copies.
    let head = buf.split_to(len).freeze();
    let mut fields =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut request,
        &head,
        &mut fields,
    );
    match parsed {
        Ok(httparse::Status::Complete(n)) if n == len => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        _ => {
            return Err(malformed(
                "claude-auth proxy: the request head is malformed",
            ))
        }
    }
    let method = Method::from_bytes(request.method.unwrap_or_default().as_bytes())
        .map_err(|_| malformed("claude-auth proxy: the request method is invalid"))?;
    let target = request.path.unwrap_or_default();
    let uri = Uri::from_maybe_shared(head.slice_ref(target.as_bytes()))
        .map_err(|_| malformed("claude-auth proxy: the request target is invalid"))?;
    let version = match request.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    let mut seen = Seen::default();
    for field in request.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| malformed("claude-auth proxy: a header name is invalid"))?;
        let value = HeaderValue::from_maybe_shared(head.slice_ref(field.value))
            .map_err(|_| malformed("claude-auth proxy: a header value is invalid"))?;
        seen.note(&name, &value);
        headers.append(name, value);
    }
    let framing = framing(version, &mut headers, seen)?;
    let keep_alive = if version == Version::HTTP_10 {
        seen.connection && has_token(&headers, header::CONNECTION, "keep-alive")
    } else {
        !(seen.connection && has_token(&headers, header::CONNECTION, "close"))
    };
    let expects_continue = version == Version::HTTP_11
        && seen.expect
        && headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    Ok(Some(RequestHead {
        method,
        uri,
        version,
        headers,
        framing,
        keep_alive,
        expects_continue,
    }))
}

/// The request body's framing (RFC 9112 6.3, the server's side).
fn framing(version: Version, headers: &mut HeaderMap, seen: Seen) -> Result<Framing, HeadError> {
    if seen.transfer_encoding {
        if version == Version::HTTP_10 {
            return Err(malformed(
                "claude-auth proxy: an HTTP/1.0 request cannot use Transfer-Encoding",
            ));
        }
        if seen.content_length {
            return Err(malformed(
                "claude-auth proxy: a request cannot have both Transfer-Encoding and Content-Length",
            ));
        }
        let mut codings = headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|t| !t.is_empty());
        let last = codings.next_back();
        // `chunked` last and only once: RFC 9112 6.1 (and anything else
        // before it is a coding the proxy would pass on undecoded).
        let chunked = last.is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"))
            && codings.all(|t| !t.eq_ignore_ascii_case(b"chunked"));
        if !chunked {
            return Err(malformed(
                "claude-auth proxy: a request's Transfer-Encoding must end in chunked",
            ));
        }
        return Ok(Framing::Chunked);
    }
    if !seen.content_length {
        return Ok(Framing::Empty);
    }
    let length = match seen.length(headers) {
        Ok(length) => length,
        Err(BadLength::Invalid) => {
            return Err(malformed(
                "claude-auth proxy: the Content-Length is invalid",
            ))
        }
        Err(BadLength::Differ) => {
            return Err(malformed(
                "claude-auth proxy: the request has two different Content-Lengths",
            ))
        }
    };
    Ok(match length {
        Some(0) | None => Framing::Empty,
        Some(n) => Framing::Length(n),
    })
}

/// How a response body is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sending {
    /// No body: a `HEAD` request, or a 1xx, 204 or 304 answer.
    None,
    /// Exactly this many bytes (its `Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 clients).
    Chunked,
    /// Until the connection closes (HTTP/1.0 clients, length unknown).
    Close,
}

/// How a response's body goes to a client: `length` is its `Content-Length`
/// header when it has a valid one, else `exact` the body's known size.
pub(super) fn sending(
    request: (&Method, Version),
    status: StatusCode,
    length: Option<u64>,
    exact: Option<u64>,
) -> Sending {
    let (method, version) = request;
    if *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Sending::None;
    }
    match (length.or(exact), version) {
        (Some(n), _) => Sending::Length(n),
        (None, Version::HTTP_10) => Sending::Close,
        (None, _) => Sending::Chunked,
    }
}

/// The `Content-Length` a response carries, when it is one valid number.
pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    decimal(value.as_bytes())
}

/// What the response head says of the connection beside its fields.
pub(super) struct HeadOut<'a> {
    pub(super) status: StatusCode,
    pub(super) headers: &'a HeaderMap,
    pub(super) sending: Sending,
    /// The header's value when it is not among `headers`.
    pub(super) date: Option<&'a [u8]>,
    /// `Connection: close`, or for an HTTP/1.0 client kept alive,
    /// `Connection: keep-alive`.
    pub(super) keep_alive: bool,
    pub(super) version: Version,
}

/// Append a response head to `out`: the status line, the fields (any
/// `Content-Length`, `Transfer-Encoding` or `Connection` among them left
/// out: they are the proxy's to say), then the framing and the connection.
pub(super) fn encode_response_head(out: &mut Vec<u8>, head: &HeadOut<'_>) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(head.status.as_str().as_bytes());
    out.push(b' ');
    if let Some(reason) = head.status.canonical_reason() {
        out.extend_from_slice(reason.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    let mut length_kept = false;
    for (name, value) in head.headers {
        if name == header::TRANSFER_ENCODING || name == header::CONNECTION {
            continue;
        }
        if name == header::CONTENT_LENGTH {
            // A HEAD (or 304) answer keeps the length a GET would have had;
            // a 1xx or 204 has none (RFC 9110 8.6).
            let bodiless = head.status.is_informational() || head.status == StatusCode::NO_CONTENT;
            if !matches!(head.sending, Sending::None) || bodiless || length_kept {
                continue;
            }
            length_kept = true;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(date) = head.date {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(date);
        out.extend_from_slice(b"\r\n");
    }
    match head.sending {
        Sending::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        Sending::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Sending::None | Sending::Close => {}
    }
    if !head.keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    } else if head.version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The `100 Continue` a client asked for with `Expect: 100-continue`.
pub(super) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The data of one response body frame, framed for `sending`, appended to `out`.
pub(super) fn encode_data(out: &mut Vec<u8>, sending: Sending, data: &Bytes) {
    match sending {
        Sending::Chunked if data.is_empty() => {}
        Sending::Chunked => {
            super::h1::chunk_prefix(out, data.len());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        _ => out.extend_from_slice(data),
    }
}

/// The end of a chunked body (no trailers).
pub(super) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Today's `Date` header value, formatted once a second.
pub(super) fn date_now(cached: &mut (u64, [u8; 29])) -> &[u8] {
    let now = std::time::SystemTime::now();
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if cached.0 != secs || cached.1[0] == 0 {
        let text = httpdate::fmt_http_date(now);
        if text.len() == 29 {
            cached.1.copy_from_slice(text.as_bytes());
            cached.0 = secs;
        }
    }
    &cached.1
}

/// For the fuzz target: `data` read as a request head whole, and fed in
/// pieces of `piece` bytes as a client may send it, must give the same
/// head (or the same refusal) and leave the same bytes for the body; and
/// never panic.
#[doc(hidden)]
pub fn fuzz_request_head(data: &[u8], piece: usize) {
    let mut whole = BytesMut::from(data);
    let at_once = parse_request(&mut whole, &mut 0);
    let (mut fed, mut scanned, mut sent) = (BytesMut::new(), 0, 0);
    let in_pieces = loop {
        let end = (sent + piece.max(1)).min(data.len());
        fed.extend_from_slice(&data[sent..end]);
        sent = end;
        match parse_request(&mut fed, &mut scanned) {
            Ok(None) if sent < data.len() => {}
            other => break other,
        }
    };
    fed.extend_from_slice(&data[sent..]);
    assert_eq!(at_once, in_pieces);
    if matches!(at_once, Ok(Some(_))) {
        assert_eq!(whole, fed);
    }
}

#[cfg(test)]
#[path = "h1_server_tests.rs"]
mod tests;
