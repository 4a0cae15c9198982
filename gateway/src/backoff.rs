//! Retry pacing shared by every reconnecting or retrying component (links,
//! outputs): exponential growth with jitter, capped, honouring a delay the
//! peer asked for. Never sleeps itself; callers decide how to wait.

use std::time::Duration;

/// Exponential backoff with "equal jitter", capped.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            failures: 0,
        }
    }

    /// The pause before the next attempt: the output's `after` if given,
    /// else `initial * 2^failures` with "equal jitter" (between half and
    /// all of it); capped at `max` either way.
    pub fn next_delay(&mut self, after: Option<Duration>) -> Duration {
        let exponential = self
            .initial
            .saturating_mul(1 << self.failures.min(20))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        let delay = after.unwrap_or_else(|| {
            let half = exponential / 2;
            half + half.mul_f64(fastrand::f64())
        });
        delay.min(self.max)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 10 s: reconnecting to a local peer.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let delays: Vec<_> = (0..8).map(|_| backoff.next_delay(None)).collect();
        for (i, d) in delays.iter().enumerate() {
            let full = (Duration::from_millis(100) * (1 << i)).min(Duration::from_secs(2));
            assert!(
                *d >= full / 2 && *d <= full,
                "attempt {i}: {d:?} outside [{:?}, {full:?}]",
                full / 2
            );
        }
        assert!(delays[7] >= Duration::from_secs(1));
        backoff.reset();
        assert!(backoff.next_delay(None) <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_honours_after_up_to_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        assert_eq!(
            backoff.next_delay(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            backoff.next_delay(Some(Duration::from_secs(300))),
            Duration::from_secs(30)
        );
    }
}
