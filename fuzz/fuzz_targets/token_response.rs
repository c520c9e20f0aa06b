//! Token endpoint answers: success bodies and error bodies. An error never
//! carries a known secret, and a parsed token is always a valid one.
#![no_main]
use claude_auth::oauth::token_client::{parse_token_error, parse_token_success};
use claude_auth::redact::Redactor;
use claude_auth::secret::validate_token;
use claude_auth::Secret;
use libfuzzer_sys::fuzz_target;

const KNOWN: &str = "known-refresh-token-value";

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_token_success(data) {
        assert!(validate_token(r.access_token.expose()).is_ok());
    }
    let redactor = Redactor::new([&Secret::new(KNOWN)]);
    let (error, description) = parse_token_error(data, &redactor);
    for text in [error, description].into_iter().flatten() {
        assert!(!text.contains(&KNOWN[..12]), "{text}");
        assert!(text.chars().count() <= 301);
    }
});
