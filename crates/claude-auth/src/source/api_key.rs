//! Tier 2a: `ANTHROPIC_API_KEY`, with `ANTHROPIC_BASE_URL` as its base URL.

use crate::credential::Credential;
use crate::secret::Secret;
use crate::source::{env_error, unset_reason, Backing, Found, ResolveOptions, Resolver, Step};

/// `ANTHROPIC_API_KEY`.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let env = r.env();
    match env.get("ANTHROPIC_API_KEY") {
        Some(v) => {
            let v = match Secret::token(v, "ANTHROPIC_API_KEY") {
                Ok(v) => v,
                Err(m) => return Step::Fail(env_error("ANTHROPIC_API_KEY", &m), true),
            };
            let mut f = Found::new(
                Credential::anthropic_api_key(v),
                "environment variable ANTHROPIC_API_KEY",
                Backing::Environment,
            );
            f.base_url = env.get("ANTHROPIC_BASE_URL").map(str::to_owned);
            Step::Found(Box::new(f))
        }
        None => Step::Skip(unset_reason(env, "ANTHROPIC_API_KEY")),
    }
}
