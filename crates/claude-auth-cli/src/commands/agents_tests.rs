#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use claude_auth::agents::{AgentUsage, ProviderUsage};

const NOW: u64 = 20_427 * 86_400 + 13 * 3600 + 30 * 60; // 2025-12-05 13:30 UTC

fn session(id: &str, state: SessionState) -> AgentSession {
    AgentSession {
        session: 1,
        id: id.into(),
        provider: "anthropic".into(),
        profile: Some("profile-work".into()),
        pid: Some(4_194_303),
        started: NOW - 3725,
        ended: None,
        duration_secs: 3725,
        state,
        exit_code: None,
        signal: None,
        budget: None,
        usage: AgentUsage::default(),
    }
}

fn usage(provider: &str, requests: u64, tokens: u64) -> ProviderUsage {
    ProviderUsage {
        provider: provider.into(),
        requests,
        input_tokens: tokens,
        ..ProviderUsage::default()
    }
}

#[test]
fn the_table_fits_80_columns_and_says_how_each_session_ended() {
    let mut running = session("a-very-long-agent-name", SessionState::Running);
    running.usage = AgentUsage {
        requests: 3,
        input_tokens: 12_345,
        by_provider: vec![usage("anthropic", 2, 12_000), usage("openai", 1, 345)],
        ..AgentUsage::default()
    };
    running.budget = Some("20%5h".into());
    let mut exited = session("b", SessionState::Exited);
    exited.exit_code = Some(3);
    exited.profile = Some("anthropic-api-key".into());
    exited.started = NOW - 3 * 86_400;
    exited.duration_secs = 42;
    let mut killed = session("c", SessionState::Signal);
    killed.signal = Some(9);
    killed.profile = None;
    killed.pid = None;
    let died = session("d", SessionState::Died);
    let text = render(&[running, exited, killed, died], NOW);
    let expected = "\
AGENT        LOGIN               PID START TIME  STATE       REQS TOKENS BUDGET
a-very-long… anthropic/work  4194303 12:27 1h02  running        3  12.3k 20%5h
  anthropic  2 requests, 12.0k tokens
  openai     1 request, 345 tokens
b            anthropic/anth… 4194303 12-02 42s   exited 3       0      0 -
c            anthropic             - 12:27 1h02  signal 9       0      0 -
d            anthropic/work  4194303 12:27 1h02  died           0      0 -";
    assert_eq!(text, expected);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn counts_and_durations_stay_short() {
    let cases = [
        (0, "0"),
        (9_999, "9999"),
        (10_000, "10.0k"),
        (99_949, "99.9k"),
        (99_950, "100k"),
        (999_499, "999k"),
        (999_500, "1.0M"),
        (12_345_678, "12M"),
        (5_000_000_000, "5.0G"),
    ];
    for (n, text) in cases {
        assert_eq!(count(n), text, "{n}");
    }
    assert_eq!(duration(59), "59s");
    assert_eq!(duration(61), "1m");
    assert_eq!(duration(3 * 3600 + 5 * 60), "3h05");
    assert_eq!(duration(2 * 86_400 + 3 * 3600), "2d03");
    assert_eq!(civil(0), (1970, 1, 1));
    assert_eq!(civil(20_427), (2025, 12, 5));
    assert_eq!(civil(11_016), (2000, 2, 29));
}
