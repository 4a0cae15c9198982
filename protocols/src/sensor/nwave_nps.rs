//! Nwave NPS (4th generation) in-ground parking sensor: the parking status
//! uplink (FPort 1, one byte) and the daily heartbeat (FPort 2, up to six
//! bytes, of which the first three are decoded). Layout and source in
//! `docs/SENSORS.md`. Startup, debug and tag-registration uplinks carry no
//! measurement and are refused as unsupported ports. This module never
//! reports occupancy from a byte the vendor did not define as occupancy.

use super::metrics::{BatteryCurve, MetricsBuilder};
use super::{check_len, EncodedUplink, PayloadBytes, SensorError, SensorMetrics};

/// FPort of the parking status uplink (sent on every change).
pub const STATUS_PORT: u32 = 1;
/// FPort of the heartbeat uplink (every 24 h by default).
pub const HEARTBEAT_PORT: u32 = 2;
/// Bytes of the heartbeat this decoder reads; later firmware appends up to
/// three more (temperature extremes, current draw), which are ignored.
const HEARTBEAT_DECODED_LEN: usize = 3;
const HEARTBEAT_MAX_LEN: usize = 6;

/// Largest compressed duration code (7 bits): "660 minutes or more".
const DURATION_CODE_MAX: u8 = 127;
/// Battery voltage = 2500 mV + 4 mV per step of the battery byte.
const BATTERY_BASE_MV: u16 = 2500;
const BATTERY_STEP_MV: u16 = 4;
/// Nwave flags 2.9 V as critical (above -5 °C); the byte tops out at 3.52 V.
const BATTERY: BatteryCurve = BatteryCurve {
    empty_mv: 2900,
    full_mv: 3500,
};

/// One Nwave uplink that carries a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NwaveFrame {
    /// The space changed state.
    ParkingStatus {
        occupied: bool,
        /// Compressed duration of the previous state (0..=127).
        previous_state_code: u8,
    },
    /// The daily health report.
    Heartbeat {
        occupied: bool,
        /// Battery voltage step: `2500 + 4 * code` millivolts.
        battery_code: u8,
        /// Temperature: `code / 2 + 10` degrees Celsius.
        temperature_code: i8,
    },
}

/// Compresses a previous-state duration in whole minutes the way the sensor
/// does: exact below 90 min, 5-min steps below 240, hourly steps below 660,
/// then saturated.
pub fn compress_duration_min(minutes: u32) -> u8 {
    let code = match minutes {
        0..90 => minutes,
        90..240 => 90 + (minutes - 90) / 5,
        240..660 => 120 + (minutes - 240) / 60,
        _ => u32::from(DURATION_CODE_MAX),
    };
    code.min(u32::from(DURATION_CODE_MAX)) as u8
}

/// The lower bound, in minutes, of a compressed duration.
fn decompress_duration_min(code: u8) -> u32 {
    let code = u32::from(code.min(DURATION_CODE_MAX));
    match code {
        0..90 => code,
        90..120 => 90 + (code - 90) * 5,
        120..127 => 240 + (code - 120) * 60,
        _ => 660,
    }
}

impl NwaveFrame {
    /// A heartbeat from physical values, rounded down to the wire's steps.
    pub fn heartbeat(
        occupied: bool,
        battery_mv: u16,
        temperature_c: f64,
    ) -> Result<Self, SensorError> {
        let step = battery_mv
            .checked_sub(BATTERY_BASE_MV)
            .map(|above| above / BATTERY_STEP_MV)
            .ok_or(SensorError::OutOfRange("battery_mv"))?;
        let battery_code = u8::try_from(step).map_err(|_| SensorError::OutOfRange("battery_mv"))?;
        let half_degrees = (temperature_c - 10.0) * 2.0;
        if !(f64::from(i8::MIN)..=f64::from(i8::MAX)).contains(&half_degrees) {
            return Err(SensorError::OutOfRange("temperature_c"));
        }
        Ok(Self::Heartbeat {
            occupied,
            battery_code,
            temperature_code: half_degrees as i8,
        })
    }

    pub(crate) fn parse(f_port: u32, bytes: &[u8]) -> Result<Self, SensorError> {
        match f_port {
            STATUS_PORT => {
                check_len(bytes, 1, 1)?;
                Ok(Self::ParkingStatus {
                    occupied: bytes[0] & 1 == 1,
                    previous_state_code: bytes[0] >> 1,
                })
            }
            HEARTBEAT_PORT => {
                check_len(bytes, HEARTBEAT_DECODED_LEN, HEARTBEAT_MAX_LEN)?;
                Ok(Self::Heartbeat {
                    occupied: bytes[0] & 1 == 1,
                    battery_code: bytes[1],
                    temperature_code: bytes[2] as i8,
                })
            }
            other => Err(SensorError::UnsupportedPort(other)),
        }
    }

    pub(crate) fn encode(&self) -> Result<EncodedUplink, SensorError> {
        match *self {
            Self::ParkingStatus {
                occupied,
                previous_state_code,
            } => {
                if previous_state_code > DURATION_CODE_MAX {
                    return Err(SensorError::OutOfRange("previous_state_code"));
                }
                Ok(EncodedUplink {
                    f_port: STATUS_PORT,
                    bytes: PayloadBytes::from_array(
                        [previous_state_code << 1 | u8::from(occupied)],
                    ),
                })
            }
            Self::Heartbeat {
                occupied,
                battery_code,
                temperature_code,
            } => Ok(EncodedUplink {
                f_port: HEARTBEAT_PORT,
                bytes: PayloadBytes::from_array([
                    u8::from(occupied),
                    battery_code,
                    temperature_code as u8,
                ]),
            }),
        }
    }

    /// Status: `occupied`, `previous_state_s` (lower bound). Heartbeat:
    /// `occupied`, `battery_v`, `battery_pct`, `temperature_c`.
    pub(crate) fn metrics(&self) -> Result<SensorMetrics, SensorError> {
        let mut out = MetricsBuilder::default();
        match *self {
            Self::ParkingStatus {
                occupied,
                previous_state_code,
            } => {
                out.flag("occupied", occupied)?;
                let minutes = decompress_duration_min(previous_state_code);
                out.number("previous_state_s", f64::from(minutes * 60))?;
            }
            Self::Heartbeat {
                occupied,
                battery_code,
                temperature_code,
            } => {
                out.flag("occupied", occupied)?;
                let mv = BATTERY_BASE_MV + BATTERY_STEP_MV * u16::from(battery_code);
                BATTERY.push(&mut out, mv)?;
                out.number("temperature_c", f64::from(temperature_code) / 2.0 + 10.0)?;
            }
        }
        Ok(out.finish())
    }
}
