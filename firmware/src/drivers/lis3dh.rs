//! ST LIS3DH three-axis accelerometer over I2C.
//!
//! Init checks `WHO_AM_I` (0x33), then writes `CTRL_REG1` (data rate,
//! low-power bit, X/Y/Z enable) and `CTRL_REG4` (block data update, full
//! scale, high-resolution bit). Samples are read in one auto-increment burst
//! from `OUT_X_L` and scaled with the datasheet sensitivity for the
//! configured full scale and resolution. Never writes any other register.

use embedded_hal::i2c::I2c;

use crate::sensor::{Accelerometer, SensorFault, Vector3};

/// I2C address with SDO/SA0 tied low.
pub const ADDRESS_SA0_LOW: u8 = 0x18;
/// I2C address with SDO/SA0 tied high.
pub const ADDRESS_SA0_HIGH: u8 = 0x19;
/// Value of `WHO_AM_I`.
pub const DEVICE_ID: u8 = 0x33;
/// Standard gravity, m/s² per g.
pub const STANDARD_GRAVITY: f32 = 9.806_65;

/// Register addresses (datasheet §8).
pub mod reg {
    pub const WHO_AM_I: u8 = 0x0F;
    pub const CTRL_REG1: u8 = 0x20;
    pub const CTRL_REG4: u8 = 0x23;
    pub const OUT_X_L: u8 = 0x28;
    /// Sub-address MSB: increment the register address on each byte.
    pub const AUTO_INCREMENT: u8 = 0x80;
}

/// Measurement range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullScale {
    G2,
    G4,
    G8,
    G16,
}

/// Operating mode, which fixes the output resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Low-power mode, 8-bit data.
    LowPower8,
    /// Normal mode, 10-bit data.
    Normal10,
    /// High-resolution mode, 12-bit data.
    HighRes12,
}

/// Output data rate (the rates common to all modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataRate {
    Hz1 = 0b0001,
    Hz10 = 0b0010,
    Hz25 = 0b0011,
    Hz50 = 0b0100,
    Hz100 = 0b0101,
    Hz200 = 0b0110,
    Hz400 = 0b0111,
}

/// Driver settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub full_scale: FullScale,
    pub resolution: Resolution,
    pub data_rate: DataRate,
}

impl Default for Config {
    /// ±2 g, 12-bit, 100 Hz: enough for car motion (< 0.2 g).
    fn default() -> Self {
        Self {
            full_scale: FullScale::G2,
            resolution: Resolution::HighRes12,
            data_rate: DataRate::Hz100,
        }
    }
}

impl Config {
    /// `CTRL_REG1`: ODR[7:4], LPen[3], Zen Yen Xen[2:0].
    pub fn ctrl_reg1(&self) -> u8 {
        let low_power = matches!(self.resolution, Resolution::LowPower8);
        ((self.data_rate as u8) << 4) | (u8::from(low_power) << 3) | 0b111
    }

    /// `CTRL_REG4`: BDU[7], FS[5:4], HR[3].
    pub fn ctrl_reg4(&self) -> u8 {
        let fs = match self.full_scale {
            FullScale::G2 => 0b00,
            FullScale::G4 => 0b01,
            FullScale::G8 => 0b10,
            FullScale::G16 => 0b11,
        };
        let high_res = matches!(self.resolution, Resolution::HighRes12);
        0x80 | (fs << 4) | (u8::from(high_res) << 3)
    }

    /// Bits of a left-justified sample that carry data.
    fn bits(&self) -> u32 {
        match self.resolution {
            Resolution::LowPower8 => 8,
            Resolution::Normal10 => 10,
            Resolution::HighRes12 => 12,
        }
    }

    /// Sensitivity in milli-g per digit (datasheet table 4).
    pub fn milli_g_per_digit(&self) -> i32 {
        let high_res = match self.full_scale {
            FullScale::G2 => 1,
            FullScale::G4 => 2,
            FullScale::G8 => 4,
            FullScale::G16 => 12,
        };
        match self.resolution {
            Resolution::HighRes12 => high_res,
            Resolution::Normal10 => high_res * 4,
            Resolution::LowPower8 => high_res * 16,
        }
    }

    /// Milli-g for one left-justified 16-bit output register pair.
    pub fn milli_g(&self, raw: i16) -> i32 {
        (i32::from(raw) >> (16 - self.bits())) * self.milli_g_per_digit()
    }
}

/// What went wrong talking to the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    #[error("I2C bus error: {0:?}")]
    Bus(E),
    #[error("WHO_AM_I is {0:#04x}, expected 0x33")]
    WrongDevice(u8),
}

impl<E> From<Error<E>> for SensorFault {
    fn from(e: Error<E>) -> Self {
        match e {
            Error::Bus(_) => SensorFault::Bus,
            Error::WrongDevice(_) => SensorFault::WrongDevice,
        }
    }
}

/// An initialised LIS3DH.
#[derive(Debug)]
pub struct Lis3dh<I2C> {
    i2c: I2C,
    address: u8,
    config: Config,
}

impl<I2C: I2c> Lis3dh<I2C> {
    /// Identifies the chip and configures it.
    pub fn new(mut i2c: I2C, address: u8, config: Config) -> Result<Self, Error<I2C::Error>> {
        let mut id = [0u8];
        i2c.write_read(address, &[reg::WHO_AM_I], &mut id)
            .map_err(Error::Bus)?;
        if id[0] != DEVICE_ID {
            return Err(Error::WrongDevice(id[0]));
        }
        i2c.write(address, &[reg::CTRL_REG1, config.ctrl_reg1()])
            .map_err(Error::Bus)?;
        i2c.write(address, &[reg::CTRL_REG4, config.ctrl_reg4()])
            .map_err(Error::Bus)?;
        Ok(Self {
            i2c,
            address,
            config,
        })
    }

    /// Raw left-justified X, Y, Z from one burst read.
    pub fn read_raw(&mut self) -> Result<[i16; 3], Error<I2C::Error>> {
        let mut buf = [0u8; 6];
        self.i2c
            .write_read(
                self.address,
                &[reg::OUT_X_L | reg::AUTO_INCREMENT],
                &mut buf,
            )
            .map_err(Error::Bus)?;
        Ok([
            i16::from_le_bytes([buf[0], buf[1]]),
            i16::from_le_bytes([buf[2], buf[3]]),
            i16::from_le_bytes([buf[4], buf[5]]),
        ])
    }

    /// X, Y, Z in milli-g.
    pub fn read_milli_g(&mut self) -> Result<[i32; 3], Error<I2C::Error>> {
        Ok(self.read_raw()?.map(|raw| self.config.milli_g(raw)))
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }
}

impl<I2C: I2c> Accelerometer for Lis3dh<I2C> {
    fn acceleration(&mut self) -> Result<Vector3, SensorFault> {
        let [x, y, z] = self.read_milli_g()?;
        Ok(Vector3::new(x as f32, y as f32, z as f32).scaled(STANDARD_GRAVITY / 1000.0))
    }
}
