//! The environment a child process needs for a credential, and how to
//! print it for shells, dotenv files and JSON.
//!
//! An OAuth access token alone is not enough for the official SDKs: given as
//! `ANTHROPIC_AUTH_TOKEN` they send it as a bare bearer, without the
//! `anthropic-beta: oauth-2025-04-20` header the API requires for OAuth
//! tokens, and they cannot refresh it. [`choose_door`] picks what does work:
//! the spec profile itself when the login is one the SDKs can load (they add
//! the header and refresh under the spec's rules), else a private proxy.
//!
//! OpenAI's side follows the same rules: an API key goes as
//! `OPENAI_API_KEY` (with `OPENAI_BASE_URL` when its source pins one); a
//! ChatGPT login needs the `ChatGPT-Account-Id` header and a refresh no SDK
//! makes, so it goes through a private proxy too. A child given both
//! providers' variables learns which one is active from
//! [`ACTIVE_AUTH_PROVIDER`] ([`with_active_provider`]).

use std::path::PathBuf;

use crate::credential::{Credential, Provider};
use crate::error::{Error, Result};
use crate::openai::chatgpt::CODEX_BASE_URL;
use crate::secret::Secret;
use crate::source::Backing;
use crate::store::profile_files::ProfileFiles;

/// Every variable through which a credential (or a key that unlocks one) can
/// reach a child; `exec` clears them all before setting the ones it means.
pub const CREDENTIAL_VARS: [&str; 11] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_ACCESS_TOKEN",
    "CLAUDE_REFRESH_TOKEN",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_IDENTITY_TOKEN",
    "CLAUDE_AUTH_ENCRYPTION_KEY",
    "CLAUDE_AUTH_PASSPHRASE",
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
];

/// Set in a child given more than one provider's variables: the provider it
/// should use (`anthropic` or `openai`).
pub const ACTIVE_AUTH_PROVIDER: &str = "ACTIVE_AUTH_PROVIDER";

/// The variables for `credential`: `ANTHROPIC_API_KEY` for keys,
/// `ANTHROPIC_AUTH_TOKEN` for bearer tokens, `ANTHROPIC_AUTH_TOKEN` and
/// `CLAUDE_CODE_OAUTH_TOKEN` for OAuth tokens, plus `ANTHROPIC_BASE_URL` when
/// one is set; for OpenAI [`openai_variables`].
pub fn variables_for(
    credential: &Credential,
    base_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    if *credential.provider() == Provider::Openai {
        return openai_variables(credential, base_url);
    }
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

/// OpenAI's variables: the key or token as `OPENAI_API_KEY` (what the
/// official SDKs and Codex read), plus `OPENAI_BASE_URL` when `base_url` is
/// set. A ChatGPT token works only on the Codex backend, so its base URL is
/// always given ([`CODEX_BASE_URL`] unless one is set); the SDKs send no
/// `ChatGPT-Account-Id`, which is why [`choose_door`] gives a ChatGPT login
/// a proxy unless the raw token is asked for.
pub fn openai_variables(
    credential: &Credential,
    base_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![("OPENAI_API_KEY", credential.secret().expose().to_owned())];
    let base_url = match credential {
        Credential::OAuth(_) => Some(base_url.unwrap_or(CODEX_BASE_URL)),
        _ => base_url,
    };
    if let Some(url) = base_url {
        vars.push(("OPENAI_BASE_URL", url.to_owned()));
    }
    vars
}

/// What a child of a private proxy for `provider` gets: the proxy's URL as
/// the base URL and its local key as the API key (`ANTHROPIC_BASE_URL` and
/// `ANTHROPIC_API_KEY`, or `OPENAI_BASE_URL` and `OPENAI_API_KEY`). The
/// SDKs send the key as `x-api-key` or `Authorization: Bearer`; the proxy
/// takes either.
pub fn proxy_variables(
    provider: &Provider,
    url: String,
    local_key: Option<&Secret>,
) -> Vec<(&'static str, String)> {
    let (base, key) = match provider {
        Provider::Anthropic => ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
        Provider::Openai => ("OPENAI_BASE_URL", "OPENAI_API_KEY"),
    };
    let mut vars = vec![(base, url)];
    if let Some(k) = local_key {
        vars.push((key, k.expose().to_owned()));
    }
    vars
}

/// Several providers' variables for one child: each set in turn, then
/// [`ACTIVE_AUTH_PROVIDER`] naming `active` when there is more than one set
/// (a single set needs no choosing).
pub fn with_active_provider(
    sets: Vec<Vec<(&'static str, String)>>,
    active: &Provider,
) -> Vec<(&'static str, String)> {
    let several = sets.len() > 1;
    let mut vars: Vec<_> = sets.into_iter().flatten().collect();
    if several {
        vars.push((ACTIVE_AUTH_PROVIDER, active.as_str().to_owned()));
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
/// one the SDKs can load, else through the private proxy; a ChatGPT login
/// always through the private proxy (it adds `ChatGPT-Account-Id` and
/// refreshes).
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
            Credential::OAuth(_) => Door::Proxy,
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

/// The variables a door gives without a proxy: [`variables_for`] or
/// [`profile_variables`]; `None` for [`Door::Proxy`], whose variables
/// ([`proxy_variables`]) exist only once the proxy runs.
pub fn door_variables(
    door: &Door,
    credential: &Credential,
    base_url: Option<&str>,
) -> Option<Vec<(&'static str, String)>> {
    match door {
        Door::Variables => Some(variables_for(credential, base_url)),
        Door::Profile(profile) => Some(profile_variables(profile, credential, base_url)),
        Door::Proxy => None,
    }
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
