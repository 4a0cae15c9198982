//! Events and alarms (spec §4): names, severities and states.
//!
//! Event names follow the metric-name rule. This module defines the
//! vocabulary only; it must never decide when an event is raised.

use core::fmt;

use crate::id::IdError;
use crate::metric::{name_rest, name_start, validated_name, NAME_MAX_LEN};

validated_name!(
    /// A validated event name such as `entrapment` or `high_water`.
    EventName, NAME_MAX_LEN, name_start, name_rest, "an event name"
);

/// Declares a closed string enum with `as_str`, `FromStr` and serde.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl core::str::FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, UnknownVariant> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or(UnknownVariant)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str($crate::metric::ValidatedVisitor::<Self>::new(stringify!($name)))
            }
        }

        impl $crate::metric::Validated for $name {
            type Error = UnknownVariant;
            fn validate(s: &str) -> Result<Self, UnknownVariant> {
                s.parse()
            }
        }
    };
}

/// The string is not one of the enum's variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is not one of the allowed values")]
pub struct UnknownVariant;

string_enum!(
    /// How urgent an alarm is.
    Severity { Critical => "critical", Major => "major", Minor => "minor", Info => "info" }
);

string_enum!(
    /// Where an alarm is in its life.
    EventState { Raised => "raised", Cleared => "cleared", Instant => "instant" }
);

string_enum!(
    /// Where a reading came from.
    Source {
        Lorawan => "lorawan",
        Mqtt => "mqtt",
        Serial => "serial",
        Modbus => "modbus",
        Ocpp => "ocpp",
        Gateway => "gateway",
    }
);

string_enum!(
    /// Whether a device is reporting.
    Presence { Online => "online", Offline => "offline", Unknown => "unknown" }
);

string_enum!(
    /// The events of the model (spec §4), by name.
    KnownEvent {
        Entrapment => "entrapment",
        DoorFault => "door_fault",
        StoppedOutsideLanding => "stopped_outside_landing",
        PowerLoss => "power_loss",
        ChargerFault => "charger_fault",
        SessionStarted => "session_started",
        SessionStopped => "session_stopped",
        HighWater => "high_water",
        BlockageSuspected => "blockage_suspected",
        BatteryLow => "battery_low",
        SensorFault => "sensor_fault",
        Offline => "offline",
        JournalOverflow => "journal_overflow",
        JournalFailure => "journal_failure",
        LinkFailure => "link_failure",
        Stale => "stale",
    }
);

impl From<KnownEvent> for EventName {
    /// Known names are valid by construction (checked by a test).
    fn from(k: KnownEvent) -> Self {
        let mut s = heapless::String::new();
        let _ = s.push_str(k.as_str());
        EventName(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_events_are_valid_names() {
        for k in KnownEvent::ALL {
            assert_eq!(EventName::parse(k.as_str()), Ok(EventName::from(*k)));
        }
    }

    #[test]
    fn closed_enums_round_trip() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(*s));
        }
        assert_eq!("fatal".parse::<Severity>(), Err(UnknownVariant));
        assert_eq!("raised".parse::<EventState>(), Ok(EventState::Raised));
        assert!(EventName::parse("high_water").is_ok());
        assert!(EventName::parse("high water").is_err());
    }
}
