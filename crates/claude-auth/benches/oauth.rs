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
//! - `refresh_paired` (not criterion; printed at the end): the same (a) and
//!   (b), disk and tmpfs, run back to back in each of 400 rounds
//!   (`BENCH_REFRESH_ROUNDS`), so that the machine's changing load hits them
//!   alike; medians and the median of the per-round differences.
//! - `waiters` (not criterion; printed at the end): 1,000 tasks call
//!   `credential()` on an expired token while the token endpoint holds its
//!   answer 50 ms, on a 2-worker runtime; the spread between the first and
//!   the last return, over 20 repetitions (`BENCH_WAITERS_REPS`;
//!   `BENCH_WAITERS_DEBUG=1` prints where the returns fall). Then the same
//!   hand-off modelled without files or HTTP: a FIFO `tokio::sync::Mutex`
//!   (what the manager's single flight does) against a `watch` broadcast.
//!
//! ```sh
//! cargo bench -p claude-auth --bench oauth              # everything
//! cargo bench -p claude-auth --bench oauth -- refresh   # criterion filter
//! cargo bench -p claude-auth --bench oauth -- refresh_paired  # only the paired refresh
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
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
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
        id_token: None,
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
    open_browser: bool,
    at: Mutex<Option<Instant>>,
    notify: tokio::sync::Notify,
}

impl LoginEvents for ReadyProbe {
    fn ready(&self, browser_url: &str, _manual_url: Option<&str>) {
        if self.open_browser {
            let opened = claude_auth::oauth::browser::open(browser_url, &self.env);
            assert!(opened.is_some(), "BROWSER=true did not run");
        }
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
        open_browser: true,
        at: Mutex::new(None),
        notify: tokio::sync::Notify::new(),
    };
    let probe_no_browser = ReadyProbe {
        env: env.clone(),
        open_browser: false,
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
    for (name, probe) in [
        (
            "login() start -> ready (callback listening, browser launched)",
            &probe,
        ),
        (
            "login() start -> ready, browser not opened (--no-browser)",
            &probe_no_browser,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += rt.block_on(async {
                        let start = Instant::now();
                        login_until_ready(&request, &client, probe, start).await
                    });
                }
                total
            });
        });
    }
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
                let port = black_box(s.port);
                drop(s);
                // Let the runtime reap the aborted accept tasks (and their
                // sockets) before the next iteration.
                tokio::task::yield_now().await;
                port
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

/// The baseline the refresh overhead is measured against: a plain reqwest
/// client set up as the manager's, POSTing the JSON body the manager sends.
struct RawRefresh {
    client: reqwest::Client,
    url: String,
    body: String,
}

impl RawRefresh {
    fn new(url: &str) -> RawRefresh {
        let client = reqwest::Client::builder()
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
        RawRefresh {
            client,
            url: url.to_owned(),
            body,
        }
    }

    async fn post(&self) -> bytes::Bytes {
        let resp = self
            .client
            .post(&self.url)
            .header("accept", "application/json")
            .header("anthropic-beta", "oauth-2025-04-20")
            .header("content-type", "application/json")
            .body(self.body.clone())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        resp.bytes().await.unwrap()
    }
}

/// The spec's refresh (JSON, OAuth beta header) as the token client sends it.
fn refresh_request(token_url: &str) -> (Endpoint, Grant) {
    let endpoint = Endpoint {
        url: token_url.to_owned(),
        encoding: Encoding::Json,
        client_id: Some(CLIENT_ID.into()),
        client_secret: None,
        headers: [("anthropic-beta".to_owned(), "oauth-2025-04-20".to_owned())].into(),
    };
    let grant = Grant::Refresh {
        refresh_token: Secret::new(REFRESH),
        scope: None,
    };
    (endpoint, grant)
}

fn refresh_benches(c: &mut Criterion) {
    let server = start_token_server(Duration::ZERO);
    let token_url = format!("{}/v1/oauth/token", server.base_url);
    let rt = runtime_2_workers();

    let mut g = c.benchmark_group("refresh");

    // (a) a raw reqwest POST of the body the manager sends.
    let raw = RawRefresh::new(&token_url);
    let raw_post = || async { black_box(raw.post().await) };
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
    let (endpoint, grant) = refresh_request(&token_url);
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
        if label.starts_with("tmpfs") {
            refresh_parts(&mut g, &rt, home.path(), &server.base_url);
        }
    }
    g.finish();
}

