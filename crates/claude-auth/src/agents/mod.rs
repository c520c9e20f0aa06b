//! Agent sessions: who ran, for how long, how it ended and what it spent.
//!
//! `claude-auth exec --agent-id ID` registers a session in the usage ledger
//! (the `agents` table), gives the child a key of its own (`ca-agent-…`)
//! when it reaches the API through a proxy, and closes the session with the
//! child's exit code or signal. A proxy attributes every request made with
//! an agent key to that agent (`requests.agent`), so `claude-auth agents`
//! can say which agent spent what. Only the key's SHA-256 is stored.
//!
//! Layout: [`process`] (is a pid still the process we started?),
//! [`sessions`] (the rows: register, close, list with usage, close the
//! dead), [`keys`] (the proxy's cached view of which agent keys are valid).

pub mod keys;
pub mod process;
pub mod sessions;

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::secret::Secret;

pub use keys::AgentKeys;
pub use sessions::{
    AgentSession, AgentUsage, Ending, ListOptions, NewSession, ProviderUsage, SessionError,
    SessionState,
};

/// What every agent key starts with.
pub const KEY_PREFIX: &str = "ca-agent-";

/// The longest agent id.
pub const MAX_ID_LEN: usize = 64;

/// The environment variable that gives a child its agent id.
pub const AGENT_ID_VAR: &str = "CLAUDE_AUTH_AGENT_ID";

/// The agent a request runs for, as the proxy authenticated it: its id
/// (`--agent-id`) and its session (the `agents` row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRef {
    /// The agent id.
    pub id: Arc<str>,
    /// The session, `agents.session`.
    pub session: i64,
}

/// An open session's key as a proxy finds it: whose it is, and the provider
/// the session is for (a proxy serving the other provider's API refuses it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHolder {
    /// The agent and its session.
    pub agent: AgentRef,
    /// The provider the session was registered for (`agents.provider`).
    pub provider: crate::credential::Provider,
}

/// Check an agent id: 1 to [`MAX_ID_LEN`] characters, each an ASCII letter
/// or digit, `.`, `_` or `-`, starting with a letter or digit. The error
/// names the rule.
pub fn validate_agent_id(id: &str) -> std::result::Result<(), String> {
    let shown = crate::usage::clean_text(id);
    let rule =
        "use 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit";
    if id.is_empty() {
        return Err(format!("--agent-id is empty: {rule}"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "--agent-id is {} characters long: {rule}",
            id.chars().count()
        ));
    }
    let starts_well = id.as_bytes()[0].is_ascii_alphanumeric();
    let allowed = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !starts_well || !allowed {
        return Err(format!(
            "--agent-id {shown:?} is not a valid agent id: {rule}"
        ));
    }
    Ok(())
}

/// A fresh agent key: [`KEY_PREFIX`] and the URL-safe base64 of 24 random
/// bytes.
pub fn generate_agent_key() -> Result<Secret> {
    use base64::Engine;
    let mut buf = [0u8; 24];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Unsupported(format!("the OS random number generator failed: {e}")))?;
    Ok(Secret::new(format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    )))
}

/// The lowercase hex SHA-256 of a key, as `agents.key_hash` keeps it.
pub fn key_hash(key: &str) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
