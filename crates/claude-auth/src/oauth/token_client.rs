//! The token endpoint client: code exchange, refresh, jwt-bearer.
//!
//! Encodings are per provider and per grant (Anthropic's endpoint takes JSON,
//! standards servers take forms). Network errors, 429 and 5xx are retried
//! with exponential backoff and jitter, honouring `Retry-After` — except that
//! a single-use grant (an authorization code, a rotating refresh token) is
//! retried only when the server cannot have consumed it: the connection never
//! carried the request, or the server answered 429/503/529. Retrying after an
//! ambiguous failure would present a possibly rotated-away refresh token, and
//! a standards server revokes the whole grant on reuse.
//!
//! Error bodies are parsed (`error`, `error_description`) and sanitised: no
//! token-looking string from a response ever reaches a message, and every
//! error the client builds has the exact secrets the request carried (grant,
//! verifier, client secret) redacted, however the server wrapped them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::provider::Encoding;
pub use crate::redact::sanitize;
use crate::redact::Redactor;
use crate::secret::Secret;

use super::token_response::{parse_error_body, parse_success};
pub use super::token_response::{parse_token_error, parse_token_success, TokenResponse};

/// Our User-Agent: honest, never another tool's.
pub const USER_AGENT: &str = concat!("claude-auth/", env!("CARGO_PKG_VERSION"));

/// Retry settings.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// First backoff.
    pub base_delay: Duration,
    /// Backoff cap (also caps `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// A token-endpoint request.
#[derive(Debug)]
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode {
        /// The code.
        code: Secret,
        /// The redirect URI used in the authorize request.
        redirect_uri: String,
        /// The PKCE verifier.
        verifier: Secret,
        /// The state, for servers that want it in the exchange.
        state: Option<Secret>,
        /// Requested lifetime (long-lived tokens).
        expires_in: Option<u64>,
    },
    /// `refresh_token`.
    Refresh {
        /// The refresh token.
        refresh_token: Secret,
        /// Scopes to send (none by default: sending scopes the token lacks fails).
        scope: Option<String>,
    },
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (workload identity).
    JwtBearer {
        /// The identity token.
        assertion: Secret,
        /// Extra body fields (`federation_rule_id`, `organization_id`, …).
        fields: BTreeMap<String, String>,
    },
}

impl Grant {
    fn name(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::Refresh { .. } => "refresh_token",
            Grant::JwtBearer { .. } => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }

    /// The secrets it carries.
    fn secrets(&self) -> Vec<&Secret> {
        match self {
            Grant::AuthorizationCode {
                code,
                verifier,
                state,
                ..
            } => [Some(code), Some(verifier), state.as_ref()]
                .into_iter()
                .flatten()
                .collect(),
            Grant::Refresh { refresh_token, .. } => vec![refresh_token],
            Grant::JwtBearer { assertion, .. } => vec![assertion],
        }
    }

    /// Whether presenting it twice can burn it.
    fn single_use(&self) -> bool {
        !matches!(self, Grant::JwtBearer { .. })
    }
}

/// Where and how to send a grant.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Token URL.
    pub url: String,
    /// Body encoding.
    pub encoding: Encoding,
    /// Client id.
    pub client_id: Option<String>,
    /// Client secret (confidential clients).
    pub client_secret: Option<Secret>,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
}

/// Why a token request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// HTTP 404.
    #[error("this endpoint moved or is wrong: {url} (HTTP 404)")]
    NotFound {
        /// The URL.
        url: String,
    },
    /// `invalid_grant`: the code or refresh token is dead.
    #[error("the server rejected the grant (invalid_grant{}){}", description.as_ref().map(|d| format!(": {d}")).unwrap_or_default(), "")]
    InvalidGrant {
        /// `error_description`, sanitised.
        description: Option<String>,
    },
    /// Any other error response.
    #[error("{url} answered HTTP {status}{}{}", error.as_ref().map(|e| format!(": {e}")).unwrap_or_default(), description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// `error`, sanitised.
        error: Option<String>,
        /// `error_description`, sanitised.
        description: Option<String>,
    },
    /// The network failed, or 429/5xx persisted through the retries.
    #[error("could not get a token from {url}: {message}")]
    Transient {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// A 2xx response that is not a token response.
    #[error("{url} answered with something that is not a token response: {message}")]
    BadResponse {
        /// The URL.
        url: String,
        /// What is wrong (never the body).
        message: String,
    },
}

