//! The profile service ([`claude_auth::profiles::Profiles`]) against the
//! real stores in a temporary home: storing a login, activation, listing,
//! `use`, logout with revocation over real loopback HTTP, and the keyring
//! path against the real Secret Service of `scripts/test` (when that is
//! missing, `common::require_secret_service` fails the test under `CI` and
//! says it skipped otherwise).
//! The keyring fallback runs in a child copy of this binary whose session bus
//! leads nowhere, so no keyring is ever touched by it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use claude_auth::profiles::{Activated, LoginNotice, LogoutNote, ProfileError, Profiles};
use claude_auth::store::StorageKind;
use claude_auth::{Credential, Env, Identity, Provider, Resolver, Secret, TokenSet};

const OAUTH: &str = "sk-ant-oat01-ProfilesServiceAAAAAAAAAAAAAAAAAA1111";
const REFRESH: &str = "sk-ant-ort01-ProfilesServiceRRRRRRRRRRRRRRRRRR2222";
const API_KEY: &str = "sk-ant-api03-ProfilesServiceKKKKKKKKKKKKKKKKKK3333";
const CLIENT_ID: &str = "profiles-test-client";

struct Home {
    tmp: tempfile::TempDir,
    extra: Vec<(String, String)>,
}

impl Home {
    fn new() -> Home {
        Home {
            tmp: tempfile::tempdir().unwrap(),
            extra: Vec::new(),
        }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn set(&mut self, name: &str, value: &str) -> &mut Home {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    fn env(&self) -> Env {
        let mut env = Env::empty().with("HOME", self.root().display().to_string());
        for (k, v) in &self.extra {
            env = env.with(k, v.clone());
        }
        env
    }

    fn profiles(&self) -> Profiles {
        Profiles::new(Resolver::new(self.env()).unwrap())
    }

    fn spec_dir(&self) -> PathBuf {
        self.root().join(".config/anthropic")
    }

    fn own_dir(&self) -> PathBuf {
        self.root().join(".config/claude-auth")
    }

    fn credentials(&self, profile: &str) -> PathBuf {
        self.spec_dir().join(format!("credentials/{profile}.json"))
    }

    fn config(&self, profile: &str) -> PathBuf {
        self.spec_dir().join(format!("configs/{profile}.json"))
    }

    fn key_file(&self, profile: &str) -> PathBuf {
        self.own_dir().join(format!("credentials/{profile}.json"))
    }

    fn active_config(&self) -> Option<String> {
        std::fs::read_to_string(self.spec_dir().join("active_config")).ok()
    }

    fn own_pointer(&self) -> PathBuf {
        self.own_dir().join("active_profile")
    }
}

fn oauth() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new(OAUTH),
        refresh_token: Some(Secret::new(REFRESH)),
        expires_at: Some(claude_auth::credential::now_unix() + 3600),
        scopes: vec!["user:inference".into()],
        identity: Identity {
            email: Some("dev@example.com".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some(CLIENT_ID.into()),
        id_token: None,
    })
}

fn api_key() -> Credential {
    Credential::anthropic_api_key(API_KEY)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_named_oauth_login_goes_to_the_spec_files_and_becomes_active() {
    let home = Home::new();
    let mut profiles = home.profiles();
    let login = profiles.new_login(Some("work")).unwrap();
    assert!(login.named);
    let stored = profiles.store(&login, &oauth()).unwrap();
    assert_eq!(
        stored.location,
        home.credentials("work").display().to_string()
    );
    assert_eq!(stored.storage, StorageKind::File);
    assert!(stored.sdk_readable);
    assert_eq!(stored.notices, []);
    assert_eq!(stored.identity.email.as_deref(), Some("dev@example.com"));
    assert!(home.config("work").is_file());
    assert_eq!(home.active_config().as_deref(), Some("work"));

    let list = profiles.list(None).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "work");
    assert!(list[0].active && list[0].sdk_readable);
    assert_eq!(list[0].storage, "file");
    let summary = list[0].credential.as_ref().unwrap();
    assert_eq!(summary.kind, "oauthToken");
    assert_eq!(
        summary.masked.as_deref(),
        Some(Secret::new(OAUTH).masked().as_str())
    );
}

#[test]
fn an_unnamed_login_does_not_take_over_an_active_profile() {
    let home = Home::new();
    let mut profiles = home.profiles();
    let work = profiles.new_login(Some("work")).unwrap();
    profiles.store(&work, &oauth()).unwrap();
    let mut other = profiles.new_login(None).unwrap();
    assert_eq!(other.profile, "work", "the active profile is the target");
    other.profile = "other".into();
    profiles.store(&other, &oauth()).unwrap();
    assert_eq!(home.active_config().as_deref(), Some("work"));
    let active: Vec<_> = profiles
        .list(None)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.active))
        .collect();
    assert_eq!(active, [("other".into(), false), ("work".into(), true)]);
}

