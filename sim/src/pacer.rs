//! Message pacing for load generation: a token bucket on an absolute
//! schedule. Message `n` is due at `start + n / rate`, so rounding never
//! accumulates over long runs; a sender that falls behind may catch up by
//! at most `burst` messages, never by an unbounded flood. Pure arithmetic
//! on instants the caller supplies: this module never sleeps.

use std::time::{Duration, Instant};

/// Releases messages at a fixed rate.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    rate: f64,
    burst: u64,
    released: u64,
}

impl Pacer {
    /// `rate` messages per second (must be positive and finite); `burst`
    /// is how many late messages may go back to back.
    pub fn new(start: Instant, rate: f64, burst: u64) -> Self {
        Self {
            start,
            rate,
            burst: burst.max(1),
            released: 0,
        }
    }

    fn due(&self, n: u64) -> Instant {
        self.start + Duration::from_secs_f64(n as f64 / self.rate)
    }

    /// When the next message may go (at or before `now` means at once);
    /// counts it as released.
    pub fn next_due(&mut self, now: Instant) -> Instant {
        let due = self.due(self.released);
        let late_limit = Duration::from_secs_f64(self.burst as f64 / self.rate);
        if now > due + late_limit {
            // Too far behind: forget the missed slots beyond the burst.
            self.start += now - due - late_limit;
        }
        let due = self.due(self.released);
        self.released += 1;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_messages_evenly_without_drift() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0, 1000.0, 10);
        let mut last = t0;
        for _ in 0..1_000_000 {
            last = pacer.next_due(last);
        }
        // The millionth message is due 999.999 s in, to the microsecond.
        let expected = Duration::from_micros(999_999_000);
        let got = last - t0;
        let error = got.abs_diff(expected);
        assert!(error < Duration::from_micros(1), "{got:?}");
    }

    #[test]
    fn a_late_sender_catches_up_by_at_most_the_burst() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0, 100.0, 5);
        let late = t0 + Duration::from_secs(10);
        let dues: Vec<Instant> = (0..7).map(|_| pacer.next_due(late)).collect();
        let immediate = dues.iter().filter(|d| **d <= late).count();
        assert_eq!(immediate, 6, "the due one plus five of burst");
        let wait = dues[6] - late;
        assert!(wait.abs_diff(Duration::from_millis(10)) < Duration::from_micros(1));
    }

    #[test]
    fn an_early_sender_waits_for_the_slot() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0, 4.0, 1);
        assert_eq!(pacer.next_due(t0), t0);
        assert_eq!(pacer.next_due(t0), t0 + Duration::from_millis(250));
        assert_eq!(pacer.next_due(t0), t0 + Duration::from_millis(500));
    }
}
