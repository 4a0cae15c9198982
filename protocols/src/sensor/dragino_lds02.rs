//! Dragino LDS02 door sensor (reed switch), as fitted to parking barriers
//! and pump-room doors: FPort 10, 10 bytes, big-endian (layout and source in
//! `docs/SENSORS.md`). Only the door mode (MOD 1) is decoded; the water-leak
//! modes of the sibling LWL02 firmware are refused. This module never reads
//! the door state from a payload of another mode or length.

use super::metrics::{BatteryCurve, MetricsBuilder};
use super::{check_len, EncodedUplink, PayloadBytes, SensorError, SensorMetrics};

/// The FPort of status uplinks.
pub const LDS02_PORT: u32 = 10;
/// Payload length of a status uplink.
pub const LDS02_LEN: usize = 10;

/// The door mode's MOD byte.
const DOOR_MODE: u8 = 1;
/// Bit 7 of byte 0: the door is open.
const DOOR_OPEN_BIT: u8 = 0x80;
/// The battery field keeps its voltage in the low 14 bits.
const BATTERY_MASK: u16 = 0x3FFF;
/// The counters are 24 bits wide.
const U24_MAX: u32 = 0x00FF_FFFF;
/// Voltages two AAA cells (alkaline or lithium) can report.
const BATTERY_PLAUSIBLE_MV: core::ops::RangeInclusive<u16> = 1500..=3700;
/// Two fresh alkaline AAA cells read 3.0 V; below 2.1 V the node stops
/// working reliably. Coarse: see `docs/SENSORS.md`.
const BATTERY: BatteryCurve = BatteryCurve {
    empty_mv: 2100,
    full_mv: 3000,
};

/// One LDS02 status uplink, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lds02Frame {
    /// The reed switch is open (magnet away): door open.
    pub door_open: bool,
    /// Battery voltage in millivolts (14 bits).
    pub battery_mv: u16,
    /// Door openings counted since the counter was last cleared (24 bits).
    pub opens_total: u32,
    /// Duration of the last opening, in minutes (24 bits).
    pub last_open_min: u32,
    /// The door stayed open beyond the configured alarm timeout.
    pub alarm: bool,
}

fn be24(b: &[u8; 3]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

fn to_be24(x: u32, field: &'static str) -> Result<[u8; 3], SensorError> {
    if x > U24_MAX {
        return Err(SensorError::OutOfRange(field));
    }
    let [_, a, b, c] = x.to_be_bytes();
    Ok([a, b, c])
}

impl Lds02Frame {
    pub(crate) fn parse(f_port: u32, bytes: &[u8]) -> Result<Self, SensorError> {
        if f_port != LDS02_PORT {
            return Err(SensorError::UnsupportedPort(f_port));
        }
        check_len(bytes, LDS02_LEN, LDS02_LEN)?;
        let Ok([s0, s1, mode, o0, o1, o2, d0, d1, d2, flags]) = <[u8; LDS02_LEN]>::try_from(bytes)
        else {
            return Err(SensorError::TooShort {
                min: LDS02_LEN,
                got: bytes.len(),
            });
        };
        if mode != DOOR_MODE {
            return Err(SensorError::OutOfRange("mod"));
        }
        Ok(Self {
            door_open: s0 & DOOR_OPEN_BIT != 0,
            battery_mv: u16::from_be_bytes([s0, s1]) & BATTERY_MASK,
            opens_total: be24(&[o0, o1, o2]),
            last_open_min: be24(&[d0, d1, d2]),
            alarm: flags & 1 == 1,
        })
    }

    pub(crate) fn encode(&self) -> Result<EncodedUplink, SensorError> {
        if self.battery_mv > BATTERY_MASK {
            return Err(SensorError::OutOfRange("battery_mv"));
        }
        let [b0, b1] = self.battery_mv.to_be_bytes();
        let status = b0 | if self.door_open { DOOR_OPEN_BIT } else { 0 };
        let [o0, o1, o2] = to_be24(self.opens_total, "opens_total")?;
        let [d0, d1, d2] = to_be24(self.last_open_min, "last_open_min")?;
        let raw: [u8; LDS02_LEN] = [
            status,
            b1,
            DOOR_MODE,
            o0,
            o1,
            o2,
            d0,
            d1,
            d2,
            u8::from(self.alarm),
        ];
        Ok(EncodedUplink {
            f_port: LDS02_PORT,
            bytes: PayloadBytes::from_slice(&raw)
                .map_err(|_| SensorError::OutOfRange("payload length"))?,
        })
    }

    /// `door` (`open`/`closed`), `battery_v`, `battery_pct`,
    /// `door_opens_total`, `last_open_s` and `open_alarm`.
    pub(crate) fn metrics(&self) -> Result<SensorMetrics, SensorError> {
        if !BATTERY_PLAUSIBLE_MV.contains(&self.battery_mv) {
            return Err(SensorError::OutOfRange("battery_mv"));
        }
        let mut out = MetricsBuilder::default();
        out.text("door", if self.door_open { "open" } else { "closed" })?;
        BATTERY.push(&mut out, self.battery_mv)?;
        out.number("door_opens_total", f64::from(self.opens_total))?;
        out.number("last_open_s", f64::from(self.last_open_min) * 60.0)?;
        out.flag("open_alarm", self.alarm)?;
        Ok(out.finish())
    }
}
