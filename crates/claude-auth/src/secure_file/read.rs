//! The one way this crate reads a file.
//!
//! A read opens the file without blocking (a FIFO cannot hang it), checks
//! what it opened with `fstat` (a regular file only, so no TOCTOU between a
//! check and the open), applies the file's [`ReadPolicy`] (owner, mode,
//! directories) and reads at most its size limit plus one byte, so neither
//! `/dev/zero` nor a huge file can exhaust memory.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// Credentials files (the spec's, claude-auth's key and encrypted files,
/// Claude Code's, the seed's, a federation token cache): 1 MiB.
pub const MAX_CREDENTIALS_BYTES: u64 = 1 << 20;
/// Settings and config files (`config.toml`, `configs/<profile>.json`,
/// `profiles.json`, refresh state): 1 MiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Files holding one profile name (`active_config`, claude-auth's own
/// pointer): 4 KiB.
pub const MAX_POINTER_BYTES: u64 = 4 << 10;
/// A workload identity token file (a JWT): 64 KiB.
pub const MAX_IDENTITY_TOKEN_BYTES: u64 = 64 << 10;
/// Claude Code's `.claude.json`, read for the account's name only (it also
/// holds Claude Code's history, so it is allowed to be large): 16 MiB.
pub const MAX_ACCOUNT_FILE_BYTES: u64 = 16 << 20;

/// How strictly a file's owner, permissions and type are checked on read.
/// Every policy refuses anything but a regular file and a file over its
/// size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPolicy {
    /// The spec's rule for credentials: refuse a symlink, any group/other
    /// bit, an owner other than you or root, and a directory on the way that
    /// everyone can write without the sticky bit.
    Strict,
    /// Settings and config files, which decide where a token is sent:
    /// symlinks followed (a dotfiles-managed link), but refuse group/other
    /// write bits, an owner other than you or root, and a directory on the
    /// way that everyone can write without the sticky bit.
    Config,
    /// Follow symlinks, accept any mode and owner (another tool's file;
    /// `status` warns about loose modes).
    Lenient,
}

impl ReadPolicy {
    /// The size limit [`read_optional`] applies under this policy.
    pub fn default_limit(self) -> u64 {
        match self {
            ReadPolicy::Strict | ReadPolicy::Lenient => MAX_CREDENTIALS_BYTES,
            ReadPolicy::Config => MAX_CONFIG_BYTES,
        }
    }
}

/// Read a file under `policy` with its default size limit; `Ok(None)` when
/// it does not exist.
pub fn read_optional(path: &Path, policy: ReadPolicy) -> Result<Option<Vec<u8>>> {
    read_optional_limited(path, policy, policy.default_limit())
}

/// Read a file under `policy`, at most `limit` bytes; `Ok(None)` when it
/// does not exist. Errors name the file and what to do.
pub fn read_optional_limited(
    path: &Path,
    policy: ReadPolicy,
    limit: u64,
) -> Result<Option<Vec<u8>>> {
    // A cheap look before opening, so a device is never even opened; the
    // decisive check is the fstat of what was opened, below.
    let follow = policy != ReadPolicy::Strict;
    let before = if follow {
        fs::metadata(path)
    } else {
        fs::symlink_metadata(path)
    };
    match before {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(Error::Symlink {
                path: path.to_owned(),
            })
        }
        Ok(meta) => check_type(path, &meta)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    }
    let Some(file) = open_no_block(path, follow)? else {
        return Ok(None);
    };
    let meta = file.metadata().map_err(|e| Error::io("read", path, e))?;
    check_type(path, &meta)?;
    match policy {
        ReadPolicy::Strict => {
            check_owner(path, &meta)?;
            check_private_mode(path, &meta)?;
            check_directories(path)?;
        }
        ReadPolicy::Config => {
            check_owner(path, &meta)?;
            check_not_writable_by_others(path, &meta)?;
            check_directories(path)?;
        }
        ReadPolicy::Lenient => {}
    }
    let too_large = || Error::TooLarge {
        path: path.to_owned(),
        limit,
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    // The size may have grown since the fstat: read one byte past the limit
    // to notice, never more.
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("read", path, e))?;
    if buf.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(Some(buf))
}

