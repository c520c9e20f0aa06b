//! OAuth login start-up and refresh costs, on loopback.
//!
//! - `login/*`: from the start of `oauth::login::login` to "the callback is
//!   listening and the browser was launched" (`LoginEvents::ready`, which
//!   opens the browser as the CLI's does, with `BROWSER=true`: a real
//!   fork/exec of a no-op command), then the login future is dropped. Also
//!   each step alone, and the CLI's path (its current-thread runtime and its
//!   `TokenClient::new()` before `login`).
//! - `refresh/*`: against a loopback token endpoint answering a fixed JSON
//!   token response (a tiny hyper server on its own thread): a raw `reqwest`
//!   POST of the same body, the library's `TokenClient::request`, and a full
//!   `AuthManager::force_refresh` on a spec profile in a temp HOME (lock file,
//!   re-read, POST, atomic persist with fsync, refresh-state update), with
//!   the HOME on the disk (`/tmp`, real fsync) and on tmpfs (`/dev/shm`, where
//!   fsync costs nothing), plus one `write_atomic` of the credentials file.
//! - `waiters` (not criterion; printed at the end): 1,000 tasks call
//!   `credential()` on an expired token while the token endpoint holds its
//!   answer 50 ms, on a 2-worker runtime; the spread between the first and
//!   the last return, over 20 repetitions (`BENCH_WAITERS_REPS`).
//!
//! ```sh
//! cargo bench -p claude-auth --bench oauth              # everything
//! cargo bench -p claude-auth --bench oauth -- refresh   # criterion filter
//! cargo bench -p claude-auth --bench oauth -- waiters   # only the waiters
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::convert::Infallible;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use claude_auth::credential::{now_unix, Identity};
use claude_auth::oauth::authorize::authorize_url;
use claude_auth::oauth::callback::CallbackServer;
use claude_auth::oauth::login::{login, LoginEvents, LoginRequest};
use claude_auth::oauth::pkce::PkcePair;
use claude_auth::oauth::token_client::{Endpoint, Grant, TokenClient, USER_AGENT};
use claude_auth::provider::{Encoding, Presets, ProviderPreset};
use claude_auth::store::profile_files::ProfileFiles;
use claude_auth::store::CredentialStore;
use claude_auth::{
    AuthManager, Credential, Env, ManagerOptions, Provider, Resolver, Secret, TokenSet,
};
use criterion::Criterion;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

// ---------------------------------------------------------------------------
// A fixed-response token endpoint on loopback, on its own thread and runtime.

const ACCESS: &str = "sk-ant-oat01-BENCHaccessBENCHaccessBENCHaccessBENCHaccess";
const REFRESH: &str = "sk-ant-ort01-BENCHrefreshBENCHrefreshBENCHrefresh";
const CLIENT_ID: &str = "bench-client"; // not a preset: the spec's endpoint is used

fn token_json() -> String {
    format!(
        r#"{{"access_token":"{ACCESS}","refresh_token":"{REFRESH}","expires_in":28800,"token_type":"Bearer","scope":"user:inference user:profile"}}"#
    )
}

struct TokenServer {
    base_url: String,
    hits: Arc<AtomicUsize>,
    /// When each response was handed to hyper (after the hold).
    answered: Arc<Mutex<Vec<Instant>>>,
}

