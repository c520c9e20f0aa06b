//! The keyring store against a real Secret Service.
//!
//! These tests only run inside `scripts/test`, which starts a private D-Bus
//! session bus and gnome-keyring-daemon and sets
//! `CLAUDE_AUTH_TEST_SECRET_SERVICE=1` (never the user's own keyring).
//! Elsewhere each test fails under `CI` and otherwise prints that it skipped
//! (`common::require_secret_service`). Interop tests
//! check that Python's `keyring` package (interpreter in
//! `CLAUDE_AUTH_TEST_PYTHON`) and this store read each other's entries.
#![cfg(all(target_os = "linux", feature = "keyring"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::process::Command;

use claude_auth::credential::{to_portable_json, Credential, Identity, Provider, TokenSet};
use claude_auth::store::keyring::KeyringStore;
use claude_auth::store::CredentialStore;
use claude_auth::{Error, Secret};

fn secret_service_available() -> bool {
    common::require_secret_service()
}

/// A service name no other test (or run) uses.
fn service(name: &str) -> String {
    format!("claude-auth-test-{}-{name}", std::process::id())
}

fn oauth() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new("sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaa"),
        refresh_token: Some(Secret::new("sk-ant-ort01-REFRESHrrrrrrrrrrrrrrr")),
        expires_at: Some(1_775_000_000),
        scopes: vec!["user:inference".into(), "user:profile".into()],
        identity: Identity {
            email: Some("dev@example.com".into()),
            organization_uuid: Some("org-uuid".into()),
            subscription_type: Some("max".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some("client-id".into()),
        id_token: None,
    })
}

fn api_key() -> Credential {
    Credential::anthropic_api_key("sk-ant-api03-KEYkkkkkkkkkkkkkkkkkkkk")
}

fn python() -> String {
    std::env::var("CLAUDE_AUTH_TEST_PYTHON")
        .expect("CLAUDE_AUTH_TEST_PYTHON must name the test venv's python (scripts/test sets it)")
}

/// Run a Python snippet that uses keyring's SecretService backend explicitly.
fn run_python(body: &str, args: &[&str]) -> String {
    let script = format!(
        "import keyring, sys\n\
         from keyring.backends.SecretService import Keyring\n\
         keyring.set_keyring(Keyring())\n\
         {body}\n"
    );
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python printed UTF-8")
}

#[test]
fn probe_reports_the_keyring_available() {
    if !secret_service_available() {
        return;
    }
    KeyringStore::new(&service("probe")).probe().unwrap();
}

#[test]
fn oauth_token_set_round_trips() {
    if !secret_service_available() {
        return;
    }
    let store = KeyringStore::new(&service("oauth"));
    store.save("work", &oauth()).unwrap();
    assert_eq!(store.load("work").unwrap(), Some(oauth()));
    // Saving again replaces the entry (no duplicate items).
    let mut updated = oauth();
    if let Credential::OAuth(set) = &mut updated {
        set.access_token = Secret::new("sk-ant-oat01-NEWnnnnnnnnnnnnnnnnnn");
    }
    store.save("work", &updated).unwrap();
    assert_eq!(store.load("work").unwrap(), Some(updated));
    assert!(store.delete("work").unwrap());
}

#[test]
fn api_key_round_trips_and_profiles_are_separate() {
    if !secret_service_available() {
        return;
    }
    let store = KeyringStore::new(&service("apikey"));
    store.save("a", &api_key()).unwrap();
    store.save("b", &oauth()).unwrap();
    assert_eq!(store.load("a").unwrap(), Some(api_key()));
    assert_eq!(store.load("b").unwrap(), Some(oauth()));
    assert!(store.delete("a").unwrap());
    assert_eq!(store.load("b").unwrap(), Some(oauth()));
    assert!(store.delete("b").unwrap());
}

#[test]
fn missing_entry_loads_as_none() {
    if !secret_service_available() {
        return;
    }
    let store = KeyringStore::new(&service("missing"));
    assert_eq!(store.load("nobody").unwrap(), None);
}

