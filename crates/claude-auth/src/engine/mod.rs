//! The engine: what turns a resolved credential into a valid one, every time.
//!
//! - [`manager`]: [`AuthManager`](manager::AuthManager), refresh ahead of
//!   expiry, single flight in-process, persist before use; what it hands out
//!   carries the credential's provenance (source, profile, base URL).
//! - `options`: [`ManagerOptions`](manager::ManagerOptions) and the hook that
//!   persists a refreshed token set given in code.
//! - [`refresh`]: the refresh under the backing's lock, and the cooldown
//!   between forced (401) refreshes. `backing_io` locks, re-reads and
//!   persists each kind of backing; `federation` runs exchanges; `flight`
//!   is single flight's bookkeeping.
//! - [`lock`]: the cross-process locks held across re-read, refresh and
//!   persist (ours, and Claude Code's own protocol).
//! - [`refresh_state`]: per-login bookkeeping in our own state dir (last
//!   refresh, last error, the fingerprint of a dead refresh token).
//! - [`cache`]: a resolved credential kept in memory for the hot path.
//! - [`active_provider`]: which provider (Anthropic or OpenAI) is active
//!   and why, and the record `claude-auth switch` leaves.
//! - [`providers`]: [`Providers`](providers::Providers), a manager per
//!   provider, the active one, and `switch`.

pub mod active_provider;
pub mod cache;
pub mod lock;
pub mod manager;
pub mod providers;
pub mod providers_usage;
pub mod refresh;
pub mod refresh_state;

mod backing_io;
mod chatgpt_refresh;
mod federation;
mod flight;
mod options;
