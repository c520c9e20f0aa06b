//! Codex's `$CODEX_HOME/auth.json` as a typed document that keeps what it
//! does not own.
//!
//! The shape (PROTOCOL.md, "OpenAI"): `auth_mode` (`"chatgpt"` or
//! `"apikey"`, optional: older Codex versions do not write it),
//! `OPENAI_API_KEY` (a key or null), `tokens` (`id_token`, `access_token`,
//! `refresh_token`, `account_id` or null) and `last_refresh` (RFC 3339).
//! Later Codex versions add keys (`agent_identity`, …): every key this
//! module does not own, at the top level and inside `tokens`, is written
//! back as it was read. Every secret is a [`Secret`] checked by
//! [`crate::secret::validate_token`]; a malformed file gives an error naming
//! the file and the field, and is never overwritten
//! ([`CodexAuthFile::save`] re-reads it first).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::chatgpt::RefreshedTokens;
use crate::doors::status::rfc3339;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secure_file::{
    read_optional_limited, write_atomic_strict, ReadPolicy, MAX_CREDENTIALS_BYTES,
};
use crate::store::key_file::ClassifyJsonError;
use crate::usage::time::parse_rfc3339;

/// The longest `tokens.account_id` accepted (it goes into a header).
const MAX_ACCOUNT_ID_LEN: usize = 256;

/// `auth_mode`: which credential Codex uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `"chatgpt"`: the ChatGPT tokens.
    ChatGpt,
    /// `"apikey"`: `OPENAI_API_KEY`.
    ApiKey,
    /// A mode a newer Codex wrote, kept as it was.
    Other(String),
}

impl AuthMode {
    /// The value in the file.
    pub fn as_str(&self) -> &str {
        match self {
            AuthMode::ChatGpt => "chatgpt",
            AuthMode::ApiKey => "apikey",
            AuthMode::Other(other) => other,
        }
    }

    fn parse(value: &str) -> AuthMode {
        match value {
            "chatgpt" => AuthMode::ChatGpt,
            "apikey" => AuthMode::ApiKey,
            other => AuthMode::Other(other.to_owned()),
        }
    }
}

/// `tokens`: a ChatGPT login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodexTokens {
    /// `id_token` (a JWT: email, plan, account; see [`super::claims`]).
    pub id_token: Secret,
    /// `access_token` (a JWT whose `exp` is its expiry).
    pub access_token: Secret,
    /// `refresh_token`.
    pub refresh_token: Secret,
    /// `account_id`: sent as `ChatGPT-Account-Id`.
    pub account_id: Option<String>,
    extra: Map<String, Value>,
}

impl CodexTokens {
    /// A token set from a login.
    pub fn new(
        id_token: Secret,
        access_token: Secret,
        refresh_token: Secret,
        account_id: Option<String>,
    ) -> CodexTokens {
        CodexTokens {
            id_token,
            access_token,
            refresh_token,
            account_id,
            extra: Map::new(),
        }
    }

    /// The keys of `tokens` this crate does not own, as read.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }
}

/// `last_refresh`: the text as read (written back unchanged) and its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRefresh {
    text: String,
    unix: u64,
}

impl LastRefresh {
    /// A time we set (RFC 3339, UTC, seconds).
    pub fn at(unix: u64) -> LastRefresh {
        LastRefresh {
            text: rfc3339(unix),
            unix,
        }
    }

    /// Unix seconds.
    pub fn unix(&self) -> u64 {
        self.unix
    }

    /// The RFC 3339 text, as in the file.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The whole `auth.json` document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodexAuth {
    /// `auth_mode`, when the file has one.
    pub auth_mode: Option<AuthMode>,
    /// `OPENAI_API_KEY` (an empty string reads as none).
    pub api_key: Option<Secret>,
    /// `tokens`.
    pub tokens: Option<CodexTokens>,
    /// `last_refresh`.
    pub last_refresh: Option<LastRefresh>,
    extra: Map<String, Value>,
}

