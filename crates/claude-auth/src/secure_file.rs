//! Reading and writing files that hold secrets or decide where they go.
//!
//! Every file this crate reads goes through [`read_optional_limited`]: a
//! regular file only (checked on the opened descriptor), a size limit per
//! kind of file, and the owner/mode/symlink rules of its [`ReadPolicy`].
//!
//! Writes are atomic (a temp file in the same directory, fsync, rename, fsync
//! of the directory), so a crash or `kill -9` leaves either the old or the new
//! file, never a torn or empty one; temp files a killed writer left are
//! removed by the next write and by `logout` (see [`temp`]). New files are
//! 0600 and new directories 0700. [`write_atomic`] resolves a symlinked
//! destination and writes its target, for files whose reads follow symlinks
//! (a dotfiles-managed link is not replaced by a plain file);
//! [`write_atomic_strict`] refuses one, for files read with
//! [`ReadPolicy::Strict`], so a write never succeeds where every read fails.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

mod read;
pub mod temp;

#[cfg(unix)]
pub(crate) use read::effective_uid;
pub use read::{
    check_private_file, read_optional, read_optional_limited, read_required, ReadPolicy,
    MAX_ACCOUNT_FILE_BYTES, MAX_CONFIG_BYTES, MAX_CREDENTIALS_BYTES, MAX_IDENTITY_TOKEN_BYTES,
    MAX_POINTER_BYTES,
};
pub use temp::{remove_stale_temp_files, remove_temp_files, remove_temp_files_for};

/// The permission bits of a file, if it exists (Unix only).
pub fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Create `dir` and any missing parents; directories this call creates get
/// `mode` (0700 for secrets, 0755 for configs). Existing ones are left alone.
pub fn create_dir_all_with_mode(dir: &Path, mode: u32) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder
        .create(dir)
        .map_err(|e| Error::io("create directory", dir, e))
}

/// Where a write to `path` really lands: symlinks are followed to their
/// final target (which may not exist yet).
pub fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target =
                    fs::read_link(&current).map_err(|e| Error::io("read link", &current, e))?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::io(
        "resolve",
        path,
        io::Error::other("too many levels of symbolic links"),
    ))
}

/// Write `contents` to `path` atomically with permission bits `mode`,
/// following a symlinked destination to its target.
///
/// The parent directory is created 0700 if missing. The temp file is created
/// exclusively in the destination's directory, written, fsynced and renamed
/// over the destination; then the directory is fsynced and stale temp files
/// in it are removed.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let target = resolve_symlinks(path)?;
    write_atomic_to(&target, contents, mode, true)
}

/// [`write_atomic`] for a file read with [`ReadPolicy::Strict`]: a symlink
/// at `path` is refused with the same error a read gives, and nothing is
/// written.
pub fn write_atomic_strict(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::Symlink {
            path: path.to_owned(),
        });
    }
    // The rename replaces whatever is at `path` itself, never a link's
    // target, so a symlink swapped in after this check is not followed.
    write_atomic_to(path, contents, mode, true)
}

/// [`write_atomic`] without the fsyncs: still never torn (rename is atomic),
/// but a power loss may lose the write. Only for bookkeeping that can be
/// lost (refresh timestamps), never for credentials.
pub fn write_atomic_relaxed(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let target = resolve_symlinks(path)?;
    write_atomic_to(&target, contents, mode, false)
}

fn write_atomic_to(target: &Path, contents: &[u8], mode: u32, durable: bool) -> Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    create_dir_all_with_mode(&dir, 0o700)?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let (tmp_path, mut file) = temp::create_temp(&dir, &file_name, mode)?;
    let result = (|| {
        file.write_all(contents)
            .map_err(|e| Error::io("write", &tmp_path, e))?;
        if durable {
            file.sync_all()
                .map_err(|e| Error::io("sync", &tmp_path, e))?;
        }
        drop(file);
        fs::rename(&tmp_path, target).map_err(|e| Error::io("replace", target, e))?;
        if durable {
            sync_dir(&dir);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    // Best effort: what a killed writer left here is swept now.
    let _ = temp::remove_stale_temp_files(&dir);
    result
}

fn sync_dir(dir: &Path) {
    // Best effort: not every platform can open a directory for fsync.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Remove a file; `Ok(false)` when it was not there.
pub fn remove_if_exists(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir);
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Remove a file holding secrets and every temp file of ours that was going
/// to replace it (a killed writer's copy); `Ok(false)` when the file itself
/// was not there.
pub fn remove_with_temp_files(path: &Path) -> Result<bool> {
    let removed = remove_if_exists(path)?;
    remove_temp_files_for(path)?;
    Ok(removed)
}

/// Serialise JSON the way the SDKs write it: 2-space indent, no trailing newline.
pub fn to_json_bytes(value: &serde_json::Value) -> Vec<u8> {
    // Serialising a Value cannot fail.
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

#[cfg(all(test, unix))]
#[path = "secure_file_tests.rs"]
mod tests;
