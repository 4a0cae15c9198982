//! Filters for noisy readings: a running median over the last `N` samples
//! (rejects spikes such as ultrasonic echoes off debris) and an exponential
//! moving average. Neither ever accepts a non-finite sample.

use heapless::Deque;

/// Running median of the last `N` finite samples.
#[derive(Debug, Clone)]
pub struct Median<const N: usize> {
    samples: Deque<f32, N>,
}

impl<const N: usize> Default for Median<N> {
    fn default() -> Self {
        Self {
            samples: Deque::new(),
        }
    }
}

impl<const N: usize> Median<N> {
    /// Adds `x` (ignored unless finite); returns the median so far.
    pub fn update(&mut self, x: f32) -> Option<f32> {
        if x.is_finite() {
            super::push_evicting(&mut self.samples, x);
        }
        self.median()
    }

    fn median(&self) -> Option<f32> {
        let mut sorted = [0.0f32; N];
        let len = self.samples.len();
        for (slot, x) in sorted.iter_mut().zip(self.samples.iter()) {
            *slot = *x;
        }
        let sorted = &mut sorted[..len];
        sorted.sort_unstable_by(f32::total_cmp);
        match len {
            0 => None,
            n if n % 2 == 1 => Some(sorted[n / 2]),
            n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
        }
    }
}

/// Exponential moving average with a fixed smoothing factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ema {
    alpha: f32,
    value: Option<f32>,
}

impl Ema {
    /// `alpha` in (0, 1]: the weight of each new sample.
    pub const fn new(alpha: f32) -> Self {
        Self { alpha, value: None }
    }

    /// Adds `x` (ignored unless finite); returns the average so far.
    pub fn update(&mut self, x: f32) -> Option<f32> {
        if x.is_finite() {
            let next = match self.value {
                None => x,
                Some(v) => v + self.alpha * (x - v),
            };
            self.value = Some(next);
        }
        self.value
    }

    pub fn value(&self) -> Option<f32> {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_rejects_a_single_spike() {
        let mut m = Median::<5>::default();
        for x in [1.0, 1.1, 0.9, 1.0] {
            m.update(x);
        }
        assert_eq!(m.update(9.0), Some(1.0));
        assert_eq!(m.update(f32::NAN), Some(1.0));
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_pair() {
        let mut m = Median::<4>::default();
        assert_eq!(m.update(1.0), Some(1.0));
        assert_eq!(m.update(3.0), Some(2.0));
        assert_eq!(Median::<3>::default().median(), None);
    }

    #[test]
    fn ema_moves_by_alpha_and_skips_non_finite() {
        let mut e = Ema::new(0.5);
        assert_eq!(e.update(2.0), Some(2.0));
        assert_eq!(e.update(4.0), Some(3.0));
        assert_eq!(e.update(f32::INFINITY), Some(3.0));
    }
}