impl CodexAuth {
    /// The document Codex writes for a ChatGPT login made at `now`.
    pub fn chatgpt(tokens: CodexTokens, now: u64) -> CodexAuth {
        CodexAuth {
            auth_mode: Some(AuthMode::ChatGpt),
            api_key: None,
            tokens: Some(tokens),
            last_refresh: Some(LastRefresh::at(now)),
            extra: Map::new(),
        }
    }

    /// The document Codex writes for an API-key login.
    pub fn with_api_key(key: Secret) -> CodexAuth {
        CodexAuth {
            auth_mode: Some(AuthMode::ApiKey),
            api_key: Some(key),
            tokens: None,
            last_refresh: None,
            extra: Map::new(),
        }
    }

    /// `OPENAI_API_KEY`.
    pub fn api_key(&self) -> Option<&Secret> {
        self.api_key.as_ref()
    }

    /// `tokens`.
    pub fn tokens(&self) -> Option<&CodexTokens> {
        self.tokens.as_ref()
    }

    /// The top-level keys this crate does not own, as read.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// Parse a document; errors name `path` and the field, never a value.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<CodexAuth> {
        let err = |message: String| Error::parse(path, message);
        let doc = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(err("must contain a JSON object".into())),
            Err(e) => return Err(err(format!("not JSON ({})", e.classify_str()))),
        };
        let mut auth = CodexAuth {
            auth_mode: None,
            api_key: None,
            tokens: None,
            last_refresh: None,
            extra: Map::new(),
        };
        for (key, value) in doc {
            match key.as_str() {
                "auth_mode" => {
                    auth.auth_mode = optional_string(&value, "auth_mode")
                        .map_err(err)?
                        .map(|m| AuthMode::parse(&m))
                }
                "OPENAI_API_KEY" => {
                    auth.api_key = match optional_string(&value, "OPENAI_API_KEY").map_err(err)? {
                        None => None,
                        Some(s) if s.is_empty() => None,
                        Some(s) => Some(Secret::token(s, "OPENAI_API_KEY").map_err(err)?),
                    }
                }
                "tokens" => auth.tokens = parse_tokens(value).map_err(err)?,
                "last_refresh" => {
                    auth.last_refresh = match optional_string(&value, "last_refresh")
                        .map_err(err)?
                    {
                        None => None,
                        Some(text) => {
                            let unix = parse_rfc3339(&text).ok_or_else(|| {
                                err("last_refresh must be an RFC 3339 time such as 2026-01-01T00:00:00Z".into())
                            })?;
                            Some(LastRefresh { text, unix })
                        }
                    }
                }
                _ => {
                    auth.extra.insert(key, value);
                }
            }
        }
        Ok(auth)
    }

    /// The JSON document: the keys in Codex's order, then every other key as
    /// read. `OPENAI_API_KEY` is always written (null when none), as Codex
    /// does.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        if let Some(mode) = &self.auth_mode {
            doc.insert("auth_mode".into(), mode.as_str().into());
        }
        doc.insert(
            "OPENAI_API_KEY".into(),
            self.api_key
                .as_ref()
                .map_or(Value::Null, |k| k.expose().into()),
        );
        if let Some(tokens) = &self.tokens {
            let mut t = Map::new();
            t.insert("id_token".into(), tokens.id_token.expose().into());
            t.insert("access_token".into(), tokens.access_token.expose().into());
            t.insert("refresh_token".into(), tokens.refresh_token.expose().into());
            t.insert(
                "account_id".into(),
                tokens.account_id.clone().map_or(Value::Null, Value::String),
            );
            for (k, v) in &tokens.extra {
                t.entry(k.clone()).or_insert_with(|| v.clone());
            }
            doc.insert("tokens".into(), Value::Object(t));
        }
        if let Some(last) = &self.last_refresh {
            doc.insert("last_refresh".into(), last.text.clone().into());
        }
        for (k, v) in &self.extra {
            doc.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(doc)
    }

    /// The file's bytes as Codex writes them: pretty JSON, 2-space indent,
    /// no trailing newline.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        // Serialising a Value cannot fail.
        Zeroizing::new(serde_json::to_vec_pretty(&self.to_json()).unwrap_or_default())
    }

    /// Apply a refresh made at `now`: only the tokens the server returned
    /// replace the stored ones (the rest, `account_id` and every key we do
    /// not own stay), and `last_refresh` becomes `now`. Fails, changing
    /// nothing, when the document holds no ChatGPT tokens.
    pub fn apply_refresh(&mut self, refreshed: RefreshedTokens, now: u64) -> Result<()> {
        let Some(tokens) = self.tokens.as_mut() else {
            return Err(Error::Unsupported(
                "Codex's auth.json holds no ChatGPT tokens to refresh; log in again".into(),
            ));
        };
        if let Some(id) = refreshed.id_token {
            tokens.id_token = id;
        }
        if let Some(access) = refreshed.access_token {
            tokens.access_token = access;
        }
        if let Some(refresh) = refreshed.refresh_token {
            tokens.refresh_token = refresh;
        }
        self.last_refresh = Some(LastRefresh::at(now));
        Ok(())
    }
}

