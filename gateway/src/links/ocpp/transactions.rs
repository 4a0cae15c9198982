//! The transactions and open charger faults of the OCPP link, kept in a
//! small SQLite file in the data directory so that transaction IDs never
//! repeat and a session started before a gateway restart is resumed and
//! stopped after it with its start meter and time; a fault raised before
//! a restart is cleared after it with the same alarm ID.
//!
//! Every change is committed (synchronous = FULL) before it returns, so the
//! `.conf` that follows never names a transaction the gateway could forget.
//! This module never reuses a transaction ID (SQLite `AUTOINCREMENT`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

/// The file in the data directory.
pub const FILE_NAME: &str = "ocpp.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("transaction store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("transaction store: the lock was poisoned")]
    Poisoned,
    #[error("transaction store: transaction IDs are exhausted")]
    Exhausted,
    #[error("transaction store: the blocking task failed")]
    Task,
}

/// A transaction as started.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: i32,
    pub charge_point: String,
    pub connector: u32,
    pub id_tag: String,
    pub meter_start_wh: i64,
    pub started_ms: i64,
}

/// The store; cheap to clone, every call blocks briefly (use
/// [`TransactionStore::run`] from async code).
#[derive(Clone)]
pub struct TransactionStore {
    conn: Arc<Mutex<Connection>>,
}

impl TransactionStore {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let conn = crate::links::state_file::open(
            dir,
            FILE_NAME,
            "CREATE TABLE IF NOT EXISTS ocpp_transaction (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 charge_point TEXT NOT NULL,
                 connector INTEGER NOT NULL,
                 id_tag TEXT NOT NULL,
                 meter_start INTEGER NOT NULL,
                 started_ms INTEGER NOT NULL,
                 stopped INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS ocpp_fault (
                 charge_point TEXT NOT NULL,
                 connector INTEGER NOT NULL,
                 raise_seq INTEGER NOT NULL,
                 PRIMARY KEY (charge_point, connector));",
        )?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&TransactionStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|_| StoreError::Task)?
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(f(&conn)?)
    }

    /// Starts a transaction, or finds the open one a resent StartTransaction
    /// (same charge point, connector, tag, meter and time) already started.
    pub fn start(&self, t: &Transaction) -> Result<i32, StoreError> {
        let id: i64 = self.with(|c| {
            let existing = c
                .query_row(
                    "SELECT id FROM ocpp_transaction WHERE stopped = 0 AND charge_point = ?1
                     AND connector = ?2 AND id_tag = ?3 AND meter_start = ?4 AND started_ms = ?5",
                    params![t.charge_point, t.connector, t.id_tag, t.meter_start_wh, t.started_ms],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = existing {
                return Ok(id);
            }
            c.execute(
                "INSERT INTO ocpp_transaction (charge_point, connector, id_tag, meter_start, started_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.charge_point, t.connector, t.id_tag, t.meter_start_wh, t.started_ms],
            )?;
            Ok(c.last_insert_rowid())
        })?;
        i32::try_from(id).map_err(|_| StoreError::Exhausted)
    }

    /// The transaction `id` of `charge_point`, stopped or not.
    pub fn get(&self, charge_point: &str, id: i32) -> Result<Option<Transaction>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT id, charge_point, connector, id_tag, meter_start, started_ms
                 FROM ocpp_transaction WHERE id = ?1 AND charge_point = ?2",
                params![id, charge_point],
                |r| {
                    Ok(Transaction {
                        id: r.get(0)?,
                        charge_point: r.get(1)?,
                        connector: r.get(2)?,
                        id_tag: r.get(3)?,
                        meter_start_wh: r.get(4)?,
                        started_ms: r.get(5)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Marks the transaction stopped.
    pub fn stop(&self, id: i32) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE ocpp_transaction SET stopped = 1 WHERE id = ?1",
                [id],
            )
        })?;
        Ok(())
    }

    /// The open transaction on a connector, if any (for RemoteStop).
    pub fn open_on(&self, charge_point: &str, connector: u32) -> Result<Option<i32>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT id FROM ocpp_transaction WHERE stopped = 0 AND charge_point = ?1
                 AND connector = ?2 ORDER BY id DESC LIMIT 1",
                params![charge_point, connector],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// The `raise seq` of the open fault on a connector.
    pub fn open_fault(
        &self,
        charge_point: &str,
        connector: u32,
    ) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = self.with(|c| {
            c.query_row(
                "SELECT raise_seq FROM ocpp_fault WHERE charge_point = ?1 AND connector = ?2",
                params![charge_point, connector],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(seq.map(|s| s as u64))
    }

    /// Records (`Some`) or forgets (`None`) the open fault of a connector.
    pub fn set_fault(
        &self,
        charge_point: &str,
        connector: u32,
        raise_seq: Option<u64>,
    ) -> Result<(), StoreError> {
        self.with(|c| match raise_seq {
            Some(seq) => c.execute(
                "INSERT OR REPLACE INTO ocpp_fault (charge_point, connector, raise_seq) VALUES (?1, ?2, ?3)",
                params![charge_point, connector, seq as i64],
            ),
            None => c.execute(
                "DELETE FROM ocpp_fault WHERE charge_point = ?1 AND connector = ?2",
                params![charge_point, connector],
            ),
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(meter: i64) -> Transaction {
        Transaction {
            id: 0,
            charge_point: "cp-1".into(),
            connector: 1,
            id_tag: "TAG".into(),
            meter_start_wh: meter,
            started_ms: 1_000,
        }
    }

    #[test]
    fn ids_survive_a_reopen_and_never_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let store = TransactionStore::open(dir.path()).unwrap();
        let first = store.start(&tx(10)).unwrap();
        assert_eq!(
            store.start(&tx(10)).unwrap(),
            first,
            "a resent start is the same transaction"
        );
        store.stop(first).unwrap();
        drop(store);
        let store = TransactionStore::open(dir.path()).unwrap();
        let found = store.get("cp-1", first).unwrap().unwrap();
        assert_eq!(found.meter_start_wh, 10);
        assert!(store.get("cp-2", first).unwrap().is_none());
        let second = store.start(&tx(10)).unwrap();
        assert!(second > first);
        assert_eq!(store.open_on("cp-1", 1).unwrap(), Some(second));
    }

    #[test]
    fn faults_are_remembered_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = TransactionStore::open(dir.path()).unwrap();
        store.set_fault("cp-1", 2, Some(77)).unwrap();
        let store = TransactionStore::open(dir.path()).unwrap();
        assert_eq!(store.open_fault("cp-1", 2).unwrap(), Some(77));
        store.set_fault("cp-1", 2, None).unwrap();
        assert_eq!(store.open_fault("cp-1", 2).unwrap(), None);
    }
}
