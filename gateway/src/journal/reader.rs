//! One output's view of the journal: entries after its durable cursor.
//!
//! A reader has its own read-only connection, so peeking never waits for
//! an append's fsync; acks go through the journal's writer. Peeks are
//! served from the journal's in-memory tail when it holds every entry
//! asked for, else from the file. Peeks return at most the requested
//! number of entries and never hold a read transaction open between calls
//! (which would stop WAL checkpoints).

use rusqlite::{params, Connection};

use crate::journal::lane_state::to_u64;
use crate::journal::{Entry, Journal, JournalError, Lane, RecordClass};

/// Reads and acknowledges one output's entries. `Send`, not `Sync`: use it
/// from one thread at a time (e.g. move it into `spawn_blocking`).
pub struct JournalReader {
    conn: Connection,
    journal: Journal,
    output: String,
    /// This output's durable cursor per lane (only this reader moves it).
    acked: [u64; 2],
}

impl JournalReader {
    pub(crate) fn new(conn: Connection, journal: Journal, output: &str, acked: [u64; 2]) -> Self {
        Self {
            conn,
            journal,
            output: output.to_owned(),
            acked,
        }
    }

    /// The output this reader serves.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// Up to `max` entries of `lane` after this output's durable cursor, in
    /// commit order. Peeking again without an ack returns them again.
    pub fn peek(&mut self, lane: Lane, max: usize) -> Result<Vec<Entry>, JournalError> {
        self.peek_after(lane, 0, max)
    }

    /// Like [`JournalReader::peek`], but only entries after position
    /// `after` too: tops up a batch already peeked without reading it
    /// again.
    pub fn peek_after(
        &mut self,
        lane: Lane,
        after: u64,
        max: usize,
    ) -> Result<Vec<Entry>, JournalError> {
        if let Some(entries) = self.peek_cached(lane, after, max) {
            return Ok(entries);
        }
        let sql = format!(
            "SELECT pos, class, payload FROM {} WHERE pos > ?1 ORDER BY pos LIMIT ?2",
            lane.table()
        );
        let after = i64::try_from(self.start(lane, after)).unwrap_or(i64::MAX);
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![after, limit])?;
        let mut entries = Vec::with_capacity(max.min(4096));
        while let Some(row) = rows.next()? {
            entries.push(Entry::new(
                lane,
                to_u64(row.get(0)?, "position")?,
                RecordClass::from_code(row.get(1)?)?,
                row.get(2)?,
            ));
        }
        Ok(entries)
    }

    /// Marks every entry of `lane` up to `upto_pos` as delivered by this
    /// output, and writes it at once. The cursor survives a crash of the
    /// process; after a power cut it may step back to an earlier ack
    /// (re-delivery, never loss) unless [`Journal::sync`] or a later
    /// append has run.
    pub fn ack(&mut self, lane: Lane, upto_pos: u64) -> Result<(), JournalError> {
        self.journal.ack(&self.output, lane, upto_pos)?;
        self.advance(lane, upto_pos);
        Ok(())
    }

    /// Like [`JournalReader::ack`], but written with the journal's next
    /// transaction (an append, [`Journal::persist_acks`] or
    /// [`Journal::sync`]): no I/O here. Peeks move past the entries at
    /// once; a process crash before the write delivers them again.
    pub fn ack_deferred(&mut self, lane: Lane, upto_pos: u64) -> Result<(), JournalError> {
        let entries = upto_pos.saturating_sub(self.acked[lane.index()]);
        self.journal
            .defer_ack(&self.output, lane, upto_pos, entries)?;
        self.advance(lane, upto_pos);
        Ok(())
    }

    /// Acknowledges a whole delivered batch (one lane, position order),
    /// written with the journal's next transaction like
    /// [`JournalReader::ack_deferred`]. Entries of it that the size bound
    /// dropped while it was on its way are taken off this output's drop
    /// count, which thus counts only what never reached it.
    pub fn ack_batch(&mut self, batch: &[Entry]) -> Result<(), JournalError> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let entries = last.pos.saturating_sub(self.acked[last.lane.index()]);
        self.journal.record_delivery(&self.output, batch, entries)?;
        self.advance(last.lane, last.pos);
        Ok(())
    }

    fn advance(&mut self, lane: Lane, upto_pos: u64) {
        let acked = &mut self.acked[lane.index()];
        *acked = (*acked).max(upto_pos);
    }

    /// Like [`JournalReader::peek_after`], from memory only: `None` when
    /// the in-memory tail does not hold every entry asked for. Never
    /// touches the file, so it is cheap enough for async code.
    pub fn peek_cached(&self, lane: Lane, after: u64, max: usize) -> Option<Vec<Entry>> {
        self.journal
            .cached_after(lane, self.start(lane, after), max)
    }

    /// Entries after this position are the ones to read.
    fn start(&self, lane: Lane, after: u64) -> u64 {
        after.max(self.acked[lane.index()])
    }
}
