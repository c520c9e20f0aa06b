//! What a token endpoint answers: a successful response (tokens, expiry,
//! scope, the identity Anthropic adds) and the `error`/`error_description`
//! of a failure, parsed leniently and sanitised.

use serde_json::{Map, Value};

use super::token_client::OAuthError;
use crate::credential::{now_unix, Identity, Provider, TokenSet};
use crate::redact::Redactor;
use crate::secret::Secret;

/// A successful token response.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// `access_token`.
    pub access_token: Secret,
    /// `refresh_token`, when one came back.
    pub refresh_token: Option<Secret>,
    /// `expires_in` seconds.
    pub expires_in: Option<u64>,
    /// `scope`, space separated.
    pub scope: Option<String>,
    /// Account, organization, workspace (Anthropic adds them).
    pub identity: Identity,
    /// When the response arrived (Unix seconds).
    pub received_at: u64,
}

impl TokenResponse {
    /// The token set this response gives, on top of `previous` (whose
    /// refresh token is kept when none comes back, as the spec says).
    pub fn into_token_set(
        self,
        provider: Provider,
        client_id: Option<String>,
        previous: Option<&TokenSet>,
    ) -> TokenSet {
        let mut identity = previous.map(|p| p.identity.clone()).unwrap_or_default();
        let new = self.identity;
        macro_rules! take {
            ($($f:ident),*) => { $( if new.$f.is_some() { identity.$f = new.$f; } )* };
        }
        take!(
            email,
            account_uuid,
            organization_uuid,
            organization_name,
            workspace_id,
            workspace_name
        );
        TokenSet {
            access_token: self.access_token,
            refresh_token: self
                .refresh_token
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            expires_at: self.expires_in.map(|s| self.received_at.saturating_add(s)),
            scopes: match self.scope {
                Some(s) => s.split_whitespace().map(str::to_owned).collect(),
                None => previous.map(|p| p.scopes.clone()).unwrap_or_default(),
            },
            identity,
            provider,
            client_id,
            id_token: previous.and_then(|p| p.id_token.clone()),
        }
    }
}

pub(super) fn parse_error_body(
    bytes: &[u8],
    redactor: &Redactor,
) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
        return (None, None);
    };
    let clean = |v: &str| redactor.sanitize(v);
    let field = |k: &str| map.get(k).and_then(Value::as_str).map(clean);
    // Anthropic's API error shape: {"type":"error","error":{"type":..,"message":..}}
    if let Some(Value::Object(inner)) = map.get("error") {
        let t = inner.get("type").and_then(Value::as_str).map(clean);
        let m = inner.get("message").and_then(Value::as_str).map(clean);
        return (t, m);
    }
    (field("error"), field("error_description"))
}

/// Parse a token endpoint's 2xx body (exposed for fuzzing; [`TokenClient`]
/// is the API).
#[doc(hidden)]
pub fn parse_token_success(body: &[u8]) -> Result<TokenResponse, OAuthError> {
    parse_success("fuzz", body)
}

/// Parse a token endpoint's error body into `(error, description)`,
/// sanitised (exposed for fuzzing).
#[doc(hidden)]
pub fn parse_token_error(body: &[u8], redactor: &Redactor) -> (Option<String>, Option<String>) {
    parse_error_body(body, redactor)
}

pub(super) fn parse_success(url: &str, bytes: &[u8]) -> Result<TokenResponse, OAuthError> {
    let bad = |m: &str| OAuthError::BadResponse {
        url: url.to_owned(),
        message: m.to_owned(),
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|_| bad("not JSON"))?;
    let map = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
    let s = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let access = s("access_token").ok_or_else(|| bad("no access_token"))?;
    let token = |v: String, what: &str| Secret::token(v, what).map_err(|m| bad(&m));
    let access = token(access, "access_token")?;
    let refresh = s("refresh_token")
        .map(|r| token(r, "refresh_token"))
        .transpose()?;
    let expires_in = match map.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .ok_or_else(|| bad("expires_in is not a whole number"))?,
        ),
        Some(Value::String(t)) => Some(
            t.parse()
                .map_err(|_| bad("expires_in is not a whole number"))?,
        ),
        Some(_) => return Err(bad("expires_in is not a number")),
    };
    let obj = |k: &str| map.get(k).and_then(Value::as_object);
    let sub = |o: Option<&Map<String, Value>>, k: &str| {
        o.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let account = obj("account");
    let org = obj("organization");
    let ws = obj("workspace");
    Ok(TokenResponse {
        access_token: access,
        refresh_token: refresh,
        expires_in,
        scope: s("scope"),
        identity: Identity {
            email: sub(account, "email_address").or_else(|| sub(account, "email")),
            account_uuid: sub(account, "uuid"),
            organization_uuid: sub(org, "uuid"),
            organization_name: sub(org, "name"),
            workspace_id: sub(ws, "id"),
            workspace_name: sub(ws, "name"),
            ..Identity::default()
        },
        received_at: now_unix(),
    })
}
