//! `AuthManager`'s single flight: what callers that wait on another caller's
//! refresh get, and that nothing is left waiting when a flight is dropped.
//! The token endpoint is a closed loopback port (a transient failure), so
//! nothing here needs a server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use futures_util::FutureExt;
use std::time::Duration;

use claude_auth::credential::now_unix;
use claude_auth::oauth::token_client::RetryPolicy;
use claude_auth::source::NoCredential;
use claude_auth::store::profile_files::ProfileFiles;
use claude_auth::store::CredentialStore;
use claude_auth::{
    AuthError, AuthManager, Credential, Env, ManagerOptions, Provider, Resolver, Secret, Settings,
    TokenSet,
};

const ACCESS: &str = "sk-ant-oat01-SingleFlightAccessAAAAAAAAAAAA1111";

/// A loopback URL nothing listens on.
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A `default` profile holding [`ACCESS`], refreshable (`client_id` and a
/// refresh token) or static, expiring at `expires_at`.
fn write_profile(home: &Path, refreshable: bool, expires_at: u64) {
    let files = ProfileFiles::new(home.join(".config").join("anthropic"));
    let mut set = TokenSet::access_only(Secret::new(ACCESS), Provider::Anthropic);
    set.expires_at = Some(expires_at);
    if refreshable {
        set.refresh_token = Some(Secret::new("sk-ant-ort01-SingleFlightRefreshBBBBBBBB2222"));
        set.client_id = Some("single-flight-test".into());
    }
    files.save("default", &Credential::OAuth(set)).unwrap();
}

fn manager(home: &Path) -> AuthManager {
    let env = Env::empty()
        .with("HOME", home.display().to_string())
        .with("ANTHROPIC_BASE_URL", closed_url());
    AuthManager::new(
        Resolver::with_settings(env, Settings::default()),
        ManagerOptions {
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(10),
            },
            ..ManagerOptions::default()
        },
    )
    .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_flight_whose_task_never_ran_does_not_block_later_callers() {
    let home = tempfile::tempdir().unwrap();
    // Inside the refresh threshold, not refreshable: the slow path hands
    // the token out as is, with no network.
    write_profile(home.path(), false, now_unix() + 100);
    let m = manager(home.path());
    let first = current_thread();
    // The caller starts a flight (its task is spawned, not yet run) and
    // gives up at once; then that runtime goes away with the task unrun.
    let gave_up = first.block_on(async { m.credential().now_or_never() });
    assert!(gave_up.is_none(), "the flight's task had not run yet");
    drop(first);
    // A bound, not a timing: without the fix this waits forever.
    let got = current_thread()
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), m.credential()).await })
        .expect("a later caller is not left waiting on the dropped flight")
        .unwrap();
    assert_eq!(got.secret().expose(), ACCESS);
}

#[test]
fn a_failed_401_recovery_does_not_fail_a_caller_that_only_wants_a_valid_token() {
    let home = tempfile::tempdir().unwrap();
    // Still valid but inside the threshold, and the token endpoint is down.
    write_profile(home.path(), true, now_unix() + 100);
    let m = manager(home.path());
    let rejected = Secret::new(ACCESS);
    let (forced, plain) = current_thread().block_on(async {
        // Polled in this order: the forced call leads the flight, the plain
        // one waits on it.
        tokio::join!(m.force_refresh(&rejected), m.obtain())
    });
    assert!(
        matches!(forced, Err(AuthError::Refresh(ref e)) if e.is_transient()),
        "{forced:?}"
    );
    // The waiter does not inherit the 401 recovery's failure: it tried
    // itself and got the still-valid token with a warning.
    let plain = plain.unwrap();
    assert_eq!(plain.credential.secret().expose(), ACCESS);
    assert!(
        plain
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("refresh failed")),
        "{:?}",
        plain.warning
    );
}

#[test]
fn waiters_get_the_same_kind_of_error_as_the_flight() {
    let home = tempfile::tempdir().unwrap();
    // Expired and the endpoint is down: a transient refresh error for all.
    write_profile(home.path(), true, now_unix() - 60);
    let m = manager(home.path());
    let (a, b) = current_thread().block_on(async { tokio::join!(m.obtain(), m.obtain()) });
    for r in [&a, &b] {
        assert!(
            matches!(r, Err(AuthError::Refresh(e)) if e.is_transient()),
            "{r:?}"
        );
    }
    assert_eq!(a.unwrap_err().to_string(), b.unwrap_err().to_string());

    // Nothing at all: both get NoCredential::None, so `login_required`-style
    // handling and exit codes work the same for the waiter.
    let empty = tempfile::tempdir().unwrap();
    let m = manager(empty.path());
    let (a, b) = current_thread().block_on(async { tokio::join!(m.obtain(), m.obtain()) });
    for r in [a, b] {
        assert!(
            matches!(r, Err(AuthError::NoCredential(NoCredential::None))),
            "{r:?}"
        );
    }
}
