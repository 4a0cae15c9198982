//! The durable journal (spec §8): every reading the gateway acknowledges
//! to a source is first committed here; every output delivers from here, at
//! least once, from its own durable cursor.
//!
//! Layout: one SQLite file (`journal.sqlite3` in the data directory) in WAL
//! mode with `synchronous=FULL` (see `schema` for why), two lanes (urgent:
//! events, status, dead letters; bulk: telemetry), each a log of records
//! with positions that strictly increase in commit order and are never
//! reused. Order guarantee: within a lane, entries are delivered in commit
//! order, so one device's readings of one lane keep their order; an urgent
//! entry may overtake older telemetry of the same device.
//!
//! Size bound: `max_bytes` bounds the accounted size, payload bytes plus
//! [`RECORD_OVERHEAD_BYTES`] per record (rowid, record header, commit time,
//! cell pointer and page slack). Old telemetry is evicted before a batch
//! is inserted, so its freed pages are reused and the database file stays
//! within a few percent of `max_bytes` (tested); the WAL is checkpointed
//! every 4 MiB and truncated to 16 MiB after checkpoints. When an append would exceed the bound, the oldest bulk
//! records go first, urgent records only when no bulk record is left;
//! every undelivered record removed this way is counted per class
//! (persisted). Rows every registered output has delivered are deleted in
//! steps of at most 8,192 per lane and commit. With no output registered
//! nothing counts as delivered, and the bound alone limits the file.
//!
//! Memory: the writer has a 4 MiB page cache, each reader 2 MiB, no memory
//! map; no call loads more than the entries asked for, whatever the
//! backlog (a 1M-record drain peaks about 20 MiB above the baseline). The
//! newest undelivered entries of each lane (at most 2 MiB per lane) are
//! also kept in memory after their commit (`tail`), so outputs that keep
//! up never read back what was just written.
//!
//! Threads: [`Journal`] is `Send + Sync` and cheap to clone; one mutex
//! serialises the writer connection (appends, acks, stats), so calls may
//! block on an fsync: async code calls it through
//! `tokio::task::spawn_blocking`. Each [`JournalReader`] has its own
//! connection. One process only may open a journal for writing.
//!
//! This module never acknowledges anything itself, never reorders a lane,
//! and never drops a record except by the size bound, counted.

mod acks;
mod config;
mod error;
mod lane_state;
mod reader;
mod record;
mod schema;
mod stats;
mod tail;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use tokio::sync::watch;

pub use config::JournalConfig;
pub use error::JournalError;
pub use lane_state::{record_cost, RECORD_OVERHEAD_BYTES};
pub use reader::JournalReader;
pub use record::{ClassCounts, Entry, Lane, NewRecord, RecordClass};
pub use schema::FILE_NAME;
pub use stats::{JournalStats, LaneStats, OutputLaneStats, OutputStats};
pub use writer::AppendOutcome;

use acks::AckBook;
use tail::Tail;
use writer::Writer;

/// A handle on the journal of one data directory.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    writer: Mutex<Writer>,
    /// Newest committed entries, for readers keeping up (lock order:
    /// writer, then tail).
    tail: Mutex<Tail>,
    /// Cursor acks not yet written (see `acks`).
    acks: AckBook,
    /// The last append dropped records to stay within the size bound.
    dropping: std::sync::atomic::AtomicBool,
    changes: watch::Sender<u64>,
}