fn start_token_server(hold: Duration) -> TokenServer {
    let hits = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let (h, a) = (Arc::clone(&hits), Arc::clone(&answered));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .await
                .unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let body = Bytes::from(token_json());
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let _ = stream.set_nodelay(true);
                let (h, a, body) = (Arc::clone(&h), Arc::clone(&a), body.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (h, a, body) = (Arc::clone(&h), Arc::clone(&a), body.clone());
                        async move {
                            let _ = req.into_body().collect().await;
                            h.fetch_add(1, Ordering::SeqCst);
                            if !hold.is_zero() {
                                tokio::time::sleep(hold).await;
                            }
                            a.lock().unwrap().push(Instant::now());
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
        base_url: format!("http://{addr}"),
        hits,
        answered,
    }
}

// ---------------------------------------------------------------------------
// A spec profile in a temp HOME.

fn write_profile(home: &Path, access: &str, expires_at: u64) {
    let files = ProfileFiles::new(home.join(".config").join("anthropic"));
    let set = TokenSet {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(REFRESH)),
        expires_at: Some(expires_at),
        scopes: vec!["user:inference".into(), "user:profile".into()],
        identity: Identity {
            email: Some("bench@example.com".into()),
            organization_uuid: Some("org-bench".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some(CLIENT_ID.into()),
    };
    files.save("default", &Credential::OAuth(set)).unwrap();
}

fn env_for(home: &Path, base_url: &str) -> Env {
    Env::empty()
        .with("HOME", home.display().to_string())
        .with("PATH", "/usr/bin:/bin")
        .with("LANG", "C.UTF-8")
        .with("ANTHROPIC_BASE_URL", base_url)
}

fn manager_for(home: &Path, base_url: &str) -> AuthManager {
    AuthManager::new(
        Resolver::new(env_for(home, base_url)).unwrap(),
        ManagerOptions::default(),
    )
    .unwrap()
}

fn runtime_2_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Login up to "ready".

/// Opens the browser the CLI's way and records when that returned.
struct ReadyProbe {
    env: Env,
    at: Mutex<Option<Instant>>,
    notify: tokio::sync::Notify,
}

impl LoginEvents for ReadyProbe {
    fn ready(&self, browser_url: &str, _manual_url: Option<&str>) {
        let opened = claude_auth::oauth::browser::open(browser_url, &self.env);
        assert!(opened.is_some(), "BROWSER=true did not run");
        *self.at.lock().unwrap() = Some(Instant::now());
        self.notify.notify_one();
    }
    fn ignored(&self, _why: &str) {}
    fn exchanging(&self) {}
}

/// Run `login()` until `ready`, then drop it; the time from the call to the
/// end of `ready` (browser launched).
async fn login_until_ready(
    request: &LoginRequest,
    client: &TokenClient,
    probe: &ReadyProbe,
    start: Instant,
) -> Duration {
    let no_paste: Option<tokio::io::BufReader<tokio::io::Empty>> = None;
    tokio::select! {
        r = login(request, client, probe, no_paste) => panic!("login ended: {:?}", r.err()),
        () = probe.notify.notified() => {}
    }
    let at = probe.at.lock().unwrap().take().unwrap();
    at - start
}

fn login_benches(c: &mut Criterion) {
    let presets = Presets::built_in().unwrap();
    // The default provider (`console`): `localhost`, so v4 and v6 listeners,
    // and a manual URL too: two authorize URLs, as in a real login.
    let preset: ProviderPreset = presets.get("console").unwrap().clone();
    let request = LoginRequest {
        preset: preset.clone(),
        callback_port: None,
        timeout: Duration::from_secs(300),
    };
    let env = Env::empty()
        .with("BROWSER", "true")
        .with("PATH", "/usr/bin:/bin");
    let probe = ReadyProbe {
        env: env.clone(),
        at: Mutex::new(None),
        notify: tokio::sync::Notify::new(),
    };
    // The CLI runs login on a current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = TokenClient::new().unwrap();

    let mut g = c.benchmark_group("login");
    g.bench_function("login() start -> ready (callback listening, browser launched)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let start = Instant::now();
                    login_until_ready(&request, &client, &probe, start).await
                });
            }
            total
        });
    });
    g.bench_function(
        "CLI path: runtime + TokenClient::new + login() -> ready",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    total += rt.block_on(async {
                        let client = TokenClient::new().unwrap();
                        login_until_ready(&request, &client, &probe, start).await
                    });
                }
                total
            });
        },
    );
    g.bench_function("step: PkcePair::generate", |b| {
        b.iter(|| black_box(PkcePair::generate().unwrap()));
    });
    let pkce = PkcePair::generate().unwrap();
    g.bench_function("step: CallbackServer::start (v4 + v6) + drop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let s = CallbackServer::start(
                    &preset.redirect_host,
                    &preset.redirect_path,
                    None,
                    pkce.state.clone(),
                )
                .await
                .unwrap();
                black_box(s.port)
            })
        });
    });
    g.bench_function("step: authorize_url x2 (loopback + manual)", |b| {
        let manual = preset.manual_redirect_url.clone().unwrap();
        b.iter(|| {
            black_box(authorize_url(&preset, &pkce, "http://localhost:41234/callback").unwrap());
            black_box(authorize_url(&preset, &pkce, &manual).unwrap())
        });
    });
    let url = authorize_url(&preset, &pkce, "http://localhost:41234/callback").unwrap();
    g.bench_function("step: browser::open with BROWSER=true (fork/exec)", |b| {
        b.iter(|| black_box(claude_auth::oauth::browser::open(&url, &env).unwrap()));
    });
    g.bench_function("step: TokenClient::new (reqwest + rustls client)", |b| {
        b.iter(|| black_box(TokenClient::new().unwrap()));
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// Refresh overhead beyond the round trip.

fn refresh_benches(c: &mut Criterion) {
    let server = start_token_server(Duration::ZERO);
    let token_url = format!("{}/v1/oauth/token", server.base_url);
    let rt = runtime_2_workers();

    let mut g = c.benchmark_group("refresh");

    // (a) a raw reqwest POST of the body the manager sends.
    let raw = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let body = serde_json::json!({
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": CLIENT_ID,
    })
    .to_string();
    let raw_post = || async {
        let resp = raw
            .post(&token_url)
            .header("accept", "application/json")
            .header("anthropic-beta", "oauth-2025-04-20")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        black_box(resp.bytes().await.unwrap())
    };
    g.bench_function("(a) raw reqwest POST (loopback round trip)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                raw_post().await; // connection warm
                let start = Instant::now();
                for _ in 0..iters {
                    raw_post().await;
                }
                start.elapsed()
            })
        });
    });

    // The library's token client alone (serialisation, parse, retry loop).
    let client = TokenClient::new().unwrap();
    let endpoint = Endpoint {
        url: token_url.clone(),
        encoding: Encoding::Json,
        client_id: Some(CLIENT_ID.into()),
        client_secret: None,
        headers: [("anthropic-beta".to_owned(), "oauth-2025-04-20".to_owned())].into(),
    };
    let grant = Grant::Refresh {
        refresh_token: Secret::new(REFRESH),
        scope: None,
    };
    g.bench_function("TokenClient::request (refresh grant)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                client.request(&endpoint, &grant).await.unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(client.request(&endpoint, &grant).await.unwrap());
                }
                start.elapsed()
            })
        });
    });

    // (b) the full forced refresh, HOME on the disk and on tmpfs.
    let mut homes = vec![("disk /tmp", tempfile::tempdir().unwrap())];
    if Path::new("/dev/shm").is_dir() {
        homes.push(("tmpfs /dev/shm", tempfile::tempdir_in("/dev/shm").unwrap()));
    }
    for (label, home) in &homes {
        write_profile(home.path(), ACCESS, now_unix() + 28800);
        let manager = manager_for(home.path(), &server.base_url);
        let rejected = Secret::new(ACCESS);
        g.bench_function(
            format!("(b) AuthManager::force_refresh, HOME on {label}"),
            |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let before = server.hits.load(Ordering::SeqCst);
                        manager.force_refresh(&rejected).await.unwrap();
                        let start = Instant::now();
                        for _ in 0..iters {
                            let o = manager.force_refresh(&rejected).await.unwrap();
                            assert!(o.refreshed);
                        }
                        let elapsed = start.elapsed();
                        // Every call really went to the endpoint.
                        assert_eq!(
                            server.hits.load(Ordering::SeqCst) - before,
                            iters as usize + 1
                        );
                        elapsed
                    })
                });
            },
        );
        let creds = home
            .path()
            .join(".config/anthropic/credentials/default.json");
        let bytes = std::fs::read(&creds).unwrap();
        let scratch = home.path().join("scratch.json");
        g.bench_function(
            format!("write_atomic of the credentials file (fsync file + dir), {label}"),
            |b| {
                b.iter(|| {
                    claude_auth::secure_file::write_atomic(&scratch, black_box(&bytes), 0o600)
                        .unwrap()
                });
            },
        );
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// 1,000 waiters on one refresh.

