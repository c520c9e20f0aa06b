//! The spec's profile files: the first byte splits the input into a config
//! and a credentials file (and `active_config`), read as the chain reads them.
#![no_main]
use claude_auth::store::profile_files::ProfileFiles;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let at = (split as usize).min(rest.len());
    let (config, credentials) = rest.split_at(at);
    let dir = common::scratch("profiles");
    common::write(&dir.join("configs/p.json"), config, 0o600);
    common::write(&dir.join("credentials/p.json"), credentials, 0o600);
    common::write(&dir.join("active_config"), credentials, 0o600);
    let files = ProfileFiles::new(&dir);
    let _ = files.load_profile("p");
    let _ = files.active_profile();
    let _ = ProfileFiles::read_token_cache(&dir.join("credentials/p.json"));
});
