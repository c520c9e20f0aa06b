//! One module per command.

pub mod login;
pub mod logout;
pub mod profile;
pub mod status;
pub mod token;

use claude_auth::{Env, ResolveOptions, Resolver};

use crate::output::Failure;
use crate::GlobalArgs;

/// The resolver for this process's environment.
pub fn resolver() -> Result<Resolver, Failure> {
    Resolver::new(Env::from_process()).map_err(|e| {
        Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Settings)")
    })
}

/// Resolution options from the global flags.
pub fn options(global: &GlobalArgs, examine_all: bool) -> ResolveOptions {
    ResolveOptions {
        explicit_profile: global.profile.clone(),
        examine_all,
        ..ResolveOptions::default()
    }
}

/// The profile a command acts on: `--profile`, else the active one.
pub fn target_profile(global: &GlobalArgs, resolver: &Resolver) -> Result<String, Failure> {
    let name = match &global.profile {
        Some(p) => p.clone(),
        None => resolver.active_profile(None)?.name,
    };
    claude_auth::locations::validate_profile_name(&name, "--profile")?;
    Ok(name)
}
