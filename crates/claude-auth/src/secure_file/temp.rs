//! The temp files of atomic writes: named so they are recognisably ours, and
//! removed when their writer is gone.
//!
//! A temp file is `.<target name>.claude-auth-tmp.<pid>.<12 hex>` beside its
//! target. A writer killed between creating and renaming it (`kill -9`, a
//! power loss) leaves it behind, holding a full copy of what was being
//! written — tokens. It is stale when the process named by its pid no longer
//! exists, or when it is older than [`STALE_TEMP_AGE`] (the pid was reused,
//! or the directory is shared with another host or container whose pids we
//! cannot see). Every atomic write removes the stale temp files in its
//! directory after its rename; `logout` removes all of them for what it
//! deletes. Removing a live writer's temp file (another pid namespace)
//! makes that writer's rename fail with an error; it never tears a file.
//! Temp files from versions before this naming (`.<target>.<12 hex>.tmp`)
//! are recognised too, and are stale by age only.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// What every temp file's name carries between its target's name and the
/// writer's pid.
pub const TEMP_MARKER: &str = ".claude-auth-tmp.";

/// A temp file older than this is stale even if a process with its pid
/// exists. Writes take milliseconds; this is far beyond any fsync.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

const RANDOM_HEX_LEN: usize = 12;

/// A temp file's name, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TempName<'a> {
    /// The name of the file it was going to replace.
    pub target: &'a str,
    /// The writer's pid (`None` for the old naming).
    pub pid: Option<u32>,
}

fn is_random_hex(s: &str) -> bool {
    s.len() == RANDOM_HEX_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Parse a directory entry's name as one of our temp files.
pub(crate) fn parse_temp_name(name: &str) -> Option<TempName<'_>> {
    let rest = name.strip_prefix('.')?;
    if let Some((target, tail)) = rest.rsplit_once(TEMP_MARKER) {
        let (pid, hex) = tail.split_once('.')?;
        if target.is_empty() || !is_random_hex(hex) || pid.is_empty() {
            return None;
        }
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(TempName {
            target,
            pid: pid.parse().ok(),
        });
    }
    // The naming before this version: `.<target>.<12 hex>.tmp`.
    let (target, hex) = rest.strip_suffix(".tmp")?.rsplit_once('.')?;
    (!target.is_empty() && is_random_hex(hex)).then_some(TempName { target, pid: None })
}

/// Create a new temp file for `file_name` in `dir`, exclusively, with
/// exactly `mode`.
pub(crate) fn create_temp(dir: &Path, file_name: &str, mode: u32) -> Result<(PathBuf, File)> {
    let pid = std::process::id();
    for _ in 0..16 {
        let mut rnd = [0u8; RANDOM_HEX_LEN / 2];
        getrandom::fill(&mut rnd)
            .map_err(|e| Error::io("create temp file in", dir, io::Error::other(e.to_string())))?;
        let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".{file_name}{TEMP_MARKER}{pid}.{suffix}"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        match options.open(&tmp) {
            Ok(file) => {
                // The umask may have cleared bits we asked for; set exactly.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    file.set_permissions(fs::Permissions::from_mode(mode))
                        .map_err(|e| Error::io("set permissions on", &tmp, e))?;
                }
                return Ok((tmp, file));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create temp file", tmp, e)),
        }
    }
    Err(Error::io(
        "create temp file in",
        dir,
        io::Error::other("too many collisions"),
    ))
}

/// Whether a process with this pid exists (on this host, in this pid
/// namespace). `true` when it cannot be told.
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    use rustix::process::{test_kill_process, Pid};
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    !matches!(test_kill_process(pid), Err(rustix::io::Errno::SRCH))
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

fn is_stale(name: &TempName<'_>, meta: &fs::Metadata) -> bool {
    let old = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > STALE_TEMP_AGE);
    match name.pid {
        _ if old => true,
        Some(pid) if pid == std::process::id() => false,
        Some(pid) => !process_exists(pid),
        None => false,
    }
}

/// Remove our temp files in `dir` that `remove` selects. Only plain
/// files are touched; a missing directory has none.
fn sweep(
    dir: &Path,
    mut remove: impl FnMut(&TempName<'_>, &fs::Metadata) -> bool,
) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(parse_temp_name) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.file_type().is_file() || !remove(&name, &meta) {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &path, e)),
        }
    }
    Ok(removed)
}

/// Remove the stale temp files (see the module's rule) in `dir`; returns
/// what was removed. Every atomic write calls this after its rename.
pub fn remove_stale_temp_files(dir: &Path) -> Result<Vec<PathBuf>> {
    sweep(dir, is_stale)
}

/// Remove every temp file of ours in `dir`, however young, that was going to
/// replace `target` (a file name), or any file when `target` is `None`:
/// for `logout`, which deletes what they hold a copy of.
pub fn remove_temp_files(dir: &Path, target: Option<&str>) -> Result<Vec<PathBuf>> {
    sweep(dir, |name, _| target.is_none_or(|t| name.target == t))
}

/// [`remove_temp_files`] for the temp files of one file, `path`.
pub fn remove_temp_files_for(path: &Path) -> Result<Vec<PathBuf>> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Ok(Vec::new());
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    remove_temp_files(dir, Some(name))
}
