//! When each slave is polled next, and the dead-slave policy.
//!
//! A live slave is due every `poll_interval`, counted from when it was due
//! (not from when its poll ended), so a bus kept busy for a moment catches
//! up instead of drifting; a slave more than one interval late skips the
//! polls it missed. After `dead_after` consecutive polls without an answer
//! a slave is dead: it is polled at a backoff rate (capped) so the others
//! keep their rates, and is alive again at its first answer.
//!
//! Pure bookkeeping on instants given by the caller; no I/O.

use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::Backoff;

/// First pause between polls of a dead slave.
const DEAD_BACKOFF_FIRST: Duration = Duration::from_secs(1);

/// One slave's schedule and health.
#[derive(Debug)]
pub struct Schedule {
    interval: Duration,
    dead_after: u32,
    next_due: Instant,
    silent_polls: u32,
    backoff: Backoff,
}

/// How a poll ended, for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// The slave just crossed `dead_after` silent polls.
    Died,
    /// A dead slave answered.
    Revived,
}

impl Schedule {
    pub fn new(
        interval: Duration,
        dead_after: u32,
        dead_backoff_max: Duration,
        now: Instant,
    ) -> Self {
        Self {
            interval,
            dead_after,
            next_due: now,
            silent_polls: 0,
            backoff: Backoff::new(DEAD_BACKOFF_FIRST.min(dead_backoff_max), dead_backoff_max),
        }
    }

    pub fn next_due(&self) -> Instant {
        self.next_due
    }

    pub fn is_dead(&self) -> bool {
        self.silent_polls >= self.dead_after
    }

    /// Books a poll that ended at `now`; `answered` when the slave said
    /// anything decodable (values or an exception).
    pub fn polled(&mut self, answered: bool, now: Instant) -> Change {
        let was_dead = self.is_dead();
        if answered {
            self.silent_polls = 0;
            self.backoff.reset();
        } else {
            self.silent_polls = self.silent_polls.saturating_add(1);
        }
        if self.is_dead() {
            self.next_due = now + self.backoff.next_delay(None);
        } else {
            self.next_due += self.interval;
            if self.next_due + self.interval < now {
                self.next_due = now;
            }
        }
        match (was_dead, self.is_dead()) {
            (false, true) => Change::Died,
            (true, false) => Change::Revived,
            _ => Change::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_its_rate_dies_backs_off_and_revives() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Schedule::new(ms(100), 3, Duration::from_secs(8), t0);
        assert_eq!(s.polled(true, t0 + ms(30)), Change::None);
        assert_eq!(s.next_due(), t0 + ms(100), "counted from when it was due");
        assert_eq!(s.polled(true, t0 + ms(450)), Change::None);
        assert_eq!(
            s.next_due(),
            t0 + ms(450),
            "far behind: skips what it missed"
        );
        assert_eq!(s.polled(false, t0 + ms(500)), Change::None);
        assert_eq!(s.polled(false, t0 + ms(600)), Change::None);
        assert_eq!(s.polled(false, t0 + ms(700)), Change::Died);
        assert!(s.is_dead());
        assert!(s.next_due() >= t0 + ms(1200), "backs off");
        assert_eq!(s.polled(false, t0 + ms(2000)), Change::None);
        assert_eq!(s.polled(true, t0 + ms(5000)), Change::Revived);
        assert_eq!(s.next_due(), t0 + ms(5000));
    }
}
