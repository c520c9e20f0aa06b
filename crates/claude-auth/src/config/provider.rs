//! OAuth provider presets: every endpoint, client id, scope, encoding and
//! header quirk, as data.
//!
//! The built-in presets (`console`, `claude`, `claude-long-lived`) come from
//! `presets.toml` beside this crate's manifest; `[providers.<id>]` tables in
//! the settings override any field of a built-in preset or define a custom
//! provider for any RFC 6749 / 7636 / 8252 server. Code never names a host.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::credential::Provider;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Claude Code's public OAuth client (no secret). Claude Code's credential
/// file omits the client id in older versions; tokens in it belong to this
/// client.
pub const CLAUDE_CODE_CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

/// The API base URL when neither a profile nor `ANTHROPIC_BASE_URL` sets one.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The `ant` CLI's OAuth client (Developer Platform login).
pub const ANT_CLI_CLIENT_ID: &str = "41077d10-94b8-4194-be48-d251e9eb21b4";

const BUILT_IN: &str = include_str!("../../presets.toml");

/// How a token-endpoint request body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    Form,
    /// `application/json` (Anthropic's endpoint).
    Json,
}

/// One provider preset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderPreset {
    /// Preset id (`console`, `claude`, or a custom name).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Issuer family.
    pub provider: Provider,
    /// OAuth client id.
    pub client_id: String,
    /// Client secret, for confidential clients (usually none).
    pub client_secret: Option<Secret>,
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint (code exchange and refresh).
    pub token_url: String,
    /// Revocation endpoint (RFC 7009), if the provider has one.
    pub revocation_url: Option<String>,
    /// Redirect for the paste flow (a page that shows `code#state`).
    pub manual_redirect_url: Option<String>,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// `localhost` or `127.0.0.1`.
    pub redirect_host: String,
    /// Callback path, e.g. `/callback`.
    pub redirect_path: String,
    /// Encoding of the authorization-code exchange.
    pub code_encoding: Encoding,
    /// Encoding of the refresh grant.
    pub refresh_encoding: Encoding,
    /// Extra authorize parameters.
    pub extra_authorize_params: BTreeMap<String, String>,
    /// Extra headers on token requests.
    pub token_headers: BTreeMap<String, String>,
    /// Extra headers on refresh requests only.
    pub refresh_headers: BTreeMap<String, String>,
    /// Send `state` in the code exchange (Anthropic's endpoint wants it).
    pub send_state_in_exchange: bool,
    /// `expires_in` sent in the code exchange (long-lived tokens).
    pub exchange_expires_in: Option<u64>,
    /// Whether logins are consumer subscriptions (shows the terms notice).
    pub subscription: bool,
    /// API base URL written into the profile config, if any.
    pub base_url: Option<String>,
}

/// A preset as written in TOML: every field optional so settings can
/// override a built-in preset field by field.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PresetOverride {
    name: Option<String>,
    provider: Option<Provider>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    revocation_url: Option<String>,
    manual_redirect_url: Option<String>,
    scopes: Option<Vec<String>>,
    redirect_host: Option<String>,
    redirect_path: Option<String>,
    code_encoding: Option<Encoding>,
    refresh_encoding: Option<Encoding>,
    extra_authorize_params: Option<BTreeMap<String, String>>,
    token_headers: Option<BTreeMap<String, String>>,
    refresh_headers: Option<BTreeMap<String, String>>,
    send_state_in_exchange: Option<bool>,
    exchange_expires_in: Option<u64>,
    subscription: Option<bool>,
    base_url: Option<String>,
}

