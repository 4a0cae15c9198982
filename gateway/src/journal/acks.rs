//! Cursor acks recorded in memory and written with the next transaction.
//!
//! An output that delivered a batch records how far it got here, at the
//! cost of a short lock and no I/O; the writer writes every pending ack in
//! its next append (or in a cursor-only transaction when the journal is
//! quiet, or at `sync`). Pending acks are due for a write of their own
//! once they are [`WRITE_AFTER`] old or cover [`WRITE_EVERY`] entries, so
//! a backlog drain without appends still collects as it goes and a crash
//! re-delivers little. A process crash can then lose the newest acks:
//! their entries are delivered again (at least once), never lost. It
//! refuses acks for unknown outputs or past the committed head, and a
//! cursor it reports never moves back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::journal::lane_state::LaneState;
use crate::journal::writer::{PendingAcks, Undropped};
use crate::journal::{ClassCounts, Entry, JournalError, Lane, RecordClass};

/// Pending acks older than this are due for a write.
pub const WRITE_AFTER: Duration = Duration::from_millis(200);
/// Pending acks covering this many entries are due for a write (half a
/// GC step, so collection keeps up with a drain).
pub const WRITE_EVERY: u64 = 4096;

/// The pending acks of every registered output.
#[derive(Debug)]
pub struct AckBook {
    outputs: Vec<String>,
    /// Last committed position per lane: no ack may pass it.
    heads: [AtomicU64; 2],
    /// First position the file still holds per lane: a delivered entry
    /// before it was dropped while it was on its way.
    fronts: [AtomicU64; 2],
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    acks: PendingAcks,
    /// Per output, delivered entries the size bound had already dropped
    /// (and counted as that output's drops).
    undropped: Undropped,
    /// When the oldest pending ack was recorded.
    since: Option<Instant>,
    /// Entries the pending acks cover.
    entries: u64,
    /// A transaction took the acks and has not published its fronts yet:
    /// a drop it makes is not visible in the fronts.
    committing: bool,
    /// Deliveries acknowledged meanwhile, checked against the fronts that
    /// transaction publishes.
    deferred: Vec<Delivery>,
}

/// The entries of one delivered batch: output, lane, position and class.
#[derive(Debug)]
struct Delivery {
    output: String,
    lane: Lane,
    entries: Vec<(u64, RecordClass)>,
}

impl AckBook {
    pub fn new(outputs: &[&str], lanes: &[LaneState; 2]) -> Self {
        Self {
            outputs: outputs.iter().map(|o| (*o).to_owned()).collect(),
            heads: [
                AtomicU64::new(lanes[0].last_pos()),
                AtomicU64::new(lanes[1].last_pos()),
            ],
            fronts: [
                AtomicU64::new(lanes[0].first_pos),
                AtomicU64::new(lanes[1].first_pos),
            ],
            pending: Mutex::new(Pending::default()),
        }
    }

    /// Records that `output` delivered `lane` up to `upto_pos`, `entries`
    /// more than it had acknowledged before.
    pub fn record(
        &self,
        output: &str,
        lane: Lane,
        upto_pos: u64,
        entries: u64,
    ) -> Result<(), JournalError> {
        self.record_locked(&mut *self.lock()?, output, lane, upto_pos, entries)
    }

    fn record_locked(
        &self,
        pending: &mut Pending,
        output: &str,
        lane: Lane,
        upto_pos: u64,
        entries: u64,
    ) -> Result<(), JournalError> {
        if !self.is_registered(output) {
            return Err(JournalError::UnknownOutput(output.to_owned()));
        }
        let last = self.heads[lane.index()].load(Ordering::Acquire);
        if upto_pos > last {
            return Err(JournalError::AckBeyondHead {
                lane,
                pos: upto_pos,
                last,
            });
        }
        pending.since.get_or_insert_with(Instant::now);
        pending.entries += entries;
        let cursor = pending.acks.entry(output.to_owned()).or_default();
        let acked = &mut cursor[lane.index()];
        *acked = (*acked).max(upto_pos);
        Ok(())
    }

    /// `None` when nothing is pending, else how long until the pending
    /// acks are due for a write (zero: now).
    pub fn due_in(&self) -> Option<Duration> {
        let pending = self.lock().ok()?;
        let since = pending.since?;
        if pending.entries >= WRITE_EVERY {
            return Some(Duration::ZERO);
        }
        Some(WRITE_AFTER.saturating_sub(since.elapsed()))
    }

