//! The seed library's `auth.json`.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch("seed").join("auth.json");
    common::write(&path, data, 0o600);
    let _ = claude_auth::source::read_seed_file(&path);
});
