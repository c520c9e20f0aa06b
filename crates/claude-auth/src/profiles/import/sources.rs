//! Where `import` looks, and what it finds there: only the places the seed
//! documents (`/work/shared/seeds/`) and the tools themselves name.
//!
//! - the seed library's (`claude-oauth-auth`) `auth.json`: `CLAUDE_AUTH_FILE`,
//!   else `~/.config/claude/auth.json` (`{"access_token", "refresh_token",
//!   "token_expiry"}`, [`crate::source::seed_file`]);
//! - the keyring guide's entries: Python `keyring` items of service
//!   `claude-bedrock-cursor`, accounts `access_token` and `refresh_token`;
//! - the keyring guide's `~/.config/claude-bedrock-cursor/config.toml`
//!   (`[oauth]` settings only: no credential);
//! - the guide's CI fallback `CLAUDE_ACCESS_TOKEN` / `CLAUDE_REFRESH_TOKEN`;
//! - Claude Code's login and Codex's `$CODEX_HOME/auth.json`, which those
//!   tools still use and refresh.
//!
//! Every read here is read-only; nothing is created, not even a lock file.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::config::locations::seed_auth_file;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::openai::auth_file::CodexAuth;
use crate::openai::home;
use crate::secret::Secret;
use crate::secure_file::{read_optional, ReadPolicy};
use crate::source::{parse_seed_file, Resolver};

use super::ImportSource;

/// The keyring guide's service (`SecureTokenStorage.SERVICE_NAME`).
pub const GUIDE_SERVICE: &str = "claude-bedrock-cursor";
/// The keyring guide's accounts: the access token, then the refresh token.
pub const GUIDE_ACCOUNTS: [&str; 2] = ["access_token", "refresh_token"];

/// What one source holds.
pub(super) enum State {
    /// Nothing there; why.
    Absent(String),
    /// It could not be looked at (no keyring on this machine); why.
    NotChecked(String),
    /// Something is there that cannot be parsed: the file (or entry) and
    /// what is wrong. Never touched.
    Broken(String),
    /// It parses but holds no credential; what it holds.
    NoCredential(String),
    /// A credential, and the bytes a `--move` backs up.
    Found(Box<Taken>),
}

/// A credential as read, with the source's raw contents (for the backup).
pub(super) struct Taken {
    /// The credential, tokens validated.
    pub credential: Credential,
    /// The source's bytes as read (a file's contents; for keyring entries a
    /// JSON document of service and entries). Zeroized on drop.
    pub raw: Zeroizing<Vec<u8>>,
}

/// Where `source` is, for display.
pub(super) fn location(r: &Resolver, source: ImportSource) -> String {
    match source {
        ImportSource::SeedFile => seed_auth_file(r.env()).path.display().to_string(),
        ImportSource::GuideKeyring => format!(
            "keyring service {GUIDE_SERVICE:?}, accounts {:?} and {:?}",
            GUIDE_ACCOUNTS[0], GUIDE_ACCOUNTS[1]
        ),
        ImportSource::GuideConfig => guide_config_path(r).display().to_string(),
        ImportSource::SeedEnv => {
            "environment variables CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN".into()
        }
        ImportSource::ClaudeCode => r.claude_code().path().display().to_string(),
        ImportSource::Codex => codex_auth_path(r).display().to_string(),
    }
}

/// The file a file source is read from (`None` for the keyring and the
/// environment).
pub(super) fn file_of(r: &Resolver, source: ImportSource) -> Option<PathBuf> {
    match source {
        ImportSource::SeedFile => Some(seed_auth_file(r.env()).path),
        ImportSource::GuideConfig => Some(guide_config_path(r)),
        ImportSource::ClaudeCode => Some(r.claude_code().path()),
        ImportSource::Codex => Some(codex_auth_path(r)),
        ImportSource::GuideKeyring | ImportSource::SeedEnv => None,
    }
}

/// `~/.config/claude-bedrock-cursor/config.toml`, as the guide writes it.
pub(super) fn guide_config_path(r: &Resolver) -> PathBuf {
    r.env()
        .home()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".config")
        .join(GUIDE_SERVICE)
        .join("config.toml")
}

/// `$CODEX_HOME/auth.json`.
pub(super) fn codex_auth_path(r: &Resolver) -> PathBuf {
    home::auth_json_path(&home::codex_home(r.env()))
}

