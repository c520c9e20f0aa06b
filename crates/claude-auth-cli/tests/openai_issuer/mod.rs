//! A loopback OAuth issuer in the shape of ChatGPT's (`auth.openai.com`,
//! PROTOCOL.md "OpenAI"), for every test that logs in to or refreshes a
//! ChatGPT login: hyper 1 on its own thread and tokio runtime, state in
//! memory, stopped on drop. Use it as `mod openai_issuer;` from a CLI test,
//! or from the library's tests with
//! `#[path = "../../claude-auth-cli/tests/openai_issuer/mod.rs"] mod openai_issuer;`.
//!
//! | endpoint | behaviour |
//! |---|---|
//! | `GET /oauth/authorize` | checks `response_type=code`, `client_id`, `redirect_uri` (`http://localhost:{1455,1457}/auth/callback` only, like the real issuer; [`Config::redirect_ports`]), `scope` (must hold `openid`), `state`, PKCE (`code_challenge_method=S256`, a 43-char challenge); records the query ([`OpenaiIssuer::authorize_queries`]); answers a consent page (or, with [`Config::auto_approve`], a 302 to the redirect at once). Bad requests: a 400 page with `<p id="rig-error">`, like the rig |
//! | consent page | a form with `prompt=consent` (the rig's browser driver `tests/oauth-rig/browser` clicks it) posting to `/oauth/authorize/decision` → 302 `redirect_uri?code=…&state=…`; its Cancel link `/oauth/txn/<id>/abort` → 302 `redirect_uri?error=access_denied&state=…` |
//! | `POST /oauth/token`, form | `grant_type=authorization_code`: `code` (single use), `redirect_uri` and `client_id` as authorized, `code_verifier` whose S256 is the challenge → `{id_token, access_token, refresh_token}` |
//! | `POST /oauth/token`, JSON | `{client_id, grant_type: "refresh_token", refresh_token}` → all three tokens, the refresh token ROTATED. A rotated token presented again → 401 `{"error":{"code":"refresh_token_reused"}}` (counted in [`Stats::reuses`]); an invalidated one → 401 `refresh_token_invalidated`; an unknown one → 401 `refresh_token_invalidated` too |
//! | `POST /oauth/revoke`, JSON | `{token, token_type_hint: "refresh_token", client_id}` (what Codex 0.171.0 sends on `codex logout`, docs/codex-locks.md item 7) → 200 `{}`; a known refresh token is invalidated from then on (counted in [`Stats::revocations`]), an unknown one answers 200 too (RFC 7009). Not JSON → 400 `invalid_request`; another client → 401 `invalid_client`. Recorded: [`OpenaiIssuer::revoke_requests`]; [`OpenaiIssuer::fail_next_revokes`] |
//! | `POST /api/accounts/deviceauth/usercode` | JSON `{client_id}` → `{device_auth_id, user_code, interval}` |
//! | `POST /api/accounts/deviceauth/token` | JSON `{device_auth_id, user_code}` → 403 (or [`Config::device_pending_status`]) until approved ([`OpenaiIssuer::approve_device`], or [`Config::device_auto_approve_after`] polls), then `{authorization_code, code_challenge, code_verifier}`, exchanged with `redirect_uri={issuer}/deviceauth/callback`; denied → 400 `{"error":"access_denied"}` |
//!
//! Wrong encodings (a JSON code exchange, a form refresh) answer 400
//! `invalid_request`. Tokens: the id token is a JWT with `email` and
//! `"https://api.openai.com/auth": {chatgpt_account_id, chatgpt_plan_type,
//! chatgpt_user_id}`; the access token a JWT with `exp` = now +
//! [`Config::access_ttl`] (negative: born expired) and a unique `jti`; the
//! signature is fake (clients read claims without verifying, as Codex
//! does). Test hooks: [`OpenaiIssuer::mint`] (a login without any flow),
//! [`OpenaiIssuer::stats`], [`OpenaiIssuer::token_requests`],
//! [`OpenaiIssuer::fail_next`], [`OpenaiIssuer::delay_refresh`],
//! [`OpenaiIssuer::invalidate_all`], [`OpenaiIssuer::approve_without_browser`].
//!
//! The real redirect ports are fixed (1455, 1457): tests that listen on them
//! hold [`ports_lock`], a file lock shared by every test process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod handlers;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// Codex's public client id (the only one the issuer accepts by default).
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// The claims namespace of the auth facts.
pub const AUTH_CLAIM: &str = "https://api.openai.com/auth";

/// Who logs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `email`.
    pub email: String,
    /// `chatgpt_account_id`.
    pub account_id: String,
    /// `chatgpt_plan_type`.
    pub plan_type: String,
    /// `chatgpt_user_id`.
    pub user_id: String,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            email: "user@example.com".to_owned(),
            account_id: "0f7a3c1e-5b2d-4e8a-9c61-2d4b8e7f1a90".to_owned(),
            plan_type: "plus".to_owned(),
            user_id: "user-TestUser0001".to_owned(),
        }
    }
}

