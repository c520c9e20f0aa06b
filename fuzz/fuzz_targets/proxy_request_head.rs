//! The proxy's HTTP/1 request head reader (its own server's, facing any
//! local process), fed whole and in pieces (the first byte picks the piece
//! size): the same head or the same refusal either way, and no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, rest)) = data.split_first() else { return };
    claude_auth::proxy::fuzz_request_head(rest, usize::from(piece));
});
