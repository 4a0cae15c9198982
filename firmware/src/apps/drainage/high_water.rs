//! The `high_water` alarm: a warning level and an overflow level, each with
//! hysteresis so a level hovering at a threshold does not chatter.
//!
//! One alarm with two severities: reaching the warning level raises it as
//! major, reaching the overflow level raises it again as critical
//! (escalation); falling `hysteresis_m` below the overflow level
//! de-escalates to major, and falling `hysteresis_m` below the warning level
//! clears it. Never emits a transition without a level change.

use retrofit_protocols::Severity;

use crate::apps::event::{AlarmLatch, EventTransition, NodeEvent};
use crate::error::ConfigError;

/// Thresholds in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HighWaterConfig {
    pub warning_m: f32,
    pub overflow_m: f32,
    pub hysteresis_m: f32,
}

impl Default for HighWaterConfig {
    fn default() -> Self {
        Self {
            warning_m: 0.8,
            overflow_m: 1.2,
            hysteresis_m: 0.05,
        }
    }
}

impl HighWaterConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(
            self.warning_m.is_finite()
                && self.overflow_m.is_finite()
                && self.overflow_m > self.warning_m,
            "high_water.overflow_m",
            "must be finite and above warning_m",
        )?;
        ConfigError::check(
            self.hysteresis_m.is_finite() && self.hysteresis_m > 0.0,
            "high_water.hysteresis_m",
            "must be a positive number",
        )
    }
}

/// Where the water is relative to the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaterBand {
    Normal,
    Warning,
    Overflow,
}

/// The detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HighWaterDetector {
    config: HighWaterConfig,
    band: WaterBand,
    latch: AlarmLatch,
}

impl HighWaterDetector {
    pub fn new(config: HighWaterConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            band: WaterBand::Normal,
            latch: AlarmLatch::new(NodeEvent::HighWater),
        })
    }

    pub fn band(&self) -> WaterBand {
        self.band
    }

    pub fn config(&self) -> HighWaterConfig {
        self.config
    }

    /// New thresholds from the next level on; the current band and alarm
    /// are kept (the next level moves them). Invalid thresholds are
    /// refused and the old ones kept.
    pub fn set_config(&mut self, config: HighWaterConfig) -> Result<(), ConfigError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    pub fn update(&mut self, level_m: f32) -> Option<EventTransition> {
        self.band = self.next_band(level_m);
        match self.band {
            WaterBand::Normal => self.latch.clear(),
            WaterBand::Warning => self.latch.raise(Severity::Major),
            WaterBand::Overflow => self.latch.raise(Severity::Critical),
        }
    }

    fn next_band(&self, level: f32) -> WaterBand {
        let c = &self.config;
        let below_warning = level < c.warning_m - c.hysteresis_m;
        let below_overflow = level < c.overflow_m - c.hysteresis_m;
        match self.band {
            _ if level >= c.overflow_m => WaterBand::Overflow,
            WaterBand::Normal if level >= c.warning_m => WaterBand::Warning,
            WaterBand::Normal => WaterBand::Normal,
            _ if below_warning => WaterBand::Normal,
            WaterBand::Overflow if !below_overflow => WaterBand::Overflow,
            _ => WaterBand::Warning,
        }
    }
}