impl Journal {
    /// Opens or creates the journal in `dir` and registers `outputs` (a new
    /// output starts at the current end; cursors of outputs no longer
    /// listed are forgotten, and GC waits only for the listed ones).
    pub fn open(
        dir: &Path,
        cfg: &JournalConfig,
        outputs: &[&str],
    ) -> Result<Journal, JournalError> {
        let writer = Writer::load(schema::open_writer(dir)?, cfg.max_bytes, outputs)?;
        let tail = Tail::new(&writer.lanes());
        let acks = AckBook::new(outputs, &writer.lanes());
        Ok(Journal {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                writer: Mutex::new(writer),
                tail: Mutex::new(tail),
                acks,
                dropping: std::sync::atomic::AtomicBool::new(false),
                changes: watch::Sender::new(0),
            }),
        })
    }

    /// Opens an existing journal for statistics only, e.g. while a daemon
    /// has it open for writing. Never creates or changes anything.
    pub fn open_read_only(dir: &Path) -> Result<ReadOnlyJournal, JournalError> {
        Ok(ReadOnlyJournal {
            conn: schema::open_reader(dir)?,
            dir: dir.to_owned(),
        })
    }

    /// Commits `records` in one transaction, durable when this returns,
    /// with every pending cursor ack. Batch many records per call (group
    /// commit): each call costs one fsync. Wakes every
    /// [`Journal::changes`] receiver.
    pub fn append(&self, records: &[NewRecord]) -> Result<AppendOutcome, JournalError> {
        let mut writer = self.writer()?;
        let before = writer.lanes();
        let acks = self.inner.acks.take()?;
        let outcome = match writer.append(records, (&acks.0, &acks.1), now_ms()) {
            Ok(outcome) => outcome,
            Err(e) => {
                self.inner.acks.restore(acks)?;
                return Err(e);
            }
        };
        self.inner.acks.committed(&writer.lanes())?;
        self.inner.dropping.store(
            outcome.dropped.total() > 0,
            std::sync::atomic::Ordering::Release,
        );
        self.tail()?.committed(&before, records, &writer.lanes());
        drop(writer);
        if outcome.appended > 0 {
            self.inner.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(outcome)
    }

    /// A reader for `output`, which must have been registered at open.
    pub fn reader(&self, output: &str) -> Result<JournalReader, JournalError> {
        let stored = self
            .writer()?
            .cursor(output)
            .ok_or_else(|| JournalError::UnknownOutput(output.to_owned()))?;
        let acked = self.inner.acks.merged(output, stored)?;
        Ok(JournalReader::new(
            schema::open_reader(&self.inner.dir)?,
            self.clone(),
            output,
            acked,
        ))
    }

    pub fn stats(&self) -> Result<JournalStats, JournalError> {
        let writer = self.writer()?;
        stats::read(writer.connection(), &self.inner.dir, now_ms())
    }

    /// A counter bumped after every append that committed records.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Makes every earlier commit, cursor acks included, durable against
    /// power loss. Forwarders call it when they stop.
    pub fn sync(&self) -> Result<(), JournalError> {
        self.with_pending_acks(|writer, (acks, undropped)| writer.sync(acks, undropped))
    }

    /// Writes the pending cursor acks now (no fsync) and collects what
    /// every output has delivered. Appends do this anyway; outputs call it
    /// when the journal has been quiet for a moment.
    pub fn persist_acks(&self) -> Result<(), JournalError> {
        if self.inner.acks.is_empty() {
            return Ok(());
        }
        self.with_pending_acks(|writer, (acks, undropped)| writer.persist_acks(acks, undropped))
    }

    /// Whether the last append dropped undelivered records to stay within
    /// the size bound. Outputs then write each ack before reading on, so
    /// that at most one batch per output is in flight across a drop and
    /// the drop counts stay exact.
    pub fn is_dropping(&self) -> bool {
        self.inner
            .dropping
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// `None` when no cursor ack is pending, else how long until the
    /// pending ones are due for [`Journal::persist_acks`] (zero: now).
    pub fn acks_due_in(&self) -> Option<std::time::Duration> {
        self.inner.acks.due_in()
    }

    /// Records an ack covering `entries` more entries, to be written with
    /// the next transaction.
    fn defer_ack(
        &self,
        output: &str,
        lane: Lane,
        upto_pos: u64,
        entries: u64,
    ) -> Result<(), JournalError> {
        self.inner.acks.record(output, lane, upto_pos, entries)
    }

    /// Records an ack and writes it (with any other pending one) now.
    fn ack(&self, output: &str, lane: Lane, upto_pos: u64) -> Result<(), JournalError> {
        self.defer_ack(output, lane, upto_pos, 0)?;
        self.persist_acks()
    }

    /// Runs `write` with the pending acks taken; gives them back if it
    /// fails, and trims the in-memory tail to what the file still holds.
    fn with_pending_acks(
        &self,
        write: impl FnOnce(
            &mut Writer,
            (&writer::PendingAcks, &writer::Undropped),
        ) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut writer = self.writer()?;
        let pending = self.inner.acks.take()?;
        if let Err(e) = write(&mut writer, (&pending.0, &pending.1)) {
            self.inner.acks.restore(pending)?;
            return Err(e);
        }
        self.inner.acks.committed(&writer.lanes())?;
        self.tail()?.trim(&writer.lanes());
        Ok(())
    }

    /// Records that `output` delivered `batch` and acknowledges it, to be
    /// written with the next transaction; entries of it the size bound had
    /// dropped meanwhile are taken off its drop count.
    fn record_delivery(
        &self,
        output: &str,
        batch: &[Entry],
        entries: u64,
    ) -> Result<(), JournalError> {
        self.inner.acks.record_delivery(output, batch, entries)
    }

    /// Up to `max` committed entries of `lane` after `after`, from memory,
    /// or `None` when memory does not hold all of them.
    fn cached_after(&self, lane: Lane, after: u64, max: usize) -> Option<Vec<Entry>> {
        self.tail().ok()?.after(lane, after, max)
    }

    fn writer(&self) -> Result<MutexGuard<'_, Writer>, JournalError> {
        self.inner.writer.lock().map_err(|_| JournalError::Poisoned)
    }

    fn tail(&self) -> Result<MutexGuard<'_, Tail>, JournalError> {
        self.inner.tail.lock().map_err(|_| JournalError::Poisoned)
    }
}

/// A read-only view of a journal, for inspection while a daemon runs.
pub struct ReadOnlyJournal {
    conn: Connection,
    dir: PathBuf,
}

impl ReadOnlyJournal {
    pub fn stats(&self) -> Result<JournalStats, JournalError> {
        stats::read(&self.conn, &self.dir, now_ms())
    }
}

/// Wall-clock milliseconds since the Unix epoch (commit times).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
