//! The OpenAI chain's external command (`[openai] external_command` in the
//! settings), last in that chain: a helper that prints an OpenAI API key or
//! a ChatGPT access token, run, limited and cached exactly as the Anthropic
//! external command (`source::external`); only its output is read by
//! OpenAI's rules. Read-only: nothing is refreshed or written back.
//!
//! Output: one line holding `sk-…` (an API key) or a JWT (a ChatGPT access
//! token; its claims give the account, email, plan and expiry), or a JSON
//! object `{"api_key": "..."}` or `{"access_token": "...", "expires_at":
//! 1775000000, "account_id": "..."}` (`expires_in` seconds also accepted;
//! `account_id` is what is sent as `ChatGPT-Account-Id`, else the token's
//! claim).

use serde_json::{Map, Value};

use crate::credential::{now_unix, parse_expires_at, Credential, Identity, Provider, TokenSet};
use crate::openai::claims::ChatGptClaims;
use crate::secret::Secret;
use crate::source::{external, Backing, Found, ResolveOptions, Resolver, Step};

/// The OpenAI external command as a source: configured by the user, so its
/// errors stop the chain.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let Some(cmd) = &r.settings().openai_external_command else {
        return Step::Skip("not configured ([openai] external_command in settings)".into());
    };
    match external::run_for(&Provider::Openai, cmd) {
        Ok(credential) => {
            let api_key = matches!(credential, Credential::ApiKey { .. });
            let mut found = Found::new(
                credential,
                format!("command `{}`", cmd.command),
                Backing::ExternalCommand,
            );
            if api_key {
                found.base_url = r.env().get("OPENAI_BASE_URL").map(str::to_owned);
            }
            Step::Found(Box::new(found))
        }
        Err(e) => Step::Fail(e, true),
    }
}

/// Parse what an OpenAI credential command printed.
pub fn parse_output(text: &str) -> Result<Credential, String> {
    if text.is_empty() {
        return Err("printed nothing; it must print an OpenAI API key, a ChatGPT access token or a JSON object".into());
    }
    if !text.starts_with('{') {
        if text.lines().count() > 1 {
            return Err(
                "printed more than one line; print a bare key or token, or a JSON object".into(),
            );
        }
        let token = Secret::token(text, "the printed token")?;
        if token.expose().starts_with("sk-") {
            return Ok(api_key(token));
        }
        return chatgpt(token, None, None, true);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "printed invalid JSON (line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let map = value
        .as_object()
        .ok_or("printed JSON that is not an object")?;
    if let Some(key) = string(map, "api_key")? {
        return Ok(api_key(Secret::token(key, "the printed 'api_key'")?));
    }
    let token = match string(map, "access_token")? {
        Some(t) => t,
        None => string(map, "token")?
            .ok_or("printed JSON without 'api_key', 'access_token' or 'token'")?,
    };
    let expires_at = match (map.get("expires_at"), map.get("expires_in")) {
        (Some(v), _) => parse_expires_at(Some(v))?,
        (None, Some(v)) => Some(
            now_unix().saturating_add(
                v.as_u64()
                    .ok_or("field 'expires_in' must be a whole number of seconds")?,
            ),
        ),
        (None, None) => None,
    };
    let account_id = string(map, "account_id")?;
    let token = Secret::token(token, "the printed access token")?;
    chatgpt(token, expires_at, account_id, false)
}

/// A non-empty string field; another type is an error naming it.
fn string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("field '{key}' must be a string")),
    }
}

fn api_key(key: Secret) -> Credential {
    Credential::ApiKey {
        key,
        provider: Provider::Openai,
    }
}

/// A ChatGPT access token used as is (no refresh token): account, email,
/// plan and expiry from its claims when it is a JWT. A bare line must be a
/// JWT (anything else is neither kind of OpenAI credential).
fn chatgpt(
    token: Secret,
    expires_at: Option<u64>,
    account_id: Option<String>,
    bare: bool,
) -> Result<Credential, String> {
    let claims = match ChatGptClaims::decode(&token, "the printed token") {
        Ok(claims) => claims,
        Err(_) if !bare => ChatGptClaims::default(),
        Err(_) => return Err("printed a line that is neither an OpenAI API key (sk-…) nor a ChatGPT access token (a JWT)".into()),
    };
    let mut set = TokenSet::access_only(token, Provider::Openai);
    set.expires_at = expires_at.or(claims.exp);
    set.identity = Identity {
        email: claims.email,
        account_uuid: account_id.or(claims.account_id),
        subscription_type: claims.plan_type,
        ..Identity::default()
    };
    Ok(Credential::OAuth(set))
}

#[cfg(test)]
#[path = "openai_external_tests.rs"]
mod tests;
