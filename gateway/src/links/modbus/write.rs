//! Writes for later commands (functions 5, 6, 15, 16): a value for one
//! point of a map, turned back into its raw register(s) (offset and scale
//! undone, encoded by type and order) and written by the bus owner.
//!
//! Disabled unless the map marks the point `writable`; a value that does
//! not fit the point's type is refused before anything reaches the bus.

use std::time::Duration;

use super::bus::{Answer, Bus, Write};
use super::decode::DataType;
use super::map::{Point, Table};

/// Why a write did not happen or failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    #[error("point {0} is not writable in its map")]
    NotWritable(String),
    #[error("value does not fit point {0}")]
    OutOfRange(String),
    #[error("slave answered with exception {0}")]
    Exception(String),
    #[error("no answer: {0}")]
    NoAnswer(String),
}

/// The request that sets `point` to `value`.
pub fn write_request(point: &Point, value: f64) -> Result<Write, WriteError> {
    let name = || point.name.to_string();
    if !point.writable {
        return Err(WriteError::NotWritable(name()));
    }
    match point.table {
        Table::Coils => Ok(Write::Coil(point.address, value != 0.0)),
        Table::HoldingRegisters if point.layout.data_type == DataType::Bool => {
            Err(WriteError::NotWritable(name()))
        }
        Table::HoldingRegisters => {
            let raw = (value - point.offset) / point.scale;
            let words = point
                .layout
                .encode(raw)
                .ok_or_else(|| WriteError::OutOfRange(name()))?;
            Ok(match words.as_slice() {
                [one] => Write::Register(point.address, *one),
                _ => Write::Registers(point.address, words),
            })
        }
        _ => Err(WriteError::NotWritable(name())),
    }
}

/// Writes `value` to `point` of `slave` on `bus`.
pub async fn write_point(
    bus: &mut Bus,
    slave: u8,
    point: &Point,
    value: f64,
    timeout: Duration,
) -> Result<(), WriteError> {
    let request = write_request(point, value)?;
    match bus.write(slave, &request, timeout).await {
        Answer::Values(()) => Ok(()),
        Answer::Exception(code) => Err(WriteError::Exception(format!("{code:?}"))),
        Answer::Failed(f) => Err(WriteError::NoAnswer(format!("{f:?}"))),
        Answer::Lost(why) => Err(WriteError::NoAnswer(why)),
    }
}
