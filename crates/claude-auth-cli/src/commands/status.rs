//! `claude-auth status`: the explained resolution, for both providers.
//!
//! Each provider's chain is printed the same way (Anthropic's exactly as it
//! was before OpenAI arrived). With `--provider P`, only P's. Otherwise,
//! while OpenAI has nothing to show and Anthropic is active, Anthropic's
//! record and a footer naming the active provider; else the active provider
//! and why, then each provider under a heading, the active one first.
//! `--json` keeps today's top-level fields (Anthropic's chain, or P's with
//! `--provider P`) and adds `activeProvider` and `providers`.

use claude_auth::status::{relative, CredentialSummary, ProviderStatus, StatusReport};
use claude_auth::{ActiveProvider, Env, ManagerOptions, Provider, Providers};
use serde::Serialize;

use crate::commands::options;
use crate::commands::provider::ProviderArg;
use crate::output::{print_json, CommandResult, Failure, Style};
use crate::GlobalArgs;

/// `status --json`: today's report, plus the providers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Json<'a> {
    #[serde(flatten)]
    report: &'a StatusReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_provider: Option<&'a ActiveProvider>,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_provider_error: Option<&'a str>,
    providers: Vec<ProviderStatus>,
}

/// Both providers (or the one named), with the global flags' explicit
/// profile for the provider it applies to (Anthropic unless `--provider`).
fn providers(global: &GlobalArgs, only: Option<&Provider>) -> Result<Providers, Failure> {
    let providers = Providers::new(Env::from_process()).map_err(|e| {
        Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Settings)")
    })?;
    let explicit_for = only.cloned().unwrap_or(Provider::Anthropic);
    let manager = ManagerOptions {
        resolve: options(global, false),
        ..ManagerOptions::default()
    };
    Ok(providers
        .with_provider(only.cloned())
        .with_options(&explicit_for, manager))
}

/// Run `status`.
pub fn run(global: &GlobalArgs, only: Option<ProviderArg>) -> CommandResult {
    let only = only.map(Provider::from);
    let providers = providers(global, only.as_ref())?;
    let wanted = match &only {
        Some(p) => vec![p.clone()],
        None => Provider::ALL.to_vec(),
    };
    let mut reports = Vec::new();
    let mut usable = Vec::new();
    for provider in &wanted {
        let resolution = providers.resolve(provider, true);
        let mut report = StatusReport::from_resolution(&resolution);
        report.add_refresh_health(&resolution, providers.env());
        report.add_cached_usage(&resolution, providers.env());
        if claude_auth::providers::usable(&resolution) {
            usable.push(provider.clone());
        }
        reports.push(report);
    }
    let active = providers
        .active_with(|p| usable.contains(p))
        .map_err(|e| e.to_string());
    // The active provider first.
    if let Ok(a) = &active {
        reports.sort_by_key(|r| r.provider != a.provider);
    }
    let code = {
        let deciding = match (&only, &active) {
            (Some(p), _) | (None, Ok(ActiveProvider { provider: p, .. })) => Some(p),
            (None, Err(_)) => None,
        };
        let ok = reports
            .iter()
            .find(|r| Some(&r.provider) == deciding)
            .is_some_and(|r| r.ok);
        if ok {
            0
        } else {
            1
        }
    };
    if global.json {
        let top = only.clone().unwrap_or(Provider::Anthropic);
        let Some(report) = reports.iter().find(|r| r.provider == top) else {
            return Err(Failure::error(
                "internal: no report for the provider asked for",
            ));
        };
        print_json(&Json {
            report,
            active_provider: active.as_ref().ok(),
            active_provider_error: active.as_ref().err().map(String::as_str),
            providers: reports
                .iter()
                .map(|r| ProviderStatus::new(r, active.as_ref().ok()))
                .collect(),
        })?;
    } else {
        print_human(&reports, &active, only.is_some());
    }
    Ok(code)
}

/// Whether a report has nothing to show: no login, no error, no warning.
fn quiet(r: &StatusReport) -> bool {
    !r.ok
        && r.warnings.is_empty()
        && r.sources
            .iter()
            .all(|l| l.status != "found" && l.status != "error")
}

