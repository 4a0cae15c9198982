//! The kept history (spec §12): a SQLite file in the data directory,
//! beside the journal but never inside it, fed from the journal by the
//! `history` output and read by the service levels, `history export` and
//! the alarm commands.
//!
//! Idempotent: a reading recorded twice (same device, `ts`, `seq`,
//! connector) is kept once. Bounded by age and size ([`bound`]); the bound
//! drops the oldest first, counts every drop, and never drops an open
//! alarm. It never blocks the async runtime itself: callers run it on the
//! blocking pool.

mod alarm_ops;
mod bound;
mod load;
mod maintenance;
mod presence;
mod schema;
mod sla_written;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use self::alarm_ops::{Action, AlarmError};
pub use self::bound::{Bound, DropCounts};
pub use self::presence::PresenceSnapshot;
pub use self::schema::FILE_NAME;

/// The history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("history lock poisoned")]
    Poisoned,
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

/// The history of one site; cheap to clone.
#[derive(Clone)]
pub struct HistoryStore {
    conn: Arc<Mutex<Connection>>,
    bound: Bound,
}

impl HistoryStore {
    /// Opens (creating if needed) the history of `data_dir`.
    pub fn open(data_dir: &Path, bound: Bound) -> Result<Self, StoreError> {
        Ok(Self {
            conn: Arc::new(Mutex::new(schema::open(data_dir)?)),
            bound,
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut conn)
    }
}

#[cfg(test)]
mod tests;
