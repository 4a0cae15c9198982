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

/// Reading keys in time order: a commit of new readings touches only the
/// newest pages, whatever devices they come from.
const SEEN: &str = "
CREATE TABLE IF NOT EXISTS seen (
    device TEXT NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
    connector INTEGER NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
    state TEXT,
    PRIMARY KEY (ts, device, seq, connector)) WITHOUT ROWID;";

/// The layout this code writes (`PRAGMA user_version`). Version 0 kept
/// `seen` in device order (plus an index on `ts`), so that every reading
/// dirtied a page of its own device's: one page written per reading.
const VERSION: i64 = 1;

/// Version 0's `seen` (recognised by its `seen_by_ts` index), put aside
/// before the time-ordered table is created, then copied into it.
const SEEN_V0_ASIDE: &str = "ALTER TABLE seen RENAME TO seen_v0;";
const SEEN_V0_COPY: &str = "
INSERT INTO seen SELECT device, ts, seq, connector, kind, source, state FROM seen_v0;
DROP TABLE seen_v0;";

const TABLES: &str = "
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
    let mut conn = Connection::open(file_path(dir))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let _: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(TABLES)?;
    upgrade(&mut conn)?;
    Ok(conn)
}

/// Brings an older file to [`VERSION`] in one transaction.
fn upgrade(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let device_ordered: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'seen_by_ts'",
        [],
        |r| r.get(0),
    )?;
    if device_ordered > 0 {
        tracing::info!("history: reordering reading keys by time (one-off upgrade)");
        tx.execute_batch(SEEN_V0_ASIDE)?;
    }
    tx.execute_batch(SEEN)?;
    if device_ordered > 0 {
        tx.execute_batch(SEEN_V0_COPY)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}
