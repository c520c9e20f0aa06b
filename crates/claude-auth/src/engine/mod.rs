//! The engine: what turns a resolved credential into a valid one, every time.
//!
//! - [`manager`]: [`AuthManager`](manager::AuthManager), refresh ahead of
//!   expiry, single flight in-process, persist before use.
//! - [`lock`]: the cross-process locks held across re-read, refresh and
//!   persist (ours, and Claude Code's own protocol).
//! - [`refresh_state`]: per-login bookkeeping in our own state dir (last
//!   refresh, last error, the fingerprint of a dead refresh token).
//! - [`cache`]: a resolved credential kept in memory for the hot path.

pub mod cache;
pub mod lock;
pub mod manager;
pub mod refresh_state;
