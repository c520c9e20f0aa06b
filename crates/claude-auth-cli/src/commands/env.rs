//! `claude-auth env`: the variables a child needs for the resolved
//! credential, shell-escaped.

use clap::ValueEnum;

use claude_auth::child_env::{render, variables_for, EnvFormat};

use crate::commands::usable_credential;
use crate::output::CommandResult;
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
    /// KEY="value" (dotenv)
    Dotenv,
}

/// Run `env`.
pub fn run(global: &GlobalArgs, format: Format) -> CommandResult {
    let usable = usable_credential(global)?;
    let vars = variables_for(&usable.credential, usable.base_url.as_deref());
    let format = match (format, global.json) {
        (_, true) | (Format::Json, _) => EnvFormat::Json,
        (Format::Env, _) => EnvFormat::Env,
        (Format::Export, _) => EnvFormat::Export,
        (Format::Dotenv, _) => EnvFormat::Dotenv,
    };
    out!("{}", render(&vars, format));
    if matches!(usable.credential, claude_auth::Credential::OAuth(_)) {
        eprintln!(
            "note: OAuth tokens need the `anthropic-beta: oauth-2025-04-20` header, which the official SDKs do not add for ANTHROPIC_AUTH_TOKEN; `claude-auth exec --proxy -- CMD` adds it (and refreshes) for them"
        );
    }
    Ok(0)
}
