//! The few HTTP requests of a ChatGPT login (code exchange, device code):
//! one attempt each, our User-Agent, a connect and a total timeout, and a
//! bounded answer. Errors never carry a secret: the request's secrets are
//! scrubbed from every message, and error bodies are sanitised.

use std::time::Duration;

use serde_json::Value;

use super::ChatGptLoginError;
use crate::oauth::token_client::USER_AGENT;
use crate::redact::Redactor;
use crate::secret::Secret;

/// `application/x-www-form-urlencoded`.
pub(super) const FORM: &str = "application/x-www-form-urlencoded";
/// `application/json`.
pub(super) const JSON: &str = "application/json";
/// The largest answer read.
pub(super) const MAX_BODY: usize = 64 * 1024;
/// Connecting may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole request may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A status and a bounded body.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
}

impl Answer {
    /// The error for a non-2xx answer: the error code (`error` as a
    /// string, `error.code`, or `error.message`), sanitised.
    pub(super) fn rejected(&self, url: &str, secrets: &[&Secret]) -> ChatGptLoginError {
        let redactor = Redactor::new(secrets.iter().copied());
        let error = serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|doc| match doc.get("error")? {
                Value::String(e) => Some(e.clone()),
                Value::Object(e) => e
                    .get("code")
                    .or_else(|| e.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            })
            .map(|e| redactor.sanitize(&e).chars().take(200).collect());
        ChatGptLoginError::Rejected {
            url: url.to_owned(),
            status: self.status,
            error,
        }
    }
}

fn client() -> Result<reqwest::Client, ChatGptLoginError> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| ChatGptLoginError::Network {
            url: String::new(),
            message: format!("could not build an HTTP client: {e}"),
        })
}

/// POST `body` (of `content_type`) to `url`; the answer's body is read up
/// to [`MAX_BODY`] bytes (more is an error).
pub(super) async fn post(
    url: &str,
    content_type: &str,
    body: &Secret,
    secrets: &[&Secret],
) -> Result<Answer, ChatGptLoginError> {
    let redactor = Redactor::new(secrets.iter().copied().chain([body]));
    let network = |e: reqwest::Error| ChatGptLoginError::Network {
        url: url.to_owned(),
        message: if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "could not connect".to_owned()
        } else {
            redactor.sanitize(&e.to_string())
        },
    };
    let mut response = client()?
        .post(url)
        .header("content-type", content_type)
        .header("accept", JSON)
        .body(body.expose().to_owned())
        .send()
        .await
        .map_err(network)?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(ChatGptLoginError::BadResponse {
                url: url.to_owned(),
                message: format!("the answer is larger than {MAX_BODY} bytes"),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        body: bytes,
    })
}
