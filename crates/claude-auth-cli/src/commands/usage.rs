//! `claude-auth usage` (alias `quota`): every login's windows, how fast
//! they are being spent, and the tokens the ledger has seen.
//!
//! Subscription logins ask the vendor's usage endpoint through the
//! library's cached, rate-limit-aware fetcher; API keys (and subscription
//! logins whose endpoint cannot be reached) show the latest rate-limit
//! headers the usage ledger kept. Rendering lives in `usage_view`.
//! Without `--provider` both vendors' logins are shown, Anthropic's first;
//! `--provider P` shows one chain's. OpenAI's: ChatGPT logins from
//! `wham/usage`, API keys from the `x-ratelimit-*` (and Codex's
//! `x-codex-*`) headers the ledger kept.

use std::time::Duration;

use clap::Args;
use claude_auth::credential::now_unix;
use claude_auth::source::ResolveOptions;
use claude_auth::usage::fetch::{report_for, UsageFetcher};
use claude_auth::usage::ledger::Ledger;
use claude_auth::usage::state_dir;
use claude_auth::Provider;

use crate::commands::provider::{resolver_for, ProviderArg};
use crate::commands::{auth_failure, options, runtime};
use crate::output::{print_json, CommandResult, Failure};
use crate::usage_view::{self, LoginUsage};
use crate::GlobalArgs;

/// `usage` options.
#[derive(Args, Debug, Clone, Default)]
pub struct UsageArgs {
    /// Redraw every SECS seconds (default 60) until interrupted
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "60")]
    pub watch: Option<u64>,
    /// Use a fetched answer for this many seconds before asking again (default 60)
    #[arg(long, value_name = "SECS")]
    pub ttl: Option<u64>,
    /// Tokens per day, model and agent from the usage ledger
    #[arg(long)]
    pub history: bool,
    /// With --history: since this many days ago (`7d`) or this date (`2026-12-01`); default 7d
    #[arg(long, value_name = "WHEN", requires = "history")]
    pub since: Option<String>,
    /// Whose logins: anthropic or openai (default: both, Anthropic's first)
    #[arg(long, value_enum)]
    pub provider: Option<ProviderArg>,
}

/// Run `usage`.
pub fn run(global: &GlobalArgs, args: &UsageArgs) -> CommandResult {
    // Without --provider: both vendors, Anthropic's logins first.
    let providers = match args.provider {
        Some(p) => vec![Provider::from(p)],
        None => vec![Provider::Anthropic, Provider::Openai],
    };
    let resolvers = providers
        .iter()
        .map(resolver_for)
        .collect::<Result<Vec<_>, Failure>>()?;
    let Some(resolver) = resolvers.first() else {
        return Ok(0);
    };
    let state = state_dir(resolver.env());
    if args.history {
        let retention = resolver.settings().usage_retention_days;
        return history(global, &state, args.since.as_deref(), retention);
    }
    let settings = resolver.settings();
    let ttl = args.ttl.unwrap_or(settings.usage_ttl_secs);
    let fetcher = UsageFetcher::new(&state)?.with_ttl(Duration::from_secs(ttl));
    let rt = runtime()?;
    let Some(every) = args.watch else {
        let logins = rt.block_on(collect_all(global, &resolvers, &fetcher, &state))?;
        return print(global, &logins);
    };
    let every = Duration::from_secs(every.max(1));
    rt.block_on(async {
        loop {
            let logins = collect_all(global, &resolvers, &fetcher, &state).await?;
            // Home, clear, draw: the picture is replaced in place.
            out!("\x1b[H\x1b[2J");
            print(global, &logins)?;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = tokio::signal::ctrl_c() => return Ok(0),
            }
        }
    })
}

/// Every chain's logins, in the chains' order.
async fn collect_all(
    global: &GlobalArgs,
    resolvers: &[claude_auth::Resolver],
    fetcher: &UsageFetcher,
    state: &std::path::Path,
) -> Result<Vec<LoginUsage>, Failure> {
    let mut logins = Vec::new();
    for resolver in resolvers {
        logins.extend(collect(global, resolver, fetcher, state).await?);
    }
    Ok(logins)
}

