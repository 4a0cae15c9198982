//! A percentage from an analog voltage through our [`Adc`] trait: battery
//! charge from the battery voltage behind a divider, or car load from a
//! load-weighing amplifier. Linear between an "empty" and a "full" voltage
//! and clamped to 0..=100; never extrapolates.

use crate::adc::{Adc, AdcScale};
use crate::error::ConfigError;
use crate::sensor::{PercentGauge, SensorFault};

/// How the voltage is wired and what it means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentConfig {
    pub adc: AdcScale,
    /// Input voltage / pin voltage (1.0 without a divider).
    pub divider_ratio: f32,
    /// Input millivolts meaning 0 %.
    pub empty_mv: f32,
    /// Input millivolts meaning 100 %.
    pub full_mv: f32,
}

impl PercentConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(
            self.divider_ratio.is_finite() && self.divider_ratio >= 1.0,
            "divider_ratio",
            "must be at least 1",
        )?;
        ConfigError::check(
            self.empty_mv.is_finite() && self.full_mv.is_finite() && self.full_mv > self.empty_mv,
            "full_mv",
            "must be finite and above empty_mv",
        )
    }

    /// Percent for ADC `counts`.
    pub fn percent(&self, counts: u16) -> f32 {
        let mv = self.adc.millivolts(counts) * self.divider_ratio;
        ((mv - self.empty_mv) / (self.full_mv - self.empty_mv) * 100.0).clamp(0.0, 100.0)
    }
}

/// A percentage gauge on an ADC channel.
#[derive(Debug)]
pub struct AnalogPercent<A> {
    adc: A,
    config: PercentConfig,
}

impl<A: Adc> AnalogPercent<A> {
    pub fn new(adc: A, config: PercentConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { adc, config })
    }
}

impl<A: Adc> PercentGauge for AnalogPercent<A> {
    fn percent(&mut self) -> Result<f32, SensorFault> {
        let counts = self.adc.read_counts().map_err(|_| SensorFault::Bus)?;
        Ok(self.config.percent(counts))
    }
}