impl PresetOverride {
    fn apply(self, base: Option<ProviderPreset>, id: &str, origin: &str) -> Result<ProviderPreset> {
        let missing = |field: &str| {
            Error::Setting {
            setting: format!("{origin} [providers.{id}]"),
            message: format!("missing '{field}' (a custom provider needs client_id, authorize_url and token_url)"),
        }
        };
        let b = base;
        let preset = ProviderPreset {
            id: id.to_owned(),
            name: self
                .name
                .or_else(|| b.as_ref().map(|b| b.name.clone()))
                .unwrap_or_else(|| id.to_owned()),
            provider: self
                .provider
                .or_else(|| b.as_ref().map(|b| b.provider.clone()))
                .unwrap_or(Provider::Anthropic),
            client_id: self
                .client_id
                .or_else(|| b.as_ref().map(|b| b.client_id.clone()))
                .ok_or_else(|| missing("client_id"))?,
            client_secret: self
                .client_secret
                .or_else(|| b.as_ref().and_then(|b| b.client_secret.clone())),
            authorize_url: self
                .authorize_url
                .or_else(|| b.as_ref().map(|b| b.authorize_url.clone()))
                .ok_or_else(|| missing("authorize_url"))?,
            token_url: self
                .token_url
                .or_else(|| b.as_ref().map(|b| b.token_url.clone()))
                .ok_or_else(|| missing("token_url"))?,
            revocation_url: self
                .revocation_url
                .or_else(|| b.as_ref().and_then(|b| b.revocation_url.clone())),
            manual_redirect_url: self
                .manual_redirect_url
                .or_else(|| b.as_ref().and_then(|b| b.manual_redirect_url.clone())),
            scopes: self
                .scopes
                .or_else(|| b.as_ref().map(|b| b.scopes.clone()))
                .unwrap_or_default(),
            redirect_host: self
                .redirect_host
                .or_else(|| b.as_ref().map(|b| b.redirect_host.clone()))
                .unwrap_or_else(|| "127.0.0.1".into()),
            redirect_path: self
                .redirect_path
                .or_else(|| b.as_ref().map(|b| b.redirect_path.clone()))
                .unwrap_or_else(|| "/callback".into()),
            code_encoding: self
                .code_encoding
                .or_else(|| b.as_ref().map(|b| b.code_encoding))
                .unwrap_or(Encoding::Form),
            refresh_encoding: self
                .refresh_encoding
                .or_else(|| b.as_ref().map(|b| b.refresh_encoding))
                .unwrap_or(Encoding::Form),
            extra_authorize_params: self
                .extra_authorize_params
                .or_else(|| b.as_ref().map(|b| b.extra_authorize_params.clone()))
                .unwrap_or_default(),
            token_headers: self
                .token_headers
                .or_else(|| b.as_ref().map(|b| b.token_headers.clone()))
                .unwrap_or_default(),
            refresh_headers: self
                .refresh_headers
                .or_else(|| b.as_ref().map(|b| b.refresh_headers.clone()))
                .unwrap_or_default(),
            send_state_in_exchange: self
                .send_state_in_exchange
                .or_else(|| b.as_ref().map(|b| b.send_state_in_exchange))
                .unwrap_or(false),
            exchange_expires_in: self
                .exchange_expires_in
                .or_else(|| b.as_ref().and_then(|b| b.exchange_expires_in)),
            subscription: self
                .subscription
                .or_else(|| b.as_ref().map(|b| b.subscription))
                .unwrap_or(false),
            base_url: self
                .base_url
                .or_else(|| b.as_ref().and_then(|b| b.base_url.clone())),
        };
        if preset.redirect_host != "localhost" && preset.redirect_host != "127.0.0.1" {
            return Err(Error::Setting {
                setting: format!("{origin} [providers.{id}] redirect_host"),
                message: format!(
                    "{:?} is not a loopback host; use localhost or 127.0.0.1",
                    preset.redirect_host
                ),
            });
        }
        if !preset.redirect_path.starts_with('/') {
            return Err(Error::Setting {
                setting: format!("{origin} [providers.{id}] redirect_path"),
                message: "must start with '/'".into(),
            });
        }
        for (field, url) in [
            ("authorize_url", &preset.authorize_url),
            ("token_url", &preset.token_url),
        ] {
            url::Url::parse(url).map_err(|e| Error::Setting {
                setting: format!("{origin} [providers.{id}] {field}"),
                message: format!("not a URL: {e}"),
            })?;
        }
        Ok(preset)
    }
}

