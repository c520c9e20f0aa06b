//! A token endpoint that echoes what it was sent (the code, the verifier, the
//! client secret, a refresh token), in whatever wrapping and encoding, never
//! gets any part of them into an error: the token client redacts exactly the
//! secrets it sent from every error it builds. Real HTTP over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use claude_auth::oauth::token_client::{Endpoint, Grant, RetryPolicy, TokenClient};
use claude_auth::provider::Encoding;
use claude_auth::Secret;

const CODE: &str = "authcode-plain-lowercase-xqvwzkjhgf";
const VERIFIER: &str = "verifier/with+slash=and-plus-mnbvcxzlk";
const CLIENT_SECRET: &str = "client-secret-lowercase-pqowieuryt";
const REFRESH: &str = "rotating-grant-lowercase-zmxncbvlaks";

/// Answers each request with `body_for(raw request body)` under `status`.
fn echo_server(status: u16, body_for: fn(&str) -> String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        while let Ok((stream, _)) = listener.accept() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let body = body_for(&String::from_utf8_lossy(&request));
            let _ = write!(
                reader.into_inner(),
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn no_part_of(text: &str, secrets: &[&str]) {
    for s in secrets {
        let chars: Vec<char> = s.chars().collect();
        for w in chars.windows(10) {
            let w: String = w.iter().collect();
            assert!(!text.contains(&w), "{text:?} holds {w:?} of {s:?}");
        }
    }
}

fn request(encoding: Encoding, grant: Grant, url: String) -> String {
    let client = TokenClient::with_policy(RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    })
    .unwrap();
    let endpoint = Endpoint {
        url,
        encoding,
        client_id: Some("cid".into()),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        headers: Default::default(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(client.request(&endpoint, &grant))
        .expect_err("the endpoint refuses");
    format!("{err} {err:?}")
}

fn code_grant() -> Grant {
    Grant::AuthorizationCode {
        code: Secret::new(CODE),
        redirect_uri: "http://127.0.0.1:1/callback".into(),
        verifier: Secret::new(VERIFIER),
        state: None,
        expires_in: None,
    }
}

/// The raw request body, quoted into the description: form-encoded or JSON,
/// the secrets come back in the encoding they went out in.
fn whole_body(request: &str) -> String {
    serde_json::json!({"error": "invalid_request", "error_description": format!("got <{request}>")})
        .to_string()
}

#[test]
fn an_echoed_form_body_never_reaches_the_error() {
    for status in [400, 500] {
        let text = request(
            Encoding::Form,
            code_grant(),
            echo_server(status, whole_body),
        );
        assert!(text.contains("[redacted]"), "{text}");
        no_part_of(&text, &[CODE, VERIFIER, CLIENT_SECRET]);
    }
}

#[test]
fn an_echoed_json_body_never_reaches_the_error() {
    for status in [400, 500] {
        let text = request(
            Encoding::Json,
            code_grant(),
            echo_server(status, whole_body),
        );
        assert!(text.contains("[redacted]"), "{text}");
        no_part_of(&text, &[CODE, VERIFIER, CLIENT_SECRET]);
    }
}

#[test]
fn an_echoed_refresh_token_never_reaches_the_error() {
    let grant = || Grant::Refresh {
        refresh_token: Secret::new(REFRESH),
        scope: None,
    };
    for body in [
        (|_: &str| format!(r#"{{"error":"invalid_grant","error_description":"token:{REFRESH}"}}"#))
            as fn(&str) -> String,
        |_| format!(r#"{{"error":"{REFRESH}"}}"#),
        |_| format!(r#"{{"type":"error","error":{{"type":"x","message":"({REFRESH})"}}}}"#),
        |_| {
            format!(
                r#"{{"error":"invalid_request","error_description":"{}…"}}"#,
                &REFRESH[..16]
            )
        },
    ] {
        let text = request(Encoding::Json, grant(), echo_server(400, body));
        no_part_of(&text, &[REFRESH]);
    }
}
