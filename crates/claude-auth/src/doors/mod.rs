//! The doors: how a credential leaves the library for the world.
//!
//! - [`client`]: a Messages API client that authenticates with the manager.
//! - [`proxy`]: an authenticating reverse proxy on loopback, for programs we
//!   do not control.
//! - [`child_env`]: the environment a child process needs, and its printing
//!   for shells, dotenv files and JSON.
//! - [`status`]: the explained resolution, what `claude-auth status` prints.
//! - [`failover`]: which `[selection] fallback` entry a door uses now, and
//!   the notice every switch gives (never silent).
//! - [`rejection`]: when a provider rejects a request (the one rule the
//!   doors fail over by), and when transient errors do not count.
//! - [`wire`]: what every request to the APIs shares (auth headers, the
//!   OAuth beta, backoff, `Retry-After`), for the client, the proxy and the
//!   token client.

pub mod child_env;
pub mod client;
pub mod failover;
pub mod proxy;
pub mod rejection;
pub mod status;
pub mod wire;