/// A string, null or absent; anything else names `field`.
fn optional_string(value: &Value, field: &str) -> std::result::Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(format!("{field} must be a string or null")),
    }
}

fn parse_tokens(value: Value) -> std::result::Result<Option<CodexTokens>, String> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err("tokens must be an object or null".into()),
    };
    let mut id_token = None;
    let mut access_token = None;
    let mut refresh_token = None;
    let mut account_id = None;
    let mut extra = Map::new();
    for (key, value) in map {
        let secret = |field: &str| -> std::result::Result<Secret, String> {
            let name = format!("tokens.{field}");
            match &value {
                Value::String(s) => Secret::token(s.as_str(), &name),
                _ => Err(format!("{name} must be a string")),
            }
        };
        match key.as_str() {
            "id_token" => id_token = Some(secret("id_token")?),
            "access_token" => access_token = Some(secret("access_token")?),
            "refresh_token" => refresh_token = Some(secret("refresh_token")?),
            "account_id" => {
                account_id =
                    optional_string(&value, "tokens.account_id")?.filter(|s| !s.is_empty());
                if let Some(id) = &account_id {
                    if id.len() > MAX_ACCOUNT_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
                        return Err(format!(
                            "tokens.account_id must be at most {MAX_ACCOUNT_ID_LEN} visible ASCII characters"
                        ));
                    }
                }
            }
            _ => {
                extra.insert(key, value);
            }
        }
    }
    let missing = |field: &str| format!("tokens.{field} is missing; log in to Codex again");
    Ok(Some(CodexTokens {
        id_token: id_token.ok_or_else(|| missing("id_token"))?,
        access_token: access_token.ok_or_else(|| missing("access_token"))?,
        refresh_token: refresh_token.ok_or_else(|| missing("refresh_token"))?,
        account_id,
        extra,
    }))
}

/// Codex's `auth.json` on disk: read under the credentials rules (a regular
/// file, 0600, yours, not a symlink, at most 1 MiB), written atomically
/// 0600, never over a file that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodexAuthFile {
    path: PathBuf,
}

impl CodexAuthFile {
    /// The file at `path` (usually [`super::home::auth_json_path`]).
    pub fn new(path: impl Into<PathBuf>) -> CodexAuthFile {
        CodexAuthFile { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The document; `Ok(None)` when there is no file.
    pub fn load(&self) -> Result<Option<CodexAuth>> {
        let Some(bytes) =
            read_optional_limited(&self.path, ReadPolicy::Strict, MAX_CREDENTIALS_BYTES)?
        else {
            return Ok(None);
        };
        let bytes = Zeroizing::new(bytes);
        CodexAuth::parse(&bytes, &self.path).map(Some)
    }

    /// Replace the file with `auth`. The file there now is read first: one
    /// that cannot be read or parsed is left untouched and its error
    /// returned.
    pub fn save(&self, auth: &CodexAuth) -> Result<()> {
        self.load()?;
        write_atomic_strict(&self.path, &auth.to_bytes(), 0o600)
    }
}

#[cfg(test)]
#[path = "auth_file_tests.rs"]
mod tests;
