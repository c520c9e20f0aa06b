//! Unit tests of the proxy's pure parts: headers, targets, redirects, the log.

use hyper::header::{HeaderMap, HeaderValue};
use hyper::http::uri::PathAndQuery;

use super::handler::{escape_for_log, is_allowed_method};
use super::headers::{is_dropped_from_request, is_hop_by_hop, presented_key, strip};
use super::target::Target;
use super::upstream_headers;
use crate::credential::{Credential, Provider, TokenSet};
use crate::secret::Secret;

#[test]
fn oauth_headers_replace_auth_and_merge_betas() {
    let mut incoming = HeaderMap::new();
    incoming.insert("x-api-key", HeaderValue::from_static("ca-local-xyz"));
    incoming.insert("authorization", HeaderValue::from_static("Bearer nope"));
    incoming.insert(
        "anthropic-beta",
        HeaderValue::from_static("tools-2024, oauth-2025-04-20"),
    );
    incoming.insert("connection", HeaderValue::from_static("keep-alive"));
    let cred = Credential::OAuth(TokenSet::access_only(
        Secret::new("sk-ant-oat01-t"),
        Provider::Anthropic,
    ));
    let out = upstream_headers(&incoming, &cred).unwrap();
    assert!(out.get("x-api-key").is_none());
    assert_eq!(out.get_all("authorization").iter().count(), 1);
    assert_eq!(out["authorization"], "Bearer sk-ant-oat01-t");
    assert_eq!(out["anthropic-beta"], "tools-2024,oauth-2025-04-20");
    assert!(out.get("connection").is_none());
}

#[test]
fn the_log_escapes_what_the_client_sent() {
    assert_eq!(escape_for_log("/v1/messages"), "/v1/messages");
    assert!(matches!(
        escape_for_log("/v1/messages"),
        std::borrow::Cow::Borrowed(_)
    ));
    assert_eq!(
        escape_for_log("/a\u{202e}b\nc\rd\u{1b}[0m\te\u{7f}\\f\u{e9}"),
        "/a\\u{202e}b\\u{a}c\\u{d}d\\u{1b}[0m\\u{9}e\\u{7f}\\\\f\\u{e9}"
    );
    assert!(is_allowed_method(&hyper::Method::POST));
    for refused in ["TRACE", "TRACK", "CONNECT", "PROPFIND"] {
        let m = hyper::Method::from_bytes(refused.as_bytes()).unwrap();
        assert!(!is_allowed_method(&m), "{refused}");
    }
}

#[test]
fn dot_segments_are_refused_in_any_spelling_and_other_dots_pass() {
    let target = Target::parse("https://gateway.example/anthropic/").unwrap();
    let pq = |s: &'static str| PathAndQuery::from_static(s);
    for bad in [
        "/../admin",
        "/v1/./messages",
        "/v1/..",
        "/%2e%2e/admin",
        "/%2E./admin",
        "/v1/%2e/messages",
    ] {
        assert_eq!(target.join(Some(&pq(bad))), None, "{bad}");
    }
    for good in [
        "/v1/messages",
        "/v1/files/file.v2.json",
        "/v1/x?q=../..",
        "/v1/...",
        "/v1/%41",
    ] {
        assert!(target.join(Some(&pq(good))).is_some(), "{good}");
    }
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    for header in [
        "Bearer ca-local-k",
        "bearer ca-local-k",
        "BEARER ca-local-k",
    ] {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static(header));
        assert_eq!(presented_key(&h), Some("ca-local-k"), "{header}");
    }
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_static("Basic ca-local-k"),
    );
    assert_eq!(presented_key(&h), None);
}

#[test]
fn api_key_gets_exactly_one_header() {
    let mut incoming = HeaderMap::new();
    incoming.insert(
        "authorization",
        HeaderValue::from_static("Bearer ca-local-xyz"),
    );
    let out =
        upstream_headers(&incoming, &Credential::anthropic_api_key("sk-ant-api03-k")).unwrap();
    assert_eq!(out["x-api-key"], "sk-ant-api03-k");
    assert!(out.get("authorization").is_none());
    assert!(out.get("anthropic-beta").is_none());
}
#[test]
fn hop_by_hop_headers_are_stripped_and_lengths_kept_unless_chunked() {
    let mut resp = HeaderMap::new();
    resp.insert("content-type", HeaderValue::from_static("application/json"));
    resp.insert("content-length", HeaderValue::from_static("235"));
    resp.insert("connection", HeaderValue::from_static("keep-alive"));
    resp.insert("keep-alive", HeaderValue::from_static("timeout=5"));
    resp.append("x-custom", HeaderValue::from_static("a"));
    resp.append("x-custom", HeaderValue::from_static("b"));
    strip(&mut resp, is_hop_by_hop);
    assert_eq!(resp.len(), 4);
    assert_eq!(resp["content-length"], "235");
    assert_eq!(resp.get_all("x-custom").iter().count(), 2);

    let mut req = HeaderMap::new();
    req.insert("host", HeaderValue::from_static("127.0.0.1:1"));
    req.insert("x-api-key", HeaderValue::from_static("ca-local-xyz"));
    req.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    req.insert("content-length", HeaderValue::from_static("9"));
    req.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    strip(&mut req, is_dropped_from_request);
    let names: Vec<&str> = req.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["host", "anthropic-version"]);
}

