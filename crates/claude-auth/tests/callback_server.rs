//! The login callback server cannot be held: idle sockets, junk and
//! wrong-state callbacks do not keep a valid callback out, and the ignored
//! ones are counted rather than reported one by one. Real sockets on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use claude_auth::oauth::callback::{CallbackEvent, CallbackServer, MAX_CONNECTIONS};
use claude_auth::Secret;

const STATE: &str = "state-kJ8vQ2xZ5mN1pL7rT4wY";

/// One request on a fresh connection; the whole answer.
fn exchange(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn idle_connections_and_junk_do_not_keep_a_valid_callback_out() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut server = rt
        .block_on(CallbackServer::start(
            "127.0.0.1",
            "/callback",
            None,
            Secret::new(STATE),
        ))
        .unwrap();
    let port = server.port;

    // More idle connections than the server will wait for, held open.
    let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS + 16)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // Junk and wrong-state callbacks, each answered 400 at once.
    let mut wrong = 0;
    for i in 0..20 {
        let junk = exchange(port, b"\x00\x01\x02 not http \xff\r\n\r\n");
        assert!(junk.starts_with("HTTP/1.1 400 "), "{junk:?}");
        let request = format!("GET /callback?code=x{i}&state=WRONG{i} HTTP/1.1\r\nHost: x\r\n\r\n");
        let answer = exchange(port, request.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:?}");
        assert!(answer.contains("wrong state"), "{answer:?}");
        wrong += 1;
    }
    let no_code = exchange(
        port,
        format!("GET /callback?state={STATE} HTTP/1.1\r\n\r\n").as_bytes(),
    );
    assert!(no_code.starts_with("HTTP/1.1 400 "), "{no_code:?}");
    let oversized = exchange(port, &[b'a'; 16 * 1024]);
    assert!(oversized.starts_with("HTTP/1.1 431 "), "{oversized:?}");

    // The valid callback gets through promptly.
    let started = Instant::now();
    let ok = exchange(
        port,
        format!("GET /callback?code=the-code&state={STATE} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .as_bytes(),
    );
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok:?}");
    assert!(ok.contains("Login complete"), "{ok:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Exactly one ignored event was reported; the rest were counted.
    let mut ignored_events = 0;
    let code = rt.block_on(async {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), server.next_event())
                .await
                .expect("an event within 5 s")
            {
                Some(CallbackEvent::Ignored(_)) => ignored_events += 1,
                Some(CallbackEvent::Code(code)) => break code,
                other => panic!("unexpected {other:?}"),
            }
        }
    });
    assert_eq!(code.expose(), "the-code");
    assert_eq!(ignored_events, 1);
    assert_eq!(server.ignored(), wrong + 1);

    // The oldest idle connections were dropped for newcomers.
    let mut closed = 0;
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut b = [0u8; 1];
        if matches!(s.read(&mut b), Ok(0)) {
            closed += 1;
        }
    }
    assert!(closed >= 16, "{closed} idle connections closed");
}

#[test]
fn a_silent_connection_is_closed_after_the_head_timeout() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(CallbackServer::start(
            "127.0.0.1",
            "/callback",
            None,
            Secret::new(STATE),
        ))
        .unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(b"GET /callback?code=").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
}
