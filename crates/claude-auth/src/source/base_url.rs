//! The API base URL for a resolved credential, by provider: the one rule
//! every door (token, env, exec, proxy, the client, usage) uses.

use crate::config::env::Env;
use crate::config::provider::DEFAULT_BASE_URL;
use crate::config::settings::Settings;
use crate::credential::{Credential, Provider};
use crate::source::Found;

/// The OpenAI API's default base URL (API keys; `OPENAI_BASE_URL` overrides).
pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The API base URL for requests made with `found`'s credential, the one
/// rule every door uses, by the credential's provider:
///
/// - Anthropic: the profile's `base_url` (or the one its source pins), else
///   `ANTHROPIC_BASE_URL`, else [`DEFAULT_BASE_URL`].
/// - OpenAI: what the source pins, else for a ChatGPT login the setting
///   `[openai] chatgpt_base_url` (`CLAUDE_AUTH_CHATGPT_BASE_URL`), else
///   [`crate::openai::chatgpt::CODEX_BASE_URL`]; for an API key
///   `OPENAI_BASE_URL`, else [`OPENAI_DEFAULT_BASE_URL`].
pub fn base_url_for(found: Option<&Found>, env: &Env, settings: &Settings) -> String {
    let provider = found
        .and_then(|f| f.credential.as_ref())
        .map_or(Provider::Anthropic, |c| c.provider().clone());
    base_url_for_provider(&provider, found, env, settings)
}

/// [`base_url_for`] for a given provider (when `found` is `None`, the
/// provider's default: `ANTHROPIC_BASE_URL`/`OPENAI_BASE_URL`, else the
/// public API).
pub fn base_url_for_provider(
    provider: &Provider,
    found: Option<&Found>,
    env: &Env,
    settings: &Settings,
) -> String {
    if let Some(pinned) = found.and_then(|f| f.base_url.clone()) {
        return pinned;
    }
    match provider {
        Provider::Anthropic => env
            .get("ANTHROPIC_BASE_URL")
            .map_or_else(|| DEFAULT_BASE_URL.to_owned(), str::to_owned),
        Provider::Openai => {
            let chatgpt = found
                .and_then(|f| f.credential.as_ref())
                .is_some_and(|c| matches!(c, Credential::OAuth(_)));
            if chatgpt {
                return settings
                    .chatgpt_base_url
                    .clone()
                    .unwrap_or_else(|| crate::openai::chatgpt::CODEX_BASE_URL.to_owned());
            }
            env.get("OPENAI_BASE_URL")
                .map_or_else(|| OPENAI_DEFAULT_BASE_URL.to_owned(), str::to_owned)
        }
    }
}
