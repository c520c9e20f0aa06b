//! `claude-auth agents [--all] [--json]`: the agent sessions `exec
//! --agent-id` registered, running ones first, with what each spent
//! (requests and tokens the proxies attributed to it). Sessions whose
//! process is gone are closed as died by this read.

use clap::Args;

use claude_auth::agents::sessions::{self, ListOptions};
use claude_auth::agents::{AgentSession, SessionState};
use claude_auth::usage::ledger::Ledger;

use crate::output::{CommandResult, Failure};
use crate::GlobalArgs;

/// `agents` options.
#[derive(Args, Debug)]
pub struct AgentsArgs {
    /// Every session kept, not only the running ones and those that ended in the last day
    #[arg(long)]
    pub all: bool,
}

/// Run `agents`.
pub fn run(global: &GlobalArgs, args: &AgentsArgs) -> CommandResult {
    let resolver = crate::commands::resolver()?;
    if !resolver.settings().usage_ledger {
        return Err(Failure::usage(
            "the usage ledger is off ([usage] ledger = false), so no agent sessions are kept",
        ));
    }
    let ledger = Ledger::open_in(&claude_auth::usage::state_dir(resolver.env()))
        .map_err(|e| Failure::error(e.to_string()))?;
    let now = claude_auth::credential::now_unix();
    let list = sessions::list(&ledger, ListOptions { all: args.all }, now)
        .map_err(|e| Failure::error(e.to_string()))?;
    if global.json {
        crate::output::print_json(&list)?;
        return Ok(0);
    }
    if list.is_empty() {
        out!(
            "{}",
            if args.all {
                "No agent sessions (claude-auth exec --agent-id ID -- CMD starts one)."
            } else {
                "No agent sessions running or ended in the last day (--all shows older ones)."
            }
        );
        return Ok(0);
    }
    out!("{}", render(&list, now));
    Ok(0)
}

const HEADER: [(&str, usize); 9] = [
    ("AGENT", 12),
    ("LOGIN", 15),
    ("PID", 7),
    ("START", 5),
    ("TIME", 5),
    ("STATE", 10),
    ("REQS", 5),
    ("TOKENS", 6),
    ("BUDGET", 6),
];

/// The table, one line per session (under 80 columns), and under a session
/// that used more than one provider a line per provider.
pub fn render(list: &[AgentSession], now: u64) -> String {
    let mut lines = vec![row(HEADER.map(|(name, _)| name.to_owned()))];
    for s in list {
        let login = match &s.profile {
            Some(p) => format!("{}/{}", s.provider, p.strip_prefix("profile-").unwrap_or(p)),
            None => s.provider.clone(),
        };
        lines.push(row([
            clip(&s.id, 12),
            clip(&login, 15),
            s.pid.map_or_else(|| "-".into(), |p| p.to_string()),
            start(s.started, now),
            duration(s.duration_secs),
            state(s),
            s.usage.requests.to_string(),
            count(s.usage.total_tokens()),
            s.budget
                .as_deref()
                .map_or_else(|| "-".into(), |b| clip(b, 6)),
        ]));
        if s.usage.by_provider.len() > 1 {
            for p in &s.usage.by_provider {
                let tokens = p
                    .input_tokens
                    .saturating_add(p.output_tokens)
                    .saturating_add(p.cache_creation_tokens)
                    .saturating_add(p.cache_read_tokens);
                lines.push(format!(
                    "  {:<10} {} request{}, {} tokens",
                    p.provider,
                    p.requests,
                    if p.requests == 1 { "" } else { "s" },
                    count(tokens)
                ));
            }
        }
    }
    lines.join("\n")
}

fn row(cells: [String; 9]) -> String {
    let mut line = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(HEADER).enumerate() {
        if i > 0 {
            line.push(' ');
        }
        // Numbers to the right.
        if matches!(i, 2 | 6 | 7) {
            line.push_str(&format!("{cell:>width$}"));
        } else {
            line.push_str(&format!("{cell:<width$}"));
        }
    }
    line.trim_end().to_owned()
}

/// At most `width` characters, cut with `…`; terminal-safe.
fn clip(text: &str, width: usize) -> String {
    let clean = claude_auth::usage::clean_text(text);
    if clean.chars().count() <= width {
        return clean;
    }
    let mut cut: String = clean.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

fn state(s: &AgentSession) -> String {
    match s.state {
        SessionState::Running => "running".into(),
        SessionState::Exited => format!("exited {}", s.exit_code.unwrap_or(0)),
        SessionState::Signal => format!("signal {}", s.signal.unwrap_or(0)),
        SessionState::Died => "died".into(),
    }
}

/// `HH:MM` (UTC) for a start within the last day, else `MM-DD`.
fn start(at: u64, now: u64) -> String {
    if now.saturating_sub(at) < 86_400 {
        let secs = at % 86_400;
        return format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60);
    }
    let (_, month, day) = civil(at / 86_400);
    format!("{month:02}-{day:02}")
}

/// Days since 1970-01-01 as (year, month, day) (Howard Hinnant's algorithm).
fn civil(days: u64) -> (i64, u32, u32) {
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `42s`, `12m`, `3h05`, `2d03`.
fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h{:02}", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// At most 5 characters: `950`, `12.3k`, `456k`, `7.8M`, `1.2G`.
fn count(n: u64) -> String {
    let f = n as f64;
    match n {
        0..10_000 => n.to_string(),
        10_000..99_950 => format!("{:.1}k", f / 1e3),
        99_950..999_500 => format!("{:.0}k", f / 1e3),
        999_500..9_950_000 => format!("{:.1}M", f / 1e6),
        9_950_000..999_500_000 => format!("{:.0}M", f / 1e6),
        _ => format!("{:.1}G", f / 1e9),
    }
}

#[cfg(test)]
#[path = "agents_tests.rs"]
mod tests;
