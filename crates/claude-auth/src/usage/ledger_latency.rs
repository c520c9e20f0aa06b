//! Recent latencies of a login's requests, for the `fastest` selection
//! strategy: read from the `requests` table, never written here.

use rusqlite::params;

use super::{Ledger, LedgerError};
use crate::credential::Provider;

impl Ledger {
    /// The latencies (milliseconds, end to end as the ledger keeps them) of
    /// a login's successful requests (2xx) since `since` (Unix seconds),
    /// the most recent first, at most `limit`.
    pub fn recent_latencies(
        &self,
        provider: &Provider,
        login: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<u64>, LedgerError> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT latency_ms FROM requests
                 WHERE provider = ?1 AND profile = ?2 AND at >= ?3
                   AND status BETWEEN 200 AND 299 AND latency_ms IS NOT NULL
                 ORDER BY at DESC, id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![provider.as_str(), login, since, limit], |r| {
                r.get::<_, i64>(0)
            })?;
            rows.map(|r| r.map(|v| u64::try_from(v).unwrap_or(0)))
                .collect()
        })
    }
}
