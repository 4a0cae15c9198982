//! The intake's group-commit window: how long the journal writer lets a
//! batch gather after its first submission before it commits.
//!
//! Every commit costs an fsync, and everything downstream (the sources'
//! acknowledgements, each output's wake-up, write and store request) runs
//! once per commit, so CPU per reading falls with the batch size. Measured
//! end to end (docs/BENCHMARKS.md), committing whatever was queued gave
//! batches of about four readings at 2,000/s. The window therefore opens
//! only when readings arrive fast enough to fill it, and never beyond
//! [`MAX_WINDOW`]: a lone reading at a quiet moment is committed at once.
//! It only decides a wait; it never drops, reorders or delays an
//! acknowledgement past its commit.

use std::time::{Duration, Instant};

/// The longest a reading waits for others to share its commit.
pub const MAX_WINDOW: Duration = Duration::from_millis(4);
/// Below this arrival rate (records per second) commits go at once: fewer
/// than two readings would share a window.
pub const MIN_RATE: f64 = 500.0;
/// Weight of the newest batch in the rate estimate.
const SMOOTHING: f64 = 0.3;
/// A gap this long means quiet: the estimate starts afresh.
const QUIET: Duration = Duration::from_secs(1);

/// The recent arrival rate and the window it calls for.
#[derive(Debug, Default)]
pub struct CommitWindow {
    /// Records per second, smoothed.
    rate: f64,
    last: Option<Instant>,
}

impl CommitWindow {
    /// How long to let the next batch gather.
    pub fn next(&self) -> Duration {
        if self.rate >= MIN_RATE {
            MAX_WINDOW
        } else {
            Duration::ZERO
        }
    }

    /// A batch of `records` was gathered at `now`.
    pub fn observe(&mut self, records: usize, now: Instant) {
        let since = self.last.map(|last| now.saturating_duration_since(last));
        self.last = Some(now);
        let Some(since) = since.filter(|s| *s < QUIET) else {
            self.rate = 0.0;
            return;
        };
        let rate = records as f64 / since.as_secs_f64().max(1e-4);
        self.rate = SMOOTHING * rate + (1.0 - SMOOTHING) * self.rate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(window: &mut CommitWindow, start: Instant, every: Duration, records: usize, n: u32) {
        for k in 1..=n {
            window.observe(records, start + every * k);
        }
    }

    #[test]
    fn a_quiet_source_is_committed_at_once() {
        let mut window = CommitWindow::default();
        let start = Instant::now();
        assert_eq!(window.next(), Duration::ZERO);
        // One reading every 10 ms: 100/s.
        feed(&mut window, start, Duration::from_millis(10), 1, 50);
        assert_eq!(window.next(), Duration::ZERO);
    }

    #[test]
    fn a_busy_source_gets_the_window_and_loses_it_when_quiet() {
        let mut window = CommitWindow::default();
        let start = Instant::now();
        // Ten readings every 4 ms: 2,500/s.
        feed(&mut window, start, Duration::from_millis(4), 10, 50);
        assert_eq!(window.next(), MAX_WINDOW);
        // Then a pause: the next reading goes at once.
        window.observe(1, start + Duration::from_secs(5));
        assert_eq!(window.next(), Duration::ZERO);
    }
}
