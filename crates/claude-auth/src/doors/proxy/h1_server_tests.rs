#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn parse(raw: &[u8]) -> Result<Option<RequestHead>, HeadError> {
    parse_request(&mut BytesMut::from(raw), &mut 0)
}

fn refused(raw: &str) -> HeadError {
    parse(raw.as_bytes()).expect_err(raw)
}

#[test]
fn a_request_head_is_read_whole_whatever_pieces_it_arrives_in() {
    let raw = b"\r\nPOST /v1/messages?beta=true HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: k\r\n\
                x-dup: 1\r\nx-dup: 2\r\ncontent-length: 5\r\n\r\nhello";
    // Fed a byte at a time, as a slow client sends it: complete only at
    // the empty line, and what follows is left for the body.
    let mut buf = BytesMut::new();
    let mut scanned = 0;
    let mut head = None;
    for (i, b) in raw.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        if let Some(h) = parse_request(&mut buf, &mut scanned).unwrap() {
            assert_eq!(i, raw.len() - 6, "complete at the empty line");
            head = Some(h);
        }
    }
    let head = head.unwrap();
    assert_eq!(&buf[..], b"hello");
    assert_eq!(head.method, Method::POST);
    assert_eq!(head.uri, "/v1/messages?beta=true");
    assert_eq!(head.version, Version::HTTP_11);
    assert_eq!(head.headers["x-api-key"], "k");
    let dups: Vec<_> = head.headers.get_all("x-dup").iter().collect();
    assert_eq!(dups, ["1", "2"]);
    assert_eq!(head.framing, Framing::Length(5));
    assert!(head.keep_alive);
    assert!(!head.expects_continue);
}

