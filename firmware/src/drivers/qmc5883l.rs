//! QST QMC5883L three-axis magnetometer over I2C (address 0x0D).
//!
//! Init checks the chip ID register (0x0D reads 0xFF), writes the SET/RESET
//! period register 0x0B = 0x01 as the datasheet recommends, then control
//! register 1 (0x09: OSR[7:6], RNG[5:4], ODR[3:2], MODE[1:0]). A read
//! checks the status register (0x06: DRDY, OVL) and then takes the six
//! little-endian data registers X, Y, Z from 0x00. Never writes any other
//! register.

use embedded_hal::i2c::I2c;

use crate::sensor::{Magnetometer, SensorFault, Vector3};

/// The chip's only I2C address.
pub const ADDRESS: u8 = 0x0D;
/// Value of the chip ID register.
pub const CHIP_ID: u8 = 0xFF;
/// Microtesla per gauss.
pub const MICROTESLA_PER_GAUSS: f32 = 100.0;

/// Register addresses and bits (datasheet §9).
pub mod reg {
    pub const DATA_X_LSB: u8 = 0x00;
    pub const STATUS: u8 = 0x06;
    pub const CONTROL_1: u8 = 0x09;
    pub const SET_RESET_PERIOD: u8 = 0x0B;
    pub const CHIP_ID: u8 = 0x0D;
    /// Recommended SET/RESET period value.
    pub const SET_RESET_PERIOD_VALUE: u8 = 0x01;
    pub const STATUS_DRDY: u8 = 0x01;
    pub const STATUS_OVL: u8 = 0x02;
}

/// MODE[1:0].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Standby = 0b00,
    Continuous = 0b01,
}

/// ODR[3:2].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataRate {
    Hz10 = 0b00,
    Hz50 = 0b01,
    Hz100 = 0b10,
    Hz200 = 0b11,
}

/// RNG[5:4].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// ±2 gauss, 12 000 LSB/G.
    Gauss2 = 0b00,
    /// ±8 gauss, 3 000 LSB/G.
    Gauss8 = 0b01,
}

/// OSR[7:6]: samples averaged inside the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversampling {
    X512 = 0b00,
    X256 = 0b01,
    X128 = 0b10,
    X64 = 0b11,
}

/// Driver settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    pub data_rate: DataRate,
    pub range: Range,
    pub oversampling: Oversampling,
}

impl Default for Config {
    /// Continuous 10 Hz, ±2 G (a car shifts the field by tens of µT), OSR 512.
    fn default() -> Self {
        Self {
            mode: Mode::Continuous,
            data_rate: DataRate::Hz10,
            range: Range::Gauss2,
            oversampling: Oversampling::X512,
        }
    }
}

impl Config {
    /// Control register 1 value.
    pub fn control_1(&self) -> u8 {
        ((self.oversampling as u8) << 6)
            | ((self.range as u8) << 4)
            | ((self.data_rate as u8) << 2)
            | self.mode as u8
    }

    /// Counts per gauss for the configured range.
    pub fn lsb_per_gauss(&self) -> f32 {
        match self.range {
            Range::Gauss2 => 12_000.0,
            Range::Gauss8 => 3_000.0,
        }
    }
}

/// What went wrong talking to the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    #[error("I2C bus error: {0:?}")]
    Bus(E),
    #[error("chip ID is {0:#04x}, expected 0xff")]
    WrongDevice(u8),
    #[error("field exceeds the configured range")]
    Overflow,
}

impl<E> From<Error<E>> for SensorFault {
    fn from(e: Error<E>) -> Self {
        match e {
            Error::Bus(_) => SensorFault::Bus,
            Error::WrongDevice(_) => SensorFault::WrongDevice,
            Error::Overflow => SensorFault::OutOfRange,
        }
    }
}

/// An initialised QMC5883L.
#[derive(Debug)]
pub struct Qmc5883l<I2C> {
    i2c: I2C,
    config: Config,
}

impl<I2C: I2c> Qmc5883l<I2C> {
    /// Identifies the chip and configures it.
    pub fn new(mut i2c: I2C, config: Config) -> Result<Self, Error<I2C::Error>> {
        let mut id = [0u8];
        i2c.write_read(ADDRESS, &[reg::CHIP_ID], &mut id)
            .map_err(Error::Bus)?;
        if id[0] != CHIP_ID {
            return Err(Error::WrongDevice(id[0]));
        }
        i2c.write(
            ADDRESS,
            &[reg::SET_RESET_PERIOD, reg::SET_RESET_PERIOD_VALUE],
        )
        .map_err(Error::Bus)?;
        i2c.write(ADDRESS, &[reg::CONTROL_1, config.control_1()])
            .map_err(Error::Bus)?;
        Ok(Self { i2c, config })
    }

    /// Raw X, Y, Z counts, or `None` while DRDY is not set.
    pub fn read_raw(&mut self) -> Result<Option<[i16; 3]>, Error<I2C::Error>> {
        let mut status = [0u8];
        self.i2c
            .write_read(ADDRESS, &[reg::STATUS], &mut status)
            .map_err(Error::Bus)?;
        if status[0] & reg::STATUS_OVL != 0 {
            return Err(Error::Overflow);
        }
        if status[0] & reg::STATUS_DRDY == 0 {
            return Ok(None);
        }
        let mut buf = [0u8; 6];
        self.i2c
            .write_read(ADDRESS, &[reg::DATA_X_LSB], &mut buf)
            .map_err(Error::Bus)?;
        Ok(Some([
            i16::from_le_bytes([buf[0], buf[1]]),
            i16::from_le_bytes([buf[2], buf[3]]),
            i16::from_le_bytes([buf[4], buf[5]]),
        ]))
    }

    /// X, Y, Z in gauss, or `None` while no new sample is ready.
    pub fn read_gauss(&mut self) -> Result<Option<Vector3>, Error<I2C::Error>> {
        let lsb = self.config.lsb_per_gauss();
        Ok(self.read_raw()?.map(|[x, y, z]| {
            Vector3::new(f32::from(x), f32::from(y), f32::from(z)).scaled(1.0 / lsb)
        }))
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }
}

impl<I2C: I2c> Magnetometer for Qmc5883l<I2C> {
    fn field(&mut self) -> Result<Option<Vector3>, SensorFault> {
        Ok(self
            .read_gauss()?
            .map(|gauss| gauss.scaled(MICROTESLA_PER_GAUSS)))
    }
}
