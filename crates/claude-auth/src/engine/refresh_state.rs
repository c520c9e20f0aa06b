//! Per-login refresh bookkeeping, kept in claude-auth's own dir (never in
//! the SDKs' files): which provider preset a login came from, when it was
//! last refreshed, the last refresh error, and the fingerprint of a refresh
//! token the server rejected — so no process presents a dead refresh token
//! again, however often `claude-auth token` runs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::env::Env;
use crate::config::locations::own_config_dir;
use crate::config::provider::{Presets, ProviderPreset};
use crate::error::Result;
use crate::secret::Secret;
use crate::secure_file::{read_optional, write_atomic, write_atomic_relaxed, ReadPolicy};

/// What is remembered about one login's refreshes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshState {
    /// The provider preset the login came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Last successful refresh, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh_at: Option<u64>,
    /// Last refresh error (sanitised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<u64>,
    /// Fingerprint of a refresh token the server rejected with invalid_grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_refresh_token: Option<String>,
}

/// A short, non-reversible fingerprint of a refresh token.
pub fn fingerprint(token: &Secret) -> String {
    let digest = Sha256::digest(token.expose().as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Where a login's state lives: `<own config dir>/state/claude-code.json`
/// for Claude Code's login, `state/profile-<name>.json` for a profile;
/// `None` for credentials that are not stored (environment variables,
/// commands).
pub fn state_path(env: &Env, claude_code: bool, profile: Option<&str>) -> Option<PathBuf> {
    let key = match (claude_code, profile) {
        (true, _) => "claude-code".to_owned(),
        (false, Some(p)) => format!("profile-{p}"),
        (false, None) => return None,
    };
    Some(
        own_config_dir(env)
            .path
            .join("state")
            .join(format!("{key}.json")),
    )
}

/// The seed library's `auth.json`'s state: `state/seed-file.json` (its
/// `provider` names the preset that refreshes it; default `claude`).
pub fn seed_file_state_path(env: &Env) -> Option<PathBuf> {
    Some(
        own_config_dir(env)
            .path
            .join("state")
            .join("seed-file.json"),
    )
}

impl RefreshState {
    /// Read it (missing or unreadable: empty).
    pub fn load(path: &Path) -> RefreshState {
        read_optional(path, ReadPolicy::Lenient)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Write it. A rejected refresh token's fingerprint is written durably;
    /// timestamps alone are bookkeeping and skip the fsyncs (they sit on the
    /// refresh's critical path).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        if self.dead_refresh_token.is_some() {
            write_atomic(path, &bytes, 0o600)
        } else {
            write_atomic_relaxed(path, &bytes, 0o600)
        }
    }

    /// The provider preset this login belongs to: the one it was made with,
    /// else Claude's for Claude Code's login, else the one owning its client id.
    pub fn preset<'a>(
        &self,
        presets: &'a Presets,
        claude_code: bool,
        client_id: Option<&str>,
    ) -> Option<&'a ProviderPreset> {
        self.provider
            .as_deref()
            .and_then(|id| presets.get(id).ok())
            .or_else(|| {
                if claude_code {
                    presets.get("claude").ok()
                } else {
                    None
                }
            })
            .or_else(|| client_id.and_then(|c| presets.by_client_id(c)))
    }

    /// Update it in place (read, change, write).
    pub fn update(path: &Path, change: impl FnOnce(&mut RefreshState)) -> Result<RefreshState> {
        let mut state = RefreshState::load(path);
        change(&mut state);
        state.save(path)?;
        Ok(state)
    }
}
