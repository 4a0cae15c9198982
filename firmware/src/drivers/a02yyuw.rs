//! DFRobot A02YYUW waterproof ultrasonic distance sensor on a UART
//! (9600 8N1, "UART auto" output every ~100 ms), over `embedded_io::Read`.
//!
//! A frame is four bytes: 0xFF, Data_H, Data_L, SUM with
//! SUM = (0xFF + Data_H + Data_L) & 0xFF; the distance is Data_H·256 +
//! Data_L millimetres. The reader slides a four-byte window over the stream,
//! so it resynchronises after garbage or a torn frame. It never reads more
//! than [`MAX_SCAN_BYTES`] per call and never trusts a frame whose checksum
//! fails. [`UltrasonicLevel`] turns the distance from a sensor mounted above
//! a channel into a water level.

use embedded_io::Read;

use crate::error::ConfigError;
use crate::sensor::{LevelGauge, SensorFault};

/// Frame header byte.
pub const HEADER: u8 = 0xFF;
/// Most bytes examined per reading before giving up (several frames).
pub const MAX_SCAN_BYTES: usize = 64;
/// Shortest distance the sensor measures (blind zone), mm.
pub const MIN_DISTANCE_MM: u16 = 30;
/// Longest distance the sensor measures, mm.
pub const MAX_DISTANCE_MM: u16 = 4500;

/// The distance in a frame, if the frame is well formed.
pub fn parse_frame(frame: [u8; 4]) -> Option<u16> {
    let [header, high, low, sum] = frame;
    let expected = HEADER.wrapping_add(high).wrapping_add(low);
    (header == HEADER && sum == expected).then(|| u16::from_be_bytes([high, low]))
}

/// What went wrong reading a distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    #[error("UART error: {0:?}")]
    Io(E),
    #[error("UART closed")]
    EndOfStream,
    #[error("no valid frame in {MAX_SCAN_BYTES} bytes")]
    NoFrame,
}

impl<E> From<Error<E>> for SensorFault {
    fn from(e: Error<E>) -> Self {
        match e {
            Error::Io(_) | Error::EndOfStream => SensorFault::Bus,
            Error::NoFrame => SensorFault::NoData,
        }
    }
}

/// The sensor on its UART.
#[derive(Debug)]
pub struct A02yyuw<R> {
    uart: R,
}

impl<R: Read> A02yyuw<R> {
    pub fn new(uart: R) -> Self {
        Self { uart }
    }

    /// The next valid distance in the stream, in millimetres.
    pub fn read_distance_mm(&mut self) -> Result<u16, Error<R::Error>> {
        let mut window = [0u8; 4];
        for scanned in 1..=MAX_SCAN_BYTES {
            let mut byte = [0u8];
            if self.uart.read(&mut byte).map_err(Error::Io)? == 0 {
                return Err(Error::EndOfStream);
            }
            window.rotate_left(1);
            window[3] = byte[0];
            if scanned >= 4 {
                if let Some(mm) = parse_frame(window) {
                    return Ok(mm);
                }
            }
        }
        Err(Error::NoFrame)
    }

    /// Gives the UART back.
    pub fn release(self) -> R {
        self.uart
    }
}

/// Water level from a downward-looking A02YYUW mounted `mount_height_m`
/// above the channel bottom.
#[derive(Debug)]
pub struct UltrasonicLevel<R> {
    sensor: A02yyuw<R>,
    mount_height_m: f32,
}

impl<R: Read> UltrasonicLevel<R> {
    pub fn new(sensor: A02yyuw<R>, mount_height_m: f32) -> Result<Self, ConfigError> {
        ConfigError::check(
            mount_height_m.is_finite() && mount_height_m > 0.0,
            "mount_height_m",
            "must be a positive number",
        )?;
        Ok(Self {
            sensor,
            mount_height_m,
        })
    }
}

impl<R: Read> LevelGauge for UltrasonicLevel<R> {
    /// Readings in the blind zone or beyond the range are faults, not levels.
    fn level_m(&mut self) -> Result<f32, SensorFault> {
        let mm = self.sensor.read_distance_mm()?;
        if !(MIN_DISTANCE_MM..=MAX_DISTANCE_MM).contains(&mm) {
            return Err(SensorFault::OutOfRange);
        }
        Ok((self.mount_height_m - f32::from(mm) / 1000.0).max(0.0))
    }
}
