#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn head_of(raw: &[u8], method: &Method) -> io::Result<Option<Head>> {
    let mut buf = BytesMut::from(raw);
    parse_head(&mut buf, method)
}

/// Everything `decoder` yields from `wire` fed in pieces of `step` bytes,
/// and whether it ended.
fn decode_all(framing: Framing, wire: &[u8], step: usize) -> io::Result<(Vec<u8>, bool)> {
    let mut decoder = Decoder::new(framing);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        match decoder.decode(&mut buf)? {
            Decoded::Data(d) => out.extend_from_slice(&d),
            Decoded::Done => return Ok((out, true)),
            Decoded::NeedMore if fed < wire.len() => {
                let end = (fed + step).min(wire.len());
                buf.extend_from_slice(&wire[fed..end]);
                fed = end;
            }
            Decoded::NeedMore => {
                return match decoder.eof()? {
                    Decoded::Done => Ok((out, true)),
                    _ => Ok((out, false)),
                }
            }
        }
    }
}

#[test]
fn the_request_head_has_the_headers_and_its_own_framing() {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("api.example"));
    headers.insert("content-length", HeaderValue::from_static("999"));
    headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    headers.append("x-many", HeaderValue::from_static("a"));
    headers.append("x-many", HeaderValue::from_static("b"));
    let pq = PathAndQuery::from_static("/v1/messages?beta=true");
    let mut out = Vec::new();
    encode_head(&mut out, &Method::POST, &pq, &headers, Some(1234567));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST /v1/messages?beta=true HTTP/1.1\r\nhost: api.example\r\nx-many: a\r\nx-many: b\r\n\
         content-length: 1234567\r\n\r\n"
    );
    let mut out = Vec::new();
    encode_head(&mut out, &Method::POST, &pq, &HeaderMap::new(), None);
    assert!(out.ends_with(b"\r\ntransfer-encoding: chunked\r\n\r\n"));
    // An empty body: announced for POST, not for GET.
    let mut out = Vec::new();
    encode_head(&mut out, &Method::POST, &pq, &HeaderMap::new(), Some(0));
    assert!(out.ends_with(b"\r\ncontent-length: 0\r\n\r\n"));
    let mut out = Vec::new();
    encode_head(&mut out, &Method::GET, &pq, &HeaderMap::new(), Some(0));
    assert_eq!(out, b"GET /v1/messages?beta=true HTTP/1.1\r\n\r\n");
    let mut out = Vec::new();
    chunk_prefix(&mut out, 0x1a2f);
    chunk_prefix(&mut out, 0);
    assert_eq!(out, b"1a2f\r\n0\r\n");
}

#[test]
fn a_response_head_is_read_once_whole_and_keeps_what_follows() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\
                request-id: req_1\r\nx-dup: 1\r\nx-dup: 2\r\n\r\nhello";
    for cut in 0..raw.len() - 5 {
        assert!(
            head_of(&raw[..cut], &Method::POST).unwrap().is_none(),
            "{cut}"
        );
    }
    let mut buf = BytesMut::from(&raw[..]);
    let head = parse_head(&mut buf, &Method::POST).unwrap().unwrap();
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.version, Version::HTTP_11);
    assert_eq!(head.headers["content-type"], "application/json");
    assert_eq!(head.headers["request-id"], "req_1");
    let dups: Vec<_> = head.headers.get_all("x-dup").iter().collect();
    assert_eq!(dups, ["1", "2"]);
    assert_eq!(head.framing, Framing::Length(5));
    assert!(head.keep_alive);
    assert_eq!(&buf[..], b"hello");
}

