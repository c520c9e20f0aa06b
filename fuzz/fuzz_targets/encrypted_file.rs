//! The encrypted store's envelope, opened with a fixed key.
#![no_main]
use claude_auth::store::encrypted::EncryptedFileStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let store = EncryptedFileStore::with_key(std::env::temp_dir(), [7u8; 32]);
    let _ = store.decrypt_envelope("p", std::path::Path::new("p.json.enc"), data);
});
