//! Tier 2b: `ANTHROPIC_AUTH_TOKEN`, a bearer token (typed by its prefix),
//! with `ANTHROPIC_BASE_URL` as its base URL.

use crate::credential::Credential;
use crate::secret::Secret;
use crate::source::{env_error, unset_reason, Backing, Found, ResolveOptions, Resolver, Step};

/// `ANTHROPIC_AUTH_TOKEN`.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let env = r.env();
    let Some(v) = env.get("ANTHROPIC_AUTH_TOKEN") else {
        return Step::Skip(unset_reason(env, "ANTHROPIC_AUTH_TOKEN"));
    };
    let v = match Secret::token(v, "ANTHROPIC_AUTH_TOKEN") {
        Ok(v) => v,
        Err(m) => return Step::Fail(env_error("ANTHROPIC_AUTH_TOKEN", &m), true),
    };
    let cred = match Credential::from_bare_anthropic_token(v) {
        Ok(Credential::ApiKey { key, provider }) => Credential::Bearer {
            token: key,
            provider,
            expires_at: None,
        },
        Ok(c) => c,
        Err(m) => return Step::Fail(env_error("ANTHROPIC_AUTH_TOKEN", m), true),
    };
    let mut f = Found::new(
        cred,
        "environment variable ANTHROPIC_AUTH_TOKEN",
        Backing::Environment,
    );
    f.base_url = env.get("ANTHROPIC_BASE_URL").map(str::to_owned);
    Step::Found(Box::new(f))
}
