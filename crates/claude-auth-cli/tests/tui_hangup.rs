//! `claude-auth tui` whose terminal hangs up under it (the terminal window
//! closed, the SSH connection dropped): the process ends, rather than spin
//! on reads of the closed tty. Found on this machine: a `tui` orphaned by a
//! failed pty test ran at 88 % CPU for 20 minutes after its pty was closed
//! (strace: nothing but `read`, 12,000 a second).

use std::io::Read;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

#[test]
fn a_tui_whose_terminal_hangs_up_ends_instead_of_spinning() {
    let home = tempfile::tempdir().unwrap();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_claude-auth"));
    cmd.arg("tui");
    cmd.env_clear();
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home.path());
    cmd.env("PATH", "/usr/bin:/bin");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    // The first frame: the TUI is up and in raw mode.
    let (tx, rx) = std::sync::mpsc::channel();
    let reading = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains("claude-auth") {
                // Ends here: its copy of the master's fd closes with it.
                let _ = tx.send(());
                break;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the TUI drew nothing in 20 s");
    reading.join().unwrap(); // the reader's copy of the master's fd is closed
                             // Hang up: the master closes (the kernel sends SIGHUP to the session).
    drop(pair.master);
    let hung_up = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if hung_up.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = status.expect("claude-auth tui still running 10 s after its terminal hung up");
    assert!(!status.success(), "{status:?}");
}
