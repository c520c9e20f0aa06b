//! `<own config dir>/imported.json`: which credential went into which
//! profile, so a later `import` recognises a source it already imported even
//! after the profile's token rotated. Fingerprints only (truncated SHA-256,
//! as the refresh state keeps them), never a token.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::credential::{now_unix, Credential};
use crate::engine::refresh_state::fingerprint;
use crate::error::{Error, Result};
use crate::secure_file::{read_optional, to_json_bytes, write_atomic, ReadPolicy};

#[derive(Default, Serialize, Deserialize)]
struct Document {
    #[serde(default)]
    imports: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    source: String,
    provider: String,
    profile: String,
    fingerprints: Vec<String>,
    at: u64,
}

/// The record, loaded.
pub(super) struct Record {
    path: PathBuf,
    doc: Document,
}

fn fingerprints(credential: &Credential) -> Vec<String> {
    let mut out = vec![fingerprint(credential.secret())];
    if let Some(refresh) = credential
        .token_set()
        .and_then(|s| s.refresh_token.as_ref())
    {
        out.push(fingerprint(refresh));
    }
    out
}

impl Record {
    /// Load it (empty when missing). One that cannot be parsed is an error
    /// naming the fix, and is never overwritten.
    pub(super) fn load(path: &Path) -> Result<Record> {
        let doc = match read_optional(path, ReadPolicy::Strict)? {
            None => Document::default(),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::parse(
                    path,
                    format!(
                        "not an import record (line {} column {}); delete it (a later import then reports credentials it already imported as already in their profiles)",
                        e.line(),
                        e.column()
                    ),
                )
            })?,
        };
        Ok(Record {
            path: path.to_owned(),
            doc,
        })
    }

    /// The profile `credential` was imported into, if recorded.
    pub(super) fn find(&self, credential: &Credential) -> Option<String> {
        let provider = credential.provider().as_str();
        let mine = fingerprints(credential);
        self.doc
            .imports
            .iter()
            .rev()
            .find(|e| e.provider == provider && e.fingerprints.iter().any(|f| mine.contains(f)))
            .map(|e| e.profile.clone())
    }

    /// Record that `source`'s `credential` went into `profile`, and save.
    pub(super) fn add(
        &mut self,
        source: &str,
        credential: &Credential,
        profile: &str,
    ) -> Result<()> {
        self.doc.imports.push(Entry {
            source: source.to_owned(),
            provider: credential.provider().as_str().to_owned(),
            profile: profile.to_owned(),
            fingerprints: fingerprints(credential),
            at: now_unix(),
        });
        let value =
            serde_json::to_value(&self.doc).map_err(|e| Error::parse(&self.path, e.to_string()))?;
        write_atomic(&self.path, &to_json_bytes(&value), 0o600)
    }
}
