//! Wall-clock time and the gateway's own reading sequence.
//!
//! The gateway's own readings (its status, its events) need a per-device
//! `seq` that stays unique across restarts without storing a counter: it is
//! derived from the clock in microseconds and forced to increase.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use retrofit_protocols::Timestamp;

/// The current time.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(ms)
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Strictly increasing sequence numbers derived from the clock.
#[derive(Debug, Default)]
pub struct SeqClock {
    last: AtomicU64,
}

impl SeqClock {
    /// The time and a sequence greater than every earlier one.
    pub fn next(&self) -> (Timestamp, u64) {
        let want = now_micros();
        let prev = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(want.max(last + 1))
            })
            .unwrap_or(0);
        let seq = want.max(prev + 1);
        (Timestamp::from_millis((seq / 1000) as i64), seq)
    }

    /// What `next` would return, without consuming it.
    pub fn peek(&self) -> (Timestamp, u64) {
        let seq = now_micros().max(self.last.load(Ordering::SeqCst) + 1);
        (Timestamp::from_millis((seq / 1000) as i64), seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_strictly_increases() {
        let c = SeqClock::default();
        let mut last = 0;
        for _ in 0..10_000 {
            let (_, s) = c.next();
            assert!(s > last);
            last = s;
        }
    }
}
