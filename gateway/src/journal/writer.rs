//! The single writer connection: appends, cursor acks, durability levels,
//! and the in-memory lane state kept in step with the file.
//!
//! In-memory state is changed only after its transaction has committed, so
//! a failed call leaves the writer exactly as it was.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, Transaction, TransactionBehavior};

use crate::journal::lane_state::{
    enforce_bound, gc_step, record_cost, to_i64, to_u64, Drops, LaneState, DROP_ORDER,
};
use crate::journal::{ClassCounts, JournalError, Lane, NewRecord, RecordClass};

/// Cursor positions acknowledged by outputs but not yet written, per
/// output and lane (the highest position each).
pub type PendingAcks = BTreeMap<String, [u64; 2]>;

/// Per output, delivered entries that had been counted as its drops (read
/// before the size bound dropped them, delivered after): taken off its
/// drop count, which then counts only what never reached it.
pub type Undropped = BTreeMap<String, ClassCounts>;

/// What one append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Records committed by this call.
    pub appended: usize,
    /// Undelivered records dropped by this call to stay within `max_bytes`
    /// (possibly some of the records just appended).
    pub dropped: ClassCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncLevel {
    /// fsync the WAL at every commit: appends.
    Full,
    /// fsync only at checkpoints: cursor acks (a lost ack re-delivers).
    Normal,
}

/// The writer connection and the state it keeps in step with the file.
pub struct Writer {
    conn: Connection,
    lanes: [LaneState; 2],
    /// Acked position per registered output, per lane.
    cursors: BTreeMap<String, [u64; 2]>,
    max_bytes: u64,
    sync: SyncLevel,
}

impl Writer {
    /// Loads the lanes and registers `outputs`: a new output starts at the
    /// current head (it receives what is appended from now on); cursors of
    /// outputs no longer listed are forgotten.
    pub fn load(conn: Connection, max_bytes: u64, outputs: &[&str]) -> Result<Self, JournalError> {
        let mut writer = Self {
            lanes: [
                LaneState::read(&conn, Lane::Urgent)?,
                LaneState::read(&conn, Lane::Bulk)?,
            ],
            conn,
            cursors: BTreeMap::new(),
            max_bytes,
            sync: SyncLevel::Full,
        };
        writer.register_outputs(outputs)?;
        Ok(writer)
    }

    fn register_outputs(&mut self, outputs: &[&str]) -> Result<(), JournalError> {
        let lanes = self.lanes;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for output in outputs {
            for lane in Lane::ALL {
                tx.execute(
                    "INSERT OR IGNORE INTO cursor (output, lane, acked_pos) VALUES (?1, ?2, ?3)",
                    params![output, lane.code(), to_i64(lanes[lane.index()].last_pos())],
                )?;
            }
        }
        let (kept, forgotten): (Vec<_>, Vec<_>) = load_cursors(&tx)?
            .into_iter()
            .partition(|(name, _)| outputs.contains(&name.as_str()));
        for (name, _) in forgotten {
            tx.execute("DELETE FROM cursor WHERE output = ?1", [name])?;
        }
        tx.commit()?;
        self.cursors = kept.into_iter().collect();
        Ok(())
    }

    /// `output`'s acked position per lane, if it is registered.
    pub fn cursor(&self, output: &str) -> Option<[u64; 2]> {
        self.cursors.get(output).copied()
    }

