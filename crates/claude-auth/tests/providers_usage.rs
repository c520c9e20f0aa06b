#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `Providers::usage`: "how much is left" in one call. A Claude OAuth token
//! (`CLAUDE_CODE_OAUTH_TOKEN`) against a loopback upstream answering
//! `/api/oauth/usage` and `/api/oauth/profile` in their real shapes: the
//! windows and plan come back, a second call is served from the cache, and
//! a provider without a login is left out.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use claude_auth::providers::Providers;
use claude_auth::usage::SnapshotSource;
use claude_auth::{Env, Provider};

const USAGE: &str = r#"{"five_hour":{"utilization":60.0,"resets_at":null},"seven_day":{"utilization":12,"resets_at":null,"brand_new":true},"seven_day_oauth_apps":null,"extra_usage":{"is_enabled":false},"unknown_future_key":[1]}"#;
const PROFILE: &str =
    r#"{"account":{"email":"me@example.com"},"organization":{"organization_type":"claude_max"}}"#;

async fn upstream(seen: Arc<Mutex<Vec<(String, String)>>>) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    let path = req.uri().path().to_owned();
                    seen.lock().unwrap().push((path.clone(), auth));
                    let (status, body) = match path.as_str() {
                        "/api/oauth/usage" => (200, USAGE),
                        "/api/oauth/profile" => (200, PROFILE),
                        _ => (404, "{}"),
                    };
                    let resp = hyper::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(body.as_bytes())));
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

#[tokio::test]
async fn usage_gives_each_providers_winning_login_in_one_call() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let addr = upstream(Arc::clone(&seen)).await;
    let home = tempfile::tempdir().unwrap();
    let env = Env::empty()
        .with("HOME", home.path().display().to_string())
        .with("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-ProvidersUsageTest")
        .with("ANTHROPIC_BASE_URL", format!("http://{addr}"));
    let providers = Providers::new(env).unwrap();

    let all = providers.usage(None).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let u = &all[0];
    assert_eq!(u.provider, Provider::Anthropic);
    assert_eq!(u.login, "claude-code-oauth-token");
    assert_eq!(u.report.error, None);
    assert_eq!(u.report.plan.as_deref(), Some("max"));
    assert_eq!(u.report.email.as_deref(), Some("me@example.com"));
    let snap = u.report.snapshot.as_ref().unwrap();
    assert_eq!(snap.source, SnapshotSource::Endpoint);
    let windows: Vec<(&str, f64)> = snap
        .windows
        .iter()
        .map(|w| (w.label.as_str(), w.used_percent))
        .collect();
    assert_eq!(windows, vec![("5h", 60.0), ("7d", 12.0)]);
    {
        let seen = seen.lock().unwrap();
        let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, vec!["/api/oauth/usage", "/api/oauth/profile"]);
        assert_eq!(seen[0].1, "Bearer sk-ant-oat01-ProvidersUsageTest");
    }

    // Again within the TTL: from the cache, nothing asked.
    let again = providers.usage(Some(Provider::Anthropic)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].report.snapshot.as_ref().unwrap().windows.len(), 2);
    assert_eq!(seen.lock().unwrap().len(), 2);

    // No OpenAI login: nothing for OpenAI, and nothing asked.
    assert!(providers.usage(Some(Provider::Openai)).await.is_empty());
    assert_eq!(seen.lock().unwrap().len(), 2);
}