/// How the issuer behaves (set before [`OpenaiIssuer::start_with`], or
/// change later with [`OpenaiIssuer::configure`]).
#[derive(Clone, Debug)]
pub struct Config {
    /// The client id accepted.
    pub client_id: String,
    /// Who logs in through authorize and the device flow.
    pub account: Account,
    /// Access token lifetime, seconds (negative: already expired).
    pub access_ttl: i64,
    /// Ports allowed in `http://localhost:PORT/auth/callback`.
    pub redirect_ports: Vec<u16>,
    /// Authorize redirects at once instead of showing the consent page.
    pub auto_approve: bool,
    /// `interval` of the device flow, seconds.
    pub device_interval: u64,
    /// Send `interval` as a string (`"1"`) instead of a number.
    pub device_interval_as_string: bool,
    /// What a pending device poll answers: 403 or 404.
    pub device_pending_status: u16,
    /// Approve a device login by itself after this many pending polls.
    pub device_auto_approve_after: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_id: CLIENT_ID.to_owned(),
            account: Account::default(),
            access_ttl: 3600,
            redirect_ports: vec![1455, 1457],
            auto_approve: false,
            device_interval: 1,
            device_interval_as_string: false,
            device_pending_status: 403,
            device_auto_approve_after: None,
        }
    }
}

/// Counters the tests read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Successful code exchanges.
    pub code_exchanges: u64,
    /// Successful refreshes (each rotated a refresh token).
    pub refreshes: u64,
    /// Rotated refresh tokens presented again.
    pub reuses: u64,
    /// Token requests answered >= 400 (reuses included).
    pub failed_token_requests: u64,
    /// Device codes handed out.
    pub device_codes: u64,
    /// Device polls answered (pending or not).
    pub device_polls: u64,
    /// Refresh tokens revoked at `/oauth/revoke` (known and live or
    /// rotated ones; unknown tokens are not counted).
    pub revocations: u64,
}

/// One request to `/oauth/revoke`, as received and answered.
#[derive(Clone, Debug)]
pub struct RevokeRequest {
    /// The body, parsed (`Null` when it was not JSON).
    pub body: Value,
    /// The `content-type` sent.
    pub content_type: String,
    /// The `user-agent` sent.
    pub user_agent: String,
    /// The status answered.
    pub status: u16,
}

/// One request to `/oauth/token`, as received and answered.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `grant_type` (empty when missing).
    pub grant_type: String,
    /// `form`, `json` or the media type sent.
    pub encoding: String,
    /// The status answered.
    pub status: u16,
    /// The body's field names, sorted.
    pub fields: Vec<String>,
}

/// A token set as minted.
#[derive(Clone, Debug)]
pub struct Minted {
    /// The id token (JWT).
    pub id_token: String,
    /// The access token (JWT).
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rt {
    Live,
    Rotated,
    Invalidated,
}

struct PendingCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
}

struct Txn {
    redirect_uri: String,
    state: String,
    challenge: String,
    client_id: String,
}

struct Device {
    /// Handed out as the `seq`-th device code (orders `user_codes`).
    seq: u64,
    user_code: String,
    polls: u32,
    decision: Option<bool>,
    /// Set once approved: (authorization_code, verifier, challenge).
    issued: Option<(String, String, String)>,
}

#[derive(Default)]
struct State {
    config: Config,
    stats: Stats,
    requests: Vec<TokenRequest>,
    authorize_queries: Vec<BTreeMap<String, String>>,
    codes: HashMap<String, PendingCode>,
    txns: HashMap<String, Txn>,
    refresh_tokens: HashMap<String, (Rt, Account)>,
    devices: HashMap<String, Device>,
    fail_next: Vec<(u16, String)>,
    fail_next_revokes: Vec<(u16, String)>,
    revokes: Vec<RevokeRequest>,
    refresh_delay: Duration,
    counter: u64,
}

