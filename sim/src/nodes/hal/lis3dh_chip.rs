//! The register map of an ST LIS3DH accelerometer as the driver sees it:
//! `WHO_AM_I` = 0x33, `CTRL_REG1`/`CTRL_REG4` as written by the driver,
//! and the six output registers holding the specific force of a
//! [`Probe`], left-justified at the resolution and full scale the control
//! registers select (datasheet table 4). Sub-address bit 7 enables
//! auto-increment. Reading `OUT_X_L` latches one sample for the burst
//! (block data update), so a burst never mixes two samples.

use retrofit_firmware::drivers::lis3dh::{self, reg, FullScale, Resolution, STANDARD_GRAVITY};
use retrofit_firmware::sensor::Vector3;

use super::i2c::RegisterChip;
use super::Probe;

const OUT_Z_H: u8 = reg::OUT_X_L + 5;
/// `CTRL_REG1` after power-on: power-down, all axes enabled.
const CTRL_REG1_RESET: u8 = 0x07;

/// The chip.
#[derive(Debug)]
pub struct Lis3dhChip {
    address: u8,
    specific_force: Probe<Vector3>,
    ctrl_reg1: u8,
    ctrl_reg4: u8,
    latched: [u8; 6],
}

impl Lis3dhChip {
    /// A chip at `address` measuring `specific_force` (m/s², sensor frame).
    pub fn new(address: u8, specific_force: Probe<Vector3>) -> Self {
        Self {
            address,
            specific_force,
            ctrl_reg1: CTRL_REG1_RESET,
            ctrl_reg4: 0,
            latched: [0; 6],
        }
    }

    /// What the control registers select.
    fn config(&self) -> lis3dh::Config {
        let full_scale = match (self.ctrl_reg4 >> 4) & 0b11 {
            0b00 => FullScale::G2,
            0b01 => FullScale::G4,
            0b10 => FullScale::G8,
            _ => FullScale::G16,
        };
        let resolution = match (self.ctrl_reg1 & 0x08 != 0, self.ctrl_reg4 & 0x08 != 0) {
            (true, _) => Resolution::LowPower8,
            (false, true) => Resolution::HighRes12,
            (false, false) => Resolution::Normal10,
        };
        lis3dh::Config {
            full_scale,
            resolution,
            data_rate: lis3dh::DataRate::Hz100,
        }
    }

    fn powered_down(&self) -> bool {
        self.ctrl_reg1 >> 4 == 0
    }

    /// One axis as a left-justified output register pair.
    fn output(&self, m_per_s2: f32) -> [u8; 2] {
        let config = self.config();
        let bits = match config.resolution {
            Resolution::LowPower8 => 8,
            Resolution::Normal10 => 10,
            Resolution::HighRes12 => 12,
        };
        let milli_g = m_per_s2 / STANDARD_GRAVITY * 1000.0;
        let limit = f32::from((1u16 << (bits - 1)) - 1);
        let digits = (milli_g / config.milli_g_per_digit() as f32)
            .round()
            .clamp(-limit - 1.0, limit) as i16;
        (digits << (16 - bits)).to_le_bytes()
    }

    fn latch(&mut self) {
        let v = if self.powered_down() {
            Vector3::default()
        } else {
            self.specific_force.get()
        };
        for (i, axis) in [v.x, v.y, v.z].into_iter().enumerate() {
            let pair = self.output(axis);
            self.latched[2 * i..2 * i + 2].copy_from_slice(&pair);
        }
    }
}

impl RegisterChip for Lis3dhChip {
    fn address(&self) -> u8 {
        self.address
    }

    fn select(&self, sub_address: u8) -> (u8, bool) {
        (
            sub_address & !reg::AUTO_INCREMENT,
            sub_address & reg::AUTO_INCREMENT != 0,
        )
    }

    fn read(&mut self, register: u8) -> u8 {
        match register {
            reg::WHO_AM_I => lis3dh::DEVICE_ID,
            reg::CTRL_REG1 => self.ctrl_reg1,
            reg::CTRL_REG4 => self.ctrl_reg4,
            reg::OUT_X_L..=OUT_Z_H => {
                if register == reg::OUT_X_L {
                    self.latch();
                }
                self.latched[usize::from(register - reg::OUT_X_L)]
            }
            _ => 0,
        }
    }

    fn write(&mut self, register: u8, value: u8) {
        match register {
            reg::CTRL_REG1 => self.ctrl_reg1 = value,
            reg::CTRL_REG4 => self.ctrl_reg4 = value,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use retrofit_firmware::drivers::lis3dh::{Lis3dh, ADDRESS_SA0_LOW};
    use retrofit_firmware::sensor::Accelerometer;

    use super::super::i2c::SimI2c;
    use super::*;

    #[test]
    fn the_real_driver_reads_the_simulated_force_at_every_resolution() {
        let force = Probe::new(Vector3::new(0.5, -1.0, 10.8));
        for resolution in [
            Resolution::HighRes12,
            Resolution::Normal10,
            Resolution::LowPower8,
        ] {
            let config = lis3dh::Config {
                resolution,
                full_scale: FullScale::G4,
                ..lis3dh::Config::default()
            };
            let chip = Lis3dhChip::new(ADDRESS_SA0_LOW, force.clone());
            let mut sensor = Lis3dh::new(SimI2c::new(chip), ADDRESS_SA0_LOW, config).unwrap();
            let got = sensor.acceleration().unwrap();
            let step = config.milli_g_per_digit() as f32 * STANDARD_GRAVITY / 1000.0;
            assert!((got.z - 10.8).abs() <= step, "{resolution:?}: {got:?}");
            assert!((got.x - 0.5).abs() <= step && (got.y + 1.0).abs() <= step);
        }
    }

    #[test]
    fn saturates_at_the_full_scale() {
        let force = Probe::new(Vector3::new(0.0, 0.0, 50.0));
        let chip = Lis3dhChip::new(ADDRESS_SA0_LOW, force);
        let mut sensor = Lis3dh::new(
            SimI2c::new(chip),
            ADDRESS_SA0_LOW,
            lis3dh::Config::default(),
        )
        .unwrap();
        let z = sensor.acceleration().unwrap().z;
        assert!((20.0..20.1).contains(&z), "±2 g clips at 2047 mg: {z}");
    }
}
