//! `claude-auth token`: the winning token or key on stdout, for scripts and
//! Claude Code's `apiKeyHelper`. Refreshes first when the token is within
//! the refresh threshold; if that refresh fails while the old token is still
//! valid, it warns on stderr and prints the old token. `--provider` picks
//! whose (default: the active provider).

use std::io::Write;

use crate::commands::provider::{logins, ProviderArg};
use crate::commands::usable_failure;
use crate::output::{CommandResult, Failure};
use crate::GlobalArgs;

/// Run `token`.
pub fn run(global: &GlobalArgs, provider: Option<ProviderArg>, no_newline: bool) -> CommandResult {
    let usable = logins(global, provider, false, usable_failure)?.chosen;
    let secret = usable.credential.secret().expose();
    let mut stdout = std::io::stdout().lock();
    let written = if no_newline {
        stdout.write_all(secret.as_bytes())
    } else {
        writeln!(stdout, "{secret}")
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::error(format!("could not write to stdout: {e}")))?;
    Ok(0)
}
