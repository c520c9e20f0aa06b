#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A ChatGPT login's usage through `UsageFetcher::openai`, against a
//! loopback `backend-api` in ChatGPT's shape: the bearer token and
//! `ChatGPT-Account-Id` are sent to `…/backend-api/wham/usage` (beside the
//! login's Codex base URL), the answer is decoded and cached for the TTL (one
//! fetch for two asks), a 429 with `retry-after` is remembered past its
//! floor, an HTML error page is reported without echoing it, and an API key
//! is never sent anywhere.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use claude_auth::credential::{Credential, TokenSet};
use claude_auth::secret::Secret;
use claude_auth::usage::fetch::{UsageFetcher, MIN_BACKOFF};
use claude_auth::Provider;

const USAGE: &str = r#"{"plan_type":"pro","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":37,"limit_window_seconds":18000,"reset_after_seconds":1200,"reset_at":null},"secondary_window":{"used_percent":12.5,"limit_window_seconds":604800,"reset_after_seconds":86400},"future_window":{"x":1}},"credits":{"has_credits":false,"unlimited":false,"balance":null},"unknown":[1,2]}"#;

#[derive(Default)]
struct Seen {
    requests: Vec<(String, Option<String>, Option<String>)>,
}

/// The answer the upstream gives next: status, content type, body, extra header.
type Answer = (
    u16,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

async fn upstream(seen: Arc<Mutex<Seen>>, answer: Arc<Mutex<Answer>>) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let header =
                        |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
                    seen.lock().unwrap().requests.push((
                        req.uri().path().to_owned(),
                        header("authorization"),
                        header("chatgpt-account-id"),
                    ));
                    let (status, ct, body, extra) = *answer.lock().unwrap();
                    let mut resp = hyper::Response::builder()
                        .status(status)
                        .header("content-type", ct);
                    if let Some((k, v)) = extra {
                        resp = resp.header(k, v);
                    }
                    let resp = resp.body(Full::new(Bytes::from_static(body.as_bytes())));
                    async move { Ok::<_, Infallible>(resp.unwrap()) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

fn chatgpt_login() -> Credential {
    let mut set = TokenSet::access_only(Secret::new("chatgpt-access-token-1"), Provider::Openai);
    set.identity.account_uuid = Some("acct-123".into());
    Credential::OAuth(set)
}

#[tokio::test]
async fn a_chatgpt_login_is_fetched_once_cached_and_a_429_remembered() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let answer: Arc<Mutex<Answer>> = Arc::new(Mutex::new((200, "application/json", USAGE, None)));
    let addr = upstream(Arc::clone(&seen), Arc::clone(&answer)).await;
    let state = tempfile::tempdir().unwrap();
    let fetcher = UsageFetcher::new(state.path())
        .unwrap()
        .with_ttl(Duration::from_secs(60));
    let base = format!("http://{addr}/backend-api/codex");

    let report = fetcher.openai("codex", &chatgpt_login(), &base).await;
    assert_eq!(report.error, None);
    assert!(report.fetched);
    assert_eq!(report.plan.as_deref(), Some("pro"));
    let snapshot = report.snapshot.unwrap();
    assert_eq!(snapshot.provider, Provider::Openai);
    let windows: Vec<_> = snapshot
        .windows
        .iter()
        .map(|w| (w.label.as_str(), w.used_percent))
        .collect();
    assert_eq!(windows, vec![("5h", 37.0), ("7d", 12.5)]);
    assert_eq!(
        seen.lock().unwrap().requests,
        vec![(
            "/backend-api/wham/usage".to_owned(),
            Some("Bearer chatgpt-access-token-1".to_owned()),
            Some("acct-123".to_owned())
        )]
    );

    // Within the TTL: from the cache, no second request.
    let again = fetcher.openai("codex", &chatgpt_login(), &base).await;
    assert!(!again.fetched);
    assert_eq!(again.snapshot.unwrap().windows.len(), 2);
    assert_eq!(seen.lock().unwrap().requests.len(), 1);
    assert!(fetcher.cached(&Provider::Openai, "codex").is_some());

    // A 429 with retry-after: remembered (never less than the floor), the
    // old value kept and shown with the error, and no request until then.
    let fetcher = fetcher.with_ttl(Duration::ZERO);
    *answer.lock().unwrap() = (429, "application/json", "{}", Some(("retry-after", "5")));
    let limited = fetcher.openai("codex", &chatgpt_login(), &base).await;
    assert!(
        limited.error.as_deref().unwrap().contains("429"),
        "{limited:?}"
    );
    assert!(limited.snapshot.is_some());
    let not_before = limited.retry_not_before.unwrap();
    assert!(not_before >= claude_auth::credential::now_unix() + MIN_BACKOFF.as_secs() - 1);
    let _ = fetcher.openai("codex", &chatgpt_login(), &base).await;
    assert_eq!(seen.lock().unwrap().requests.len(), 2);
}

#[tokio::test]
async fn an_html_error_page_is_reported_and_an_api_key_never_sent() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let answer: Arc<Mutex<Answer>> = Arc::new(Mutex::new((
        502,
        "text/html",
        "<html><body>Bad gateway SECRET-PAGE-TEXT</body></html>",
        None,
    )));
    let addr = upstream(Arc::clone(&seen), Arc::clone(&answer)).await;
    let state = tempfile::tempdir().unwrap();
    let fetcher = UsageFetcher::new(state.path()).unwrap();
    let base = format!("http://{addr}/backend-api/codex");
    let report = fetcher.openai("codex", &chatgpt_login(), &base).await;
    let error = report.error.unwrap();
    assert!(error.contains("HTTP 502"), "{error}");
    assert!(error.contains("HTML"), "{error}");
    assert!(!error.contains("SECRET-PAGE-TEXT"), "{error}");

    let key = Credential::ApiKey {
        key: Secret::new("sk-proj-never-sent"),
        provider: Provider::Openai,
    };
    let report = fetcher.openai("openai-api-key", &key, &base).await;
    assert!(report.error.unwrap().contains("no usage endpoint"));
    assert_eq!(seen.lock().unwrap().requests.len(), 1);
}