fn print(global: &GlobalArgs, logins: &[LoginUsage]) -> CommandResult {
    if global.json {
        print_json(&serde_json::json!({ "now": now_unix(), "logins": logins }))?;
    } else {
        out!("{}", usage_view::render(logins, now_unix()));
    }
    let any_ok = logins.iter().any(|l| l.report.snapshot.is_some());
    Ok(if any_ok || logins.is_empty() { 0 } else { 1 })
}

/// The logins to show: the winner (refreshed when due), then every other
/// found credential (`--profile` narrows it to that one).
async fn collect(
    global: &GlobalArgs,
    resolver: &claude_auth::Resolver,
    fetcher: &UsageFetcher,
    state: &std::path::Path,
) -> Result<Vec<LoginUsage>, Failure> {
    let resolution = resolver.resolve(&options(global, global.profile.is_none()));
    let ledger = Ledger::open_in(state).ok();
    let mut logins: Vec<LoginUsage> = Vec::new();
    for report in &resolution.reports {
        let Some(found) = report.found() else {
            continue;
        };
        let key = claude_auth::usage::login_key(report.id, found.profile.as_deref());
        if logins.iter().any(|l| l.login == key) {
            continue;
        }
        let mut login = LoginUsage::new(
            &key,
            report.id.label(),
            found.profile.clone(),
            report.winner,
        );
        login.provider = resolver.provider().clone();
        let credential = if report.winner || found.profile.is_some() {
            let opts = ResolveOptions {
                explicit_profile: found.profile.clone().or_else(|| global.profile.clone()),
                ..ResolveOptions::default()
            };
            let manager = claude_auth::AuthManager::new(
                resolver.clone(),
                claude_auth::ManagerOptions {
                    resolve: opts,
                    ..Default::default()
                },
            )
            .map_err(auth_failure);
            match manager {
                Ok(m) => m
                    .credential()
                    .await
                    .map(|c| (*c).clone())
                    .map_err(|e| e.to_string()),
                Err(f) => Err(f.message),
            }
        } else {
            found
                .credential
                .clone()
                .ok_or_else(|| "its token comes from an exchange".to_owned())
        };
        let base_url =
            claude_auth::source::base_url_for(Some(found), resolver.env(), resolver.settings());
        match credential {
            Ok(credential) => {
                login.kind = Some(credential.kind());
                login.report =
                    report_for(fetcher, ledger.as_ref(), &key, &credential, &base_url).await;
            }
            Err(why) => login.report.error = Some(why),
        }
        logins.push(login.with_pace(now_unix()));
    }
    Ok(logins)
}

fn history(
    global: &GlobalArgs,
    state: &std::path::Path,
    since: Option<&str>,
    retention_days: u64,
) -> CommandResult {
    let now = now_unix();
    let since_secs = match since {
        None => now.saturating_sub(7 * 86_400),
        Some(text) => parse_since(text, now).ok_or_else(|| {
            Failure::usage(format!("--since {text:?}: expected a number of days such as 7d, or a date such as 2026-12-01"))
        })?,
    };
    let ledger = Ledger::open_in(state).map_err(|e| Failure::error(e.to_string()))?;
    if let Some(aside) = ledger.moved_aside() {
        crate::output::warn(&format!(
            "the usage ledger was not a usable database; it was moved to {} and a new one made",
            aside.display()
        ));
    }
    // Requests older than the retention setting are dropped here.
    let pruned = ledger
        .prune(now.saturating_sub(retention_days.saturating_mul(86_400)))
        .map_err(|e| Failure::error(e.to_string()))?;
    if pruned > 0 {
        tracing::debug!("pruned {pruned} ledger rows older than {retention_days} days");
    }
    let rows = ledger
        .history(since_secs)
        .map_err(|e| Failure::error(e.to_string()))?;
    if global.json {
        print_json(&serde_json::json!({ "since": since_secs, "days": rows }))?;
    } else {
        out!("{}", usage_view::render_history(&rows));
    }
    Ok(0)
}

/// `7d` (days ago) or `YYYY-MM-DD` (UTC midnight).
fn parse_since(text: &str, now: u64) -> Option<u64> {
    if let Some(days) = text.strip_suffix('d').and_then(|d| d.parse::<u64>().ok()) {
        return Some(now.saturating_sub(days.saturating_mul(86_400)));
    }
    claude_auth::usage::time::parse_rfc3339(&format!("{text}T00:00:00Z"))
}
