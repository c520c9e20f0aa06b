//! The provider-generic credential model.
//!
//! A [`Credential`] is an API key, a static bearer token, or an OAuth token
//! set. Anthropic is the first provider; OpenAI arrives through the same
//! types. Every secret inside is a [`Secret`], so a `Credential` can be
//! logged with `{:?}` without leaking anything.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::secret::Secret;

/// Who issued a credential.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Anthropic (Claude API, Claude subscriptions, the Developer Platform).
    Anthropic,
    /// OpenAI (API keys, ChatGPT logins through Codex).
    Openai,
}

impl Provider {
    /// Lower-case name, as in settings and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::Openai => "openai",
        }
    }

    /// Every provider, in the order `status` lists them when neither is
    /// active.
    pub const ALL: [Provider; 2] = [Provider::Anthropic, Provider::Openai];

    /// The vendor's name for humans (`Anthropic`, `OpenAI`).
    pub fn display_name(&self) -> &'static str {
        match self {
            Provider::Anthropic => "Anthropic",
            Provider::Openai => "OpenAI",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `anthropic` or `openai` (the `--provider` and `CLAUDE_AUTH_PROVIDER`
/// values), exactly; the error names the values allowed.
impl std::str::FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "anthropic" => Ok(Provider::Anthropic),
            "openai" => Ok(Provider::Openai),
            other => Err(format!(
                "unknown provider {other:?}; use anthropic or openai"
            )),
        }
    }
}

/// The kind of a credential, as shown to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CredentialKind {
    /// An API key, sent as `x-api-key`.
    ApiKey,
    /// A bearer token with no refresh (gateways, `ANTHROPIC_AUTH_TOKEN`).
    BearerToken,
    /// An OAuth access token, possibly with a refresh token.
    OauthToken,
}

impl CredentialKind {
    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "API key",
            CredentialKind::BearerToken => "bearer token",
            CredentialKind::OauthToken => "OAuth token",
        }
    }
}

/// What a bare token's prefix says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPrefix {
    /// `sk-ant-api03-…`
    ApiKey,
    /// `sk-ant-oat01-…`
    OauthAccess,
    /// `sk-ant-ort01-…`: a refresh token, not usable on its own.
    OauthRefresh,
    /// Anything else.
    Unknown,
}

/// Classify a bare token by its prefix.
///
/// ```
/// use claude_auth::credential::{classify_token, TokenPrefix};
/// assert_eq!(classify_token("sk-ant-api03-x"), TokenPrefix::ApiKey);
/// assert_eq!(classify_token("sk-ant-oat01-x"), TokenPrefix::OauthAccess);
/// assert_eq!(classify_token("eyJhbGciOi"), TokenPrefix::Unknown);
/// ```
pub fn classify_token(token: &str) -> TokenPrefix {
    if token.starts_with("sk-ant-api") {
        TokenPrefix::ApiKey
    } else if token.starts_with("sk-ant-oat") {
        TokenPrefix::OauthAccess
    } else if token.starts_with("sk-ant-ort") {
        TokenPrefix::OauthRefresh
    } else {
        TokenPrefix::Unknown
    }
}

/// An account an OAuth token belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Account email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Account UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    /// Organization UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_uuid: Option<String>,
    /// Organization name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// Workspace id (`wrkspc_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// Workspace name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_name: Option<String>,
    /// Subscription (`pro`, `max`, …) for Claude subscription logins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_type: Option<String>,
    /// Rate-limit tier reported by Claude Code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_tier: Option<String>,
}

/// An OAuth token set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, when the login can be refreshed.
    pub refresh_token: Option<Secret>,
    /// Expiry, Unix seconds; `None` when unknown.
    pub expires_at: Option<u64>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Account, organization, workspace, subscription.
    pub identity: Identity,
    /// The provider that issued it.
    pub provider: Provider,
    /// The OAuth client it was issued to (needed to refresh).
    pub client_id: Option<String>,
    /// The OpenID id token, when the issuer returned one (ChatGPT logins:
    /// kept and written back; Anthropic sets leave it `None`).
    pub id_token: Option<Secret>,
}