impl OAuthError {
    /// Worth trying again later (network, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(self, OAuthError::Transient { .. })
    }

    /// The same error with `redactor`'s secrets removed from every field.
    pub fn scrubbed(self, redactor: &Redactor) -> OAuthError {
        let s = |t: String| redactor.scrub(&t);
        let o = |t: Option<String>| t.map(|t| redactor.scrub(&t));
        match self {
            OAuthError::NotFound { url } => OAuthError::NotFound { url: s(url) },
            OAuthError::InvalidGrant { description } => OAuthError::InvalidGrant {
                description: o(description),
            },
            OAuthError::Rejected {
                url,
                status,
                error,
                description,
            } => OAuthError::Rejected {
                url: s(url),
                status,
                error: o(error),
                description: o(description),
            },
            OAuthError::Transient { url, message } => OAuthError::Transient {
                url: s(url),
                message: s(message),
            },
            OAuthError::BadResponse { url, message } => OAuthError::BadResponse {
                url: s(url),
                message: s(message),
            },
        }
    }
}

/// The token endpoint client.
#[derive(Clone, Debug)]
pub struct TokenClient {
    http: reqwest::Client,
    policy: RetryPolicy,
}

enum Attempt {
    Done(Result<TokenResponse, OAuthError>),
    Retry {
        error: OAuthError,
        after: Option<Duration>,
    },
}

impl TokenClient {
    /// A client with default timeouts (10 s connect, 30 s total) and retries.
    pub fn new() -> Result<Self, OAuthError> {
        TokenClient::with_policy(RetryPolicy::default())
    }

