//! Reading and writing files that hold secrets.
//!
//! Writes are atomic (a temp file in the same directory, fsync, rename, fsync
//! of the directory), so a crash or `kill -9` leaves either the old or the new
//! file, never a torn or empty one. New files are 0600 and new directories
//! 0700. A symlinked destination is resolved and its target written, so a
//! dotfiles-managed link is not replaced by a plain file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How strictly a file's permissions and type are checked on read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPolicy {
    /// The spec's rule for credentials: refuse symlinks and any group/other bits.
    Strict,
    /// Follow symlinks, accept any mode (another tool's file; `status` warns).
    Lenient,
}

/// Read a file; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path, policy: ReadPolicy) -> Result<Option<Vec<u8>>> {
    if policy == ReadPolicy::Strict {
        match fs::symlink_metadata(path) {
            Ok(meta) => {
                if meta.file_type().is_symlink() {
                    return Err(Error::Symlink {
                        path: path.to_owned(),
                    });
                }
                check_private_mode(path, &meta)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", path, e)),
        }
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)
        .map_err(|e| Error::io("read", path, e))?;
    Ok(Some(buf))
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

#[cfg(not(unix))]
fn check_private_mode(_path: &Path, _meta: &fs::Metadata) -> Result<()> {
    Ok(())
}

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

/// Refuse a config file others can write (the SDKs do the same).
pub fn check_not_world_writable(path: &Path) -> Result<()> {
    if let Some(mode) = mode_of(path) {
        if mode & 0o022 != 0 {
            return Err(Error::WritableConfig {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
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

/// Write `contents` to `path` atomically with permission bits `mode`.
///
/// The parent directory is created 0700 if missing. The temp file is created
/// exclusively in the destination's directory, written, fsynced and renamed
/// over the destination; then the directory is fsynced.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    write_atomic_with(path, contents, mode, true)
}

/// [`write_atomic`] without the fsyncs: still never torn (rename is atomic),
/// but a power loss may lose the write. Only for bookkeeping that can be
/// lost (refresh timestamps), never for credentials.
pub fn write_atomic_relaxed(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    write_atomic_with(path, contents, mode, false)
}

fn write_atomic_with(path: &Path, contents: &[u8], mode: u32, durable: bool) -> Result<()> {
    let target = resolve_symlinks(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    create_dir_all_with_mode(&dir, 0o700)?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let (tmp_path, mut file) = create_temp(&dir, &file_name, mode)?;
    let result = (|| {
        file.write_all(contents)
            .map_err(|e| Error::io("write", &tmp_path, e))?;
        if durable {
            file.sync_all()
                .map_err(|e| Error::io("sync", &tmp_path, e))?;
        }
        drop(file);
        fs::rename(&tmp_path, &target).map_err(|e| Error::io("replace", &target, e))?;
        if durable {
            sync_dir(&dir);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

fn create_temp(dir: &Path, file_name: &str, mode: u32) -> Result<(PathBuf, File)> {
    for _ in 0..16 {
        let mut rnd = [0u8; 6];
        getrandom::fill(&mut rnd)
            .map_err(|e| Error::io("create temp file in", dir, io::Error::other(e.to_string())))?;
        let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".{file_name}.{suffix}.tmp"));
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

/// Serialise JSON the way the SDKs write it: 2-space indent, no trailing newline.
pub fn to_json_bytes(value: &serde_json::Value) -> Vec<u8> {
    // Serialising a Value cannot fail.
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

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
    fn strict_read_refuses_symlink_and_loose_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.json");
        fs::write(&real, b"{}").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_optional(&real, ReadPolicy::Strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is accessible by group or others (mode 0644); run `chmod 600 {}`",
                real.display(),
                real.display()
            )
        );
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
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
}
