//! Battery monitoring shared by battery-powered nodes: the `battery_low`
//! alarm with hysteresis, so a voltage hovering at the threshold (load
//! dips, temperature) does not chatter.

use retrofit_protocols::Severity;

use super::event::{AlarmLatch, EventTransition, NodeEvent};
use crate::error::ConfigError;

/// Thresholds in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryConfig {
    /// Raise at or below this.
    pub low_pct: f32,
    /// Clear at or above this (above `low_pct`).
    pub clear_pct: f32,
}

impl Default for BatteryConfig {
    fn default() -> Self {
        Self {
            low_pct: 20.0,
            clear_pct: 25.0,
        }
    }
}

/// The `battery_low` detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryMonitor {
    config: BatteryConfig,
    latch: AlarmLatch,
}

impl BatteryMonitor {
    pub fn new(config: BatteryConfig) -> Result<Self, ConfigError> {
        ConfigError::check(
            (0.0..=100.0).contains(&config.low_pct)
                && (0.0..=100.0).contains(&config.clear_pct)
                && config.clear_pct > config.low_pct,
            "battery.clear_pct",
            "both in 0..=100 and clear_pct above low_pct",
        )?;
        Ok(Self {
            config,
            latch: AlarmLatch::new(NodeEvent::BatteryLow),
        })
    }

    pub fn update(&mut self, battery_pct: f32) -> Option<EventTransition> {
        if battery_pct <= self.config.low_pct {
            self.latch.raise(Severity::Minor)
        } else if battery_pct >= self.config.clear_pct {
            self.latch.clear()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrofit_protocols::EventState;

    #[test]
    fn hovering_at_the_threshold_raises_once() {
        let mut m = BatteryMonitor::new(BatteryConfig::default()).unwrap();
        let states: heapless::Vec<EventState, 8> = [30.0, 20.0, 21.0, 19.5, 20.5, 24.9, 25.0, 24.0]
            .iter()
            .filter_map(|pct| m.update(*pct))
            .map(|t| t.state)
            .collect();
        assert_eq!(
            states.as_slice(),
            &[EventState::Raised, EventState::Cleared]
        );
    }

    #[test]
    fn refuses_inverted_thresholds() {
        let config = BatteryConfig {
            low_pct: 30.0,
            clear_pct: 25.0,
        };
        assert!(BatteryMonitor::new(config).is_err());
    }
}
