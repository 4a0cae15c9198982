//! Dry contacts on GPIO (door closed/open switches, leveling vane sensors,
//! supply sense, mode keys) with polarity and debouncing, over
//! `embedded_hal::digital::InputPin`. Never reports a change that has not
//! held for the debounce time.

use embedded_hal::digital::InputPin;

use crate::sensor::{BinaryInput, SensorFault};
use crate::signal::Debouncer;

/// Which electrical level means "active".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    ActiveHigh,
    /// Typical for a switch to ground with a pull-up.
    ActiveLow,
}

/// A debounced contact.
#[derive(Debug)]
pub struct Contact<P> {
    pin: P,
    polarity: Polarity,
    debouncer: Debouncer,
}

impl<P: InputPin> Contact<P> {
    pub fn new(pin: P, polarity: Polarity, debounce_ms: u32) -> Self {
        Self {
            pin,
            polarity,
            debouncer: Debouncer::new(debounce_ms),
        }
    }

    /// Samples the pin; returns the debounced state.
    pub fn sample(&mut self, now_ms: u64) -> Result<bool, P::Error> {
        let high = self.pin.is_high()?;
        let active = match self.polarity {
            Polarity::ActiveHigh => high,
            Polarity::ActiveLow => !high,
        };
        Ok(self.debouncer.update(active, now_ms))
    }
}

impl<P: InputPin> BinaryInput for Contact<P> {
    fn is_active(&mut self, now_ms: u64) -> Result<bool, SensorFault> {
        self.sample(now_ms).map_err(|_| SensorFault::Bus)
    }
}
