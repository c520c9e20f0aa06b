//! `claude-auth proxy`: the authenticating reverse proxy on loopback, for
//! one provider (`--provider`, default: the active provider): it prints
//! `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`, or `OPENAI_BASE_URL` and
//! `OPENAI_API_KEY`, pointing at itself.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Args;

use claude_auth::child_env::{proxy_variables, render, EnvFormat};
use claude_auth::proxy::{generate_local_key, start, ProxyConfig};

use crate::commands::auth_failure;
use crate::commands::provider::{logins, ProviderArg};
use crate::output::{CommandResult, Failure};
use crate::GlobalArgs;

/// `proxy` options.
#[derive(Args, Debug)]
pub struct ProxyArgs {
    /// Port on 127.0.0.1 (default: OS-assigned)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Accept requests without the local key (any local process can then use your credential)
    #[arg(long)]
    pub no_auth: bool,
    /// Whose credential it injects (default: the active provider)
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<ProviderArg>,
    /// Forward to this API base URL instead of the profile's (or ANTHROPIC_BASE_URL / OPENAI_BASE_URL, or the default)
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// No access log
    #[arg(long)]
    pub quiet: bool,
}

/// Run `proxy` until Ctrl-C / SIGTERM.
pub fn run(global: &GlobalArgs, args: &ProxyArgs) -> CommandResult {
    // Fail early, before printing anything, when there is no credential.
    // This one resolution also says where to forward (the rule `chat`
    // uses: the profile's base_url, else ANTHROPIC_BASE_URL or
    // OPENAI_BASE_URL, else the default).
    let logins = logins(global, args.provider, false, auth_failure)?;
    let (provider, usable) = (logins.provider, logins.chosen);
    let manager = usable.manager.clone();
    // One thread, as nginx's one worker: a request and its upstream
    // exchange are driven in one task (see the proxy's `upstream`), so a
    // second worker only adds wake-ups across threads. Measured with
    // scripts/bench-proxy: the same or more requests/s at 64 connections, and
    // less CPU per request at 1. Blocking work (file locks, the keyring)
    // runs on tokio's blocking threads, and the usage ledger on its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("could not start the async runtime: {e}")))?;
    runtime.block_on(async {
        let upstream = match &args.upstream {
            Some(u) => u.clone(),
            None => usable.upstream.clone(),
        };
        let mut usage = crate::commands::usage_sink(&manager, &usable.provenance, &provider, None);
        let mut manager = manager;
        // A login named with --profile serves first, as `exec` serves the
        // one it chose; else the list's first usable entry does.
        let chosen = global.profile.is_some().then_some(&usable);
        let chain = crate::commands::failover::proxy_chain(
            &provider,
            &upstream,
            args.upstream.is_some(),
            usage.as_ref(),
            chosen,
        )
        .await?;
        let failover = chain.map(|c| {
            (manager, usage) = (c.manager, c.usage);
            c.failover
        });
        let local_key = if args.no_auth {
            None
        } else {
            Some(generate_local_key()?)
        };
        let mut config = ProxyConfig::new(
            SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
            upstream.clone(),
            local_key.clone(),
        );
        config.access_log = !args.quiet;
        config.budgets =
            crate::commands::budget_book(&manager, &usable.provenance, usage.as_ref())?;
        config.usage = usage;
        config.failover = failover;
        config.agent_keys = agent_keys(&manager);
        let handle = start(manager, config).await?;
        let vars = proxy_variables(&provider, handle.url(), local_key.as_ref());
        // The signal handlers are in place before anyone can learn that the
        // proxy is ready: a SIGTERM right after the variables are printed
        // shuts it down gracefully instead of killing it.
        let shutdown = wait_for_shutdown_signal()?;
        // The settings clients need, as data on stdout.
        let format = if global.json {
            EnvFormat::Json
        } else {
            EnvFormat::Export
        };
        out!(
            "{}",
            render(&vars, format).map_err(|e| Failure::error(e.to_string()))?
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        eprintln!(
            "claude-auth proxy: listening on {}, forwarding to {upstream} (Ctrl-C to stop)",
            handle.url()
        );
        if args.no_auth {
            crate::output::warn(
                "--no-auth: any process on this machine can use your credential through the proxy",
            );
        }
        shutdown.await;
        eprintln!("claude-auth proxy: shutting down");
        handle.shutdown(Duration::from_secs(10)).await;
        Ok::<u8, Failure>(0)
    })
}

/// The keys of agents started with `exec --agent-id ID --proxy-url URL`,
/// accepted besides the local key while their session is open; `None` when
/// the usage ledger is off (or cannot be opened: said once, on stderr).
fn agent_keys(manager: &claude_auth::AuthManager) -> Option<claude_auth::agents::AgentKeys> {
    let resolver = manager.resolver();
    if !resolver.settings().usage_ledger {
        return None;
    }
    match claude_auth::agents::AgentKeys::open_in(&claude_auth::usage::state_dir(resolver.env())) {
        Ok(keys) => Some(keys),
        Err(e) => {
            crate::output::warn(&format!("agent keys are not accepted: {e}"));
            None
        }
    }
}

/// Install the SIGINT and SIGTERM handlers now; the future resolves on the
/// first of them.
fn wait_for_shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let failed = |e: std::io::Error| Failure::error(format!("could not handle signals: {e}"));
        let mut term = signal(SignalKind::terminate()).map_err(failed)?;
        let mut int = signal(SignalKind::interrupt()).map_err(failed)?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
