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

/// The stand-in answers `sk-ant-oat01-federated-<n>` (n counts requests),
/// valid for `expires_in` seconds.
async fn start_endpoint(seen: Arc<Mutex<Vec<Seen>>>, expires_in: u64) -> String {
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
                                r#"{{"access_token":"sk-ant-oat01-federated-{n}","expires_in":{expires_in},"token_type":"Bearer"}}"#
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
    let base = rt.block_on(start_endpoint(Arc::clone(&seen), 20));
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
    let manager = new_manager(&env);

    let first = rt.block_on(manager.credential()).unwrap();
    assert_eq!(first.secret().expose(), "sk-ant-oat01-federated-1");
    // The platform rotates the identity token; a 20 s token is inside the
    // 30 s federation margin, so the next call exchanges again with the new file.
    std::fs::write(&token_file, "eyJidentity-two\n").unwrap();
    let second = rt.block_on(manager.credential()).unwrap();
    assert_eq!(second.secret().expose(), "sk-ant-oat01-federated-2");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    // Federation from the environment is cached in memory only.
    assert!(!tmp.path().join("anthropic/credentials").exists());
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
    let base = rt.block_on(start_endpoint(Arc::clone(&seen), 60));
    let env = Env::empty()
        .with("HOME", tmp.path().display().to_string())
        .with("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_123")
        .with("ANTHROPIC_ORGANIZATION_ID", "org-9")
        .with(
            "ANTHROPIC_IDENTITY_TOKEN_FILE",
            token_file.display().to_string(),
        )
        .with("ANTHROPIC_BASE_URL", base);
    let manager = new_manager(&env);
    let err = rt.block_on(manager.credential()).unwrap_err().to_string();
    assert!(err.contains("over 16 KiB"), "{err}");
    assert!(seen.lock().unwrap().is_empty());
}

