//! LoRaWAN sensor payload formats (spec §7): the byte layouts of the
//! third-party sensors whose uplinks the gateway decodes when ChirpStack
//! delivers no `object`, chosen by a device's `decoder` config key, and the
//! matching encoders the simulator and tests use.
//!
//! Every format is a pure function of the payload bytes, the fPort and the
//! device's parameters. This module never allocates, never panics on any
//! input, range-checks every field, and never invents a value the payload
//! did not carry. The layouts and their sources are in `docs/SENSORS.md`.

mod dragino_ldds75;
mod dragino_lds02;
mod metrics;
mod milesight_em310_udl;
mod nwave_nps;
#[cfg(test)]
mod tests;

use core::fmt;
use core::str::FromStr;

use crate::kind::DeviceKind;
use crate::metric::{MetricName, Value};

pub use dragino_ldds75::Ldds75Frame;
pub use dragino_lds02::Lds02Frame;
pub use milesight_em310_udl::Em310UdlFrame;
pub use nwave_nps::{compress_duration_min, NwaveFrame};

/// Most metrics one uplink decodes to.
pub const MAX_METRICS: usize = 8;
/// Largest payload any supported format produces.
pub const MAX_PAYLOAD_BYTES: usize = 10;

/// The metrics of one decoded uplink, in a fixed order per format.
pub type SensorMetrics = heapless::Vec<(MetricName, Value), MAX_METRICS>;
/// An encoded application payload.
pub type PayloadBytes = heapless::Vec<u8, MAX_PAYLOAD_BYTES>;

/// A payload format, named by the device's `decoder` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SensorFormat {
    /// Dragino LDDS75 ultrasonic distance sensor (drainage level).
    DraginoLdds75,
    /// Nwave NPS (4th generation) in-ground parking sensor.
    NwaveNps,
    /// Milesight EM310-UDL ultrasonic distance sensor (drainage level).
    MilesightEm310Udl,
    /// Dragino LDS02 door sensor (parking barriers, pump-room doors).
    DraginoLds02,
}

/// The `decoder` key names no supported format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown decoder (expected dragino_ldds75, nwave_nps, milesight_em310_udl or dragino_lds02)"
)]
pub struct UnknownSensorFormat;

impl SensorFormat {
    /// Every format; the first of each kind is the simulator's default.
    pub const ALL: [SensorFormat; 4] = [
        Self::DraginoLdds75,
        Self::NwaveNps,
        Self::MilesightEm310Udl,
        Self::DraginoLds02,
    ];

    /// The config key.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DraginoLdds75 => "dragino_ldds75",
            Self::NwaveNps => "nwave_nps",
            Self::MilesightEm310Udl => "milesight_em310_udl",
            Self::DraginoLds02 => "dragino_lds02",
        }
    }

    /// The kind of device that speaks this format (a door sensor counts as
    /// parking: barriers; the gateway accepts it on any kind of device).
    pub const fn kind(self) -> DeviceKind {
        match self {
            Self::DraginoLdds75 | Self::MilesightEm310Udl => DeviceKind::Drainage,
            Self::NwaveNps | Self::DraginoLds02 => DeviceKind::Parking,
        }
    }
}

impl FromStr for SensorFormat {
    type Err = UnknownSensorFormat;
    fn from_str(s: &str) -> Result<Self, UnknownSensorFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(UnknownSensorFormat)
    }
}

impl fmt::Display for SensorFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the decoder needs besides the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DecodeParams {
    /// The uplink's LoRaWAN FPort (ChirpStack `fPort`; missing means 0).
    pub f_port: u32,
    /// Height of a distance sensor above the well bottom, in metres; when
    /// absent, `level_m` is not computed.
    pub mount_height_m: Option<f64>,
}

/// Why the device's own probe produced no usable measurement. The payload
/// itself was well-formed: callers raise `sensor_fault` for these rather
/// than dead-lettering the uplink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorFault {
    /// The node reports no probe connected.
    NoProbe,
    /// The probe answered with distance 0 (no echo).
    NoEcho,
    /// The measurement lies outside the probe's specified range.
    BeyondProbeRange,
}

impl fmt::Display for SensorFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoProbe => "no probe detected",
            Self::NoEcho => "probe returned no echo (distance 0)",
            Self::BeyondProbeRange => "distance outside the probe's range",
        })
    }
}

