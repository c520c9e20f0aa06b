//! [`ClientBuilder`]: the client's settings (base URL, retries, timeouts,
//! backoff, betas, the usage sink, failover) and their defaults.

use std::sync::Arc;
use std::time::Duration;

use super::failover::{ClientFailover, Notify};
use super::{
    resolve_base_url, Client, ClientError, Inner, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES,
    DEFAULT_STREAM_IDLE_TIMEOUT, DEFAULT_TIMEOUT,
};
use crate::config::provider::DEFAULT_BASE_URL;
use crate::doors::failover::{FallbackChain, Switch};
use crate::engine::manager::{AuthManager, ManagerOptions};
use crate::oauth::token_client::USER_AGENT;
use crate::source::{ResolveOptions, Resolver};
use crate::usage::writer::UsageSink;

/// Builds a [`Client`].
///
/// ```no_run
/// use std::time::Duration;
/// use claude_auth::client::ClientBuilder;
/// use claude_auth::{Env, ManagerOptions, Resolver};
///
/// let resolver = Resolver::new(Env::from_process())?;
/// let client = ClientBuilder::from_resolver(resolver, ManagerOptions::default())?
///     .max_retries(4)
///     .timeout(Duration::from_secs(120))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    manager: AuthManager,
    base_url: Option<String>,
    resolved_base_url: Option<String>,
    max_retries: u32,
    timeout: Duration,
    connect_timeout: Duration,
    stream_idle_timeout: Duration,
    backoff_base: Duration,
    backoff_max: Duration,
    max_retry_after: Duration,
    betas: Vec<String>,
    usage: Option<UsageSink>,
    failover: Option<FallbackChain>,
    on_failover: Option<Notify>,
}

impl ClientBuilder {
    /// A builder over `manager`; the base URL is [`DEFAULT_BASE_URL`] unless
    /// set with [`base_url`](Self::base_url) or
    /// [`base_url_from`](Self::base_url_from).
    pub fn new(manager: AuthManager) -> Self {
        ClientBuilder {
            manager,
            base_url: None,
            resolved_base_url: None,
            max_retries: DEFAULT_MAX_RETRIES,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            betas: Vec::new(),
            usage: None,
            failover: None,
            on_failover: None,
        }
    }

    /// Fail over along `chain` ([`Providers::fallback_chain`](crate::Providers::fallback_chain)
    /// for Anthropic): requests go to its first entry, and a request an
    /// entry rejects goes to the next (see [`crate::doors::failover`]); the
    /// client's own manager is then not used for requests. An empty chain
    /// leaves failover off.
    pub fn failover(mut self, chain: FallbackChain) -> Self {
        self.failover = Some(chain);
        self
    }

    /// Called at every failover switch, with the switch (from-class,
    /// to-class, why; its `Display` is the one-line notice, billing
    /// included), besides the `tracing` warning and the ledger event.
    pub fn on_failover(mut self, notify: impl Fn(&Switch) + Send + Sync + 'static) -> Self {
        self.on_failover = Some(Notify(Arc::new(notify)));
        self
    }

    /// Record every response's rate-limit headers and every message's
    /// token counts in the usage ledger through `sink`.
    pub fn usage(mut self, sink: UsageSink) -> Self {
        self.usage = Some(sink);
        self
    }

    /// A manager over `resolver`, and the base URL its resolution selects
    /// (see [`resolve_base_url`]).
    pub fn from_resolver(resolver: Resolver, options: ManagerOptions) -> Result<Self, ClientError> {
        let base = resolve_base_url(&resolver, &options.resolve);
        let manager = AuthManager::new(resolver, options)?;
        let mut builder = ClientBuilder::new(manager);
        builder.resolved_base_url = Some(base);
        Ok(builder)
    }

    /// Use the base URL `resolver` selects for `options` (see
    /// [`resolve_base_url`]); an explicit [`base_url`](Self::base_url) still wins.
    pub fn base_url_from(mut self, resolver: &Resolver, options: &ResolveOptions) -> Self {
        self.resolved_base_url = Some(resolve_base_url(resolver, options));
        self
    }

    /// Send requests here (e.g. a gateway or a test server), whatever the
    /// profile or environment says.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Retries after the first attempt (default 2; 0 disables retries).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Longest wait for a whole non-streamed response, and for a stream's
    /// first bytes (default 10 minutes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest silence inside a stream (default 5 minutes).
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Backoff: the first retry waits about `base`, doubling up to `max`,
    /// each with up to 25 % jitter off (defaults 0.5 s and 8 s).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }

    /// Honour a server's `retry-after` up to this long; a longer one falls
    /// back to the backoff (default 60 s).
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Ask for a beta feature on every request (`anthropic-beta`).
    pub fn beta(mut self, beta: impl Into<String>) -> Self {
        self.betas.push(beta.into());
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, ClientError> {
        let base = self
            .base_url
            .or(self.resolved_base_url)
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let parsed = url::Url::parse(&base)
            .map_err(|e| ClientError::Config(format!("base URL {base:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "base URL {base:?} must start with https:// (or http:// for a local gateway)"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| ClientError::Config(format!("could not build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                manager: self.manager,
                base_url: base.trim_end_matches('/').to_owned(),
                max_retries: self.max_retries,
                timeout: self.timeout,
                stream_idle_timeout: self.stream_idle_timeout,
                backoff_base: self.backoff_base,
                backoff_max: self.backoff_max,
                max_retry_after: self.max_retry_after,
                failover: self.failover.and_then(|chain| {
                    ClientFailover::new(chain, self.usage.as_ref(), self.on_failover)
                }),
                betas: self.betas,
                usage: self.usage,
            }),
        })
    }
}