fn print_human(reports: &[StatusReport], active: &Result<ActiveProvider, String>, only: bool) {
    let s = Style::stdout();
    let mut out = Vec::new();
    let active_line = match active {
        Ok(a) => format!(
            "Active provider: {} ({})",
            s.bold(a.provider.as_str()),
            a.reason
        ),
        Err(e) => format!("{} Active provider: unknown: {}", s.red("✗"), s.red(e)),
    };
    let openai_quiet = reports
        .iter()
        .all(|r| r.provider == Provider::Anthropic || quiet(r));
    let anthropic_active = matches!(active, Ok(a) if a.provider == Provider::Anthropic);
    if only {
        for r in reports {
            out.extend(report_lines(&s, r));
        }
    } else if openai_quiet && anthropic_active {
        for r in reports.iter().filter(|r| r.provider == Provider::Anthropic) {
            out.extend(report_lines(&s, r));
        }
        out.push(String::new());
        out.push(active_line);
        out.push(format!(
            "OpenAI:          {} (`claude-auth status --provider openai` shows where it looked)",
            s.dim("no login")
        ));
    } else {
        out.push(active_line);
        for r in reports {
            out.push(String::new());
            let mark = match active {
                Ok(a) if a.provider == r.provider => " (active)",
                _ => "",
            };
            out.push(s.bold(&format!("── {}{mark} ──", r.provider.display_name())));
            out.extend(report_lines(&s, r));
        }
    }
    outln!("{}", out.join("\n"));
}

/// A credential kind's name for humans.
pub fn kind_label(kind: &str) -> &str {
    match kind {
        "apiKey" => "API key",
        "bearerToken" => "bearer token",
        "oauthToken" => "OAuth token",
        "workloadIdentity" => "workload identity federation",
        other => other,
    }
}

fn credential_lines(s: &Style, c: &CredentialSummary, now: u64, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let value = c
        .masked
        .clone()
        .unwrap_or_else(|| "(obtained by exchange)".into());
    lines.push(format!(
        "{indent}{:<13}{} {}",
        "Type:",
        kind_label(&c.kind),
        s.bold(&value)
    ));
    match (&c.expires_at_iso, c.expires_at) {
        (Some(iso), Some(at)) => {
            let rel = relative(claude_auth::credential::seconds_until(at, now));
            let text = if c.expired {
                s.red(&format!("{iso} (expired {rel})"))
            } else {
                format!("{iso} ({rel})")
            };
            let refresh = if c.kind == "workloadIdentity" {
                ", exchanged anew when due"
            } else if c.refreshable {
                ", refreshable"
            } else {
                ", not refreshable"
            };
            lines.push(format!("{indent}{:<13}{text}{refresh}", "Expires:"));
        }
        _ if c.kind == "apiKey" => {}
        _ if c.kind == "workloadIdentity" => lines.push(format!(
            "{indent}{:<13}no token yet: exchanged on first use",
            "Expires:"
        )),
        _ => lines.push(format!("{indent}{:<13}unknown", "Expires:")),
    }
    if !c.scopes.is_empty() {
        lines.push(format!("{indent}{:<13}{}", "Scopes:", c.scopes.join(" ")));
    }
    if c.provider == "openai" {
        for (label, value) in [
            ("Plan:", &c.subscription),
            ("Account:", &c.account_id),
            ("Email:", &c.account),
        ] {
            if let Some(v) = value {
                lines.push(format!("{indent}{label:<13}{v}"));
            }
        }
        return stored_lines(c, indent, lines);
    }
    let who: Vec<String> = [&c.account, &c.organization]
        .iter()
        .filter_map(|v| v.as_ref().cloned())
        .collect();
    if !who.is_empty() {
        let label = if c.kind == "workloadIdentity" && c.account.is_none() {
            "Org:"
        } else {
            "Account:"
        };
        lines.push(format!("{indent}{:<13}{}", label, who.join(", ")));
    }
    if let Some(sub) = &c.subscription {
        lines.push(format!("{indent}{:<13}{sub}", "Subscription:"));
    }
    if let Some(ws) = &c.workspace {
        lines.push(format!("{indent}{:<13}{ws}", "Workspace:"));
    }
    stored_lines(c, indent, lines)
}

/// The credential's closing lines: where it is kept, its base URL, notes.
fn stored_lines(c: &CredentialSummary, indent: &str, mut lines: Vec<String>) -> Vec<String> {
    let mut stored = c.location.clone();
    if let Some(storage) = &c.storage {
        stored.push_str(&format!(" ({storage})"));
    }
    lines.push(format!("{indent}{:<13}{stored}", "Stored in:"));
    if let Some(url) = &c.base_url {
        lines.push(format!("{indent}{:<13}{url}", "Base URL:"));
    }
    for note in &c.notes {
        lines.push(format!("{indent}{:<13}{note}", "Note:"));
    }
    lines
}

fn origin(origin: &str) -> String {
    if origin == "default" {
        "(default)".into()
    } else {
        format!("(from {origin})")
    }
}

