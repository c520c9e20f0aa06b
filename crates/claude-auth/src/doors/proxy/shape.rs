//! The proxy's own answers in the error shape of the API it serves, so the
//! official SDK on the other side raises its usual error with our message in
//! it: Anthropic's `{"type":"error","error":{"type":…,"message":…}}`, or
//! OpenAI's `{"error":{"message":…,"type":…,"param":null,"code":…}}` (the
//! shape of its `invalid_api_key` 401 and its `insufficient_quota` 429, as
//! the budget refusal answers too).

use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};

use super::handler::{full, json_error, Shared};
use super::ProxyBody;
use crate::credential::Provider;

/// The provider whose API the proxy serves: the credential's given in code
/// when there is one, else the provider of the chain its engine resolves.
pub(super) fn served(shared: &Shared) -> &Provider {
    let inner = &shared.manager.inner;
    match &inner.options.resolve.explicit_credential {
        Some(credential) => credential.provider(),
        None => inner.resolver.provider(),
    }
}

/// What the proxy refuses, in each vendor's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The key presented is not accepted here (401).
    Key,
    /// Nothing is left to serve the request with (429).
    Exhausted,
}

impl Refused {
    fn status(self) -> StatusCode {
        match self {
            Refused::Key => StatusCode::UNAUTHORIZED,
            Refused::Exhausted => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// `message` as `provider`'s API would answer a `what` refusal.
pub(super) fn vendor_error(
    provider: &Provider,
    what: Refused,
    message: &str,
) -> Response<ProxyBody> {
    let (kind, code) = match (provider, what) {
        (Provider::Anthropic, Refused::Key) => {
            return json_error(what.status(), "authentication_error", message)
        }
        (Provider::Anthropic, Refused::Exhausted) => {
            return json_error(what.status(), "rate_limit_error", message)
        }
        (Provider::Openai, Refused::Key) => ("invalid_request_error", "invalid_api_key"),
        (Provider::Openai, Refused::Exhausted) => ("insufficient_quota", "insufficient_quota"),
    };
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    })
    .to_string();
    let mut resp = Response::new(full(body));
    *resp.status_mut() = what.status();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}
