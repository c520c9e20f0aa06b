//! What an external credential command prints.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = claude_auth::source::external::parse_output(text.trim());
    }
});
