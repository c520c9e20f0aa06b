//! `claude-auth exec -- CMD ARGS…`: run a program with what it needs to use
//! the credential ([`choose_door`]): an API key as is; an OAuth login from a
//! spec profile as that profile (the official SDKs load it, add the OAuth
//! beta header and refresh it themselves); any other OAuth login, or any
//! credential with `--proxy`, as a private proxy's URL and one-time key, so
//! the real token never reaches the child and refresh stays here.
//! `--raw-token` hands over the token itself instead. OpenAI's side is the
//! same: an API key as `OPENAI_API_KEY` (and `OPENAI_BASE_URL` when pinned),
//! a ChatGPT login through a private proxy. `--provider` names the active
//! provider; the other one's variables are given too when it has a usable
//! credential, with `ACTIVE_AUTH_PROVIDER` saying which to use.
//!
//! Signals are forwarded to the child; the exit code is the child's (128 +
//! signal when it was killed). Nesting is refused unless `--force`.
//!
//! `--agent-id ID` runs the child as an agent session (`exec_agent`): kept
//! in the usage ledger from start to exit code or signal, with a key of its
//! own for a private proxy, or for a shared one named by `--proxy-url`.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use clap::Args;

use claude_auth::agents::{AgentRef, AGENT_ID_VAR};
use claude_auth::child_env::{
    choose_door, door_variables, proxy_variables, with_active_provider, Door, DoorChoice,
    ACTIVE_AUTH_PROVIDER, CREDENTIAL_VARS,
};
use claude_auth::proxy::{generate_local_key, start, ProxyConfig, ProxyHandle};
use claude_auth::usage::writer::UsageSink;
use claude_auth::Secret;

use crate::commands::exec_agent::{self, Session};
use crate::commands::exec_budget;
use crate::commands::provider::{logins, ProviderArg};
use crate::commands::{usable_failure, Usable};
use crate::output::{CommandResult, Failure};
use crate::GlobalArgs;

/// Set in the child's environment: the profile (or source) it runs with.
pub const EXEC_MARKER: &str = "CLAUDE_AUTH_EXEC";

/// `exec` options.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Run even inside another `claude-auth exec`
    #[arg(long)]
    pub force: bool,
    /// Run as agent ID: its session (start, end, exit code, usage) is kept in the usage ledger and listed by `claude-auth agents`; the child gets CLAUDE_AUTH_AGENT_ID (and AGENT_ID, ACTIVE_AUTH_PROVIDER), and through a proxy a key of its own, so every request is counted as this agent's
    #[arg(long, value_name = "ID")]
    pub agent_id: Option<String>,
    /// With --agent-id: send the child to this shared `claude-auth proxy` (its URL, e.g. http://127.0.0.1:8080; default: $CLAUDE_AUTH_PROXY_URL) with the agent's key instead of a private proxy
    #[arg(
        long,
        value_name = "URL",
        requires = "agent_id",
        conflicts_with = "raw_token"
    )]
    pub proxy_url: Option<String>,
    /// With --agent-id: at most N tokens over the agent's session (200000, 200k, 2M); a proxy (a private one unless --proxy-url) answers requests past it with a 429
    #[arg(
        long,
        value_name = "N",
        requires = "agent_id",
        conflicts_with_all = ["budget", "raw_token"]
    )]
    pub budget_tokens: Option<String>,
    /// With --agent-id: a budget as tokens (N, or per a rolling period: 500k/5h) or as a share of a window (20%5h, 10%7d), estimated from the ledger
    #[arg(
        long,
        value_name = "BUDGET",
        requires = "agent_id",
        conflicts_with = "raw_token"
    )]
    pub budget: Option<String>,
    /// The active provider for the child (default: the active provider); the other one's variables are given too when it has a usable credential, with ACTIVE_AUTH_PROVIDER naming this one
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<ProviderArg>,
    /// Give the child only a private proxy's URL and a one-time key (the default for OAuth logins that are not spec profiles, and for ChatGPT logins)
    #[arg(long, conflicts_with = "raw_token")]
    pub proxy: bool,
    /// Give the child the token itself (ANTHROPIC_AUTH_TOKEN and CLAUDE_CODE_OAUTH_TOKEN, or OPENAI_API_KEY), even where the SDKs cannot use it
    #[arg(long)]
    pub raw_token: bool,
    /// Choose the credential with this strategy (see `claude-auth select`); one line on stderr says what was chosen and why
    #[arg(long, value_name = "STRATEGY", value_parser = crate::commands::select::parse_strategy)]
    pub strategy: Option<claude_auth::select::Strategy>,
    /// What the child's work is (code-generation, analysis, quick-query, validation); a strategy may use it
    #[arg(long, value_name = "TASK", value_parser = crate::commands::select::parse_task)]
    pub task: Option<claude_auth::select::TaskHint>,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// A private proxy serving one login to the child, and where its usage goes.
type Running = (ProxyHandle, Option<UsageSink>);

