//! The portable JSON form (keyring entries, key files): never panics, and
//! whatever parses re-encodes to something that parses to the same value.
#![no_main]
use claude_auth::credential::{from_portable_json, to_portable_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(c) = from_portable_json(&value) {
            assert_eq!(from_portable_json(&to_portable_json(&c)).as_ref(), Ok(&c));
        }
    }
});