#[test]
fn redirects_into_the_upstream_come_back_through_the_proxy() {
    let at = |base: &str, location: &str| {
        Target::parse(base)
            .unwrap()
            .local_location(&HeaderValue::from_str(location).unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let plain = "https://api.example.com";
    assert_eq!(
        at(plain, "https://api.example.com/v1/x?a=1").as_deref(),
        Some("/v1/x?a=1")
    );
    assert_eq!(
        at(plain, "HTTPS://API.EXAMPLE.COM/v1/x").as_deref(),
        Some("/v1/x")
    );
    assert_eq!(at(plain, "https://api.example.com").as_deref(), Some("/"));
    assert_eq!(
        at(plain, "https://api.example.com?a").as_deref(),
        Some("/?a")
    );
    assert_eq!(at(plain, "/v1/y").as_deref(), Some("/v1/y"));
    // Another scheme, host or port: the client's business.
    assert_eq!(at(plain, "http://api.example.com/v1/x"), None);
    assert_eq!(at(plain, "https://api.example.com:8443/v1/x"), None);
    assert_eq!(at(plain, "https://api.example.com.evil/v1/x"), None);
    assert_eq!(at(plain, "https://other.example.com/v1/x"), None);
    assert_eq!(at(plain, "//other.example.com/v1/x"), None);
    let gateway = "http://127.0.0.1:8080/anthropic/";
    assert_eq!(
        at(gateway, "http://127.0.0.1:8080/anthropic/v1/x").as_deref(),
        Some("/v1/x")
    );
    assert_eq!(at(gateway, "/anthropic/v1/x#f").as_deref(), Some("/v1/x#f"));
    assert_eq!(at(gateway, "/anthropic").as_deref(), Some("/"));
    assert_eq!(at(gateway, "/anthropic?q").as_deref(), Some("/?q"));
    assert_eq!(
        at(plain, "https://api.example.com:443/v1/x").as_deref(),
        Some("/v1/x")
    );
    assert_eq!(
        at(plain, "https://api.example.com/v1/../v2/x").as_deref(),
        Some("/v2/x")
    );
    // Never turned into a reference to another host.
    assert_eq!(at(plain, "https://api.example.com//evil.example/x"), None);
    assert_eq!(at(plain, "https://api.example.com/\\evil.example/x"), None);
    assert_eq!(at(plain, "/\\evil.example/x"), None);
    assert_eq!(at(plain, "https://api.example.com@evil.example/x"), None);
    assert_eq!(at(plain, "https://evil.example\\@api.example.com/x"), None);
    // Path-relative: resolves the same against the proxy, left alone.
    assert_eq!(at(plain, "moved"), None);
    // Outside the base URL's path: the proxy cannot serve it, left alone.
    assert_eq!(at(gateway, "/other/v1/x"), None);
    assert_eq!(at(gateway, "/anthropicx/v1"), None);
    assert_eq!(at(gateway, "http://127.0.0.1:8080/other"), None);
    assert_eq!(at(gateway, "/anthropic//evil.example/x"), None);
    assert_eq!(at(gateway, "/anthropic/../v1"), None);
    assert_eq!(
        at("http://[::1]:8080/", "http://[::1]:8080/v1/x").as_deref(),
        Some("/v1/x")
    );
    assert_eq!(at("http://[::1]:8080/", "http://[::2]:8080/v1/x"), None);
}

#[test]
fn the_base_url_is_parsed_once_and_joined_with_the_path() {
    let pq = |s: &'static str| PathAndQuery::from_static(s);
    let t = Target::parse("https://api.anthropic.com/").unwrap();
    assert_eq!(t.host, "api.anthropic.com");
    assert_eq!(
        t.uri(Some(&pq("/v1/messages?beta=true"))).unwrap(),
        "https://api.anthropic.com/v1/messages?beta=true"
    );
    let t = Target::parse("http://127.0.0.1:8080/gateway/anthropic/").unwrap();
    assert_eq!(t.host, "127.0.0.1:8080");
    assert_eq!(
        t.uri(Some(&pq("/v1/models"))).unwrap(),
        "http://127.0.0.1:8080/gateway/anthropic/v1/models"
    );
    assert!(t.uri(Some(&pq("*"))).is_none());
    // Default ports are not repeated in Host, as an HTTP client would not.
    assert_eq!(
        Target::parse("https://example.com:443").unwrap().host,
        "example.com"
    );
    assert_eq!(Target::parse("http://[::1]:9/").unwrap().host, "[::1]:9");
    for bad in [
        "ftp://example.com",
        "https://u:p@example.com",
        "https://example.com/?a=b",
        "nope",
    ] {
        let err = Target::parse(bad).err().unwrap().to_string();
        assert!(!err.contains(":p@"), "{err}");
    }
}
