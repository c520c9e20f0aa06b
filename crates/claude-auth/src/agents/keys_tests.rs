#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The proxy's view of agent keys, against a real ledger file.

use super::*;
use crate::agents::generate_agent_key;
use crate::agents::sessions::{close, register, Ending, NewSession};
use crate::credential::Provider;

fn open(dir: &std::path::Path) -> Ledger {
    Ledger::open_in(&dir.join("state")).unwrap()
}

fn start(ledger: &Ledger, id: &str, key: &str) -> i64 {
    let hash = key_hash(key);
    register(
        ledger,
        &NewSession {
            id,
            provider: &Provider::Anthropic,
            profile: None,
            pid: Some(std::process::id()),
            budget: None,
            key_hash: Some(&hash),
        },
        crate::credential::now_unix(),
    )
    .unwrap()
}

/// Keys of the ledger in `dir` with one open session, "alpha", whose key
/// has been looked up once (one load).
async fn alpha_looked_up(dir: &std::path::Path) -> (AgentKeys, crate::Secret) {
    let writer = open(dir);
    let keys = AgentKeys::new(open(dir));
    let key = generate_agent_key().unwrap();
    start(&writer, "alpha", key.expose());
    assert!(keys.lookup(key.expose()).await.is_some());
    (keys, key)
}

#[tokio::test]
async fn an_open_sessions_key_is_found_a_closed_ones_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let keys = AgentKeys::new(open(dir.path()));
    let key = generate_agent_key().unwrap();
    let session = start(&writer, "alpha", key.expose());
    let found = keys.lookup(key.expose()).await.unwrap();
    assert_eq!((&*found.agent.id, found.agent.session), ("alpha", session));
    assert_eq!(found.provider, Provider::Anthropic);
    // From memory now.
    assert_eq!(keys.lookup(key.expose()).await, Some(found.clone()));
    assert_eq!(keys.loads(), 1);
    // A session registered after the last load is found at once.
    let other = generate_agent_key().unwrap();
    start(&writer, "beta", other.expose());
    assert_eq!(
        &*keys.lookup(other.expose()).await.unwrap().agent.id,
        "beta"
    );
    assert_eq!(keys.loads(), 2);
    // Closed: refused once the copy is older than RECHECK.
    close(
        &writer,
        session,
        Ending::Exited(0),
        crate::credential::now_unix(),
    )
    .unwrap();
    tokio::time::sleep(RECHECK).await;
    assert_eq!(keys.lookup(key.expose()).await, None);
    assert_eq!(
        &*keys.lookup(other.expose()).await.unwrap().agent.id,
        "beta"
    );
}

#[tokio::test]
async fn a_flood_of_unknown_keys_costs_one_load_per_gap() {
    let dir = tempfile::tempdir().unwrap();
    let keys = AgentKeys::new(open(dir.path()));
    // Not an agent key at all: no load.
    assert_eq!(keys.lookup("sk-ant-api03-x").await, None);
    assert_eq!(keys.loads(), 0);
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let keys = keys.clone();
        tasks.push(tokio::spawn(async move {
            let key = generate_agent_key().unwrap();
            keys.lookup(key.expose()).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), None);
    }
    let elapsed = started.elapsed();
    // Loads are at least MIN_RELOAD_GAP apart, so their number is bounded
    // by the time taken, whatever the number of keys.
    let bound = 1 + (elapsed.as_millis() / MIN_RELOAD_GAP.as_millis()) as u64;
    assert!(
        keys.loads() <= bound && keys.loads() <= 3,
        "{} loads in {elapsed:?} for 200 unknown keys",
        keys.loads()
    );
}

#[tokio::test]
async fn requests_that_wait_on_a_recheck_take_its_answer_without_a_second_load() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, key) = alpha_looked_up(dir.path()).await;
    assert_eq!(keys.loads(), 1);
    // The copy is due for its recheck: the first request reloads it, and
    // the others, come in meanwhile, take what it loaded (they waited a
    // whole MIN_RELOAD_GAP for a load of their own before).
    tokio::time::sleep(RECHECK).await;
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (keys, key) = (keys.clone(), key.expose().to_owned());
            tokio::spawn(async move { keys.lookup(&key).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(&*t.await.unwrap().unwrap().agent.id, "alpha");
    }
    assert_eq!(keys.loads(), 2, "one recheck");
    assert!(
        started.elapsed() < MIN_RELOAD_GAP,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_key_in_use_is_rechecked_in_the_background_before_its_copy_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, key) = alpha_looked_up(dir.path()).await;
    let first = std::time::Instant::now();
    assert_eq!(keys.loads(), 1);
    // Half-way through the copy's life, a request finds its key and starts
    // the renewal without waiting for it.
    tokio::time::sleep(REFRESH_AHEAD).await;
    assert!(keys.lookup(key.expose()).await.is_some());
    let bound = std::time::Instant::now() + RECHECK;
    while keys.loads() < 2 {
        assert!(
            std::time::Instant::now() < bound,
            "no renewal in the background"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // When the first copy would have run out, the renewed one answers: no
    // request waits for a load.
    tokio::time::sleep_until((first + RECHECK).into()).await;
    assert!(keys.lookup(key.expose()).await.is_some());
    assert_eq!(keys.loads(), 2);
}
