//! The journal's in-memory tail: the newest committed entries of each
//! lane, kept after their commit so that outputs keeping up with the live
//! stream take them from memory instead of reading back from disk what was
//! just written.
//!
//! The file stays the source of truth: the tail only ever holds copies of
//! committed entries, is bounded in bytes per lane, and answers a read
//! only when it holds every live entry the reader asks for; otherwise the
//! reader goes to SQLite. It must never answer with a gap.

use std::collections::VecDeque;

use crate::journal::lane_state::{record_cost, LaneState};
use crate::journal::{Entry, Lane, NewRecord};

/// Accounted bytes kept per lane (payload plus per-record overhead).
pub const TAIL_BYTES_PER_LANE: u64 = 2 << 20;

/// The cached tail of both lanes.
#[derive(Debug)]
pub struct Tail {
    lanes: [TailLane; 2],
}

#[derive(Debug)]
struct TailLane {
    entries: VecDeque<Entry>,
    bytes: u64,
    /// Every live entry at or after this position is in `entries`.
    covers_from: u64,
}

impl Tail {
    /// An empty tail over lanes whose next positions are given: it covers
    /// what is appended from now on.
    pub fn new(lanes: &[LaneState; 2]) -> Self {
        let lane = |s: &LaneState| TailLane {
            entries: VecDeque::new(),
            bytes: 0,
            covers_from: s.next_pos,
        };
        Self {
            lanes: [lane(&lanes[0]), lane(&lanes[1])],
        }
    }

    /// Adds just-committed `records`, which took positions from `before`'s
    /// `next_pos` on in their lanes, then forgets what the file no longer
    /// holds (`after`'s `first_pos`) and what exceeds the byte bound.
    pub fn committed(
        &mut self,
        before: &[LaneState; 2],
        records: &[NewRecord],
        after: &[LaneState; 2],
    ) {
        let mut next = [before[0].next_pos, before[1].next_pos];
        for record in records {
            let lane = record.class.lane();
            let i = lane.index();
            self.lanes[i].push(Entry::new(
                lane,
                next[i],
                record.class,
                record.payload.clone(),
            ));
            next[i] += 1;
        }
        self.trim(after);
    }

    /// Forgets entries the file no longer holds (delivered and collected,
    /// or dropped by the size bound).
    pub fn trim(&mut self, lanes: &[LaneState; 2]) {
        for (tail, state) in self.lanes.iter_mut().zip(lanes) {
            tail.forget_before(state.first_pos);
        }
    }

    /// Up to `max` entries of `lane` after position `after`, or `None` when
    /// the tail does not hold all of them (read the file instead).
    pub fn after(&self, lane: Lane, after: u64, max: usize) -> Option<Vec<Entry>> {
        let tail = &self.lanes[lane.index()];
        if after.saturating_add(1) < tail.covers_from {
            return None;
        }
        let start = tail.entries.partition_point(|e| e.pos <= after);
        Some(tail.entries.range(start..).take(max).cloned().collect())
    }
}

impl TailLane {
    fn push(&mut self, entry: Entry) {
        self.bytes += record_cost(entry.payload.len() as u64);
        self.entries.push_back(entry);
        while self.bytes > TAIL_BYTES_PER_LANE {
            // Still live in the file: the tail no longer covers it.
            if let Some(e) = self.pop_front() {
                self.covers_from = self.covers_from.max(e.pos + 1);
            }
        }
    }

    /// Entries before `first_live` left the file: the tail still covers
    /// every live entry from where it did.
    fn forget_before(&mut self, first_live: u64) {
        while self.entries.front().is_some_and(|e| e.pos < first_live) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) -> Option<Entry> {
        let e = self.entries.pop_front()?;
        self.bytes -= record_cost(e.payload.len() as u64);
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RecordClass;

    fn state(first_pos: u64, next_pos: u64) -> LaneState {
        LaneState {
            first_pos,
            next_pos,
            live_bytes: 0,
        }
    }

    fn telemetry(n: usize, len: usize) -> Vec<NewRecord> {
        (0..n)
            .map(|_| NewRecord {
                class: RecordClass::Telemetry,
                payload: vec![b'x'; len],
            })
            .collect()
    }

    #[test]
    fn serves_what_was_committed_since_it_was_made() {
        let before = [state(1, 1), state(5, 10)];
        let mut tail = Tail::new(&before);
        tail.committed(&before, &telemetry(3, 10), &[state(1, 1), state(5, 13)]);
        let got = tail.after(Lane::Bulk, 9, 10).unwrap();
        assert_eq!(got.iter().map(|e| e.pos).collect::<Vec<_>>(), [10, 11, 12]);
        assert_eq!(tail.after(Lane::Bulk, 10, 1).unwrap()[0].pos, 11);
        assert!(tail.after(Lane::Bulk, 12, 10).unwrap().is_empty());
        // Older entries were never cached: the file must answer.
        assert!(tail.after(Lane::Bulk, 8, 10).is_none());
        assert!(tail.after(Lane::Urgent, 0, 10).unwrap().is_empty());
    }

    #[test]
    fn the_byte_bound_moves_what_it_covers() {
        let before = [state(1, 1), state(1, 1)];
        let mut tail = Tail::new(&before);
        let len = 1 << 19;
        tail.committed(&before, &telemetry(6, len), &[state(1, 1), state(1, 7)]);
        let cached = tail.after(Lane::Bulk, 6, 10).unwrap();
        assert!(cached.is_empty());
        let first = tail.lanes[1].entries.front().unwrap().pos;
        assert!(first > 1 && tail.lanes[1].bytes <= TAIL_BYTES_PER_LANE);
        assert!(tail.after(Lane::Bulk, first - 2, 10).is_none());
        assert_eq!(tail.after(Lane::Bulk, first - 1, 1).unwrap()[0].pos, first);
    }

    #[test]
    fn trimmed_entries_are_not_served_again() {
        let before = [state(1, 1), state(1, 1)];
        let mut tail = Tail::new(&before);
        tail.committed(&before, &telemetry(4, 10), &[state(1, 1), state(1, 5)]);
        tail.trim(&[state(1, 1), state(3, 5)]);
        let got = tail.after(Lane::Bulk, 0, 10).unwrap();
        assert_eq!(got.iter().map(|e| e.pos).collect::<Vec<_>>(), [3, 4]);
    }
}
