//! The journal's SQLite file: where it lives, how connections to it are
//! configured, and its tables.
//!
//! Durability choice: WAL mode with `synchronous=FULL`. In WAL mode FULL
//! fsyncs the write-ahead log at every commit, so a transaction that has
//! returned survives a power cut; NORMAL would only fsync at checkpoints
//! and could lose the last commits, which the gateway has already
//! acknowledged to its sources. Group commit (many records per
//! transaction) pays for the fsync. Cursor-only commits may opt down to
//! NORMAL (see the writer): losing one of them only re-delivers.
//!
//! Memory: every connection gets a bounded page cache and no memory map, so
//! the process never holds more than a few MiB of the file whatever the
//! backlog. This module never creates a journal from a read-only open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::journal::JournalError;

/// The journal file inside the gateway data directory.
pub const FILE_NAME: &str = "journal.sqlite3";
/// Version of the table layout below.
const SCHEMA_VERSION: i64 = 1;
/// Page size of a new file. 16 KiB pages cut the per-page work of a large
/// group commit (B-tree splits, WAL frames, write calls) and measured about
/// 1.5x the append throughput of 4 KiB pages (docs/BENCHMARKS.md).
const PAGE_SIZE: i64 = 16 * 1024;
/// WAL pages after which a commit checkpoints the WAL into the database
/// (4 MiB at 16 KiB pages): checkpoints stay short and the WAL small.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 256;
/// Page cache of the writer connection, KiB: appends touch the right edge
/// of each B-tree and GC the left edge, so a few MiB hold every hot page.
const WRITER_CACHE_KIB: i64 = 4 * 1024;
/// Page cache of a reader connection, KiB: readers scan forward once.
const READER_CACHE_KIB: i64 = 2 * 1024;
/// After a checkpoint, the WAL file is truncated down to this size.
const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;
/// How long a connection waits for a lock held by another one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record_urgent (
    pos INTEGER PRIMARY KEY, class INTEGER NOT NULL,
    committed_ms INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS record_bulk (
    pos INTEGER PRIMARY KEY, class INTEGER NOT NULL,
    committed_ms INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS lane_state (
    lane INTEGER PRIMARY KEY, next_pos INTEGER NOT NULL, live_bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (
    output TEXT NOT NULL, lane INTEGER NOT NULL, acked_pos INTEGER NOT NULL,
    PRIMARY KEY (output, lane)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS drop_count (class INTEGER PRIMARY KEY, dropped INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS output_drop_count (
    output TEXT NOT NULL, class INTEGER NOT NULL, dropped INTEGER NOT NULL,
    PRIMARY KEY (output, class)) WITHOUT ROWID;
INSERT OR IGNORE INTO lane_state VALUES (0, 1, 0), (1, 1, 0);
";

/// The journal file of a data directory.
pub fn file_path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Opens (creating if needed) the journal for writing, in WAL mode with
/// `synchronous=FULL`, and makes sure the tables exist.
pub fn open_writer(dir: &Path) -> Result<Connection, JournalError> {
    std::fs::create_dir_all(dir).map_err(|source| JournalError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let conn = Connection::open(file_path(dir))?;
    configure(&conn, WRITER_CACHE_KIB)?;
    // Only takes effect on a new file (before it switches to WAL).
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(JournalError::NotWal(mode));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.execute_batch(TABLES)?;
    check_version(&conn)?;
    Ok(conn)
}

/// Opens an existing journal for reading only (readers, `journal stats`
/// while a daemon runs). Never creates the file.
pub fn open_reader(dir: &Path) -> Result<Connection, JournalError> {
    let path = file_path(dir);
    if !path.is_file() {
        return Err(JournalError::NotFound(path));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&path, flags)?;
    configure(&conn, READER_CACHE_KIB)?;
    check_version(&conn)?;
    Ok(conn)
}

/// Lock patience and a bounded page cache (negative `cache_size` is KiB).
fn configure(conn: &Connection, cache_kib: i64) -> Result<(), JournalError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "mmap_size", 0)?;
    Ok(())
}

/// Stamps a new file with the schema version and rejects other versions.
fn check_version(conn: &Connection) -> Result<(), JournalError> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match found {
        Some(v) if v == SCHEMA_VERSION => Ok(()),
        Some(found) => Err(JournalError::SchemaVersion {
            found,
            expected: SCHEMA_VERSION,
        }),
        None if conn.is_readonly(rusqlite::MAIN_DB)? => Err(JournalError::SchemaVersion {
            found: 0,
            expected: SCHEMA_VERSION,
        }),
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION],
            )?;
            Ok(())
        }
    }
}
