//! Size and type limits on every file read, seen through the CLI: a FIFO, a
//! device behind a followed symlink and a huge file are each refused at
//! once with an error naming the file, instead of hanging or filling memory.
//! Every run is bounded: a run that does not finish in [`BOUND`] is killed
//! and fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Run, Sandbox};

const TOKEN: &str = "sk-ant-oat01-LimitsTokenAAAAAAAAAAAAAAAAAAAA1111";

/// The longest any run here may take; a refused read takes milliseconds.
const BOUND: Duration = Duration::from_secs(10);

/// Run the binary with stdin closed, killing it (and failing) after [`BOUND`].
fn run_bounded(sb: &Sandbox, args: &[&str]) -> Run {
    let mut child = sb
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`claude-auth {}` did not finish in {BOUND:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

fn fifo_message(path: &Path) -> String {
    format!(
        "{} is a FIFO, not a regular file; refusing to read it. Replace it with a regular file",
        path.display()
    )
}

#[test]
fn a_fifo_as_credentials_file_is_refused_at_once() {
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.credentials_path("work");
    std::fs::remove_file(&path).unwrap();
    mkfifo(&path);
    let run = run_bounded(&sb, &["token", "--profile", "work"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [format!("error: explicit: {}", fifo_message(&path))]
    );
}

#[test]
fn a_fifo_as_active_config_is_refused_at_once() {
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.active_config_path();
    let _ = std::fs::remove_file(&path);
    mkfifo(&path);
    let run = run_bounded(&sb, &["token"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains(&fifo_message(&path)), "{run}");
}

#[test]
fn a_fifo_as_settings_file_is_refused_at_once() {
    let sb = Sandbox::new();
    let path = sb.own_dir().join("config.toml");
    mkfifo(&path);
    let run = run_bounded(&sb, &["status"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(run.stderr.contains(&fifo_message(&path)), "{run}");
}

#[test]
fn dev_zero_linked_as_claude_codes_file_is_refused_at_once() {
    // Claude Code's file is read through symlinks (a dotfiles link): the
    // link is followed, and what it leads to must still be a regular file.
    let sb = Sandbox::new();
    let path = sb.claude_code_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    symlink("/dev/zero", &path).unwrap();
    let run = run_bounded(&sb, &["status"]);
    run.assert_code(1);
    let expected = format!(
        "{} is a character device, not a regular file; refusing to read it. Replace it with a regular file",
        path.display()
    );
    assert!(
        run.stdout_lines()
            .iter()
            .any(|l| l.starts_with("  ✗ Claude Code login") && l.ends_with(&expected)),
        "{run}"
    );
    // `token` passes over the broken source (a later tier) and says so.
    let token = run_bounded(&sb, &["token"]);
    token.assert_code(4);
    assert_eq!(token.stdout, "");
}

#[test]
fn a_huge_active_config_is_refused_without_reading_or_printing_it() {
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.active_config_path();
    // 100 MB (sparse: no disk is used) of NULs.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 << 20).unwrap();
    drop(file);
    let run = run_bounded(&sb, &["token"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains(&format!(
            "{} is larger than 4 KiB, the limit for this file; refusing to read it. Move it aside",
            path.display()
        )),
        "{run}"
    );
    assert!(
        run.stderr.len() < 1024,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn a_credentials_file_over_1_mib_is_refused() {
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.credentials_path("work");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&" ".repeat(1 << 20));
    std::fs::write(&path, text).unwrap();
    let run = run_bounded(&sb, &["token", "--profile", "work"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines(),
        [format!(
            "error: explicit: {} is larger than 1 MiB, the limit for this file; refusing to read it. Move it aside",
            path.display()
        )]
    );
}
