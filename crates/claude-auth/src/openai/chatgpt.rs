//! The ChatGPT login as data: Codex's public OAuth client (issuer, client
//! id, paths, redirect ports, scope, extra authorize parameters, the
//! device-code endpoints), the request bodies of the code exchange (a form)
//! and the refresh (JSON), their responses, and the refresh errors as a
//! reason enum (permanent ones mean "log in again").
//!
//! Everything here is from PROTOCOL.md, "OpenAI". Like Claude's
//! subscription client, this client is meant for the vendor's own tool:
//! front ends show the same neutral notice and send our own User-Agent.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::auth_file::CodexAuth;
use super::claims::ChatGptClaims;
use crate::secret::Secret;

/// The issuer.
pub const ISSUER: &str = "https://auth.openai.com";
/// Codex's public client id.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// The authorize endpoint, relative to the issuer.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
/// The token endpoint, relative to the issuer (code exchange and refresh).
pub const TOKEN_PATH: &str = "/oauth/token";
/// The revocation endpoint, relative to the issuer. Not in the issuer's
/// documentation: observed in Codex 0.171.0's own traffic on `codex logout`
/// (`docs/codex-locks.md` item 7, measured with strace against a
/// loopback issuer through `CODEX_REVOKE_TOKEN_URL_OVERRIDE`): a JSON POST of
/// [`ChatGptOAuth::revoke_body`] before the login is deleted.
pub const REVOKE_PATH: &str = "/oauth/revoke";
/// The loopback ports the issuer allows in the redirect URI, in the order
/// to try them.
pub const REDIRECT_PORTS: [u16; 2] = [1455, 1457];
/// The redirect URI's path.
pub const REDIRECT_PATH: &str = "/auth/callback";
/// The scope asked for.
pub const SCOPE: &str = "openid profile email offline_access";
/// Authorize parameters beyond OAuth's and PKCE's (S256).
pub const EXTRA_AUTHORIZE_PARAMS: [(&str, &str); 2] = [
    ("id_token_add_organizations", "true"),
    ("codex_cli_simplified_flow", "true"),
];
/// Device-code login: where to ask for a user code, relative to the issuer.
pub const DEVICE_USERCODE_PATH: &str = "/api/accounts/deviceauth/usercode";
/// Device-code login: where to poll, relative to the issuer.
pub const DEVICE_TOKEN_PATH: &str = "/api/accounts/deviceauth/token";
/// Device-code login: the page the user opens, relative to the issuer.
pub const DEVICE_VERIFICATION_PATH: &str = "/codex/device";
/// Device-code login: the redirect URI's path in the code exchange.
pub const DEVICE_REDIRECT_PATH: &str = "/deviceauth/callback";
/// Device-code login: how long to poll at most.
pub const DEVICE_MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Codex refreshes when the access token expires within this.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Older Codex versions refresh when `last_refresh` is older than this
/// (used here only when the access token's `exp` cannot be read).
pub const LEGACY_REFRESH_AGE: Duration = Duration::from_secs(8 * 24 * 3600);
/// Where ChatGPT tokens are used (the Responses API).
pub const CODEX_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";
/// The header carrying `tokens.account_id` beside the bearer token.
pub const ACCOUNT_ID_HEADER: &str = "ChatGPT-Account-Id";

/// Whether a ChatGPT login is due for a refresh at `now`, as Codex decides:
/// the access token's `exp` is within [`REFRESH_MARGIN`]; when `exp` cannot
/// be read, `last_refresh` is older than [`LEGACY_REFRESH_AGE`]; when
/// neither is known, yes. A document without tokens is never due.
pub fn refresh_due(auth: &CodexAuth, now: u64) -> bool {
    let Some(tokens) = auth.tokens() else {
        return false;
    };
    let exp = ChatGptClaims::decode(&tokens.access_token, "tokens.access_token")
        .ok()
        .and_then(|claims| claims.exp);
    match (exp, &auth.last_refresh) {
        (Some(exp), _) => now.saturating_add(REFRESH_MARGIN.as_secs()) >= exp,
        (None, Some(last)) => now >= last.unix().saturating_add(LEGACY_REFRESH_AGE.as_secs()),
        (None, None) => true,
    }
}

/// The redirect URI for a loopback port (one of [`REDIRECT_PORTS`]).
pub fn redirect_uri(port: u16) -> String {
    format!("http://localhost:{port}{REDIRECT_PATH}")
}

/// The ChatGPT OAuth client: the issuer (the real one, or a test rig's in
/// the issuer's shape) and the client id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatGptOAuth {
    /// The issuer, without a trailing slash.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
}

