//! Dragino LDDS75 ultrasonic distance sensor, as mounted over a drainage
//! well: FPort 2, 8 bytes, big-endian (layout and source in
//! `docs/SENSORS.md`). The water level is the mount height minus the
//! measured distance. A missing probe, a zero distance or a distance outside
//! the probe's 280..=7500 mm range is a [`SensorFault`], never a level.
//! This module never guesses a level it cannot measure.

use super::metrics::{level_m, BatteryCurve, MetricsBuilder};
use super::{
    check_len, DecodeParams, EncodedUplink, PayloadBytes, SensorError, SensorFault, SensorMetrics,
};

/// The FPort of measurement uplinks.
pub const LDDS75_PORT: u32 = 2;
/// Payload length of a measurement uplink.
pub const LDDS75_LEN: usize = 8;

/// The battery field keeps its voltage in the low 14 bits.
const BATTERY_MASK: u16 = 0x3FFF;
/// Voltages a 3.6 V Li-SOCl2 cell powering the node can report.
const BATTERY_PLAUSIBLE_MV: core::ops::RangeInclusive<u16> = 2000..=3900;
/// Dragino: replace the battery below 2.7 V; a fresh cell shows 3.6 V.
const BATTERY: BatteryCurve = BatteryCurve {
    empty_mv: 2700,
    full_mv: 3600,
};
/// The probe's specified flat-object range.
const PROBE_RANGE_MM: core::ops::RangeInclusive<u16> = 280..=7500;
/// The DS18B20 probe's range, in tenths of a degree; outside it the
/// optional temperature probe is absent or broken and is left out.
const DS18B20_RANGE_DC: core::ops::RangeInclusive<i16> = -550..=1250;

/// One LDDS75 measurement uplink, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ldds75Frame {
    /// Battery voltage in millivolts (14 bits).
    pub battery_mv: u16,
    /// Distance from the probe to the water surface, in millimetres.
    pub distance_mm: u16,
    /// The uplink was triggered by the interrupt pin.
    pub interrupt: bool,
    /// Optional DS18B20 temperature, in tenths of a degree Celsius.
    pub temperature_dc: i16,
    /// The node detected its ultrasonic probe.
    pub probe_detected: bool,
}

fn flag(byte: u8, field: &'static str) -> Result<bool, SensorError> {
    match byte {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(SensorError::OutOfRange(field)),
    }
}

impl Ldds75Frame {
    pub(crate) fn parse(f_port: u32, bytes: &[u8]) -> Result<Self, SensorError> {
        if f_port != LDDS75_PORT {
            return Err(SensorError::UnsupportedPort(f_port));
        }
        check_len(bytes, LDDS75_LEN, LDDS75_LEN)?;
        let be16 = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        Ok(Self {
            battery_mv: be16(0) & BATTERY_MASK,
            distance_mm: be16(2),
            interrupt: flag(bytes[4], "interrupt_flag")?,
            temperature_dc: be16(5) as i16,
            probe_detected: flag(bytes[7], "sensor_flag")?,
        })
    }

    pub(crate) fn encode(&self) -> Result<EncodedUplink, SensorError> {
        if self.battery_mv > BATTERY_MASK {
            return Err(SensorError::OutOfRange("battery_mv"));
        }
        let [b0, b1] = self.battery_mv.to_be_bytes();
        let [d0, d1] = self.distance_mm.to_be_bytes();
        let [t0, t1] = self.temperature_dc.to_be_bytes();
        let raw: [u8; LDDS75_LEN] = [
            b0,
            b1,
            d0,
            d1,
            u8::from(self.interrupt),
            t0,
            t1,
            u8::from(self.probe_detected),
        ];
        Ok(EncodedUplink {
            f_port: LDDS75_PORT,
            bytes: PayloadBytes::from_array(raw),
        })
    }

    /// `battery_v`, `battery_pct`, `distance_mm`, `level_m` (with a mount
    /// height), `temperature_c` (with a DS18B20) and `interrupt`.
    pub(crate) fn metrics(&self, params: &DecodeParams) -> Result<SensorMetrics, SensorError> {
        self.check_probe()?;
        if !BATTERY_PLAUSIBLE_MV.contains(&self.battery_mv) {
            return Err(SensorError::OutOfRange("battery_mv"));
        }
        let mut out = MetricsBuilder::default();
        BATTERY.push(&mut out, self.battery_mv)?;
        out.number("distance_mm", f64::from(self.distance_mm))?;
        if let Some(mount_m) = params.mount_height_m {
            out.number("level_m", level_m(mount_m, self.distance_mm)?)?;
        }
        if DS18B20_RANGE_DC.contains(&self.temperature_dc) {
            out.number("temperature_c", f64::from(self.temperature_dc) / 10.0)?;
        }
        out.flag("interrupt", self.interrupt)?;
        Ok(out.finish())
    }

    fn check_probe(&self) -> Result<(), SensorError> {
        let fault = if !self.probe_detected {
            SensorFault::NoProbe
        } else if self.distance_mm == 0 {
            SensorFault::NoEcho
        } else if !PROBE_RANGE_MM.contains(&self.distance_mm) {
            SensorFault::BeyondProbeRange
        } else {
            return Ok(());
        };
        Err(SensorError::SensorFault(fault))
    }
}