/// The steps of a forced refresh other than the POST, one by one (tmpfs
/// HOME): where the overhead beyond the round trip goes.
fn refresh_parts(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    home: &Path,
    base_url: &str,
) {
    let resolver = Resolver::new(env_for(home, base_url)).unwrap();
    let opts = claude_auth::ResolveOptions::default();
    g.bench_function("part: Resolver::resolve (slow path start)", |b| {
        b.iter(|| black_box(resolver.resolve(&opts)));
    });
    g.bench_function("part: Resolver::load_profile (each of 3 re-reads)", |b| {
        b.iter(|| black_box(resolver.load_profile("default").unwrap()));
    });
    let lock = home.join(".config/anthropic/credentials/default.json.lock");
    g.bench_function("part: spawn_blocking(FileLock::acquire) + release", |b| {
        b.iter(|| {
            rt.block_on(async {
                let l = lock.clone();
                let guard = tokio::task::spawn_blocking(move || {
                    claude_auth::lock::FileLock::acquire(&l, Duration::from_secs(60))
                })
                .await
                .unwrap()
                .unwrap();
                drop(guard);
            })
        });
    });
    let files = resolver.profile_files();
    let (_, set) = match resolver
        .load_profile("default")
        .unwrap()
        .unwrap()
        .credential
    {
        Some(Credential::OAuth(set)) => ((), set),
        _ => panic!("not an OAuth profile"),
    };
    g.bench_function("part: ProfileFiles::write_credentials (persist)", |b| {
        b.iter(|| black_box(files.write_credentials("default", &set).unwrap()));
    });
    let state = home.join(".config/claude-auth/state/profile-default.json");
    g.bench_function("part: RefreshState::update (last_refresh_at)", |b| {
        b.iter(|| {
            claude_auth::refresh_state::RefreshState::update(&state, |s| {
                s.last_refresh_at = Some(now_unix());
            })
            .unwrap()
        });
    });
}

// ---------------------------------------------------------------------------
// 1,000 waiters on one refresh.

struct WaitersRun {
    spread: Duration,
    first_after_answer: Duration,
    after_answer: Duration,
}

/// When each task got its credential. Tasks write here instead of being
/// joined one by one, so the bench's own thread is woken once (by the last)
/// rather than once per task, competing with the two workers for the CPUs.
#[derive(Clone)]
struct Returns {
    base: Instant,
    at: Arc<Vec<std::sync::atomic::AtomicU64>>,
    next: Arc<AtomicUsize>,
    remaining: Arc<AtomicUsize>,
    done: Arc<tokio::sync::Notify>,
}

