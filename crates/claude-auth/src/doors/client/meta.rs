//! What a response says besides its body: the request id and the rate-limit
//! headers.
//!
//! Subscription traffic carries `anthropic-ratelimit-unified-*` headers (the
//! 5-hour and 7-day windows, their reset times, whether the request was
//! allowed); API-key traffic carries `anthropic-ratelimit-requests-*` and
//! `-tokens-*`. The unified ones are decoded into fields; every
//! `anthropic-ratelimit-*` header is also kept as sent.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Serialize;

/// Rate-limit information from a response's headers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimits {
    /// `anthropic-ratelimit-unified-status`: `allowed`, `allowed_warning` or `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `anthropic-ratelimit-unified-reset`, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset: Option<u64>,
    /// `anthropic-ratelimit-unified-5h-utilization`, 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub five_hour_utilization: Option<f64>,
    /// `anthropic-ratelimit-unified-5h-reset`, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub five_hour_reset: Option<u64>,
    /// `anthropic-ratelimit-unified-7d-utilization`, 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_utilization: Option<f64>,
    /// `anthropic-ratelimit-unified-7d-reset`, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_reset: Option<u64>,
    /// `anthropic-ratelimit-unified-representative-claim` (which window binds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub representative_claim: Option<String>,
    /// `anthropic-ratelimit-unified-overage-status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overage_status: Option<String>,
    /// `retry-after-ms` or `retry-after` (seconds), when sent.
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// Every `anthropic-ratelimit-*` header, lower-case name → value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

const UNIFIED: &str = "anthropic-ratelimit-unified-";

impl RateLimits {
    /// Read them from response headers.
    pub(crate) fn from_headers(headers: &HeaderMap) -> RateLimits {
        let mut out = RateLimits {
            retry_after: crate::doors::wire::retry_after(headers),
            ..RateLimits::default()
        };
        for (name, value) in headers {
            let name = name.as_str();
            if !name.starts_with("anthropic-ratelimit-") {
                continue;
            }
            let Ok(value) = value.to_str() else { continue };
            let value = value.trim();
            out.headers.insert(name.to_owned(), value.to_owned());
            let Some(key) = name.strip_prefix(UNIFIED) else {
                continue;
            };
            match key {
                "status" => out.status = Some(value.to_owned()),
                "reset" => out.reset = value.parse().ok(),
                "5h-utilization" => out.five_hour_utilization = value.parse().ok(),
                "5h-reset" => out.five_hour_reset = value.parse().ok(),
                "7d-utilization" => out.seven_day_utilization = value.parse().ok(),
                "7d-reset" => out.seven_day_reset = value.parse().ok(),
                "representative-claim" => out.representative_claim = Some(value.to_owned()),
                "overage-status" => out.overage_status = Some(value.to_owned()),
                _ => {}
            }
        }
        out
    }

    /// Whether the response carried no rate-limit header at all.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.retry_after.is_none()
    }

    /// One header by its full lower-case name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// The request id a response carries (`request-id`, else `x-request-id`).
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    ["request-id", "x-request-id"].iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

/// What came with a response.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseMeta {
    /// HTTP status.
    pub status: u16,
    /// The `request-id` header: quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Rate-limit headers.
    pub rate_limits: RateLimits,
    /// HTTP requests made, retries included.
    pub attempts: u32,
}

impl ResponseMeta {
    pub(crate) fn from_response(status: u16, headers: &HeaderMap, attempts: u32) -> Self {
        ResponseMeta {
            status,
            request_id: request_id(headers),
            rate_limits: RateLimits::from_headers(headers),
            attempts,
        }
    }
}

/// A decoded response body with its [`ResponseMeta`]; derefs to the body.
///
/// ```no_run
/// # async fn demo(client: claude_auth::client::Client) -> Result<(), claude_auth::client::ClientError> {
/// use claude_auth::client::MessageRequest;
/// let response = client
///     .create_message(&MessageRequest::new("claude-sonnet-4-5", 64).user("Hi"))
///     .await?;
/// println!("{} (request {:?})", response.text(), response.meta.request_id);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Response<T> {
    /// The decoded body.
    pub body: T,
    /// Status, request id, rate limits.
    pub meta: ResponseMeta,
}

impl<T> Response<T> {
    /// The body alone.
    pub fn into_inner(self) -> T {
        self.body
    }
}

impl<T> std::ops::Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doors::wire::retry_after;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn unified_headers_are_decoded_and_kept() {
        let h = headers(&[
            ("anthropic-ratelimit-unified-status", "allowed_warning"),
            ("anthropic-ratelimit-unified-5h-utilization", "0.82"),
            ("anthropic-ratelimit-unified-7d-reset", "1775000000"),
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("retry-after", "3"),
        ]);
        let r = RateLimits::from_headers(&h);
        assert_eq!(r.status.as_deref(), Some("allowed_warning"));
        assert_eq!(r.five_hour_utilization, Some(0.82));
        assert_eq!(r.seven_day_reset, Some(1_775_000_000));
        assert_eq!(r.get("anthropic-ratelimit-requests-remaining"), Some("49"));
        assert_eq!(r.retry_after, Some(Duration::from_secs(3)));
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let h = headers(&[("retry-after", "30"), ("retry-after-ms", "12.5")]);
        assert_eq!(retry_after(&h), Some(Duration::from_micros(12_500)));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }
}
