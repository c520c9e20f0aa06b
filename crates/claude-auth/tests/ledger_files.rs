#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]
//! The usage ledger's files follow the rules of every file claude-auth
//! keeps: made 0600 in a 0700 directory, never opened through a symlink,
//! never another user's, never readable by others; each refusal names the
//! file and the fix, and leaves everything as it was.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use claude_auth::usage::ledger::{Ledger, LedgerError, RequestRecord, FILE_NAME};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn row() -> RequestRecord {
    RequestRecord {
        at: 86_400,
        provider: "anthropic".into(),
        status: 200,
        input_tokens: 1,
        ..RequestRecord::default()
    }
}

#[test]
fn a_new_ledger_is_0600_in_a_0700_directory_and_so_are_its_wal_files() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("config").join("state");
    let ledger = Ledger::open_in(&state).unwrap();
    ledger.record(&row()).unwrap();
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join(FILE_NAME)), 0o600);
    for side in ["usage.db-wal", "usage.db-shm"] {
        assert_eq!(mode(&state.join(side)), 0o600, "{side}");
    }
}

#[test]
fn a_symlinked_ledger_or_wal_file_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, b"not yours to write").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let err = Ledger::open(&path).unwrap_err();
    assert!(matches!(err, LedgerError::Unsafe(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("symlink"), "{text}");
    assert_eq!(std::fs::read(&target).unwrap(), b"not yours to write");
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());

    // The same for SQLite's side files: a write-ahead log planted as a link
    // is never written through.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    Ledger::open(&path).unwrap();
    let wal = dir.path().join("usage.db-wal");
    let _ = std::fs::remove_file(&wal);
    std::os::unix::fs::symlink(&target, &wal).unwrap();
    let err = Ledger::open(&path).unwrap_err();
    assert!(
        err.to_string().contains(&wal.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"not yours to write");
}

#[test]
fn a_ledger_others_can_read_is_refused_with_the_chmod_that_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    Ledger::open(&path).unwrap().record(&row()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Ledger::open(&path).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("chmod 600 {}", path.display())),
        "{text}"
    );
    assert_eq!(mode(&path), 0o644, "left as it was");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(Ledger::open(&path).unwrap().history(0).unwrap().len(), 1);
}

#[test]
fn wal_files_an_older_version_left_0644_are_made_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let first = Ledger::open(&path).unwrap();
    first.record(&row()).unwrap();
    let wal = dir.path().join("usage.db-wal");
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
    let second = Ledger::open(&path).unwrap();
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(second.history(0).unwrap().len(), 1);
}

#[test]
fn a_ledger_owned_by_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    Ledger::open(&path).unwrap().record(&row()).unwrap();
    // Only root can give a file away.
    if std::os::unix::fs::chown(&path, Some(4242), Some(4242)).is_err() {
        common::missing_env("giving the ledger to another user needs root (chown)");
        return;
    }
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), 4242);
    let err = Ledger::open(&path).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("owned by another user"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}
