use std::time::Instant;

use super::*;
use crate::usage::ledger::RequestRecord;
use crate::usage::tap::TokenUsage;
use crate::usage::writer::UsageSink;

struct Stage {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    sink: UsageSink,
}

fn stage() -> Stage {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let writer = LedgerWriter::spawn(Ledger::open(&path).unwrap()).unwrap();
    let sink = UsageSink {
        writer,
        provider: Provider::Anthropic,
        login: "profile-work".into(),
        agent: Some("a1".into()),
    };
    Stage {
        _dir: dir,
        path,
        sink,
    }
}

impl Stage {
    fn book(&self, profile: Option<&str>, refresh: Duration) -> Arc<BudgetBook> {
        BudgetBook::new(
            BookConfig {
                provider: Provider::Anthropic,
                login: "profile-work".into(),
                profile: profile.map(|b| ProfileBudget {
                    name: "work".into(),
                    budget: Budget::parse(b, "test").unwrap(),
                }),
                refresh,
            },
            self.sink.writer.clone(),
        )
        .unwrap()
    }

    /// An agent session row, as `exec --agent-id` writes it.
    fn session(&self, id: &str, budget: &str, started: u64) -> i64 {
        let c = rusqlite::Connection::open(&self.path).unwrap();
        c.execute(
            "INSERT INTO agents (id, provider, started, budget) VALUES (?1, 'anthropic', ?2, ?3)",
            rusqlite::params![id, started as i64, budget],
        )
        .unwrap();
        c.last_insert_rowid()
    }

    /// One response of `tokens` (input) through this process's writer.
    fn respond(&self, charge: Option<Charge>, tokens: u64) {
        let usage = TokenUsage {
            input_tokens: tokens,
            ..TokenUsage::default()
        };
        let seq = self.sink.finished(200, Some(usage), Instant::now());
        charge.expect("a charge").finish(tokens, seq);
    }

    /// A row another process wrote.
    fn elsewhere(&self, agent: Option<&str>, tokens: u64) {
        Ledger::open(&self.path)
            .unwrap()
            .record(&RequestRecord {
                at: now_unix(),
                provider: "anthropic".into(),
                profile: Some("profile-work".into()),
                agent: agent.map(str::to_owned),
                status: 200,
                output_tokens: tokens,
                ..RequestRecord::default()
            })
            .unwrap();
    }
}

#[tokio::test]
async fn an_agent_past_its_tokens_is_refused_and_nothing_counts_twice() {
    let s = stage();
    let book = s.book(None, Duration::ZERO);
    let a1 = s.session("a1", "100", now_unix() - 5);
    let other = s.session("a2", "1000", now_unix() - 5);
    let c = book.admit(Some(a1)).await.unwrap();
    s.respond(c, 60);
    // Still queued, then written: counted once either way.
    let c = book.admit(Some(a1)).await.unwrap();
    s.sink.writer.flush();
    s.respond(c, 39);
    let c = book.admit(Some(a1)).await.unwrap();
    s.sink.writer.flush();
    assert!(book.admit(Some(a1)).await.is_ok(), "99 of 100 spent");
    s.respond(c, 1);
    let refusal = book.admit(Some(a1)).await.unwrap_err();
    assert_eq!(refusal.holder, Holder::Agent("a1".into()));
    assert_eq!(refusal.spent, "100 tokens since it started");
    assert_eq!(refusal.limit, Some(100));
    s.sink.writer.flush();
    assert_eq!(
        book.admit(Some(a1)).await.unwrap_err().spent,
        "100 tokens since it started"
    );
    // The others go on; a request of no agent has nothing to check.
    assert!(book.admit(Some(other)).await.unwrap().is_some());
    assert!(book.admit(None).await.unwrap().is_none());
    // Each refusal is an event.
    s.sink.writer.flush();
    let events = Ledger::open(&s.path).unwrap().events(0).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, "budget-refused");
    assert_eq!(events[0].agent.as_deref(), Some("a1"));
    assert_eq!(events[0].profile.as_deref(), Some("profile-work"));
    assert_eq!(events[0].provider.as_deref(), Some("anthropic"));
    assert_eq!(events[0].detail, refusal.message());
}

#[tokio::test]
async fn another_process_rows_count_after_a_refresh_and_older_sessions_do_not() {
    let s = stage();
    let book = s.book(None, Duration::from_secs(3600));
    s.elsewhere(Some("a1"), 500); // an earlier session of the same id
    let a1 = s.session("a1", "100", now_unix() + 1);
    let _ = book.admit(Some(a1)).await.unwrap();
    // Read at the session's first request; the next read is an hour away.
    let fresh = s.book(None, Duration::ZERO);
    let _ = fresh.admit(Some(a1)).await.unwrap();
    let c = Ledger::open(&s.path).unwrap();
    drop(c);
    // A row of another proxy for this session.
    let row = RequestRecord {
        at: now_unix() + 2,
        provider: "anthropic".into(),
        agent: Some("a1".into()),
        status: 200,
        input_tokens: 100,
        ..RequestRecord::default()
    };
    Ledger::open(&s.path).unwrap().record(&row).unwrap();
    assert!(book.admit(Some(a1)).await.is_ok(), "not read again yet");
    assert_eq!(
        fresh.admit(Some(a1)).await.unwrap_err().spent,
        "100 tokens since it started"
    );
}