/// The checks [`ReadPolicy::Strict`] makes before a read, for a file that
/// another library opens itself (SQLite opens the usage ledger): not a
/// symlink, a regular file, yours (or root's), no group or other bits, and
/// no directory on the way that everyone can write without the sticky bit.
/// `Ok(false)` when it does not exist. Errors name the file and the fix.
pub fn check_private_file(path: &Path) -> Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("check", path, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(Error::Symlink {
            path: path.to_owned(),
        });
    }
    check_type(path, &meta)?;
    check_owner(path, &meta)?;
    check_private_mode(path, &meta)?;
    check_directories(path)?;
    Ok(true)
}

/// [`read_optional_limited`] for a file that must exist.
pub fn read_required(path: &Path, policy: ReadPolicy, limit: u64) -> Result<Vec<u8>> {
    read_optional_limited(path, policy, limit)?
        .ok_or_else(|| Error::io("read", path, io::Error::from(io::ErrorKind::NotFound)))
}

#[cfg(unix)]
fn open_no_block(path: &Path, follow: bool) -> Result<Option<File>> {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;
    // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a
    // writer (the fstat then refuses it); it changes nothing for a regular
    // file. O_NOFOLLOW: a symlink swapped in after the look above is refused
    // by the open itself.
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::LOOP | Errno::MLINK) if !follow => Err(Error::Symlink {
            path: path.to_owned(),
        }),
        Err(e) => Err(Error::io("read", path, e.into())),
    }
}

#[cfg(not(unix))]
fn open_no_block(path: &Path, _follow: bool) -> Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

fn check_type(path: &Path, meta: &fs::Metadata) -> Result<()> {
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let kind = if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symlink"
    } else {
        special_kind(&ft)
    };
    Err(Error::NotRegularFile {
        path: path.to_owned(),
        kind,
    })
}

#[cfg(unix)]
fn special_kind(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_ft: &fs::FileType) -> &'static str {
    "a special file"
}

/// The effective user id of this process (Unix).
#[cfg(unix)]
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(unix)]
fn check_owner(path: &Path, meta: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let you = effective_uid();
    let owner = meta.uid();
    if owner != you && owner != 0 {
        return Err(Error::ForeignOwner {
            path: path.to_owned(),
            owner,
            you,
        });
    }
    Ok(())
}

#[cfg(unix)]
fn check_private_mode(path: &Path, meta: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(unix)]
fn check_not_writable_by_others(path: &Path, meta: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::WritableConfig {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Refuse a file in a directory everyone can write without the sticky bit
/// (anyone could replace the file): every directory above it as written
/// and, when a symlink is on the way (the file itself or a directory), every
/// directory above where it really is.
#[cfg(unix)]
fn check_directories(path: &Path) -> Result<()> {
    let lexical = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    // One lstat per level; realpath only when a link makes it matter.
    let mut saw_link = fs::symlink_metadata(&lexical).is_ok_and(|m| m.file_type().is_symlink());
    check_chain(&lexical, path, &mut saw_link)?;
    if saw_link {
        if let Ok(real) = fs::canonicalize(path) {
            if real != lexical {
                check_chain(&real, path, &mut saw_link)?;
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn check_chain(chain: &Path, path: &Path, saw_link: &mut bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for dir in chain.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            continue;
        }
        let meta = match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                *saw_link = true;
                fs::metadata(dir)
            }
            other => other,
        };
        let Ok(meta) = meta else { continue };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            return Err(Error::InsecureDirectory {
                dir: dir.to_owned(),
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner(_path: &Path, _meta: &fs::Metadata) -> Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path, _meta: &fs::Metadata) -> Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn check_not_writable_by_others(_path: &Path, _meta: &fs::Metadata) -> Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn check_directories(_path: &Path) -> Result<()> {
    Ok(())
}
