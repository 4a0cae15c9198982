//! The register map of a QST QMC5883L magnetometer as the driver sees it:
//! chip ID 0xFF at 0x0D, control register 1 (range and mode), the
//! SET/RESET period register, the status register (`DRDY` in continuous
//! mode, `OVL` when a component exceeds the selected range) and the six
//! little-endian data registers holding the field of a [`Probe`].
//! Addresses auto-increment, as on the chip. Reading `X LSB` latches one
//! sample for the burst.

use retrofit_firmware::drivers::qmc5883l::{self, reg, MICROTESLA_PER_GAUSS};
use retrofit_firmware::sensor::Vector3;

use super::i2c::RegisterChip;
use super::Probe;

const DATA_Z_MSB: u8 = reg::DATA_X_LSB + 5;
const MODE_CONTINUOUS: u8 = qmc5883l::Mode::Continuous as u8;

/// The chip.
#[derive(Debug)]
pub struct Qmc5883lChip {
    field_ut: Probe<Vector3>,
    control_1: u8,
    set_reset_period: u8,
    latched: [u8; 6],
}

impl Qmc5883lChip {
    /// A chip measuring `field_ut` (µT, sensor frame).
    pub fn new(field_ut: Probe<Vector3>) -> Self {
        Self {
            field_ut,
            control_1: 0,
            set_reset_period: 0,
            latched: [0; 6],
        }
    }

    fn lsb_per_gauss(&self) -> f32 {
        if (self.control_1 >> 4) & 0b11 == qmc5883l::Range::Gauss8 as u8 {
            3_000.0
        } else {
            12_000.0
        }
    }

    /// The field in counts, or `None` when a component overflows.
    fn counts(&self) -> Option<[i16; 3]> {
        let v = self.field_ut.get();
        let scale = self.lsb_per_gauss() / MICROTESLA_PER_GAUSS;
        let mut out = [0i16; 3];
        for (slot, axis) in out.iter_mut().zip([v.x, v.y, v.z]) {
            let counts = (axis * scale).round();
            if !(f32::from(i16::MIN)..=f32::from(i16::MAX)).contains(&counts) {
                return None;
            }
            *slot = counts as i16;
        }
        Some(out)
    }

    fn status(&self) -> u8 {
        if self.control_1 & 0b11 != MODE_CONTINUOUS {
            return 0;
        }
        match self.counts() {
            Some(_) => reg::STATUS_DRDY,
            None => reg::STATUS_DRDY | reg::STATUS_OVL,
        }
    }

    fn latch(&mut self) {
        let [x, y, z] = self.counts().unwrap_or([i16::MAX; 3]);
        for (i, axis) in [x, y, z].into_iter().enumerate() {
            self.latched[2 * i..2 * i + 2].copy_from_slice(&axis.to_le_bytes());
        }
    }
}

impl RegisterChip for Qmc5883lChip {
    fn address(&self) -> u8 {
        qmc5883l::ADDRESS
    }

    fn select(&self, sub_address: u8) -> (u8, bool) {
        (sub_address, true)
    }

    fn read(&mut self, register: u8) -> u8 {
        match register {
            reg::DATA_X_LSB..=DATA_Z_MSB => {
                if register == reg::DATA_X_LSB {
                    self.latch();
                }
                self.latched[usize::from(register - reg::DATA_X_LSB)]
            }
            reg::STATUS => self.status(),
            reg::CONTROL_1 => self.control_1,
            reg::SET_RESET_PERIOD => self.set_reset_period,
            reg::CHIP_ID => qmc5883l::CHIP_ID,
            _ => 0,
        }
    }

    fn write(&mut self, register: u8, value: u8) {
        match register {
            reg::CONTROL_1 => self.control_1 = value,
            reg::SET_RESET_PERIOD => self.set_reset_period = value,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use retrofit_firmware::drivers::qmc5883l::Qmc5883l;
    use retrofit_firmware::sensor::{Magnetometer, SensorFault};

    use super::super::i2c::SimI2c;
    use super::*;

    #[test]
    fn the_real_driver_reads_the_simulated_field() {
        let field = Probe::new(Vector3::new(21.5, -4.25, 42.0));
        let chip = Qmc5883lChip::new(field.clone());
        let mut sensor = Qmc5883l::new(SimI2c::new(chip), qmc5883l::Config::default()).unwrap();
        let got = sensor.field().unwrap().unwrap();
        assert!(got.distance_squared(&field.get()) < 0.01, "{got:?}");
        field.set(Vector3::new(400.0, 0.0, 0.0));
        assert_eq!(sensor.field(), Err(SensorFault::OutOfRange), "over ±2 G");
    }

    #[test]
    fn no_data_in_standby() {
        let chip = Qmc5883lChip::new(Probe::new(Vector3::new(1.0, 2.0, 3.0)));
        let config = qmc5883l::Config {
            mode: qmc5883l::Mode::Standby,
            ..qmc5883l::Config::default()
        };
        let mut sensor = Qmc5883l::new(SimI2c::new(chip), config).unwrap();
        assert_eq!(sensor.field(), Ok(None));
    }
}
