//! Claude Code's credential file, `$CLAUDE_CONFIG_DIR/.credentials.json`
//! (default `~/.claude/.credentials.json`).
//!
//! ```json
//! { "claudeAiOauth": { "accessToken": "...", "refreshToken": "...", "expiresAt": 1767225600000,
//!     "scopes": ["user:inference"], "subscriptionType": "max", "rateLimitTier": "..." },
//!   "mcpOAuth": { ... } }
//! ```
//!
//! `expiresAt` is in **milliseconds**. A rewrite changes only the token
//! fields and keeps everything else (`mcpOAuth`, `scopes`, unknown keys), and
//! writes through a symlink to its target. Claude Code holds one login, so the
//! profile argument of the store methods is ignored.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::credential::{Credential, Identity, Provider, TokenSet};
use crate::error::{Error, Result};
use crate::provider::CLAUDE_CODE_CLIENT_ID;
use crate::secret::Secret;
use crate::secure_file::{
    read_optional, remove_if_exists, to_json_bytes, write_atomic, ReadPolicy,
};
use crate::store::key_file::ClassifyJsonError;
use crate::store::CredentialStore;

/// The top-level key Claude Code keeps its subscription login under.
pub const OAUTH_KEY: &str = "claudeAiOauth";

/// Claude Code's credential file.
#[derive(Clone, Debug)]
pub struct ClaudeCodeStore {
    config_dir: PathBuf,
    account_file: PathBuf,
}

impl ClaudeCodeStore {
    /// The store for Claude Code's config dir (see
    /// [`crate::locations::claude_code_dir`]); `account_file` is where Claude
    /// Code keeps `oauthAccount` (`~/.claude.json`, or `.claude.json` inside
    /// `CLAUDE_CONFIG_DIR` when that is set).
    pub fn new(config_dir: impl Into<PathBuf>, account_file: impl Into<PathBuf>) -> Self {
        ClaudeCodeStore {
            config_dir: config_dir.into(),
            account_file: account_file.into(),
        }
    }

    /// `.credentials.json`.
    pub fn path(&self) -> PathBuf {
        self.config_dir.join(".credentials.json")
    }

    /// Claude Code's config dir.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    fn read_document(&self) -> Result<Option<Map<String, Value>>> {
        let path = self.path();
        let Some(bytes) = read_optional(&path, ReadPolicy::Lenient)? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(_) => Err(Error::parse(&path, "must contain a JSON object")),
            Err(e) => Err(Error::parse(
                &path,
                format!("not JSON ({})", e.classify_str()),
            )),
        }
    }

    /// The account Claude Code recorded (`oauthAccount` in `.claude.json`),
    /// best effort: `None` when missing or unreadable.
    pub fn account(&self) -> Option<Identity> {
        let bytes = std::fs::read(&self.account_file).ok()?;
        let doc: Value = serde_json::from_slice(&bytes).ok()?;
        let acct = doc.get("oauthAccount")?.as_object()?;
        let s = |k: &str| acct.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Identity {
            email: s("emailAddress"),
            account_uuid: s("accountUuid"),
            organization_uuid: s("organizationUuid"),
            organization_name: s("organizationName"),
            ..Identity::default()
        })
    }
}

/// Parse Claude Code's `claudeAiOauth` object.
pub fn token_set_from_claude_code(oauth: &Map<String, Value>) -> Result<TokenSet, String> {
    let s = |k: &str| {
        oauth
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let access = s("accessToken").ok_or("claudeAiOauth.accessToken is missing or empty")?;
    let expires_at = match oauth.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            let ms = n
                .as_u64()
                .ok_or("claudeAiOauth.expiresAt must be a non-negative integer (milliseconds)")?;
            Some(ms / 1000)
        }
        Some(_) => {
            return Err("claudeAiOauth.expiresAt must be an integer number of milliseconds".into())
        }
    };
    let scopes = match oauth.get("scopes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err("claudeAiOauth.scopes must be a JSON array of strings".into()),
    };
    Ok(TokenSet {
        access_token: Secret::new(access),
        refresh_token: s("refreshToken").map(Secret::new),
        expires_at,
        scopes,
        identity: Identity {
            subscription_type: s("subscriptionType"),
            rate_limit_tier: s("rateLimitTier"),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some(s("clientId").unwrap_or_else(|| CLAUDE_CODE_CLIENT_ID.to_owned())),
    })
}

impl CredentialStore for ClaudeCodeStore {
    fn location(&self, _profile: &str) -> String {
        self.path().display().to_string()
    }

    fn load(&self, _profile: &str) -> Result<Option<Credential>> {
        let Some(doc) = self.read_document()? else {
            return Ok(None);
        };
        let Some(oauth) = doc.get(OAUTH_KEY) else {
            return Ok(None);
        };
        let oauth = oauth
            .as_object()
            .ok_or_else(|| Error::parse(self.path(), "claudeAiOauth must be a JSON object"))?;
        token_set_from_claude_code(oauth)
            .map(|set| Some(Credential::OAuth(set)))
            .map_err(|m| Error::parse(self.path(), m))
    }