impl TokenSet {
    /// A token set holding only an access token (no refresh, unknown expiry).
    pub fn access_only(access_token: Secret, provider: Provider) -> Self {
        TokenSet {
            access_token,
            refresh_token: None,
            expires_at: None,
            scopes: Vec::new(),
            identity: Identity::default(),
            provider,
            client_id: None,
            id_token: None,
        }
    }

    /// Whether this set can be refreshed (a refresh token and a client id).
    pub fn can_refresh(&self) -> bool {
        self.refresh_token.is_some() && self.client_id.is_some()
    }
}

/// A credential for one provider.
// Credentials are few and short-lived values; boxing the token set would
// only add an allocation and an indirection to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An API key.
    ApiKey {
        /// The key.
        key: Secret,
        /// Issuer.
        provider: Provider,
    },
    /// A static bearer token.
    Bearer {
        /// The token.
        token: Secret,
        /// Issuer.
        provider: Provider,
        /// Expiry, Unix seconds, when known.
        expires_at: Option<u64>,
    },
    /// An OAuth token set.
    OAuth(TokenSet),
}

impl Credential {
    /// An Anthropic API key.
    pub fn anthropic_api_key(key: impl Into<Secret>) -> Self {
        Credential::ApiKey {
            key: key.into(),
            provider: Provider::Anthropic,
        }
    }

    /// The credential a bare Anthropic token stands for, by its prefix:
    /// `sk-ant-api…` an API key, `sk-ant-oat…` an OAuth access token,
    /// anything else a bearer token. A refresh token is refused.
    pub fn from_bare_anthropic_token(token: Secret) -> Result<Self, &'static str> {
        match classify_token(token.expose()) {
            TokenPrefix::ApiKey => Ok(Credential::anthropic_api_key(token)),
            TokenPrefix::OauthAccess => {
                Ok(Credential::OAuth(TokenSet::access_only(token, Provider::Anthropic)))
            }
            TokenPrefix::OauthRefresh => Err(
                "this is a refresh token (sk-ant-ort01-…); give the access token, or log in with `claude-auth login`",
            ),
            TokenPrefix::Unknown => Ok(Credential::Bearer {
                token,
                provider: Provider::Anthropic,
                expires_at: None,
            }),
        }
    }

    /// The kind.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credential::ApiKey { .. } => CredentialKind::ApiKey,
            Credential::Bearer { .. } => CredentialKind::BearerToken,
            Credential::OAuth(_) => CredentialKind::OauthToken,
        }
    }

    /// The issuer.
    pub fn provider(&self) -> &Provider {
        match self {
            Credential::ApiKey { provider, .. } | Credential::Bearer { provider, .. } => provider,
            Credential::OAuth(set) => &set.provider,
        }
    }

    /// The value sent on requests (key or access token).
    pub fn secret(&self) -> &Secret {
        match self {
            Credential::ApiKey { key, .. } => key,
            Credential::Bearer { token, .. } => token,
            Credential::OAuth(set) => &set.access_token,
        }
    }

    /// Expiry, Unix seconds, when known.
    pub fn expires_at(&self) -> Option<u64> {
        match self {
            Credential::ApiKey { .. } => None,
            Credential::Bearer { expires_at, .. } => *expires_at,
            Credential::OAuth(set) => set.expires_at,
        }
    }

    /// Whether the credential has expired at `now` (Unix seconds).
    pub fn is_expired_at(&self, now: u64) -> bool {
        self.expires_at().is_some_and(|exp| exp <= now)
    }

    /// Whether it can be refreshed.
    pub fn can_refresh(&self) -> bool {
        matches!(self, Credential::OAuth(set) if set.can_refresh())
    }

    /// The ChatGPT account a ChatGPT login belongs to (sent as
    /// `ChatGPT-Account-Id` beside the bearer token); `None` for anything
    /// else, API keys included.
    pub fn openai_account_id(&self) -> Option<&str> {
        match self {
            Credential::OAuth(set) if set.provider == Provider::Openai => {
                set.identity.account_uuid.as_deref()
            }
            _ => None,
        }
    }

    /// The OAuth token set, if this is one.
    pub fn token_set(&self) -> Option<&TokenSet> {
        match self {
            Credential::OAuth(set) => Some(set),
            _ => None,
        }
    }
}

