//! `--provider anthropic|openai` for the doors (`token`, `env`, `exec`,
//! `proxy`): which provider's credential a door hands out, and the
//! resolution for it. Without the flag a door serves the active provider.

use clap::ValueEnum;

use claude_auth::{AuthManager, Provider};

use crate::commands::{options, resolver, usable_failure, Usable};
use crate::output::Failure;
use crate::GlobalArgs;

/// `--provider` values, exactly these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// Claude: API keys, Claude subscription and Console logins
    Anthropic,
    /// OpenAI: API keys, ChatGPT logins (Codex's or ours)
    Openai,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Provider {
        match p {
            ProviderArg::Anthropic => Provider::Anthropic,
            ProviderArg::Openai => Provider::Openai,
        }
    }
}

/// The provider a door serves: `--provider`, else the active provider.
pub fn chosen(flag: Option<ProviderArg>) -> Result<Provider, Failure> {
    Ok(flag.map_or(Provider::Anthropic, Provider::from))
}

/// The other provider.
pub fn other(provider: &Provider) -> Provider {
    match provider {
        Provider::Anthropic => Provider::Openai,
        Provider::Openai => Provider::Anthropic,
    }
}

/// A manager for `provider`'s chain; `explicit` applies the global flags'
/// explicit choices (`--profile`), which only the provider the user chose
/// gets.
pub fn manager_for(
    global: &GlobalArgs,
    provider: &Provider,
    explicit: bool,
) -> Result<AuthManager, Failure> {
    let resolver = match provider {
        Provider::Anthropic => resolver()?,
        Provider::Openai => {
            return Err(Failure::error(
                "OpenAI credentials are not in the resolution chain yet",
            ))
        }
    };
    let mut resolve = options(global, false);
    if !explicit {
        resolve.explicit_profile = None;
    }
    let options = claude_auth::ManagerOptions {
        resolve,
        ..Default::default()
    };
    AuthManager::new(resolver, options).map_err(crate::commands::auth_failure)
}

/// `provider`'s credential, resolved once (refreshing when due), or fail
/// with exit 4 when it has none.
pub fn usable_for(global: &GlobalArgs, provider: &Provider) -> Result<Usable, Failure> {
    let manager = manager_for(global, provider, true)?;
    let obtained = crate::commands::runtime()?
        .block_on(manager.obtain())
        .map_err(usable_failure)?;
    Ok(Usable::from_obtained(manager, &obtained))
}

/// The provider besides the chosen one, when it has a usable credential
/// too: a child then gets both. A login of its that is broken is named in a
/// note, never an error (the chosen provider is what the user asked for).
pub fn usable_besides(global: &GlobalArgs, chosen: &Provider) -> Option<Usable> {
    use claude_auth::source::NoCredential;
    let provider = other(chosen);
    let manager = manager_for(global, &provider, false).ok()?;
    match crate::commands::runtime().ok()?.block_on(manager.obtain()) {
        Ok(obtained) => Some(Usable::from_obtained(manager, &obtained)),
        Err(claude_auth::AuthError::NoCredential(NoCredential::None)) => None,
        Err(e) => {
            crate::output::warn(&format!(
                "the {} credential is not given too: {e}",
                provider.as_str()
            ));
            None
        }
    }
}