struct WaitersRun {
    spread: Duration,
    after_answer: Duration,
}

fn waiters_once(tasks: usize, hold: Duration) -> WaitersRun {
    let server = start_token_server(hold);
    let home = tempfile::tempdir().unwrap();
    write_profile(
        home.path(),
        "sk-ant-oat01-BENCHexpiredBENCHexpiredBENCHexpired",
        now_unix() - 60,
    );
    let manager = manager_for(home.path(), &server.base_url);
    let rt = runtime_2_workers();
    let returns: Vec<Instant> = rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let m = manager.clone();
                tokio::spawn(async move {
                    let c = m.credential().await.unwrap();
                    let at = Instant::now();
                    assert_eq!(c.secret().expose(), ACCESS);
                    at
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks);
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    // One refresh for all of them.
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    let answered = server.answered.lock().unwrap()[0];
    let first = *returns.iter().min().unwrap();
    let last = *returns.iter().max().unwrap();
    drop(rt);
    WaitersRun {
        spread: last - first,
        after_answer: last.saturating_duration_since(answered),
    }
}

fn waiters(test_mode: bool) {
    let reps: usize = if test_mode {
        1
    } else {
        std::env::var("BENCH_WAITERS_REPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20)
    };
    let tasks = 1000;
    let hold = Duration::from_millis(50);
    if !test_mode {
        waiters_once(tasks, hold); // warm-up
    }
    let runs: Vec<WaitersRun> = (0..reps).map(|_| waiters_once(tasks, hold)).collect();
    if test_mode {
        println!("Testing waiters\nSuccess");
        return;
    }
    let mut spread: Vec<f64> = runs.iter().map(|r| r.spread.as_secs_f64() * 1e3).collect();
    let mut after: Vec<f64> = runs
        .iter()
        .map(|r| r.after_answer.as_secs_f64() * 1e3)
        .collect();
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let (sm, am) = (med(&mut spread), med(&mut after));
    let (sx, ax) = (spread[spread.len() - 1], after[after.len() - 1]);
    println!(
        "waiters: {tasks} tasks, credential() on an expired token, endpoint holds {} ms, 2-worker runtime, {reps} repetitions",
        hold.as_millis()
    );
    println!("waiters: last - first return:            median {sm:.3} ms, max {sx:.3} ms");
    println!("waiters: last return - endpoint answered: median {am:.3} ms, max {ax:.3} ms");
    println!(
        "BENCH_JSON {{\"waiters\":{tasks},\"reps\":{reps},\"spread_median_ms\":{sm:.4},\"spread_max_ms\":{sx:.4},\"after_answer_median_ms\":{am:.4},\"after_answer_max_ms\":{ax:.4}}}"
    );
}

// ---------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let test_mode = !bench || args.iter().any(|a| a == "--test");
    // The first free argument is criterion's filter; `waiters` selects the
    // custom part only.
    let filter = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str);
    let only_waiters = filter == Some("waiters");
    if !only_waiters {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(30)
            .configure_from_args();
        login_benches(&mut c);
        refresh_benches(&mut c);
        c.final_summary();
    }
    if filter.is_none() || only_waiters {
        waiters(test_mode);
    }
}
