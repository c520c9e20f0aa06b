//! One module per command.

pub mod login;
pub mod logout;
pub mod oauth_login;
pub mod profile;
pub mod refresh;
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

/// A single-threaded async runtime for the commands that talk to the network.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("could not start the async runtime: {e}")))
}

/// An `AuthManager` for the credential the global flags select.
pub fn manager(
    resolver: Resolver,
    global: &GlobalArgs,
) -> Result<claude_auth::AuthManager, Failure> {
    let options = claude_auth::ManagerOptions {
        resolve: options(global, false),
        ..Default::default()
    };
    claude_auth::AuthManager::new(resolver, options).map_err(auth_failure)
}

/// Exit codes for manager errors: 4 when the user must log in.
pub fn auth_failure(e: claude_auth::AuthError) -> Failure {
    use claude_auth::source::NoCredential;
    let code = match &e {
        claude_auth::AuthError::LoginRequired { .. } => crate::EXIT_AUTH_REQUIRED,
        claude_auth::AuthError::NoCredential(NoCredential::Failed { .. }) => 1,
        claude_auth::AuthError::NoCredential(_) => crate::EXIT_AUTH_REQUIRED,
        _ => 1,
    };
    Failure::error(e.to_string()).with_code(code)
}
