//! The `blockage_suspected` alarm: the level rises while it is not raining.
//!
//! Heuristic: a storm or sewage drain fills from rain; a rise of at least
//! `rise_m` above the lowest level of the last `window_ms`, with no rain
//! tip for `dry_ms` (long enough for the catchment's runoff to have
//! passed), suggests water backing up behind a blockage. The history holds
//! [`HISTORY_LEN`] levels sampled every `window_ms / HISTORY_LEN`; nothing
//! is raised before one full window has been observed. The alarm (major)
//! clears when the level falls back to within `rise_m / 2` of the level it
//! rose from; rain neither raises nor clears it. It is a suspicion for a
//! technician to check, not a diagnosis.

use heapless::Deque;
use retrofit_protocols::Severity;

use crate::apps::event::{AlarmLatch, EventTransition, NodeEvent};
use crate::error::ConfigError;
use crate::signal::push_evicting;

/// Levels kept over one window.
pub const HISTORY_LEN: usize = 16;

/// Heuristic thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockageConfig {
    pub rise_m: f32,
    pub window_ms: u32,
    pub dry_ms: u32,
}

impl Default for BlockageConfig {
    fn default() -> Self {
        Self {
            rise_m: 0.15,
            window_ms: 30 * 60_000,
            dry_ms: 3 * 3_600_000,
        }
    }
}

/// The detector.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockageDetector {
    config: BlockageConfig,
    history: Deque<f32, HISTORY_LEN>,
    next_sample_ms: u64,
    rose_from_m: f32,
    latch: AlarmLatch,
}

impl BlockageDetector {
    pub fn new(config: BlockageConfig) -> Result<Self, ConfigError> {
        ConfigError::check(
            config.rise_m.is_finite() && config.rise_m > 0.0,
            "blockage.rise_m",
            "must be a positive number",
        )?;
        ConfigError::check(
            config.window_ms as usize >= HISTORY_LEN,
            "blockage.window_ms",
            "too short",
        )?;
        Ok(Self {
            config,
            history: Deque::new(),
            next_sample_ms: 0,
            rose_from_m: 0.0,
            latch: AlarmLatch::new(NodeEvent::BlockageSuspected),
        })
    }

    /// Feeds the filtered level and the time of the last rain tip.
    pub fn update(
        &mut self,
        level_m: f32,
        last_rain_ms: Option<u64>,
        now_ms: u64,
    ) -> Option<EventTransition> {
        self.record(level_m, now_ms);
        if self.latch.is_active() {
            return if level_m <= self.rose_from_m + self.config.rise_m / 2.0 {
                self.latch.clear()
            } else {
                None
            };
        }
        let dry =
            last_rain_ms.is_none_or(|t| now_ms.saturating_sub(t) >= u64::from(self.config.dry_ms));
        let lowest = self.history.iter().copied().fold(f32::INFINITY, f32::min);
        if dry && self.history.is_full() && level_m - lowest >= self.config.rise_m {
            self.rose_from_m = lowest;
            return self.latch.raise(Severity::Major);
        }
        None
    }

    fn record(&mut self, level_m: f32, now_ms: u64) {
        if now_ms >= self.next_sample_ms {
            push_evicting(&mut self.history, level_m);
            self.next_sample_ms = now_ms + u64::from(self.config.window_ms) / HISTORY_LEN as u64;
        }
    }
}
