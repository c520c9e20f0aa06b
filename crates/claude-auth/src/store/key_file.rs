//! claude-auth's own credential files, `<own config dir>/credentials/<profile>.json`.
//!
//! The official spec files can only hold OAuth tokens; API keys and bearer
//! tokens stored with the default `file` storage land here, in the same
//! portable JSON (`type: "api_key"`), 0600 in a 0700 directory.

use std::path::PathBuf;

use crate::config::locations::validate_profile_name;
use crate::credential::{from_portable_json, to_portable_json, Credential};
use crate::error::{Error, Result};
use crate::secure_file::{
    read_optional, remove_with_temp_files, to_json_bytes, write_atomic_strict, ReadPolicy,
};
use crate::store::CredentialStore;

/// One 0600 JSON file per profile in a directory.
#[derive(Clone, Debug)]
pub struct KeyFileStore {
    dir: PathBuf,
}

impl KeyFileStore {
    /// A store in `dir` (usually `<own config dir>/credentials`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyFileStore { dir: dir.into() }
    }

    /// The file for `profile`.
    pub fn path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{profile}.json"))
    }
}

impl CredentialStore for KeyFileStore {
    fn location(&self, profile: &str) -> String {
        self.path(profile).display().to_string()
    }

    fn load(&self, profile: &str) -> Result<Option<Credential>> {
        validate_profile_name(profile, "profile")?;
        let path = self.path(profile);
        let Some(bytes) = read_optional(&path, ReadPolicy::Strict)? else {
            return Ok(None);
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::parse(&path, format!("not JSON ({})", e.classify_str())))?;
        from_portable_json(&value)
            .map(Some)
            .map_err(|m| Error::parse(&path, m))
    }

    fn save(&self, profile: &str, credential: &Credential) -> Result<()> {
        validate_profile_name(profile, "profile")?;
        let path = self.path(profile);
        write_atomic_strict(&path, &to_json_bytes(&to_portable_json(credential)), 0o600)
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        validate_profile_name(profile, "profile")?;
        remove_with_temp_files(&self.path(profile))
    }
}

/// A short, value-free description of a JSON error.
pub(crate) trait ClassifyJsonError {
    fn classify_str(&self) -> String;
}

impl ClassifyJsonError for serde_json::Error {
    fn classify_str(&self) -> String {
        // serde_json's messages can quote input fragments; keep only the
        // category and position so a secret in a broken file never leaks.
        let category = match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "unexpected end of file",
        };
        format!(
            "{category} at line {} column {}",
            self.line(),
            self.column()
        )
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::secure_file::{mode_of, write_atomic};

    #[test]
    fn api_key_round_trip_private_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyFileStore::new(tmp.path().join("credentials"));
        let cred = Credential::anthropic_api_key("sk-ant-api03-xxxxxxxxxxxxxxxx");
        store.save("work", &cred).unwrap();
        assert_eq!(store.load("work").unwrap(), Some(cred));
        assert_eq!(mode_of(&store.path("work")), Some(0o600));
        assert!(store.delete("work").unwrap());
        assert!(store.load("work").unwrap().is_none());
    }

    #[test]
    fn broken_file_error_does_not_quote_contents() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyFileStore::new(tmp.path());
        write_atomic(
            &store.path("p"),
            b"{\"api_key\": sk-ant-api03-SECRETSECRET",
            0o600,
        )
        .unwrap();
        let err = store.load("p").unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
        assert!(err.contains("p.json"), "{err}");
    }
}
