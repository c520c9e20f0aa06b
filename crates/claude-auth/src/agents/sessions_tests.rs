#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Sessions in a real ledger file, with real processes to watch.

use super::*;
use crate::usage::ledger::RequestRecord;

fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_in(&dir.path().join("state")).unwrap();
    (dir, ledger)
}

fn new<'a>(id: &'a str, pid: Option<u32>, key_hash: Option<&'a str>) -> NewSession<'a> {
    NewSession {
        id,
        provider: &Provider::Anthropic,
        profile: Some("profile-work"),
        pid,
        budget: None,
        key_hash,
    }
}

fn request(at: u64, provider: &str, agent: Option<&str>, input: u64) -> RequestRecord {
    RequestRecord {
        at,
        provider: provider.into(),
        profile: Some("profile-work".into()),
        model: Some("m".into()),
        agent: agent.map(str::to_owned),
        status: 200,
        input_tokens: input,
        output_tokens: 2 * input,
        cache_creation_tokens: 1,
        cache_read_tokens: 3,
        latency_ms: Some(4),
    }
}

const T: u64 = 1_800_000_000;

#[test]
fn a_session_is_registered_closed_and_listed_with_its_usage_by_provider() {
    let (_dir, ledger) = ledger();
    let me = std::process::id();
    let s = register(&ledger, &new("alpha", Some(me), Some("ab12")), T).unwrap();
    let rows = list(&ledger, ListOptions::default(), T + 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, SessionState::Running);
    assert_eq!(rows[0].pid, Some(me));
    assert_eq!(rows[0].duration_secs, 10);
    assert_eq!(rows[0].profile.as_deref(), Some("profile-work"));
    assert_eq!(open_keys(&ledger).unwrap()[0].0, "ab12");
    ledger
        .record_all(&[
            request(T + 1, "anthropic", Some("alpha"), 10),
            request(T + 2, "openai", Some("alpha"), 5),
            request(T + 3, "anthropic", Some("alpha"), 1),
            // Another agent's, one without an agent, and one before the session.
            request(T + 3, "anthropic", Some("beta"), 100),
            request(T + 3, "anthropic", None, 100),
            request(T - 1, "anthropic", Some("alpha"), 100),
        ])
        .unwrap();
    assert!(close(&ledger, s, Ending::Exited(3), T + 20).unwrap());
    assert!(open_keys(&ledger).unwrap().is_empty());
    let rows = list(&ledger, ListOptions::default(), T + 30).unwrap();
    let row = &rows[0];
    assert_eq!(row.state, SessionState::Exited);
    assert_eq!((row.exit_code, row.signal), (Some(3), None));
    assert_eq!((row.ended, row.duration_secs), (Some(T + 20), 20));
    assert_eq!(row.usage.requests, 3);
    assert_eq!(row.usage.input_tokens, 16);
    assert_eq!(row.usage.output_tokens, 32);
    assert_eq!(row.usage.cache_creation_tokens, 3);
    assert_eq!(row.usage.cache_read_tokens, 9);
    assert_eq!(row.usage.total_tokens(), 60);
    let providers: Vec<(&str, u64, u64)> = row
        .usage
        .by_provider
        .iter()
        .map(|p| (p.provider.as_str(), p.requests, p.input_tokens))
        .collect();
    assert_eq!(providers, [("anthropic", 2, 11), ("openai", 1, 5)]);
    // A request after the end is not this session's.
    ledger
        .record(&request(T + 25, "anthropic", Some("alpha"), 50))
        .unwrap();
    let rows = list(&ledger, ListOptions::default(), T + 30).unwrap();
    assert_eq!(rows[0].usage.requests, 3);
}

#[test]
fn a_signal_is_kept_and_a_running_id_is_refused_until_it_ends() {
    let (_dir, ledger) = ledger();
    let me = std::process::id();
    let s = register(&ledger, &new("alpha", Some(me), None), T).unwrap();
    let err = register(&ledger, &new("alpha", Some(me), None), T + 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "agent alpha is already running (session {s}, pid {me}); give this one another \
             --agent-id, or wait for that one to end"
        )
    );
    close(&ledger, s, Ending::Signal(9), T + 2).unwrap();
    let again = register(&ledger, &new("alpha", Some(me), None), T + 3).unwrap();
    assert_ne!(again, s);
    let rows = list(&ledger, ListOptions::default(), T + 4).unwrap();
    assert_eq!(rows.len(), 2);
    // Running first.
    assert_eq!(
        (rows[0].session, rows[0].state),
        (again, SessionState::Running)
    );
    assert_eq!((rows[1].session, rows[1].state), (s, SessionState::Signal));
    assert_eq!((rows[1].exit_code, rows[1].signal), (None, Some(9)));
    // A closed session keeps its ending.
    assert!(!close(&ledger, s, Ending::Exited(0), T + 5).unwrap());
}

#[cfg(target_os = "linux")]
#[test]
fn a_session_whose_process_is_gone_is_closed_as_died_on_the_next_read() {
    let (_dir, ledger) = ledger();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    let s = register(&ledger, &new("gone", None, Some("ff00")), T).unwrap();
    set_process(&ledger, s, pid).unwrap();
    child.wait().unwrap();
    let rows = list(&ledger, ListOptions::default(), T + 7).unwrap();
    assert_eq!(rows[0].state, SessionState::Died);
    assert_eq!(rows[0].ended, Some(T + 7));
    assert!(open_keys(&ledger).unwrap().is_empty());
    // The watcher's real ending still replaces "died".
    assert!(close(&ledger, s, Ending::Exited(0), T + 8).unwrap());
    let rows = list(&ledger, ListOptions::default(), T + 9).unwrap();
    assert_eq!(rows[0].state, SessionState::Exited);
    assert_eq!(rows[0].exit_code, Some(0));
}

#[test]
fn old_sessions_are_listed_only_with_all() {
    let (_dir, ledger) = ledger();
    let s = register(&ledger, &new("old", None, None), T).unwrap();
    close(&ledger, s, Ending::Exited(0), T + 1).unwrap();
    let later = T + 1 + RECENT_SECS + 1;
    assert!(list(&ledger, ListOptions::default(), later)
        .unwrap()
        .is_empty());
    assert_eq!(
        list(&ledger, ListOptions { all: true }, later)
            .unwrap()
            .len(),
        1
    );
}