    /// A client with a retry policy.
    pub fn with_policy(policy: RetryPolicy) -> Result<Self, OAuthError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| OAuthError::Transient {
                url: String::new(),
                message: format!("could not build HTTP client: {e}"),
            })?;
        Ok(TokenClient { http, policy })
    }

    /// The HTTP client underneath (its timeouts and user agent), for the
    /// engine's other token endpoint (the ChatGPT refresh, a JSON body).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Send a grant, with retries as the module docs say.
    pub async fn request(
        &self,
        endpoint: &Endpoint,
        grant: &Grant,
    ) -> Result<TokenResponse, OAuthError> {
        let mut redactor = Redactor::new(grant.secrets());
        if let Some(s) = &endpoint.client_secret {
            redactor.add(s);
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            tracing::debug!(grant = grant.name(), url = %endpoint.url, attempt, "token request");
            match self.attempt(endpoint, grant, &redactor).await {
                Attempt::Done(result) => {
                    let result = result.map_err(|e| e.scrubbed(&redactor));
                    if let Err(e) = &result {
                        tracing::debug!(error = %e, "token request failed");
                    }
                    return result;
                }
                Attempt::Retry { error, after } => {
                    let error = error.scrubbed(&redactor);
                    if attempt >= self.policy.max_attempts {
                        return Err(error);
                    }
                    let backoff = self.backoff(attempt);
                    let wait = after.map_or(backoff, |a| a.min(self.policy.max_delay));
                    tracing::debug!(error = %error, wait_ms = wait.as_millis() as u64, "retrying token request");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Revoke a token (RFC 7009), best effort: one attempt, form-encoded.
    pub async fn revoke(
        &self,
        url: &str,
        token: &Secret,
        hint: &str,
        client_id: &str,
        client_secret: Option<&Secret>,
    ) -> Result<(), OAuthError> {
        let mut form = vec![
            ("token", token.expose().to_owned()),
            ("token_type_hint", hint.to_owned()),
            ("client_id", client_id.to_owned()),
        ];
        if let Some(s) = client_secret {
            form.push(("client_secret", s.expose().to_owned()));
        }
        let mut redactor = Redactor::new([token]);
        if let Some(s) = client_secret {
            redactor.add(s);
        }
        self.revoke_with(url, &form, &redactor)
            .await
            .map_err(|e| e.scrubbed(&redactor))
    }

    async fn revoke_with(
        &self,
        url: &str,
        form: &[(&str, String)],
        redactor: &Redactor,
    ) -> Result<(), OAuthError> {
        let resp = self
            .http
            .post(url)
            .timeout(Duration::from_secs(10))
            .form(form)
            .send()
            .await
            .map_err(|e| OAuthError::Transient {
                url: url.to_owned(),
                message: describe_reqwest(&e, redactor),
            })?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => Ok(()),
            404 => Err(OAuthError::NotFound {
                url: url.to_owned(),
            }),
            _ => {
                let (bytes, _) = read_capped(resp).await.unwrap_or_default();
                let (error, description) = parse_error_body(&bytes, redactor);
                Err(OAuthError::Rejected {
                    url: url.to_owned(),
                    status,
                    error,
                    description,
                })
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        // Between 50 % and 100 % of the capped delay.
        crate::doors::wire::Backoff {
            base: self.policy.base_delay,
            max: self.policy.max_delay,
            jitter: 0.5,
        }
        .delay(attempt.saturating_sub(1))
    }

    fn body(endpoint: &Endpoint, grant: &Grant) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = vec![("grant_type".into(), grant.name().into())];
        match grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
                state,
                ..
            } => {
                p.push(("code".into(), code.expose().into()));
                p.push(("redirect_uri".into(), redirect_uri.clone()));
                p.push(("code_verifier".into(), verifier.expose().into()));
                if let Some(s) = state {
                    p.push(("state".into(), s.expose().into()));
                }
            }
            Grant::Refresh {
                refresh_token,
                scope,
            } => {
                p.push(("refresh_token".into(), refresh_token.expose().into()));
                if let Some(s) = scope {
                    p.push(("scope".into(), s.clone()));
                }
            }
            Grant::JwtBearer { assertion, fields } => {
                p.push(("assertion".into(), assertion.expose().into()));
                p.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        if let Some(id) = &endpoint.client_id {
            p.push(("client_id".into(), id.clone()));
        }
        if let Some(secret) = &endpoint.client_secret {
            p.push(("client_secret".into(), secret.expose().into()));
        }
        p
    }

    async fn attempt(&self, endpoint: &Endpoint, grant: &Grant, redactor: &Redactor) -> Attempt {
        let url = &endpoint.url;
        let mut params = Self::body(endpoint, grant);
        let expires_in = match grant {
            Grant::AuthorizationCode { expires_in, .. } => *expires_in,
            _ => None,
        };
        let mut req = self.http.post(url).header("accept", "application/json");
        for (k, v) in &endpoint.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req = match endpoint.encoding {
            Encoding::Form => {
                if let Some(secs) = expires_in {
                    params.push(("expires_in".into(), secs.to_string()));
                }
                req.form(&params)
            }
            Encoding::Json => {
                let mut map = Map::new();
                for (k, v) in &params {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
                if let Some(secs) = expires_in {
                    // A number, as Anthropic's endpoint expects.
                    map.insert("expires_in".into(), Value::from(secs));
                }
                req.json(&Value::Object(map))
            }
        };
        drop(params);
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let never_sent = e.is_connect();
                let error = OAuthError::Transient {
                    url: url.clone(),
                    message: describe_reqwest(&e, redactor),
                };
                return if never_sent || !grant.single_use() {
                    Attempt::Retry { error, after: None }
                } else {
                    Attempt::Done(Err(error))
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = crate::doors::wire::retry_after(response.headers());
        let (bytes, cut) = match read_capped(response).await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Done(Err(OAuthError::Transient {
                    url: url.clone(),
                    message: describe_reqwest(&e, redactor),
                }))
            }
        };
        if (200..300).contains(&status) {
            if cut {
                return Attempt::Done(Err(OAuthError::BadResponse {
                    url: url.clone(),
                    message: format!("the answer is over {} KiB", MAX_ANSWER / 1024),
                }));
            }
            return Attempt::Done(parse_success(url, &bytes));
        }
        if status == 404 {
            return Attempt::Done(Err(OAuthError::NotFound { url: url.clone() }));
        }
        let (error, description) = parse_error_body(&bytes, redactor);
        if error.as_deref() == Some("invalid_grant") {
            return Attempt::Done(Err(OAuthError::InvalidGrant { description }));
        }
        let surely_unconsumed = matches!(status, 429 | 503 | 529);
        if status == 429 || status >= 500 {
            let err = OAuthError::Transient {
                url: url.clone(),
                message: format!(
                    "HTTP {status}{}",
                    description
                        .as_ref()
                        .or(error.as_ref())
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
            };
            if surely_unconsumed || !grant.single_use() {
                return Attempt::Retry {
                    error: err,
                    after: retry_after,
                };
            }
            return Attempt::Done(Err(err));
        }
        Attempt::Done(Err(OAuthError::Rejected {
            url: url.clone(),
            status,
            error,
            description,
        }))
    }
}

/// The most of an answer a token endpoint's answer is read: a token response
/// is well under 4 KiB, and an error's JSON smaller still. What is beyond is
/// not read (an error is parsed from what came before it).
pub const MAX_ANSWER: usize = 64 * 1024;

/// The body, up to [`MAX_ANSWER`] bytes, and whether there was more.
async fn read_capped(mut response: reqwest::Response) -> reqwest::Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

fn describe_reqwest(e: &reqwest::Error, redactor: &Redactor) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        // reqwest's Display includes the URL, never the body.
        redactor.sanitize(&e.to_string())
    }
}

#[cfg(test)]
#[path = "token_client_tests.rs"]
mod tests;
