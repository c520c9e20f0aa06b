//! Unit tests of `secure_file`: atomic writes, read policies and limits,
//! temp-file naming and sweeping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::temp::{parse_temp_name, TempName, STALE_TEMP_AGE, TEMP_MARKER};
use super::*;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::{Duration, Instant, SystemTime};

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn temp_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| parse_temp_name(n).is_some())
        .collect();
    names.sort();
    names
}

/// A pid no process has: a child that was started and reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn atomic_write_creates_private_file_and_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("new/dir/creds.json");
    write_atomic(&path, b"{}", 0o600).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"{}");
    assert_eq!(mode_of(&path), Some(0o600));
    assert_eq!(mode_of(&tmp.path().join("new/dir")), Some(0o700));
    let leftovers: Vec<_> = fs::read_dir(tmp.path().join("new/dir")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file left behind");
}

#[test]
fn atomic_write_through_symlink_writes_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real.json");
    fs::write(&real, b"old").unwrap();
    let link = tmp.path().join("link.json");
    symlink(&real, &link).unwrap();
    write_atomic(&link, b"new", 0o600).unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&real).unwrap(), b"new");
}

#[test]
fn strict_write_refuses_a_symlink_and_leaves_its_target() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real.json");
    fs::write(&real, b"old").unwrap();
    let link = tmp.path().join("link.json");
    symlink(&real, &link).unwrap();
    let err = write_atomic_strict(&link, b"new", 0o600).unwrap_err();
    assert!(
        matches!(err, Error::Symlink { ref path } if *path == link),
        "{err}"
    );
    assert_eq!(fs::read(&real).unwrap(), b"old");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn strict_read_refuses_symlink_and_loose_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real.json");
    fs::write(&real, b"{}").unwrap();
    chmod(&real, 0o644);
    let err = read_optional(&real, ReadPolicy::Strict).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is accessible by group or others (mode 0644); run `chmod 600 {}`",
            real.display(),
            real.display()
        )
    );
    chmod(&real, 0o600);
    assert!(read_optional(&real, ReadPolicy::Strict).unwrap().is_some());
    let link = tmp.path().join("link.json");
    symlink(&real, &link).unwrap();
    assert!(matches!(
        read_optional(&link, ReadPolicy::Strict),
        Err(Error::Symlink { .. })
    ));
    assert!(read_optional(&link, ReadPolicy::Lenient).unwrap().is_some());
    assert!(read_optional(&tmp.path().join("none"), ReadPolicy::Strict)
        .unwrap()
        .is_none());
}

#[test]
fn a_fifo_is_refused_at_once_under_every_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("creds.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    chmod(&fifo, 0o600);
    for policy in [ReadPolicy::Strict, ReadPolicy::Config, ReadPolicy::Lenient] {
        let started = Instant::now();
        let err = read_optional(&fifo, policy).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            err.to_string(),
            format!(
                "{} is a FIFO, not a regular file; refusing to read it. Replace it with a regular file",
                fifo.display()
            )
        );
    }
}

#[test]
fn a_symlink_to_dev_zero_is_refused_where_symlinks_are_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join(".credentials.json");
    symlink("/dev/zero", &link).unwrap();
    let err = read_optional(&link, ReadPolicy::Lenient).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotRegularFile {
                kind: "a character device",
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        read_optional(&link, ReadPolicy::Strict),
        Err(Error::Symlink { .. })
    ));
}

#[test]
fn a_file_over_its_limit_is_refused_and_one_at_the_limit_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("active_config");
    fs::write(&path, vec![b'a'; MAX_POINTER_BYTES as usize]).unwrap();
    let read = read_optional_limited(&path, ReadPolicy::Config, MAX_POINTER_BYTES).unwrap();
    assert_eq!(read.unwrap().len() as u64, MAX_POINTER_BYTES);
    fs::write(&path, vec![b'a'; MAX_POINTER_BYTES as usize + 1]).unwrap();
    let err = read_optional_limited(&path, ReadPolicy::Config, MAX_POINTER_BYTES).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is larger than 4 KiB, the limit for this file; refusing to read it. Move it aside",
            path.display()
        )
    );
    let big = tmp.path().join("big.json");
    fs::write(&big, vec![b' '; MAX_CREDENTIALS_BYTES as usize + 1]).unwrap();
    chmod(&big, 0o600);
    let err = read_optional(&big, ReadPolicy::Strict).unwrap_err();
    assert!(err.to_string().contains("is larger than 1 MiB"), "{err}");
}

#[test]
fn config_policy_refuses_writable_by_others_and_follows_links() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real.toml");
    fs::write(&real, b"x").unwrap();
    chmod(&real, 0o664);
    let err = read_optional(&real, ReadPolicy::Config).unwrap_err();
    assert!(
        matches!(err, Error::WritableConfig { mode: 0o664, .. }),
        "{err}"
    );
    chmod(&real, 0o644);
    let link = tmp.path().join("config.toml");
    symlink(&real, &link).unwrap();
    assert_eq!(
        read_optional(&link, ReadPolicy::Config).unwrap().unwrap(),
        b"x"
    );
}