/// A temp HOME with an `oidc_federation` profile `fed` (active) whose base
/// URL is `base`.
fn federation_profile(tmp: &std::path::Path, base: &str) -> Env {
    let dir = tmp.join("anthropic");
    std::fs::create_dir_all(dir.join("configs")).unwrap();
    let token_file = tmp.join("identity.jwt");
    std::fs::write(&token_file, "eyJidentity\n").unwrap();
    let config = serde_json::json!({
        "version": "1.0",
        "authentication": {
            "type": "oidc_federation",
            "federation_rule_id": "fdrl_1",
            "identity_token": {"source": "file", "path": token_file},
        },
        "organization_id": "org-1",
        "base_url": base,
    });
    std::fs::write(
        dir.join("configs/fed.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("active_config"), "fed").unwrap();
    Env::empty()
        .with("HOME", tmp.display().to_string())
        .with("ANTHROPIC_CONFIG_DIR", dir.display().to_string())
        .with(
            "CLAUDE_AUTH_CONFIG_DIR",
            tmp.join("own").display().to_string(),
        )
}

/// A federation profile against a fresh stand-in answering hour-long tokens.
struct Stage {
    tmp: tempfile::TempDir,
    seen: Arc<Mutex<Vec<Seen>>>,
    rt: tokio::runtime::Runtime,
    env: Env,
}

impl Stage {
    fn new(multi_thread: bool) -> Stage {
        let tmp = tempfile::tempdir().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut builder = if multi_thread {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let rt = builder.enable_all().build().unwrap();
        let base = rt.block_on(start_endpoint(Arc::clone(&seen), 3600));
        let env = federation_profile(tmp.path(), &base);
        Stage { tmp, seen, rt, env }
    }
}

fn new_manager(env: &Env) -> AuthManager {
    AuthManager::new(
        Resolver::with_settings(env.clone(), Settings::default()),
        ManagerOptions::default(),
    )
    .unwrap()
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn an_oidc_federation_profile_caches_the_exchanged_token_in_its_credentials_file() {
    use std::os::unix::fs::PermissionsExt;
    let Stage { tmp, seen, rt, env } = Stage::new(false);
    let cache = tmp.path().join("anthropic/credentials/fed.json");
    let count = || seen.lock().unwrap().len();

    let first = rt.block_on(new_manager(&env).credential()).unwrap();
    assert_eq!(first.secret().expose(), "sk-ant-oat01-federated-1");
    assert_eq!(count(), 1);
    // Written as the SDKs write it: these four keys, 0600 in a 0700 dir.
    let file = read_json(&cache);
    let expires_at = file["expires_at"].as_u64().unwrap();
    let now = claude_auth::credential::now_unix();
    assert!(
        (now + 3590..=now + 3600).contains(&expires_at),
        "{expires_at}"
    );
    assert_eq!(
        file,
        serde_json::json!({
            "version": "1.0",
            "type": "oauth_token",
            "access_token": "sk-ant-oat01-federated-1",
            "expires_at": expires_at,
        })
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o600);
    assert_eq!(mode(cache.parent().unwrap()), 0o700);

    // A new process (a fresh manager) uses the cache: no exchange.
    let manager = new_manager(&env);
    let again = rt.block_on(manager.credential()).unwrap();
    assert_eq!(again.secret().expose(), "sk-ant-oat01-federated-1");
    assert_eq!(count(), 1);

    // After a 401 the cached token is not served again; keys others put in
    // the file are kept.
    let mut with_extra = read_json(&cache);
    with_extra["written_by"] = "someone else".into();
    std::fs::write(&cache, serde_json::to_vec(&with_extra).unwrap()).unwrap();
    let forced = rt.block_on(manager.force_refresh(again.secret())).unwrap();
    assert_eq!(
        forced.credential.secret().expose(),
        "sk-ant-oat01-federated-2"
    );
    assert_eq!(count(), 2);
    let file = read_json(&cache);
    assert_eq!(file["access_token"], "sk-ant-oat01-federated-2");
    assert_eq!(file["written_by"], "someone else");

    // As in the SDKs, a cached token is used until 30 s before it expires
    // (not the 300 s refresh threshold: exchanged tokens live minutes)...
    let mut near = read_json(&cache);
    near["expires_at"] = (now + 100).into();
    std::fs::write(&cache, serde_json::to_vec(&near).unwrap()).unwrap();
    let still = rt.block_on(new_manager(&env).credential()).unwrap();
    assert_eq!(still.secret().expose(), "sk-ant-oat01-federated-2");
    assert_eq!(count(), 2);
    // ...and exchanged anew inside those 30 s.
    near["expires_at"] = (now + 20).into();
    std::fs::write(&cache, serde_json::to_vec(&near).unwrap()).unwrap();
    let fresh = rt.block_on(new_manager(&env).credential()).unwrap();
    assert_eq!(fresh.secret().expose(), "sk-ant-oat01-federated-3");
    assert_eq!(count(), 3);
}

#[test]
fn after_a_401_a_token_another_process_already_exchanged_is_adopted_without_an_exchange() {
    let Stage {
        tmp: _tmp,
        seen,
        rt,
        env,
    } = Stage::new(false);
    let ours = new_manager(&env);
    let first = rt.block_on(ours.credential()).unwrap();
    assert_eq!(first.secret().expose(), "sk-ant-oat01-federated-1");
    // Another process hits the 401 first and exchanges.
    let other = new_manager(&env);
    let theirs = rt.block_on(other.force_refresh(first.secret())).unwrap();
    assert_eq!(
        theirs.credential.secret().expose(),
        "sk-ant-oat01-federated-2"
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
    // Ours then gets the same 401: the cache already holds a newer token.
    let adopted = rt.block_on(ours.force_refresh(first.secret())).unwrap();
    assert_eq!(
        adopted.credential.secret().expose(),
        "sk-ant-oat01-federated-2"
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn eight_managers_starting_together_on_a_federation_profile_exchange_once() {
    let Stage {
        tmp: _tmp,
        seen,
        rt,
        env,
    } = Stage::new(true);
    // Separate managers hold separate locks in-process, as separate
    // processes would: only the cross-process lock and the re-read under it
    // keep them to one exchange.
    let got: Vec<String> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let m = new_manager(&env);
            set.spawn(async move { m.credential().await.unwrap().secret().expose().to_owned() });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    });
    assert_eq!(got, vec!["sk-ant-oat01-federated-1".to_owned(); 8]);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_refused_federation_cache_is_neither_used_nor_replaced_and_the_token_still_works() {
    use std::os::unix::fs::PermissionsExt;
    let valid = format!(
        r#"{{"version":"1.0","type":"oauth_token","access_token":"sk-ant-oat01-cached","expires_at":{}}}"#,
        claude_auth::credential::now_unix() + 3600
    );
    let other_type = valid.replace("oauth_token", "api_key");
    // (what is wrong, file contents, its mode, whether it is a symlink to them)
    let cases = [
        ("group/other bits", valid.as_str(), 0o644, false),
        ("not JSON", "{not json", 0o600, false),
        ("another type", other_type.as_str(), 0o600, false),
        ("a symlink", valid.as_str(), 0o600, true),
    ];
    for (what, contents, mode, symlink) in cases {
        let Stage {
            tmp,
            seen: _seen,
            rt,
            env,
        } = Stage::new(false);
        let cache = tmp.path().join("anthropic/credentials/fed.json");
        std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
        let file = if symlink {
            tmp.path().join("elsewhere.json")
        } else {
            cache.clone()
        };
        std::fs::write(&file, contents).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        if symlink {
            std::os::unix::fs::symlink(&file, &cache).unwrap();
        }
        let got = rt.block_on(new_manager(&env).credential()).unwrap();
        assert_eq!(
            got.secret().expose(),
            "sk-ant-oat01-federated-1",
            "{what}: not used"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            contents,
            "{what}: not replaced"
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            mode,
            "{what}: mode kept"
        );
        assert_eq!(
            std::fs::symlink_metadata(&cache)
                .unwrap()
                .file_type()
                .is_symlink(),
            symlink,
            "{what}: still where it was"
        );
    }
}
