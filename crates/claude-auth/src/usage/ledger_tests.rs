//! The ledger against real SQLite files: rows, sums, pruning, the latest
//! headers, what is never stored, and a corrupt file moved aside.

use super::*;

fn record(at: u64, model: &str, agent: Option<&str>, input: u64, output: u64) -> RequestRecord {
    RequestRecord {
        at,
        provider: "anthropic".into(),
        profile: Some("default".into()),
        model: Some(model.into()),
        agent: agent.map(str::to_owned),
        status: 200,
        input_tokens: input,
        output_tokens: output,
        cache_creation_tokens: 1,
        cache_read_tokens: 2,
        latency_ms: Some(5),
    }
}

const DAY: u64 = 86_400;

#[test]
fn history_sums_per_day_model_and_agent_and_prune_removes_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_in(&dir.path().join("state")).unwrap();
    assert!(ledger.moved_aside().is_none());
    ledger
        .record(&record(10 * DAY + 5, "m1", Some("a"), 10, 20))
        .unwrap();
    ledger
        .record(&record(10 * DAY + 9, "m1", Some("a"), 1, 2))
        .unwrap();
    ledger
        .record(&record(10 * DAY + 9, "m2", None, 100, 200))
        .unwrap();
    ledger
        .record(&record(11 * DAY, "m1", Some("a"), 7, 7))
        .unwrap();
    let h = ledger.history(0).unwrap();
    let got: Vec<_> = h
        .iter()
        .map(|d| {
            (
                d.day.as_str(),
                d.model.as_deref(),
                d.agent.as_deref(),
                d.requests,
                d.input_tokens,
                d.output_tokens,
                d.cache_tokens,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("1970-01-11", Some("m1"), Some("a"), 2, 11, 22, 6),
            ("1970-01-11", Some("m2"), None, 1, 100, 200, 3),
            ("1970-01-12", Some("m1"), Some("a"), 1, 7, 7, 3),
        ]
    );
    assert_eq!(ledger.history(11 * DAY).unwrap().len(), 1);
    assert_eq!(ledger.prune(11 * DAY).unwrap(), 3);
    assert_eq!(ledger.history(0).unwrap().len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ledger.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn latest_limits_keep_only_rate_limit_headers_and_never_go_back_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join(FILE_NAME)).unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        "anthropic-ratelimit-unified-5h-utilization",
        HeaderValue::from_static("0.5"),
    );
    h.insert("retry-after", HeaderValue::from_static("3"));
    h.insert(
        "authorization",
        HeaderValue::from_static("Bearer sk-ant-oat01-SECRET"),
    );
    h.insert("x-api-key", HeaderValue::from_static("sk-ant-api03-SECRET"));
    h.insert("set-cookie", HeaderValue::from_static("session=SECRET"));
    h.insert(
        "x-ratelimit-remaining-tokens",
        HeaderValue::from_str(&"9".repeat(300)).unwrap(),
    );
    assert_eq!(
        ledger
            .record_limits(&Provider::Anthropic, "work", 100, &h)
            .unwrap(),
        2
    );
    let mut older = HeaderMap::new();
    older.insert(
        "anthropic-ratelimit-unified-5h-utilization",
        HeaderValue::from_static("0.1"),
    );
    ledger
        .record_limits(&Provider::Anthropic, "work", 50, &older)
        .unwrap();
    let (at, got) = ledger
        .latest_limits(&Provider::Anthropic, "work")
        .unwrap()
        .unwrap();
    assert_eq!(at, 100);
    assert_eq!(
        got.get("anthropic-ratelimit-unified-5h-utilization")
            .unwrap(),
        "0.5"
    );
    assert_eq!(got.len(), 2);
    assert!(ledger
        .latest_limits(&Provider::Openai, "work")
        .unwrap()
        .is_none());
    assert_eq!(
        ledger
            .record_limits(&Provider::Anthropic, "x", 1, &HeaderMap::new())
            .unwrap(),
        0
    );
    drop(ledger);
    let bytes = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
    let wal = std::fs::read(dir.path().join(format!("{FILE_NAME}-wal"))).unwrap_or_default();
    for hay in [&bytes, &wal] {
        assert!(!hay.windows(6).any(|w| w == b"SECRET"));
    }
}

