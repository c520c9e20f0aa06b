//! The upstream base URL, parsed once at start: joining an incoming path to
//! it (refusing anything that could climb out of it), and rewriting a
//! redirect that points into it so the client comes back through the proxy.

use hyper::header::HeaderValue;
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::Uri;

use crate::error::{Error, Result};

/// The upstream base URL, parsed once at start: every request only joins
/// its path and query to it.
pub(super) struct Target {
    pub(super) scheme: Scheme,
    pub(super) authority: Authority,
    /// The `Host` header for `authority` (what the HTTP client would derive).
    pub(super) host: HeaderValue,
    /// The base URL's path without its trailing slash ("" for none).
    pub(super) prefix: String,
    /// The base URL, for resolving a redirect's `Location` against.
    pub(super) base: url::Url,
}

impl Target {
    pub(super) fn parse(raw: &str) -> Result<Target> {
        let upstream = raw.trim_end_matches('/');
        let setting = |message: String| Error::Setting {
            setting: "upstream base URL".into(),
            message,
        };
        let url = url::Url::parse(upstream).map_err(|e| setting(format!("{upstream:?}: {e}")))?;
        let scheme = match url.scheme() {
            "https" => Scheme::HTTPS,
            "http" => Scheme::HTTP,
            other => {
                return Err(setting(format!(
                    "{other}: only http and https are supported"
                )))
            }
        };
        // Not echoed: it may hold a password.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(setting(
                "user names and passwords in the URL are not supported".into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(setting(format!(
                "{upstream:?}: a base URL has no query or fragment"
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| setting(format!("{upstream:?}: no host")))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let bad = |_| setting(format!("{upstream:?}: not a usable host"));
        Ok(Target {
            scheme,
            host: HeaderValue::from_str(&authority).map_err(bad)?,
            authority: Authority::try_from(authority)
                .map_err(|_| setting(format!("{upstream:?}: not a usable host")))?,
            prefix: url.path().trim_end_matches('/').to_owned(),
            base: url,
        })
    }

    /// The upstream path and query for an incoming origin-form target.
    /// `None` for anything else, and for a path with a `.` or `..` segment
    /// (plain or percent-encoded), which could climb out of the base URL's
    /// path once the upstream normalises it.
    pub(super) fn join(&self, incoming: Option<&PathAndQuery>) -> Option<PathAndQuery> {
        match incoming {
            Some(pq) if !pq.as_str().starts_with('/') || has_dot_segment(pq.path()) => None,
            Some(pq) if self.prefix.is_empty() => Some(pq.clone()),
            Some(pq) => PathAndQuery::try_from(format!("{}{}", self.prefix, pq.as_str())).ok(),
            None if self.prefix.is_empty() => Some(PathAndQuery::from_static("/")),
            None => PathAndQuery::try_from(format!("{}/", self.prefix)).ok(),
        }
    }

    /// The absolute upstream URI for a path and query from [`Target::join`].
    pub(super) fn absolute(&self, path_and_query: PathAndQuery) -> Option<Uri> {
        let mut parts = hyper::http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts).ok()
    }

    /// A redirect's `Location` as the client must follow it: a URL into the
    /// upstream base URL (absolute on the upstream's scheme and host, or a
    /// path under its prefix) becomes the path the proxy serves it at, so the
    /// client comes back through the proxy instead of going to the upstream
    /// with its local key (nginx's `proxy_redirect default`). `None` leaves
    /// it as it is: another host, or a path outside the base URL.
    pub(super) fn local_location(&self, location: &HeaderValue) -> Option<HeaderValue> {
        let text = location.to_str().ok()?;
        // A path-relative reference resolves the same against the proxy's
        // URL as against the upstream's: left to the client.
        let rooted = text.starts_with(['/', '\\']);
        if !rooted && url::Url::parse(text).is_err() {
            return None;
        }
        // Resolved as a client would (`\` as `/`, dot segments, default
        // ports, case), then compared with the upstream's origin.
        let resolved = self.base.join(text).ok()?;
        let same_origin = resolved.scheme() == self.base.scheme()
            && resolved.host() == self.base.host()
            && resolved.port_or_known_default() == self.base.port_or_known_default();
        if !same_origin {
            return None;
        }
        let tail = match resolved.path().strip_prefix(self.prefix.as_str())? {
            "" => "/",
            t if t.starts_with('/') => t,
            _ => return None,
        };
        // `//host/…` would send the client to another host.
        if tail.starts_with("//") {
            return None;
        }
        let mut out = tail.to_owned();
        if let Some(q) = resolved.query() {
            out.push('?');
            out.push_str(q);
        }
        if let Some(f) = resolved.fragment() {
            out.push('#');
            out.push_str(f);
        }
        HeaderValue::from_str(&out).ok()
    }

    /// The absolute upstream URI for an incoming origin-form target.
    #[cfg(test)]
    pub(super) fn uri(&self, incoming: Option<&PathAndQuery>) -> Option<Uri> {
        self.absolute(self.join(incoming)?)
    }
}

pub(super) fn has_dot_segment(path: &str) -> bool {
    // The usual path ("/v1/messages") has neither, and costs two scans.
    if !path.contains('.') && !path.contains('%') {
        return false;
    }
    path.split('/').any(|segment| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    })
}
