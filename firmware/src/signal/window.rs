//! A rolling sum over fixed time buckets (rain in the last hour), in
//! constant memory. Old buckets are zeroed as time advances; a clock that
//! goes backwards is treated as "no time passed", never as a panic.

/// Counts per `bucket_ms` slot over the last `N` slots.
#[derive(Debug, Clone)]
pub struct BucketWindow<const N: usize> {
    buckets: [u32; N],
    bucket_ms: u64,
    newest: Option<u64>,
}

impl<const N: usize> BucketWindow<N> {
    /// `bucket_ms` must be non-zero (checked by the owner's config).
    pub const fn new(bucket_ms: u64) -> Self {
        const { assert!(N > 0, "a window needs at least one bucket") };
        Self {
            buckets: [0; N],
            bucket_ms,
            newest: None,
        }
    }

    /// Adds `count` at `now_ms`.
    pub fn add(&mut self, count: u32, now_ms: u64) {
        let slot = self.advance(now_ms);
        self.buckets[slot] = self.buckets[slot].saturating_add(count);
    }

    /// Sum over the window ending at `now_ms`.
    pub fn sum(&mut self, now_ms: u64) -> u32 {
        self.advance(now_ms);
        self.buckets.iter().fold(0u32, |a, b| a.saturating_add(*b))
    }

    /// Zeroes buckets that fell out of the window; returns the current slot.
    fn advance(&mut self, now_ms: u64) -> usize {
        let index = now_ms / self.bucket_ms.max(1);
        let newest = self.newest.unwrap_or(index);
        let current = index.max(newest);
        let stale = (current - newest).min(N as u64);
        for step in 1..=stale {
            self.buckets[((newest + step) % N as u64) as usize] = 0;
        }
        self.newest = Some(current);
        (current % N as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_the_window_after_n_buckets() {
        let mut w = BucketWindow::<4>::new(1000);
        w.add(2, 0);
        w.add(3, 1500);
        assert_eq!(w.sum(3999), 5);
        assert_eq!(w.sum(4000), 3);
        assert_eq!(w.sum(5000), 0);
    }

    #[test]
    fn a_long_gap_clears_everything() {
        let mut w = BucketWindow::<4>::new(1000);
        w.add(7, 0);
        assert_eq!(w.sum(1_000_000), 0);
        w.add(1, 1_000_500);
        assert_eq!(w.sum(1_000_900), 1);
    }

    #[test]
    fn a_clock_going_backwards_adds_to_the_newest_bucket() {
        let mut w = BucketWindow::<4>::new(1000);
        w.add(1, 5000);
        w.add(1, 1000);
        assert_eq!(w.sum(5000), 2);
    }
}
