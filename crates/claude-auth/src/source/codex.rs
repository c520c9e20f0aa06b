//! Codex's login: `$CODEX_HOME/auth.json`, or Codex's keyring entry when
//! its `config.toml` says so.

use crate::source::{ResolveOptions, Resolver, Step};

/// Codex's login.
pub(super) fn evaluate(_r: &Resolver, _: &ResolveOptions) -> Step {
    Step::Skip("not read yet by this build".into())
}