/// Every preset: built-ins with the settings' overrides, plus custom ones.
#[derive(Clone, Debug, Default)]
pub struct Presets {
    presets: BTreeMap<String, ProviderPreset>,
}

impl Presets {
    /// The built-ins, overridden or extended by `overrides` (from settings).
    pub fn load(overrides: &BTreeMap<String, PresetOverride>, origin: &str) -> Result<Presets> {
        let built_in: BTreeMap<String, PresetOverride> =
            toml::from_str(BUILT_IN).map_err(|e| Error::Setting {
                setting: "built-in presets.toml".into(),
                message: e.to_string(),
            })?;
        let mut presets = BTreeMap::new();
        for (id, preset) in built_in {
            presets.insert(id.clone(), preset.apply(None, &id, "presets.toml")?);
        }
        for (id, over) in overrides {
            let base = presets.get(id).cloned();
            presets.insert(id.clone(), over.clone().apply(base, id, origin)?);
        }
        Ok(Presets { presets })
    }

    /// The built-ins only.
    pub fn built_in() -> Result<Presets> {
        Presets::load(&BTreeMap::new(), "")
    }

    /// A preset by id.
    pub fn get(&self, id: &str) -> Result<&ProviderPreset> {
        self.presets.get(id).ok_or_else(|| Error::Setting {
            setting: "--provider".into(),
            message: format!(
                "unknown provider {id:?}; known: {} (add custom ones under [providers.<id>] in the settings)",
                self.presets.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// The preset a client id belongs to, if any.
    pub fn by_client_id(&self, client_id: &str) -> Option<&ProviderPreset> {
        self.presets.values().find(|p| p.client_id == client_id)
    }

    /// Every preset id.
    pub fn ids(&self) -> Vec<String> {
        self.presets.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse_and_match_protocol_facts() {
        let p = Presets::built_in().unwrap();
        let claude = p.get("claude").unwrap();
        assert_eq!(claude.client_id, CLAUDE_CODE_CLIENT_ID);
        assert_eq!(claude.code_encoding, Encoding::Json);
        assert_eq!(
            claude
                .extra_authorize_params
                .get("code")
                .map(String::as_str),
            Some("true")
        );
        let console = p.get("console").unwrap();
        assert_eq!(console.client_id, ANT_CLI_CLIENT_ID);
        assert_eq!(console.code_encoding, Encoding::Form);
        assert_eq!(
            p.get("claude-long-lived").unwrap().exchange_expires_in,
            Some(31_536_000)
        );
    }

    #[test]
    fn settings_override_fields_and_add_custom_providers() {
        let overrides: BTreeMap<String, PresetOverride> = toml::from_str(
            "[claude]\ntoken_url = \"http://127.0.0.1:9/t\"\n[mine]\nclient_id = \"c\"\nauthorize_url = \"http://127.0.0.1:1/a\"\ntoken_url = \"http://127.0.0.1:1/t\"\n",
        )
        .unwrap();
        let p = Presets::load(&overrides, "config.toml").unwrap();
        assert_eq!(p.get("claude").unwrap().token_url, "http://127.0.0.1:9/t");
        assert_eq!(p.get("claude").unwrap().client_id, CLAUDE_CODE_CLIENT_ID);
        let mine = p.get("mine").unwrap();
        assert_eq!(
            (mine.code_encoding, mine.redirect_host.as_str()),
            (Encoding::Form, "127.0.0.1")
        );
        assert!(p
            .get("nope")
            .unwrap_err()
            .to_string()
            .contains("known: claude"));
    }

    #[test]
    fn custom_provider_without_token_url_is_an_error_naming_it() {
        let overrides: BTreeMap<String, PresetOverride> =
            toml::from_str("[x]\nclient_id = \"c\"\nauthorize_url = \"http://h/a\"\n").unwrap();
        let err = Presets::load(&overrides, "config.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[providers.x]") && err.contains("token_url"),
            "{err}"
        );
    }
}