#[test]
fn delete_is_idempotent() {
    if !secret_service_available() {
        return;
    }
    let store = KeyringStore::new(&service("delete"));
    assert!(!store.delete("work").unwrap(), "nothing to delete yet");
    store.save("work", &api_key()).unwrap();
    assert!(store.delete("work").unwrap());
    assert!(!store.delete("work").unwrap());
    assert_eq!(store.load("work").unwrap(), None);
}

#[test]
fn corrupt_entry_error_names_the_entry_but_not_its_contents() {
    if !secret_service_available() {
        return;
    }
    let svc = service("corrupt");
    let garbage = "{\"api_key\": sk-ant-api03-GARBAGE-SECRET-VALUE";
    keyring::Entry::new(&svc, "broken")
        .unwrap()
        .set_password(garbage)
        .unwrap();
    let store = KeyringStore::new(&svc);
    let err = store.load("broken").unwrap_err();
    assert!(matches!(&err, Error::Keyring { service, account, .. }
        if service == &svc && account == "broken"));
    let text = err.to_string();
    assert!(text.contains(&svc), "{text}");
    assert!(text.contains("broken"), "{text}");
    assert!(
        text.contains("claude-auth logout --profile broken"),
        "{text}"
    );
    assert!(!text.contains("GARBAGE"), "{text}");
    assert!(!format!("{err:?}").contains("GARBAGE"));

    // Valid JSON that is not a credential: still no contents in the error.
    keyring::Entry::new(&svc, "broken")
        .unwrap()
        .set_password("{\"type\": \"api_key\", \"api_key\": \"\", \"x\": \"GARBAGE\"}")
        .unwrap();
    let text = store.load("broken").unwrap_err().to_string();
    assert!(text.contains("api_key"), "{text}");
    assert!(!text.contains("GARBAGE"), "{text}");

    // An unknown type is not quoted back either.
    keyring::Entry::new(&svc, "broken")
        .unwrap()
        .set_password("{\"type\": \"GARBAGE-TYPE\", \"api_key\": \"k\"}")
        .unwrap();
    let text = store.load("broken").unwrap_err().to_string();
    assert!(
        text.contains("not a valid claude-auth credential"),
        "{text}"
    );
    assert!(!text.contains("GARBAGE"), "{text}");
    assert!(store.delete("broken").unwrap());
}

#[test]
fn python_keyring_reads_what_we_store() {
    if !secret_service_available() {
        return;
    }
    let svc = service("py-read");
    let store = KeyringStore::new(&svc);
    for (profile, cred) in [("work", oauth()), ("key", api_key())] {
        store.save(profile, &cred).unwrap();
        let printed = run_python(
            "print(keyring.get_password(sys.argv[1], sys.argv[2]))",
            &[&svc, profile],
        );
        let value: serde_json::Value = serde_json::from_str(printed.trim()).unwrap();
        assert_eq!(value, to_portable_json(&cred));
        assert_eq!(
            claude_auth::credential::from_portable_json(&value).unwrap(),
            cred
        );
        assert!(store.delete(profile).unwrap());
    }
}

#[test]
fn we_read_what_python_keyring_stores() {
    if !secret_service_available() {
        return;
    }
    let svc = service("py-write");
    let json = to_portable_json(&oauth()).to_string();
    run_python(
        "keyring.set_password(sys.argv[1], sys.argv[2], sys.argv[3])",
        &[&svc, "work", &json],
    );
    let store = KeyringStore::new(&svc);
    assert_eq!(store.load("work").unwrap(), Some(oauth()));
    // An update through us is seen by Python, and our delete removes its item.
    store.save("work", &api_key()).unwrap();
    let printed = run_python(
        "print(keyring.get_password(sys.argv[1], sys.argv[2]))",
        &[&svc, "work"],
    );
    let value: serde_json::Value = serde_json::from_str(printed.trim()).unwrap();
    assert_eq!(value, to_portable_json(&api_key()));
    assert!(store.delete("work").unwrap());
    let printed = run_python(
        "print(keyring.get_password(sys.argv[1], sys.argv[2]))",
        &[&svc, "work"],
    );
    assert_eq!(printed.trim(), "None");
}