impl Default for ChatGptOAuth {
    fn default() -> Self {
        ChatGptOAuth {
            issuer: ISSUER.to_owned(),
            client_id: CLIENT_ID.to_owned(),
        }
    }
}

impl ChatGptOAuth {
    /// Codex's client at another issuer (a loopback rig).
    pub fn with_issuer(issuer: &str) -> ChatGptOAuth {
        ChatGptOAuth {
            issuer: issuer.trim_end_matches('/').to_owned(),
            ..ChatGptOAuth::default()
        }
    }

    /// `{issuer}/oauth/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}{AUTHORIZE_PATH}", self.issuer)
    }

    /// `{issuer}/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.issuer)
    }

    /// `{issuer}/oauth/revoke` ([`REVOKE_PATH`]).
    pub fn revoke_url(&self) -> String {
        format!("{}{REVOKE_PATH}", self.issuer)
    }

    /// `{issuer}/api/accounts/deviceauth/usercode`.
    pub fn device_usercode_url(&self) -> String {
        format!("{}{DEVICE_USERCODE_PATH}", self.issuer)
    }

    /// `{issuer}/api/accounts/deviceauth/token`.
    pub fn device_token_url(&self) -> String {
        format!("{}{DEVICE_TOKEN_PATH}", self.issuer)
    }

    /// `{issuer}/codex/device`: the page the user opens.
    pub fn device_verification_url(&self) -> String {
        format!("{}{DEVICE_VERIFICATION_PATH}", self.issuer)
    }

    /// `{issuer}/deviceauth/callback`: the redirect URI of a device-code
    /// exchange.
    pub fn device_redirect_uri(&self) -> String {
        format!("{}{DEVICE_REDIRECT_PATH}", self.issuer)
    }

    /// The code exchange body, form-encoded: `grant_type=authorization_code`,
    /// `code`, `redirect_uri`, `client_id`, `code_verifier`.
    pub fn code_exchange_form(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: &Secret,
    ) -> Secret {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code.expose())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("client_id", &self.client_id)
            .append_pair("code_verifier", verifier.expose())
            .finish();
        Secret::new(body)
    }

    /// The refresh body, JSON: `{client_id, grant_type: "refresh_token",
    /// refresh_token}`.
    pub fn refresh_body(&self, refresh_token: &Secret) -> Secret {
        let body = json!({
            "client_id": self.client_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.expose(),
        });
        Secret::new(body.to_string())
    }

    /// The revocation body, JSON, as Codex 0.171.0 sends it: `{token,
    /// token_type_hint: "refresh_token", client_id}`.
    pub fn revoke_body(&self, refresh_token: &Secret) -> Secret {
        let body = json!({
            "token": refresh_token.expose(),
            "token_type_hint": "refresh_token",
            "client_id": self.client_id,
        });
        Secret::new(body.to_string())
    }

    /// The device-code request body, JSON: `{client_id}`.
    pub fn device_usercode_body(&self) -> String {
        json!({ "client_id": self.client_id }).to_string()
    }

    /// The device-code poll body, JSON: `{device_auth_id, user_code}`.
    pub fn device_poll_body(device_auth_id: &Secret, user_code: &str) -> Secret {
        let body = json!({
            "device_auth_id": device_auth_id.expose(),
            "user_code": user_code,
        });
        Secret::new(body.to_string())
    }
}

/// Why a token response could not be used (never a value from it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenResponseError {
    /// Not a JSON object.
    #[error("the token response is not a JSON object")]
    NotJson,
    /// A field that must be there is not.
    #[error("the token response has no {0}")]
    Missing(&'static str),
    /// A field that is not a usable token.
    #[error("the token response's {0}")]
    Invalid(String),
    /// A refresh response with none of the three tokens.
    #[error("the token response holds none of id_token, access_token, refresh_token")]
    Empty,
}

/// What a refresh returned: any of the three tokens; only these replace the
/// stored ones ([`super::auth_file::CodexAuth::apply_refresh`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshedTokens {
    /// `id_token`, when returned.
    pub id_token: Option<Secret>,
    /// `access_token`, when returned.
    pub access_token: Option<Secret>,
    /// `refresh_token`, when returned (rotated).
    pub refresh_token: Option<Secret>,
}

impl RefreshedTokens {
    /// Parse a successful refresh response (null counts as absent; unknown
    /// fields are ignored; at least one token must be there).
    pub fn from_refresh_response(body: &[u8]) -> Result<RefreshedTokens, TokenResponseError> {
        let map = object(body)?;
        let tokens = RefreshedTokens {
            id_token: token_field(&map, "id_token")?,
            access_token: token_field(&map, "access_token")?,
            refresh_token: token_field(&map, "refresh_token")?,
        };
        if tokens.id_token.is_none()
            && tokens.access_token.is_none()
            && tokens.refresh_token.is_none()
        {
            return Err(TokenResponseError::Empty);
        }
        Ok(tokens)
    }
}

