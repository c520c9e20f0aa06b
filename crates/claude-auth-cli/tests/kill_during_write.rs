//! `kill -9` during repeated logins never leaves a torn or empty credentials
//! file: after every SIGKILL the file either does not exist yet or parses as
//! JSON holding exactly one of the two tokens written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Sandbox;
use serde_json::Value;

const A: &str = "sk-ant-oat01-KillTokenAAAAAAAAAAAAAAAAAAAAAAAA1111";
const B: &str = "sk-ant-oat01-KillTokenBBBBBBBBBBBBBBBBBBBBBBBB2222";
const ITERATIONS: u64 = 200;

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
        // The delay sweeps 0..12 ms in uneven steps so the kill lands at
        // every phase of a run (start-up, read, temp write, fsync, rename).
        std::thread::sleep(Duration::from_micros((i * 7919) % 12_000));
        // SIGKILL on Unix; an error only means it already exited.
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.code().is_some() {
            finished += 1;
        } else {
            killed += 1;
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

    // The last run is not killed: it must complete and win.
    let last = sb.login(Some("p"), A);
    last.assert_code(0);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["access_token"], A);

    let temp_files = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(".p.json.") && name.ends_with(".tmp")
        })
        .count();
    println!(
        "{ITERATIONS} logins: {killed} killed by SIGKILL, {finished} finished first; \
         {temp_files} temp file(s) left in {} by runs that died mid-write; {:?}",
        dir.display(),
        started.elapsed()
    );
}
