//! The token client reads at most `MAX_ANSWER` bytes of a token endpoint's
//! answer, as every other reader of the network does: a larger answer is
//! refused, not read into memory. Real HTTP over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use claude_auth::oauth::token_client::{
    Endpoint, Grant, OAuthError, RetryPolicy, TokenClient, MAX_ANSWER,
};
use claude_auth::provider::Encoding;
use claude_auth::Secret;

/// A token endpoint whose one answer is `status` with `body`.
fn endpoint_answering(status: u16, body: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        while let Ok((stream, _)) = listener.accept() {
            let mut reader = BufReader::new(stream);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let _ = write!(
                reader.into_inner(),
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn refresh(url: String) -> Result<(), OAuthError> {
    let client = TokenClient::with_policy(RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    })
    .unwrap();
    let endpoint = Endpoint {
        url,
        encoding: Encoding::Form,
        client_id: Some("cid".into()),
        client_secret: None,
        headers: Default::default(),
    };
    let grant = Grant::Refresh {
        refresh_token: Secret::new("rt-lowercase-qazwsxedcrfvtgbyhn"),
        scope: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(client.request(&endpoint, &grant)).map(|_| ())
}

const TOKEN: &str =
    r#"{"access_token":"at-lowercase-plmoknijbuhvygctfx","token_type":"bearer","expires_in":3600}"#;

#[test]
fn a_token_answer_within_the_cap_is_read() {
    // Whitespace after the JSON is still JSON: up to the cap it is accepted.
    let body = format!("{TOKEN}{}", " ".repeat(MAX_ANSWER - TOKEN.len()));
    refresh(endpoint_answering(200, body)).unwrap();
}

#[test]
fn a_token_answer_over_the_cap_is_refused_unread() {
    // The same token response, one byte over the cap (and then 1 MiB more).
    let body = format!("{TOKEN}{}", " ".repeat(MAX_ANSWER + (1 << 20)));
    let err = refresh(endpoint_answering(200, body)).expect_err("over the cap");
    assert!(
        matches!(&err, OAuthError::BadResponse { message, .. } if message == "the answer is over 64 KiB"),
        "{err:?}"
    );
}

#[test]
fn an_error_answer_over_the_cap_is_cut_and_still_an_error() {
    let body = format!(
        r#"{{"error":"invalid_request"}}{}"#,
        " ".repeat(MAX_ANSWER + (1 << 20))
    );
    let err = refresh(endpoint_answering(400, body)).expect_err("an error answer");
    assert!(
        matches!(err, OAuthError::Rejected { status: 400, .. }),
        "{err:?}"
    );
}