#[test]
fn interim_responses_are_skipped_and_101_refused() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n\
                HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n";
    let head = head_of(raw, &Method::POST).unwrap().unwrap();
    assert_eq!(head.status, StatusCode::CREATED);
    assert!(!head.headers.contains_key("link"));
    assert_eq!(head.framing, Framing::Empty);
    let err = head_of(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", &Method::GET).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn framing_follows_rfc_9112() {
    let framing = |raw: &str, method: &Method| {
        let head = head_of(raw.as_bytes(), method).unwrap().unwrap();
        (head.framing, head.keep_alive)
    };
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            &Method::POST
        ),
        (Framing::Chunked, true)
    );
    // Chunked wins over a length, and such a connection is not reused.
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\ncontent-length: 9\r\ntransfer-encoding: gzip, Chunked\r\n\r\n",
            &Method::POST
        ),
        (Framing::Chunked, false)
    );
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
            &Method::POST
        ),
        (Framing::Close, false)
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\n\r\n", &Method::POST),
        (Framing::Close, false)
    );
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: Close\r\n\r\n",
            &Method::GET
        ),
        (Framing::Length(7), false)
    );
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\ncontent-length: 7, 7\r\ncontent-length: 7\r\n\r\n",
            &Method::GET
        ),
        (Framing::Length(7), true)
    );
    // HEAD, 204 and 304 have no body whatever they announce.
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n",
            &Method::HEAD
        ),
        (Framing::Empty, true)
    );
    assert_eq!(
        framing("HTTP/1.1 204 No Content\r\n\r\n", &Method::DELETE),
        (Framing::Empty, true)
    );
    assert_eq!(
        framing(
            "HTTP/1.1 304 Not Modified\r\ncontent-length: 7\r\n\r\n",
            &Method::GET
        ),
        (Framing::Empty, true)
    );
    // HTTP/1.0 keeps the connection only when it says so.
    assert_eq!(
        framing("HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n", &Method::GET),
        (Framing::Length(1), false)
    );
    assert_eq!(
        framing(
            "HTTP/1.0 200 OK\r\ncontent-length: 1\r\nconnection: keep-alive\r\n\r\n",
            &Method::GET
        ),
        (Framing::Length(1), true)
    );
    for bad in [
        "HTTP/1.1 200 OK\r\ncontent-length: 7\r\ncontent-length: 8\r\n\r\n",
        "HTTP/1.1 200 OK\r\ncontent-length: 7, 8\r\n\r\n",
        "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\ncontent-length: 0x10\r\n\r\n",
        "HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 999x OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
    ] {
        assert!(head_of(bad.as_bytes(), &Method::GET).is_err(), "{bad:?}");
    }
}

#[test]
fn oversized_heads_and_too_many_headers_are_refused() {
    // Incomplete and already at the limit: refused, not read further.
    let mut big = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
    big.resize(MAX_HEAD, b'a');
    assert!(head_of(&big, &Method::GET).is_err());
    // Complete but larger than the limit.
    big.extend_from_slice(b"\r\n\r\n");
    assert!(head_of(&big, &Method::GET).is_err());
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(head_of(&many, &Method::GET).is_err());
    // Just under both limits: fine.
    let mut ok = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..MAX_HEADERS {
        ok.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    ok.extend_from_slice(b"\r\n");
    assert_eq!(
        head_of(&ok, &Method::GET).unwrap().unwrap().headers.len(),
        MAX_HEADERS
    );
}

#[test]
fn a_length_body_ends_at_its_length_in_any_pieces() {
    for step in [1, 3, 100] {
        let (body, done) = decode_all(Framing::Length(11), b"hello world", step).unwrap();
        assert_eq!(body, b"hello world");
        assert!(done);
    }
    // What follows the body is left in the buffer (and the connection not reused).
    let mut decoder = Decoder::new(Framing::Length(2));
    let mut buf = BytesMut::from(&b"abHTTP"[..]);
    assert_eq!(
        decoder.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"ab"))
    );
    assert!(decoder.is_done());
    assert_eq!(&buf[..], b"HTTP");
    // Cut short by the upstream: an error, not a shorter body.
    let err = decode_all(Framing::Length(20), b"short", 2).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn a_chunked_body_is_decoded_in_any_pieces_and_trailers_dropped() {
    let wire = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n";
    for step in [1, 2, 7, 1000] {
        let (body, done) = decode_all(Framing::Chunked, wire, step).unwrap();
        assert_eq!(body, b"hello 0123456789", "step {step}");
        assert!(done);
    }
    let mut decoder = Decoder::new(Framing::Chunked);
    let mut buf = BytesMut::from(&b"3\r\nabc\r\n0\r\n\r\nNEXT"[..]);
    assert_eq!(
        decoder.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"abc"))
    );
    assert_eq!(decoder.decode(&mut buf).unwrap(), Decoded::Done);
    assert_eq!(&buf[..], b"NEXT");
    // Cut short: an error.
    let err = decode_all(Framing::Chunked, b"5\r\nhel", 100).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn malformed_or_unbounded_chunking_is_refused() {
    let long_line = format!("1;{}\r\na\r\n0\r\n\r\n", "e".repeat(MAX_CHUNK_LINE));
    let long_trailers = format!("0\r\nx: {}\r\n\r\n", "t".repeat(MAX_TRAILERS));
    for bad in [
        "zz\r\nab\r\n0\r\n\r\n",
        "\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "10000000000000000\r\n",
        "-1\r\n",
        long_line.as_str(),
        long_trailers.as_str(),
    ] {
        assert!(
            decode_all(Framing::Chunked, bad.as_bytes(), 3).is_err(),
            "{bad:?}"
        );
    }
    // A line without its end beyond the limit is refused before it ends.
    let mut decoder = Decoder::new(Framing::Chunked);
    let mut buf = BytesMut::from("f".repeat(MAX_CHUNK_LINE).as_bytes());
    assert!(decoder.decode(&mut buf).is_err());
}

