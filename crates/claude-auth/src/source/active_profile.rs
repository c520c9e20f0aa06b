//! Tier 5: the active profile: the spec's `active_config`, else
//! claude-auth's own pointer, else `default`. A named profile (or one under
//! `ANTHROPIC_CONFIG_DIR`) is the user's choice: its errors stop the chain.

use crate::source::{ResolveOptions, Resolver, Step};
use crate::store::profile_files::DEFAULT_PROFILE;

/// The active profile.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let env = r.env();
    let pointer = match r.profiles.active_profile() {
        Ok(Some(p)) => Some(p),
        Ok(None) => match r.own_active_profile() {
            Ok(p) => p,
            Err(e) => return Step::Fail(e, true),
        },
        Err(e) => return Step::Fail(e, true),
    };
    let named = pointer.is_some();
    let user_configured = env.is_set("ANTHROPIC_CONFIG_DIR") || named;
    let name = pointer.unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    if !named && !r.profile_exists(&name) {
        // Nothing there is broken, so the chain goes on. The official SDKs
        // raise "config file not found" when ANTHROPIC_CONFIG_DIR is set:
        // say so.
        let sdk_note = if user_configured {
            "; with ANTHROPIC_CONFIG_DIR set, the official SDKs report this as an error"
        } else {
            ""
        };
        return Step::Skip(format!(
            "no profile {name:?} ({} does not exist){sdk_note}",
            r.profiles.config_path(&name).display()
        ));
    }
    let origin = if env.is_set("ANTHROPIC_CONFIG_DIR") && !r.profiles.active_config_path().exists()
    {
        "ANTHROPIC_CONFIG_DIR"
    } else {
        "active_config"
    };
    r.profile_step(&name, origin, user_configured)
}
