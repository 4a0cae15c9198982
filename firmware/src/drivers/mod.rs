//! Sensor drivers, each in its own module, written against `embedded-hal`
//! 1.0 (I2C, digital inputs), `embedded-io` (UART) and our [`crate::adc::Adc`].
//!
//! Drivers follow their datasheets register by register and scale raw data
//! to SI units; they never decide what a reading means for the building
//! (that is the node applications' job) and never block without bound.

pub mod a02yyuw;
pub mod analog_percent;
pub mod contact;
pub mod level_transmitter;
pub mod lis3dh;
pub mod qmc5883l;
pub mod rain_gauge;
