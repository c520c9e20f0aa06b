//! `claude-auth env`: the variables `exec` would give a child for the
//! resolved credential, quoted for the format. An OAuth login that is not a
//! spec profile needs `exec`'s private proxy, which a printed environment
//! cannot hold: `env` says so and prints the raw token only when asked.

use clap::ValueEnum;

use claude_auth::child_env::{
    choose_door, profile_variables, render, variables_for, Door, DoorChoice, EnvFormat,
};

use crate::commands::usable_credential;
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

/// Run `env`.
pub fn run(global: &GlobalArgs, format: Format, raw_token: bool) -> CommandResult {
    let usable = usable_credential(global)?;
    let choice = if raw_token {
        DoorChoice::RawToken
    } else {
        DoorChoice::Auto
    };
    let base_url = usable.base_url.as_deref();
    let vars = match choose_door(&usable.credential, usable.spec_profile.as_ref(), choice) {
        Door::Variables => variables_for(&usable.credential, base_url),
        Door::Profile(profile) => profile_variables(&profile, &usable.credential, base_url),
        Door::Proxy => {
            return Err(Failure::error(format!(
                "the {} from {} cannot be printed as variables the official SDKs can use: given as ANTHROPIC_AUTH_TOKEN they send it without the `anthropic-beta: oauth-2025-04-20` header the API requires, and they cannot refresh it",
                usable.credential.kind().label(),
                usable.source
            ))
            .with_hint(
                "run the program with `claude-auth exec -- CMD` (a private proxy adds the header and refreshes), or keep `claude-auth proxy` running and use the variables it prints; `--raw-token` prints the token anyway, for tools that add the header themselves (Claude Code)",
            ))
        }
    };
    let format = match (format, global.json) {
        (_, true) | (Format::Json, _) => EnvFormat::Json,
        (Format::Env, _) => EnvFormat::Env,
        (Format::Export, _) => EnvFormat::Export,
        (Format::Dotenv, _) => EnvFormat::Dotenv,
    };
    let text = render(&vars, format).map_err(|e| Failure::error(e.to_string()))?;
    out!("{text}");
    if raw_token && matches!(usable.credential, claude_auth::Credential::OAuth(_)) {
        eprintln!(
            "note: OAuth tokens need the `anthropic-beta: oauth-2025-04-20` header, which the official SDKs do not add for ANTHROPIC_AUTH_TOKEN; `claude-auth exec -- CMD` gives them what works"
        );
    }
    Ok(0)
}
