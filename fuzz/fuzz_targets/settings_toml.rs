//! claude-auth's settings file (TOML).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch("settings").join("config.toml");
    common::write(&path, data, 0o600);
    let _ = claude_auth::Settings::from_file(&path);
});
