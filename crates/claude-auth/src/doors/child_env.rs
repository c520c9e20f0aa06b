//! The environment a child process needs for a credential, and how to
//! print it for shells, dotenv files and JSON.
//!
//! An OAuth access token alone is not enough for the official SDKs: given as
//! `ANTHROPIC_AUTH_TOKEN` they send it as a bare bearer, without the
//! `anthropic-beta: oauth-2025-04-20` header the API requires for OAuth
//! tokens, and they cannot refresh it. [`choose_door`] picks what does work:
//! the spec profile itself when the login is one the SDKs can load (they add
//! the header and refresh under the spec's rules), else a private proxy.

use std::path::PathBuf;

use crate::credential::{Credential, Provider};
use crate::error::{Error, Result};
use crate::source::Backing;
use crate::store::profile_files::ProfileFiles;

/// Every variable through which a credential (or a key that unlocks one) can
/// reach a child; `exec` clears them all before setting the ones it means.
pub const CREDENTIAL_VARS: [&str; 9] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_ACCESS_TOKEN",
    "CLAUDE_REFRESH_TOKEN",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_IDENTITY_TOKEN",
    "CLAUDE_AUTH_ENCRYPTION_KEY",
    "CLAUDE_AUTH_PASSPHRASE",
];

/// The variables for `credential`: `ANTHROPIC_API_KEY` for keys,
/// `ANTHROPIC_AUTH_TOKEN` for bearer tokens, `ANTHROPIC_AUTH_TOKEN` and
/// `CLAUDE_CODE_OAUTH_TOKEN` for OAuth tokens, plus `ANTHROPIC_BASE_URL` when
/// one is set.
pub fn variables_for(
    credential: &Credential,
    base_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let secret = credential.secret().expose().to_owned();
    let mut vars = match credential {
        Credential::ApiKey { .. } => vec![("ANTHROPIC_API_KEY", secret)],
        Credential::Bearer { .. } => vec![("ANTHROPIC_AUTH_TOKEN", secret)],
        Credential::OAuth(_) => vec![
            ("ANTHROPIC_AUTH_TOKEN", secret.clone()),
            ("CLAUDE_CODE_OAUTH_TOKEN", secret),
        ],
    };
    if let Some(url) = base_url {
        vars.push(("ANTHROPIC_BASE_URL", url.to_owned()));
    }
    vars
}

/// A spec profile the official SDKs can load themselves: its files are the
/// spec's plain ones (`configs/<name>.json`, `credentials/<name>.json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProfile {
    /// The profile name (`ANTHROPIC_PROFILE`).
    pub name: String,
    /// The config dir, absolute (`ANTHROPIC_CONFIG_DIR`).
    pub config_dir: PathBuf,
}

/// The spec profile a credential came from (its `profile` and
/// [`Backing`]), when the official SDKs can read it: a profile kept in the
/// spec's own files (not the keyring, the encrypted file or claude-auth's key
/// file), or a federation profile.
pub fn spec_profile(
    profile: Option<&str>,
    backing: &Backing,
    files: &ProfileFiles,
) -> Option<SpecProfile> {
    let name = profile?;
    if !matches!(
        backing,
        Backing::ProfileFile { .. } | Backing::Federation(_)
    ) {
        return None;
    }
    let config_dir = std::path::absolute(files.dir()).ok()?;
    Some(SpecProfile {
        name: name.to_owned(),
        config_dir,
    })
}

/// How a child process receives a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Door {
    /// The credential itself, in the variables its kind calls for
    /// ([`variables_for`]).
    Variables,
    /// The spec profile it lives in ([`profile_variables`]).
    Profile(SpecProfile),
    /// A private proxy on loopback that holds the credential, adds the
    /// headers and refreshes; the child gets only its URL and a one-time key.
    Proxy,
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DoorChoice {
    /// Whatever works for the official SDKs and Claude Code ([`choose_door`]).
    #[default]
    Auto,
    /// Always the private proxy.
    Proxy,
    /// Always the credential itself ([`variables_for`]).
    RawToken,
}