/// One provider's record (Anthropic's exactly as before OpenAI arrived).
fn report_lines(s: &Style, r: &StatusReport) -> Vec<String> {
    let mut out = Vec::new();
    let profile_label = if r.codex_home.is_some() {
        "OpenAI profile:"
    } else {
        "Active profile:"
    };
    out.push(format!(
        "{:<16}{} {}",
        profile_label,
        s.bold(&r.active_profile.name),
        origin(&r.active_profile.origin)
    ));
    let (label, dir) = match &r.codex_home {
        Some(home) => ("Codex home:", home),
        None => ("Config dir:", &r.config_dir),
    };
    out.push(format!(
        "{:<16}{} {}",
        label,
        dir.path.display(),
        origin(&dir.origin)
    ));
    if let Some(path) = &r.settings_file {
        out.push(format!("{:<16}{path}", "Settings:"));
    }
    out.push(String::new());
    match (&r.credential, &r.winner) {
        (Some(c), Some(w)) => {
            let label = r
                .sources
                .iter()
                .find(|l| &l.id == w)
                .map_or(w.as_str(), |l| l.label.as_str());
            let mark = if r.ok { s.green("✓") } else { s.red("✗") };
            out.push(format!(
                "{mark} Using the {} from {}",
                kind_label(&c.kind),
                s.bold(label)
            ));
            out.extend(credential_lines(s, c, r.generated_at, "  "));
        }
        _ => out.push(format!("{} No usable credential", s.red("✗"))),
    }
    if let Some(h) = &r.refresh {
        let mut parts = Vec::new();
        if let Some(at) = &h.last_refresh_at {
            parts.push(format!("last refreshed {at}"));
        }
        if let Some(e) = &h.last_error {
            parts.push(s.red(&format!(
                "last error {}: {e}",
                h.last_error_at.as_deref().unwrap_or("?")
            )));
        }
        if !parts.is_empty() {
            out.push(format!("  {:<13}{}", "Refresh:", parts.join("; ")));
        }
    }
    if let Some(err) = &r.error {
        out.push(format!("  {}", s.red(err)));
    }
    if let Some(hint) = &r.hint {
        out.push(format!("  {} {hint}", s.dim("→")));
    }
    if !r.usage.is_empty() {
        out.push(String::new());
        out.push(s.bold("Usage (cached; `claude-auth usage` asks again):"));
        for u in &r.usage {
            out.push(format!("  {}", usage_line(u, r.generated_at)));
        }
    }
    out.push(String::new());
    out.push(s.bold("Sources, in precedence order:"));
    for line in &r.sources {
        let (mark, detail) = match line.status.as_str() {
            "found" if line.winner => (s.green("✓"), s.green("wins")),
            "found" => {
                let what = line.credential.as_ref().map_or(String::new(), |c| {
                    format!(
                        "{} {}",
                        kind_label(&c.kind),
                        c.masked.clone().unwrap_or_default()
                    )
                });
                (s.yellow("~"), s.yellow(&format!("shadowed: {what}")))
            }
            "error" => (s.red("✗"), s.red(line.reason.as_deref().unwrap_or("error"))),
            _ => (s.dim("·"), s.dim(line.reason.as_deref().unwrap_or(""))),
        };
        let found_where = match (&line.credential, line.winner) {
            (Some(c), true) => format!(" {}", s.dim(&format!("({})", c.location))),
            _ => String::new(),
        };
        out.push(format!("  {mark} {:<42} {detail}{found_where}", line.label));
    }
    if !r.warnings.is_empty() {
        out.push(String::new());
        out.push(s.bold("Warnings:"));
        for w in &r.warnings {
            out.push(format!("  {} {}", s.yellow("!"), w.message));
        }
    }
    out
}

/// `profile-work: 5h 60% (resets in 2h 30m), 7d 12%; 30s old`.
fn usage_line(u: &claude_auth::status::UsageLine, now: u64) -> String {
    let Some(snap) = &u.report.snapshot else {
        return format!(
            "{}: {}",
            u.login,
            u.report.error.as_deref().unwrap_or("nothing cached")
        );
    };
    let mut parts: Vec<String> = snap
        .windows
        .iter()
        .map(|w| match w.resets_in(now) {
            Some(secs) => format!(
                "{} {:.0}% (resets {})",
                w.label,
                w.used_percent,
                relative(secs as i64)
            ),
            None => format!("{} {:.0}%", w.label, w.used_percent),
        })
        .collect();
    parts.extend(
        snap.api_limits
            .iter()
            .filter_map(|l| Some(format!("{} {} of {} left", l.name, l.remaining?, l.limit?))),
    );
    let age = relative(u.report.age_secs.unwrap_or(0) as i64);
    format!(
        "{}: {}; {} old",
        u.login,
        parts.join(", "),
        age.trim_start_matches("in ")
    )
}