#[tokio::test]
async fn tokens_in_flight_count_until_the_response_ends() {
    let s = stage();
    let book = s.book(None, Duration::ZERO);
    let a1 = s.session("a1", "100", now_unix() - 5);
    let mut c = book.admit(Some(a1)).await.unwrap().unwrap();
    c.progress(80);
    assert!(book.admit(Some(a1)).await.is_ok());
    c.progress(120);
    assert!(book.admit(Some(a1)).await.is_err(), "in flight counts");
    drop(c); // abandoned before its row: nothing left in flight
    assert!(book.admit(Some(a1)).await.is_ok());
    let mut c = book.admit(Some(a1)).await.unwrap().unwrap();
    c.progress(70);
    s.respond(Some(c), 100);
    assert_eq!(
        book.admit(Some(a1)).await.unwrap_err().spent,
        "100 tokens since it started"
    );
}

#[tokio::test]
async fn a_profile_budget_counts_the_login_over_its_period() {
    let s = stage();
    let book = s.book(Some("100/5h"), Duration::ZERO);
    s.elsewhere(None, 70);
    let c = book.admit(None).await.unwrap();
    s.respond(c, 30);
    let refusal = book.admit(None).await.unwrap_err();
    assert_eq!(refusal.holder, Holder::Profile("work".into()));
    assert_eq!(refusal.budget, "100/5h");
    assert_eq!(refusal.spent, "100 tokens in the last 5h");
    // An agent's request is refused for its profile too.
    let a1 = s.session("a1", "1000", now_unix() - 5);
    assert_eq!(
        book.admit(Some(a1)).await.unwrap_err().holder,
        Holder::Profile("work".into())
    );
}

#[tokio::test]
async fn a_profile_share_reads_the_latest_utilization() {
    let s = stage();
    let book = s.book(Some("50%5h"), Duration::ZERO);
    // No window reported yet: not enforced.
    assert!(book.admit(None).await.unwrap().is_some());
    let reset = now_unix() + 3600;
    let headers = |used: &str| {
        crate::usage::test_headers(&[
            ("anthropic-ratelimit-unified-5h-utilization", used),
            ("anthropic-ratelimit-unified-5h-reset", &reset.to_string()),
        ])
    };
    s.sink.headers(&headers("0.49"));
    s.sink.writer.flush();
    assert!(book.admit(None).await.is_ok());
    s.sink.headers(&headers("0.5"));
    s.sink.writer.flush();
    let refusal = book.admit(None).await.unwrap_err();
    assert_eq!(
        refusal.spent,
        "the 5h window is at 50.0 % (it resets in 1 h 00 min)"
    );
}

#[tokio::test]
async fn an_agent_share_is_enforced_once_the_window_can_be_estimated() {
    let s = stage();
    let book = s.book(None, Duration::ZERO);
    let a1 = s.session("a1", "10%5h", now_unix() - 5);
    // Three requests of the login (another agent's) in a window at 20 %:
    // 200 tokens per 1 %, so 10 % is 2000 tokens.
    for _ in 0..3 {
        s.elsewhere(Some("a2"), 1000);
    }
    assert!(
        book.admit(Some(a1)).await.is_ok(),
        "no window known: not enforced"
    );
    let reset = now_unix() + 3600;
    s.sink.headers(&crate::usage::test_headers(&[
        ("anthropic-ratelimit-unified-5h-utilization", "0.2"),
        ("anthropic-ratelimit-unified-5h-reset", &reset.to_string()),
    ]));
    s.sink.writer.flush();
    // The window stays at 20 % (no response reports more): a1's 10 % is
    // half of whatever the login spent, (3000 + a1's) / 2, which a1
    // reaches at 3000.
    for spent in [1000, 2000] {
        let c = book.admit(Some(a1)).await.unwrap();
        s.respond(c, 1000);
        assert!(
            book.admit(Some(a1)).await.is_ok(),
            "{spent} of {}",
            (3000 + spent) / 2
        );
    }
    let c = book.admit(Some(a1)).await.unwrap();
    s.respond(c, 1000);
    let refusal = book.admit(Some(a1)).await.unwrap_err();
    assert_eq!(refusal.limit, Some(3000));
    assert_eq!(
        refusal.spent,
        "3000 tokens in the current 5h window (the 5h window is at 20.0 % for 6000 tokens of this login since it began, ≈ 300 tokens per 1 %)"
    );
}