impl Returns {
    fn new(n: usize) -> Returns {
        Returns {
            base: Instant::now(),
            at: Arc::new(
                (0..n)
                    .map(|_| std::sync::atomic::AtomicU64::new(0))
                    .collect(),
            ),
            next: Arc::new(AtomicUsize::new(0)),
            remaining: Arc::new(AtomicUsize::new(n)),
            done: Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn record(&self) {
        let nanos = self.base.elapsed().as_nanos() as u64;
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.at[i].store(nanos, Ordering::Relaxed);
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }

    async fn all(&self) -> Vec<Instant> {
        self.done.notified().await;
        self.at
            .iter()
            .map(|n| self.base + Duration::from_nanos(n.load(Ordering::Relaxed)))
            .collect()
    }
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
    if std::env::var_os("BENCH_WAITERS_DEBUG").is_some() {
        eprintln!(
            "debug: credential() future is {} bytes",
            std::mem::size_of_val(&manager.credential())
        );
    }
    let rt = runtime_2_workers();
    let returns = Returns::new(tasks);
    let instants: Vec<Instant> = rt.block_on(async {
        for _ in 0..tasks {
            let (m, r) = (manager.clone(), returns.clone());
            tokio::spawn(async move {
                let c = m.credential().await.unwrap();
                r.record();
                assert_eq!(c.secret().expose(), ACCESS);
            });
        }
        returns.all().await
    });
    // One refresh for all of them.
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    let answered = server.answered.lock().unwrap()[0];
    let first = *instants.iter().min().unwrap();
    let last = *instants.iter().max().unwrap();
    if std::env::var_os("BENCH_WAITERS_DEBUG").is_some() {
        let mut off: Vec<f64> = instants
            .iter()
            .map(|i| (*i - first).as_secs_f64() * 1e6)
            .collect();
        off.sort_by(f64::total_cmp);
        let gaps: Vec<(usize, f64)> = off.windows(2).map(|w| w[1] - w[0]).enumerate().collect();
        let big = gaps
            .iter()
            .cloned()
            .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        eprintln!("debug: offsets us p1 {:.0} p10 {:.0} p50 {:.0} p90 {:.0} p100 {:.0}; biggest gap {:.0} us after #{}", off[10], off[100], off[500], off[900], off[off.len()-1], big.1, big.0);
    }
    drop(rt);
    WaitersRun {
        spread: last - first,
        first_after_answer: first.saturating_duration_since(answered),
        after_answer: last.saturating_duration_since(answered),
    }
}

/// A model of the hand-off, without files or HTTP: `tasks` callers find no
/// fresh credential while a "refresh" holds for `hold`, then each returns.
/// `fifo_mutex`: they queue on a `tokio::sync::Mutex` and re-check one after
/// the other (what `AuthManager`'s single flight does); otherwise they wait
/// on a `tokio::sync::watch` and all wake at once, then read the shared
/// credential (a suggested alternative). Returns last − first return (the
/// refresher's return included, as in the real run).
fn waiters_model(tasks: usize, hold: Duration, fifo_mutex: bool) -> Duration {
    type Current = Arc<std::sync::RwLock<Option<Arc<String>>>>;
    let rt = runtime_2_workers();
    let returns = Returns::new(tasks + 1);
    let instants = rt.block_on(async move {
        let current: Current = Arc::new(std::sync::RwLock::new(None));
        let flight = Arc::new(tokio::sync::Mutex::new(()));
        let (tx, rx) = tokio::sync::watch::channel(0u64);
        let fast = |c: &Current| c.read().unwrap().as_ref().map(Arc::clone);
        let guard = Arc::clone(&flight).lock_owned().await;
        {
            let (current, r) = (Arc::clone(&current), returns.clone());
            tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                *current.write().unwrap() = Some(Arc::new(ACCESS.to_owned()));
                drop(guard);
                let _ = tx.send(1);
                r.record();
            });
        }
        for _ in 0..tasks {
            let (current, flight, mut rx, r) = (
                Arc::clone(&current),
                Arc::clone(&flight),
                rx.clone(),
                returns.clone(),
            );
            tokio::spawn(async move {
                if fifo_mutex {
                    if fast(&current).is_none() {
                        let _g = flight.lock().await;
                        black_box(fast(&current).unwrap());
                    }
                } else {
                    while fast(&current).is_none() {
                        rx.changed().await.unwrap();
                    }
                }
                r.record();
            });
        }
        returns.all().await
    });
    *instants.iter().max().unwrap() - *instants.iter().min().unwrap()
}