#[test]
fn an_api_key_replaces_a_spec_login_says_so_and_keeps_the_profile_active() {
    let home = Home::new();
    let mut profiles = home.profiles();
    let login = profiles.new_login(Some("work")).unwrap();
    profiles.store(&login, &oauth()).unwrap();
    let stored = profiles.store(&login, &api_key()).unwrap();
    assert_eq!(stored.location, home.key_file("work").display().to_string());
    assert!(!stored.sdk_readable);
    assert_eq!(
        stored.notices,
        [LoginNotice::ReplacedSpecLogin {
            profile: "work".into(),
            config: home.config("work"),
            credentials: home.credentials("work"),
        }]
    );
    assert_eq!(
        stored.notices[0].to_string(),
        format!(
            "replaced the OAuth login of profile \"work\": removed {} and {}; the official SDKs no longer see this profile",
            home.config("work").display(),
            home.credentials("work").display()
        )
    );
    assert!(!home.config("work").exists() && !home.credentials("work").exists());
    assert_eq!(home.active_config(), None);
    assert_eq!(std::fs::read_to_string(home.own_pointer()).unwrap(), "work");
    let entry = profiles.show("work", None).unwrap();
    assert!(entry.active);
    assert_eq!(entry.credential.unwrap().kind, "apiKey");
}

#[test]
fn an_invalid_profile_name_is_refused_before_anything_is_read() {
    let home = Home::new();
    let profiles = home.profiles();
    let err = profiles.new_login(Some("../escape")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid profile name \"../escape\" (from --profile)"),
        "{err}"
    );
    let err = profiles.show("../x", None).unwrap_err();
    assert!(err.to_string().contains("(from profile show)"), "{err}");
    assert!(!home.root().join(".config").exists());
}

#[test]
fn show_of_a_missing_profile_is_an_entry_with_an_error() {
    let home = Home::new();
    let entry = home.profiles().show("nope", None).unwrap();
    assert_eq!(entry.name, "nope");
    assert!(!entry.active && !entry.sdk_readable);
    assert_eq!(entry.credential, None);
    assert_eq!(entry.error.as_deref(), Some("no credential stored"));
}

