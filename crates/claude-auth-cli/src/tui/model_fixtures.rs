//! A dashboard made by hand for the snapshot and key tests: two providers,
//! a winner and a shadowed login, stored profiles, usage and a warning.

use claude_auth::status::RefreshHealth;
use claude_auth::usage::fetch::UsageReport;
use claude_auth::usage::{SnapshotSource, UsageSnapshot, Window};
use claude_auth::Provider;

use super::{AgentLine, Agents, Dashboard, ProviderInfo, Row, RowState, UsageItem};

/// The fixtures' "now" (2026-12-05T12:00:00Z).
pub const NOW: u64 = 1_796_472_000;

fn row(provider: Provider, source: &str, state: RowState) -> Row {
    Row::bare(provider, source.into(), None, state)
}

/// The dashboard.
pub fn dashboard() -> Dashboard {
    let work = Row {
        profile: Some("work".into()),
        kind: Some("OAuth".into()),
        masked: Some("sk-ant-oat01-…Xy9Q".into()),
        account: Some("alice@example.com".into()),
        plan: Some("max".into()),
        expires_at: Some(NOW + 7 * 3600 + 12 * 60),
        refreshable: true,
        location: Some("~/.config/anthropic/credentials/work.json".into()),
        ..row(Provider::Anthropic, "profile work", RowState::Wins)
    };
    let claude_code = Row {
        kind: Some("OAuth".into()),
        masked: Some("sk-ant-oat01-…a1B2".into()),
        account: Some("alice@example.com".into()),
        plan: Some("pro".into()),
        expires_at: Some(NOW - 25 * 60),
        refreshable: true,
        location: Some("~/.claude/.credentials.json".into()),
        ..row(Provider::Anthropic, "Claude Code login", RowState::Shadowed)
    };
    let ci = Row {
        profile: Some("ci".into()),
        kind: Some("API key".into()),
        masked: Some("sk-ant-api03-…7777".into()),
        location: Some("keyring".into()),
        ..row(Provider::Anthropic, "profile ci", RowState::Stored)
    };
    let codex = Row {
        kind: Some("OAuth".into()),
        masked: Some("eyJhbGciOi…QssA".into()),
        account: Some("bob@example.com".into()),
        plan: Some("plus".into()),
        expires_at: Some(NOW + 9 * 86_400 + 3 * 3600),
        refreshable: true,
        location: Some("~/.codex/auth.json".into()),
        ..row(Provider::Openai, "Codex login", RowState::Wins)
    };
    let spare = Row {
        profile: Some("spare".into()),
        ..row(Provider::Openai, "profile spare", RowState::Stored)
    };
    let usage = vec![
        UsageItem {
            provider: Provider::Anthropic,
            login: "profile-work".into(),
            report: UsageReport {
                snapshot: Some(UsageSnapshot {
                    plan: Some("max".into()),
                    windows: vec![
                        Window::new("five_hour", "5h", 42.0)
                            .timed(Some(5 * 3600), Some(NOW + 2 * 3600)),
                        Window::new("seven_day", "7d", 12.0)
                            .timed(Some(7 * 86_400), Some(NOW + 5 * 86_400)),
                    ],
                    ..UsageSnapshot::new(Provider::Anthropic, SnapshotSource::Endpoint, NOW - 30)
                }),
                age_secs: Some(30),
                plan: Some("max".into()),
                ..UsageReport::default()
            },
        },
        UsageItem {
            provider: Provider::Openai,
            login: "codex".into(),
            report: UsageReport {
                snapshot: Some(UsageSnapshot {
                    windows: vec![Window::new("primary", "5h", 80.0)
                        .timed(Some(5 * 3600), Some(NOW + 3 * 3600))],
                    ..UsageSnapshot::new(Provider::Openai, SnapshotSource::Endpoint, NOW - 45)
                }),
                age_secs: Some(45),
                plan: Some("plus".into()),
                ..UsageReport::default()
            },
        },
    ];
    Dashboard {
        read_at: NOW,
        active: Ok(Provider::Anthropic),
        active_reason: "both providers have a login; Anthropic is the default".into(),
        providers: vec![
            ProviderInfo {
                provider: Provider::Anthropic,
                ok: true,
                error: None,
                hint: None,
                refresh: Some(RefreshHealth {
                    provider: Some("claude".into()),
                    last_refresh_at: Some("2026-12-05T11:00:00Z".into()),
                    last_error: None,
                    last_error_at: None,
                    login_required: false,
                }),
            },
            ProviderInfo {
                provider: Provider::Openai,
                ok: true,
                error: None,
                hint: None,
                refresh: None,
            },
        ],
        rows: vec![work, claude_code, ci, codex, spare],
        warnings: vec![
            "Anthropic: the keyring is unavailable: profile ci fell back to a file".into(),
        ],
        usage,
        agents: Agents::Running(vec![
            AgentLine {
                id: "reviewer-1".into(),
                provider: "anthropic".into(),
                login: Some("profile-work".into()),
                running_secs: 12 * 60 + 5,
                requests: 34,
                tokens: 120_480,
                budget: Some("20%5h".into()),
            },
            AgentLine {
                id: "tests".into(),
                provider: "openai".into(),
                login: Some("codex".into()),
                running_secs: 95,
                requests: 3,
                tokens: 8_200,
                budget: None,
            },
        ]),
    }
}
