//! The saved running totals of Modbus counter points (`CounterTotals`),
//! kept in a small SQLite file in the data directory so that a `_total`
//! goes on from where it was after a gateway restart instead of from the
//! device's raw counter. One row per device and point: the metric, a
//! description of the raw register it counts, the last raw value and the
//! total.
//!
//! Every save is committed (synchronous = FULL, [`crate::links::state_file`])
//! before it returns; buses share the file. Calls
//! block briefly: async code runs them on the blocking pool. This module
//! never decides what a saved total means (see [`super::totals`]).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};

use super::totals::Total;

/// The file in the data directory.
pub const FILE_NAME: &str = "modbus_totals.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum CounterTotalsError {
    #[error("counter totals: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("counter totals: the lock was poisoned")]
    Poisoned,
    #[error("counter totals: the blocking task failed")]
    Task,
}

/// A counter point of a device: what its total is filed under (device and
/// point) and what it was counted from (metric and raw register).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CounterPoint {
    pub device: String,
    pub point: String,
    pub metric: String,
    /// The raw counter: table, address, type, orders and modulus.
    pub register: String,
}

/// A total as saved.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedTotal {
    pub point: CounterPoint,
    pub total: Total,
}

/// The store; cheap to clone.
#[derive(Clone)]
pub struct CounterTotals {
    conn: Arc<Mutex<Connection>>,
}

impl CounterTotals {
    /// Opens (creating if needed) the store of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, CounterTotalsError> {
        let conn = crate::links::state_file::open(
            data_dir,
            FILE_NAME,
            "CREATE TABLE IF NOT EXISTS counter_total (
                 device TEXT NOT NULL,
                 point TEXT NOT NULL,
                 metric TEXT NOT NULL,
                 register TEXT NOT NULL,
                 last_raw REAL NOT NULL,
                 total REAL NOT NULL,
                 PRIMARY KEY (device, point));",
        )?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Every saved total.
    pub fn load(&self) -> Result<Vec<SavedTotal>, CounterTotalsError> {
        let conn = self.conn.lock().map_err(|_| CounterTotalsError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT device, point, metric, register, last_raw, total FROM counter_total",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SavedTotal {
                point: CounterPoint {
                    device: r.get(0)?,
                    point: r.get(1)?,
                    metric: r.get(2)?,
                    register: r.get(3)?,
                },
                total: Total::saved(r.get(4)?, r.get(5)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saves `totals` in one transaction, replacing what their points had.
    pub fn save<'a>(
        &self,
        totals: impl IntoIterator<Item = (&'a CounterPoint, &'a Total)>,
    ) -> Result<(), CounterTotalsError> {
        let mut conn = self.conn.lock().map_err(|_| CounterTotalsError::Poisoned)?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO counter_total
                 (device, point, metric, register, last_raw, total)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (p, t) in totals {
                stmt.execute(params![
                    p.device,
                    p.point,
                    p.metric,
                    p.register,
                    t.last_raw(),
                    t.value()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(device: &str, register: &str) -> CounterPoint {
        CounterPoint {
            device: device.into(),
            point: "tips".into(),
            metric: "rain_mm_total".into(),
            register: register.into(),
        }
    }

    #[test]
    fn totals_survive_a_reopen_and_the_latest_save_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = CounterTotals::open(dir.path()).unwrap();
        assert!(store.load().unwrap().is_empty());
        let (a, b) = (point("rain-1", "fn4@0"), point("rain-2", "fn4@0"));
        let first = Total::saved(65_530.0, 13_106.0);
        store.save([(&a, &first), (&b, &first)]).unwrap();
        let later = Total::saved(3.0, 13_107.8);
        let moved = point("rain-1", "fn4@2");
        store.save([(&moved, &later)]).unwrap();
        drop(store);
        let mut loaded = CounterTotals::open(dir.path()).unwrap().load().unwrap();
        loaded.sort_by(|x, y| x.point.device.cmp(&y.point.device));
        assert_eq!(
            loaded,
            vec![
                SavedTotal {
                    point: moved,
                    total: later
                },
                SavedTotal {
                    point: b,
                    total: first
                },
            ]
        );
    }

    #[test]
    fn a_data_dir_that_is_not_there_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir");
        assert!(matches!(
            CounterTotals::open(&missing),
            Err(CounterTotalsError::Sqlite(_))
        ));
    }
}