/// Runs in a child process (see the next test) with a session bus address
/// that points nowhere; does nothing otherwise.
#[test]
fn child_probe_with_unreachable_bus() {
    if std::env::var("CLAUDE_AUTH_TEST_PROBE_CHILD").as_deref() != Ok("1") {
        return;
    }
    let err = KeyringStore::new("claude-auth-test-unreachable")
        .probe()
        .unwrap_err();
    println!("PROBE-ERROR: {err}");
}

#[test]
fn probe_without_a_session_bus_says_what_is_missing() {
    // No Secret Service needed: a child copy of this test binary gets a bus
    // address that points nowhere, so the real session is never touched.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_probe_with_unreachable_bus",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CLAUDE_AUTH_TEST_PROBE_CHILD", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/claude-auth-test/bus",
        )
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // libtest may print its own "test … ..." prefix on the same line.
    let line = stdout
        .split("PROBE-ERROR: ")
        .nth(1)
        .and_then(|rest| rest.lines().next());
    let line = line.expect("the child printed the probe error");
    assert!(
        line.contains("keyring (claude-auth-test-unreachable, "),
        "{line}"
    );
    assert!(line.contains("no reachable D-Bus session bus"), "{line}");
    assert!(line.contains("encrypted-file"), "{line}");
}

// ---------------------------------------------------------------------------
// Claude Code's login in a keychain item (macOS keeps it in the Keychain,
// service "Claude Code-credentials", account $USER). The same code runs here
// against the real Secret Service, the only keychain this machine has.

mod claude_code_keychain {
    use super::*;
    use claude_auth::store::claude_code::{ClaudeCodePlace, ClaudeCodeStore};
    use claude_auth::store::keyring::ForeignItem;
    use serde_json::Value;

    const ITEM_LOGIN: &str = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-ITEMaaaaaaaa","refreshToken":"sk-ant-ort01-ITEMbbbbbbbb","expiresAt":1767225600000,"scopes":["user:inference","user:profile"],"subscriptionType":"max","rateLimitTier":"default_claude_max_20x","futureField":1},"mcpOAuth":{"srv":{"token":"m"}}}"#;
    const FILE_LOGIN: &str = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-FILEaaaaaaaa","refreshToken":"sk-ant-ort01-FILEbbbbbbbb","expiresAt":1767225600000,"scopes":["user:inference"]}}"#;

    struct Setup {
        tmp: tempfile::TempDir,
        item: ForeignItem,
        store: ClaudeCodeStore,
    }

    impl Setup {
        fn new(name: &str) -> Setup {
            let tmp = tempfile::tempdir().unwrap();
            let item = ForeignItem {
                service: service(name),
                account: "alice".into(),
            };
            let store = ClaudeCodeStore::new(tmp.path(), tmp.path().join(".claude.json"))
                .with_keychain(&item.service, &item.account);
            Setup { tmp, item, store }
        }

        fn file(&self) -> std::path::PathBuf {
            self.tmp.path().join(".credentials.json")
        }

        fn assert_file_untouched(&self) {
            let now = std::fs::read_to_string(self.file()).unwrap();
            assert_eq!(now, FILE_LOGIN, "the file is not touched");
        }

        fn item_json(&self) -> Option<Value> {
            self.item
                .read()
                .unwrap()
                .map(|t| serde_json::from_str(&t).unwrap())
        }

        fn access(&self) -> String {
            let cred = self.store.load("").unwrap().unwrap();
            cred.secret().expose().to_owned()
        }
    }

    impl Drop for Setup {
        fn drop(&mut self) {
            let _ = self.item.delete();
        }
    }

    #[test]
    fn the_item_is_read_before_the_file() {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-first");
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        s.item.write(ITEM_LOGIN).unwrap();
        let login = s.store.load_login().unwrap().unwrap();
        assert_eq!(
            login.credential.secret().expose(),
            "sk-ant-oat01-ITEMaaaaaaaa"
        );
        assert_eq!(
            login.location,
            format!("Keychain item {:?} (account \"alice\")", s.item.service)
        );
        assert_eq!(login.note, None);
        let set = login.credential.token_set().unwrap().clone();
        assert_eq!(set.expires_at, Some(1_767_225_600));
        assert_eq!(
            set.identity.rate_limit_tier.as_deref(),
            Some("default_claude_max_20x")
        );
    }

