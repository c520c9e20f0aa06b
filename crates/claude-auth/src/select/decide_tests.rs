#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::select::view::ClassLatency;
use crate::select::CandidateClass;
use crate::source::SourceId;
use crate::usage::{SnapshotSource, UsageSnapshot, Window};

const NOW: u64 = 1_800_000_000;

fn cand(class: CandidateClass, source: SourceId, login: &str, winner: bool) -> Candidate {
    Candidate {
        provider: class.provider(),
        class,
        source,
        profile: None,
        login: login.into(),
        winner,
        plan: None,
        location: login.into(),
    }
}

/// Claude subscription (the Anthropic winner), Anthropic key, ChatGPT
/// login (the OpenAI winner), OpenAI key.
fn four() -> Vec<Candidate> {
    vec![
        cand(
            CandidateClass::AnthropicSubscription,
            SourceId::ClaudeCode,
            "claude-code",
            true,
        ),
        cand(
            CandidateClass::AnthropicApiKey,
            SourceId::AnthropicApiKey,
            "anthropic-key",
            false,
        ),
        cand(
            CandidateClass::OpenaiSubscription,
            SourceId::Codex,
            "codex",
            true,
        ),
        cand(
            CandidateClass::OpenaiApiKey,
            SourceId::OpenaiApiKey,
            "openai-key",
            false,
        ),
    ]
}

fn used(provider: crate::Provider, windows: &[(&str, f64)]) -> UsageSnapshot {
    let mut s = UsageSnapshot::new(provider, SnapshotSource::Headers, NOW - 10);
    for (label, p) in windows {
        s.windows
            .push(Window::new(label, label, *p).timed(Some(18_000), Some(NOW + 3_600)));
    }
    s
}

fn run(
    candidates: &[Candidate],
    view: &UsageView,
    active: Provider,
    strategy: Strategy,
) -> Decision {
    decide(
        &Inputs {
            candidates,
            view,
            active: &active,
            active_reason: "the default",
            threshold: 80,
            cost: CostPreference::Any,
            now: NOW,
        },
        strategy,
        None,
    )
    .unwrap()
}

#[test]
fn subscription_first_keeps_the_subscription_under_the_threshold_and_moves_to_the_key_over_it() {
    let c = four();
    let under = UsageView::default().with_usage(
        "claude-code",
        used(Provider::Anthropic, &[("5h", 42.0), ("7d", 10.0)]),
    );
    let d = run(&c, &under, Provider::Anthropic, Strategy::SubscriptionFirst);
    assert_eq!(d.candidate.login, "claude-code");
    assert_eq!(
        d.reason,
        "subscription-first: anthropic-subscription (Claude Code login): every window under 80% (fullest: 5h at 42%)"
    );
    // 85 % on the weekly window: every window must be under.
    let over = UsageView::default().with_usage(
        "claude-code",
        used(Provider::Anthropic, &[("5h", 12.0), ("7d", 85.0)]),
    );
    // Claude's credentials alone: the key.
    let d = run(
        &c[..2],
        &over,
        Provider::Anthropic,
        Strategy::SubscriptionFirst,
    );
    assert_eq!(d.candidate.class, CandidateClass::AnthropicApiKey);
    assert_eq!(
        d.reason,
        "subscription-first: anthropic-subscription (Claude Code login): its 7d window is at 85% (threshold 80%); using anthropic-api-key (ANTHROPIC_API_KEY), billed per token"
    );
    let why: Vec<(&str, &str)> = d
        .others
        .iter()
        .map(|o| (o.candidate.login.as_str(), o.why.as_str()))
        .collect();
    assert_eq!(
        why[0],
        ("claude-code", "its 7d window is at 85% (threshold 80%)")
    );
    // With the ChatGPT login too: any subscription with room comes before a
    // key (it has no cached usage: nothing says it is full).
    let d = run(&c, &over, Provider::Anthropic, Strategy::SubscriptionFirst);
    assert_eq!(d.candidate.login, "codex");
    assert_eq!(
        d.reason,
        "subscription-first: openai-subscription (Codex login): no cached usage (`claude-auth usage` fetches it)"
    );
}

#[test]
fn a_window_whose_reset_has_passed_counts_as_empty_and_a_rejected_status_as_used_up() {
    let c = four();
    let mut s = used(Provider::Anthropic, &[("5h", 95.0)]);
    s.windows[0].resets_at = Some(NOW - 1);
    let view = UsageView::default().with_usage("claude-code", s);
    let d = run(&c, &view, Provider::Anthropic, Strategy::SubscriptionFirst);
    assert_eq!(d.candidate.login, "claude-code");
    let mut s = used(Provider::Anthropic, &[("5h", 10.0)]);
    s.status = Some("rejected".into());
    let view = UsageView::default().with_usage("claude-code", s);
    let d = run(&c, &view, Provider::Anthropic, Strategy::Cheapest);
    assert_eq!(d.candidate.login, "codex", "the other subscription");
    assert!(
        d.reason
            .starts_with("cheapest: openai-subscription (Codex login) costs nothing extra"),
        "{}",
        d.reason
    );
}

