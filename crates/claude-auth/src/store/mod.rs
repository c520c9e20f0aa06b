//! Where credentials are kept.
//!
//! Every store answers the same three questions for a profile (load, save,
//! delete) behind [`CredentialStore`], so resolution and login do not care
//! whether a credential sits in the official profile files, the OS keyring,
//! an encrypted file or memory. Stores that belong to another tool (Claude
//! Code's file) are written only the way that tool expects.

pub mod claude_code;
#[cfg(feature = "encrypted-file")]
pub mod encrypted;
pub mod key_file;
#[cfg(feature = "keyring")]
pub mod keyring;
pub mod memory;
pub mod openai_profiles;
pub mod profile_files;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::credential::Credential;
use crate::error::Result;

/// A place that holds one credential per profile.
pub trait CredentialStore: Send + Sync {
    /// Where `profile`'s credential lives, for humans (a path, or a keyring
    /// service and account). Never contains a secret.
    fn location(&self, profile: &str) -> String;

    /// The credential stored for `profile`; `Ok(None)` when there is none.
    fn load(&self, profile: &str) -> Result<Option<Credential>>;

    /// Store `credential` for `profile`, replacing what was there.
    fn save(&self, profile: &str, credential: &Credential) -> Result<()>;

    /// Remove `profile`'s credential; `Ok(false)` when there was none.
    fn delete(&self, profile: &str) -> Result<bool>;
}

/// The storage a profile's credential uses (a per-profile setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StorageKind {
    /// The official spec files (`credentials/<profile>.json`); API keys,
    /// which those cannot hold, go to claude-auth's own 0600 key file.
    #[default]
    File,
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// An AEAD-encrypted file, for headless machines without a keyring.
    EncryptedFile,
}

impl StorageKind {
    /// The settings spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::File => "file",
            StorageKind::Keyring => "keyring",
            StorageKind::EncryptedFile => "encrypted-file",
        }
    }
}

impl fmt::Display for StorageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "file" => Ok(StorageKind::File),
            "keyring" => Ok(StorageKind::Keyring),
            "encrypted-file" | "encrypted" => Ok(StorageKind::EncryptedFile),
            other => Err(format!(
                "unknown storage {other:?}: use file, keyring or encrypted-file"
            )),
        }
    }
}
