//! Notable events in the usage ledger's `events` table: what users must be
//! told about after the fact, not only on stderr when it happened (a
//! failover to another provider or credential, a request refused for its
//! budget, a selection). One human line each, never a secret.
//!
//! Doors queue them through [`LedgerWriter::event`](super::writer::LedgerWriter::event),
//! off the request path; [`Ledger::events`] reads them back.

use rusqlite::params;
use serde::Serialize;

use super::ledger::{Ledger, LedgerError};

/// `kind` of a switch to the next fallback entry (issue 12, failover).
pub const EVENT_FAILOVER: &str = "failover";
/// `kind` of a request refused because its agent or profile spent its budget.
pub const EVENT_BUDGET_REFUSED: &str = "budget-refused";
/// `kind` of a recorded selection decision.
pub const EVENT_SELECTION: &str = "selection";

/// Longest `detail` kept, in characters; the rest is cut.
pub const MAX_DETAIL: usize = 512;

/// One row of `events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When, Unix seconds.
    pub at: u64,
    /// [`EVENT_FAILOVER`], [`EVENT_BUDGET_REFUSED`], [`EVENT_SELECTION`].
    pub kind: String,
    /// The agent concerned, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The provider concerned (`anthropic`, `openai`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The login concerned ([`login_key`](super::login_key) form), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// One human line; never a secret.
    pub detail: String,
}

impl Event {
    /// An event of `kind` now, with `detail`.
    pub fn now(kind: &str, detail: impl Into<String>) -> Event {
        Event {
            at: crate::credential::now_unix(),
            kind: kind.to_owned(),
            detail: detail.into(),
            ..Event::default()
        }
    }
}

/// `detail` as stored: one line of printable text, at most [`MAX_DETAIL`]
/// characters (control characters become `?`).
fn one_line(detail: &str) -> String {
    detail
        .chars()
        .take(MAX_DETAIL)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

pub(crate) fn insert_events(c: &rusqlite::Connection, events: &[&Event]) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO events (at, kind, agent, provider, profile, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for e in events {
        stmt.execute(params![
            i64::try_from(e.at).unwrap_or(i64::MAX),
            e.kind,
            e.agent,
            e.provider,
            e.profile,
            one_line(&e.detail),
        ])?;
    }
    Ok(())
}

impl Ledger {
    /// Add one event (its detail made one line, cut at [`MAX_DETAIL`]).
    pub fn record_event(&self, event: &Event) -> Result<(), LedgerError> {
        self.with(|c| insert_events(c, &[event]))
    }

    /// The events since `since` (Unix seconds), oldest first.
    pub fn events(&self, since: u64) -> Result<Vec<Event>, LedgerError> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT at, kind, agent, provider, profile, detail FROM events
                 WHERE at >= ?1 ORDER BY at, id",
            )?;
            let rows = stmt.query_map([since], |r| {
                Ok(Event {
                    at: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    kind: r.get(1)?,
                    agent: r.get(2)?,
                    provider: r.get(3)?,
                    profile: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::writer::LedgerWriter;

    #[test]
    fn events_round_trip_one_line_and_through_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open_in(&dir.path().join("state")).unwrap();
        let mut e = Event::now(EVENT_FAILOVER, "from a\nto b");
        e.provider = Some("anthropic".into());
        e.at = 100;
        ledger.record_event(&e).unwrap();
        let got = ledger.events(0).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].detail, "from a?to b");
        assert_eq!(got[0].provider.as_deref(), Some("anthropic"));
        assert!(ledger.events(101).unwrap().is_empty());

        let writer =
            LedgerWriter::spawn(Ledger::open_in(&dir.path().join("state")).unwrap()).unwrap();
        let mut queued = Event::now(EVENT_BUDGET_REFUSED, "x".repeat(MAX_DETAIL + 10));
        queued.at = 200;
        writer.event(queued);
        writer.flush();
        let got = ledger.events(150).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, EVENT_BUDGET_REFUSED);
        assert_eq!(got[0].detail.len(), MAX_DETAIL);
    }
}
