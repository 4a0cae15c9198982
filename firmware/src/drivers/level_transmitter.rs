//! Submersible pressure level transmitter on a 4–20 mA loop, read as the
//! voltage across a shunt resistor through our [`Adc`] trait.
//!
//! counts -> millivolts -> milliamps (Ohm's law) -> metres of water over a
//! configured range (4 mA = `range_min_m`, 20 mA = `range_max_m`). Following
//! NAMUR NE 43, below 3.8 mA the loop is open (wire break, dead
//! transmitter) and above 20.5 mA the reading is over range: both are
//! faults, never levels. Readings between the fault limits and the nominal
//! 4/20 mA ends are clamped to the range.

use crate::adc::{Adc, AdcScale};
use crate::error::ConfigError;
use crate::sensor::{LevelGauge, SensorFault};

/// Below this the loop is open.
pub const OPEN_LOOP_BELOW_MA: f32 = 3.8;
/// Above this the transmitter is over range (or shorted).
pub const OVER_RANGE_ABOVE_MA: f32 = 20.5;
const ZERO_MA: f32 = 4.0;
const SPAN_MA: f32 = 16.0;

/// How the loop is wired and what it measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopConfig {
    pub adc: AdcScale,
    pub shunt_ohm: f32,
    /// Level at 4 mA.
    pub range_min_m: f32,
    /// Level at 20 mA.
    pub range_max_m: f32,
}

impl LoopConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(
            self.shunt_ohm.is_finite() && self.shunt_ohm > 0.0,
            "shunt_ohm",
            "must be a positive number",
        )?;
        ConfigError::check(
            self.range_min_m.is_finite()
                && self.range_max_m.is_finite()
                && self.range_max_m > self.range_min_m,
            "range_max_m",
            "must be finite and above range_min_m",
        )
    }

    /// Level for a loop current, or the loop fault.
    pub fn level_m(&self, current_ma: f32) -> Result<f32, LoopFault> {
        if current_ma.is_nan() || current_ma < OPEN_LOOP_BELOW_MA {
            return Err(LoopFault::OpenLoop);
        }
        if current_ma > OVER_RANGE_ABOVE_MA {
            return Err(LoopFault::OverRange);
        }
        let fraction = ((current_ma - ZERO_MA) / SPAN_MA).clamp(0.0, 1.0);
        Ok(self.range_min_m + fraction * (self.range_max_m - self.range_min_m))
    }
}

/// Why the loop current is not a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoopFault {
    #[error("loop current below 3.8 mA: open loop")]
    OpenLoop,
    #[error("loop current above 20.5 mA: over range")]
    OverRange,
}

/// What went wrong reading a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    #[error("ADC error: {0:?}")]
    Adc(E),
    #[error(transparent)]
    Loop(#[from] LoopFault),
}

impl<E> From<Error<E>> for SensorFault {
    fn from(e: Error<E>) -> Self {
        match e {
            Error::Adc(_) => SensorFault::Bus,
            Error::Loop(LoopFault::OpenLoop) => SensorFault::OpenLoop,
            Error::Loop(LoopFault::OverRange) => SensorFault::OutOfRange,
        }
    }
}

/// A transmitter on its ADC channel.
#[derive(Debug)]
pub struct LevelTransmitter<A> {
    adc: A,
    config: LoopConfig,
}

impl<A: Adc> LevelTransmitter<A> {
    pub fn new(adc: A, config: LoopConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { adc, config })
    }

    /// Loop current in milliamps.
    pub fn read_current_ma(&mut self) -> Result<f32, Error<A::Error>> {
        let counts = self.adc.read_counts().map_err(Error::Adc)?;
        Ok(self.config.adc.millivolts(counts) / self.config.shunt_ohm)
    }

    /// Level in metres of water.
    pub fn read_level_m(&mut self) -> Result<f32, Error<A::Error>> {
        let ma = self.read_current_ma()?;
        Ok(self.config.level_m(ma)?)
    }
}

impl<A: Adc> LevelGauge for LevelTransmitter<A> {
    fn level_m(&mut self) -> Result<f32, SensorFault> {
        Ok(self.read_level_m()?)
    }
}
