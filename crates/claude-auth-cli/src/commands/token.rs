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
        Err(NoCredential::NeedsExchange) => {
            let manager = crate::commands::manager(resolver.clone(), global)?;
            let obtained = crate::commands::runtime()?
                .block_on(manager.obtain())
                .map_err(crate::commands::auth_failure)?;
            return print_secret(obtained.credential.secret().expose(), no_newline);
        }
        Err(e) => {
            return Err(Failure::error(e.to_string())
                .with_hint("run `claude-auth status` to see every source")
                .with_code(EXIT_AUTH_REQUIRED))
        }
    };
    let now = now_unix();
    let threshold = resolver.settings().refresh_threshold_secs;
    let needs_refresh = credential.can_refresh()
        && credential
            .expires_at()
            .is_some_and(|e| e <= now + threshold);
    let owned;
    let credential = if needs_refresh {
        let manager = crate::commands::manager(resolver.clone(), global)?;
        let obtained = crate::commands::runtime()?
            .block_on(manager.obtain())
            .map_err(crate::commands::auth_failure)?;
        if let Some(w) = &obtained.warning {
            crate::output::warn(w);
        }
        owned = obtained.credential;
        &*owned
    } else if credential.is_expired_at(now) {
        return Err(Failure::error(format!(
            "the {} from {} has expired",
            credential.kind().label(),
            resolution.winner().map_or("?", |w| w.id.label())
        ))
        .with_hint("log in again: claude-auth login")
        .with_code(EXIT_AUTH_REQUIRED));
    } else {
        credential
    };
    print_secret(credential.secret().expose(), no_newline)
}

fn print_secret(secret: &str, no_newline: bool) -> CommandResult {
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
