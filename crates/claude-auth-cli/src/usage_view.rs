//! How `usage` looks: one block per login, a bar per window with percent
//! used, time to reset and pace, in 80 columns; colour by state only on a
//! terminal without `NO_COLOR`; the same data as stable JSON.

use claude_auth::credential::CredentialKind;
use claude_auth::status::relative;
use claude_auth::usage::fetch::UsageReport;
use claude_auth::usage::ledger::DayTotal;
use claude_auth::usage::{Pace, PaceState, SnapshotSource, Window};
use claude_auth::Provider;
use serde::Serialize;

use crate::output::Style;

/// Width of a bar's inside.
pub const BAR: usize = 20;

/// One login's usage, as shown and as JSON.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginUsage {
    /// `profile-<name>`, `claude-code`, … (also the cache and ledger key).
    pub login: String,
    /// Where it came from, for humans.
    pub source: String,
    /// Whose login: `anthropic` or `openai`.
    pub provider: Provider,
    /// The profile, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Whether it wins the resolution.
    pub winner: bool,
    /// Its kind, once obtained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<CredentialKind>,
    /// The usage.
    #[serde(flatten)]
    pub report: UsageReport,
    /// Each window's pace, in the snapshot's order (null where unknown).
    pub pace: Vec<Option<Pace>>,
}

impl LoginUsage {
    /// A login with nothing known yet.
    pub fn new(login: &str, source: &str, profile: Option<String>, winner: bool) -> Self {
        LoginUsage {
            login: login.to_owned(),
            source: source.to_owned(),
            provider: Provider::Anthropic,
            profile,
            winner,
            kind: None,
            report: UsageReport::default(),
            pace: Vec::new(),
        }
    }

    /// Compute the paces at `now`.
    pub fn with_pace(mut self, now: u64) -> Self {
        self.pace = self
            .report
            .snapshot
            .iter()
            .flat_map(|s| s.windows.iter())
            .map(|w| w.pace(now))
            .collect();
        self
    }
}

fn bar(used: f64) -> String {
    let filled = ((used / 100.0) * BAR as f64).round().clamp(0.0, BAR as f64) as usize;
    format!("[{}{}]", "█".repeat(filled), "░".repeat(BAR - filled))
}

fn paint(s: &Style, used: f64, pace: Option<&Pace>, text: &str) -> String {
    let state = pace.map(|p| p.state);
    if used >= 95.0 || state == Some(PaceState::Exhausted) {
        s.red(text)
    } else if used >= 80.0 || state == Some(PaceState::Ahead) {
        s.yellow(text)
    } else {
        s.green(text)
    }
}

fn pace_text(pace: Option<&Pace>, now: u64) -> String {
    match pace {
        None => String::new(),
        Some(p) => match (p.state, p.runs_out_at) {
            (PaceState::Ahead, Some(at)) => format!("out {}", relative(at as i64 - now as i64)),
            (state, _) => state.label().to_owned(),
        },
    }
}

fn window_line(s: &Style, w: &Window, pace: Option<&Pace>, now: u64) -> String {
    let resets = match w.resets_in(now) {
        Some(secs) => format!("resets {}", relative(secs as i64)),
        None => String::new(),
    };
    let label: String = w.label.chars().take(12).collect();
    let line = format!(
        "  {label:<12} {} {:>4.0}%  {resets:<17} {}",
        bar(w.used_percent),
        w.used_percent,
        pace_text(pace, now)
    );
    paint(s, w.used_percent, pace, line.trim_end())
}

/// The human rendering of every login, each line within 80 columns.
pub fn render(logins: &[LoginUsage], now: u64) -> String {
    render_with(&Style::stdout(), logins, now)
}

