//! Tier 3: the profile `ANTHROPIC_PROFILE` names (explicit: its errors
//! surface).

use crate::source::{unset_reason, ResolveOptions, Resolver, Step};

/// `ANTHROPIC_PROFILE`.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    match r.env().get("ANTHROPIC_PROFILE") {
        Some(p) => r.profile_step(p, "ANTHROPIC_PROFILE", true),
        None => Step::Skip(unset_reason(r.env(), "ANTHROPIC_PROFILE")),
    }
}
