//! Device kinds (spec §4): the first-level classification of every device,
//! used as the topic level and the line-protocol measurement. Never
//! extended ad hoc outside this file.

use core::fmt;
use core::str::FromStr;

/// What a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceKind {
    Elevator,
    EvCharger,
    Parking,
    Drainage,
    /// The gateway daemon itself.
    Gateway,
}

/// The string is not one of the known device kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown device kind (expected elevator, ev_charger, parking, drainage or gateway)")]
pub struct UnknownKind;

impl DeviceKind {
    pub const ALL: [DeviceKind; 5] = [
        Self::Elevator,
        Self::EvCharger,
        Self::Parking,
        Self::Drainage,
        Self::Gateway,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Elevator => "elevator",
            Self::EvCharger => "ev_charger",
            Self::Parking => "parking",
            Self::Drainage => "drainage",
            Self::Gateway => "gateway",
        }
    }
}

impl FromStr for DeviceKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(UnknownKind)
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for DeviceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for DeviceKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(crate::metric::ValidatedVisitor::<Self>::new(
            "a device kind",
        ))
    }
}

impl crate::metric::Validated for DeviceKind {
    type Error = UnknownKind;
    fn validate(s: &str) -> Result<Self, UnknownKind> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        for k in DeviceKind::ALL {
            assert_eq!(k.as_str().parse::<DeviceKind>(), Ok(k));
        }
        assert_eq!("Elevator".parse::<DeviceKind>(), Err(UnknownKind));
        assert_eq!("".parse::<DeviceKind>(), Err(UnknownKind));
    }
}