#[test]
fn use_picks_active_config_or_the_own_pointer_and_refuses_what_it_must() {
    let home = Home::new();
    let mut profiles = home.profiles();
    let keys = profiles.new_login(Some("keys")).unwrap();
    profiles.store(&keys, &api_key()).unwrap();

    // No active_config yet: an API-key profile goes to the own pointer.
    assert_eq!(
        profiles.use_profile("keys").unwrap(),
        Activated::OwnPointer(home.own_pointer())
    );
    assert_eq!(std::fs::read_to_string(home.own_pointer()).unwrap(), "keys");

    // An SDK-readable profile goes to active_config and drops the pointer.
    let work = profiles.new_login(Some("work")).unwrap();
    profiles.store(&work, &oauth()).unwrap();
    assert_eq!(
        profiles.use_profile("work").unwrap(),
        Activated::ActiveConfig(home.spec_dir().join("active_config"))
    );
    assert!(!home.own_pointer().exists());

    // Now active_config selects a profile for every SDK: the API-key one is refused.
    let err = profiles.use_profile("keys").unwrap_err();
    assert!(
        matches!(err, ProfileError::ActiveConfigInTheWay { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.hint().as_deref(),
        Some("use `--profile keys` for this profile, or remove active_config first")
    );
    assert_eq!(home.active_config().as_deref(), Some("work"));

    let err = profiles.use_profile("nope").unwrap_err();
    assert_eq!(err.to_string(), "no profile \"nope\"");
    assert_eq!(
        err.hint().as_deref(),
        Some("create it: claude-auth login --with-token --profile nope; or see `claude-auth profile list`")
    );
}

#[test]
fn an_encrypted_login_is_listed_from_the_same_service_without_reloading() {
    let mut home = Home::new();
    home.set(
        "CLAUDE_AUTH_ENCRYPTION_KEY",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    );
    let mut profiles = home.profiles();
    let mut login = profiles.new_login(Some("enc")).unwrap();
    login.storage = Some(StorageKind::EncryptedFile);
    let stored = profiles.store(&login, &oauth()).unwrap();
    assert_eq!(stored.storage, StorageKind::EncryptedFile);
    assert_eq!(
        stored.notices,
        [LoginNotice::NotActivated {
            profile: "enc".into()
        }]
    );
    // The same service reads it back from where the login put it.
    let entry = profiles.show("enc", None).unwrap();
    assert_eq!(entry.storage, "encrypted-file");
    assert_eq!(entry.error, None, "{entry:?}");
    assert_eq!(
        entry.credential.unwrap().location,
        home.own_dir()
            .join("encrypted/enc.json.enc")
            .display()
            .to_string()
    );
}

#[test]
fn logout_removes_the_credentials_only_and_is_idempotent() {
    let home = Home::new();
    let mut profiles = home.profiles();
    let login = profiles.new_login(Some("work")).unwrap();
    profiles.store(&login, &oauth()).unwrap();
    let out = block_on(profiles.logout(Some("work"), false)).unwrap();
    assert_eq!(out.profile.as_deref(), Some("work"));
    assert_eq!(
        out.removed,
        [home.credentials("work").display().to_string()]
    );
    assert_eq!(
        out.notes,
        [],
        "the built-in presets do not know this client id"
    );
    assert_eq!(out.still_available, None);
    assert!(home.config("work").is_file());
    assert_eq!(home.active_config().as_deref(), Some("work"));
    let again = block_on(profiles.logout(Some("work"), false)).unwrap();
    assert_eq!(again.removed, Vec::<String>::new());
}

#[test]
fn logout_all_removes_every_profile_and_both_pointers() {
    let home = Home::new();
    let mut profiles = home.profiles();
    for (name, credential) in [("work", oauth()), ("keys", api_key())] {
        let login = profiles.new_login(Some(name)).unwrap();
        profiles.store(&login, &credential).unwrap();
    }
    std::fs::remove_file(home.spec_dir().join("active_config")).unwrap();
    profiles.use_profile("keys").unwrap();
    let out = block_on(profiles.logout(None, true)).unwrap();
    assert_eq!(out.profile, None);
    for path in [
        home.key_file("keys"),
        home.credentials("work"),
        home.config("work"),
        home.own_pointer(),
    ] {
        assert!(
            out.removed.contains(&path.display().to_string()),
            "{path:?} not in {:?}",
            out.removed
        );
        assert!(!path.exists(), "{path:?}");
    }
    assert!(home.spec_dir().is_dir());
    assert_eq!(profiles.list(None).unwrap(), []);
}

// ---------------------------------------------------------------------------
// Revocation at logout, over real loopback HTTP.

/// A loopback revocation endpoint that answers `status` and records each
/// request body.
struct RevocationEndpoint {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

fn revocation_endpoint(status: u16) -> RevocationEndpoint {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/revoke", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    runtime.spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then exactly Content-Length bytes of body.
            let body = loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break Some(text[end + 4..end + 4 + length].to_owned());
                    }
                }
            };
            if let Some(body) = body {
                seen.lock().unwrap().push(body);
            }
            let reply =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    RevocationEndpoint {
        url,
        bodies,
        _runtime: runtime,
    }
}

