//! `claude-auth env`: the variables `exec` would give a child for the
//! resolved credential, quoted for the format. An OAuth login that is not a
//! spec profile (and any ChatGPT login) needs `exec`'s private proxy, which
//! a printed environment cannot hold: `env` says so and prints the raw token
//! only when asked. With `--provider` (default: the active provider) it
//! prints that provider's variables, followed by the other provider's and
//! `ACTIVE_AUTH_PROVIDER` when that one has a usable credential as well.

use clap::ValueEnum;

use claude_auth::child_env::{
    choose_door, door_variables, render, with_active_provider, DoorChoice, EnvFormat,
};
use claude_auth::{Credential, Provider};

use crate::commands::provider::{logins, ProviderArg};
use crate::commands::{usable_failure, Usable};
use crate::output::{CommandResult, Failure};
use crate::GlobalArgs;

/// `--format` values.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// KEY='value'
    #[default]
    Env,
    /// export KEY='value'
    Export,
    /// A JSON object
    Json,
    /// KEY='value' (dotenv: safe to source from a shell and to parse)
    Dotenv,
}

/// Why `usable`'s credential cannot be printed as variables, and what to
/// do instead.
fn needs_proxy(usable: &Usable) -> Failure {
    let (why, hint) = match usable.credential.provider() {
        Provider::Anthropic => (
            "given as ANTHROPIC_AUTH_TOKEN they send it without the `anthropic-beta: oauth-2025-04-20` header the API requires, and they cannot refresh it",
            "run the program with `claude-auth exec -- CMD` (a private proxy adds the header and refreshes), or keep `claude-auth proxy` running and use the variables it prints; `--raw-token` prints the token anyway, for tools that add the header themselves (Claude Code)",
        ),
        Provider::Openai => (
            "given as OPENAI_API_KEY they send it without the `ChatGPT-Account-Id` header the ChatGPT backend requires, and they cannot refresh it",
            "run the program with `claude-auth exec --provider openai -- CMD` (a private proxy adds the header and refreshes), or keep `claude-auth proxy --provider openai` running and use the variables it prints; `--raw-token` prints the token anyway, for tools that add the header themselves",
        ),
    };
    Failure::error(format!(
        "the {} from {} cannot be printed as variables the official SDKs can use: {why}",
        usable.credential.kind().label(),
        usable.source
    ))
    .with_hint(hint)
}

/// Run `env`.
pub fn run(
    global: &GlobalArgs,
    format: Format,
    raw_token: bool,
    provider: Option<ProviderArg>,
) -> CommandResult {
    let logins = logins(global, provider, true, usable_failure)?;
    let (provider, usable, besides) = (logins.provider, logins.chosen, logins.besides);
    let choice = if raw_token {
        DoorChoice::RawToken
    } else {
        DoorChoice::Auto
    };
    let variables = |u: &Usable| {
        let door = choose_door(&u.credential, u.spec_profile.as_ref(), choice);
        door_variables(&door, &u.credential, u.base_url.as_deref())
    };
    let mut sets = vec![variables(&usable).ok_or_else(|| needs_proxy(&usable))?];
    if let Some(other) = &besides {
        match variables(other) {
            Some(vars) => sets.push(vars),
            None => crate::output::warn(&format!(
                "the {} credential is not printed: {}",
                other.credential.provider().as_str(),
                needs_proxy(other).message
            )),
        }
    }
    let vars = with_active_provider(sets, &provider);
    let format = match (format, global.json) {
        (_, true) | (Format::Json, _) => EnvFormat::Json,
        (Format::Env, _) => EnvFormat::Env,
        (Format::Export, _) => EnvFormat::Export,
        (Format::Dotenv, _) => EnvFormat::Dotenv,
    };
    let text = render(&vars, format).map_err(|e| Failure::error(e.to_string()))?;
    out!("{text}");
    if raw_token {
        for u in std::iter::once(&usable).chain(besides.as_ref()) {
            match &u.credential {
                Credential::OAuth(set) if set.provider == Provider::Anthropic => eprintln!(
                    "note: OAuth tokens need the `anthropic-beta: oauth-2025-04-20` header, which the official SDKs do not add for ANTHROPIC_AUTH_TOKEN; `claude-auth exec -- CMD` gives them what works"
                ),
                Credential::OAuth(_) => eprintln!(
                    "note: ChatGPT tokens need the `ChatGPT-Account-Id` header, which the official SDKs do not send; `claude-auth exec --provider openai -- CMD` gives them what works"
                ),
                _ => {}
            }
        }
    }
    Ok(0)
}
