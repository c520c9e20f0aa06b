#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The proxy towards OpenAI, over real HTTP on loopback: a stand-in in
//! OpenAI's shapes (the CLI tests' `tests/upstream`, its `openai` routes)
//! as the upstream. An OpenAI API key goes up as `Authorization: Bearer`
//! under the base URL's path; a ChatGPT login adds its `ChatGPT-Account-Id`
//! (the client's own is replaced); the client's auth headers never go up;
//! a stream passes through event by event; a 401 for an API key is passed
//! on after exactly one request; the local key is required and CONNECT
//! refused.

#[path = "../../claude-auth-cli/tests/upstream/mod.rs"]
mod upstream;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use claude_auth::proxy::{start, ProxyConfig, ProxyHandle};
use claude_auth::{
    AuthManager, Credential, Env, ManagerOptions, Provider, ResolveOptions, Resolver, Secret,
    Settings, TokenSet,
};
use upstream::openai::{AUTH_ERROR, CODEX_PREFIX};
use upstream::{Upstream, EVENT_GAP, STREAM_DELTAS, TEXT};

const API_KEY: &str = "sk-proj-Rt5Wq9Lm2Xc7Vb4Nz8Kd3Hf6Jg1Ps0Ya-openai-proxy";
const CHATGPT_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.chatgpt-proxy-test";
const ACCOUNT: &str = "acct-3f6d1c9e-openai-proxy";
const LOCAL_KEY: &str = "ca-local-openai-proxy-test-key";

fn api_key() -> Credential {
    Credential::ApiKey {
        key: Secret::new(API_KEY),
        provider: Provider::Openai,
    }
}

fn chatgpt() -> Credential {
    let mut set = TokenSet::access_only(Secret::new(CHATGPT_TOKEN), Provider::Openai);
    set.identity.account_uuid = Some(ACCOUNT.into());
    Credential::OAuth(set)
}

/// A proxy holding `credential` (given in code), forwarding to `upstream`.
async fn proxy(credential: Credential, upstream: String) -> (ProxyHandle, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let env = Env::empty().with("HOME", home.path().display().to_string());
    let options = ManagerOptions {
        resolve: ResolveOptions {
            explicit_credential: Some(credential),
            ..ResolveOptions::default()
        },
        ..ManagerOptions::default()
    };
    let manager =
        AuthManager::new(Resolver::with_settings(env, Settings::default()), options).unwrap();
    let mut config = ProxyConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        upstream,
        Some(Secret::new(LOCAL_KEY)),
    );
    config.access_log = false;
    (start(manager, config).await.unwrap(), home)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_api_key_goes_up_as_a_bearer_under_the_base_urls_path() {
    let up = Upstream::start();
    let (proxy, _home) = proxy(api_key(), format!("{}/v1", up.url)).await;
    let resp = client()
        .post(format!("{}/chat/completions", proxy.url()))
        .bearer_auth(LOCAL_KEY)
        .header("chatgpt-account-id", "acct-from-the-client")
        .json(&serde_json::json!({"model": "gpt-test-1", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], TEXT);

    let requests = up.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.all("authorization"), [format!("Bearer {API_KEY}")]);
    assert!(r.all("x-api-key").is_empty(), "{r:#?}");
    assert!(r.all("chatgpt-account-id").is_empty(), "{r:#?}");
    assert!(r.all("anthropic-beta").is_empty(), "{r:#?}");
    assert_eq!(r.one("host"), Some(up.hostport()));
    proxy.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatgpt_login_names_its_account_and_its_stream_passes_event_by_event() {
    let up = Upstream::start();
    let (proxy, _home) = proxy(chatgpt(), format!("{}{CODEX_PREFIX}", up.url)).await;
    let mut resp = client()
        .post(format!("{}/responses", proxy.url()))
        .header("x-api-key", LOCAL_KEY)
        .header("authorization", "Bearer sk-client-own-key")
        .header("chatgpt-account-id", "acct-from-the-client")
        .json(&serde_json::json!({"model": "gpt-test-1", "input": "hi", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    // Each event as it arrives: the proxy holds none of them back.
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        let chunk = String::from_utf8(chunk.to_vec()).unwrap();
        for _ in chunk.matches("event: response.output_text.delta") {
            arrivals.push(Instant::now());
        }
        text.push_str(&chunk);
    }
    let deltas: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap())
        .filter(|v| v["type"] == "response.output_text.delta")
        .map(|v| v["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deltas, STREAM_DELTAS);
    assert_eq!(arrivals.len(), STREAM_DELTAS.len());
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= EVENT_GAP / 2, "events arrived together: {gap:?}");
    }
    assert!(text.contains("event: response.completed"));

    let requests = up.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(r.path, format!("{CODEX_PREFIX}/responses"));
    assert_eq!(r.all("authorization"), [format!("Bearer {CHATGPT_TOKEN}")]);
    assert_eq!(r.all("chatgpt-account-id"), [ACCOUNT]);
    assert!(r.all("x-api-key").is_empty(), "{r:#?}");
    assert!(r.all("anthropic-beta").is_empty(), "{r:#?}");
    proxy.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_the_upstream_rejects_is_passed_on_after_one_request() {
    let up = Upstream::start();
    up.reject(API_KEY);
    let (proxy, _home) = proxy(api_key(), format!("{}/v1", up.url)).await;
    let resp = client()
        .post(format!("{}/chat/completions", proxy.url()))
        .bearer_auth(LOCAL_KEY)
        .json(&serde_json::json!({"model": "gpt-test-1", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.text().await.unwrap(), AUTH_ERROR);
    assert_eq!(up.credentials(), [Some(API_KEY.to_owned())]);
    proxy.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_proxy_wants_its_local_key_and_is_no_open_proxy() {
    let up = Upstream::start();
    let (proxy, _home) = proxy(chatgpt(), format!("{}{CODEX_PREFIX}", up.url)).await;
    for key in [None, Some("sk-wrong"), Some(CHATGPT_TOKEN)] {
        let mut req = client()
            .post(format!("{}/responses", proxy.url()))
            .body("{}");
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        assert_eq!(req.send().await.unwrap().status(), 401, "{key:?}");
    }
    let host = up.hostport().to_owned();
    let (connect, absolute) = tokio::task::spawn_blocking({
        let addr = proxy.addr;
        move || {
            let p = ProxyHandleAddr(addr);
            (
                p.status(&format!(
                    "CONNECT {host} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {LOCAL_KEY}\r\n\r\n"
                )),
                p.status(&format!(
                    "POST http://{host}{CODEX_PREFIX}/responses HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {LOCAL_KEY}\r\nContent-Length: 0\r\n\r\n"
                )),
            )
        }
    })
    .await
    .unwrap();
    // CONNECT is a method the proxy does not serve (405); an absolute target
    // is forbidden (403).
    assert_eq!(connect, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(absolute, "HTTP/1.1 403 Forbidden");
    assert!(up.requests().is_empty(), "{:#?}", up.requests());
    proxy.shutdown(Duration::from_secs(1)).await;
}

/// The proxy's address, for raw requests off the runtime.
struct ProxyHandleAddr(SocketAddr);

impl ProxyHandleAddr {
    fn status(&self, request: &str) -> String {
        let mut conn = std::net::TcpStream::connect(self.0).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        conn.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&answer);
        text.lines().next().unwrap().to_owned()
    }
}
