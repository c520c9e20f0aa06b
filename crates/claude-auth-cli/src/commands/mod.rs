//! One module per command.

pub mod agents;
pub mod chat;
pub mod env;
pub mod exec;
pub mod exec_agent;
pub mod exec_budget;
pub mod failover;
pub mod import;
pub mod login;
pub mod login_args;
pub mod logout;
pub mod oauth_login;
pub mod openai_login;
pub mod profile;
pub mod provider;
pub mod proxy;
pub mod refresh;
pub mod select;
pub mod status;
pub mod switch;
pub mod token;
pub mod usage;

use claude_auth::{Env, ResolveOptions, Resolver};

use crate::output::Failure;
use crate::GlobalArgs;

/// The resolver for this process's environment.
pub fn resolver() -> Result<Resolver, Failure> {
    Resolver::new(Env::from_process()).map_err(|e| {
        Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Settings)")
    })
}

/// Resolution options from the global flags.
pub fn options(global: &GlobalArgs, examine_all: bool) -> ResolveOptions {
    ResolveOptions {
        explicit_profile: global.profile.clone(),
        examine_all,
        ..ResolveOptions::default()
    }
}

/// The library's profile service for this process's environment.
pub fn profiles() -> Result<claude_auth::Profiles, Failure> {
    Ok(claude_auth::Profiles::new(resolver()?))
}

/// A single-threaded async runtime for the commands that talk to the network.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("could not start the async runtime: {e}")))
}

/// An `AuthManager` for the credential the global flags select.
pub fn manager(
    resolver: Resolver,
    global: &GlobalArgs,
) -> Result<claude_auth::AuthManager, Failure> {
    let options = claude_auth::ManagerOptions {
        resolve: options(global, false),
        ..Default::default()
    };
    claude_auth::AuthManager::new(resolver, options).map_err(auth_failure)
}

/// Exit codes for manager errors: 4 when the user must log in.
pub fn auth_failure(e: claude_auth::AuthError) -> Failure {
    use claude_auth::source::NoCredential;
    let code = match &e {
        claude_auth::AuthError::LoginRequired { .. } => crate::EXIT_AUTH_REQUIRED,
        claude_auth::AuthError::NoCredential(NoCredential::Failed { .. }) => 1,
        claude_auth::AuthError::NoCredential(_) => crate::EXIT_AUTH_REQUIRED,
        _ => 1,
    };
    Failure::error(e.to_string()).with_code(code)
}

/// The credential the global flags select, resolved once by the manager
/// (which refreshes it when due; the CLI never decides that), with where it
/// came from and where requests made with it go.
pub struct Usable {
    /// The credential.
    pub credential: claude_auth::Credential,
    /// The base URL its source pins (profile or `ANTHROPIC_BASE_URL`), which
    /// a child's environment repeats; for a ChatGPT login always where its
    /// requests go (the setting `[openai] chatgpt_base_url`, else ChatGPT's).
    pub base_url: Option<String>,
    /// Where requests go: the pinned base URL, else `ANTHROPIC_BASE_URL`,
    /// else the default. `chat` and the proxy use this one rule.
    pub upstream: String,
    /// The winning source's label.
    pub source: String,
    /// The profile, when a profile won.
    pub profile: Option<String>,
    /// The spec profile the official SDKs can load, when the winner is one.
    pub spec_profile: Option<claude_auth::child_env::SpecProfile>,
    /// The manager that resolved it, for the commands that go on using it
    /// (the proxy behind `exec --proxy`).
    pub manager: claude_auth::AuthManager,
    /// Where it came from, as the manager resolved it.
    pub provenance: std::sync::Arc<claude_auth::manager::Provenance>,
}

impl Usable {
    /// What `manager` handed out.
    pub fn from_obtained(
        manager: claude_auth::AuthManager,
        obtained: &claude_auth::manager::Obtained,
    ) -> Usable {
        if let Some(w) = &obtained.warning {
            crate::output::warn(w);
        }
        let provenance = &obtained.provenance;
        let chatgpt = matches!(
            &*obtained.credential,
            claude_auth::Credential::OAuth(set) if set.provider == claude_auth::Provider::Openai
        );
        Usable {
            credential: (*obtained.credential).clone(),
            base_url: if chatgpt {
                Some(provenance.base_url.clone())
            } else {
                provenance.pinned_base_url.clone()
            },
            upstream: provenance.base_url.clone(),
            source: provenance
                .source
                .map_or_else(String::new, |s| s.label().to_owned()),
            profile: provenance.profile.clone(),
            spec_profile: claude_auth::child_env::spec_profile(
                provenance.profile.as_deref(),
                &provenance.backing,
                manager.resolver().profile_files(),
            ),
            manager,
            provenance: std::sync::Arc::clone(provenance),
        }
    }
}

