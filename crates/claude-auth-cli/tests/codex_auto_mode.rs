#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Codex's `cli_auth_credentials_store = "auto"` (and `"keyring"`): what the
//! real Codex 0.171.0 does with its keyring entry and its `auth.json`, run
//! against the real (private) Secret Service of `scripts/test`, and that
//! claude-auth does the same:
//!
//! - reading: the keyring entry first (an entry and a file: the entry
//!   wins); the file when there is no entry or the entry does not parse.
//!   `codex login status` and `claude-auth token --provider openai` pick
//!   the same key in each case;
//! - writing: `codex login` writes the entry and deletes `auth.json`;
//!   `claude-auth login --codex` does the same (and says so), and Codex then
//!   uses the key we wrote.
//!
//! Needs `CLAUDE_AUTH_TEST_CODEX` and the Secret Service (`scripts/test`):
//! without them these tests fail under `CI` and say "skipped" otherwise.

mod codex_real;
mod common;

use claude_auth::openai::home::keyring_account;
use claude_auth::store::keyring::{KeyringBackend, OsKeyring};
use codex_real::Codex;
use common::Sandbox;

const SERVICE: &str = "Codex Auth";
const KEY_ENTRY: &str = "sk-proj-AutoModeKeyringEntry0123456789AAAAA";
const KEY_FILE: &str = "sk-proj-AutoModeAuthJsonFile0123456789BBBBB";
const KEY_OURS: &str = "sk-proj-AutoModeClaudeAuthLogin012345CCCCC";

fn doc(key: &str) -> String {
    format!("{{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"{key}\"}}")
}

/// How `codex login status` shows `key`: `sk-proj-***` and its last five.
fn codex_shows(key: &str) -> String {
    format!("API key configured - sk-proj-***{}", &key[key.len() - 5..])
}

/// Codex and our CLI over one `$CODEX_HOME` in `mode`, both on the
/// Secret Service; `None` (reported) without the environment.
fn setup(mode: &str) -> Option<(Sandbox, Codex, String)> {
    if !common::require_secret_service() {
        return None;
    }
    let mut sb = Sandbox::new();
    let mut codex = Codex::new(&sb.root().join("codex-user"))?;
    let dbus = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap();
    codex.set("DBUS_SESSION_BUS_ADDRESS", dbus.clone());
    sb.set("DBUS_SESSION_BUS_ADDRESS", dbus);
    sb.set("CODEX_HOME", codex.codex_home().to_string_lossy());
    common::write_file(
        &codex.codex_home().join("config.toml"),
        &format!("cli_auth_credentials_store = \"{mode}\"\n"),
        0o600,
    );
    let account = keyring_account(codex.codex_home());
    Some((sb, codex, account))
}

fn entry(account: &str) -> Option<String> {
    OsKeyring.get(SERVICE, account).ok().map(|s| s.to_string())
}

fn our_token(sb: &Sandbox) -> String {
    let run = sb.run(&["token", "--provider", "openai"]);
    run.assert_code(0);
    run.stdout.trim().to_owned()
}

#[test]
fn auto_mode_reads_the_keyring_entry_first_as_codex_does() {
    let Some((sb, codex, account)) = setup("auto") else {
        return;
    };
    let auth_json = codex.auth_json();
    // An entry and a file: the entry.
    OsKeyring.set(SERVICE, &account, &doc(KEY_ENTRY)).unwrap();
    common::write_file(&auth_json, &doc(KEY_FILE), 0o600);
    let run = codex.login_status();
    assert!(run.stderr.contains(&codex_shows(KEY_ENTRY)), "{run}");
    assert_eq!(our_token(&sb), KEY_ENTRY);
    // An entry that does not parse: the file.
    OsKeyring.set(SERVICE, &account, "{not json").unwrap();
    let run = codex.login_status();
    assert!(run.stderr.contains(&codex_shows(KEY_FILE)), "{run}");
    assert_eq!(our_token(&sb), KEY_FILE);
    // No entry: the file.
    OsKeyring.delete(SERVICE, &account).unwrap();
    let run = codex.login_status();
    assert!(run.stderr.contains(&codex_shows(KEY_FILE)), "{run}");
    assert_eq!(our_token(&sb), KEY_FILE);
}

#[test]
fn a_keyring_login_removes_auth_json_as_codex_login_does() {
    for mode in ["auto", "keyring"] {
        let Some((sb, codex, account)) = setup(mode) else {
            return;
        };
        let auth_json = codex.auth_json();
        // Codex's own login: the entry, and the file is gone.
        common::write_file(&auth_json, &doc(KEY_FILE), 0o600);
        codex.login_with_api_key(KEY_ENTRY).assert_code(0);
        assert!(!auth_json.exists(), "{mode}: Codex kept auth.json");
        assert!(entry(&account).unwrap().contains(KEY_ENTRY), "{mode}");

        // Ours, the same.
        common::write_file(&auth_json, &doc(KEY_FILE), 0o600);
        let run = sb.run_stdin(
            &["login", "--with-token", "--provider", "openai", "--codex"],
            &format!("{KEY_OURS}\n"),
        );
        run.assert_code(0);
        assert!(
            run.stderr.contains(&format!(
                "stored in keyring entry \"Codex Auth\" / {account:?}"
            )),
            "{run}"
        );
        assert!(
            run.stderr
                .contains(&format!("removed {}: Codex now reads", auth_json.display())),
            "{run}"
        );
        assert!(!auth_json.exists(), "{mode}");
        assert!(entry(&account).unwrap().contains(KEY_OURS), "{mode}");
        let run = codex.login_status();
        assert!(run.stderr.contains(&codex_shows(KEY_OURS)), "{mode}: {run}");

        // A file we cannot parse is left alone.
        common::write_file(&auth_json, "{not json", 0o600);
        sb.run_stdin(
            &["login", "--with-token", "--provider", "openai", "--codex"],
            &format!("{KEY_OURS}\n"),
        )
        .assert_code(0);
        assert_eq!(std::fs::read_to_string(&auth_json).unwrap(), "{not json");
        OsKeyring.delete(SERVICE, &account).unwrap();
    }
}
