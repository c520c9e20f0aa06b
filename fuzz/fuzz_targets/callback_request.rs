//! The login callback server's request-head parser.
#![no_main]
use claude_auth::oauth::callback::parse_request_head;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(head) = parse_request_head(data) {
        assert!(head.path.starts_with('/'));
        assert!(!head.path.contains('?'));
    }
});