/// The refresh overhead measured paired: each round runs (a) a raw POST,
/// the token client, and (b) a forced refresh with HOME on disk and on tmpfs,
/// back to back, so that drift in the machine's load hits all alike. Prints
/// the medians and the median of the per-round differences.
fn refresh_paired(test_mode: bool) {
    let rounds: usize = if test_mode {
        3
    } else {
        std::env::var("BENCH_REFRESH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400)
    };
    let server = start_token_server(Duration::ZERO);
    let token_url = format!("{}/v1/oauth/token", server.base_url);
    let rt = runtime_2_workers();
    let raw = RawRefresh::new(&token_url);
    let client = TokenClient::new().unwrap();
    let (endpoint, grant) = refresh_request(&token_url);
    let disk = tempfile::tempdir().unwrap();
    let shm = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    write_profile(disk.path(), ACCESS, now_unix() + 28800);
    write_profile(shm.path(), ACCESS, now_unix() + 28800);
    let m_disk = manager_for(disk.path(), &server.base_url);
    let m_shm = manager_for(shm.path(), &server.base_url);
    let rejected = Secret::new(ACCESS);
    let names = [
        "(a) raw reqwest POST",
        "TokenClient::request",
        "(b) force_refresh, HOME on disk",
        "(b) force_refresh, HOME on tmpfs",
    ];
    let mut t: [Vec<f64>; 4] = Default::default();
    rt.block_on(async {
        for round in 0..=rounds {
            let mut d = [0f64; 4];
            let start = Instant::now();
            black_box(raw.post().await);
            d[0] = start.elapsed().as_secs_f64();
            let start = Instant::now();
            black_box(client.request(&endpoint, &grant).await.unwrap());
            d[1] = start.elapsed().as_secs_f64();
            let start = Instant::now();
            assert!(m_disk.force_refresh(&rejected).await.unwrap().refreshed);
            d[2] = start.elapsed().as_secs_f64();
            let start = Instant::now();
            assert!(m_shm.force_refresh(&rejected).await.unwrap().refreshed);
            d[3] = start.elapsed().as_secs_f64();
            if round > 0 {
                // Round 0 warms connections and files.
                for (v, x) in t.iter_mut().zip(d) {
                    v.push(x * 1e6);
                }
            }
        }
    });
    if test_mode {
        println!("Testing refresh_paired\nSuccess");
        return;
    }
    let q = |v: &[f64], p: f64| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
    };
    let diff =
        |i: usize, j: usize| -> Vec<f64> { t[i].iter().zip(&t[j]).map(|(a, b)| a - b).collect() };
    println!("refresh_paired: {rounds} rounds, each: raw POST, TokenClient, force_refresh disk, force_refresh tmpfs");
    let mut json = format!("\"rounds\":{rounds}");
    for (i, name) in names.iter().enumerate() {
        let (m, p90) = (q(&t[i], 0.5), q(&t[i], 0.9));
        println!("refresh_paired: {name:<34} median {m:9.1} us  p90 {p90:9.1} us");
        json.push_str(&format!(
            ",\"{}_median_us\":{m:.1},\"{}_p90_us\":{p90:.1}",
            i, i
        ));
    }
    for (label, i, j) in [
        ("(b) disk - (a)", 2, 0),
        ("(b) tmpfs - (a)", 3, 0),
        ("disk - tmpfs (fsync and journal)", 2, 3),
        ("TokenClient - (a)", 1, 0),
    ] {
        let dv = diff(i, j);
        let m = q(&dv, 0.5);
        println!("refresh_paired: {label:<34} median of per-round differences {m:9.1} us");
        json.push_str(&format!(",\"diff_{i}_{j}_median_us\":{m:.1}"));
    }
    println!("BENCH_JSON {{{json}}}");
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
    let mut first: Vec<f64> = runs
        .iter()
        .map(|r| r.first_after_answer.as_secs_f64() * 1e3)
        .collect();
    let (sm, am, fm) = (med(&mut spread), med(&mut after), med(&mut first));
    let (sx, ax, fx) = (
        spread[spread.len() - 1],
        after[after.len() - 1],
        first[first.len() - 1],
    );
    println!(
        "waiters: {tasks} tasks, credential() on an expired token, endpoint holds {} ms, 2-worker runtime, {reps} repetitions",
        hold.as_millis()
    );
    println!("waiters: last - first return:            median {sm:.3} ms, max {sx:.3} ms");
    println!("waiters: first return - endpoint answered: median {fm:.3} ms, max {fx:.3} ms (the refresher: parse, persist, state)");
    println!("waiters: last return - endpoint answered: median {am:.3} ms, max {ax:.3} ms");
    let mut models = String::new();
    for (name, fifo) in [("fifo_mutex", true), ("watch_broadcast", false)] {
        let mut v: Vec<f64> = (0..reps)
            .map(|_| waiters_model(tasks, hold, fifo).as_secs_f64() * 1e3)
            .collect();
        let m = med(&mut v);
        let x = v[v.len() - 1];
        println!("waiters: model {name:<16} last - first: median {m:.3} ms, max {x:.3} ms");
        models.push_str(&format!(
            ",\"model_{name}_median_ms\":{m:.4},\"model_{name}_max_ms\":{x:.4}"
        ));
    }
    println!(
        "BENCH_JSON {{\"waiters\":{tasks},\"reps\":{reps},\"spread_median_ms\":{sm:.4},\"spread_max_ms\":{sx:.4},\"after_answer_median_ms\":{am:.4},\"after_answer_max_ms\":{ax:.4},\"first_after_answer_median_ms\":{fm:.4},\"first_after_answer_max_ms\":{fx:.4}{models}}}"
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
    let custom = matches!(filter, Some("waiters" | "refresh_paired"));
    if !custom {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(30)
            .configure_from_args();
        login_benches(&mut c);
        refresh_benches(&mut c);
        c.final_summary();
    }
    if filter.is_none() || filter == Some("refresh_paired") {
        refresh_paired(test_mode);
    }
    if filter.is_none() || filter == Some("waiters") {
        waiters(test_mode);
    }
}