/// Seconds from `now` until `expires_at` (negative once past), saturating:
/// an absurd expiry (beyond `i64::MAX`, say `u64::MAX`) reads as `i64::MAX`
/// seconds away, never as a wrapped negative.
///
/// ```
/// use claude_auth::credential::seconds_until;
/// assert_eq!(seconds_until(110, 100), 10);
/// assert_eq!(seconds_until(90, 100), -10);
/// assert_eq!(seconds_until(u64::MAX, 100), i64::MAX);
/// assert_eq!(seconds_until(0, u64::MAX), -i64::MAX);
/// ```
pub fn seconds_until(expires_at: u64, now: u64) -> i64 {
    if expires_at >= now {
        i64::try_from(expires_at - now).unwrap_or(i64::MAX)
    } else {
        i64::try_from(now - expires_at).map_or(-i64::MAX, |d| -d)
    }
}

/// Now, in Unix seconds.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// The portable JSON form, used by the keyring, the encrypted file and
// claude-auth's own key files. For OAuth tokens it is exactly the spec's
// `credentials/<profile>.json` shape, extended with `type: "api_key"` and
// `type: "bearer_token"` for what the spec files cannot hold.
// ---------------------------------------------------------------------------

/// A token field, checked by [`crate::secret::validate_token`] (empty counts
/// as missing).
fn token_field(map: &Map<String, Value>, key: &str) -> Result<Option<Secret>, String> {
    str_field(map, key)
        .map(|v| Secret::token(v, &format!("field '{key}'")))
        .transpose()
}

fn str_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Parse an `expires_at` value: an integer number of Unix seconds.
pub(crate) fn parse_expires_at(value: Option<&Value>) -> Result<Option<u64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            "field 'expires_at' must be a non-negative integer (Unix seconds)".into()
        }),
        Some(_) => Err("field 'expires_at' must be an integer number of Unix seconds".into()),
    }
}

pub(crate) fn parse_provider(map: &Map<String, Value>) -> Result<Provider, String> {
    match map.get("provider").and_then(Value::as_str) {
        None | Some("anthropic") => Ok(Provider::Anthropic),
        Some("openai") => Ok(Provider::Openai),
        Some(_) => Err("field 'provider' is not one of anthropic, openai".into()),
    }
}

/// Read the spec's credentials-file fields into a token set.
pub(crate) fn token_set_from_spec_map(map: &Map<String, Value>) -> Result<TokenSet, String> {
    let access = token_field(map, "access_token")?.ok_or("missing field 'access_token'")?;
    let scopes = str_field(map, "scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(TokenSet {
        access_token: access,
        refresh_token: token_field(map, "refresh_token")?,
        expires_at: parse_expires_at(map.get("expires_at"))?,
        scopes,
        identity: Identity {
            email: str_field(map, "account_email"),
            account_uuid: str_field(map, "account_uuid"),
            organization_uuid: str_field(map, "organization_uuid"),
            organization_name: str_field(map, "organization_name"),
            workspace_id: str_field(map, "workspace_id"),
            workspace_name: str_field(map, "workspace_name"),
            subscription_type: str_field(map, "subscription_type"),
            rate_limit_tier: None,
        },
        provider: parse_provider(map)?,
        client_id: str_field(map, "client_id"),
        id_token: token_field(map, "id_token")?,
    })
}

