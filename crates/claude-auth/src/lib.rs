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

pub mod cache;
pub mod child_env;
pub mod client;
pub mod credential;
pub mod env;
pub mod error;
pub mod locations;
pub mod lock;
pub mod manager;
pub mod oauth;
pub mod provider;
pub mod proxy;
pub mod refresh_state;
pub mod secret;
pub mod secure_file;
pub mod settings;
pub mod source;
pub mod status;
pub mod store;

pub use cache::CredentialCache;
pub use credential::{Credential, CredentialKind, Identity, Provider, TokenSet};
pub use env::Env;
pub use error::{Error, Result};
pub use manager::{AuthError, AuthManager, ManagerOptions};
pub use secret::{mask, Secret};
pub use settings::Settings;
pub use source::{resolve, Resolution, ResolveOptions, Resolver, SourceId};
pub use status::StatusReport;
