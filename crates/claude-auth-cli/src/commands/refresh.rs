//! `claude-auth refresh`: force a refresh of the selected login now.

use claude_auth::status::{relative, rfc3339};

use crate::commands::{auth_failure, manager, options, resolver, runtime};
use crate::output::{success, warn, CommandResult, Failure};
use crate::GlobalArgs;

/// Run `refresh`.
pub fn run(global: &GlobalArgs) -> CommandResult {
    let resolver = resolver()?;
    let resolution = resolver.resolve(&options(global, false));
    let current = resolution
        .credential()
        .map_err(|e| Failure::error(e.to_string()).with_code(crate::EXIT_AUTH_REQUIRED))?
        .clone();
    if !current.can_refresh() {
        return Err(Failure::error(format!(
            "the {} from {} cannot be refreshed (no refresh token or no OAuth client)",
            current.kind().label(),
            resolution.winner().map_or("?", |w| w.id.label())
        ))
        .with_hint("log in with `claude-auth login` to get a refreshable login"));
    }
    let manager = manager(resolver, global)?;
    let obtained = runtime()?
        .block_on(manager.force_refresh(current.secret()))
        .map_err(auth_failure)?;
    if let Some(w) = &obtained.warning {
        warn(w);
    }
    let expiry = obtained.credential.expires_at().map_or_else(
        || "unknown expiry".to_owned(),
        |e| {
            format!(
                "expires {} ({})",
                rfc3339(e),
                relative(claude_auth::credential::seconds_until(
                    e,
                    claude_auth::credential::now_unix()
                ))
            )
        },
    );
    success(&format!(
        "Refreshed: {} {expiry}",
        obtained.credential.secret().masked()
    ));
    Ok(0)
}