#[test]
fn framing_follows_rfc_9112_and_refuses_what_two_parties_could_read_differently() {
    let framing = |extra: &str| {
        parse(format!("POST / HTTP/1.1\r\nhost: h\r\n{extra}\r\n").as_bytes())
            .unwrap()
            .unwrap()
            .framing
    };
    assert_eq!(framing(""), Framing::Empty);
    assert_eq!(framing("content-length: 0\r\n"), Framing::Empty);
    assert_eq!(framing("content-length: 12\r\n"), Framing::Length(12));
    assert_eq!(framing("content-length: 7, 7\r\n"), Framing::Length(7));
    assert_eq!(
        framing("content-length: 7\r\ncontent-length: 7\r\n"),
        Framing::Length(7)
    );
    assert_eq!(framing("transfer-encoding: chunked\r\n"), Framing::Chunked);
    assert_eq!(
        framing("transfer-encoding: gzip, Chunked\r\n"),
        Framing::Chunked
    );
    // A repeated length goes on as one value.
    let head = parse(b"POST / HTTP/1.1\r\ncontent-length: 3, 3\r\n\r\n")
        .unwrap()
        .unwrap();
    let lengths: Vec<_> = head.headers.get_all("content-length").iter().collect();
    assert_eq!(lengths, ["3"]);
    for bad in [
        "content-length: 5\r\ncontent-length: 6\r\n",
        "content-length: 5, 6\r\n",
        "content-length: -1\r\n",
        "content-length: +5\r\n",
        "content-length: 0x10\r\n",
        "content-length: 99999999999999999999\r\n",
        "content-length:\r\n",
        "transfer-encoding: chunked\r\ncontent-length: 5\r\n",
        "transfer-encoding: gzip\r\n",
        "transfer-encoding: chunked, gzip\r\n",
        "transfer-encoding: chunked, chunked\r\n",
        "transfer-encoding: chunked\r\ntransfer-encoding: identity\r\n",
        "transfer-encoding: xchunked\r\n",
    ] {
        let e = refused(&format!("POST / HTTP/1.1\r\nhost: h\r\n{bad}\r\n"));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    // Transfer-Encoding means nothing in HTTP/1.0 (RFC 9112 6.1).
    let e = refused("POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n");
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn heads_that_are_not_http_1_or_too_large_are_refused_with_the_right_status() {
    for bad in [
        "GET / HTTP/2.0\r\n\r\n",
        "GET / SPDY/3\r\n\r\n",
        "GET /a b HTTP/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nbad header\r\n\r\n",
        "GET / HTTP/1.1\r\nx: a\u{1}b\r\n\r\n",
        "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
        "\u{16}\u{3}\u{1}\r\n\r\n",
    ] {
        assert_eq!(refused(bad).status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
    let e = refused(&format!("GET / HTTP/1.1\r\n{many}\r\n"));
    assert_eq!(e, HeadError::TooLarge);
    assert_eq!(e.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // A head that has not ended within the limit: refused before it ends.
    let long = format!("GET / HTTP/1.1\r\nx-long: {}", "a".repeat(MAX_HEAD));
    assert_eq!(refused(&long), HeadError::TooLarge);
    // Just under it: read.
    let fits = format!(
        "GET / HTTP/1.1\r\nx-long: {}\r\n\r\n",
        "a".repeat(MAX_HEAD - 30)
    );
    assert!(parse(fits.as_bytes()).unwrap().is_some());
}

#[test]
fn keep_alive_and_expect_are_read_per_version() {
    let head = |raw: &str| parse(raw.as_bytes()).unwrap().unwrap();
    assert!(!head("GET / HTTP/1.1\r\nconnection: Close\r\n\r\n").keep_alive);
    assert!(!head("GET / HTTP/1.1\r\nconnection: te, close\r\n\r\n").keep_alive);
    assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(head("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n").keep_alive);
    assert_eq!(head("GET / HTTP/1.0\r\n\r\n").version, Version::HTTP_10);
    let expects =
        |raw: &str| head(&format!("POST / {raw}\r\ncontent-length: 3\r\n\r\n")).expects_continue;
    assert!(expects("HTTP/1.1\r\nexpect: 100-Continue"));
    assert!(!expects("HTTP/1.0\r\nexpect: 100-continue"));
    assert!(!expects("HTTP/1.1\r\nexpect: something-else"));
    // Absolute and asterisk forms are read (the handler refuses the first).
    assert_eq!(
        head("GET http://example.com/x HTTP/1.1\r\n\r\n")
            .uri
            .authority()
            .unwrap()
            .as_str(),
        "example.com"
    );
    assert_eq!(head("OPTIONS * HTTP/1.1\r\n\r\n").uri, "*");
}

#[test]
fn a_response_head_states_its_framing_and_the_connection_once() {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("content-length", HeaderValue::from_static("999"));
    headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    headers.insert("connection", HeaderValue::from_static("upgrade"));
    let encode = |status: StatusCode, sending: Sending, keep_alive: bool, version: Version| {
        let mut out = Vec::new();
        encode_response_head(
            &mut out,
            &HeadOut {
                status,
                headers: &headers,
                sending,
                date: Some(b"Sat, 05 Dec 2026 18:00:00 GMT"),
                keep_alive,
                version,
            },
        );
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        encode(StatusCode::OK, Sending::Length(5), true, Version::HTTP_11),
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
         date: Sat, 05 Dec 2026 18:00:00 GMT\r\ncontent-length: 5\r\n\r\n"
    );
    assert_eq!(
        encode(
            StatusCode::from_u16(529).unwrap(),
            Sending::Chunked,
            false,
            Version::HTTP_11
        ),
        "HTTP/1.1 529 \r\ncontent-type: application/json\r\n\
         date: Sat, 05 Dec 2026 18:00:00 GMT\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n"
    );
    // A 204 states no length, whatever it was given.
    assert_eq!(
        encode(
            StatusCode::NO_CONTENT,
            Sending::None,
            true,
            Version::HTTP_11
        ),
        "HTTP/1.1 204 No Content\r\ncontent-type: application/json\r\n\
         date: Sat, 05 Dec 2026 18:00:00 GMT\r\n\r\n"
    );
    // A HEAD answer keeps the length it was given; an HTTP/1.0 client kept
    // alive is told so.
    assert_eq!(
        encode(StatusCode::OK, Sending::None, true, Version::HTTP_10),
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 999\r\n\
         date: Sat, 05 Dec 2026 18:00:00 GMT\r\nconnection: keep-alive\r\n\r\n"
    );
}

#[test]
fn how_a_body_is_sent_depends_on_the_request_the_status_and_what_is_known() {
    let get = (&Method::GET, Version::HTTP_11);
    let old = (&Method::GET, Version::HTTP_10);
    let ok = StatusCode::OK;
    assert_eq!(sending(get, ok, Some(5), Some(9)), Sending::Length(5));
    assert_eq!(sending(get, ok, None, Some(9)), Sending::Length(9));
    assert_eq!(sending(get, ok, None, None), Sending::Chunked);
    assert_eq!(sending(old, ok, None, None), Sending::Close);
    assert_eq!(
        sending((&Method::HEAD, Version::HTTP_11), ok, Some(5), None),
        Sending::None
    );
    for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
        assert_eq!(sending(get, status, None, None), Sending::None);
    }
    let with = |values: &[&'static str]| {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("content-length", HeaderValue::from_static(v));
        }
        content_length(&h)
    };
    assert_eq!(with(&["42"]), Some(42));
    assert_eq!(with(&[]), None);
    assert_eq!(with(&["4", "4"]), None);
    assert_eq!(with(&["x"]), None);
    let mut out = Vec::new();
    encode_data(
        &mut out,
        Sending::Chunked,
        &Bytes::from_static(b"hello world"),
    );
    encode_data(&mut out, Sending::Chunked, &Bytes::new());
    encode_data(&mut out, Sending::Length(3), &Bytes::from_static(b"abc"));
    assert_eq!(out, b"b\r\nhello world\r\nabc");
    let mut cached = (0, [0; 29]);
    let date = date_now(&mut cached).to_vec();
    assert!(httpdate::parse_http_date(std::str::from_utf8(&date).unwrap()).is_ok());
}
