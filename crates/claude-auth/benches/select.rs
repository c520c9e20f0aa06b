//! In-process cost of a selection decision from cached usage (issue 12's
//! target: ≤ 50 µs).
//!
//! - `decide/<strategy>`: [`claude_auth::select::decide`] over four
//!   candidates (a Claude subscription at 85 %, an Anthropic key, a ChatGPT
//!   login at 30 %, an OpenAI key) with their usage and latencies already in
//!   memory: the decision itself, what a long-running program pays per
//!   choice.
//! - `view_load+decide`: [`UsageView::load`] first, reading the four
//!   logins' usage cache files and the usage ledger (latest headers and
//!   recent latencies, SQLite) from a temp state dir, then the decision:
//!   what one `select` pays for its data.
//!
//! ```sh
//! cargo bench -p claude-auth --bench select
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use claude_auth::credential::now_unix;
use claude_auth::select::{
    decide, Candidate, CandidateClass, ClassLatency, CostPreference, Inputs, Strategy, UsageView,
};
use claude_auth::source::SourceId;
use claude_auth::usage::ledger::{Ledger, RequestRecord};
use claude_auth::usage::{SnapshotSource, UsageSnapshot, Window};
use claude_auth::Provider;
use criterion::{criterion_group, criterion_main, Criterion};

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

fn candidates() -> Vec<Candidate> {
    vec![
        cand(
            CandidateClass::AnthropicSubscription,
            SourceId::ClaudeCode,
            "claude-code",
            true,
        ),
        cand(
            CandidateClass::AnthropicApiKey,
            SourceId::ExternalCommand,
            "external-command",
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
            SourceId::OpenaiExternalCommand,
            "openai-external-command",
            false,
        ),
    ]
}

fn snapshot(provider: Provider, five_hour: f64, now: u64) -> UsageSnapshot {
    let mut s = UsageSnapshot::new(provider, SnapshotSource::Endpoint, now - 30);
    s.windows
        .push(Window::new("five_hour", "5h", five_hour).timed(Some(18_000), Some(now + 9_000)));
    s.windows
        .push(Window::new("seven_day", "7d", 20.0).timed(Some(604_800), Some(now + 86_400)));
    s
}

fn bench(c: &mut Criterion) {
    let now = now_unix();
    let list = candidates();
    let view = UsageView::default()
        .with_usage("claude-code", snapshot(Provider::Anthropic, 85.0, now))
        .with_usage("codex", snapshot(Provider::Openai, 30.0, now))
        .with_latency(ClassLatency {
            class: CandidateClass::AnthropicApiKey,
            median_ms: 900,
            samples: 100,
        })
        .with_latency(ClassLatency {
            class: CandidateClass::OpenaiSubscription,
            median_ms: 1_400,
            samples: 60,
        });
    let inputs = Inputs {
        candidates: &list,
        view: &view,
        active: &Provider::Anthropic,
        active_reason: "the default",
        threshold: 80,
        cost: CostPreference::Any,
        now,
    };
    let mut g = c.benchmark_group("decide");
    for strategy in Strategy::ALL {
        g.bench_function(strategy.as_str(), |b| {
            b.iter(|| black_box(decide(black_box(&inputs), strategy, None).unwrap()))
        });
    }
    g.finish();

    // The same data on disk, as `usage` and the proxy leave it.
    let state = tempfile::tempdir().unwrap();
    let usage_dir = state.path().join("usage");
    std::fs::create_dir_all(&usage_dir).unwrap();
    for (provider, login, pct) in [
        (Provider::Anthropic, "claude-code", 85.0),
        (Provider::Openai, "codex", 30.0),
    ] {
        let body = serde_json::json!({"snapshot": snapshot(provider.clone(), pct, now)});
        let path = usage_dir.join(format!("{provider}-{login}.json"));
        claude_auth::secure_file::write_atomic(&path, body.to_string().as_bytes(), 0o600).unwrap();
    }
    let ledger = Ledger::open_in(state.path()).unwrap();
    let rows: Vec<RequestRecord> = (0..400)
        .map(|i| RequestRecord {
            at: now - 600 + i / 4,
            provider: if i % 2 == 0 { "anthropic" } else { "openai" }.into(),
            profile: Some(
                [
                    "claude-code",
                    "external-command",
                    "codex",
                    "openai-external-command",
                ][(i % 4) as usize]
                    .into(),
            ),
            status: 200,
            latency_ms: Some(500 + (i * 37) % 1_000),
            ..RequestRecord::default()
        })
        .collect();
    ledger.record_all(&rows).unwrap();
    drop(ledger);
    c.bench_function("view_load+decide/subscription-first", |b| {
        b.iter(|| {
            let view = UsageView::load(state.path(), &list, now);
            let inputs = Inputs {
                view: &view,
                ..inputs
            };
            black_box(decide(&inputs, Strategy::SubscriptionFirst, None).unwrap())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
