//! Claude Code's `.credentials.json`, through the store as `status` reads it.
#![no_main]
use claude_auth::store::claude_code::{token_set_from_claude_code, ClaudeCodeStore};
use claude_auth::store::CredentialStore;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(data) {
        let _ = token_set_from_claude_code(&map);
    }
    let dir = common::scratch("claude-code");
    common::write(&dir.join(".credentials.json"), data, 0o600);
    let store = ClaudeCodeStore::new(&dir, dir.join(".claude.json"));
    let _ = store.load("default");
});
