//! Rain accounting from the gauge's cumulative tip count: total millimetres
//! since start (`rain_mm_total`), millimetres over the last hour
//! (`rain_mm_h`, 60 one-minute buckets) and the time of the last tip.
//!
//! Differences are taken with wrapping arithmetic; a jump larger than
//! [`MAX_TIPS_PER_SAMPLE`] is a counter reset (gauge restarted), which
//! re-bases the count instead of inventing a cloudburst.

use crate::error::ConfigError;
use crate::signal::BucketWindow;

/// More tips than this between two samples is a counter reset.
pub const MAX_TIPS_PER_SAMPLE: u32 = 1_000;
const MINUTE_MS: u64 = 60_000;

/// The accumulator.
#[derive(Debug, Clone)]
pub struct RainAccumulator {
    mm_per_tip: f32,
    last_count: u32,
    total_tips: u32,
    last_hour: BucketWindow<60>,
    last_tip_ms: Option<u64>,
}

impl RainAccumulator {
    pub fn new(mm_per_tip: f32) -> Result<Self, ConfigError> {
        ConfigError::check(
            mm_per_tip.is_finite() && mm_per_tip > 0.0,
            "rain.mm_per_tip",
            "must be a positive number",
        )?;
        Ok(Self {
            mm_per_tip,
            last_count: 0,
            total_tips: 0,
            last_hour: BucketWindow::new(MINUTE_MS),
            last_tip_ms: None,
        })
    }

    /// Feeds the gauge's cumulative count.
    pub fn update(&mut self, count: u32, now_ms: u64) {
        let new_tips = count.wrapping_sub(self.last_count);
        self.last_count = count;
        if new_tips == 0 || new_tips > MAX_TIPS_PER_SAMPLE {
            return;
        }
        self.total_tips = self.total_tips.wrapping_add(new_tips);
        self.last_hour.add(new_tips, now_ms);
        self.last_tip_ms = Some(now_ms);
    }

    pub fn mm_total(&self) -> f32 {
        self.total_tips as f32 * self.mm_per_tip
    }

    pub fn mm_last_hour(&mut self, now_ms: u64) -> f32 {
        self.last_hour.sum(now_ms) as f32 * self.mm_per_tip
    }

    pub fn last_tip_ms(&self) -> Option<u64> {
        self.last_tip_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_hourly_rate() {
        let mut rain = RainAccumulator::new(0.2).unwrap();
        rain.update(0, 0);
        rain.update(5, 60_000);
        rain.update(10, 30 * 60_000);
        assert!((rain.mm_total() - 2.0).abs() < 1e-6);
        assert!((rain.mm_last_hour(30 * 60_000) - 2.0).abs() < 1e-6);
        // The first five tips leave the hour after their minute ends.
        assert!((rain.mm_last_hour(61 * 60_000) - 1.0).abs() < 1e-6);
        assert_eq!(rain.last_tip_ms(), Some(30 * 60_000));
    }

    #[test]
    fn a_counter_reset_is_not_rain() {
        let mut rain = RainAccumulator::new(0.2).unwrap();
        rain.update(500, 0);
        rain.update(3, 1_000);
        assert!((rain.mm_total() - 100.0).abs() < 1e-3);
        rain.update(4, 2_000);
        assert!((rain.mm_total() - 100.2).abs() < 1e-3);
    }

    #[test]
    fn wraps_at_u32_max() {
        let mut rain = RainAccumulator::new(1.0).unwrap();
        // A first count this large is a re-base, not rain.
        rain.update(u32::MAX - 1, 0);
        assert_eq!(rain.mm_total(), 0.0);
        rain.update(1, 1_000);
        assert_eq!(rain.mm_total(), 3.0);
    }
}
