//! Configuration: what the user (or the environment) says, read once.
//!
//! - [`env`](mod@env): a snapshot of the process environment.
//! - [`locations`]: where every file lives, and which rule chose it.
//! - [`settings`]: claude-auth's own `config.toml`.
//! - [`provider`]: the OAuth provider presets (clients, endpoints, scopes).
//! - [`selection`]: the `[selection]` table (strategy, threshold, fallback).
//! - [`source_id`]: the ids of the resolution chain's sources, which the
//!   settings order and the chain walks.

pub mod env;
pub mod locations;
pub mod provider;
pub mod selection;
pub mod settings;
pub mod source_id;