#[test]
fn cheapest_takes_the_subscription_with_most_room_then_keys_in_the_manual_order() {
    let c = four();
    let view = UsageView::default()
        .with_usage("claude-code", used(Provider::Anthropic, &[("5h", 90.0)]))
        .with_usage("codex", used(Provider::Openai, &[("5h", 30.0)]));
    let d = run(&c, &view, Provider::Anthropic, Strategy::Cheapest);
    assert_eq!(d.candidate.login, "codex");
    let full = UsageView::default()
        .with_usage("claude-code", used(Provider::Anthropic, &[("5h", 100.0)]))
        .with_usage("codex", used(Provider::Openai, &[("7d", 100.0)]));
    let d = run(&c, &full, Provider::Openai, Strategy::Cheapest);
    assert_eq!(
        d.candidate.login, "openai-key",
        "the active provider's key first"
    );
    assert!(
        d.reason.contains("claude-auth keeps no price list"),
        "{}",
        d.reason
    );
}

#[test]
fn fastest_takes_the_class_with_the_lowest_median_or_says_there_is_no_data() {
    let c = four();
    let d = run(
        &c,
        &UsageView::default(),
        Provider::Anthropic,
        Strategy::Fastest,
    );
    assert_eq!(d.candidate.login, "claude-code", "the manual choice");
    assert!(
        d.reason
            .starts_with("fastest: no latency recorded in the usage ledger"),
        "{}",
        d.reason
    );
    let view = UsageView::default()
        .with_latency(ClassLatency {
            class: CandidateClass::AnthropicSubscription,
            median_ms: 1_900,
            samples: 40,
        })
        .with_latency(ClassLatency {
            class: CandidateClass::OpenaiApiKey,
            median_ms: 700,
            samples: 12,
        });
    let d = run(&c, &view, Provider::Anthropic, Strategy::Fastest);
    assert_eq!(d.candidate.login, "openai-key");
    assert_eq!(
        d.reason,
        "fastest: openai-api-key (OPENAI_API_KEY) has the lowest median latency, 700 ms over 12 recent requests"
    );
    let claude = d
        .others
        .iter()
        .find(|o| o.candidate.login == "claude-code")
        .unwrap();
    assert_eq!(claude.why, "median 1900 ms over 40 requests");
}

#[test]
fn prefer_and_manual_take_a_provider_s_winner() {
    let c = four();
    let v = UsageView::default();
    assert_eq!(
        run(&c, &v, Provider::Anthropic, Strategy::PreferOpenai)
            .candidate
            .login,
        "codex"
    );
    assert_eq!(
        run(&c, &v, Provider::Openai, Strategy::PreferAnthropic)
            .candidate
            .login,
        "claude-code"
    );
    let d = run(&c, &v, Provider::Openai, Strategy::Manual);
    assert_eq!(d.candidate.login, "codex");
    assert_eq!(
        d.reason,
        "manual: the active provider, openai (the default), hands out openai-subscription (Codex login)"
    );
    // Only Anthropic credentials: prefer-openai says so and takes Anthropic's.
    let d = run(&c[..2], &v, Provider::Anthropic, Strategy::PreferOpenai);
    assert_eq!(
        d.reason,
        "prefer-openai: OpenAI has no usable credential; Anthropic's, anthropic-subscription (Claude Code login)"
    );
}

#[test]
fn subscription_only_leaves_keys_out_and_says_why() {
    let c = four();
    let view = UsageView::default()
        .with_usage("claude-code", used(Provider::Anthropic, &[("5h", 99.0)]))
        .with_usage("codex", used(Provider::Openai, &[("5h", 100.0)]));
    let d = decide(
        &Inputs {
            candidates: &c,
            view: &view,
            active: &Provider::Anthropic,
            active_reason: "the default",
            threshold: 80,
            cost: CostPreference::SubscriptionOnly,
            now: NOW,
        },
        Strategy::SubscriptionFirst,
        Some(TaskHint::Analysis),
    )
    .unwrap();
    assert_eq!(d.candidate.login, "claude-code");
    assert!(d.reason.contains("no API key to move to"), "{}", d.reason);
    assert_eq!(d.task, Some(TaskHint::Analysis));
    let key = d
        .others
        .iter()
        .find(|o| o.candidate.login == "anthropic-key")
        .unwrap();
    assert_eq!(
        key.why,
        "an API key, and the cost preference is subscription-only"
    );
    let none = decide(
        &Inputs {
            candidates: &c[1..2],
            view: &view,
            active: &Provider::Anthropic,
            active_reason: "",
            threshold: 80,
            cost: CostPreference::SubscriptionOnly,
            now: NOW,
        },
        Strategy::Cheapest,
        None,
    )
    .unwrap_err();
    assert!(none.0.contains("switch --cost any"), "{none}");
}