/// A home whose settings name a provider with `revocation_url`, for the
/// test client id.
fn home_with_provider(revocation_url: &str) -> Home {
    let mut home = Home::new();
    let settings = home.root().join("settings.toml");
    std::fs::write(
        &settings,
        format!(
            "[providers.testidp]\nname = \"Test IdP\"\nclient_id = \"{CLIENT_ID}\"\n\
             authorize_url = \"http://127.0.0.1:9/authorize\"\ntoken_url = \"http://127.0.0.1:9/token\"\n\
             revocation_url = \"{revocation_url}\"\n"
        ),
    )
    .unwrap();
    let path = settings.display().to_string();
    home.set("CLAUDE_AUTH_SETTINGS", &path);
    home
}

#[test]
fn logout_revokes_the_refresh_token_at_the_provider_then_deletes() {
    let endpoint = revocation_endpoint(200);
    let home = home_with_provider(&endpoint.url);
    let mut profiles = home.profiles();
    let login = profiles.new_login(Some("work")).unwrap();
    profiles.store(&login, &oauth()).unwrap();
    let out = block_on(profiles.logout(Some("work"), false)).unwrap();
    assert_eq!(
        out.notes,
        [LogoutNote::Revoked {
            profile: "work".into(),
            provider: "Test IdP".into()
        }]
    );
    assert_eq!(out.notes[0].to_string(), "revoked the login at Test IdP");
    assert!(!out.notes[0].is_warning());
    let bodies = endpoint.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(bodies[0].as_bytes())
        .into_owned()
        .collect();
    assert!(form.contains(&("token".into(), REFRESH.into())), "{form:?}");
    assert!(form.contains(&("token_type_hint".into(), "refresh_token".into())));
    assert!(form.contains(&("client_id".into(), CLIENT_ID.into())));
    assert!(!home.credentials("work").exists());
}

#[test]
fn logout_with_the_provider_refusing_warns_and_still_deletes() {
    let endpoint = revocation_endpoint(503);
    let home = home_with_provider(&endpoint.url);
    let mut profiles = home.profiles();
    let login = profiles.new_login(Some("work")).unwrap();
    profiles.store(&login, &oauth()).unwrap();
    let out = block_on(profiles.logout(Some("work"), false)).unwrap();
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
    assert!(out.notes[0].is_warning());
    let text = out.notes[0].to_string();
    assert!(
        text.starts_with("could not revoke the login at the provider ("),
        "{text}"
    );
    assert!(text.ends_with("); deleting it locally anyway"), "{text}");
    assert!(!text.contains(REFRESH) && !text.contains(OAUTH), "{text}");
    assert_eq!(
        out.removed,
        [home.credentials("work").display().to_string()]
    );
    assert!(!home.credentials("work").exists());
}

// ---------------------------------------------------------------------------
// The keyring: fallback without one, and the real Secret Service.

