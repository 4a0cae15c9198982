//! Analog inputs: the ADC trait (embedded-hal 1.0 has none) and the
//! conversion of raw counts to millivolts.
//!
//! The resolution and the reference voltage are configuration; this module
//! never assumes a particular converter.

use crate::error::ConfigError;

/// One single-ended ADC channel.
pub trait Adc {
    type Error: core::fmt::Debug;

    /// One conversion, right-aligned, in counts.
    fn read_counts(&mut self) -> Result<u16, Self::Error>;
}

/// How counts map to millivolts at the ADC pin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdcScale {
    full_scale_counts: u16,
    vref_mv: f32,
}

impl AdcScale {
    /// A converter of `bits` resolution (1..=16) with reference `vref_mv`.
    pub fn new(bits: u8, vref_mv: f32) -> Result<Self, ConfigError> {
        ConfigError::check((1..=16).contains(&bits), "adc.bits", "must be 1..=16")?;
        ConfigError::check(
            vref_mv.is_finite() && vref_mv > 0.0,
            "adc.vref_mv",
            "must be a positive number",
        )?;
        let full_scale_counts = ((1u32 << bits) - 1) as u16;
        Ok(Self {
            full_scale_counts,
            vref_mv,
        })
    }

    /// Millivolts at the pin for `counts`.
    pub fn millivolts(&self, counts: u16) -> f32 {
        f32::from(counts) * self.vref_mv / f32::from(self.full_scale_counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_bit_full_scale_is_the_reference() {
        let scale = AdcScale::new(12, 3300.0).unwrap();
        assert_eq!(scale.millivolts(4095), 3300.0);
        assert_eq!(scale.millivolts(0), 0.0);
        assert!((scale.millivolts(2048) - 1650.4).abs() < 0.1);
    }

    #[test]
    fn refuses_impossible_converters() {
        assert!(AdcScale::new(0, 3300.0).is_err());
        assert!(AdcScale::new(17, 3300.0).is_err());
        assert!(AdcScale::new(12, 0.0).is_err());
        assert!(AdcScale::new(12, f32::NAN).is_err());
    }
}
