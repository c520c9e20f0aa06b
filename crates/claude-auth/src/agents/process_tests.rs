#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn the_start_time_is_field_22_counted_after_the_command_name() {
    // A command name with spaces and parentheses, as a process may choose.
    let line =
        "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
    let stat = parse_stat(line).unwrap();
    assert_eq!(stat.state, b'S');
    assert_eq!(stat.start, 987_654);
    assert!(parse_stat("4242 (cut").is_none());
    assert!(parse_stat("4242 (x) S 1 2").is_none());
}

#[cfg(target_os = "linux")]
#[test]
fn a_running_process_is_known_by_its_pid_and_start_time() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = start_time(pid).unwrap();
    assert_eq!(start_time(pid), Some(start));
    assert!(is_running(pid, Some(start)));
    assert!(is_running(pid, None));
    // The same pid with another start time is another process.
    assert!(!is_running(pid, Some(start + 1)));
    child.kill().unwrap();
    // Killed but not yet reaped: a zombie counts as gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while is_running(pid, Some(start)) {
        assert!(std::time::Instant::now() < deadline, "{pid} still running");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait().unwrap();
    assert!(!is_running(pid, Some(start)));
    assert_eq!(start_time(pid), None);
}