/// Why nothing usable was found, as `token`, `env` and `exec` say it.
pub fn usable_failure(e: claude_auth::AuthError) -> Failure {
    use claude_auth::source::NoCredential;
    use claude_auth::AuthError;
    match e {
        AuthError::Expired { kind, origin, .. } => Failure::error(format!(
            "the {kind} from {} has expired",
            origin.map_or("", |o| o.label())
        ))
        .with_hint("log in again: claude-auth login")
        .with_code(crate::EXIT_AUTH_REQUIRED),
        AuthError::NoCredential(e @ NoCredential::Failed { .. }) => Failure::error(e.to_string()),
        AuthError::NoCredential(e) => Failure::error(e.to_string())
            .with_hint("run `claude-auth status` to see every source")
            .with_code(crate::EXIT_AUTH_REQUIRED),
        e => auth_failure(e),
    }
}

/// Where the proxy records each response's limits and tokens: the usage
/// ledger in our state dir, under the winning login's key (from the one
/// resolution, `provenance`); `None` when the ledger cannot be opened
/// (accounting never stops a request).
pub fn usage_sink(
    manager: &claude_auth::AuthManager,
    provenance: &claude_auth::manager::Provenance,
    provider: &claude_auth::Provider,
    agent: Option<&str>,
) -> Option<claude_auth::usage::writer::UsageSink> {
    if !manager.resolver().settings().usage_ledger {
        return None;
    }
    let login = claude_auth::usage::login_key(provenance.source?, provenance.profile.as_deref());
    claude_auth::usage::writer::UsageSink::open(
        manager.resolver().env(),
        provider.clone(),
        &login,
        agent,
    )
}

/// How often a proxy re-reads the shared ledger for budgets, in
/// milliseconds (default: [`claude_auth::budgets::DEFAULT_REFRESH`]); 0
/// reads it before every request that has a budget.
pub const BUDGET_REFRESH_VAR: &str = "CLAUDE_AUTH_BUDGET_REFRESH_MS";

/// The budgets a proxy with `usage`'s login checks: the login's profile
/// budget (`[profiles.<name>] budget`) and the budgets of agent sessions
/// whose keys it accepts. `None` without the ledger (budgets count from
/// it), which is an error when the profile has a budget.
pub fn budget_book(
    manager: &claude_auth::AuthManager,
    provenance: &claude_auth::manager::Provenance,
    usage: Option<&claude_auth::usage::writer::UsageSink>,
) -> Result<Option<std::sync::Arc<claude_auth::budgets::BudgetBook>>, Failure> {
    use claude_auth::budgets::{BookConfig, BudgetBook, ProfileBudget, DEFAULT_REFRESH};
    let settings = manager.resolver().settings();
    let profile = provenance.profile.as_ref().and_then(|name| {
        settings.profile_budget(name).map(|budget| ProfileBudget {
            name: name.clone(),
            budget,
        })
    });
    let Some(usage) = usage else {
        return match profile {
            Some(p) => Err(Failure::usage(format!(
                "profile {:?} has a budget ({}), which is counted in the usage ledger, and the ledger is off or could not be opened",
                p.name, p.budget
            ))
            .with_hint("turn the ledger on ([usage] ledger = true) or remove the profile's budget")),
            None => Ok(None),
        };
    };
    let refresh = match std::env::var(BUDGET_REFRESH_VAR) {
        Ok(v) => std::time::Duration::from_millis(v.trim().parse().map_err(|_| {
            Failure::usage(format!(
                "{BUDGET_REFRESH_VAR}={v:?} is not a whole number of milliseconds"
            ))
        })?),
        Err(_) => DEFAULT_REFRESH,
    };
    let config = BookConfig {
        provider: usage.provider.clone(),
        login: std::sync::Arc::clone(&usage.login),
        profile,
        refresh,
    };
    BudgetBook::new(config, usage.writer.clone())
        .map(Some)
        .map_err(|e| Failure::error(format!("budgets: {e}")))
}
