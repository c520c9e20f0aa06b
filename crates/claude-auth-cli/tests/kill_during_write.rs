//! `kill -9` during repeated logins never leaves a torn or empty credentials
//! file: after every SIGKILL the file either does not exist yet or parses as
//! JSON holding exactly one of the two tokens written. The temp files killed
//! writers leave (each a full copy of a token) are removed by the next write
//! to the directory, and by `logout` and `logout --all`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Sandbox;
use serde_json::Value;

const A: &str = "sk-ant-oat01-KillTokenAAAAAAAAAAAAAAAAAAAAAAAA1111";
const B: &str = "sk-ant-oat01-KillTokenBBBBBBBBBBBBBBBBBBBBBBBB2222";
const ITERATIONS: u64 = 200;

/// Temp files beside `p.json` in `dir`: every name a write of `p.json` ever
/// used (`.p.json.<anything>`), so this also sees the naming of older builds.
fn temp_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".p.json."))
        .collect();
    names.sort();
    names
}

/// Start `login --profile p` and SIGKILL it after `delay`; true when the
/// kill landed (the run did not finish first).
fn killed_login(sb: &Sandbox, token: &str, delay: Duration) -> bool {
    let mut child = sb
        .command(&["login", "--with-token", "--profile", "p"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(format!("{token}\n").as_bytes());
    }
    std::thread::sleep(delay);
    // SIGKILL on Unix; an error only means it already exited.
    let _ = child.kill();
    child.wait().unwrap().code().is_none()
}

/// Kill logins at sweeping delays until one dies between creating its temp
/// file and renaming it, leaving the temp file behind (the writer is dead:
/// it was waited for). Panics if none does in `max` tries.
fn leave_a_temp_file(sb: &Sandbox, dir: &Path, max: u64) -> Vec<String> {
    for i in 0..max {
        let token = if i % 2 == 0 { A } else { B };
        killed_login(sb, token, Duration::from_micros((i * 7919) % 12_000));
        let left = temp_files(dir);
        if !left.is_empty() {
            return left;
        }
    }
    panic!("no kill out of {max} landed mid-write");
}

#[test]
fn sigkill_during_repeated_logins_never_tears_the_credentials_file() {
    let sb = Sandbox::new();
    let path = sb.credentials_path("p");
    let dir = path.parent().unwrap().to_owned();
    let mut existed = false;
    let (mut killed, mut finished) = (0u32, 0u32);
    let started = Instant::now();

    for i in 0..ITERATIONS {
        let token = if i % 2 == 0 { A } else { B };
        // The delay sweeps 0..12 ms in uneven steps so the kill lands at
        // every phase of a run (start-up, read, temp write, fsync, rename).
        if killed_login(&sb, token, Duration::from_micros((i * 7919) % 12_000)) {
            killed += 1;
        } else {
            finished += 1;
        }

        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    !existed,
                    "iteration {i}: the credentials file disappeared after it existed"
                );
            }
            Err(e) => panic!("iteration {i}: {e}"),
            Ok(bytes) => {
                existed = true;
                let doc: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                    panic!(
                        "iteration {i}: torn credentials file ({e}): {:?}",
                        String::from_utf8_lossy(&bytes)
                    )
                });
                let access = doc["access_token"].as_str().unwrap_or_default();
                assert!(
                    access == A || access == B,
                    "iteration {i}: access_token is {access:?}"
                );
                assert_eq!(doc["type"], "oauth_token", "iteration {i}");
            }
        }
    }

    // Make sure at least one killed writer's temp file is there now.
    let mut left = temp_files(&dir);
    if left.is_empty() {
        left = leave_a_temp_file(&sb, &dir, 2000);
    }

    // The last run is not killed: it must complete, win, and remove the
    // temp files the killed runs left (their writers are dead).
    let last = sb.login(Some("p"), A);
    last.assert_code(0);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["access_token"], A);
    assert_eq!(
        temp_files(&dir),
        Vec::<String>::new(),
        "the next write removes the {} temp file(s) killed writers left",
        left.len()
    );
    println!(
        "{ITERATIONS} logins: {killed} killed by SIGKILL, {finished} finished first; \
         {} temp file(s) left in {} by runs that died mid-write, removed by the next write; {:?}",
        left.len(),
        dir.display(),
        started.elapsed()
    );
}

#[test]
fn logout_removes_the_temp_files_killed_writers_left() {
    let sb = Sandbox::new();
    let path = sb.credentials_path("p");
    let dir = path.parent().unwrap().to_owned();
    sb.login(Some("p"), A);

    // `logout` (one profile) removes that profile's temp files.
    let left = leave_a_temp_file(&sb, &dir, 2000);
    let run = sb.run(&["logout", "--profile", "p"]);
    run.assert_code(0);
    assert_eq!(temp_files(&dir), Vec::<String>::new(), "left: {left:?}");

    // `logout --all` too, and then the emptied directory goes as well.
    sb.login(Some("p"), B);
    let left = leave_a_temp_file(&sb, &dir, 2000);
    let run = sb.run(&["logout", "--all"]);
    run.assert_code(0);
    assert_eq!(temp_files(&dir), Vec::<String>::new(), "left: {left:?}");
    assert!(!path.exists());
    assert!(
        !dir.exists(),
        "the emptied credentials directory is removed"
    );
}
