//! The readings the links accepted, on their way to presence and the
//! gateway-side rules (`AcceptedReadings`): a link hands over each reading
//! it accepted (moved, never copied) and the presence task takes them all
//! at once, so a burst of readings costs the task one wake-up, not one per
//! reading.
//!
//! Bounded: past [`CAPACITY`] waiting readings (the task cannot keep up,
//! which a working gateway never sees: links wait for the same intake the
//! task does) a reading is left out of presence and the rules, counted and
//! warned about; it is still recorded. It never blocks a link.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use retrofit_protocols::reading::Reading;
use tokio::sync::Notify;

/// Most readings waiting for the presence task.
pub const CAPACITY: usize = 65_536;

/// Accepted readings waiting for the presence task.
#[derive(Default)]
pub struct AcceptedReadings {
    waiting: Mutex<Vec<Reading>>,
    ready: Notify,
    left_out: AtomicU64,
}

impl AcceptedReadings {
    /// Hands `reading` over; wakes the task only when it was waiting for
    /// nothing.
    pub fn push(&self, reading: Reading) {
        let Ok(mut waiting) = self.waiting.lock() else {
            return;
        };
        if waiting.len() >= CAPACITY {
            drop(waiting);
            if self.left_out.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(
                    capacity = CAPACITY,
                    "presence and rules cannot keep up: accepted readings left out of them"
                );
            }
            return;
        }
        let first = waiting.is_empty();
        waiting.push(reading);
        drop(waiting);
        if first {
            self.ready.notify_one();
        }
    }

    /// Waits until readings are waiting, then takes them all, oldest first.
    pub async fn take(&self) -> Vec<Reading> {
        loop {
            let taken = match self.waiting.lock() {
                Ok(mut waiting) => std::mem::take(&mut *waiting),
                Err(_) => Vec::new(),
            };
            if !taken.is_empty() {
                return taken;
            }
            self.ready.notified().await;
        }
    }

    /// Readings left out of presence and the rules so far.
    pub fn left_out(&self) -> u64 {
        self.left_out.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrofit_protocols::reading::{Body, BoundedText, StatusBody};
    use retrofit_protocols::{DeviceKind, Id, Presence, Source, Timestamp};

    fn reading(seq: u64) -> Reading {
        Reading {
            site: Id::parse("s").unwrap(),
            device: Id::parse("d").unwrap(),
            kind: DeviceKind::Parking,
            source: Source::Lorawan,
            ts: Timestamp(0),
            seq,
            connector: None,
            body: Body::Status(StatusBody {
                status: Presence::Online,
                since: Timestamp(0),
                last_seen: None,
                reason: BoundedText::lossy(""),
            }),
        }
    }

    #[tokio::test]
    async fn a_burst_is_taken_at_once_in_order_and_a_full_queue_counts_what_it_leaves_out() {
        let queue = AcceptedReadings::default();
        for seq in 0..3 {
            queue.push(reading(seq));
        }
        let taken: Vec<u64> = queue.take().await.iter().map(|r| r.seq).collect();
        assert_eq!(taken, [0, 1, 2]);
        for seq in 0..CAPACITY as u64 + 2 {
            queue.push(reading(seq));
        }
        assert_eq!(queue.left_out(), 2);
        assert_eq!(queue.take().await.len(), CAPACITY);
    }

    #[tokio::test]
    async fn take_waits_for_a_push() {
        let queue = std::sync::Arc::new(AcceptedReadings::default());
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.take().await.len() }
        });
        tokio::task::yield_now().await;
        queue.push(reading(7));
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1);
    }
}
