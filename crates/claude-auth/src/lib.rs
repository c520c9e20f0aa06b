//! # claude-auth
//!
//! Correct, safe and boring authentication to Claude.
//!
//! - [`Secret`] and [`mask`]: secret values that never print themselves.
//! - [`Credential`]: an API key, a bearer token or an OAuth token set, for any provider.
//! - [`store`]: the official spec's profile files, Claude Code's file, the OS
//!   keyring, an encrypted file, memory — one [`store::CredentialStore`] trait.
//! - [`source`]: the resolution chain — Anthropic's credential-resolution spec
//!   tier by tier, then the sources users already have — with a record of
//!   every source consulted, which is what `claude-auth status` prints.
//!
//! ## Layout
//!
//! - [`config`]: the environment, file locations, settings, provider presets.
//! - [`source`] and [`store`]: where credentials are found and kept.
//! - [`engine`]: the manager (refresh, locks, single flight), refresh state, cache.
//! - [`doors`]: the client, the proxy, child environments, status.
//! - [`oauth`]: login (PKCE, callback server, browser) and the token client.
//! - [`openai`]: Codex's logins (`$CODEX_HOME/auth.json`, its keyring
//!   entry, JWT claims, the ChatGPT OAuth client's facts): the foundations
//!   of OpenAI as a second provider, not yet in the resolution chain.
//! - [`usage`]: subscription windows, API-key limits, pace, and the usage ledger.
//! - [`budgets`]: token budgets for agents and profiles, counted and
//!   enforced at the proxy.
//! - [`Providers`]: both vendors at once: a manager per provider (built on
//!   first use), their logins, the active provider and why, `switch`.
//! - [`select`]: which usable credential to use (strategies, task hints,
//!   a reason for every decision), preferences, and an engine pinned to
//!   one credential for failover.
//! - [`profiles`]: the profile service front ends call to log in and out:
//!   storage policy (the visible keyring fallback), activation, listing,
//!   logout with revocation.
//!
//! ```no_run
//! use claude_auth::{Env, Resolver, ResolveOptions};
//! let resolver = Resolver::new(Env::from_process())?;
//! let resolution = resolver.resolve(&ResolveOptions::default());
//! match resolution.credential() {
//!     Ok(credential) => println!("using a {}", credential.kind().label()),
//!     Err(why) => eprintln!("{why}"),
//! }
//! # Ok::<(), claude_auth::Error>(())
//! ```

#![warn(missing_docs)]

pub mod agents;
pub mod budgets;
pub mod config;
pub mod credential;
pub mod doors;
pub mod engine;
pub mod error;
pub mod oauth;
pub mod openai;
pub mod profiles;
pub mod redact;
pub mod secret;
pub mod secure_file;
pub mod select;
pub mod source;
pub mod store;
pub mod usage;

// The modules by their short names, as before the folders: `claude_auth::manager`
// and friends stay valid paths for embedders.
pub use config::{env, locations, provider, settings};
pub use doors::{child_env, client, proxy, status, wire};
pub use engine::{
    active_provider, cache, lock, manager, providers, providers_usage, refresh_state,
};

pub use active_provider::ActiveProvider;
pub use cache::CredentialCache;
pub use credential::{Credential, CredentialKind, Identity, Provider, TokenSet};
pub use env::Env;
pub use error::{Error, Result};
pub use manager::{AuthError, AuthManager, ManagerOptions};
pub use profiles::Profiles;
pub use providers::Providers;
pub use secret::{mask, Secret};
pub use settings::Settings;
pub use source::{resolve, Resolution, ResolveOptions, Resolver, SourceId};
pub use status::StatusReport;
