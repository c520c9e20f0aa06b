//! A test whose environment (OAuth rig, Secret Service, Python venv) is
//! missing must never report `ok` as if it had run: under `CI` it fails, and
//! elsewhere it says on stderr that it skipped. `scripts/test` sets all of
//! these environments up and exports `CI=1`, so a local `scripts/test` run
//! behaves as CI does.
//!
//! Included by the CLI tests' `common/mod.rs` and `rig/mod.rs` (a test file may
//! use either), and by the library tests' `common/mod.rs`.
#![allow(dead_code)]

use std::io::Write as _;

/// Whether `CI` is set (to anything but empty, `0` or `false`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The running test's name (libtest names each test's thread after it).
pub fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("this test")
        .to_owned()
}

/// The environment this test needs is missing (`why` says what and which
/// variable): under `CI` this panics; otherwise it prints
/// `skipped <test>: <why> (run scripts/test)` to stderr and returns, and the
/// caller returns at once.
pub fn missing_env(why: &str) {
    missing_env_named(&current_test(), why);
}

/// [`missing_env`] for a test that names itself.
pub fn missing_env_named(test: &str, why: &str) {
    if under_ci() {
        panic!(
            "{test}: {why}; CI is set, so a missing test environment is a failure \
             (run the tests through scripts/test, which sets it up)"
        );
    }
    // Straight to the process's stderr, past libtest's output capture, so a
    // plain `cargo test` shows the skip beside its `ok`.
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: {why} (run scripts/test)"
    );
}

/// `available`, after reporting [`missing_env`] when it is not: the test
/// goes on only on `true`.
pub fn require_env(available: bool, why: &str) -> bool {
    if !available {
        missing_env(why);
    }
    available
}

/// The private Secret Service of `scripts/test` is up
/// (`CLAUDE_AUTH_TEST_SECRET_SERVICE=1`); else [`missing_env`] and `false`.
pub fn require_secret_service() -> bool {
    require_env(
        std::env::var("CLAUDE_AUTH_TEST_SECRET_SERVICE").as_deref() == Ok("1"),
        "no private Secret Service (CLAUDE_AUTH_TEST_SECRET_SERVICE is not 1)",
    )
}

/// `curl` runs (Debian package curl; `scripts/test` installs it); else
/// [`missing_env`] and `false`.
pub fn require_curl() -> bool {
    let ok = std::process::Command::new("curl")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    require_env(ok, "curl is not installed (Debian package curl)")
}
