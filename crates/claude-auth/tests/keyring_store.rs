//! The keyring store against a real Secret Service.
//!
//! These tests only run inside `scripts/test`, which starts a private D-Bus
//! session bus and gnome-keyring-daemon and sets
//! `CLAUDE_AUTH_TEST_SECRET_SERVICE=1` (never the user's own keyring).
//! Elsewhere each test prints that it was skipped and passes. Interop tests
//! check that Python's `keyring` package (interpreter in
//! `CLAUDE_AUTH_TEST_PYTHON`) and this store read each other's entries.
#![cfg(all(target_os = "linux", feature = "keyring"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::process::Command;

use claude_auth::credential::{to_portable_json, Credential, Identity, Provider, TokenSet};
use claude_auth::store::keyring::KeyringStore;
use claude_auth::store::CredentialStore;
use claude_auth::{Error, Secret};

fn secret_service_available() -> bool {
    if std::env::var("CLAUDE_AUTH_TEST_SECRET_SERVICE").as_deref() == Ok("1") {
        true
    } else {
        println!("skipped: no private Secret Service (run scripts/test)");
        false
    }
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
