//! Milesight EM310-UDL ultrasonic distance sensor over a drainage well:
//! FPort 85, a sequence of channel records (channel id, type, little-endian
//! data; layout and source in `docs/SENSORS.md`). Battery, distance and
//! position are decoded; the device-information records (channel 0xFF) are
//! skipped by their documented lengths. An unknown channel stops decoding,
//! because its length, and so everything after it, is unknown. This module
//! never reports a level from a distance of 0 (no echo) and never accepts a
//! record twice in one uplink.

use super::metrics::{level_m, MetricsBuilder};
use super::{DecodeParams, EncodedUplink, PayloadBytes, SensorError, SensorFault, SensorMetrics};

/// The FPort of Milesight uplinks.
pub const EM310_UDL_PORT: u32 = 85;
/// Longest uplink accepted: every documented record once is 44 bytes.
const MAX_LEN: usize = 64;

const BATTERY: (u8, u8) = (0x01, 0x75);
const DISTANCE: (u8, u8) = (0x03, 0x82);
const POSITION: (u8, u8) = (0x04, 0x00);
/// Device-information records (channel 0xFF) by type, with their data length.
const ATTRIBUTES: [(u8, usize); 8] = [
    (0x01, 1), // IPSO version
    (0x09, 2), // hardware version
    (0x0A, 2), // firmware version
    (0xFF, 2), // TSL version
    (0x16, 8), // serial number
    (0x0F, 1), // LoRaWAN class
    (0xFE, 1), // reset event
    (0x0B, 1), // device status (power on)
];

/// The measurements of one EM310-UDL uplink; each record is optional on the
/// wire, but an uplink carries at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Em310UdlFrame {
    /// Remaining battery, in percent (0..=100).
    pub battery_pct: Option<u8>,
    /// Distance from the probe to the surface, in millimetres.
    pub distance_mm: Option<u16>,
    /// The device reports itself tilted (20° or more off horizontal).
    pub tilted: Option<bool>,
}

/// One channel record: its (id, type) and its data.
struct Record<'a> {
    key: (u8, u8),
    data: &'a [u8],
}

/// Splits the next record off `rest`.
fn next_record<'a>(rest: &mut &'a [u8], total: usize) -> Result<Record<'a>, SensorError> {
    let &[id, kind, ref tail @ ..] = *rest else {
        return Err(SensorError::TooShort {
            min: total - rest.len() + 2,
            got: total,
        });
    };
    let len = data_len((id, kind))?;
    let (data, after) = tail.split_at_checked(len).ok_or(SensorError::TooShort {
        min: total - tail.len() + len,
        got: total,
    })?;
    *rest = after;
    Ok(Record {
        key: (id, kind),
        data,
    })
}

/// The data length of a documented record.
fn data_len(key: (u8, u8)) -> Result<usize, SensorError> {
    match key {
        BATTERY | POSITION => Ok(1),
        DISTANCE => Ok(2),
        (0xFF, kind) => ATTRIBUTES
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, len)| *len)
            .ok_or(SensorError::OutOfRange("channel type")),
        _ => Err(SensorError::OutOfRange("channel")),
    }
}

/// Stores a record's value, refusing a second one.
fn set_once<T>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<(), SensorError> {
    if slot.replace(value).is_some() {
        return Err(SensorError::OutOfRange(field));
    }
    Ok(())
}

impl Em310UdlFrame {
    pub(crate) fn parse(f_port: u32, bytes: &[u8]) -> Result<Self, SensorError> {
        if f_port != EM310_UDL_PORT {
            return Err(SensorError::UnsupportedPort(f_port));
        }
        super::check_len(bytes, 2, MAX_LEN)?;
        let mut frame = Self::default();
        let mut rest = bytes;
        while !rest.is_empty() {
            let record = next_record(&mut rest, bytes.len())?;
            frame.apply(&record)?;
        }
        if frame == Self::default() {
            return Err(SensorError::NoMeasurement);
        }
        Ok(frame)
    }

    fn apply(&mut self, record: &Record<'_>) -> Result<(), SensorError> {
        match (record.key, record.data) {
            (BATTERY, [pct]) => set_once(&mut self.battery_pct, *pct, "battery record"),
            (DISTANCE, [lo, hi]) => set_once(
                &mut self.distance_mm,
                u16::from_le_bytes([*lo, *hi]),
                "distance record",
            ),
            (POSITION, [p]) => {
                let tilted = match p {
                    0 => false,
                    1 => true,
                    _ => return Err(SensorError::OutOfRange("position")),
                };
                set_once(&mut self.tilted, tilted, "position record")
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn encode(&self) -> Result<EncodedUplink, SensorError> {
        let overflow = |_| SensorError::OutOfRange("payload length");
        let mut bytes = PayloadBytes::new();
        if let Some(pct) = self.battery_pct {
            bytes
                .extend_from_slice(&[BATTERY.0, BATTERY.1, pct])
                .map_err(overflow)?;
        }
        if let Some(mm) = self.distance_mm {
            let [lo, hi] = mm.to_le_bytes();
            bytes
                .extend_from_slice(&[DISTANCE.0, DISTANCE.1, lo, hi])
                .map_err(overflow)?;
        }
        if let Some(tilted) = self.tilted {
            bytes
                .extend_from_slice(&[POSITION.0, POSITION.1, u8::from(tilted)])
                .map_err(overflow)?;
        }
        if bytes.is_empty() {
            return Err(SensorError::NoMeasurement);
        }
        Ok(EncodedUplink {
            f_port: EM310_UDL_PORT,
            bytes,
        })
    }

    /// `battery_pct`, `distance_mm`, `level_m` (with a mount height) and
    /// `tilt`, each when its record was in the uplink.
    pub(crate) fn metrics(&self, params: &DecodeParams) -> Result<SensorMetrics, SensorError> {
        let mut out = MetricsBuilder::default();
        if let Some(pct) = self.battery_pct {
            if pct > 100 {
                return Err(SensorError::OutOfRange("battery_pct"));
            }
            out.number("battery_pct", f64::from(pct))?;
        }
        if let Some(mm) = self.distance_mm {
            if mm == 0 {
                return Err(SensorError::SensorFault(SensorFault::NoEcho));
            }
            out.number("distance_mm", f64::from(mm))?;
            if let Some(mount_m) = params.mount_height_m {
                out.number("level_m", level_m(mount_m, mm)?)?;
            }
        }
        if let Some(tilted) = self.tilted {
            out.flag("tilt", tilted)?;
        }
        Ok(out.finish())
    }
}
