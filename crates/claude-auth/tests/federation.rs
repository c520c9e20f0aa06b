//! Workload identity federation: the jwt-bearer exchange, over real HTTP on
//! loopback. No third-party authorization server implements Anthropic's
//! federation grant, so a minimal token endpoint stands in: it records each
//! request and answers with a short-lived token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, Settings};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

#[derive(Clone, Debug)]
struct Seen {
    path: String,
    beta: String,
    content_type: String,
    body: Value,
}

async fn start_endpoint(seen: Arc<Mutex<Vec<Seen>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: Request<hyper::body::Incoming>| {
                        let seen = Arc::clone(&seen);
                        async move {
                            let header = |k: &str| {
                                req.headers()
                                    .get(k)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_owned()
                            };
                            let (path, beta, content_type) = (
                                req.uri().path().to_owned(),
                                header("anthropic-beta"),
                                header("content-type"),
                            );
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let n = {
                                let mut s = seen.lock().unwrap();
                                s.push(Seen {
                                    path,
                                    beta,
                                    content_type,
                                    body,
                                });
                                s.len()
                            };
                            let answer = format!(
                                r#"{{"access_token":"sk-ant-oat01-federated-{n}","expires_in":60,"token_type":"Bearer"}}"#
                            );
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(answer))))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn jwt_bearer_exchange_rereads_the_identity_file_and_sends_the_spec_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("identity.jwt");
    std::fs::write(&token_file, "eyJidentity-one\n").unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = rt.block_on(start_endpoint(Arc::clone(&seen)));
    let env = Env::empty()
        .with("HOME", tmp.path().display().to_string())
        .with(
            "ANTHROPIC_CONFIG_DIR",
            tmp.path().join("anthropic").display().to_string(),
        )
        .with(
            "CLAUDE_AUTH_CONFIG_DIR",
            tmp.path().join("own").display().to_string(),
        )
        .with("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_123")
        .with("ANTHROPIC_ORGANIZATION_ID", "org-9")
        .with("ANTHROPIC_SERVICE_ACCOUNT_ID", "svac_7")
        .with(
            "ANTHROPIC_IDENTITY_TOKEN_FILE",
            token_file.display().to_string(),
        )
        .with("ANTHROPIC_BASE_URL", base);
    let manager = AuthManager::new(
        Resolver::with_settings(env, Settings::default()),
        ManagerOptions::default(),
    )
    .unwrap();

    let first = rt.block_on(manager.credential()).unwrap();
    assert_eq!(first.secret().expose(), "sk-ant-oat01-federated-1");
    // The platform rotates the identity token; a 60 s token is inside the
    // refresh threshold, so the next call exchanges again with the new file.
    std::fs::write(&token_file, "eyJidentity-two\n").unwrap();
    let second = rt.block_on(manager.credential()).unwrap();
    assert_eq!(second.secret().expose(), "sk-ant-oat01-federated-2");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for (request, assertion) in seen.iter().zip(["eyJidentity-one", "eyJidentity-two"]) {
        assert_eq!(request.path, "/v1/oauth/token");
        assert_eq!(request.beta, "oauth-2025-04-20,oidc-federation-2026-04-01");
        assert!(
            request.content_type.starts_with("application/json"),
            "{}",
            request.content_type
        );
        assert_eq!(
            request.body,
            serde_json::json!({
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
                "federation_rule_id": "fdrl_123",
                "organization_id": "org-9",
                "service_account_id": "svac_7",
            })
        );
    }
}

#[test]
fn an_identity_token_over_16_kib_is_refused_before_sending() {
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("identity.jwt");
    std::fs::write(&token_file, "x".repeat(16 * 1024 + 1)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = rt.block_on(start_endpoint(Arc::clone(&seen)));
    let env = Env::empty()
        .with("HOME", tmp.path().display().to_string())
        .with("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_123")
        .with("ANTHROPIC_ORGANIZATION_ID", "org-9")
        .with(
            "ANTHROPIC_IDENTITY_TOKEN_FILE",
            token_file.display().to_string(),
        )
        .with("ANTHROPIC_BASE_URL", base);
    let manager = AuthManager::new(
        Resolver::with_settings(env, Settings::default()),
        ManagerOptions::default(),
    )
    .unwrap();
    let err = rt.block_on(manager.credential()).unwrap_err().to_string();
    assert!(err.contains("over 16 KiB"), "{err}");
    assert!(seen.lock().unwrap().is_empty());
}
