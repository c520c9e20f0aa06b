//! `CLAUDE_CODE_OAUTH_TOKEN`: an OAuth access token used as is (no refresh,
//! expiry unknown), as Claude Code does.

use crate::credential::{Credential, Provider, TokenSet};
use crate::secret::Secret;
use crate::source::{env_error, unset_reason, Backing, Found, ResolveOptions, Resolver, Step};

/// `CLAUDE_CODE_OAUTH_TOKEN`.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let Some(v) = r.env().get("CLAUDE_CODE_OAUTH_TOKEN") else {
        return Step::Skip(unset_reason(r.env(), "CLAUDE_CODE_OAUTH_TOKEN"));
    };
    let v = match Secret::token(v, "CLAUDE_CODE_OAUTH_TOKEN") {
        Ok(v) => v,
        Err(m) => return Step::Fail(env_error("CLAUDE_CODE_OAUTH_TOKEN", &m), true),
    };
    let set = TokenSet::access_only(v, Provider::Anthropic);
    let mut f = Found::new(
        Credential::OAuth(set),
        "environment variable CLAUDE_CODE_OAUTH_TOKEN",
        Backing::Environment,
    );
    f.notes
        .push("used as is: no refresh, expiry unknown".into());
    Step::Found(Box::new(f))
}