/// Start a private proxy for `usable` (forwarding where `chat` would go,
/// the same resolution) and return the variables that point the child at it.
/// With `[selection] fallback` set it fails over as `claude-auth proxy`
/// does (the same notice on stderr per switch and the same `failover` event
/// in the ledger), from the credential `exec` chose (which the session row
/// and the stderr lines name) to the list's entries after it.
fn private_proxy(
    runtime: &tokio::runtime::Runtime,
    usable: &Usable,
    agent: Option<(&AgentRef, &Secret)>,
    running: &mut Vec<Running>,
) -> Result<Vec<(&'static str, String)>, Failure> {
    let mut manager = usable.manager.clone();
    let provider = usable.credential.provider();
    let id = agent.map(|(a, _)| &*a.id);
    let mut usage = crate::commands::usage_sink(&manager, &usable.provenance, provider, id);
    let chain = runtime.block_on(crate::commands::failover::proxy_chain(
        provider,
        &usable.upstream,
        false,
        usage.as_ref(),
        Some(usable),
    ))?;
    let failover = chain.map(|c| {
        (manager, usage) = (c.manager, c.usage);
        c.failover
    });
    // An agent's proxy takes the agent's key as its local key.
    let key = match agent {
        Some((_, key)) => key.clone(),
        None => generate_local_key()?,
    };
    let mut config = ProxyConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        usable.upstream.clone(),
        Some(key.clone()),
    );
    config.access_log = false;
    config.budgets = crate::commands::budget_book(&manager, &usable.provenance, usage.as_ref())?;
    config.usage = usage.clone();
    config.failover = failover;
    config.local_agent = agent.map(|(a, _)| a.clone());
    let handle = runtime.block_on(start(manager, config))?;
    let vars = proxy_variables(provider, handle.url(), Some(&key));
    running.push((handle, usage));
    Ok(vars)
}

/// Run `exec`.
pub fn run(global: &GlobalArgs, args: &ExecArgs) -> CommandResult {
    if let Some(outer) = std::env::var_os(EXEC_MARKER) {
        if !args.force {
            return Err(Failure::usage(format!(
                "already inside `claude-auth exec` (profile {}); pass --force to nest",
                outer.to_string_lossy()
            )));
        }
    }
    if let Some(id) = &args.agent_id {
        exec_agent::check_id(id)?;
    }
    let proxy_url = match &args.agent_id {
        Some(_) => exec_agent::proxy_url(args.proxy_url.as_deref())?,
        None => None,
    };
    let budget = exec_budget::parse(args.budget_tokens.as_deref(), args.budget.as_deref())?;
    let (provider, usable, besides) = match crate::commands::select::for_exec(
        global,
        args.strategy,
        args.task,
        args.provider,
        args.agent_id.as_deref(),
    )? {
        Some((provider, usable)) => (provider, usable, None),
        None => {
            let logins = logins(global, args.provider, true, usable_failure)?;
            (logins.provider, logins.chosen, logins.besides)
        }
    };
    let marker = usable
        .profile
        .clone()
        .unwrap_or_else(|| usable.source.clone());
    let mut cmd = Command::new(&args.command[0]);
    cmd.args(&args.command[1..]);
    for var in CREDENTIAL_VARS {
        cmd.env_remove(var);
    }
    cmd.env(EXEC_MARKER, &marker);
    if let Some(agent) = &args.agent_id {
        cmd.env(AGENT_ID_VAR, agent)
            .env("AGENT_ID", agent)
            .env(ACTIVE_AUTH_PROVIDER, provider.as_str());
    }

    // A budget is enforced by a proxy.
    let choice = if args.proxy || budget.is_some() {
        DoorChoice::Proxy
    } else if args.raw_token {
        DoorChoice::RawToken
    } else {
        DoorChoice::Auto
    };
    let doors: Vec<(&Usable, Door)> = std::iter::once(&usable)
        .chain(besides.as_ref())
        .map(|u| {
            (
                u,
                choose_door(&u.credential, u.spec_profile.as_ref(), choice),
            )
        })
        .collect();
    // An agent reaching the API through a proxy has a key of its own.
    let proxied = proxy_url.is_some() || doors.iter().any(|(_, d)| *d == Door::Proxy);
    let agent_key = match &args.agent_id {
        Some(_) if proxied => Some(exec_agent::new_key()?),
        _ => None,
    };
    if budget.is_some() && !usable.manager.resolver().settings().usage_ledger {
        return Err(Failure::usage(
            "a budget is counted in the usage ledger, which the settings turn off ([usage] ledger = false)",
        ));
    }
    let session = match &args.agent_id {
        Some(id) => Session::register(
            &usable,
            id,
            budget.as_ref().map(|(text, _)| text.as_str()),
            agent_key.as_ref(),
            proxy_url.is_some() || budget.is_some(),
        )?,
        None => None,
    };
    if args.agent_id.is_some() {
        cmd.envs(exec_budget::agent_env(&usable, budget.as_ref()));
    }
    let result = run_child(
        args,
        cmd,
        &doors,
        &provider,
        proxy_url.as_deref(),
        agent_key.as_ref(),
        session.as_ref(),
    );
    if let Some(session) = session {
        match &result {
            Ok((status, code)) => session.close(status.as_ref(), *code),
            Err(failure) => session.close(None, failure.code),
        }
    }
    result.map(|(_, code)| code)
}