/// Read `source` (read-only).
pub(super) fn read(r: &Resolver, source: ImportSource) -> State {
    match source {
        ImportSource::GuideKeyring => read_guide_keyring(r),
        ImportSource::SeedEnv => read_env(r),
        file_source => match file_of(r, file_source) {
            Some(path) => read_file(r, file_source, &path),
            None => State::Absent("no such source".into()),
        },
    }
}

fn read_file(r: &Resolver, source: ImportSource, path: &Path) -> State {
    let bytes = match read_optional(path, ReadPolicy::Lenient) {
        Ok(Some(bytes)) => Zeroizing::new(bytes),
        Ok(None) => return State::Absent(format!("no {}", path.display())),
        Err(e) => return State::Broken(e.to_string()),
    };
    match parse_file(r, source, &bytes, path) {
        Ok(Some(credential)) => State::Found(Box::new(Taken {
            credential,
            raw: bytes,
        })),
        Ok(None) => State::NoCredential(guide_config_detail(&bytes)),
        Err(e) => State::Broken(e.to_string()),
    }
}

/// Parse a file source's bytes: its credential (`None` for the guide's
/// `config.toml`, which holds none).
pub(super) fn parse_file(
    r: &Resolver,
    source: ImportSource,
    bytes: &[u8],
    path: &Path,
) -> Result<Option<Credential>> {
    match source {
        ImportSource::SeedFile => {
            parse_seed_file(bytes, path).map(|c| Some(with_claude_client(r, c)))
        }
        ImportSource::ClaudeCode => parse_claude_code(bytes, path).map(Some),
        ImportSource::Codex => {
            let auth = CodexAuth::parse(bytes, path)?;
            crate::source::codex::credential_of(&auth)
                .map(Some)
                .map_err(|m| Error::parse(path, m))
        }
        ImportSource::GuideConfig => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| Error::parse(path, "not UTF-8 text"))?;
            text.parse::<toml::Table>().map_err(|e| {
                Error::parse(
                    path,
                    format!("not TOML: {}", e.message().trim().replace('\n', "; ")),
                )
            })?;
            Ok(None)
        }
        ImportSource::GuideKeyring | ImportSource::SeedEnv => Ok(None),
    }
}

/// What the guide's `config.toml` holds, for the report.
fn guide_config_detail(bytes: &[u8]) -> String {
    let keys: Vec<String> = std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("oauth").and_then(|o| o.as_table()).cloned())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let settings = if keys.is_empty() {
        String::new()
    } else {
        format!(" (its [oauth] settings: {})", keys.join(", "))
    };
    format!(
        "holds no credential{settings}; not imported: claude-auth refreshes through its own [providers.claude] preset, never the guide's api_base; left as it is"
    )
}

/// Claude Code's `.credentials.json`: its `claudeAiOauth` object.
fn parse_claude_code(bytes: &[u8], path: &Path) -> Result<Credential> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::parse(
            path,
            format!("not JSON (line {} column {})", e.line(), e.column()),
        )
    })?;
    let oauth = doc
        .get("claudeAiOauth")
        .and_then(|v| v.as_object())
        .ok_or_else(|| Error::parse(path, "claudeAiOauth must be a JSON object"))?;
    crate::store::claude_code::token_set_from_claude_code(oauth)
        .map(Credential::OAuth)
        .map_err(|m| Error::parse(path, m))
}

/// The seed formats name no OAuth client: the Claude subscription client
/// refreshes them (the settings' `[providers.claude]`), as the chain does
/// when it reads the seed file in place.
fn with_claude_client(r: &Resolver, mut credential: Credential) -> Credential {
    if let Credential::OAuth(set) = &mut credential {
        if set.client_id.is_none() {
            set.client_id = r
                .settings()
                .presets()
                .ok()
                .and_then(|p| p.get("claude").ok().map(|c| c.client_id.clone()));
        }
    }
    credential
}

fn read_env(r: &Resolver) -> State {
    let env = r.env();
    let access = env.get("CLAUDE_ACCESS_TOKEN");
    let refresh = env.get("CLAUDE_REFRESH_TOKEN");
    let Some(access) = access else {
        return match refresh {
            Some(_) => State::Broken(
                "CLAUDE_REFRESH_TOKEN is set but CLAUDE_ACCESS_TOKEN is not: set both".into(),
            ),
            None => State::Absent("CLAUDE_ACCESS_TOKEN is not set".into()),
        };
    };
    match token_set(
        r,
        access,
        refresh,
        "CLAUDE_ACCESS_TOKEN",
        "CLAUDE_REFRESH_TOKEN",
    ) {
        Ok(credential) => State::Found(Box::new(Taken {
            credential,
            raw: Zeroizing::new(Vec::new()),
        })),
        Err(m) => State::Broken(m),
    }
}

