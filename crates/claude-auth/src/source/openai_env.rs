//! The OpenAI chain's environment sources: `OPENAI_API_KEY`, then Codex's
//! `CODEX_API_KEY`; read-only, with `OPENAI_BASE_URL` as their base URL
//! when set.

use crate::credential::{Credential, Provider};
use crate::secret::Secret;
use crate::source::{env_error, unset_reason, Backing, Found, ResolveOptions, Resolver, Step};

/// `OPENAI_API_KEY`.
pub(super) fn evaluate_openai_api_key(r: &Resolver, _: &ResolveOptions) -> Step {
    api_key(r, "OPENAI_API_KEY")
}

/// `CODEX_API_KEY`.
pub(super) fn evaluate_codex_api_key(r: &Resolver, _: &ResolveOptions) -> Step {
    api_key(r, "CODEX_API_KEY")
}

fn api_key(r: &Resolver, var: &str) -> Step {
    let env = r.env();
    let Some(value) = env.get(var) else {
        return Step::Skip(unset_reason(env, var));
    };
    let key = match Secret::token(value, var) {
        Ok(key) => key,
        // Set by the user: a broken value stops the chain.
        Err(m) => return Step::Fail(env_error(var, &m), true),
    };
    let mut found = Found::new(
        Credential::ApiKey {
            key,
            provider: Provider::Openai,
        },
        format!("environment variable {var}"),
        Backing::Environment,
    );
    found.base_url = env.get("OPENAI_BASE_URL").map(str::to_owned);
    Step::Found(Box::new(found))
}
