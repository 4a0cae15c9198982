//! One lane's positions and accounted size, and the removal of its oldest
//! rows: GC of rows every output has delivered, and drops under the size
//! bound (bulk first, counted per class).
//!
//! Invariant: a lane holds the contiguous positions `first_pos..next_pos`;
//! rows only ever leave from the front, so depths are arithmetic and never
//! need a scan. Removal streams rows or deletes ranges; it never loads a
//! lane into memory.

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction};

use crate::journal::{ClassCounts, JournalError, Lane, RecordClass};

/// Size accounted per record on top of its payload: rowid, record header,
/// class and commit time, cell pointer and B-tree page slack.
pub const RECORD_OVERHEAD_BYTES: u64 = 32;

/// Accounted size of one record.
pub fn record_cost(payload_len: u64) -> u64 {
    payload_len.saturating_add(RECORD_OVERHEAD_BYTES)
}

/// Most delivered rows one lane's GC deletes in one transaction, so that a
/// large catch-up never makes one commit slow.
const GC_STEP: u64 = 8192;

/// Positions and accounted bytes of one lane.
#[derive(Debug, Clone, Copy)]
pub struct LaneState {
    pub first_pos: u64,
    pub next_pos: u64,
    pub live_bytes: u64,
}

impl LaneState {
    /// Reads a lane's state from the file.
    pub fn read(conn: &Connection, lane: Lane) -> Result<Self, JournalError> {
        let (next_pos, live_bytes): (i64, i64) = conn.query_row(
            "SELECT next_pos, live_bytes FROM lane_state WHERE lane = ?1",
            [lane.code()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let next_pos = to_u64(next_pos, "next position")?;
        let first: Option<i64> =
            conn.query_row(&format!("SELECT min(pos) FROM {}", lane.table()), [], |r| {
                r.get(0)
            })?;
        Ok(Self {
            first_pos: first.map_or(Ok(next_pos), |p| to_u64(p, "position"))?,
            next_pos,
            live_bytes: to_u64(live_bytes, "byte count")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.first_pos >= self.next_pos
    }

    pub fn last_pos(&self) -> u64 {
        self.next_pos.saturating_sub(1)
    }

    fn emptied(self) -> Self {
        Self {
            first_pos: self.next_pos,
            live_bytes: 0,
            ..self
        }
    }
}

/// A stored integer that must not be negative.
pub fn to_u64(value: i64, what: &'static str) -> Result<u64, JournalError> {
    u64::try_from(value).map_err(|_| JournalError::BadCode { what, code: value })
}

/// Stored form of a position or count (SQLite integers are signed).
pub fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// What the size bound dropped before delivery: per class for the journal
/// (a record not yet delivered by at least one output), and per output
/// (records that output had not delivered).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drops {
    pub total: ClassCounts,
    pub per_output: BTreeMap<String, ClassCounts>,
}

impl Drops {
    /// Counts the dropped record at `pos` of `lane` against every output
    /// whose cursor is before it (and once in the total if any is, or if
    /// no output is registered).
    fn count(
        &mut self,
        lane: Lane,
        pos: u64,
        class: RecordClass,
        cursors: &BTreeMap<String, [u64; 2]>,
    ) {
        let mut undelivered = cursors.is_empty();
        for (output, cursor) in cursors {
            if pos > cursor[lane.index()] {
                undelivered = true;
                match self.per_output.get_mut(output) {
                    Some(counts) => counts.add(class, 1),
                    None => {
                        let mut counts = ClassCounts::default();
                        counts.add(class, 1);
                        self.per_output.insert(output.clone(), counts);
                    }
                }
            }
        }
        if undelivered {
            self.total.add(class, 1);
        }
    }
}

/// Lanes in the order the size bound takes records from them.
pub const DROP_ORDER: [Lane; 2] = [Lane::Bulk, Lane::Urgent];

/// Drops from the front of the first non-empty lane of `order` until the
/// accounted size fits `limit`. Rows every output has already delivered
/// are removed without counting as drops.
pub fn enforce_bound(
    tx: &Transaction,
    lanes: &mut [LaneState; 2],
    cursors: &BTreeMap<String, [u64; 2]>,
    limit: u64,
    order: &[Lane],
    dropped: &mut Drops,
) -> Result<(), JournalError> {
    loop {
        let total = lanes[0].live_bytes.saturating_add(lanes[1].live_bytes);
        let Some(excess) = total.checked_sub(limit).filter(|&e| e > 0) else {
            return Ok(());
        };
        let Some(&lane) = order.iter().find(|l| !lanes[l.index()].is_empty()) else {
            return Ok(());
        };
        let i = lane.index();
        evict_front(tx, lane, &mut lanes[i], excess, cursors, dropped)?;
    }
}

/// Removes the oldest rows of `lane` until at least `excess` accounted
/// bytes are freed or the lane is empty, streaming them in position order.
fn evict_front(
    tx: &Transaction,
    lane: Lane,
    state: &mut LaneState,
    excess: u64,
    cursors: &BTreeMap<String, [u64; 2]>,
    dropped: &mut Drops,
) -> Result<(), JournalError> {
    let sql = format!(
        "SELECT pos, class, length(payload) FROM {} WHERE pos >= ?1 ORDER BY pos",
        lane.table()
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query([to_i64(state.first_pos)])?;
    let mut freed = 0u64;
    let mut last = None;
    while freed < excess {
        let Some(row) = rows.next()? else { break };
        let pos = to_u64(row.get(0)?, "position")?;
        let class = RecordClass::from_code(row.get(1)?)?;
        freed = freed.saturating_add(record_cost(to_u64(row.get(2)?, "payload length")?));
        dropped.count(lane, pos, class, cursors);
        last = Some(pos);
    }
    drop(rows);
    match last {
        Some(last) => {
            delete_through(tx, lane, last)?;
            state.first_pos = last + 1;
            state.live_bytes = state.live_bytes.saturating_sub(freed);
        }
        // The accounting says rows exist but the table has none: trust the
        // table so that the bound loop ends.
        None => *state = state.emptied(),
    }
    Ok(())
}

/// Deletes up to [`GC_STEP`] of the oldest rows that every output has
/// delivered (positions up to `delivered_upto`).
pub fn gc_step(
    tx: &Transaction,
    lane: Lane,
    state: &mut LaneState,
    delivered_upto: u64,
) -> Result<(), JournalError> {
    let upto = delivered_upto
        .min(state.last_pos())
        .min(state.first_pos.saturating_add(GC_STEP - 1));
    if state.is_empty() || upto < state.first_pos {
        return Ok(());
    }
    let sql = format!(
        "SELECT coalesce(sum(length(payload)), 0) FROM {} WHERE pos BETWEEN ?1 AND ?2",
        lane.table()
    );
    let payload_bytes: i64 = tx
        .prepare_cached(&sql)?
        .query_row([to_i64(state.first_pos), to_i64(upto)], |r| r.get(0))?;
    let rows = upto - state.first_pos + 1;
    let freed =
        to_u64(payload_bytes, "payload length")?.saturating_add(rows * RECORD_OVERHEAD_BYTES);
    delete_through(tx, lane, upto)?;
    state.first_pos = upto + 1;
    state.live_bytes = state.live_bytes.saturating_sub(freed);
    Ok(())
}

fn delete_through(tx: &Transaction, lane: Lane, upto: u64) -> Result<(), JournalError> {
    let sql = format!("DELETE FROM {} WHERE pos <= ?1", lane.table());
    tx.prepare_cached(&sql)?.execute([to_i64(upto)])?;
    Ok(())
}
