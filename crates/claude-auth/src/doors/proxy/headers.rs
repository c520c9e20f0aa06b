//! Which headers cross the proxy: hop-by-hop ones never do, the client's
//! auth headers (its local key) never go upstream, and exactly one
//! credential header is injected in their place.

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::credential::Credential;
use crate::doors::wire::{self, X_API_KEY};
use crate::error::{Error, Result};

/// Never forwarded in either direction.
pub(super) fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
    )
}

/// Every name [`is_hop_by_hop`] or [`is_dropped_from_request`] drops, as
/// header names (removing by name hashes it; by `&str` it is parsed first).
static DROPPABLE: [HeaderName; 12] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
    X_API_KEY,
    header::AUTHORIZATION,
];

/// What a client sends that never goes upstream: hop-by-hop headers and its
/// own auth headers (the local key). `Host` is overwritten instead.
pub(super) fn is_dropped_from_request(name: &str) -> bool {
    matches!(name, "x-api-key" | "authorization") || (name != "host" && is_hop_by_hop(name))
}

/// Remove the headers `dropped` names (and, next to a `Transfer-Encoding`,
/// `Content-Length`). One pass over the names present finds them, so the
/// usual case (one or two, or none) costs a few string comparisons rather
/// than a hash lookup for every name that might be there.
pub(super) fn strip(headers: &mut HeaderMap, dropped: fn(&str) -> bool) {
    // Each name is there once, and no more than 12 names are ever dropped.
    // They are remembered by their index in DROPPABLE: cloning a name parsed
    // from the request would allocate.
    let mut found = [usize::MAX; 12];
    let mut others: Vec<HeaderName> = Vec::new();
    let mut n = 0;
    for name in headers.keys() {
        if n < found.len() && dropped(name.as_str()) {
            match DROPPABLE.iter().position(|known| known == name) {
                Some(i) => found[n] = i,
                None => others.push(name.clone()),
            }
            n += 1;
        }
    }
    // Headers the sender named in `Connection` are hop-by-hop too (RFC 9110
    // 7.6.1). Rare beyond `keep-alive`/`close`, so nothing is allocated
    // without them, and nothing looked up without a `Connection` header.
    if found.contains(&0) {
        let listed = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.eq_ignore_ascii_case("keep-alive") && !t.eq_ignore_ascii_case("close"))
            .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok());
        others.extend(listed);
    }
    let mut chunked = false;
    for &i in found.iter().take(n) {
        if let Some(name) = DROPPABLE.get(i) {
            chunked |= *name == header::TRANSFER_ENCODING;
            headers.remove(name);
        }
    }
    for name in &others {
        headers.remove(name);
    }
    // hyper frames the body anew; a length sent next to chunking is not one to pass on.
    if chunked {
        headers.remove(header::CONTENT_LENGTH);
    }
}

pub(super) fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(X_API_KEY) {
        return v.to_str().ok();
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110 11.1).
        .and_then(|v| {
            v.get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
                .map(|_| &v[7..])
        })
}

/// The credential's header value ([`wire::auth_value`]).
pub(super) fn auth_value(credential: &Credential) -> Result<HeaderValue> {
    wire::auth_value(credential).map_err(header_error)
}

/// Add exactly one credential header (`value`, from [`auth_value`]) to
/// already stripped `headers`, and for OAuth the beta and workspace
/// ([`wire::apply_credential`]).
pub(super) fn inject(
    headers: &mut HeaderMap,
    credential: &Credential,
    value: HeaderValue,
) -> Result<()> {
    wire::apply_credential(headers, credential, value).map_err(header_error)
}

fn header_error(e: wire::HeaderError) -> Error {
    Error::Unsupported(e.to_string())
}

/// The upstream headers for `credential`: the client's headers minus
/// hop-by-hop, auth and `Content-Length` headers, plus exactly one
/// credential header.
pub fn upstream_headers(incoming: &HeaderMap, credential: &Credential) -> Result<HeaderMap> {
    let mut out = incoming.clone();
    strip(&mut out, is_dropped_from_request);
    out.remove(header::HOST);
    out.remove(header::CONTENT_LENGTH);
    inject(&mut out, credential, auth_value(credential)?)?;
    Ok(out)
}
