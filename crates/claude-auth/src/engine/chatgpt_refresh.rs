//! The ChatGPT refresh, as the engine's `refresh_locked` runs it for OpenAI
//! token sets (PROTOCOL.md, "OpenAI"): `POST {issuer}/oauth/token` with the
//! JSON body `{client_id, grant_type: "refresh_token", refresh_token}`; the
//! answer holds any of `id_token`, `access_token`, `refresh_token`, and only
//! those replace the stored ones. `refresh_token_expired|reused|invalidated`
//! (in `error` or `error.code`) and a 401 are permanent ("log in again");
//! anything else is transient. The issuer is `[openai] issuer` /
//! `CLAUDE_AUTH_OPENAI_ISSUER` when set (a loopback test issuer), else
//! `https://auth.openai.com`.
//!
//! One attempt, retried only when the request surely never left (a refused
//! connection): a refresh token is single use, so a request that may have
//! reached the issuer is never sent twice.

use crate::credential::{now_unix, Identity, TokenSet};
use crate::engine::manager::AuthManager;
use crate::oauth::token_client::OAuthError;
use crate::openai::chatgpt::{
    ChatGptOAuth, RefreshErrorReason, RefreshedTokens, CLIENT_ID, LEGACY_REFRESH_AGE,
    MAX_ERROR_BODY,
};
use crate::openai::claims::ChatGptClaims;
use crate::secret::Secret;

/// The largest refresh answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Why a refresh gave no new token set.
pub(crate) enum Refused {
    /// The refresh token is dead (permanent): log in again.
    Dead(String),
    /// Anything else (network, 5xx, a bad answer): the old token stays in
    /// use while it is valid.
    Failed(OAuthError),
}

impl AuthManager {
    /// The ChatGPT client: the configured issuer, Codex's client id (or the
    /// one the set carries).
    pub(crate) fn chatgpt_oauth(&self, set: &TokenSet) -> ChatGptOAuth {
        let mut oauth = match &self.inner.resolver.settings().openai_issuer {
            Some(issuer) => ChatGptOAuth::with_issuer(issuer),
            None => ChatGptOAuth::default(),
        };
        oauth.client_id = set.client_id.clone().unwrap_or_else(|| CLIENT_ID.into());
        oauth
    }

    /// Refresh a ChatGPT token set with `refresh_token`.
    pub(crate) async fn refresh_chatgpt(
        &self,
        set: &TokenSet,
        refresh_token: &Secret,
    ) -> Result<TokenSet, Refused> {
        let oauth = self.chatgpt_oauth(set);
        let url = oauth.token_url();
        let transient = |message: String| {
            Refused::Failed(OAuthError::Transient {
                url: url.clone(),
                message,
            })
        };
        // The manager's client, as the Anthropic refresh uses: one connection
        // pool, the same timeouts (10 s connect, 30 s in all) and user agent.
        let http = self.client().map_err(Refused::Failed)?.http();
        let body = oauth.refresh_body(refresh_token);
        let policy = &self.inner.options.retry;
        let mut attempt = 0u32;
        let response = loop {
            attempt += 1;
            tracing::debug!(url = %url, attempt, "ChatGPT token refresh");
            let sent = http
                .post(&url)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(body.expose().to_owned())
                .send()
                .await;
            match sent {
                Ok(response) => break response,
                Err(e) if e.is_connect() && attempt < policy.max_attempts.max(1) => {
                    tokio::time::sleep(policy.base_delay.saturating_mul(attempt)).await;
                }
                Err(e) => {
                    let how = if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "could not connect"
                    } else {
                        "the request failed"
                    };
                    return Err(transient(how.into()));
                }
            }
        };
        let status = response.status().as_u16();
        let bytes = read_limited(response)
            .await
            .map_err(|m| transient(m.into()))?;
        if (200..300).contains(&status) {
            let tokens = RefreshedTokens::from_refresh_response(&bytes).map_err(|e| {
                Refused::Failed(OAuthError::BadResponse {
                    url: url.clone(),
                    message: e.to_string(),
                })
            })?;
            return Ok(merged(set, tokens));
        }
        let reason =
            RefreshErrorReason::classify(status, &bytes[..bytes.len().min(MAX_ERROR_BODY)]);
        tracing::debug!(
            status,
            permanent = reason.is_permanent(),
            "ChatGPT refresh refused"
        );
        if reason.is_permanent() {
            let code = reason
                .code()
                .map_or_else(|| format!("HTTP {status}"), str::to_owned);
            return Err(Refused::Dead(format!("{} ({code})", reason.message())));
        }
        Err(transient(format!("HTTP {status}")))
    }
}

/// `set` with what the issuer returned: only returned tokens replace the
/// stored ones; a new access token brings its `exp`, a new id token its
/// email and plan (the account stays what the login recorded, as Codex
/// keeps `tokens.account_id`).
pub(crate) fn merged(set: &TokenSet, tokens: RefreshedTokens) -> TokenSet {
    let mut new = set.clone();
    if let Some(access) = tokens.access_token {
        // An unreadable `exp`: due again when older Codex versions refresh.
        new.expires_at = ChatGptClaims::decode(&access, "access_token")
            .ok()
            .and_then(|c| c.exp)
            .or_else(|| Some(now_unix().saturating_add(LEGACY_REFRESH_AGE.as_secs())));
        new.access_token = access;
    }
    if let Some(refresh) = tokens.refresh_token {
        new.refresh_token = Some(refresh);
    }
    if let Some(id) = tokens.id_token {
        if let Ok(claims) = ChatGptClaims::decode(&id, "id_token") {
            let old = &set.identity;
            new.identity = Identity {
                email: claims.email.or_else(|| old.email.clone()),
                account_uuid: old.account_uuid.clone().or(claims.account_id),
                subscription_type: claims.plan_type.or_else(|| old.subscription_type.clone()),
                ..old.clone()
            };
        }
        new.id_token = Some(id);
    }
    new
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| "the answer was cut off")?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err("the answer is over 64 KiB");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
#[path = "chatgpt_refresh_tests.rs"]
mod tests;
