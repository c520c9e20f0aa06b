//! `claude-auth login --with-token`: store a credential read from stdin.
//!
//! Secrets are never taken from argv (they would land in shell history and in
//! `ps`). This module reads the secret and tells its type; where it goes (an
//! OAuth token into the official profile files, an API key into claude-auth's
//! own key file, the keyring or the encrypted file) is the library's
//! [`claude_auth::profiles`] policy.

use std::io::{BufRead, IsTerminal, Read};

use claude_auth::credential::{classify_token, TokenPrefix};
use claude_auth::{Credential, CredentialKind, Provider, Secret, TokenSet};

use crate::commands::login_args::{LoginArgs, TokenType};
use crate::commands::profiles;
use crate::output::{success, warn, CommandResult, Failure};
use crate::GlobalArgs;

/// Read one secret line from stdin (hidden prompt on a terminal), bounded.
pub fn read_secret_from_stdin() -> Result<Secret, Failure> {
    let stdin = std::io::stdin();
    let line = if stdin.is_terminal() {
        prompt_hidden("Paste the token or API key (input hidden): ")
            .map_err(|e| Failure::error(format!("could not read from the terminal: {e}")))?
    } else {
        let mut line = String::new();
        // Bounded: anything longer than a token and its line ending is refused below.
        let limit = claude_auth::secret::MAX_TOKEN_LEN as u64 + 3;
        stdin
            .lock()
            .take(limit)
            .read_line(&mut line)
            .map_err(|e| Failure::error(format!("could not read stdin: {e}")))?;
        line
    };
    if line.trim().is_empty() {
        return Err(Failure::usage(
            "stdin was empty; pipe the token in: `claude-auth login --with-token < token.txt`",
        ));
    }
    // One line ending goes; anything else stray is refused, not guessed at.
    let value = line.strip_suffix('\n').unwrap_or(&line);
    let value = value.strip_suffix('\r').unwrap_or(value);
    let secret = Secret::token(value, "the token on stdin").map_err(|m| {
        Failure::usage(m).with_hint(
            "pipe the token alone, on one line: `claude-auth login --with-token < token.txt`",
        )
    });
    drop(line);
    secret
}

/// rpassword's hidden prompt, with Ctrl-C ending the process only once the
/// terminal is back as it was. rpassword reads Ctrl-C itself (its mode turns
/// ISIG off) and raises SIGINT *before* it restores echo and line mode: with
/// SIGINT's default action the process died and left the shell with no echo.
/// So for the prompt's duration SIGINT only sets a flag; once rpassword has
/// returned (and put the terminal back), a caught SIGINT ends the process as
/// the default action would (killed by SIGINT, so a shell sees the same).
#[cfg(unix)]
fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let interrupted = Arc::new(AtomicBool::new(false));
    let handler =
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))?;
    let read = rpassword::prompt_password(prompt);
    signal_hook::low_level::unregister(handler);
    if interrupted.load(Ordering::SeqCst) {
        let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    }
    read
}

#[cfg(not(unix))]
fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    rpassword::prompt_password(prompt)
}

fn credential_for(secret: Secret, kind: Option<TokenType>) -> Result<Credential, Failure> {
    let credential = match kind {
        Some(TokenType::ApiKey) => Credential::ApiKey {
            key: secret,
            provider: Provider::Anthropic,
        },
        Some(TokenType::Oauth) => {
            Credential::OAuth(TokenSet::access_only(secret, Provider::Anthropic))
        }
        Some(TokenType::Bearer) => Credential::Bearer {
            token: secret,
            provider: Provider::Anthropic,
            expires_at: None,
        },
        None => {
            if classify_token(secret.expose()) == TokenPrefix::Unknown {
                warn("the token's prefix is not one of Anthropic's; storing it as a bearer token (use --type to say otherwise)");
            }
            Credential::from_bare_anthropic_token(secret).map_err(Failure::usage)?
        }
    };
    Ok(credential)
}

/// Run `login --with-token`.
pub fn run(global: &GlobalArgs, args: &LoginArgs) -> CommandResult {
    let mut profiles = profiles()?;
    let mut login = profiles.new_login(global.profile.as_deref())?;
    login.storage = args.storage;
    login.fallback = !args.no_fallback;
    let secret = read_secret_from_stdin()?;
    let credential = credential_for(secret, args.kind)?;
    let stored = profiles.store(&login, &credential)?;
    for notice in &stored.notices {
        warn(&notice.to_string());
    }
    success(&format!(
        "Stored the {} {} for profile {} in {}",
        stored.kind.label(),
        stored.masked,
        stored.profile,
        stored.location
    ));
    if stored.kind == CredentialKind::ApiKey {
        eprintln!("  The official SDKs read API keys only from ANTHROPIC_API_KEY: export ANTHROPIC_API_KEY=\"$(claude-auth token)\"");
    }
    Ok(0)
}
