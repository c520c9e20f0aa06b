//! Errors of the Messages API client.
//!
//! An API error keeps what the API said — HTTP status, error type, message —
//! and the `request-id` to quote to Anthropic. Messages from the server are
//! sanitised (no token-looking strings, bounded length) before they are kept,
//! and no error ever carries a credential or a request body.

use std::fmt;
use std::time::Duration;

use crate::engine::manager::AuthError;
use crate::source::NoCredential;

use super::meta::RateLimits;

/// An error response from the API (or an `error` event mid-stream).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status (for a mid-stream error, the stream's status, 200).
    pub status: u16,
    /// The API's error type (`invalid_request_error`, `authentication_error`,
    /// `rate_limit_error`, `overloaded_error`, …), when the body had one.
    pub error_type: Option<String>,
    /// The API's message, sanitised.
    pub message: String,
    /// The `request-id` header (or the body's `request_id`).
    pub request_id: Option<String>,
    /// The URL called.
    pub url: String,
    /// `retry-after-ms` / `retry-after`, when sent.
    pub retry_after: Option<Duration>,
    /// Rate-limit headers of the response.
    pub rate_limits: RateLimits,
    /// HTTP requests made, retries included.
    pub attempts: u32,
}

impl ApiError {
    /// Whether the status is one this client retries (408, 409, 429, 5xx, 529).
    pub fn is_retryable(&self) -> bool {
        super::retryable_status(self.status)
    }

    /// Advice for a human, for the errors that have an obvious next step.
    pub fn hint(&self) -> Option<&'static str> {
        if self
            .message
            .contains("only authorized for use with Claude Code")
        {
            return Some(
                "this Claude subscription token is only accepted from Claude Code; use an API key (ANTHROPIC_API_KEY) or a Developer Platform login",
            );
        }
        match self.status {
            401 => Some("the credential was rejected; see `claude-auth status`, or log in again"),
            403 => Some("the credential lacks a permission (scope) this request needs"),
            404 if self.error_type.is_none() => {
                Some("check the base URL (ANTHROPIC_BASE_URL or the profile's base_url)")
            }
            429 => Some("rate limited; wait for the reset, or lower the request rate"),
            529 => Some("the API is overloaded; try again later"),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {}", self.url, self.status)?;
        if let Some(t) = &self.error_type {
            write!(f, " {t}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        Ok(())
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The stream started, then the API sent an `error` event.
    #[error("the response stream failed: {0}")]
    StreamError(Box<ApiError>),
    /// No usable credential (none found, login required, refresh failed).
    #[error(transparent)]
    Auth(Box<AuthError>),
    /// The API could not be reached, or the connection broke.
    #[error("could not reach {url}: {message}")]
    Connection {
        /// The URL.
        url: String,
        /// What happened (never a body or a credential).
        message: String,
        /// HTTP requests attempted.
        attempts: u32,
    },
    /// No answer (or, while streaming, no byte) within the time allowed.
    #[error("{url} did not answer within {}s", .after.as_secs_f64())]
    Timeout {
        /// The URL.
        url: String,
        /// The limit that ran out.
        after: Duration,
        /// HTTP requests attempted.
        attempts: u32,
    },
    /// A success status with a body that is not what the API documents.
    #[error("{url} answered with an unexpected body: {message}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What is wrong (never the body itself).
        message: String,
    },
    /// The request cannot be sent as built.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client's settings are wrong (e.g. a base URL that is not http(s)).
    #[error("invalid client settings: {0}")]
    Config(String),
}

impl ClientError {
    /// The API error, for HTTP errors and mid-stream `error` events.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api(e) | ClientError::StreamError(e) => Some(e),
            _ => None,
        }
    }

    /// The request id to quote, when the API gave one.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|e| e.request_id.as_deref())
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api(e) => Some(e.status),
            _ => None,
        }
    }

    /// The credential problem, when that is what failed.
    pub fn auth(&self) -> Option<&AuthError> {
        match self {
            ClientError::Auth(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the user must log in (again) or configure a credential.
    pub fn login_required(&self) -> bool {
        matches!(
            self.auth(),
            Some(AuthError::LoginRequired { .. } | AuthError::NoCredential(NoCredential::None))
        )
    }
}

impl From<AuthError> for ClientError {
    fn from(e: AuthError) -> Self {
        ClientError::Auth(Box::new(e))
    }
}

impl From<crate::error::Error> for ClientError {
    fn from(e: crate::error::Error) -> Self {
        ClientError::Auth(Box::new(AuthError::Store(e)))
    }
}
