//! The library's error type.
//!
//! Every error names what it concerns (a file, a field, a setting, an
//! environment variable) and, where there is one, the fix. None carries a
//! secret: values that could be secret are never formatted into messages.

use std::io;
use std::path::PathBuf;

/// Errors from resolution, stores and settings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read, written or removed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing ("read", "write", "remove", "create directory").
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// A file exists but is not in the expected format. It is left untouched.
    #[error("{} is not valid: {message}. Nothing was changed; fix or remove the file", path.display())]
    Parse {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong (never the file's contents).
        message: String,
    },

    /// A credentials file others can read or write.
    #[error("{} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`", path.display(), path.display())]
    InsecurePermissions {
        /// The file concerned.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A config file others can write.
    #[error("{} is writable by group or others (mode {mode:04o}); run `chmod go-w {}`", path.display(), path.display())]
    WritableConfig {
        /// The file concerned.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A credentials file that is a symlink.
    #[error("{} is a symlink; refusing to follow it for secret material. Move the real file into place", path.display())]
    Symlink {
        /// The file concerned.
        path: PathBuf,
    },

    /// A file that is not a regular file (a FIFO, a device, a directory).
    #[error("{} is {kind}, not a regular file; refusing to read it. Replace it with a regular file", path.display())]
    NotRegularFile {
        /// The file concerned.
        path: PathBuf,
        /// What it is ("a FIFO", "a character device", ...).
        kind: &'static str,
    },

    /// A file over the size limit for its kind.
    #[error("{} is larger than {}, the limit for this file; refusing to read it. Move it aside", path.display(), human_size(*limit))]
    TooLarge {
        /// The file concerned.
        path: PathBuf,
        /// The limit, bytes.
        limit: u64,
    },

    /// A credentials, settings or config file owned by another user.
    #[error("{} is owned by another user (uid {owner}; you are uid {you}); refusing to use it. If it is yours, run `chown {you} {}`; otherwise remove it", path.display(), path.display())]
    ForeignOwner {
        /// The file concerned.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// This process's effective uid.
        you: u32,
    },

    /// A file in a directory everyone can write that has no sticky bit:
    /// anyone could replace the file.
    #[error("{} is in {}, which everyone can write (mode {mode:04o}, no sticky bit), so anyone could replace it; refusing to use it. Run `chmod o-w {}` or move the file", path.display(), dir.display(), dir.display())]
    InsecureDirectory {
        /// The directory.
        dir: PathBuf,
        /// The file read.
        path: PathBuf,
        /// The directory's permission bits.
        mode: u32,
    },

    /// A profile name that is not allowed.
    #[error(
        "invalid profile name {name:?} (from {origin}): names match ^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
    )]
    InvalidProfileName {
        /// The rejected name (profile names are not secret).
        name: String,
        /// Where it came from (`--profile`, `ANTHROPIC_PROFILE`, `active_config`).
        origin: String,
    },

    /// A named profile that does not exist.
    #[error("profile {profile:?} not found: no {} . Run `claude-auth login --profile {profile}` or `claude-auth profile list`", path.display())]
    ProfileNotFound {
        /// The profile.
        profile: String,
        /// The config file that would define it.
        path: PathBuf,
    },

    /// A setting with a bad value.
    #[error("{setting}: {message}")]
    Setting {
        /// The setting (file and key, or environment variable).
        setting: String,
        /// What is wrong and what to do.
        message: String,
    },

    /// The OS keyring failed or is unavailable.
    #[error("keyring ({service}, {account}): {message}")]
    Keyring {
        /// Keyring service name.
        service: String,
        /// Keyring account (the profile).
        account: String,
        /// What happened.
        message: String,
    },

    /// The encrypted-file store failed (wrong key, corrupt file, no key).
    #[error("encrypted credentials {}: {message}", path.display())]
    Encrypted {
        /// The file concerned.
        path: PathBuf,
        /// What happened and what to do.
        message: String,
    },

    /// A configured external credential command failed.
    #[error("external credential command `{command}`: {message}")]
    ExternalCommand {
        /// The command line (from settings; not secret).
        command: String,
        /// What happened.
        message: String,
    },

    /// A value cannot be stored where it was asked to go.
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// "1 MiB", "4 KiB" or "N bytes", for size limits in messages.
fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Shorthand for results with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
