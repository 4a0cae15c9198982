//! Simulated hardware under the real firmware drivers: the electrical
//! signals a physics model drives ([`Probe`]) and the `embedded-hal` /
//! firmware-trait devices that read them (GPIO inputs, ADC channels, I2C
//! chips with register maps).
//!
//! The drivers (`retrofit_firmware::drivers`) run unchanged on top: a
//! contact is debounced by `Contact`, a loop current becomes metres in
//! `LevelTransmitter`, a register burst becomes m/s² in `Lis3dh`. These
//! devices never interpret a signal beyond what the real part would (a
//! pull-up, an ADC's quantisation, a chip's register layout).

pub mod i2c;
pub mod lis3dh_chip;
pub mod qmc5883l_chip;

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use retrofit_firmware::adc::Adc;

/// One signal shared between the physics (which sets it) and a simulated
/// device (which reads it), like a wire between a sensor and a pin.
#[derive(Debug, Default)]
pub struct Probe<T>(Arc<Mutex<T>>);

impl<T> Clone for Probe<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: Copy> Probe<T> {
    pub fn new(value: T) -> Self {
        Self(Arc::new(Mutex::new(value)))
    }

    pub fn set(&self, value: T) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }

    pub fn get(&self) -> T {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A GPIO input with a pull-up, wired to a dry contact that closes to
/// ground: the pin reads low while the contact is closed (so the drivers
/// use `Polarity::ActiveLow`, as on the boards).
#[derive(Debug, Clone)]
pub struct SimPin {
    contact_closed: Probe<bool>,
}

impl SimPin {
    pub fn new(contact_closed: Probe<bool>) -> Self {
        Self { contact_closed }
    }
}

impl embedded_hal::digital::ErrorType for SimPin {
    type Error = Infallible;
}

impl embedded_hal::digital::InputPin for SimPin {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(!self.contact_closed.get())
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(self.contact_closed.get())
    }
}

/// A single-ended ADC channel of `bits` resolution against `vref_mv`,
/// converting the millivolts at its pin (clamped to the rails).
#[derive(Debug, Clone)]
pub struct SimAdc {
    pin_mv: Probe<f32>,
    bits: u8,
    vref_mv: f32,
}

impl SimAdc {
    pub fn new(pin_mv: Probe<f32>, bits: u8, vref_mv: f32) -> Self {
        Self {
            pin_mv,
            bits: bits.clamp(1, 16),
            vref_mv,
        }
    }
}

impl Adc for SimAdc {
    type Error = Infallible;

    fn read_counts(&mut self) -> Result<u16, Infallible> {
        let full_scale = f32::from(u16::MAX >> (16 - self.bits));
        let fraction = (self.pin_mv.get() / self.vref_mv).clamp(0.0, 1.0);
        Ok((fraction * full_scale).round() as u16)
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal::digital::InputPin;

    use super::*;

    #[test]
    fn a_closed_contact_pulls_the_pin_low() {
        let contact = Probe::new(false);
        let mut pin = SimPin::new(contact.clone());
        assert_eq!(pin.is_high(), Ok(true));
        contact.set(true);
        assert_eq!((pin.is_high(), pin.is_low()), (Ok(false), Ok(true)));
    }

    #[test]
    fn the_adc_quantises_and_clamps_to_its_rails() {
        let mv = Probe::new(1650.0);
        let mut adc = SimAdc::new(mv.clone(), 12, 3300.0);
        assert_eq!(adc.read_counts(), Ok(2048));
        mv.set(5000.0);
        assert_eq!(adc.read_counts(), Ok(4095));
        mv.set(-3.0);
        assert_eq!(adc.read_counts(), Ok(0));
    }
}
