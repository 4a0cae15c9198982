//! Keeping the history bounded: rows older than the retention expire, and
//! while the file's used size exceeds its bound the oldest rows go first
//! (reading keys, then events and status of alarms that are over).
//! Every row removed is counted by cause and table. Events of an alarm
//! that has not been cleared are never removed.

use rusqlite::{params, Connection};

use super::{HistoryStore, StoreError};

/// How long and how much history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub retention_ms: i64,
    pub max_bytes: u64,
}

impl Bound {
    pub fn new(retention_days: u32, max_bytes: u64) -> Self {
        Self {
            retention_ms: i64::from(retention_days) * 86_400_000,
            max_bytes,
        }
    }
}

/// Rows removed, by cause and table, since the history was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounts(pub Vec<(String, u64)>);

impl DropCounts {
    pub fn get(&self, what: &str) -> u64 {
        self.0
            .iter()
            .find(|(w, _)| w == what)
            .map_or(0, |(_, n)| *n)
    }
}

/// Rows removed per step while over the size bound.
const CHUNK: i64 = 2000;

/// Events that may go: status rows, instants, and every event of an alarm
/// that has been cleared.
const DROPPABLE: &str = "(alarm_id IS NULL OR state = 'instant'
    OR alarm_id IN (SELECT alarm_id FROM events WHERE state = 'cleared'))";

impl HistoryStore {
    /// Applies retention (relative to `now_ms`) and the size bound.
    pub fn enforce_bound(&self, now_ms: i64) -> Result<(), StoreError> {
        let bound = self.bound;
        self.with(|conn| {
            let cutoff = now_ms.saturating_sub(bound.retention_ms);
            let tx = conn.transaction()?;
            let seen = tx.execute("DELETE FROM seen WHERE ts < ?1", params![cutoff])?;
            let events = tx.execute(
                &format!("DELETE FROM events WHERE ts < ?1 AND {DROPPABLE}"),
                params![cutoff],
            )?;
            tx.execute("DELETE FROM visits WHERE at < ?1", params![cutoff])?;
            tx.execute("DELETE FROM maintenance WHERE to_ts < ?1", params![cutoff])?;
            count(&tx, "expired_telemetry", seen)?;
            count(&tx, "expired_events", events)?;
            tx.commit()?;
            while used_bytes(conn)? > bound.max_bytes {
                if !drop_oldest(conn)? {
                    tracing::warn!(
                        max_bytes = bound.max_bytes,
                        "history over its bound with only open alarms left"
                    );
                    break;
                }
            }
            Ok(())
        })
    }

    /// Rows removed so far, by cause and table.
    pub fn drops(&self) -> Result<DropCounts, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare("SELECT what, count FROM drops ORDER BY what")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (what, n) = row?;
                out.push((what, n.max(0) as u64));
            }
            Ok(DropCounts(out))
        })
    }

    /// Bytes in use by the history file (pages not on the free list).
    pub fn used_bytes(&self) -> Result<u64, StoreError> {
        self.with(|conn| used_bytes(conn))
    }
}

fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * size) as u64)
}

fn count(conn: &Connection, what: &str, n: usize) -> Result<(), StoreError> {
    if n > 0 {
        conn.execute(
            "INSERT INTO drops VALUES (?1, ?2) ON CONFLICT (what) DO UPDATE SET count = count + ?2",
            params![what, n as i64],
        )?;
    }
    Ok(())
}

/// Drops the oldest chunk of reading keys, or else of droppable events;
/// false when nothing may go.
fn drop_oldest(conn: &mut Connection) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let seen = tx.execute(
        "DELETE FROM seen WHERE (device, ts, seq, connector) IN
           (SELECT device, ts, seq, connector FROM seen ORDER BY ts LIMIT ?1)",
        params![CHUNK],
    )?;
    let events = if seen > 0 {
        0
    } else {
        tx.execute(
            &format!(
                "DELETE FROM events WHERE (device, ts, seq) IN
                   (SELECT device, ts, seq FROM events WHERE {DROPPABLE} ORDER BY ts LIMIT ?1)"
            ),
            params![CHUNK],
        )?
    };
    count(&tx, "bound_telemetry", seen)?;
    count(&tx, "bound_events", events)?;
    tx.commit()?;
    Ok(seen + events > 0)
}