/// Runs in a child process (see the next test) whose session bus leads
/// nowhere; does nothing otherwise.
#[test]
fn child_keyring_fallback() {
    let Ok(root) = std::env::var("CLAUDE_AUTH_TEST_PROFILES_CHILD") else {
        return;
    };
    let home = Home {
        tmp: tempfile::tempdir_in(&root).unwrap(),
        extra: vec![(
            "CLAUDE_AUTH_KEYRING_SERVICE".into(),
            "claude-auth-test-nowhere".into(),
        )],
    };
    let mut profiles = home.profiles();

    // Without the fallback: an error with a hint, nothing written.
    let mut strict = profiles.new_login(Some("kr")).unwrap();
    strict.storage = Some(StorageKind::Keyring);
    strict.fallback = false;
    let err = profiles.store(&strict, &oauth()).unwrap_err();
    assert!(
        matches!(err, ProfileError::KeyringUnavailable(_)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("keyring (claude-auth-test-nowhere, kr): "),
        "{err}"
    );
    assert!(err
        .hint()
        .unwrap()
        .starts_with("start or unlock your keyring"));
    assert!(!home.root().join(".config").exists());

    // With it: the login goes to the files, and the result says why.
    let mut login = strict.clone();
    login.fallback = true;
    let stored = profiles.store(&login, &oauth()).unwrap();
    assert_eq!(stored.storage, StorageKind::File);
    assert_eq!(
        stored.location,
        home.credentials("kr").display().to_string()
    );
    assert!(stored.sdk_readable, "a fallback login is a file login");
    let [LoginNotice::KeyringFallback { reason }] = stored.notices.as_slice() else {
        panic!("{:?}", stored.notices);
    };
    assert!(
        reason.starts_with("keyring (claude-auth-test-nowhere, kr): "),
        "{reason}"
    );
    assert!(stored.notices[0]
        .to_string()
        .ends_with("; falling back to a file readable only by you"));
    assert_eq!(home.active_config().as_deref(), Some("kr"));
    let entry = profiles.show("kr", None).unwrap();
    assert_eq!(entry.storage, "file");
    assert!(entry.credential.is_some(), "{entry:?}");
    println!("CHILD-DONE");
}

#[test]
fn an_unavailable_keyring_falls_back_to_the_files_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_keyring_fallback",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CLAUDE_AUTH_TEST_PROFILES_CHILD", tmp.path())
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/claude-auth-test/bus",
        )
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-DONE"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg(all(target_os = "linux", feature = "keyring"))]
fn a_keyring_login_is_listed_shown_and_logged_out_through_the_service() {
    if !common::require_secret_service() {
        return;
    }
    let service = format!("claude-auth-profiles-test-{}", std::process::id());
    let mut home = Home::new();
    home.set("CLAUDE_AUTH_KEYRING_SERVICE", &service);
    let mut profiles = home.profiles();
    let mut login = profiles.new_login(Some("kr")).unwrap();
    login.storage = Some(StorageKind::Keyring);
    login.fallback = false;
    let stored = profiles.store(&login, &oauth()).unwrap();
    assert_eq!(stored.storage, StorageKind::Keyring);
    assert_eq!(
        stored.location,
        format!("keyring service \"{service}\", account \"kr\"")
    );
    assert!(!stored.sdk_readable);
    assert_eq!(
        stored.notices,
        [LoginNotice::NotActivated {
            profile: "kr".into()
        }]
    );
    assert!(!home.credentials("kr").exists());
    assert_eq!(home.active_config(), None);

    // The same service lists it from the keyring right away.
    let list = profiles.list(None).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].storage, "keyring");
    assert_eq!(list[0].credential.as_ref().unwrap().kind, "oauthToken");
    // So does a fresh one (from the record of where logins went).
    let fresh = home.profiles().list(None).unwrap();
    let place = |e: &claude_auth::profiles::ProfileEntry| {
        let c = e
            .credential
            .as_ref()
            .map(|c| (c.kind.clone(), c.location.clone()));
        (e.name.clone(), e.storage.clone(), c)
    };
    assert_eq!(
        fresh.iter().map(place).collect::<Vec<_>>(),
        list.iter().map(place).collect::<Vec<_>>()
    );

    assert_eq!(
        profiles.use_profile("kr").unwrap(),
        Activated::OwnPointer(home.own_pointer())
    );
    let out = block_on(profiles.logout(None, false)).unwrap();
    assert_eq!(out.profile.as_deref(), Some("kr"));
    assert_eq!(out.removed, std::slice::from_ref(&stored.location));
    let store = profiles.resolver().store_for(StorageKind::Keyring).unwrap();
    assert_eq!(store.load("kr").unwrap(), None);
}