/// What a code exchange returned: all three tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangedTokens {
    /// `id_token`.
    pub id_token: Secret,
    /// `access_token`.
    pub access_token: Secret,
    /// `refresh_token`.
    pub refresh_token: Secret,
}

impl ExchangedTokens {
    /// Parse a successful code-exchange response.
    pub fn from_response(body: &[u8]) -> Result<ExchangedTokens, TokenResponseError> {
        let map = object(body)?;
        let required = |field: &'static str| {
            token_field(&map, field)?.ok_or(TokenResponseError::Missing(field))
        };
        Ok(ExchangedTokens {
            id_token: required("id_token")?,
            access_token: required("access_token")?,
            refresh_token: required("refresh_token")?,
        })
    }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, TokenResponseError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenResponseError::NotJson),
    }
}

fn token_field(
    map: &Map<String, Value>,
    field: &str,
) -> Result<Option<Secret>, TokenResponseError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Secret::token(s.as_str(), field)
            .map(Some)
            .map_err(TokenResponseError::Invalid),
        Some(_) => Err(TokenResponseError::Invalid(format!(
            "{field} is not a string"
        ))),
    }
}

/// The largest error body examined for an error code.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// Why a refresh failed, as Codex's login code classifies it: the three
/// refresh-token codes and a 401 are permanent ("log in again", remembered,
/// and never a reason to blank the file); everything else is transient (the
/// old access token stays in use while it is valid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshErrorReason {
    /// `refresh_token_expired`.
    Expired,
    /// `refresh_token_reused`: someone else already used it (rotated).
    Reused,
    /// `refresh_token_invalidated`: revoked (logged out elsewhere, password
    /// change).
    Invalidated,
    /// HTTP 401 without one of the codes above.
    Unauthorized,
    /// Anything else: the network, a 5xx, a 429, an unknown error.
    Transient,
}

impl RefreshErrorReason {
    /// Classify a failed refresh from its HTTP status and body: the code is
    /// read from `error` (a string) or `error.code`.
    pub fn classify(status: u16, body: &[u8]) -> RefreshErrorReason {
        match error_code(body).as_deref() {
            Some("refresh_token_expired") => RefreshErrorReason::Expired,
            Some("refresh_token_reused") => RefreshErrorReason::Reused,
            Some("refresh_token_invalidated") => RefreshErrorReason::Invalidated,
            _ if status == 401 => RefreshErrorReason::Unauthorized,
            _ => RefreshErrorReason::Transient,
        }
    }

    /// Whether only a new login helps.
    pub fn is_permanent(self) -> bool {
        !matches!(self, RefreshErrorReason::Transient)
    }

    /// The issuer's error code, for the permanent codes.
    pub fn code(self) -> Option<&'static str> {
        match self {
            RefreshErrorReason::Expired => Some("refresh_token_expired"),
            RefreshErrorReason::Reused => Some("refresh_token_reused"),
            RefreshErrorReason::Invalidated => Some("refresh_token_invalidated"),
            RefreshErrorReason::Unauthorized | RefreshErrorReason::Transient => None,
        }
    }

    /// What to tell the user.
    pub fn message(self) -> &'static str {
        match self {
            RefreshErrorReason::Expired => {
                "the ChatGPT refresh token has expired; log in again"
            }
            RefreshErrorReason::Reused => {
                "the ChatGPT refresh token was already used (another process refreshed with it); log in again"
            }
            RefreshErrorReason::Invalidated => {
                "the ChatGPT refresh token was revoked (logged out or the password changed); log in again"
            }
            RefreshErrorReason::Unauthorized => {
                "the issuer refused the ChatGPT refresh token (HTTP 401); log in again"
            }
            RefreshErrorReason::Transient => {
                "the ChatGPT token refresh failed for now; the current token is kept while it is valid"
            }
        }
    }
}

/// `error` when a string, else `error.code`; `None` for bodies over
/// [`MAX_ERROR_BODY`] or without one.
fn error_code(body: &[u8]) -> Option<String> {
    if body.len() > MAX_ERROR_BODY {
        return None;
    }
    let doc: Value = serde_json::from_slice(body).ok()?;
    match doc.get("error")? {
        Value::String(code) => Some(code.clone()),
        Value::Object(error) => error.get("code")?.as_str().map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
#[path = "chatgpt_tests.rs"]
mod tests;
