//! `claude-auth status`: the explained resolution.

use claude_auth::status::{relative, CredentialSummary, StatusReport};

use crate::commands::{options, resolver};
use crate::output::{print_json, CommandResult, Style};
use crate::GlobalArgs;

/// Run `status`.
pub fn run(global: &GlobalArgs) -> CommandResult {
    let resolver = resolver()?;
    let resolution = resolver.resolve(&options(global, true));
    let mut report = StatusReport::from_resolution(&resolution);
    report.add_refresh_health(&resolution, resolver.env());
    report.add_cached_usage(&resolution, resolver.env());
    if global.json {
        print_json(&report)?;
    } else {
        print_human(&report);
    }
    Ok(if report.ok { 0 } else { 1 })
}

fn kind_label(kind: &str) -> &str {
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

fn print_human(r: &StatusReport) {
    let s = Style::stdout();
    let mut out = Vec::new();
    out.push(format!(
        "{:<16}{} {}",
        "Active profile:",
        s.bold(&r.active_profile.name),
        origin(&r.active_profile.origin)
    ));
    out.push(format!(
        "{:<16}{} {}",
        "Config dir:",
        r.config_dir.path.display(),
        origin(&r.config_dir.origin)
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
            out.extend(credential_lines(&s, c, r.generated_at, "  "));
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
    outln!("{}", out.join("\n"));
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
