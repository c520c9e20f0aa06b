//! The device-code login (PROTOCOL.md "OpenAI"): ask the issuer for a user
//! code, show it with the page to open, poll every `interval` seconds while
//! the issuer answers 403/404 (pending), at most
//! [`chatgpt::DEVICE_MAX_WAIT`], then exchange the code the issuer hands
//! back with `redirect_uri={issuer}/deviceauth/callback`.

use std::time::Duration;

use serde_json::Value;

use super::http::{self, JSON};
use super::{exchange_code, ChatGptLogin, ChatGptLoginError};
use crate::openai::chatgpt::{self, ChatGptOAuth};
use crate::secret::Secret;

/// The shortest poll interval used, whatever the issuer says.
pub const DEVICE_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest poll interval used, whatever the issuer says.
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// Network failures and 5xx/429 answers in a row tolerated while polling.
const MAX_POLL_FAILURES: u32 = 5;
/// The longest user code shown.
const MAX_USER_CODE: usize = 64;

/// What the user needs to approve the login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCode {
    /// The code to type on the page.
    pub user_code: String,
    /// The page to open (`{issuer}/codex/device`).
    pub verification_url: String,
    /// How often the issuer is polled.
    pub interval: Duration,
}

/// Progress the caller may show during a device-code login.
pub trait DeviceEvents: Send + Sync {
    /// The code to enter and where.
    fn code(&self, code: &DeviceCode);
    /// A poll failed for a reason worth retrying (network, 5xx); why.
    fn retrying(&self, why: &str);
}

fn bad(url: &str, message: &str) -> ChatGptLoginError {
    ChatGptLoginError::BadResponse {
        url: url.to_owned(),
        message: message.to_owned(),
    }
}

pub(super) fn interval_of(value: Option<&Value>) -> Option<Duration> {
    let secs = match value? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Some(Duration::from_secs(secs).clamp(DEVICE_MIN_INTERVAL, MAX_INTERVAL))
}

/// Ask for a user code: `(device_auth_id, code)`.
async fn start(oauth: &ChatGptOAuth) -> Result<(Secret, DeviceCode), ChatGptLoginError> {
    let url = oauth.device_usercode_url();
    let body = Secret::new(oauth.device_usercode_body());
    let answer = http::post(&url, JSON, &body, &[]).await?;
    if !(200..300).contains(&answer.status) {
        return Err(answer.rejected(&url, &[]));
    }
    let doc: Value = serde_json::from_slice(&answer.body).map_err(|_| bad(&url, "not JSON"))?;
    let text = |k: &str| doc.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let id = text("device_auth_id").ok_or_else(|| bad(&url, "no device_auth_id"))?;
    let id = Secret::token(id, "device_auth_id").map_err(|m| bad(&url, &m))?;
    let user_code = text("user_code")
        .or_else(|| text("usercode"))
        .ok_or_else(|| bad(&url, "no user_code"))?;
    if user_code.len() > MAX_USER_CODE || user_code.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(bad(&url, "the user_code is not a short printable code"));
    }
    let interval = match doc.get("interval") {
        None | Some(Value::Null) => Duration::from_secs(5),
        given => {
            interval_of(given).ok_or_else(|| bad(&url, "interval is not a number of seconds"))?
        }
    };
    Ok((
        id,
        DeviceCode {
            user_code: user_code.to_owned(),
            verification_url: oauth.device_verification_url(),
            interval,
        },
    ))
}

/// The device-code login, waiting at most `max_wait` (at most
/// [`chatgpt::DEVICE_MAX_WAIT`]) for the user's approval.
pub async fn device_login(
    oauth: &ChatGptOAuth,
    events: &dyn DeviceEvents,
    max_wait: Duration,
) -> Result<ChatGptLogin, ChatGptLoginError> {
    let max_wait = max_wait.min(chatgpt::DEVICE_MAX_WAIT);
    let (id, code) = start(oauth).await?;
    events.code(&code);
    let url = oauth.device_token_url();
    let poll = ChatGptOAuth::device_poll_body(&id, &code.user_code);
    let deadline = tokio::time::Instant::now() + max_wait;
    let mut failures = 0u32;
    let answer = loop {
        if tokio::time::Instant::now() + code.interval > deadline {
            return Err(ChatGptLoginError::Timeout(max_wait.as_secs()));
        }
        tokio::time::sleep(code.interval).await;
        match http::post(&url, JSON, &poll, &[&id]).await {
            Ok(answer) if (200..300).contains(&answer.status) => break answer,
            Ok(answer) if matches!(answer.status, 403 | 404) => failures = 0,
            Ok(answer) if answer.status == 429 || answer.status >= 500 => {
                failures += 1;
                let error = answer.rejected(&url, &[&id]);
                if failures >= MAX_POLL_FAILURES {
                    return Err(error);
                }
                events.retrying(&error.to_string());
            }
            Ok(answer) => return Err(answer.rejected(&url, &[&id])),
            Err(error @ ChatGptLoginError::Network { .. }) => {
                failures += 1;
                if failures >= MAX_POLL_FAILURES {
                    return Err(error);
                }
                events.retrying(&error.to_string());
            }
            Err(error) => return Err(error),
        }
    };
    let doc: Value = serde_json::from_slice(&answer.body).map_err(|_| bad(&url, "not JSON"))?;
    let secret = |k: &str| {
        let v = doc
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad(&url, &format!("no {k}")))?;
        Secret::token(v, k).map_err(|m| bad(&url, &m))
    };
    let authorization_code = secret("authorization_code")?;
    let verifier = secret("code_verifier")?;
    exchange_code(
        oauth,
        &authorization_code,
        &oauth.device_redirect_uri(),
        &verifier,
    )
    .await
}
