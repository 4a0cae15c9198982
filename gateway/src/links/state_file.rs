//! The small SQLite files links keep their state in, in the data
//! directory (OCPP transactions, Modbus counter totals): opened in WAL mode
//! with synchronous = FULL, so a committed change survives a crash, and
//! waiting a while for another connection's write rather than failing.
//!
//! Only opens; what is kept and what it means is each link's business.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// How long a write waits for another connection's write to the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) `file` in `dir` and runs `schema` on it.
pub fn open(dir: &Path, file: &str, schema: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(dir.join(file))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    conn.execute_batch(schema)?;
    Ok(conn)
}
