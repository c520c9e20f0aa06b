//! The ChatGPT refresh of Codex's `auth.json`: its overhead beside the raw
//! POST, on loopback (issue 10, "the refresh overhead beside the raw POST as
//! for Claude"; the Claude side is `benches/oauth.rs`, `refresh_paired`).
//!
//! Each of 400 rounds (`BENCH_REFRESH_ROUNDS`) runs back to back, so the
//! machine's changing load hits all alike:
//! - (a) a raw `reqwest` POST of the JSON refresh body to a loopback token
//!   endpoint answering a fixed `{id_token, access_token, refresh_token}`;
//! - (b) `AuthManager::force_refresh` on the OpenAI chain over Codex's
//!   `$CODEX_HOME/auth.json` (a ChatGPT login) in a temp HOME: our lock,
//!   Codex's `auth.lock`, re-read, POST, Codex's `auth.json.lock`, atomic
//!   write with fsync (keeping every key), with the HOME on the disk (`/tmp`)
//!   and on tmpfs (`/dev/shm`, where fsync costs nothing).
//!
//! Prints the medians and the medians of the per-round differences.
//!
//! ```sh
//! cargo bench -p claude-auth --bench openai_refresh
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::convert::Infallible;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use claude_auth::credential::now_unix;
use claude_auth::openai::auth_file::{CodexAuth, CodexAuthFile, CodexTokens};
use claude_auth::openai::chatgpt::CLIENT_ID;
use claude_auth::{AuthManager, Env, ManagerOptions, Provider, Resolver, Secret, Settings};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const REFRESH: &str = "rt_bench_0123456789abcdef0123456789abcdef";

fn jwt(claims: &serde_json::Value) -> String {
    let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(&serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        enc(claims),
        URL_SAFE_NO_PAD.encode(b"bench-signature")
    )
}

/// The login the endpoint hands out (and the file starts with): a day long,
/// so only forced refreshes run.
fn tokens() -> (String, String) {
    let exp = now_unix() + 86_400;
    let auth = serde_json::json!({
        "chatgpt_account_id": "acct-bench",
        "chatgpt_plan_type": "pro",
        "chatgpt_user_id": "user-bench",
    });
    let id = jwt(&serde_json::json!({
        "email": "bench@example.com", "exp": exp, "https://api.openai.com/auth": auth,
    }));
    let access = jwt(&serde_json::json!({"exp": exp, "https://api.openai.com/auth": auth}));
    (id, access)
}

struct TokenServer {
    issuer: String,
    hits: Arc<AtomicUsize>,
}

fn start_token_server(body: String) -> TokenServer {
    let hits = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let h = Arc::clone(&hits);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .await
                    .unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let body = Bytes::from(body);
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let _ = stream.set_nodelay(true);
                let (h, body) = (Arc::clone(&h), body.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (h, body) = (Arc::clone(&h), body.clone());
                        async move {
                            let _ = req.into_body().collect().await;
                            h.fetch_add(1, Ordering::SeqCst);
                            let mut resp = Response::new(Full::new(body));
                            resp.headers_mut()
                                .insert("content-type", "application/json".parse().unwrap());
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    let addr = rx.recv().unwrap();
    TokenServer {
        issuer: format!("http://{addr}"),
        hits,
    }
}

/// Codex's auth.json with the login, in `home/.codex`, and a manager on the
/// OpenAI chain that refreshes against `issuer`.
fn manager_for(home: &Path, issuer: &str, id: &str, access: &str) -> AuthManager {
    let codex_home = home.join(".codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let tokens = CodexTokens::new(
        Secret::new(id),
        Secret::new(access),
        Secret::new(REFRESH),
        Some("acct-bench".into()),
    );
    CodexAuthFile::new(codex_home.join("auth.json"))
        .save(&CodexAuth::chatgpt(tokens, now_unix()))
        .unwrap();
    let env = Env::empty()
        .with("HOME", home.display().to_string())
        .with("PATH", "/usr/bin:/bin")
        .with("CODEX_HOME", codex_home.display().to_string())
        .with("CLAUDE_AUTH_OPENAI_ISSUER", issuer);
    let settings = Settings::load(&env).unwrap();
    let options = ManagerOptions {
        forced_refresh_cooldown: Some(Duration::ZERO),
        ..ManagerOptions::default()
    };
    AuthManager::new(
        Resolver::for_provider(env, settings, Provider::Openai),
        options,
    )
    .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let test_mode = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test");
    let rounds: usize = if test_mode {
        3
    } else {
        std::env::var("BENCH_REFRESH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400)
    };
    let (id, access) = tokens();
    let body =
        serde_json::json!({"id_token": id, "access_token": access, "refresh_token": REFRESH})
            .to_string();
    let server = start_token_server(body);
    let token_url = format!("{}/oauth/token", server.issuer);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let raw_body = serde_json::json!({
        "client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": REFRESH,
    })
    .to_string();
    let disk = tempfile::tempdir().unwrap();
    let shm = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let m_disk = manager_for(disk.path(), &server.issuer, &id, &access);
    let m_shm = manager_for(shm.path(), &server.issuer, &id, &access);
    let rejected = Secret::new(access.clone());
    let names = [
        "(a) raw reqwest POST",
        "(b) force_refresh, Codex auth.json on disk",
        "(b) force_refresh, Codex auth.json on tmpfs",
    ];
    let mut t: [Vec<f64>; 3] = Default::default();
    let before = server.hits.load(Ordering::SeqCst);
    rt.block_on(async {
        for round in 0..=rounds {
            let mut d = [0f64; 3];
            let start = Instant::now();
            let resp = client
                .post(&token_url)
                .header("content-type", "application/json")
                .body(raw_body.clone())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            black_box(resp.bytes().await.unwrap());
            d[0] = start.elapsed().as_secs_f64();
            let start = Instant::now();
            assert!(m_disk.force_refresh(&rejected).await.unwrap().refreshed);
            d[1] = start.elapsed().as_secs_f64();
            let start = Instant::now();
            assert!(m_shm.force_refresh(&rejected).await.unwrap().refreshed);
            d[2] = start.elapsed().as_secs_f64();
            if round > 0 {
                for (v, x) in t.iter_mut().zip(d) {
                    v.push(x * 1e6);
                }
            }
        }
    });
    // Every call really reached the endpoint.
    assert_eq!(
        server.hits.load(Ordering::SeqCst) - before,
        3 * (rounds + 1)
    );
    if test_mode {
        println!("Testing openai_refresh\nSuccess");
        return;
    }
    let q = |v: &[f64], p: f64| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
    };
    println!(
        "openai_refresh: {rounds} rounds, each: raw POST, force_refresh disk, force_refresh tmpfs"
    );
    for (i, name) in names.iter().enumerate() {
        let (m, p90) = (q(&t[i], 0.5), q(&t[i], 0.9));
        println!("openai_refresh: {name:<44} median {m:9.1} us  p90 {p90:9.1} us");
    }
    for (label, i, j) in [
        ("(b) disk - (a)", 1, 0),
        ("(b) tmpfs - (a)", 2, 0),
        ("disk - tmpfs (fsync and journal)", 1, 2),
    ] {
        let dv: Vec<f64> = t[i].iter().zip(&t[j]).map(|(a, b)| a - b).collect();
        let m = q(&dv, 0.5);
        println!("openai_refresh: {label:<44} median of per-round differences {m:9.1} us");
    }
}