    /// Positions and sizes of both lanes as committed.
    pub fn lanes(&self) -> [LaneState; 2] {
        self.lanes
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Commits `records` in one durable transaction, then enforces the size
    /// bound and takes one GC step per lane in the same transaction.
    /// Cursor acks still pending are written in the same transaction.
    pub fn append(
        &mut self,
        records: &[NewRecord],
        (acks, undropped): (&PendingAcks, &Undropped),
        now_ms: i64,
    ) -> Result<AppendOutcome, JournalError> {
        if records.is_empty() {
            self.persist_acks(acks, undropped)?;
            return Ok(AppendOutcome::default());
        }
        self.set_sync(SyncLevel::Full)?;
        let cursors = self.cursors_with(acks);
        let min_cursors = min_cursors(&cursors);
        let mut lanes = self.lanes;
        let mut dropped = Drops::default();
        let incoming: u64 = records
            .iter()
            .map(|r| record_cost(r.payload.len() as u64))
            .sum();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_cursors(&tx, &self.cursors, &cursors)?;
        take_off_drops(&tx, undropped)?;
        // Older telemetry would go first anyway: freeing its pages before
        // inserting lets the insert reuse them, so the file never holds
        // more than the bound plus slack.
        let room_limit = self.max_bytes.saturating_sub(incoming);
        enforce_bound(
            &tx,
            &mut lanes,
            &cursors,
            room_limit,
            &[Lane::Bulk],
            &mut dropped,
        )?;
        insert_records(&tx, &mut lanes, records, now_ms)?;
        enforce_bound(
            &tx,
            &mut lanes,
            &cursors,
            self.max_bytes,
            &DROP_ORDER,
            &mut dropped,
        )?;
        for lane in Lane::ALL {
            let i = lane.index();
            gc_step(&tx, lane, &mut lanes[i], min_cursors[i])?;
        }
        save_lanes(&tx, &lanes)?;
        add_drops(&tx, &dropped)?;
        tx.commit()?;
        self.lanes = lanes;
        self.cursors = cursors;
        Ok(AppendOutcome {
            appended: records.len(),
            dropped: dropped.total,
        })
    }

    /// Writes acknowledged cursor positions (those past the stored ones)
    /// and collects what every output has now delivered, in one
    /// transaction without an fsync (a cursor lost to a power cut only
    /// re-delivers). A no-op when nothing moved.
    pub fn persist_acks(
        &mut self,
        acks: &PendingAcks,
        undropped: &Undropped,
    ) -> Result<(), JournalError> {
        let cursors = self.cursors_with(acks);
        if cursors == self.cursors && undropped.is_empty() {
            return Ok(());
        }
        self.set_sync(SyncLevel::Normal)?;
        let min_cursors = min_cursors(&cursors);
        let mut lanes = self.lanes;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_cursors(&tx, &self.cursors, &cursors)?;
        take_off_drops(&tx, undropped)?;
        for lane in Lane::ALL {
            let i = lane.index();
            gc_step(&tx, lane, &mut lanes[i], min_cursors[i])?;
        }
        save_lanes(&tx, &lanes)?;
        tx.commit()?;
        self.lanes = lanes;
        self.cursors = cursors;
        Ok(())
    }

    /// The stored cursors moved forward by `acks` (registered outputs
    /// only; a cursor never moves back).
    fn cursors_with(&self, acks: &PendingAcks) -> BTreeMap<String, [u64; 2]> {
        let mut cursors = self.cursors.clone();
        for (output, acked) in acks {
            if let Some(cursor) = cursors.get_mut(output) {
                for (c, a) in cursor.iter_mut().zip(acked) {
                    *c = (*c).max(*a);
                }
            }
        }
        cursors
    }

    /// Makes every earlier commit, cursor acks included, durable against
    /// power loss (one fsynced commit).
    pub fn sync(&mut self, acks: &PendingAcks, undropped: &Undropped) -> Result<(), JournalError> {
        self.persist_acks(acks, undropped)?;
        self.set_sync(SyncLevel::Full)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        save_lanes(&tx, &self.lanes)?;
        tx.commit()?;
        Ok(())
    }

    fn set_sync(&mut self, level: SyncLevel) -> Result<(), JournalError> {
        if self.sync != level {
            let value = match level {
                SyncLevel::Full => "FULL",
                SyncLevel::Normal => "NORMAL",
            };
            self.conn.pragma_update(None, "synchronous", value)?;
            self.sync = level;
        }
        Ok(())
    }
}

/// Per lane, the position every registered output has delivered (0 when
/// no output is registered: nothing counts as delivered).
fn min_cursors(cursors: &BTreeMap<String, [u64; 2]>) -> [u64; 2] {
    let min_of = |i: usize| cursors.values().map(|c| c[i]).min().unwrap_or(0);
    [min_of(0), min_of(1)]
}

/// Writes the cursor rows that differ between `before` and `after`.
fn write_cursors(
    tx: &Transaction,
    before: &BTreeMap<String, [u64; 2]>,
    after: &BTreeMap<String, [u64; 2]>,
) -> Result<(), JournalError> {
    let mut update =
        tx.prepare_cached("UPDATE cursor SET acked_pos = ?3 WHERE output = ?1 AND lane = ?2")?;
    for (output, cursor) in after {
        for lane in Lane::ALL {
            let i = lane.index();
            if before.get(output).map(|b| b[i]) != Some(cursor[i]) {
                update.execute(params![output, lane.code(), to_i64(cursor[i])])?;
            }
        }
    }
    Ok(())
}

fn load_cursors(conn: &Connection) -> Result<BTreeMap<String, [u64; 2]>, JournalError> {
    let mut stmt = conn.prepare("SELECT output, lane, acked_pos FROM cursor")?;
    let mut rows = stmt.query([])?;
    let mut cursors = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let output: String = row.get(0)?;
        let lane = Lane::from_code(row.get(1)?)?;
        let acked = to_u64(row.get(2)?, "cursor")?;
        cursors.entry(output).or_insert([0; 2])[lane.index()] = acked;
    }
    Ok(cursors)
}

