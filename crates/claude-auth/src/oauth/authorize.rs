//! The authorization URL.

use url::Url;

use crate::config::provider::ProviderPreset;
use crate::error::{Error, Result};
use crate::oauth::pkce::PkcePair;

/// Build the authorization URL for `redirect_uri`.
pub fn authorize_url(
    preset: &ProviderPreset,
    pkce: &PkcePair,
    redirect_uri: &str,
) -> Result<String> {
    let mut url = Url::parse(&preset.authorize_url).map_err(|e| Error::Setting {
        setting: format!("[providers.{}] authorize_url", preset.id),
        message: format!("not a URL: {e}"),
    })?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in &preset.extra_authorize_params {
            q.append_pair(k, v);
        }
        q.append_pair("client_id", &preset.client_id);
        q.append_pair("response_type", "code");
        q.append_pair("redirect_uri", redirect_uri);
        if !preset.scopes.is_empty() {
            q.append_pair("scope", &preset.scopes.join(" "));
        }
        q.append_pair("code_challenge", &pkce.challenge);
        q.append_pair("code_challenge_method", "S256");
        q.append_pair("state", pkce.state.expose());
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::provider::Presets;

    #[test]
    fn claude_url_has_every_parameter() {
        let presets = Presets::built_in().unwrap();
        let pkce = PkcePair::generate().unwrap();
        let url = authorize_url(
            presets.get("claude").unwrap(),
            &pkce,
            "http://localhost:5555/callback",
        )
        .unwrap();
        let parsed = Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["code"], "true");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://localhost:5555/callback");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce.challenge);
        assert_eq!(q["state"], pkce.state.expose());
        assert!(q["scope"].contains("user:inference"));
        assert!(!url.contains(pkce.verifier.expose()));
    }
}
