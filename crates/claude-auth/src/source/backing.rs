//! Where a resolved credential is kept, as a type: the thing that is locked,
//! re-read and written back when the credential is refreshed.
//!
//! A source says what backs what it found; the engine never works it out
//! again from a display string (`Found::location` is for `status` only).
//! How each backing is locked, re-read and persisted lives with the engine
//! (`engine::backing_io`); what it is, and what follows from that alone,
//! lives here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::source::Federation;
use crate::store::StorageKind;

/// What backs a resolved credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// A spec profile's credentials file (`credentials/<profile>.json`, or the
    /// config's `credentials_path`).
    ProfileFile {
        /// The profile.
        profile: String,
        /// The credentials file.
        path: PathBuf,
    },
    /// claude-auth's own key file for a profile (API keys, which the spec
    /// files cannot hold).
    KeyFile {
        /// The profile.
        profile: String,
        /// The key file.
        path: PathBuf,
    },
    /// A profile's entry in the OS keyring.
    Keyring {
        /// The profile.
        profile: String,
    },
    /// A profile's encrypted file.
    EncryptedFile {
        /// The profile.
        profile: String,
    },
    /// Claude Code's `.credentials.json`.
    ClaudeCodeFile {
        /// The file.
        path: PathBuf,
    },
    /// Claude Code's Keychain item.
    ClaudeCodeKeychain,
    /// The seed library's `auth.json` (or `CLAUDE_AUTH_FILE`).
    SeedFile {
        /// The file.
        path: PathBuf,
    },
    /// Environment variables (read only: nothing can be written back).
    Environment,
    /// The configured external command (read only).
    ExternalCommand,
    /// Workload identity federation: tokens come from an exchange.
    Federation(Box<Federation>),
    /// A credential given in code, held in memory; a refresh is handed to
    /// the caller's callback to persist.
    Memory,
    /// Codex's `$CODEX_HOME/auth.json`.
    CodexFile {
        /// The file.
        path: PathBuf,
    },
    /// Codex's keyring entry (service `Codex Auth`, account `cli|<hash of
    /// the home>`), holding the whole `auth.json` document.
    CodexKeyring {
        /// Codex's home, whose canonical path names the entry.
        codex_home: PathBuf,
    },
    /// One of claude-auth's own OpenAI profiles
    /// ([`crate::store::openai_profiles`]).
    OpenaiProfile {
        /// The profile.
        profile: String,
        /// Where it is kept.
        storage: StorageKind,
    },
}

impl Backing {
    /// The profile, for profile backings.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Backing::ProfileFile { profile, .. }
            | Backing::KeyFile { profile, .. }
            | Backing::Keyring { profile }
            | Backing::EncryptedFile { profile } => Some(profile),
            _ => None,
        }
    }

    /// The storage a profile backing uses.
    pub fn storage(&self) -> Option<StorageKind> {
        match self {
            Backing::ProfileFile { .. } | Backing::KeyFile { .. } => Some(StorageKind::File),
            Backing::Keyring { .. } => Some(StorageKind::Keyring),
            Backing::EncryptedFile { .. } => Some(StorageKind::EncryptedFile),
            Backing::OpenaiProfile { storage, .. } => Some(*storage),
            _ => None,
        }
    }

    /// The plain file the credential is in, when it is one: watched for
    /// changes other processes make, and locked beside.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Backing::ProfileFile { path, .. }
            | Backing::KeyFile { path, .. }
            | Backing::ClaudeCodeFile { path }
            | Backing::SeedFile { path }
            | Backing::CodexFile { path } => Some(path),
            _ => None,
        }
    }

    /// Whether this is Claude Code's login (file or Keychain item).
    pub fn is_claude_code(&self) -> bool {
        matches!(
            self,
            Backing::ClaudeCodeFile { .. } | Backing::ClaudeCodeKeychain
        )
    }

    /// Whether this is Codex's login (its `auth.json` or keyring entry).
    pub fn is_codex(&self) -> bool {
        matches!(
            self,
            Backing::CodexFile { .. } | Backing::CodexKeyring { .. }
        )
    }

    /// Whether a refreshed credential can be written back here.
    pub fn refreshable(&self) -> bool {
        !matches!(
            self,
            Backing::Environment | Backing::ExternalCommand | Backing::Federation(_)
        )
    }

    /// The command that renews this login when it is gone.
    pub fn login_command(&self) -> String {
        match self {
            Backing::ClaudeCodeFile { .. } | Backing::ClaudeCodeKeychain => {
                "claude /login (Claude Code)".into()
            }
            Backing::CodexFile { .. } | Backing::CodexKeyring { .. } => {
                "codex login (Codex), or claude-auth login --provider chatgpt --codex".into()
            }
            Backing::OpenaiProfile { profile, .. } => {
                format!("claude-auth login --provider chatgpt --profile {profile}")
            }
            b => match b.profile() {
                Some(name) => format!("claude-auth login --profile {name}"),
                None => "claude-auth login".into(),
            },
        }
    }

    /// The command that renews a `provider` login kept here: as
    /// [`Backing::login_command`], except that a credential from the
    /// environment or an external command names the provider's own login
    /// (`--provider chatgpt` for OpenAI) rather than Anthropic's.
    pub fn login_command_for(&self, provider: &crate::credential::Provider) -> String {
        match (self, provider) {
            (
                Backing::Environment | Backing::ExternalCommand | Backing::Memory,
                crate::credential::Provider::Openai,
            ) => "claude-auth login --provider chatgpt".into(),
            _ => self.login_command(),
        }
    }
}

/// `<file>.lock`, beside `file`.
pub fn lock_path_beside(file: &Path) -> PathBuf {
    let mut name = OsString::from(file.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}