#[test]
fn a_corrupt_file_is_moved_aside_and_a_new_ledger_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let junk = b"this is not a database, it is junk of some length ".repeat(100);
    std::fs::write(&path, &junk).unwrap();
    // A ledger's mode (one others can read is refused, see tests/ledger_files.rs).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let ledger = Ledger::open(&path).unwrap();
    let aside = ledger.moved_aside().unwrap().to_owned();
    assert!(aside.display().to_string().contains(".corrupt-"));
    assert_eq!(std::fs::read(&aside).unwrap(), junk);
    ledger.record(&record(1, "m", None, 1, 1)).unwrap();
    assert_eq!(ledger.history(0).unwrap().len(), 1);
    drop(ledger);
    let again = Ledger::open(&path).unwrap();
    assert!(again.moved_aside().is_none());
    assert_eq!(again.history(0).unwrap().len(), 1);
}

#[test]
fn a_write_locked_by_another_connection_reports_locked_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let ledger = Ledger::open(&path).unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // Shorten the wait for this test only.
    ledger
        .with(|c| c.busy_timeout(Duration::from_millis(50)))
        .unwrap();
    let err = ledger.record(&record(1, "m", None, 1, 1)).unwrap_err();
    assert!(matches!(err, LedgerError::Locked { .. }), "{err}");
    assert!(err.to_string().contains(FILE_NAME));
    other.execute_batch("ROLLBACK").unwrap();
    ledger.record(&record(1, "m", None, 1, 1)).unwrap();
}

#[test]
fn two_writers_on_one_file_from_many_threads_lose_nothing() {
    use crate::usage::writer::LedgerWriter;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    // Two writers, each with its own connection, as two processes would have.
    let writers = [
        LedgerWriter::spawn(Ledger::open(&path).unwrap()).unwrap(),
        LedgerWriter::spawn(Ledger::open(&path).unwrap()).unwrap(),
    ];
    std::thread::scope(|s| {
        for t in 0..4 {
            let w = writers[t % 2].clone();
            s.spawn(move || {
                for i in 0..250 {
                    w.record(record(DAY + i, "m", Some(&format!("t{t}")), 1, 2));
                }
            });
        }
    });
    let mut h = HeaderMap::new();
    h.insert(
        "x-codex-primary-used-percent",
        HeaderValue::from_static("12"),
    );
    h.insert("cookie", HeaderValue::from_static("SECRET"));
    writers[0].record_limits(&Provider::Openai, "codex", 5, &h);
    for w in &writers {
        w.flush();
        assert_eq!(w.dropped(), 0);
    }
    let reader = Ledger::open(&path).unwrap();
    let rows = reader.history(0).unwrap();
    assert_eq!(rows.iter().map(|r| r.requests).sum::<u64>(), 1000);
    assert_eq!(rows.iter().map(|r| r.input_tokens).sum::<u64>(), 1000);
    let (_, limits) = reader
        .latest_limits(&Provider::Openai, "codex")
        .unwrap()
        .unwrap();
    assert_eq!(limits.len(), 1);
    // Dropping a writer writes what it still holds.
    let w = LedgerWriter::spawn(Ledger::open(&path).unwrap()).unwrap();
    w.record(record(2 * DAY, "m", None, 1, 1));
    drop(w);
    assert_eq!(reader.history(2 * DAY).unwrap().len(), 1);
}

#[test]
fn the_agent_index_of_an_older_ledger_becomes_partial_and_queries_by_agent_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.sqlite3");
    {
        // A ledger as versions before made it: the index over every row.
        let old = Connection::open(&path).unwrap();
        old.execute_batch(&SCHEMA.replace(" WHERE agent IS NOT NULL", ""))
            .unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let index_sql = |c: &Connection| -> String {
        c.query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'requests_agent'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(!index_sql(&Connection::open(&path).unwrap()).contains("WHERE"));
    let ledger = Ledger::open(&path).unwrap();
    ledger
        .record_all(&[record(1, "m", Some("a1"), 1, 2), record(2, "m", None, 3, 4)])
        .unwrap();
    drop(ledger);
    let c = Connection::open(&path).unwrap();
    assert!(
        index_sql(&c).ends_with("WHERE agent IS NOT NULL"),
        "{}",
        index_sql(&c)
    );
    // An older version opening it leaves it as it is.
    c.execute_batch(&SCHEMA.replace(" WHERE agent IS NOT NULL", ""))
        .unwrap();
    assert!(index_sql(&c).ends_with("WHERE agent IS NOT NULL"));
    let rows_in_index: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM requests INDEXED BY requests_agent WHERE agent = 'a1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows_in_index, 1);
    let plan: String = c
        .query_row(
            "EXPLAIN QUERY PLAN SELECT SUM(input_tokens) FROM requests WHERE agent = ?1 AND at >= ?2",
            ["a1", "0"],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("USING INDEX requests_agent"), "{plan}");
    // Opening again changes nothing.
    drop(Ledger::open(&path).unwrap());
    assert!(index_sql(&c).ends_with("WHERE agent IS NOT NULL"));
}