    #[test]
    fn without_an_item_the_file_is_read_and_named() {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-file");
        assert!(s.store.load_login().unwrap().is_none());
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        let login = s.store.load_login().unwrap().unwrap();
        assert_eq!(
            login.credential.secret().expose(),
            "sk-ant-oat01-FILEaaaaaaaa"
        );
        assert_eq!(login.location, s.file().display().to_string());
        // An item holding only other logins (no claudeAiOauth) does not hide the file.
        s.item
            .write(r#"{"mcpOAuth":{"srv":{"token":"m"}}}"#)
            .unwrap();
        assert_eq!(s.access(), "sk-ant-oat01-FILEaaaaaaaa");
    }

    #[test]
    fn a_rewrite_goes_back_to_the_item_and_keeps_every_field_it_does_not_own() {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-rewrite");
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        s.item.write(ITEM_LOGIN).unwrap();
        let Credential::OAuth(mut set) = s.store.load("").unwrap().unwrap() else {
            panic!("not OAuth")
        };
        set.access_token = Secret::new("sk-ant-oat01-NEWnnnnnnnnn");
        set.refresh_token = Some(Secret::new("sk-ant-ort01-NEWrrrrrrrrr"));
        set.expires_at = Some(1_800_000_000);
        s.store.save("", &Credential::OAuth(set)).unwrap();
        let v = s.item_json().unwrap();
        let o = &v["claudeAiOauth"];
        assert_eq!(o["accessToken"], "sk-ant-oat01-NEWnnnnnnnnn");
        assert_eq!(o["refreshToken"], "sk-ant-ort01-NEWrrrrrrrrr");
        assert_eq!(o["expiresAt"], 1_800_000_000_000u64);
        assert_eq!(
            o["scopes"],
            serde_json::json!(["user:inference", "user:profile"])
        );
        assert_eq!(o["rateLimitTier"], "default_claude_max_20x");
        assert_eq!(o["futureField"], 1);
        assert_eq!(v["mcpOAuth"]["srv"]["token"], "m");
        s.assert_file_untouched();
    }

    #[test]
    fn a_login_found_in_the_file_is_rewritten_in_the_file_and_a_new_one_goes_to_the_item() {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-place");
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        let mut cred = s.store.load("").unwrap().unwrap();
        if let Credential::OAuth(set) = &mut cred {
            set.access_token = Secret::new("sk-ant-oat01-INFILEnnnnnn");
        }
        s.store.save("", &cred).unwrap();
        assert_eq!(s.item_json(), None, "no item was created");
        let v: Value = serde_json::from_slice(&std::fs::read(s.file()).unwrap()).unwrap();
        assert_eq!(
            v["claudeAiOauth"]["accessToken"],
            "sk-ant-oat01-INFILEnnnnnn"
        );

        std::fs::remove_file(s.file()).unwrap();
        s.store.save("", &oauth()).unwrap();
        let v = s.item_json().unwrap();
        assert_eq!(
            v["claudeAiOauth"]["accessToken"],
            "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaa"
        );
        assert!(!s.file().exists(), "a new login goes to the item only");
        assert_eq!(s.access(), "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaa");
    }

    #[test]
    fn an_item_that_is_not_json_is_named_never_quoted_and_never_overwritten() {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-corrupt");
        let garbage = "{\"claudeAiOauth\": sk-ant-oat01-GARBAGE-SECRET";
        s.item.write(garbage).unwrap();
        let err = s.store.load("").unwrap_err();
        assert!(matches!(&err, Error::Keyring { service, account, .. }
            if *service == s.item.service && account == "alice"));
        let text = err.to_string();
        assert!(text.contains("not JSON"), "{text}");
        assert!(text.contains("claude /login"), "{text}");
        assert!(
            !text.contains("GARBAGE") && !format!("{err:?}").contains("GARBAGE"),
            "{text}"
        );
        assert!(
            s.store.save("", &oauth()).is_err(),
            "no login anywhere else to update"
        );
        assert_eq!(
            s.item.read().unwrap().unwrap().as_str(),
            garbage,
            "left as it was"
        );

        // With a login in the file, the file is used, and the note says why.
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        let login = s.store.load_login().unwrap().unwrap();
        assert_eq!(
            login.credential.secret().expose(),
            "sk-ant-oat01-FILEaaaaaaaa"
        );
        let note = login.note.unwrap();
        assert!(
            note.starts_with("the Keychain could not be read, so the file was used"),
            "{note}"
        );
        assert!(!note.contains("GARBAGE"), "{note}");
    }

    /// Makes the item unreadable as text, as a refused or locked Keychain
    /// would: its secret is not UTF-8.
    fn make_unreadable(item: &ForeignItem) {
        keyring::Entry::new(&item.service, &item.account)
            .unwrap()
            .set_secret(b"\xff\xfe not text")
            .unwrap();
        assert!(item.read().is_err());
    }

    #[test]
    fn a_refresh_is_written_back_to_the_item_it_was_read_from_even_when_the_item_cannot_be_read_again(
    ) {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-save-login");
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        s.item.write(ITEM_LOGIN).unwrap();
        let login = s.store.load_login().unwrap().unwrap();
        assert_eq!(login.place, ClaudeCodePlace::Keychain);
        make_unreadable(&s.item);
        let Credential::OAuth(mut set) = login.credential.clone() else {
            panic!("not OAuth")
        };
        set.access_token = Secret::new("sk-ant-oat01-ROTATEDnnnnn");
        set.refresh_token = Some(Secret::new("sk-ant-ort01-ROTATEDrrrrr"));
        s.store.save_login(&login, &Credential::OAuth(set)).unwrap();
        let v = s.item_json().unwrap();
        assert_eq!(
            v["claudeAiOauth"]["accessToken"],
            "sk-ant-oat01-ROTATEDnnnnn"
        );
        assert_eq!(
            v["claudeAiOauth"]["refreshToken"],
            "sk-ant-ort01-ROTATEDrrrrr"
        );
        assert_eq!(v["claudeAiOauth"]["futureField"], 1);
        assert_eq!(v["mcpOAuth"]["srv"]["token"], "m");
        s.assert_file_untouched();
    }

    #[test]
    fn a_login_read_from_the_file_is_written_back_to_the_file_but_a_plain_save_never_guesses() {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-unreadable");
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        make_unreadable(&s.item);
        let login = s.store.load_login().unwrap().unwrap();
        assert_eq!(login.place, ClaudeCodePlace::File);
        assert!(login
            .note
            .as_deref()
            .unwrap()
            .starts_with("the Keychain could not be read"));
        // A plain save cannot tell where the login is: it refuses.
        let err = s.store.save("", &oauth()).unwrap_err();
        assert!(
            matches!(&err, Error::Keyring { service, .. } if *service == s.item.service),
            "{err}"
        );
        s.assert_file_untouched();
        // A refresh of the login read from the file goes back to the file.
        s.store.save_login(&login, &oauth()).unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(s.file()).unwrap()).unwrap();
        assert_eq!(
            v["claudeAiOauth"]["accessToken"],
            "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaa"
        );
        assert!(s.item.read().is_err(), "the item is left alone");
    }

    #[test]
    fn delete_removes_the_login_from_both_and_keeps_other_logins() {
        if !secret_service_available() {
            return;
        }
        let s = Setup::new("cc-delete");
        std::fs::write(s.file(), FILE_LOGIN).unwrap();
        s.item.write(ITEM_LOGIN).unwrap();
        assert!(s.store.delete("").unwrap());
        let v = s.item_json().unwrap();
        assert!(v.get("claudeAiOauth").is_none(), "{v}");
        assert_eq!(v["mcpOAuth"]["srv"]["token"], "m");
        assert!(!s.file().exists(), "the file held only the login");
        assert!(s.store.load("").unwrap().is_none());
        assert!(!s.store.delete("").unwrap(), "nothing left to delete");

        // An item holding only the login is deleted.
        s.item.write(FILE_LOGIN).unwrap();
        assert!(s.store.delete("").unwrap());
        assert_eq!(s.item.read().unwrap(), None);
    }
}
