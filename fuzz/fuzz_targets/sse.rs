//! The SSE decoder, fed in pieces (the first byte picks the piece size),
//! and every decoded event through the typed event parser.
#![no_main]
use std::collections::VecDeque;

use claude_auth::client::sse::SseDecoder;
use claude_auth::client::StreamEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, rest)) = data.split_first() else { return };
    let piece = usize::from(piece).max(1);
    let mut decoder = SseDecoder::new();
    let mut out = VecDeque::new();
    for chunk in rest.chunks(piece) {
        if decoder.feed(chunk, &mut out).is_err() {
            break;
        }
    }
    for event in out {
        let _ = StreamEvent::parse(&event.event, &event.data);
    }
});