fn set_opt(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    match value {
        Some(v) => {
            map.insert(key.to_owned(), Value::String(v.to_owned()));
        }
        None => {
            map.remove(key);
        }
    }
}

/// Write a token set's fields into a spec credentials map, keeping keys it
/// does not own.
pub(crate) fn token_set_into_spec_map(set: &TokenSet, map: &mut Map<String, Value>) {
    map.insert("version".into(), Value::String("1.0".into()));
    map.insert("type".into(), Value::String("oauth_token".into()));
    map.insert(
        "access_token".into(),
        Value::String(set.access_token.expose().to_owned()),
    );
    match set.expires_at {
        Some(exp) => {
            map.insert("expires_at".into(), Value::from(exp));
        }
        None => {
            map.remove("expires_at");
        }
    }
    set_opt(
        map,
        "refresh_token",
        set.refresh_token.as_ref().map(Secret::expose),
    );
    if let Some(id_token) = &set.id_token {
        map.insert(
            "id_token".into(),
            Value::String(id_token.expose().to_owned()),
        );
    }
    let scope = set.scopes.join(" ");
    set_opt(map, "scope", (!scope.is_empty()).then_some(scope.as_str()));
    let id = &set.identity;
    // Identity fields are only ever added or updated, never removed: a
    // refresh response that omits them must not erase what a login wrote.
    for (key, value) in [
        ("organization_uuid", &id.organization_uuid),
        ("organization_name", &id.organization_name),
        ("account_email", &id.email),
        ("account_uuid", &id.account_uuid),
        ("workspace_id", &id.workspace_id),
        ("workspace_name", &id.workspace_name),
        ("subscription_type", &id.subscription_type),
    ] {
        if let Some(v) = value {
            map.insert(key.into(), Value::String(v.clone()));
        }
    }
}

/// Encode a credential in the portable JSON form.
pub fn to_portable_json(credential: &Credential) -> Value {
    let mut map = Map::new();
    match credential {
        Credential::ApiKey { key, provider } => {
            map.insert("version".into(), "1.0".into());
            map.insert("type".into(), "api_key".into());
            map.insert("provider".into(), provider.as_str().into());
            map.insert("api_key".into(), key.expose().into());
        }
        Credential::Bearer {
            token,
            provider,
            expires_at,
        } => {
            map.insert("version".into(), "1.0".into());
            map.insert("type".into(), "bearer_token".into());
            map.insert("provider".into(), provider.as_str().into());
            map.insert("access_token".into(), token.expose().into());
            if let Some(exp) = expires_at {
                map.insert("expires_at".into(), Value::from(*exp));
            }
        }
        Credential::OAuth(set) => {
            token_set_into_spec_map(set, &mut map);
            map.insert("provider".into(), set.provider.as_str().into());
            if let Some(client) = &set.client_id {
                map.insert("client_id".into(), client.clone().into());
            }
        }
    }
    Value::Object(map)
}

/// Decode the portable JSON form. Errors name the field, never a value.
pub fn from_portable_json(value: &Value) -> Result<Credential, String> {
    let map = value.as_object().ok_or("expected a JSON object")?;
    let provider = parse_provider(map)?;
    match map.get("type").and_then(Value::as_str) {
        Some("api_key") => {
            let key = token_field(map, "api_key")?.ok_or("missing field 'api_key'")?;
            Ok(Credential::ApiKey { key, provider })
        }
        Some("bearer_token") => {
            let token = token_field(map, "access_token")?.ok_or("missing field 'access_token'")?;
            Ok(Credential::Bearer {
                token,
                provider,
                expires_at: parse_expires_at(map.get("expires_at"))?,
            })
        }
        Some("oauth_token") | None => token_set_from_spec_map(map).map(Credential::OAuth),
        Some(_) => Err("field 'type' is not one of oauth_token, api_key, bearer_token".into()),
    }
}

#[cfg(test)]
#[path = "credential_tests.rs"]
mod tests;
