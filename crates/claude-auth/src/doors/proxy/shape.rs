//! The proxy's own answers in the error shape of the API it serves, so the
//! official SDK on the other side raises its usual error with our message in
//! it: Anthropic's `{"type":"error","error":{"type":…,"message":…}}`, or
//! OpenAI's `{"error":{"message":…,"type":…,"param":null,"code":…}}` (the
//! shape of its `invalid_api_key` 401 and its `insufficient_quota` 429, as
//! the budget refusal answers too). Every error the proxy makes itself goes
//! through here ([`own_error`], [`vendor_error`]): the status and message
//! are the same for both vendors, only the shape differs.

use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};

use super::handler::{full, Shared};
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
            return anthropic_error(what.status(), "authentication_error", message)
        }
        (Provider::Anthropic, Refused::Exhausted) => {
            return anthropic_error(what.status(), "rate_limit_error", message)
        }
        (Provider::Openai, Refused::Key) => ("invalid_request_error", "invalid_api_key"),
        (Provider::Openai, Refused::Exhausted) => ("insufficient_quota", "insufficient_quota"),
    };
    openai_error(what.status(), kind, Some(code), message)
}

/// An error the proxy answers itself (`status`, Anthropic's error `kind`,
/// `message`) in the shape of the API `shared` serves. OpenAI's type is
/// `server_error` for a 5xx and `invalid_request_error` otherwise, with no
/// code (a refused key is [`vendor_error`]'s `invalid_api_key`).
pub(super) fn own_error(
    shared: &Shared,
    status: StatusCode,
    kind: &str,
    message: &str,
) -> Response<ProxyBody> {
    match served(shared) {
        Provider::Anthropic => anthropic_error(status, kind, message),
        Provider::Openai if status.is_server_error() => {
            openai_error(status, "server_error", None, message)
        }
        Provider::Openai => openai_error(status, "invalid_request_error", None, message),
    }
}

/// Anthropic's error body, as its API sends it.
fn anthropic_error(status: StatusCode, kind: &str, message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
        .to_string();
    json_response(status, body)
}

/// OpenAI's error body, as its API sends it.
fn openai_error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    })
    .to_string();
    json_response(status, body)
}

fn json_response(status: StatusCode, body: String) -> Response<ProxyBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}
