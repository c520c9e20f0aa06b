use super::*;

#[test]
fn request_heads() {
    let h = parse_request_head(b"GET /callback?code=a&state=b HTTP/1.1\r\nHost: x\r\n").unwrap();
    assert_eq!(
        h,
        RequestHead {
            method: "GET",
            path: "/callback",
            query: "code=a&state=b"
        }
    );
    let h = parse_request_head(b"GET /other HTTP/1.0\r\n").unwrap();
    assert_eq!((h.path, h.query), ("/other", ""));
    for junk in [
        &b""[..],
        b"\x00\x01\x02 not http \xff\r\n",
        b"GET /x\r\n",
        b"GET /x HTTP/2\r\n",
        b"GET http://evil/x HTTP/1.1\r\n",
        b"get /x HTTP/1.1\r\n",
        b"GET /x HTTP/1.1 extra\r\n",
        b"GET /x\x7f HTTP/1.1\r\n",
        b"GET /x HTTP/1.1\r\nno colon\r\n",
    ] {
        assert!(parse_request_head(junk).is_err(), "{junk:?}");
    }
}