/// Why an uplink could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SensorError {
    #[error("payload is {got} bytes, expected at least {min}")]
    TooShort { min: usize, got: usize },
    #[error("payload is {got} bytes, expected at most {max}")]
    TooLong { max: usize, got: usize },
    #[error("fPort {0} carries no measurement in this format")]
    UnsupportedPort(u32),
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("sensor fault: {0}")]
    SensorFault(SensorFault),
    #[error("mount_height_m must be a finite number of metres above 0")]
    BadMountHeight,
    #[error("uplink carries no measurement (device information only)")]
    NoMeasurement,
}

impl SensorError {
    /// Whether the device reported a fault of its probe (raise
    /// `sensor_fault`) rather than sending a bad payload (dead-letter it).
    pub const fn is_sensor_fault(&self) -> bool {
        matches!(self, Self::SensorFault(_))
    }

    /// A short machine-readable reason, valid as an [`crate::Id`].
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "payload_too_short",
            Self::TooLong { .. } => "payload_too_long",
            Self::UnsupportedPort(_) => "unsupported_fport",
            Self::OutOfRange(_) => "out_of_range",
            Self::SensorFault(_) => "sensor_fault",
            Self::BadMountHeight => "bad_mount_height",
            Self::NoMeasurement => "no_measurement",
        }
    }
}

/// One uplink of a supported sensor, field by field as it travels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SensorFrame {
    Ldds75(Ldds75Frame),
    Nwave(NwaveFrame),
    Em310Udl(Em310UdlFrame),
    Lds02(Lds02Frame),
}

/// An application payload and the FPort it travels on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedUplink {
    pub f_port: u32,
    pub bytes: PayloadBytes,
}

impl SensorFrame {
    pub const fn format(&self) -> SensorFormat {
        match self {
            Self::Ldds75(_) => SensorFormat::DraginoLdds75,
            Self::Nwave(_) => SensorFormat::NwaveNps,
            Self::Em310Udl(_) => SensorFormat::MilesightEm310Udl,
            Self::Lds02(_) => SensorFormat::DraginoLds02,
        }
    }

    /// The normalized metrics this frame carries.
    pub fn metrics(&self, params: &DecodeParams) -> Result<SensorMetrics, SensorError> {
        match self {
            Self::Ldds75(f) => f.metrics(params),
            Self::Nwave(f) => f.metrics(),
            Self::Em310Udl(f) => f.metrics(params),
            Self::Lds02(f) => f.metrics(),
        }
    }
}

/// Checks a payload's length against the format's bounds.
pub(crate) fn check_len(bytes: &[u8], min: usize, max: usize) -> Result<(), SensorError> {
    let got = bytes.len();
    if got < min {
        Err(SensorError::TooShort { min, got })
    } else if got > max {
        Err(SensorError::TooLong { max, got })
    } else {
        Ok(())
    }
}

/// Splits a payload into its fields without interpreting them.
pub fn parse(format: SensorFormat, f_port: u32, bytes: &[u8]) -> Result<SensorFrame, SensorError> {
    match format {
        SensorFormat::DraginoLdds75 => Ldds75Frame::parse(f_port, bytes).map(SensorFrame::Ldds75),
        SensorFormat::NwaveNps => NwaveFrame::parse(f_port, bytes).map(SensorFrame::Nwave),
        SensorFormat::MilesightEm310Udl => {
            Em310UdlFrame::parse(f_port, bytes).map(SensorFrame::Em310Udl)
        }
        SensorFormat::DraginoLds02 => Lds02Frame::parse(f_port, bytes).map(SensorFrame::Lds02),
    }
}

/// Decodes an uplink's application payload into normalized metrics.
pub fn decode(
    format: SensorFormat,
    bytes: &[u8],
    params: &DecodeParams,
) -> Result<SensorMetrics, SensorError> {
    parse(format, params.f_port, bytes)?.metrics(params)
}

/// Encodes a frame as the device would send it.
pub fn encode(frame: &SensorFrame) -> Result<EncodedUplink, SensorError> {
    match frame {
        SensorFrame::Ldds75(f) => f.encode(),
        SensorFrame::Nwave(f) => f.encode(),
        SensorFrame::Em310Udl(f) => f.encode(),
        SensorFrame::Lds02(f) => f.encode(),
    }
}
