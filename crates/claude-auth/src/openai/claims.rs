//! The claims of Codex's JWTs, for display only: who is logged in, on which
//! plan and account, and when the access token expires.
//!
//! As PROTOCOL.md says, the payload is read without verifying the
//! signature: nothing here decides what a token may do, it only labels it.
//! The input is size-limited, unknown claims are ignored, and no error
//! quotes the token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::auth_file::CodexTokens;
use crate::secret::{Secret, MAX_TOKEN_LEN};

/// The claim holding the ChatGPT details.
pub const OPENAI_AUTH_CLAIM: &str = "https://api.openai.com/auth";

/// Why a token's claims could not be read (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// Over [`MAX_TOKEN_LEN`] bytes.
    #[error("{what} is over 16 KiB, too long to be a JWT")]
    TooLong {
        /// Which token (`tokens.id_token`, …).
        what: String,
    },
    /// Not three dot-separated parts.
    #[error("{what} is not a JWT (expected three dot-separated parts)")]
    NotAJwt {
        /// Which token.
        what: String,
    },
    /// The payload is not base64url.
    #[error("{what} is not a JWT: its payload is not base64url")]
    Base64 {
        /// Which token.
        what: String,
    },
    /// The payload is not a JSON object.
    #[error("{what} is not a JWT: its payload is not a JSON object")]
    NotJson {
        /// Which token.
        what: String,
    },
}

/// The claims of one JWT this crate shows. Every field is optional: a claim
/// that is missing or of another type is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatGptClaims {
    /// `email`.
    pub email: Option<String>,
    /// `https://api.openai.com/auth` → `chatgpt_account_id`.
    pub account_id: Option<String>,
    /// `https://api.openai.com/auth` → `chatgpt_plan_type` (`free`, `plus`,
    /// `pro`, `team`, `business`, `enterprise`, `edu`, or newer ones).
    pub plan_type: Option<String>,
    /// `https://api.openai.com/auth` → `chatgpt_user_id`.
    pub user_id: Option<String>,
    /// `exp`, Unix seconds.
    pub exp: Option<u64>,
}

impl ChatGptClaims {
    /// Decode the payload of `token`; `what` names it in errors.
    pub fn decode(token: &Secret, what: &str) -> Result<ChatGptClaims, ClaimsError> {
        let payload = decode_payload(token.expose(), what)?;
        Ok(ChatGptClaims::from_payload(&payload))
    }

    /// The claims of an already decoded payload.
    pub fn from_payload(payload: &Map<String, Value>) -> ChatGptClaims {
        let string = |map: &Map<String, Value>, key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let auth = payload.get(OPENAI_AUTH_CLAIM).and_then(Value::as_object);
        let from_auth = |key: &str| auth.and_then(|a| string(a, key));
        ChatGptClaims {
            email: string(payload, "email"),
            account_id: from_auth("chatgpt_account_id"),
            plan_type: from_auth("chatgpt_plan_type"),
            user_id: from_auth("chatgpt_user_id"),
            exp: payload.get("exp").and_then(seconds),
        }
    }
}

/// `exp` as Unix seconds: an integer, or a float (truncated); negative or
/// other types are ignored.
fn seconds(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// The JSON object in a JWT's payload (its second part), unverified.
pub fn decode_payload(token: &str, what: &str) -> Result<Map<String, Value>, ClaimsError> {
    let what = || what.to_owned();
    if token.len() > MAX_TOKEN_LEN {
        return Err(ClaimsError::TooLong { what: what() });
    }
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimsError::NotAJwt { what: what() });
    };
    // Some encoders pad; base64url in JWTs has none.
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ClaimsError::Base64 { what: what() })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ClaimsError::NotJson { what: what() }),
    }
}

/// What `status` shows about a ChatGPT login: plan, account and email from
/// the id token, expiry from the access token. A token that cannot be
/// decoded leaves its fields empty and is named in [`Self::problems`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodexIdentity {
    /// The id token's `email`.
    pub email: Option<String>,
    /// `tokens.account_id` (what Codex sends as `ChatGPT-Account-Id`), else
    /// the id token's `chatgpt_account_id`.
    pub account_id: Option<String>,
    /// The id token's `chatgpt_plan_type`.
    pub plan_type: Option<String>,
    /// The id token's `chatgpt_user_id`.
    pub user_id: Option<String>,
    /// The access token's `exp`, Unix seconds.
    pub expires_at: Option<u64>,
    /// Why a token's claims could not be read.
    pub problems: Vec<ClaimsError>,
}

impl CodexIdentity {
    /// Read both tokens of a Codex login.
    pub fn from_tokens(tokens: &CodexTokens) -> CodexIdentity {
        let mut identity = CodexIdentity {
            account_id: tokens.account_id.clone(),
            ..CodexIdentity::default()
        };
        match ChatGptClaims::decode(&tokens.id_token, "tokens.id_token") {
            Ok(claims) => {
                identity.account_id = identity.account_id.take().or(claims.account_id);
                identity.email = claims.email;
                identity.plan_type = claims.plan_type;
                identity.user_id = claims.user_id;
            }
            Err(e) => identity.problems.push(e),
        }
        match ChatGptClaims::decode(&tokens.access_token, "tokens.access_token") {
            Ok(claims) => identity.expires_at = claims.exp,
            Err(e) => identity.problems.push(e),
        }
        identity
    }
}

#[cfg(test)]
#[path = "claims_tests.rs"]
mod tests;
