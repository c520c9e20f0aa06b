//! The proxy's settings: where it listens, where it forwards, the local key,
//! and the limits that keep any local process from holding it.

use std::net::SocketAddr;
use std::time::Duration;

use crate::secret::Secret;

/// Proxy settings.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Where to listen (must be a loopback address).
    pub listen: SocketAddr,
    /// Upstream API base URL (e.g. `https://api.anthropic.com`).
    pub upstream: String,
    /// The local key clients must present; `None` disables the check.
    pub local_key: Option<Secret>,
    /// Largest request body buffered for a retry after a 401.
    pub max_buffered_body: usize,
    /// Write an access line per request to stderr.
    pub access_log: bool,
    /// Upstream connect timeout: TCP connect, TLS and the HTTP/1.1 handshake of
    /// a new upstream connection (a reused one needs none; bodies stream).
    pub connect_timeout: Duration,
    /// How long a client may take to send a request's headers, idle time on
    /// a kept-alive connection included: a connection that dawdles longer
    /// is closed, so no local process can hold connections open by
    /// trickling bytes. It is part of the idle limit: the shorter of this
    /// and `idle_timeout` applies, in every protocol. Clients' own keep-alive expiry is shorter
    /// (httpx 5 s, Node 4 s).
    pub header_read_timeout: Duration,
    /// How long a connection may go without a request in progress before it
    /// is closed, in every protocol and state: before its first request
    /// (while the protocol is sniffed, the HTTP/2 preface or a request's
    /// headers arrive) and between requests. What the client sends
    /// meanwhile (HTTP/2 pings, settings, part of a header block) does not
    /// count as a request.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive, from its first byte to
    /// its last (for HTTP/2: from when the first of the bodies in flight
    /// began). Besides, while a body is due, a client that sends nothing for
    /// the idle limit (the shorter of `idle_timeout` and
    /// `header_read_timeout`) is disconnected. A body the upstream is not
    /// taking yet does not count against the client.
    pub body_timeout: Duration,
    /// How long a write to a client may stay blocked (the client not reading
    /// the answer it asked for, its buffers full) before the connection is
    /// closed.
    pub send_timeout: Duration,
    /// While HTTP/2 requests are in progress, ping the client this often and
    /// close the connection when a ping is not answered within as long.
    pub http2_keep_alive: Duration,
    /// How long the upstream may keep a request waiting: for the response
    /// head (counted from when the request starts going out), and for each
    /// silent gap in the
    /// response body. Past it the client gets a 502 (or its body fails)
    /// and the connection is dropped. The official SDKs wait 10 minutes for
    /// a response, so the default is as long: the proxy never cuts what
    /// the client still waits for.
    pub upstream_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog until
    /// one closes.
    pub max_connections: usize,
    /// Where each response's rate-limit headers and token counts go (the
    /// usage ledger); `None`: not recorded.
    pub usage: Option<crate::usage::writer::UsageSink>,
    /// Failover to further credentials when this one rejects a request
    /// (`[selection] fallback`); `None`: off, a rejection goes back to the
    /// client unchanged.
    pub failover: Option<std::sync::Arc<super::ProxyFailover>>,
    /// The agent whose key the local key is (`exec --proxy --agent-id`):
    /// every request made with it is attributed to that agent.
    pub local_agent: Option<crate::agents::AgentRef>,
    /// Besides the local key, accept the key of any agent with an open
    /// session in the ledger (a shared proxy), attributing its requests to
    /// it; `None`: only the local key.
    pub agent_keys: Option<crate::agents::AgentKeys>,
    /// The budgets checked before each request is forwarded (agents' and
    /// the login's profile's); `None`: none. Its counts come from the
    /// responses `usage` meters, so it needs `usage` set.
    pub budgets: Option<std::sync::Arc<crate::budgets::BudgetBook>>,
}

impl ProxyConfig {
    /// Defaults: 1 MiB retry buffer, access log on, 10 s connect timeout,
    /// 30 s to send the headers, 30 s idle, 300 s for a request body (at most
    /// 30 s without a byte of it), 60 s for a blocked write, HTTP/2 pings every 20 s, 600 s for the upstream to answer
    /// (and between two reads of its body), 1,024
    /// connections.
    pub fn new(listen: SocketAddr, upstream: impl Into<String>, local_key: Option<Secret>) -> Self {
        ProxyConfig {
            listen,
            upstream: upstream.into(),
            local_key,
            max_buffered_body: 1 << 20,
            access_log: true,
            connect_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(300),
            send_timeout: Duration::from_secs(60),
            http2_keep_alive: Duration::from_secs(20),
            upstream_timeout: Duration::from_secs(600),
            max_connections: 1024,
            usage: None,
            failover: None,
            local_agent: None,
            agent_keys: None,
            budgets: None,
        }
    }
}
