//! One module per command.

pub mod chat;
pub mod env;
pub mod exec;
pub mod login;
pub mod login_args;
pub mod logout;
pub mod oauth_login;
pub mod profile;
pub mod proxy;
pub mod refresh;
pub mod status;
pub mod token;
pub mod usage;

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

/// The library's profile service for this process's environment.
pub fn profiles() -> Result<claude_auth::Profiles, Failure> {
    Ok(claude_auth::Profiles::new(resolver()?))
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

/// A usable credential for the global flags, refreshed first when it is
/// within the refresh threshold, with the base URL it belongs to and where
/// it came from.
pub struct Usable {
    /// The credential.
    pub credential: claude_auth::Credential,
    /// The base URL its source pins (profile or `ANTHROPIC_BASE_URL`).
    pub base_url: Option<String>,
    /// The winning source's label.
    pub source: String,
    /// The profile, when a profile won.
    pub profile: Option<String>,
    /// The spec profile the official SDKs can load, when the winner is one.
    pub spec_profile: Option<claude_auth::child_env::SpecProfile>,
}

/// Resolve, refresh when needed, or fail with exit 4 when nothing is usable.
pub fn usable_credential(global: &GlobalArgs) -> Result<Usable, Failure> {
    use claude_auth::source::NoCredential;
    let resolver = resolver()?;
    let resolution = resolver.resolve(&options(global, false));
    let winner = resolution.winner();
    let source = winner.map_or_else(String::new, |w| w.id.label().to_owned());
    let found = resolution.winning();
    let base_url = found.and_then(|f| f.base_url.clone());
    let profile = found.and_then(|f| f.profile.clone());
    let spec_profile =
        found.and_then(|f| claude_auth::child_env::spec_profile(f, resolver.profile_files()));
    let via_manager = match resolution.credential() {
        Ok(c) => {
            let now = claude_auth::credential::now_unix();
            let threshold = resolver.settings().refresh_threshold_secs;
            if c.can_refresh()
                && c.expires_at()
                    .is_some_and(|e| e <= now.saturating_add(threshold))
            {
                true
            } else if c.is_expired_at(now) {
                return Err(Failure::error(format!(
                    "the {} from {source} has expired",
                    c.kind().label()
                ))
                .with_hint("log in again: claude-auth login")
                .with_code(crate::EXIT_AUTH_REQUIRED));
            } else {
                return Ok(Usable {
                    credential: c.clone(),
                    base_url,
                    source,
                    profile,
                    spec_profile,
                });
            }
        }
        Err(NoCredential::NeedsExchange) => true,
        Err(e @ NoCredential::Failed { .. }) => return Err(Failure::error(e.to_string())),
        Err(e) => {
            return Err(Failure::error(e.to_string())
                .with_hint("run `claude-auth status` to see every source")
                .with_code(crate::EXIT_AUTH_REQUIRED))
        }
    };
    debug_assert!(via_manager);
    let manager = manager(resolver, global)?;
    let obtained = runtime()?
        .block_on(manager.obtain())
        .map_err(auth_failure)?;
    if let Some(w) = &obtained.warning {
        crate::output::warn(w);
    }
    Ok(Usable {
        credential: (*obtained.credential).clone(),
        base_url,
        source,
        profile,
        spec_profile,
    })
}

/// Where the proxy records each response's limits and tokens: the usage
/// ledger in our state dir, under the winning login's key; `None` when the
/// ledger cannot be opened (accounting never stops a request).
pub fn usage_sink(
    resolver: &Resolver,
    global: &GlobalArgs,
    agent: Option<&str>,
) -> Option<claude_auth::usage::writer::UsageSink> {
    if !resolver.settings().usage_ledger {
        return None;
    }
    let resolution = resolver.resolve(&options(global, false));
    let winner = resolution.winner()?;
    let found = winner.found()?;
    let login = claude_auth::usage::login_key(winner.id, found.profile.as_deref());
    let provider = found
        .credential
        .as_ref()
        .map_or(claude_auth::Provider::Anthropic, |c| c.provider().clone());
    claude_auth::usage::writer::UsageSink::open(resolver.env(), provider, &login, agent)
}
