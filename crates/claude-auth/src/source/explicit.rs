//! Tier 1, explicit: a credential given in code (held in memory, refreshed
//! there, see `ManagerOptions::on_refresh`) or a profile named by
//! `--profile` (its errors surface).

use crate::source::{Backing, Found, ResolveOptions, Resolver, Step};

/// The explicit tier.
pub(super) fn evaluate(r: &Resolver, options: &ResolveOptions) -> Step {
    if let Some(cred) = &options.explicit_credential {
        return Step::Found(Box::new(Found::new(
            cred.clone(),
            "given in code",
            Backing::Memory,
        )));
    }
    match &options.explicit_profile {
        // The OpenAI chain reads `--profile` in its openai-profile source.
        Some(_) if *r.provider() == crate::credential::Provider::Openai => {
            Step::Skip("--profile names an OpenAI profile: see openai-profile".into())
        }
        Some(p) => r.profile_step(p, "--profile", true),
        None => Step::Skip("none given".into()),
    }
}