    fn save(&self, _profile: &str, credential: &Credential) -> Result<()> {
        let Credential::OAuth(set) = credential else {
            return Err(Error::Unsupported(
                "Claude Code's credential file holds subscription OAuth tokens only".into(),
            ));
        };
        let path = self.path();
        let mut doc = self
            .read_document()
            .map_err(|_| {
                Error::parse(
                    &path,
                    "cannot be parsed, so it was not overwritten; fix or move it aside",
                )
            })?
            .unwrap_or_default();
        let oauth = doc
            .entry(OAUTH_KEY)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(oauth) = oauth else {
            return Err(Error::parse(
                &path,
                "claudeAiOauth is not an object, so it was not overwritten",
            ));
        };
        oauth.insert("accessToken".into(), set.access_token.expose().into());
        if let Some(refresh) = &set.refresh_token {
            oauth.insert("refreshToken".into(), refresh.expose().into());
        }
        if let Some(exp) = set.expires_at {
            oauth.insert("expiresAt".into(), Value::from(exp.saturating_mul(1000)));
        }
        // Claude Code refuses a login whose scopes lack user:inference: never
        // drop scopes, only replace them with a non-empty list.
        if !set.scopes.is_empty() {
            oauth.insert(
                "scopes".into(),
                set.scopes.iter().cloned().map(Value::String).collect(),
            );
        }
        if let Some(sub) = &set.identity.subscription_type {
            oauth.insert("subscriptionType".into(), sub.clone().into());
        }
        write_atomic(&path, &to_json_bytes(&Value::Object(doc)), 0o600)
    }

    fn delete(&self, _profile: &str) -> Result<bool> {
        // Only the subscription login goes; other keys (mcpOAuth) stay.
        let path = self.path();
        let Some(mut doc) = self.read_document()? else {
            return Ok(false);
        };
        if doc.remove(OAUTH_KEY).is_none() {
            return Ok(false);
        }
        if doc.is_empty() {
            return remove_if_exists(&path);
        }
        write_atomic(&path, &to_json_bytes(&Value::Object(doc)), 0o600)?;
        Ok(true)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs;

    const SAMPLE: &str = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-aaaaaaaaaaaa","refreshToken":"sk-ant-ort01-bbbbbbbbbbbb","expiresAt":1767225600000,"scopes":["user:inference","user:profile"],"subscriptionType":"max","rateLimitTier":"default_claude_max_20x","futureField":1},"mcpOAuth":{"srv":{"token":"m"}}}"#;

    fn store(dir: &Path) -> ClaudeCodeStore {
        ClaudeCodeStore::new(dir, dir.join(".claude.json"))
    }

    #[test]
    fn reads_milliseconds_and_fields() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(".credentials.json"), SAMPLE).unwrap();
        let cred = store(tmp.path()).load("x").unwrap().unwrap();
        let set = cred.token_set().unwrap();
        assert_eq!(set.expires_at, Some(1_767_225_600));
        assert_eq!(set.scopes, ["user:inference", "user:profile"]);
        assert_eq!(set.identity.subscription_type.as_deref(), Some("max"));
        assert_eq!(set.client_id.as_deref(), Some(CLAUDE_CODE_CLIENT_ID));
    }

    #[test]
    fn rewrite_keeps_every_field_it_does_not_own() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".credentials.json");
        fs::write(&path, SAMPLE).unwrap();
        let s = store(tmp.path());
        let Credential::OAuth(mut set) = s.load("x").unwrap().unwrap() else {
            panic!()
        };
        set.access_token = Secret::new("sk-ant-oat01-newnewnewnew");
        set.expires_at = Some(1_800_000_000);
        s.save("x", &Credential::OAuth(set)).unwrap();
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            v["claudeAiOauth"]["accessToken"],
            "sk-ant-oat01-newnewnewnew"
        );
        assert_eq!(v["claudeAiOauth"]["expiresAt"], 1_800_000_000_000u64);
        assert_eq!(v["claudeAiOauth"]["futureField"], 1);
        assert_eq!(
            v["claudeAiOauth"]["rateLimitTier"],
            "default_claude_max_20x"
        );
        assert_eq!(v["mcpOAuth"]["srv"]["token"], "m");
    }

    #[test]
    fn string_scopes_are_rejected_with_the_field_named() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join(".credentials.json"),
            r#"{"claudeAiOauth":{"accessToken":"a","scopes":"user:inference"}}"#,
        )
        .unwrap();
        let err = store(tmp.path()).load("x").unwrap_err().to_string();
        assert!(err.contains("claudeAiOauth.scopes"), "{err}");
    }

    #[test]
    fn delete_keeps_mcp_logins() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".credentials.json");
        fs::write(&path, SAMPLE).unwrap();
        assert!(store(tmp.path()).delete("x").unwrap());
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert!(v.get("claudeAiOauth").is_none());
        assert_eq!(v["mcpOAuth"]["srv"]["token"], "m");
    }
}
