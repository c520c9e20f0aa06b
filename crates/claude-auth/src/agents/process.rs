//! Whether an agent's process is still the one that was started.
//!
//! A pid alone is not enough: once a process is gone its pid can be given to
//! another one. Linux says when a process started (field 22 of
//! `/proc/<pid>/stat`, in clock ticks since boot); a session keeps it beside
//! the pid, and a process with the same pid but another start time is not
//! the agent. A zombie (exited, not yet reaped) counts as gone.

use std::io::Read;

/// What `/proc/<pid>/stat` says, when it can be read.
struct Stat {
    /// Field 3: `R`, `S`, `Z`, …
    state: u8,
    /// Field 22: the start time, in clock ticks after boot.
    start: u64,
}

/// Parse a `/proc/<pid>/stat` line. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so the fields
/// after it are counted from the last `)`.
fn parse_stat(line: &str) -> Option<Stat> {
    let rest = &line[line.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    // Fields 4 to 21 come before the start time.
    let start = fields.nth(18)?.parse().ok()?;
    Some(Stat { state, start })
}

enum Probe {
    Stat(Stat),
    Gone,
    Unknown,
}

fn read_stat(pid: u32) -> Probe {
    let path = format!("/proc/{pid}/stat");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // No /proc at all: this system cannot say.
            return if std::path::Path::new("/proc/self/stat").exists() {
                Probe::Gone
            } else {
                Probe::Unknown
            };
        }
        Err(_) => return Probe::Unknown,
    };
    let mut line = String::new();
    // A stat line is a few hundred bytes; never read more than 4 KiB.
    if file.take(4096).read_to_string(&mut line).is_err() {
        // It went away while being read, most likely.
        return Probe::Gone;
    }
    parse_stat(&line).map_or(Probe::Unknown, Probe::Stat)
}

/// The start time of `pid` (field 22 of `/proc/<pid>/stat`), or `None`
/// where there is no such file (another system, or the process is gone).
pub fn start_time(pid: u32) -> Option<u64> {
    match read_stat(pid) {
        Probe::Stat(s) => Some(s.start),
        _ => None,
    }
}

/// Whether `pid` is still running and, when `start` is known, is the
/// process that started then. Where the system cannot say (no `/proc`), a
/// process that exists counts as running.
pub fn is_running(pid: u32, start: Option<u64>) -> bool {
    match read_stat(pid) {
        Probe::Stat(s) => s.state != b'Z' && s.state != b'X' && start.is_none_or(|t| t == s.start),
        Probe::Gone => false,
        Probe::Unknown => exists(pid),
    }
}

#[cfg(unix)]
fn exists(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

#[cfg(not(unix))]
fn exists(_pid: u32) -> bool {
    true
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