fn insert_records(
    tx: &Transaction,
    lanes: &mut [LaneState; 2],
    records: &[NewRecord],
    now_ms: i64,
) -> Result<(), JournalError> {
    let insert_sql = |lane: Lane| {
        format!(
            "INSERT INTO {} (pos, class, committed_ms, payload) VALUES (?1, ?2, ?3, ?4)",
            lane.table()
        )
    };
    let mut inserts = [
        tx.prepare_cached(&insert_sql(Lane::Urgent))?,
        tx.prepare_cached(&insert_sql(Lane::Bulk))?,
    ];
    for record in records {
        let i = record.class.lane().index();
        let lane = &mut lanes[i];
        inserts[i].execute(params![
            to_i64(lane.next_pos),
            record.class.code(),
            now_ms,
            record.payload
        ])?;
        lane.next_pos += 1;
        lane.live_bytes = lane
            .live_bytes
            .saturating_add(record_cost(record.payload.len() as u64));
    }
    Ok(())
}

fn save_lanes(tx: &Transaction, lanes: &[LaneState; 2]) -> Result<(), JournalError> {
    let mut stmt =
        tx.prepare_cached("UPDATE lane_state SET next_pos = ?2, live_bytes = ?3 WHERE lane = ?1")?;
    for lane in Lane::ALL {
        let state = &lanes[lane.index()];
        stmt.execute(params![
            lane.code(),
            to_i64(state.next_pos),
            to_i64(state.live_bytes)
        ])?;
    }
    Ok(())
}

/// Takes delivered entries off their outputs' drop counts (never below 0).
fn take_off_drops(tx: &Transaction, undropped: &Undropped) -> Result<(), JournalError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE output_drop_count SET dropped = max(0, dropped - ?3) WHERE output = ?1 AND class = ?2",
    )?;
    for (output, counts) in undropped {
        for class in RecordClass::ALL {
            let n = counts.get(class);
            if n > 0 {
                stmt.execute(params![output, class.code(), to_i64(n)])?;
            }
        }
    }
    Ok(())
}

fn add_drops(tx: &Transaction, dropped: &Drops) -> Result<(), JournalError> {
    let mut total = tx.prepare_cached(
        "INSERT INTO drop_count (class, dropped) VALUES (?1, ?2)
         ON CONFLICT (class) DO UPDATE SET dropped = dropped + excluded.dropped",
    )?;
    let mut per_output = tx.prepare_cached(
        "INSERT INTO output_drop_count (output, class, dropped) VALUES (?1, ?2, ?3)
         ON CONFLICT (output, class) DO UPDATE SET dropped = dropped + excluded.dropped",
    )?;
    for class in RecordClass::ALL {
        let n = dropped.total.get(class);
        if n > 0 {
            total.execute(params![class.code(), to_i64(n)])?;
        }
        for (output, counts) in &dropped.per_output {
            let n = counts.get(class);
            if n > 0 {
                per_output.execute(params![output, class.code(), to_i64(n)])?;
            }
        }
    }
    Ok(())
}