    pub fn is_registered(&self, output: &str) -> bool {
        self.outputs.iter().any(|o| o == output)
    }

    /// Records that `output` delivered `batch` (one lane, position order)
    /// and acknowledges it, `entries` more than it had acknowledged
    /// before. Entries of it the size bound dropped (and counted as its
    /// drops) while it was on its way are taken off that count with the
    /// next transaction; while a transaction is under way, whose drops the
    /// fronts do not show yet, they are checked when it ends.
    pub fn record_delivery(
        &self,
        output: &str,
        batch: &[Entry],
        entries: u64,
    ) -> Result<(), JournalError> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let delivery = Delivery {
            output: output.to_owned(),
            lane: last.lane,
            entries: batch.iter().map(|e| (e.pos, e.class)).collect(),
        };
        // One lock for the check and the ack: a transaction cannot take
        // the ack without the check having seen its drops.
        let mut pending = self.lock()?;
        self.record_locked(&mut pending, output, last.lane, last.pos, entries)?;
        if pending.committing {
            pending.deferred.push(delivery);
        } else {
            self.check(&mut pending, &delivery);
        }
        Ok(())
    }

    /// Takes `delivery`'s entries before the front off its output's drops.
    fn check(&self, pending: &mut Pending, delivery: &Delivery) {
        let front = self.front(delivery.lane);
        let mut counts = ClassCounts::default();
        for (_, class) in delivery.entries.iter().take_while(|(pos, _)| *pos < front) {
            counts.add(*class, 1);
        }
        add_undropped(pending, &delivery.output, counts);
    }

    /// The first position the file holds in `lane`, as of the last commit.
    pub fn front(&self, lane: Lane) -> u64 {
        self.fronts[lane.index()].load(Ordering::Acquire)
    }

    /// Moves the heads and fronts after a commit (call with the writer
    /// locked).
    pub fn committed(&self, lanes: &[LaneState; 2]) -> Result<(), JournalError> {
        for ((head, front), lane) in self.heads.iter().zip(&self.fronts).zip(lanes) {
            head.store(lane.last_pos(), Ordering::Release);
            front.store(lane.first_pos, Ordering::Release);
        }
        self.end_transaction(&mut *self.lock()?);
        Ok(())
    }

    /// Checks the deliveries acknowledged while a transaction was under
    /// way against the fronts as they are now.
    fn end_transaction(&self, pending: &mut Pending) {
        pending.committing = false;
        for delivery in std::mem::take(&mut pending.deferred) {
            self.check(pending, &delivery);
        }
    }

    /// Everything pending, for the writer's next transaction, which is
    /// under way until [`AckBook::committed`] or [`AckBook::restore`].
    pub fn take(&self) -> Result<(PendingAcks, Undropped), JournalError> {
        let mut pending = self.lock()?;
        pending.since = None;
        pending.entries = 0;
        pending.committing = true;
        Ok((
            std::mem::take(&mut pending.acks),
            std::mem::take(&mut pending.undropped),
        ))
    }

    /// Gives back what a failed transaction did not write.
    pub fn restore(&self, (acks, undropped): (PendingAcks, Undropped)) -> Result<(), JournalError> {
        let mut pending = self.lock()?;
        for (output, counts) in undropped {
            add_undropped(&mut pending, &output, counts);
        }
        self.end_transaction(&mut pending);
        pending.since.get_or_insert_with(Instant::now);
        for (output, acked) in acks {
            let cursor = pending.acks.entry(output).or_default();
            for (c, a) in cursor.iter_mut().zip(acked) {
                *c = (*c).max(a);
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.lock().map_or(true, |p| p.acks.is_empty())
    }

    /// `stored` moved forward by what `output` has pending.
    pub fn merged(&self, output: &str, stored: [u64; 2]) -> Result<[u64; 2], JournalError> {
        let pending = self.lock()?;
        let acked = pending.acks.get(output).copied().unwrap_or_default();
        Ok([stored[0].max(acked[0]), stored[1].max(acked[1])])
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Pending>, JournalError> {
        self.pending.lock().map_err(|_| JournalError::Poisoned)
    }
}

/// Adds to `output`'s delivered-despite-a-drop counts.
fn add_undropped(pending: &mut Pending, output: &str, delivered: ClassCounts) {
    if delivered.total() == 0 {
        return;
    }
    let counts = pending.undropped.entry(output.to_owned()).or_default();
    for class in RecordClass::ALL {
        counts.add(class, delivered.get(class));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> AckBook {
        let lane = LaneState {
            first_pos: 1,
            next_pos: 11,
            live_bytes: 0,
        };
        AckBook::new(&["mqtt", "influx"], &[lane, lane])
    }

    #[test]
    fn refuses_unknown_outputs_and_acks_past_the_head() {
        let book = book();
        assert!(matches!(
            book.record("other", Lane::Bulk, 1, 1),
            Err(JournalError::UnknownOutput(_))
        ));
        assert!(matches!(
            book.record("mqtt", Lane::Bulk, 11, 1),
            Err(JournalError::AckBeyondHead { last: 10, .. })
        ));
        assert!(book.is_empty() && book.due_in().is_none());
    }

    #[test]
    fn keeps_the_highest_ack_and_gives_back_failed_ones() {
        let book = book();
        book.record("mqtt", Lane::Bulk, 7, 7).unwrap();
        book.record("mqtt", Lane::Bulk, 5, 0).unwrap();
        assert_eq!(book.merged("mqtt", [0, 9]).unwrap(), [0, 9]);
        assert_eq!(book.merged("mqtt", [0, 2]).unwrap(), [0, 7]);
        let taken = book.take().unwrap();
        assert!(book.is_empty());
        book.restore(taken).unwrap();
        assert_eq!(book.front(Lane::Bulk), 1);
        assert_eq!(book.merged("mqtt", [0, 0]).unwrap(), [0, 7]);
    }

    #[test]
    fn pending_acks_fall_due_by_age_or_by_count() {
        let book = book();
        book.record("mqtt", Lane::Bulk, 3, 3).unwrap();
        let due = book.due_in().unwrap();
        assert!(due > Duration::ZERO && due <= WRITE_AFTER);
        book.record("influx", Lane::Bulk, 10, WRITE_EVERY).unwrap();
        assert_eq!(book.due_in(), Some(Duration::ZERO));
        book.take().unwrap();
        assert_eq!(book.due_in(), None);
    }

    fn batch(positions: std::ops::Range<u64>) -> Vec<Entry> {
        positions
            .map(|pos| Entry::new(Lane::Bulk, pos, RecordClass::Telemetry, Vec::new()))
            .collect()
    }

    fn lanes(first_pos: u64) -> [LaneState; 2] {
        let lane = LaneState {
            first_pos,
            next_pos: 11,
            live_bytes: 0,
        };
        [lane, lane]
    }

    fn undropped_telemetry(book: &AckBook, output: &str) -> u64 {
        let (_, undropped) = book.take().unwrap();
        undropped.get(output).map_or(0, |c| c.telemetry)
    }

    #[test]
    fn a_delivery_past_a_drop_is_taken_off_the_drops() {
        let book = book();
        book.committed(&lanes(4)).unwrap();
        book.record_delivery("influx", &batch(2..6), 5).unwrap();
        assert_eq!(
            undropped_telemetry(&book, "influx"),
            2,
            "2 and 3 were dropped"
        );
    }

    #[test]
    fn a_delivery_acknowledged_during_a_dropping_transaction_is_checked_after_it() {
        let book = book();
        // The transaction took the acks (not this delivery's) and drops
        // 1..=5 as influx's; the output acknowledges 2..6 meanwhile.
        let taken = book.take().unwrap();
        assert!(taken.0.is_empty());
        book.record_delivery("influx", &batch(2..6), 5).unwrap();
        book.committed(&lanes(6)).unwrap();
        assert_eq!(undropped_telemetry(&book, "influx"), 4);
        // A failed transaction publishes nothing new: checked against the
        // fronts as they were.
        let taken = book.take().unwrap();
        book.record_delivery("mqtt", &batch(5..8), 2).unwrap();
        book.restore(taken).unwrap();
        assert_eq!(undropped_telemetry(&book, "mqtt"), 1);
    }
}