/// The door for `credential`: API keys and gateway bearer tokens go as
/// variables; an Anthropic OAuth token goes as its spec profile when it has
/// one the SDKs can load, else through the private proxy.
pub fn choose_door(
    credential: &Credential,
    profile: Option<&SpecProfile>,
    choice: DoorChoice,
) -> Door {
    match choice {
        DoorChoice::Proxy => Door::Proxy,
        DoorChoice::RawToken => Door::Variables,
        DoorChoice::Auto => match credential {
            Credential::OAuth(set) if set.provider == Provider::Anthropic => match profile {
                Some(p) => Door::Profile(p.clone()),
                None => Door::Proxy,
            },
            _ => Door::Variables,
        },
    }
}

/// The variables for a spec profile: `ANTHROPIC_PROFILE` and
/// `ANTHROPIC_CONFIG_DIR` (the official SDKs load the profile, add the OAuth
/// beta header and refresh themselves), `CLAUDE_CODE_OAUTH_TOKEN` with the
/// current access token (Claude Code reads no profiles; it uses this token
/// as is, until it expires), plus `ANTHROPIC_BASE_URL` when one is set.
pub fn profile_variables(
    profile: &SpecProfile,
    credential: &Credential,
    base_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("ANTHROPIC_PROFILE", profile.name.clone()),
        (
            "ANTHROPIC_CONFIG_DIR",
            profile.config_dir.display().to_string(),
        ),
        (
            "CLAUDE_CODE_OAUTH_TOKEN",
            credential.secret().expose().to_owned(),
        ),
    ];
    if let Some(url) = base_url {
        vars.push(("ANTHROPIC_BASE_URL", url.to_owned()));
    }
    vars
}

/// Output formats for `claude-auth env`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvFormat {
    /// `KEY='value'` (POSIX shell quoting).
    Env,
    /// `export KEY='value'`.
    Export,
    /// `KEY='value'`: no escapes at all, so that `sh`, `bash`, `dash` and the
    /// dotenv parsers (python-dotenv, npm `dotenv`) read the same value;
    /// values none of them can hold that way are refused.
    Dotenv,
    /// A JSON object.
    Json,
}

/// Quote for POSIX shells: single quotes, `'` as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Quote for dotenv files, or say why `value` cannot be: single quotes with
/// nothing escaped inside. A shell sourcing the file (`set -a; . ./.env`)
/// takes everything between single quotes literally (no `$`, backtick or
/// backslash expansion); python-dotenv and npm `dotenv` strip the quotes.
/// What they disagree on is refused: a single quote (no escape works in all
/// of them), line breaks and other control characters, `\\` and a trailing
/// `\` (python-dotenv decodes `\\` and `\'` inside single quotes), and
/// `${` (python-dotenv expands `${VAR}` even there).
fn dotenv_quote(var: &str, value: &str) -> Result<String> {
    let reason = if value.contains('\'') {
        Some("a single quote")
    } else if value
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        Some("a line break or another control character")
    } else if value.contains("\\\\") || value.ends_with('\\') {
        Some("a double or trailing backslash")
    } else if value.contains("${") {
        Some("`${`")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::Unsupported(format!(
            "the value of {var} contains {reason}, which a dotenv file cannot hold so that shells and dotenv parsers read it alike; use --format env, export or json"
        ))),
        None => Ok(format!("'{value}'")),
    }
}

/// Render variables in a format. Fails (naming the variable, never the
/// value) when a value cannot be written safely in that format.
pub fn render(vars: &[(&str, String)], format: EnvFormat) -> Result<String> {
    match format {
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                .collect();
            Ok(
                serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default()
                    + "\n",
            )
        }
        _ => vars
            .iter()
            .map(|(k, v)| {
                Ok(match format {
                    EnvFormat::Export => format!("export {k}={}\n", shell_quote(v)),
                    EnvFormat::Dotenv => format!("{k}={}\n", dotenv_quote(k, v)?),
                    _ => format!("{k}={}\n", shell_quote(v)),
                })
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "child_env_tests.rs"]
mod tests;
