#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::json;

use crate::config::env::Env;
use crate::config::settings::Settings;
use crate::credential::Provider;
use crate::engine::providers::Providers;
use crate::select::preferences::{self, Origin, Preferences};
use crate::select::{CandidateClass, SelectRequest, Strategy, TaskHint};
use crate::usage::ledger::{Ledger, RequestRecord};
use crate::usage::{state_dir, test_headers};

const ANT_KEY: &str = "sk-ant-api03-RunSelectKeyAAAA1111";

fn env(dir: &Path) -> Env {
    Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.join("own").to_string_lossy())
        .with("CODEX_HOME", dir.join("codex").to_string_lossy())
        .with("ANTHROPIC_API_KEY", ANT_KEY)
}

/// A Claude subscription (a spec profile, `default`) behind ANTHROPIC_API_KEY.
fn claude(dir: &Path) -> Providers {
    let base = dir.join(".config").join("anthropic");
    for (sub, value) in [
        (
            "configs",
            json!({"version": "1.0", "authentication": {"type": "user_oauth"}}),
        ),
        (
            "credentials",
            json!({"version": "1.0", "type": "oauth_token", "access_token": "sk-ant-oat01-RunSelectOat"}),
        ),
    ] {
        crate::secure_file::write_atomic(
            &base.join(sub).join("default.json"),
            value.to_string().as_bytes(),
            0o600,
        )
        .unwrap();
    }
    Providers::with_settings(env(dir), Settings::default())
}

#[test]
fn a_subscription_at_85_percent_in_the_ledger_sends_subscription_first_to_the_api_key() {
    let tmp = tempfile::tempdir().unwrap();
    let p = claude(tmp.path());
    let now = crate::credential::now_unix();
    // The headers a response through the proxy left, as the proxy keeps them.
    let ledger = Ledger::open_in(&state_dir(p.env())).unwrap();
    let reset = (now + 3_600).to_string();
    ledger
        .record_limits(
            &Provider::Anthropic,
            "profile-default",
            now - 5,
            &test_headers(&[
                ("anthropic-ratelimit-unified-status", "allowed_warning"),
                ("anthropic-ratelimit-unified-5h-utilization", "0.85"),
                ("anthropic-ratelimit-unified-5h-reset", &reset),
                ("anthropic-ratelimit-unified-7d-utilization", "0.30"),
            ]),
        )
        .unwrap();
    let chosen = p
        .select(&SelectRequest {
            strategy: Some(Strategy::SubscriptionFirst),
            task: Some(TaskHint::CodeGeneration),
            ..SelectRequest::default()
        })
        .unwrap();
    let d = &chosen.decision;
    assert_eq!(d.candidate.class, CandidateClass::AnthropicApiKey);
    assert_eq!(
        d.reason,
        "subscription-first: anthropic-subscription (profile default): its 5h window is at 85% (threshold 80%); using anthropic-api-key (ANTHROPIC_API_KEY), billed per token"
    );
    assert_eq!(chosen.settings.strategy.origin, Origin::Flag);
    assert!(chosen.recorded);
    // Recorded as the last selection.
    let prefs = Preferences::load(&preferences::path(p.env())).unwrap();
    let last = prefs.last_selection.unwrap();
    assert_eq!(
        (last.provider, last.class, last.reason.as_str(), last.at),
        (
            Provider::Anthropic,
            CandidateClass::AnthropicApiKey,
            d.reason.as_str(),
            d.at
        )
    );
    // And as an event in the ledger.
    let events = ledger.events(0).unwrap();
    let selection: Vec<_> = events.iter().filter(|e| e.kind == "selection").collect();
    assert_eq!(selection.len(), 1);
    assert_eq!(
        (
            selection[0].provider.as_deref(),
            selection[0].profile.as_deref(),
            selection[0].detail.clone()
        ),
        (
            Some("anthropic"),
            Some("anthropic-api-key"),
            format!("chose anthropic-api-key (ANTHROPIC_API_KEY): {}", d.reason)
        )
    );
    // Under 80 % again (a later response): the subscription.
    ledger
        .record_limits(
            &Provider::Anthropic,
            "profile-default",
            now,
            &test_headers(&[("anthropic-ratelimit-unified-5h-utilization", "0.40")]),
        )
        .unwrap();
    let d = p
        .select(&SelectRequest {
            strategy: Some(Strategy::SubscriptionFirst),
            dry_run: true,
            ..SelectRequest::default()
        })
        .unwrap();
    assert_eq!(
        d.decision.candidate.class,
        CandidateClass::AnthropicSubscription
    );
    assert!(!d.recorded);
}

#[test]
fn fastest_reads_latencies_the_ledger_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let p = claude(tmp.path());
    let now = crate::credential::now_unix();
    let ledger = Ledger::open_in(&state_dir(p.env())).unwrap();
    let row = |login: &str, ms: u64, status: u16| RequestRecord {
        at: now - 60,
        provider: "anthropic".into(),
        profile: Some(login.into()),
        status,
        latency_ms: Some(ms),
        ..RequestRecord::default()
    };
    ledger
        .record_all(&[
            row("profile-default", 900, 200),
            row("profile-default", 1_100, 200),
            row("profile-default", 1_000, 200),
            row("anthropic-api-key", 400, 200),
            row("anthropic-api-key", 600, 200),
            // A failed request says nothing about speed.
            row("anthropic-api-key", 5, 529),
        ])
        .unwrap();
    let d = p
        .select(&SelectRequest {
            strategy: Some(Strategy::Fastest),
            dry_run: true,
            ..SelectRequest::default()
        })
        .unwrap()
        .decision;
    assert_eq!(
        d.reason,
        "fastest: anthropic-api-key (ANTHROPIC_API_KEY) has the lowest median latency, 500 ms over 2 recent requests"
    );
    assert_eq!(d.others[0].why, "median 1000 ms over 3 requests");
}