#[test]
fn a_body_until_close_ends_with_the_connection() {
    let (body, done) = decode_all(Framing::Close, b"all of it", 4).unwrap();
    assert_eq!(body, b"all of it");
    assert!(done);
    let (body, done) = decode_all(Framing::Empty, b"", 4).unwrap();
    assert!(body.is_empty() && done);
}

#[test]
fn a_head_whose_lines_end_in_lf_alone_is_read_too() {
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\ncontent-length: 2\n\nokNEXT"[..]);
    let head = parse_head(&mut buf, &Method::GET).unwrap().unwrap();
    assert_eq!(head.framing, Framing::Length(2));
    assert_eq!(&buf[..], b"okNEXT");
    assert!(
        head_of(b"HTTP/1.1 200 OK\ncontent-length: 2\n", &Method::GET)
            .unwrap()
            .is_none()
    );
}

#[test]
fn framing_by_the_last_field_http_1_0_codings_length_lists_and_interim_floods() {
    // The last Transfer-Encoding field cannot be read: not chunked.
    let mut raw =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntransfer-encoding: x-".to_vec();
    raw.push(0xff);
    raw.extend_from_slice(b"\r\n\r\n");
    let head = head_of(&raw, &Method::GET).unwrap().unwrap();
    assert_eq!((head.framing, head.keep_alive), (Framing::Close, false));
    // HTTP/1.0 with a coding: framed by it, the connection not kept.
    let raw = b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n";
    let head = head_of(raw, &Method::GET).unwrap().unwrap();
    assert_eq!((head.framing, head.keep_alive), (Framing::Chunked, false));
    // One length repeated: that length, passed on as one value.
    let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\ncontent-length: 2\r\n\r\n";
    let head = head_of(raw, &Method::GET).unwrap().unwrap();
    assert_eq!(head.framing, Framing::Length(2));
    let lengths: Vec<&str> = head
        .headers
        .get_all("content-length")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(lengths, ["2"]);
    // Interim answers: at most MAX_HEAD bytes of them in one exchange,
    // however they are split between reads.
    let mut interim = 0;
    let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\n".repeat(2000)[..]);
    assert!(
        parse_head_counting(&mut buf, &Method::GET, &mut interim, &mut 0)
            .unwrap()
            .is_none()
    );
    let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\n".repeat(2000)[..]);
    assert!(parse_head_counting(&mut buf, &Method::GET, &mut interim, &mut 0).is_err());
}

#[test]
fn a_response_head_dripping_in_is_found_where_it_ends_with_interim_answers_before_it() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    let (mut buf, mut interim, mut scanned) = (BytesMut::new(), 0, 0);
    let mut found = None;
    for (i, b) in raw.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        if let Some(head) =
            parse_head_counting(&mut buf, &Method::GET, &mut interim, &mut scanned).unwrap()
        {
            assert!(found.is_none());
            found = Some((i, head));
        }
    }
    let (at, head) = found.unwrap();
    assert_eq!(at, raw.len() - 3, "complete at the empty line");
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.framing, Framing::Length(2));
    assert_eq!(interim, 25);
    assert_eq!(&buf[..], b"ok");
}