/// An OAuth token set of the Claude client from an access token and an
/// optional refresh token, each validated as every token input is.
fn token_set(
    r: &Resolver,
    access: &str,
    refresh: Option<&str>,
    access_name: &str,
    refresh_name: &str,
) -> std::result::Result<Credential, String> {
    let access = Secret::token(access, access_name)?;
    let mut set = crate::credential::TokenSet::access_only(access, crate::Provider::Anthropic);
    set.refresh_token = refresh
        .map(|v| Secret::token(v, refresh_name))
        .transpose()?;
    Ok(with_claude_client(r, Credential::OAuth(set)))
}

#[cfg(feature = "keyring")]
fn read_guide_keyring(r: &Resolver) -> State {
    let backend = r.keyring_backend();
    let mut values: Vec<Option<Zeroizing<String>>> = Vec::new();
    for account in GUIDE_ACCOUNTS {
        match backend.get(GUIDE_SERVICE, account) {
            Ok(text) => values.push(Some(text)),
            Err(keyring::Error::NoEntry) => values.push(None),
            Err(keyring::Error::PlatformFailure(e)) => {
                return State::NotChecked(format!("the keyring could not be reached ({e})"))
            }
            Err(keyring::Error::NoStorageAccess(e)) => {
                return State::NotChecked(format!("the keyring refused access ({e})"))
            }
            Err(e) => {
                return State::Broken(format!(
                    "keyring service {GUIDE_SERVICE:?}, account {account:?}: {}",
                    crate::source::codex::keyring_message(&e)
                ))
            }
        }
    }
    let access = values[0].as_ref().map(|v| v.as_str());
    let refresh = values[1].as_ref().map(|v| v.as_str());
    let Some(access) = access else {
        return match refresh {
            Some(_) => State::Broken(format!(
                "keyring service {GUIDE_SERVICE:?}: account \"refresh_token\" is there but \"access_token\" is not; nothing to import"
            )),
            None => State::Absent(format!("no keyring entries of service {GUIDE_SERVICE:?}")),
        };
    };
    let name = |account: &str| format!("keyring service {GUIDE_SERVICE:?}, account {account:?}");
    match token_set(
        r,
        access,
        refresh,
        &name("access_token"),
        &name("refresh_token"),
    ) {
        Ok(credential) => {
            let mut entries = serde_json::Map::new();
            for (account, value) in GUIDE_ACCOUNTS.iter().zip(&values) {
                if let Some(v) = value {
                    entries.insert((*account).into(), v.as_str().into());
                }
            }
            let doc = serde_json::json!({"service": GUIDE_SERVICE, "entries": entries});
            State::Found(Box::new(Taken {
                credential,
                raw: Zeroizing::new(crate::secure_file::to_json_bytes(&doc)),
            }))
        }
        Err(m) => State::Broken(m),
    }
}

#[cfg(not(feature = "keyring"))]
fn read_guide_keyring(_: &Resolver) -> State {
    State::NotChecked("this build of claude-auth has no keyring support".into())
}

/// Delete the guide's keyring entries (after the backup and the profile).
#[cfg(feature = "keyring")]
pub(super) fn delete_guide_keyring(r: &Resolver) -> Result<Vec<String>> {
    let backend = r.keyring_backend();
    let mut removed = Vec::new();
    for account in GUIDE_ACCOUNTS {
        match backend.delete(GUIDE_SERVICE, account) {
            Ok(()) => removed.push(format!(
                "keyring service {GUIDE_SERVICE:?}, account {account:?}"
            )),
            Err(keyring::Error::NoEntry) => {}
            Err(e) => {
                return Err(Error::Keyring {
                    service: GUIDE_SERVICE.into(),
                    account: account.into(),
                    message: crate::source::codex::keyring_message(&e),
                })
            }
        }
    }
    Ok(removed)
}

#[cfg(not(feature = "keyring"))]
pub(super) fn delete_guide_keyring(_: &Resolver) -> Result<Vec<String>> {
    Ok(Vec::new())
}
