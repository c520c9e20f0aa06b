//! `--provider anthropic|openai` for the doors (`token`, `env`, `exec`,
//! `proxy`): which provider's credential a door hands out, and the
//! resolution for it. Without the flag a door serves the active provider
//! (`claude_auth::engine::active_provider`: `CLAUDE_AUTH_PROVIDER`, what
//! `switch` recorded, the only provider with a usable login, Anthropic),
//! found by `claude_auth::Providers::choose` with as few resolutions as the
//! rule allows (each chain at most once, so an external credential command
//! runs once).

use clap::ValueEnum;

use claude_auth::source::NoCredential;
use claude_auth::{AuthError, AuthManager, Provider};

use crate::commands::{options, resolver, Usable};
use crate::output::Failure;
use crate::GlobalArgs;

/// `--provider` values, exactly these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// Claude: API keys, Claude subscription and Console logins
    Anthropic,
    /// OpenAI: API keys, ChatGPT logins
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

/// The other provider.
pub fn other(provider: &Provider) -> Provider {
    match provider {
        Provider::Anthropic => Provider::Openai,
        Provider::Openai => Provider::Anthropic,
    }
}

/// The resolver for `provider`'s chain in this process's environment.
pub fn resolver_for(provider: &Provider) -> Result<claude_auth::Resolver, Failure> {
    match provider {
        Provider::Anthropic => resolver(),
        Provider::Openai => {
            let env = claude_auth::Env::from_process();
            let settings = claude_auth::Settings::load(&env).map_err(|e| {
                Failure::error(e.to_string())
                    .with_hint("fix the setting named above (see README: Settings)")
            })?;
            Ok(claude_auth::Resolver::for_provider(
                env,
                settings,
                Provider::Openai,
            ))
        }
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
    let resolver = resolver_for(provider)?;
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

/// One provider's resolution, as the doors need it.
enum Attempt {
    /// A usable credential.
    Usable(Box<Usable>),
    /// No usable login.
    NoLogin,
    /// A login that failed (expired, refresh refused, a broken setting).
    Failed(Failure),
}

/// The failure for `provider`'s error, as `failure` maps it; OpenAI's "no
/// credential" names its own logins.
fn failure_for(provider: &Provider, e: AuthError, failure: fn(AuthError) -> Failure) -> Failure {
    let none = matches!(e, AuthError::NoCredential(NoCredential::None));
    let mut f = failure(e);
    if none && *provider == Provider::Openai {
        f.message = "no OpenAI credential found; run `claude-auth login --provider chatgpt`, set OPENAI_API_KEY, or see `claude-auth status`".into();
    }
    f
}

/// The other provider's credential, besides the active one's (without the
/// explicit `--profile`, which only the chosen provider gets).
fn attempt_besides(
    global: &GlobalArgs,
    provider: &Provider,
    failure: fn(AuthError) -> Failure,
) -> Attempt {
    let manager = match manager_for(global, provider, false) {
        Ok(m) => m,
        Err(f) => return Attempt::Failed(f),
    };
    let runtime = match crate::commands::runtime() {
        Ok(r) => r,
        Err(f) => return Attempt::Failed(f),
    };
    match runtime.block_on(manager.obtain()) {
        Ok(obtained) => Attempt::Usable(Box::new(Usable::from_obtained(manager, &obtained))),
        // Not a usable login by the rule's measure (`Providers`' `usable`):
        // none, a broken chosen source, or expired with no way to refresh.
        Err(
            AuthError::NoCredential(NoCredential::None | NoCredential::Failed { .. })
            | AuthError::Expired { .. },
        ) => Attempt::NoLogin,
        Err(e) => Attempt::Failed(failure_for(provider, e, failure)),
    }
}

/// What a door hands out: the active provider's credential, and (when
/// asked for) the other provider's too when it has a usable one.
pub struct Logins {
    /// The active provider.
    pub provider: Provider,
    /// Its credential.
    pub chosen: Usable,
    /// The other provider's, when asked for and usable.
    pub besides: Option<Usable>,
}

/// The active provider (`flag`, else the rule) and its credential, resolved
/// once (refreshing when due), failing as `failure` maps the error (exit 4
/// when nothing is usable); with `besides`, the other provider's credential
/// too when it has a usable one (a broken login of its is named in a
/// warning, never an error: the active provider is what the command is for).
pub fn logins(
    global: &GlobalArgs,
    flag: Option<ProviderArg>,
    besides: bool,
    failure: fn(AuthError) -> Failure,
) -> Result<Logins, Failure> {
    let providers = claude_auth::Providers::new(claude_auth::Env::from_process()).map_err(|e| {
        Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Settings)")
    })?;
    let options = claude_auth::ManagerOptions {
        resolve: options(global, false),
        ..Default::default()
    };
    // The library's rule, each chain walked at most once (an external
    // credential command runs once).
    let providers = providers
        .with_provider(flag.map(Provider::from))
        .with_options(&Provider::Anthropic, options.clone())
        .with_options(&Provider::Openai, options);
    let chosen = crate::commands::runtime()?
        .block_on(providers.choose(None))
        .map_err(|e| Failure::error(e.to_string()))?;
    let provider = chosen.provider;
    let chosen_login = match chosen.obtained {
        Ok(obtained) => {
            let manager = providers
                .manager(&provider)
                .map_err(|e| failure_for(&provider, e, failure))?
                .clone();
            Usable::from_obtained(manager, &obtained)
        }
        Err(e) => return Err(failure_for(&provider, e, failure)),
    };
    let tried_other = chosen.other_unusable;
    let chosen = chosen_login;
    let besides = if besides && !tried_other {
        let other = other(&provider);
        match attempt_besides(global, &other, failure) {
            Attempt::Usable(u) => Some(*u),
            Attempt::NoLogin => None,
            Attempt::Failed(f) => {
                crate::output::warn(&format!(
                    "the {other} credential is not given too: {}",
                    f.message
                ));
                None
            }
        }
    } else {
        None
    };
    Ok(Logins {
        provider,
        chosen,
        besides,
    })
}
