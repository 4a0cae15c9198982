//! The history file's tables (`history.sqlite3` in the data directory,
//! beside the journal): reading keys with elevator/charger state, events
//! and status changes, technician visits, maintenance windows, drop
//! counts and how far `sla` points have been written to the store.
//!
//! Only opening and creating the file live here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// The history file of a data directory.
pub const FILE_NAME: &str = "history.sqlite3";

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS seen (
    device TEXT NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
    connector INTEGER NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
    state TEXT,
    PRIMARY KEY (device, ts, seq, connector)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_ts ON seen (ts);
CREATE TABLE IF NOT EXISTS events (
    device TEXT NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
    alarm_id TEXT, state TEXT, payload BLOB NOT NULL,
    PRIMARY KEY (device, ts, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_by_alarm ON events (alarm_id, state);
CREATE TABLE IF NOT EXISTS visits (
    what TEXT NOT NULL, alarm_id TEXT NOT NULL, at INTEGER NOT NULL,
    by TEXT NOT NULL,
    PRIMARY KEY (what, alarm_id, at, by)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS maintenance (
    id INTEGER PRIMARY KEY, from_ts INTEGER NOT NULL, to_ts INTEGER NOT NULL,
    device TEXT, kind TEXT, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drops (
    what TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sla_written (
    period TEXT PRIMARY KEY, until_ts INTEGER NOT NULL) WITHOUT ROWID;
";

pub fn file_path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Opens (creating if needed) the history in WAL mode.
pub fn open(dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let conn = Connection::open(file_path(dir))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let _: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(TABLES)?;
    Ok(conn)
}
