//! `--provider anthropic|openai` for the doors (`token`, `env`, `exec`,
//! `proxy`): which provider's credential a door hands out, and the
//! resolution for it. Without the flag a door serves the active provider
//! (`claude_auth::engine::active_provider`: `CLAUDE_AUTH_PROVIDER`, what
//! `switch` recorded, the only provider with a usable login, Anthropic),
//! found with as few resolutions as the rule allows: when nothing chose,
//! Anthropic is active whenever it has a credential, so the OpenAI chain is
//! consulted only when it has none (and an external credential command runs
//! once, as before).

use clap::ValueEnum;

use claude_auth::engine::active_provider::{decide, record_path, Origin, SwitchRecord};
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
    /// No usable login, for the active-provider rule.
    NoLogin(Failure),
    /// A login that failed (expired, refresh refused, a broken setting).
    Failed(Failure),
}

fn attempt(
    global: &GlobalArgs,
    provider: &Provider,
    explicit: bool,
    failure: fn(AuthError) -> Failure,
) -> Attempt {
    let manager = match manager_for(global, provider, explicit) {
        Ok(m) => m,
        Err(f) => return Attempt::Failed(f),
    };
    let runtime = match crate::commands::runtime() {
        Ok(r) => r,
        Err(f) => return Attempt::Failed(f),
    };
    match runtime.block_on(manager.obtain()) {
        Ok(obtained) => Attempt::Usable(Box::new(Usable::from_obtained(manager, &obtained))),
        Err(e @ AuthError::NoCredential(NoCredential::None)) if *provider == Provider::Openai => {
            let mut f = failure(e);
            f.message = "no OpenAI credential found; run `claude-auth login --provider chatgpt`, set OPENAI_API_KEY, or see `claude-auth status`".into();
            Attempt::NoLogin(f)
        }
        // Not a usable login by the rule's measure (`Providers`' `usable`):
        // none, a broken chosen source, or expired with no way to refresh.
        Err(
            e @ (AuthError::NoCredential(NoCredential::None | NoCredential::Failed { .. })
            | AuthError::Expired { .. }),
        ) => Attempt::NoLogin(failure(e)),
        Err(e) => Attempt::Failed(failure(e)),
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
    let env = claude_auth::Env::from_process();
    let flag = flag.map(Provider::from);
    // The rule's first steps (flag, environment, switch record); its last
    // one (the only provider with a login) is decided below from the
    // resolutions the command makes anyway.
    let decided = decide(
        flag.as_ref(),
        &env,
        || SwitchRecord::load(&record_path(&env)),
        |_| false,
    )
    .map_err(|e| Failure::error(e.to_string()))?;
    let (provider, chosen, tried_other) = if decided.origin == Origin::Default {
        match attempt(global, &Provider::Anthropic, true, failure) {
            Attempt::Usable(u) => (Provider::Anthropic, *u, false),
            Attempt::NoLogin(none) => match attempt(global, &Provider::Openai, true, failure) {
                Attempt::Usable(u) => (Provider::Openai, *u, true),
                _ => return Err(none),
            },
            Attempt::Failed(f) => return Err(f),
        }
    } else {
        match attempt(global, &decided.provider, true, failure) {
            Attempt::Usable(u) => (decided.provider, *u, false),
            Attempt::NoLogin(f) | Attempt::Failed(f) => return Err(f),
        }
    };
    let besides = if besides && !tried_other {
        let other = other(&provider);
        match attempt(global, &other, false, failure) {
            Attempt::Usable(u) => Some(*u),
            Attempt::NoLogin(_) => None,
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
