//! `claude-auth token`: the winning token or key on stdout, for scripts and
//! Claude Code's `apiKeyHelper`.

use std::io::Write;

use claude_auth::credential::now_unix;
use claude_auth::source::NoCredential;

use crate::commands::{options, resolver};
use crate::output::{CommandResult, Failure};
use crate::{GlobalArgs, EXIT_AUTH_REQUIRED};

/// Run `token`.
pub fn run(global: &GlobalArgs, no_newline: bool) -> CommandResult {
    let resolver = resolver()?;
    let resolution = resolver.resolve(&options(global, false));
    let credential = match resolution.credential() {
        Ok(c) => c,
        Err(e @ NoCredential::Failed { .. }) => return Err(Failure::error(e.to_string())),
        Err(e) => {
            return Err(Failure::error(e.to_string())
                .with_hint("run `claude-auth status` to see every source")
                .with_code(EXIT_AUTH_REQUIRED))
        }
    };
    if credential.is_expired_at(now_unix()) {
        return Err(Failure::error(format!(
            "the {} from {} has expired",
            credential.kind().label(),
            resolution.winner().map_or("?", |w| w.id.label())
        ))
        .with_hint("log in again: claude-auth login")
        .with_code(EXIT_AUTH_REQUIRED));
    }
    let mut stdout = std::io::stdout().lock();
    let secret = credential.secret().expose();
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
