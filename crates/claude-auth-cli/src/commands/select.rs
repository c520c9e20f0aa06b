//! `claude-auth select [--strategy S] [--task T] [--provider P]`: which
//! credential would be chosen now and why, where each setting came from,
//! and why each other candidate was not chosen (the library's
//! `Providers::select`); and the same choice for `exec --strategy/--task`.

use clap::Args;

use claude_auth::select::preferences::{effective, Effective, Sourced};
use claude_auth::select::{SelectError, SelectRequest, Selection, Strategy, TaskHint};
use claude_auth::{Env, ManagerOptions, Provider, Providers};

use crate::commands::provider::ProviderArg;
use crate::commands::{options, usable_failure, Usable};
use crate::output::{print_json, CommandResult, Failure, Style};
use crate::GlobalArgs;

/// `select` options.
#[derive(Args, Debug)]
pub struct SelectArgs {
    /// The strategy: prefer-anthropic, prefer-openai, subscription-first, cheapest, fastest or manual (default: CLAUDE_AUTH_STRATEGY, preferences, [selection], the task's, manual)
    #[arg(long, value_name = "STRATEGY", value_parser = parse_strategy)]
    pub strategy: Option<Strategy>,
    /// What the work is: code-generation, analysis, quick-query or validation
    #[arg(long, value_name = "TASK", value_parser = parse_task)]
    pub task: Option<TaskHint>,
    /// Only this provider's credentials
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<ProviderArg>,
    /// Do not record the choice as the last selection
    #[arg(long)]
    pub dry_run: bool,
}

/// Parse `--strategy`.
pub fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.parse()
}

/// Parse `--task`.
pub fn parse_task(s: &str) -> Result<TaskHint, String> {
    s.parse()
}

/// Both providers with the global flags' options.
fn providers(global: &GlobalArgs) -> Result<Providers, Failure> {
    let providers = Providers::new(Env::from_process()).map_err(|e| {
        Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Settings)")
    })?;
    let options = ManagerOptions {
        resolve: options(global, false),
        ..Default::default()
    };
    Ok(providers
        .with_options(&Provider::Anthropic, options.clone())
        .with_options(&Provider::Openai, options))
}

fn select_failure(e: SelectError) -> Failure {
    match e {
        SelectError::Settings(e) => Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Running many agents)"),
        SelectError::NoChoice(e) => {
            Failure::error(e.to_string()).with_code(crate::EXIT_AUTH_REQUIRED)
        }
    }
}

/// Run `select`.
pub fn run(global: &GlobalArgs, args: &SelectArgs) -> CommandResult {
    let providers = providers(global)?;
    let selection = providers
        .select(&SelectRequest {
            strategy: args.strategy,
            task: args.task,
            provider: args.provider.map(Provider::from),
            dry_run: args.dry_run,
            agent: None,
        })
        .map_err(select_failure)?;
    if global.json {
        print_json(&selection)?;
        return Ok(0);
    }
    print(&selection);
    Ok(0)
}

fn print(s: &Selection) {
    let st = Style::stdout();
    let d = &s.decision;
    outln!(
        "Chosen: {} for {}, from {}",
        st.bold(d.candidate.class.as_str()),
        d.provider,
        d.candidate.location
    );
    outln!("Why: {}", d.reason);
    outln!();
    outln!("Settings:");
    settings_lines(&s.settings);
    if !d.others.is_empty() {
        outln!();
        outln!("Not chosen:");
        for o in &d.others {
            outln!("  {}: {}", o.candidate.describe(), o.why);
        }
    }
    for note in &s.notes {
        crate::output::warn(note);
    }
}

fn line<T: std::fmt::Display>(name: &str, s: &Sourced<T>) {
    outln!("  {name:<12} {}", s.describe());
}

fn settings_lines(e: &Effective) {
    line("strategy", &e.strategy);
    line(
        "threshold",
        &Sourced {
            value: format!("{}%", e.subscription_threshold_percent.value),
            origin: e.subscription_threshold_percent.origin,
            from: e.subscription_threshold_percent.from.clone(),
        },
    );
    line(
        "failover",
        &Sourced {
            value: if e.failover.value { "on" } else { "off" },
            origin: e.failover.origin,
            from: e.failover.from.clone(),
        },
    );
    let list: Vec<String> = e.fallback.value.iter().map(ToString::to_string).collect();
    line(
        "fallback",
        &Sourced {
            value: if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            },
            origin: e.fallback.origin,
            from: e.fallback.from.clone(),
        },
    );
    line("cost", &e.cost);
}

/// For `exec`: when `--strategy` or `--task` is given, or a strategy is set
/// (CLAUDE_AUTH_STRATEGY, preferences, `[selection]`), the chosen
/// credential (its provider and what the door needs), with one line on
/// stderr saying what was chosen and why; `None` otherwise (the active
/// provider's rule, as before).
pub fn for_exec(
    global: &GlobalArgs,
    strategy: Option<Strategy>,
    task: Option<TaskHint>,
    provider: Option<ProviderArg>,
    agent: Option<&str>,
) -> Result<Option<(Provider, Usable)>, Failure> {
    let providers = providers(global)?;
    if strategy.is_none() && task.is_none() {
        let set = effective(providers.env(), providers.settings(), None, None, None)
            .map_err(|e| select_failure(SelectError::Settings(e)))?;
        if set.strategy.origin == claude_auth::select::preferences::Origin::Default {
            return Ok(None);
        }
    }
    let selection = providers
        .select(&SelectRequest {
            strategy,
            task,
            provider: provider.map(Provider::from),
            dry_run: false,
            agent: agent.map(str::to_owned),
        })
        .map_err(select_failure)?;
    let d = selection.decision;
    for note in &selection.notes {
        crate::output::warn(note);
    }
    let manager = providers
        .manager_for(&d.candidate)
        .map_err(|e| Failure::error(e.to_string()))?;
    let obtained = crate::commands::runtime()?
        .block_on(manager.obtain())
        .map_err(usable_failure)?;
    eprintln!(
        "claude-auth: using {} for {}: {}",
        d.candidate.describe(),
        d.provider,
        d.reason
    );
    Ok(Some((
        d.provider,
        Usable::from_obtained(manager, &obtained),
    )))
}
