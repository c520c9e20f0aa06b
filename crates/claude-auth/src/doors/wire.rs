//! What every request to the APIs shares on the wire, in one place for the
//! client, the proxy and the token client: the auth header for each kind of
//! credential (Anthropic: `x-api-key` for an API key; `Authorization: Bearer`
//! for a token, plus, for an OAuth token, the OAuth beta merged into
//! `anthropic-beta` and the login's workspace; OpenAI: `Authorization:
//! Bearer` for every kind, plus `ChatGPT-Account-Id` for a ChatGPT login),
//! the merge of beta lists, exponential backoff with jitter, and
//! `Retry-After`.

use std::time::Duration;

use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::credential::{Credential, Provider};

/// The beta every request authenticated with an OAuth token needs.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";

/// `anthropic-beta`: the comma-separated betas a request opts into.
pub const ANTHROPIC_BETA: HeaderName = HeaderName::from_static("anthropic-beta");

/// `x-api-key`: where an API key goes.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// `anthropic-workspace-id`: the workspace an OAuth login belongs to.
pub const ANTHROPIC_WORKSPACE_ID: HeaderName = HeaderName::from_static("anthropic-workspace-id");

/// `chatgpt-account-id`: the ChatGPT account a ChatGPT login's requests are
/// made for ([`crate::openai::chatgpt::ACCOUNT_ID_HEADER`]).
pub const CHATGPT_ACCOUNT_ID: HeaderName = HeaderName::from_static("chatgpt-account-id");

/// A value an HTTP header cannot carry (a control character, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    /// What it was: "API key", "token", "workspace id", "beta list".
    pub what: &'static str,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} contains characters an HTTP header cannot carry",
            self.what
        )
    }
}

impl std::error::Error for HeaderError {}

/// The header a credential goes in: `x-api-key` for an Anthropic API key,
/// `Authorization` for a token and for an OpenAI API key.
pub fn auth_header_name(credential: &Credential) -> HeaderName {
    match credential {
        Credential::ApiKey {
            provider: Provider::Openai,
            ..
        } => AUTHORIZATION,
        Credential::ApiKey { .. } => X_API_KEY,
        Credential::Bearer { .. } | Credential::OAuth(_) => AUTHORIZATION,
    }
}

/// The credential's auth header value (an Anthropic key as it is, else
/// `Bearer <key or token>`), marked sensitive so that no HTTP library logs it.
pub fn auth_value(credential: &Credential) -> Result<HeaderValue, HeaderError> {
    let (text, what) = match credential {
        Credential::ApiKey {
            key,
            provider: Provider::Openai,
        } => (format!("Bearer {}", key.expose()), "API key"),
        Credential::ApiKey { key, .. } => (key.expose().to_owned(), "API key"),
        Credential::Bearer { token, .. } => (format!("Bearer {}", token.expose()), "token"),
        Credential::OAuth(set) => (format!("Bearer {}", set.access_token.expose()), "token"),
    };
    let mut value = HeaderValue::from_str(&text).map_err(|_| HeaderError { what })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Add the credential's headers to `headers`, which hold no auth header:
/// `auth` (from [`auth_value`]) under [`auth_header_name`], and for an
/// Anthropic OAuth token [`OAUTH_BETA`] merged into `anthropic-beta` and the
/// login's workspace, unless `headers` name one already; for OpenAI
/// [`apply_openai`].
pub fn apply_credential(
    headers: &mut HeaderMap,
    credential: &Credential,
    auth: HeaderValue,
) -> Result<(), HeaderError> {
    if *credential.provider() == Provider::Openai {
        return apply_openai(headers, credential, auth);
    }
    headers.insert(auth_header_name(credential), auth);
    if let Credential::OAuth(set) = credential {
        merge_oauth_beta(headers)?;
        if let Some(ws) = &set.identity.workspace_id {
            if !headers.contains_key(ANTHROPIC_WORKSPACE_ID) {
                let value = HeaderValue::from_str(ws).map_err(|_| HeaderError {
                    what: "workspace id",
                })?;
                headers.insert(ANTHROPIC_WORKSPACE_ID, value);
            }
        }
    }
    Ok(())
}

/// OpenAI's headers: `auth` as `Authorization` (always a Bearer), and for a
/// ChatGPT login its account as `ChatGPT-Account-Id`, which the Codex
/// backend requires; one the caller sent is replaced (or, for an API key,
/// removed), so that only the login's own account goes upstream.
fn apply_openai(
    headers: &mut HeaderMap,
    credential: &Credential,
    auth: HeaderValue,
) -> Result<(), HeaderError> {
    headers.insert(AUTHORIZATION, auth);
    match credential.openai_account_id() {
        Some(id) => {
            let value = HeaderValue::from_str(id).map_err(|_| HeaderError {
                what: "ChatGPT account id",
            })?;
            headers.insert(CHATGPT_ACCOUNT_ID, value);
        }
        None => {
            headers.remove(CHATGPT_ACCOUNT_ID);
        }
    }
    Ok(())
}

/// Merge beta lists (each may itself be comma separated) into one header
/// value: trimmed, first occurrence kept, order kept; `None` for none.
pub fn merge_betas<'a>(lists: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for beta in lists.into_iter().flat_map(|l| l.split(',')) {
        let beta = beta.trim();
        if !beta.is_empty() && !seen.contains(&beta) {
            seen.push(beta);
        }
    }
    (!seen.is_empty()).then(|| seen.join(","))
}

/// One `anthropic-beta` header: the betas `headers` carry (in as many
/// headers as they came), merged, with [`OAUTH_BETA`] added at the end when
/// missing.
pub fn merge_oauth_beta(headers: &mut HeaderMap) -> Result<(), HeaderError> {
    if !headers.contains_key(ANTHROPIC_BETA) {
        headers.insert(ANTHROPIC_BETA, HeaderValue::from_static(OAUTH_BETA));
        return Ok(());
    }
    let present: Vec<String> = headers
        .get_all(ANTHROPIC_BETA)
        .iter()
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| HeaderError { what: "beta list" })
        })
        .collect::<Result<_, _>>()?;
    let merged = merge_betas(
        present
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(OAUTH_BETA)),
    )
    .unwrap_or_else(|| OAUTH_BETA.to_owned());
    let value = HeaderValue::from_str(&merged).map_err(|_| HeaderError { what: "beta list" })?;
    headers.insert(ANTHROPIC_BETA, value);
    Ok(())
}

/// Exponential backoff with jitter: retry `n` (from 0) waits `base · 2ⁿ`,
/// capped at `max`, less a random share of up to `jitter` (0 to 1) of it,
/// so that many clients do not retry in step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The first wait, before jitter.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
    /// The largest share taken off at random (0.25: between 75 % and 100 %).
    pub jitter: f64,
}

impl Backoff {
    /// The wait before retry `retry` (0 for the first).
    pub fn delay(&self, retry: u32) -> Duration {
        let capped = self
            .base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max);
        capped.mul_f64(1.0 - self.jitter.clamp(0.0, 1.0) * random_fraction())
    }
}

/// A random number in [0, 1] (0 when the OS has no randomness to give).
fn random_fraction() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// How long the server asks us to wait: `retry-after-ms` (milliseconds, may
/// be fractional), else `retry-after` (seconds, may be fractional; an HTTP
/// date is not used). Negative, non-finite or absurd values are ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let secs = match number("retry-after-ms") {
        Some(ms) => ms / 1000.0,
        None => number("retry-after")?,
    };
    Duration::try_from_secs_f64(secs).ok()
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
