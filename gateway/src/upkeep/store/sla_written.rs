//! How far the `sla` points of each period have been written to the
//! time-series store: the end of the last window written, so a restart
//! resumes with the next window (no gap, no duplicate).
//!
//! Only this mark lives here; the points themselves are never kept in the
//! history (they are derived from it).

use retrofit_protocols::line_protocol::SlaPeriod;
use rusqlite::{params, OptionalExtension};

use super::{HistoryStore, StoreError};

impl HistoryStore {
    /// The end (ms) of the last `period` window written, if any.
    pub fn sla_written(&self, period: SlaPeriod) -> Result<Option<i64>, StoreError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT until_ts FROM sla_written WHERE period = ?1",
                    params![period.as_str()],
                    |row| row.get(0),
                )
                .optional()?)
        })
    }

    /// The earliest `ts` the history holds (readings, events, status), if
    /// any: no `sla` window before it is written (there is nothing to
    /// compute it from).
    pub fn history_start(&self) -> Result<Option<i64>, StoreError> {
        self.with(|conn| {
            Ok(conn.query_row(
                "SELECT MIN(ts) FROM (SELECT MIN(ts) AS ts FROM seen UNION ALL SELECT MIN(ts) FROM events)",
                [],
                |row| row.get(0),
            )?)
        })
    }

    /// Records that every `period` window ending at or before `until_ms`
    /// has been written; never moves the mark backwards.
    pub fn mark_sla_written(&self, period: SlaPeriod, until_ms: i64) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO sla_written (period, until_ts) VALUES (?1, ?2)
                 ON CONFLICT (period) DO UPDATE SET until_ts = MAX(until_ts, excluded.until_ts)",
                params![period.as_str(), until_ms],
            )?;
            Ok(())
        })
    }
}