#[test]
fn a_world_writable_directory_without_sticky_bit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shared");
    fs::create_dir(&dir).unwrap();
    let path = dir.join("config.toml");
    fs::write(&path, b"x").unwrap();
    chmod(&path, 0o600);
    chmod(&dir, 0o777);
    for policy in [ReadPolicy::Config, ReadPolicy::Strict] {
        let err = read_optional(&path, policy).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is in {}, which everyone can write (mode 0777, no sticky bit), so anyone could replace it; refusing to use it. Run `chmod o-w {}` or move the file",
                path.display(),
                dir.display(),
                dir.display()
            )
        );
    }
    // Lenient (another tool's file) does not look at directories.
    assert!(read_optional(&path, ReadPolicy::Lenient).unwrap().is_some());
    // With the sticky bit (like /tmp) nobody can replace another's file.
    chmod(&dir, 0o1777);
    assert!(read_optional(&path, ReadPolicy::Config).unwrap().is_some());
}

#[test]
fn a_world_writable_directory_behind_a_symlink_is_refused_too() {
    // ~/.config -> /shared/dotfiles/.config: the real directories count.
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    let real = shared.join("dotfiles");
    fs::create_dir_all(&real).unwrap();
    let path = real.join("config.toml");
    fs::write(&path, b"x").unwrap();
    chmod(&path, 0o600);
    let link = tmp.path().join("config-link");
    symlink(&real, &link).unwrap();
    let via_link = link.join("config.toml");
    assert!(read_optional(&via_link, ReadPolicy::Config)
        .unwrap()
        .is_some());
    chmod(&shared, 0o777);
    for policy in [ReadPolicy::Config, ReadPolicy::Strict] {
        let err = read_optional(&via_link, policy).unwrap_err();
        assert!(
            matches!(err, Error::InsecureDirectory { ref dir, mode: 0o777, .. } if *dir == shared),
            "{err}"
        );
    }
    // A symlinked file whose target lies in such a directory, likewise.
    let file_link = tmp.path().join("config.toml");
    symlink(&path, &file_link).unwrap();
    assert!(matches!(
        read_optional(&file_link, ReadPolicy::Config),
        Err(Error::InsecureDirectory { .. })
    ));
    chmod(&shared, 0o755);
    assert!(read_optional(&file_link, ReadPolicy::Config)
        .unwrap()
        .is_some());
}

#[test]
fn temp_names_are_recognised_and_nothing_else_is() {
    assert_eq!(
        parse_temp_name(".p.json.claude-auth-tmp.1234.0123456789ab"),
        Some(TempName {
            target: "p.json",
            pid: Some(1234)
        })
    );
    assert_eq!(
        parse_temp_name(".p.json.0123456789ab.tmp"),
        Some(TempName {
            target: "p.json",
            pid: None
        })
    );
    for other in [
        "p.json",
        ".p.json",
        ".p.json.claude-auth-tmp.12x.0123456789ab",
        ".p.json.claude-auth-tmp.1234.0123456789",
        ".p.json.claude-auth-tmp..0123456789ab",
        "..claude-auth-tmp.1.0123456789ab",
        ".p.json.0123456789AB.tmp",
        ".p.json.tmp",
    ] {
        assert_eq!(parse_temp_name(other), None, "{other}");
    }
}

#[test]
fn a_write_creates_a_recognisable_temp_file_and_sweeps_stale_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dead = dead_pid();
    let stale_dead = format!(".p.json{TEMP_MARKER}{dead}.0123456789ab");
    let live_mine = format!(".p.json{TEMP_MARKER}{}.0123456789ab", std::process::id());
    let legacy_young = ".p.json.0123456789ab.tmp".to_owned();
    let legacy_old = ".q.json.0123456789ab.tmp".to_owned();
    let live_old = format!(".q.json{TEMP_MARKER}{}.0123456789ab", std::process::id());
    let unrelated = ".p.json.bak".to_owned();
    for name in [
        &stale_dead,
        &live_mine,
        &legacy_young,
        &legacy_old,
        &live_old,
        &unrelated,
    ] {
        fs::write(dir.join(name), b"secret").unwrap();
    }
    let long_ago = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(60);
    for name in [&legacy_old, &live_old] {
        File::options()
            .write(true)
            .open(dir.join(name))
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    write_atomic(&dir.join("p.json"), b"{}", 0o600).unwrap();
    // Left: the young ones whose writer may still be running, and what is
    // not ours.
    let mut left = temp_files(dir);
    left.sort();
    let mut expected = vec![legacy_young.clone(), live_mine.clone()];
    expected.sort();
    assert_eq!(left, expected);
    assert!(dir.join(&unrelated).exists());

    // logout's removal takes every one for the file, however young.
    let removed = remove_with_temp_files(&dir.join("p.json")).unwrap();
    assert!(removed);
    assert!(temp_files(dir).is_empty());
    assert!(dir.join(&unrelated).exists());
}

#[test]
fn remove_temp_files_can_target_one_file_or_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let me = std::process::id();
    for target in ["a.json", "b.json"] {
        fs::write(
            dir.join(format!(".{target}{TEMP_MARKER}{me}.0123456789ab")),
            b"x",
        )
        .unwrap();
    }
    let removed = remove_temp_files(dir, Some("a.json")).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(temp_files(dir).len(), 1);
    assert_eq!(remove_temp_files(dir, None).unwrap().len(), 1);
    assert!(temp_files(dir).is_empty());
    assert!(remove_temp_files(&dir.join("missing"), None)
        .unwrap()
        .is_empty());
}