/// Start what the doors need, run the child and wait for it: its exit
/// status (`None` when it could not be started) and our exit code.
fn run_child(
    args: &ExecArgs,
    mut cmd: Command,
    doors: &[(&Usable, Door)],
    provider: &claude_auth::Provider,
    proxy_url: Option<&str>,
    agent_key: Option<&Secret>,
    session: Option<&Session>,
) -> Result<(Option<std::process::ExitStatus>, u8), Failure> {
    let agent = session.map(|s| &s.agent).zip(agent_key);
    // The chosen login (the first) goes to the shared proxy when one is named.
    let private = |i: usize, door: &Door| *door == Door::Proxy && (i > 0 || proxy_url.is_none());
    let runtime = if doors.iter().enumerate().any(|(i, (_, d))| private(i, d)) {
        Some(
            // One worker, as `claude-auth proxy` runs on one thread: a
            // request and its upstream exchange are driven in one task, so
            // a second worker only adds wake-ups across threads. (A worker
            // thread, not the current thread: this one waits for the child.)
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| Failure::error(format!("could not start the async runtime: {e}")))?,
        )
    } else {
        None
    };
    let mut running = Vec::new();
    let mut sets = Vec::new();
    for (i, (u, door)) in doors.iter().enumerate() {
        if let (0, Some(url), Some(key)) = (i, proxy_url, agent_key) {
            sets.push(proxy_variables(
                u.credential.provider(),
                url.to_owned(),
                Some(key),
            ));
            continue;
        }
        let vars = match (
            door_variables(door, &u.credential, u.base_url.as_deref()),
            &runtime,
        ) {
            (Some(vars), _) => vars,
            (None, Some(runtime)) => private_proxy(runtime, u, agent, &mut running)?,
            (None, None) => return Err(Failure::error("no runtime for the private proxy")),
        };
        sets.push(vars);
    }
    cmd.envs(with_active_provider(sets, provider));

    // Take over the signals before the child exists, so none arriving in
    // between kills us and orphans it; they are forwarded once it runs.
    let pending = signals::install();
    let mut child = cmd.spawn().map_err(|e| {
        Failure::error(format!("could not run {:?}: {e}", args.command[0])).with_code(
            if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            },
        )
    })?;
    if let Some(session) = session {
        session.child_started(child.id());
    }
    let forwarder = pending.forward_to(child.id());
    let status = child
        .wait()
        .map_err(|e| Failure::error(format!("could not wait for the child: {e}")))?;
    drop(forwarder);
    if let Some(runtime) = runtime {
        let mut sinks = Vec::new();
        for (handle, usage) in running {
            runtime.block_on(handle.shutdown(Duration::from_secs(2)));
            sinks.extend(usage);
        }
        drop(runtime);
        // Every response's ledger row is written before we exit.
        for usage in sinks {
            usage.writer.flush();
        }
    }
    Ok((Some(status), exit_code(&status)))
}

fn exit_code(status: &std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return u8::try_from(128 + sig).unwrap_or(255);
        }
    }
    1
}

#[cfg(unix)]
mod signals {
    use std::io::IsTerminal;

    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
    use signal_hook::iterator::{Handle, Signals};

    /// Signals taken over but not yet forwarded (no child yet).
    pub struct Pending(Option<Signals>);

    /// Forwards signals to the child while alive; stops on drop.
    pub struct Forwarder(Option<Handle>);

    impl Drop for Forwarder {
        fn drop(&mut self) {
            if let Some(h) = self.0.take() {
                h.close();
            }
        }
    }

    /// Take over TERM, HUP, USR1, USR2, WINCH, INT and QUIT; they queue until
    /// [`Pending::forward_to`].
    pub fn install() -> Pending {
        Pending(Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH]).ok())
    }

    impl Pending {
        /// Forward to `pid`: INT and QUIT only when stdin is not a terminal
        /// (otherwise the terminal already sent them to the child, which
        /// shares our process group).
        pub fn forward_to(self, pid: u32) -> Forwarder {
            let Some(mut signals) = self.0 else {
                return Forwarder(None);
            };
            let handle = signals.handle();
            let from_tty = std::io::stdin().is_terminal();
            let Ok(pid) = i32::try_from(pid) else {
                return Forwarder(None);
            };
            std::thread::spawn(move || {
                for sig in signals.forever() {
                    if from_tty && (sig == SIGINT || sig == SIGQUIT) {
                        continue;
                    }
                    if let Ok(s) = Signal::try_from(sig) {
                        let _ = kill(Pid::from_raw(pid), s);
                    }
                }
            });
            Forwarder(Some(handle))
        }
    }
}

#[cfg(not(unix))]
mod signals {
    /// Console signals reach the child directly on Windows.
    pub struct Pending;
    /// Nothing to stop.
    pub struct Forwarder;
    pub fn install() -> Pending {
        Pending
    }
    impl Pending {
        pub fn forward_to(self, _pid: u32) -> Forwarder {
            Forwarder
        }
    }
}
