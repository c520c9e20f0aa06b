//! An authenticating reverse proxy on loopback.
//!
//! Programs we do not control (the official SDKs, which never refresh a
//! subscription token; agents; CI jobs) point `ANTHROPIC_BASE_URL` at the
//! proxy and authenticate with a per-proxy local key. The proxy:
//!
//! - listens on loopback only and forwards only to the one upstream base URL
//!   it was given — absolute-form targets and `CONNECT` are refused, so it is
//!   never an open proxy;
//! - requires the local key (`x-api-key` or `Authorization: Bearer`),
//!   compared in constant time, unless started without auth; a shared
//!   proxy also takes the key of any agent with an open session, and each
//!   request made with an agent's key is attributed to it (`agent_auth`);
//! - drops every incoming auth header and injects the current credential
//!   (`x-api-key` for keys; `Authorization: Bearer` plus the OAuth beta,
//!   merged into `anthropic-beta`, for OAuth tokens; towards OpenAI always
//!   `Authorization: Bearer`, plus `ChatGPT-Account-Id` for a ChatGPT login,
//!   see [`crate::wire::apply_credential`]), refreshed ahead of expiry by the
//!   [`AuthManager`], whose provider decides which;
//! - on an upstream 401, refreshes once and retries once — when the credential
//!   can be refreshed, request bodies up to [`ProxyConfig::max_buffered_body`]
//!   are buffered so a retry is possible (others stream straight through);
//! - streams responses (SSE) chunk by chunk, never buffering them, keeping
//!   their `Content-Length`; passes redirects to the client, never follows them,
//!   and points a redirect into the upstream base URL back at the proxy;
//! - keeps upstream connections alive in a small pool of its own (HTTP/1.1,
//!   rustls for https); goes through reqwest instead only when an
//!   `HTTPS_PROXY`-style setting applies to the upstream;
//! - refuses methods the APIs do not use (`TRACE` above all, which an
//!   echoing upstream would answer with the injected credential);
//! - bounds what any local process can hold: connections at once, and how
//!   long a connection may go without a request (see `listener`);
//! - with a failover chain (`[selection] fallback`), sends a request the
//!   provider rejects again with the next credential that speaks the same
//!   API, and says so on stderr and in the ledger (see `failover` and
//!   [`crate::doors::failover`] for the rule);
//! - records each response's rate-limit headers and token counts in the
//!   usage ledger when given a [`UsageSink`](crate::usage::writer::UsageSink)
//!   (`metered`: counted as the body streams, never buffered);
//! - logs each request (method, path, status, time) without query strings or
//!   headers, so no secret reaches the log, and escapes what the client sent;
//!   shuts down gracefully.
//!
//! Layout: `config` (settings and defaults), `listener` (accepting within
//! limits, choosing the protocol), `activity` (timeouts for every connection
//! state), `h1_conn` and `h1_server` (the client side's HTTP/1 server: a
//! connection, and its codec; HTTP/2 is hyper's), `handler` (one request:
//! checks, credential, retry after a 401, relay, log), `failover` (the
//! same with a chain of credentials), `shape` (the proxy's own errors in
//! the served vendor's shape), `headers` (what
//! crosses and what is injected), `target` (the base URL: joining paths,
//! rewriting redirects), `upstream` (the keep-alive pool), `link` (one
//! upstream connection and the exchange on it), `h1` (HTTP/1.1 framing).

mod activity;
mod agent_auth;
mod config;
mod failover;
mod h1;
mod h1_conn;
mod h1_server;
mod handler;
mod headers;
mod link;
mod listener;
mod metered;
mod shape;
mod target;
mod upstream;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::doors::wire::OAUTH_BETA;
pub use config::ProxyConfig;
pub use failover::{ProxyFailover, ProxyFallback};
#[doc(hidden)]
pub use h1_server::fuzz_request_head;
pub use headers::upstream_headers;

use crate::engine::manager::AuthManager;
use crate::error::{Error, Result};
use crate::secret::Secret;
use handler::Shared;
use target::Target;
use upstream::{Upstream, PRUNE_EVERY};

/// A fresh random local key (`ca-local-…`), for one proxy's clients.
pub fn generate_local_key() -> Result<Secret> {
    use base64::Engine;
    let mut buf = [0u8; 24];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Unsupported(format!("the OS random number generator failed: {e}")))?;
    Ok(Secret::new(format!(
        "ca-local-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    )))
}

/// A running proxy.
pub struct ProxyHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ProxyHandle {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let in-flight requests finish (up to `grace`), return.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(grace, self.task).await;
    }
}

type UpstreamBody = Either<Full<Bytes>, activity::ClientBody>;
type RelayedBody = Either<link::PooledBody, reqwest::Body>;
type ProxyBody = Either<Full<Bytes>, metered::MeteredBody<RelayedBody>>;

/// Start the proxy. The listen address must be loopback.
pub async fn start(manager: AuthManager, config: ProxyConfig) -> Result<ProxyHandle> {
    if !config.listen.ip().is_loopback() {
        return Err(Error::Unsupported(format!(
            "the proxy listens on loopback only; {} is not a loopback address",
            config.listen.ip()
        )));
    }
    let target = Target::parse(&config.upstream)?;
    let upstream = Upstream::new(&target, &config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Unsupported(format!("could not listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Unsupported(format!("proxy listener: {e}")))?;
    let shared = Arc::new(Shared {
        manager,
        config,
        target,
        upstream,
        auth: Mutex::new(None),
    });
    if let Upstream::Direct(pool) = &shared.upstream {
        // Close idle upstream connections in time; ends with the proxy.
        let pool = Arc::downgrade(pool);
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + PRUNE_EVERY, PRUNE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match pool.upgrade() {
                    Some(pool) => pool.prune(),
                    None => break,
                }
            }
        });
    }
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(listener::serve(listener, shared, rx));
    Ok(ProxyHandle {
        addr,
        shutdown: tx,
        task,
    })
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
