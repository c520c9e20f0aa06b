//! The seed guide's CI fallback: `CLAUDE_ACCESS_TOKEN` (and
//! `CLAUDE_REFRESH_TOKEN`, which is never used to refresh: a rotated refresh
//! token cannot be written back to the environment).

use crate::credential::{Credential, Provider, TokenSet};
use crate::secret::Secret;
use crate::source::{env_error, unset_reason, Backing, Found, ResolveOptions, Resolver, Step};

/// `CLAUDE_ACCESS_TOKEN` / `CLAUDE_REFRESH_TOKEN`.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let env = r.env();
    let Some(v) = env.get("CLAUDE_ACCESS_TOKEN") else {
        if env.is_set("CLAUDE_REFRESH_TOKEN") {
            return Step::Fail(
                env_error("CLAUDE_REFRESH_TOKEN", "is set but CLAUDE_ACCESS_TOKEN is not; set both, or log in with `claude-auth login`"),
                true,
            );
        }
        return Step::Skip(unset_reason(env, "CLAUDE_ACCESS_TOKEN"));
    };
    let v = match Secret::token(v, "CLAUDE_ACCESS_TOKEN") {
        Ok(v) => v,
        Err(m) => return Step::Fail(env_error("CLAUDE_ACCESS_TOKEN", &m), true),
    };
    let mut set = TokenSet::access_only(v, Provider::Anthropic);
    set.refresh_token = env.get("CLAUDE_REFRESH_TOKEN").map(Secret::new);
    let mut f = Found::new(
        Credential::OAuth(set),
        "environment variables CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN",
        Backing::Environment,
    );
    if env.is_set("CLAUDE_REFRESH_TOKEN") {
        f.notes.push(
            "CLAUDE_REFRESH_TOKEN is not used to refresh: a rotated refresh token cannot be written back to the environment, and reusing the old one would log you out".into(),
        );
    }
    Step::Found(Box::new(f))
}