/// [`render`] with given styles (tests render without colour).
pub fn render_with(s: &Style, logins: &[LoginUsage], now: u64) -> String {
    let mut out = String::new();
    if logins.is_empty() {
        out.push_str("No logins found; run `claude-auth login` or see `claude-auth status`.\n");
    }
    // Anthropic's logins come first, as they always did; OpenAI's follow
    // under their own heading when both vendors are shown.
    let mixed = logins.iter().any(|l| l.provider != Provider::Openai);
    let mut headed = false;
    for login in logins {
        if mixed && !headed && login.provider == Provider::Openai {
            headed = true;
            out.push('\n');
            out.push_str(&s.bold("OpenAI"));
            out.push('\n');
        }
        let mut head = format!("{} {}", if login.winner { "✓" } else { "·" }, login.source);
        if let Some(p) = &login.profile {
            head.push_str(&format!(" ({p})"));
        }
        let mut facts: Vec<String> = Vec::new();
        if let Some(kind) = login.kind {
            facts.push(kind.label().to_owned());
        }
        if let Some(plan) = &login.report.plan {
            facts.push(plan.clone());
        }
        if let Some(email) = &login.report.email {
            facts.push(email.clone());
        }
        if !facts.is_empty() {
            head.push_str(" · ");
            head.push_str(&facts.join(" · "));
        }
        let head: String = head.chars().take(80).collect();
        out.push_str(&s.bold(&head));
        out.push('\n');
        if let Some(snap) = &login.report.snapshot {
            for (i, w) in snap.windows.iter().enumerate() {
                let pace = login.pace.get(i).and_then(Option::as_ref);
                out.push_str(&window_line(s, w, pace, now));
                out.push('\n');
            }
            for l in &snap.api_limits {
                let text = match (l.remaining, l.limit) {
                    (Some(r), Some(t)) => format!("{r} of {t} left"),
                    (Some(r), None) => format!("{r} left"),
                    (None, Some(t)) => format!("limit {t}"),
                    (None, None) => String::new(),
                };
                let resets = l
                    .resets_at
                    .map(|at| format!("  resets {}", relative(at as i64 - now as i64)))
                    .unwrap_or_default();
                let line = format!("  {:<12} {}{resets}", l.name, text);
                out.push_str(&paint(s, l.used_percent().unwrap_or(0.0), None, &line));
                out.push('\n');
            }
            if let Some(status) = &snap.status {
                if status != "allowed" {
                    out.push_str(&format!("  status: {}\n", s.yellow(status)));
                }
            }
            let from = match snap.source {
                SnapshotSource::Endpoint => "usage endpoint",
                SnapshotSource::Headers => "latest response headers",
            };
            let age = login.report.age_secs.unwrap_or(0);
            let when = if login.report.fetched {
                "just now".to_owned()
            } else {
                format!("{} ago", relative(age as i64).trim_start_matches("in "))
            };
            out.push_str(&s.dim(&format!("  from the {from}, {when}\n")));
        }
        if let Some(err) = &login.report.error {
            let mut text = format!("  {err}");
            if login.report.snapshot.is_some() {
                text = format!("  (showing the last good value) {err}");
            }
            for line in wrap(&text, 78) {
                out.push_str(&s.yellow(&line));
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

/// Words wrapped to `width` columns, continuation lines indented.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().map(|l| l.chars().count()).unwrap_or(0);
        if last > 0 && last + 1 + word.chars().count() > width {
            lines.push(format!("    {word}"));
        } else if let Some(line) = lines.last_mut() {
            if line.is_empty() {
                line.push_str("  ");
            } else {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// The `--history` table.
pub fn render_history(rows: &[DayTotal]) -> String {
    if rows.is_empty() {
        return "No requests in the usage ledger for that period.\n".into();
    }
    let mut out = format!(
        "{:<10} {:<9} {:<20} {:<10} {:>6} {:>9} {:>9}\n",
        "day", "provider", "model", "agent", "reqs", "input", "output"
    );
    for r in rows {
        let cut = |s: Option<&str>, n: usize| s.unwrap_or("-").chars().take(n).collect::<String>();
        out.push_str(&format!(
            "{:<10} {:<9} {:<20} {:<10} {:>6} {:>9} {:>9}\n",
            r.day,
            cut(Some(&r.provider), 9),
            cut(r.model.as_deref(), 20),
            cut(r.agent.as_deref(), 10),
            r.requests,
            r.input_tokens,
            r.output_tokens
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_auth::usage::{ApiLimit, UsageSnapshot};
    use claude_auth::Provider;

    #[test]
    fn a_subscription_and_an_api_key_in_80_columns_without_colour() {
        let now = 1_000_000;
        let mut snap = UsageSnapshot::new(Provider::Anthropic, SnapshotSource::Endpoint, now - 30);
        snap.windows = vec![
            Window::new("five_hour", "5h", 60.0).timed(Some(18_000), Some(now + 9_000)),
            Window::new("seven_day", "7d", 12.0).timed(Some(604_800), Some(now + 302_400)),
            Window::new("seven_day_opus", "7d opus", 100.0).timed(Some(604_800), Some(now + 3_600)),
        ];
        let mut sub = LoginUsage::new("profile-work", "active profile", Some("work".into()), true);
        sub.kind = Some(CredentialKind::OauthToken);
        sub.report = UsageReport {
            snapshot: Some(snap),
            age_secs: Some(30),
            plan: Some("max".into()),
            email: Some("me@example.com".into()),
            ..UsageReport::default()
        };
        let sub = sub.with_pace(now);
        let mut keyed = UsageSnapshot::new(Provider::Anthropic, SnapshotSource::Headers, now - 120);
        keyed.api_limits = vec![ApiLimit {
            name: "tokens".into(),
            limit: Some(40_000),
            remaining: Some(10_000),
            resets_at: Some(now + 50),
        }];
        let mut key = LoginUsage::new("anthropic-api-key", "ANTHROPIC_API_KEY", None, false);
        key.kind = Some(CredentialKind::ApiKey);
        key.report = UsageReport {
            snapshot: Some(keyed),
            age_secs: Some(120),
            ..UsageReport::default()
        };
        let text = render_with(&Style::plain(), &[sub, key], now);
        let expected = "\
✓ active profile (work) · OAuth token · max · me@example.com
  5h           [████████████░░░░░░░░]   60%  resets in 2h 30m  out in 1h 40m
  7d           [██░░░░░░░░░░░░░░░░░░]   12%  resets in 3d 12h  under pace
  7d opus      [████████████████████]  100%  resets in 1h 0m   exhausted
  from the usage endpoint, 30s ago

· ANTHROPIC_API_KEY · API key
  tokens       10000 of 40000 left  resets in 50s
  from the latest response headers, 2m 0s ago

";
        assert_eq!(text, expected);
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
