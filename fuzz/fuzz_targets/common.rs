// Shared by the file-reading targets: a private scratch directory per process.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("claude-auth-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    dir
}

pub fn write(path: &Path, bytes: &[u8], mode: u32) {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
        let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700));
    }
    let _ = std::fs::write(path, bytes);
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}
