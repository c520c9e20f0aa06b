//! Shared by the library's integration tests (`mod common;`): the same
//! CI-aware skip rule as the CLI's tests, from the one file that defines it
//! (a missing environment fails under `CI`, and is reported as skipped
//! otherwise).
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../claude-auth-cli/tests/common/require_env.rs"]
mod require_env;

pub use require_env::*;

pub mod http1;
pub mod proxy;