struct Shared {
    state: Mutex<State>,
    url: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running issuer; stopped on drop.
pub struct OpenaiIssuer {
    /// `http://127.0.0.1:<port>`, the issuer (no trailing slash).
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OpenaiIssuer {
    /// Start with the default [`Config`] on an OS-assigned loopback port.
    pub fn start() -> OpenaiIssuer {
        OpenaiIssuer::start_with(Config::default())
    }

    /// Start with `config`.
    pub fn start_with(config: Config) -> OpenaiIssuer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                config,
                ..State::default()
            }),
            url: url.clone(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serving = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(listener, serving, rx));
        });
        OpenaiIssuer {
            url,
            shared,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Change the configuration.
    pub fn configure(&self, change: impl FnOnce(&mut Config)) {
        change(&mut lock(&self.shared.state).config);
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.state).stats
    }

    /// Every token request so far, in arrival order.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        lock(&self.shared.state).requests.clone()
    }

    /// Every authorize query so far (parameter → value).
    pub fn authorize_queries(&self) -> Vec<BTreeMap<String, String>> {
        lock(&self.shared.state).authorize_queries.clone()
    }

    /// Mint a login for `account` without any flow (its refresh token is
    /// live), as if a browser login had happened.
    pub fn mint(&self, account: &Account) -> Minted {
        let mut state = lock(&self.shared.state);
        handlers::mint(&mut state, &self.shared.url, account)
    }

    /// Mint a login for the configured account.
    pub fn mint_default(&self) -> Minted {
        let account = lock(&self.shared.state).config.account.clone();
        self.mint(&account)
    }

    /// Whether `refresh_token` is the live (not yet rotated) one.
    pub fn is_live(&self, refresh_token: &str) -> bool {
        matches!(
            lock(&self.shared.state).refresh_tokens.get(refresh_token),
            Some((Rt::Live, _))
        )
    }

    /// The next `count` token requests answer `status` with `body`.
    pub fn fail_next(&self, status: u16, body: &str, count: usize) {
        let mut state = lock(&self.shared.state);
        for _ in 0..count {
            state.fail_next.push((status, body.to_owned()));
        }
    }

    /// The next `count` revocation requests answer `status` with `body`
    /// (the token stays live).
    pub fn fail_next_revokes(&self, status: u16, body: &str, count: usize) {
        let mut state = lock(&self.shared.state);
        for _ in 0..count {
            state.fail_next_revokes.push((status, body.to_owned()));
        }
    }

    /// Every request to `/oauth/revoke` so far, in arrival order.
    pub fn revoke_requests(&self) -> Vec<RevokeRequest> {
        lock(&self.shared.state).revokes.clone()
    }

    /// Hold every refresh request this long before handling it.
    pub fn delay_refresh(&self, delay: Duration) {
        lock(&self.shared.state).refresh_delay = delay;
    }

    /// Invalidate every refresh token (a logout elsewhere): they answer
    /// 401 `refresh_token_invalidated` from now on.
    pub fn invalidate_all(&self) {
        for (rt, _) in lock(&self.shared.state).refresh_tokens.values_mut() {
            *rt = Rt::Invalidated;
        }
    }

    /// Approve the device login with `user_code`; false when unknown.
    pub fn approve_device(&self, user_code: &str) -> bool {
        self.decide_device(user_code, true)
    }

    /// Deny the device login with `user_code`; false when unknown.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.decide_device(user_code, false)
    }

    fn decide_device(&self, user_code: &str, allow: bool) -> bool {
        let mut state = lock(&self.shared.state);
        match state
            .devices
            .values_mut()
            .find(|d| d.user_code == user_code)
        {
            Some(device) => {
                device.decision = Some(allow);
                true
            }
            None => false,
        }
    }

    /// The user codes handed out so far, oldest first.
    pub fn user_codes(&self) -> Vec<String> {
        let state = lock(&self.shared.state);
        let mut devices: Vec<&Device> = state.devices.values().collect();
        devices.sort_by_key(|d| d.seq);
        devices.iter().map(|d| d.user_code.clone()).collect()
    }

    /// What a browser does with `authorize_url`: open it, accept consent,
    /// and return the `Location` it is sent to (the redirect URI with
    /// `code` and `state`, or an error), without following it. Panics when
    /// the issuer refuses the request.
    pub fn approve_without_browser(&self, authorize_url: &str) -> String {
        let path = authorize_url
            .strip_prefix(&self.url)
            .unwrap_or_else(|| panic!("{authorize_url} is not at {}", self.url));
        let (status, headers, body) = http(&self.url, "GET", path, None);
        if status == 302 {
            return header(&headers, "location").expect("a Location");
        }
        assert_eq!(status, 200, "authorize answered {status}: {body}");
        let txn = body
            .split("name=\"txn\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("consent page has a txn")
            .to_owned();
        let form = format!("prompt=consent&txn={txn}");
        let (status, headers, body) =
            http(&self.url, "POST", "/oauth/authorize/decision", Some(&form));
        assert_eq!(status, 302, "decision answered {status}: {body}");
        header(&headers, "location").expect("a Location")
    }

    /// `POST {issuer}{path}` with a JSON body: (status, body).
    pub fn post_json(&self, path: &str, body: &Value) -> (u16, String) {
        let (status, _, body) = http_typed(
            &self.url,
            "POST",
            path,
            Some(&body.to_string()),
            "application/json",
        );
        (status, body)
    }
}

impl Drop for OpenaiIssuer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(handlers::handle(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JWT with `claims` (fake RS256 signature; readers do not verify).
pub fn jwt(claims: &Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "openai-issuer-test"});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode("openai-issuer-test-signature")
    )
}

/// The claims of a JWT.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// PKCE S256 of `verifier`.
pub fn s256(verifier: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Hold the fixed redirect ports (1455, 1457) for the caller's test: an
/// exclusive lock on a file shared by every test process of every
/// worktree. Released when the returned file is dropped.
pub fn ports_lock() -> std::fs::File {
    let path = std::env::temp_dir().join("claude-auth-test-chatgpt-ports.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.lock().unwrap();
    file
}

/// A minimal HTTP/1.0 request over loopback with a form body: (status,
/// headers, body).
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    http_typed(
        base,
        method,
        path,
        body,
        "application/x-www-form-urlencoded",
    )
}

/// As [`http`], with a content type.
pub fn http_typed(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    content_type: &str,
) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(hostport).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}
