//! The usage tap on a JSON response body (the top-level scanner, and serde
//! where it is unsure), fed in pieces (the first byte picks the piece
//! size): it must never panic, and on valid JSON it must find exactly what
//! serde alone finds in the whole body.
#![no_main]
use claude_auth::usage::tap::{json_usage_by_serde, UsageTap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, rest)) = data.split_first() else { return };
    let piece = usize::from(piece).max(1);
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    for chunk in rest.chunks(piece) {
        tap.feed(chunk);
    }
    let found = tap.finish();
    if serde_json::from_slice::<serde_json::Value>(rest).is_ok() {
        assert_eq!(found, json_usage_by_serde(rest));
    }
});
