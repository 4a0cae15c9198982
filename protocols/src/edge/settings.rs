//! Node settings over the edge link (EDGE_LINK.md §5, Config and
//! Heartbeat): the key/value list a Config frame carries and a Heartbeat
//! reports back, and the settings this version defines, with the device
//! kinds they apply to and the range each value must lie in.
//!
//! The gateway validates its configuration and the node validates what it
//! receives with the same [`Setting::check`], so a value the gateway sends
//! is never refused for its range. This module must never allocate and
//! never decide what a node does with a setting.

use core::fmt;

use super::message::ConfigKey;
use crate::{DeviceKind, IdError, Value};

/// Most settings one Config frame or Heartbeat report carries.
pub const MAX_SETTINGS: usize = 8;

/// Distinct keys with their values, at most [`MAX_SETTINGS`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    pairs: heapless::Vec<(ConfigKey, Value), MAX_SETTINGS>,
}

/// Why a setting could not be added to a [`Settings`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("more than {MAX_SETTINGS} settings")]
    TooMany,
    #[error("setting appears twice")]
    Duplicate,
    #[error("a setting's value must be a finite number")]
    NotFinite,
    #[error("not a valid setting key")]
    BadKey,
}

impl Settings {
    pub const fn new() -> Self {
        Self {
            pairs: heapless::Vec::new(),
        }
    }

    /// Adds a setting; a key already present or a full list is refused.
    pub fn push(&mut self, key: ConfigKey, value: Value) -> Result<(), SettingsError> {
        if self.pairs.iter().any(|(k, _)| *k == key) {
            return Err(SettingsError::Duplicate);
        }
        self.pairs
            .push((key, value))
            .map_err(|_| SettingsError::TooMany)
    }

    /// Adds one of the defined settings as a number.
    pub fn push_number(&mut self, setting: Setting, x: f64) -> Result<(), SettingsError> {
        let value = Value::number(x).map_err(|_| SettingsError::NotFinite)?;
        let key = setting.key().map_err(|_| SettingsError::BadKey)?;
        self.push(key, value)
    }

    pub fn pairs(&self) -> &[(ConfigKey, Value)] {
        &self.pairs
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.pairs
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// The settings this version of the link defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Setting {
    /// Longest time between two telemetry snapshots, seconds (every kind).
    ReportIntervalS,
    /// Drainage: level that raises `high_water` (major), metres.
    WarningM,
    /// Drainage: level that escalates `high_water` to critical, metres.
    OverflowM,
    /// Drainage: how far below a threshold the level must fall to step
    /// back down, metres.
    HysteresisM,
    /// Elevator: how long an occupied car stands still with closed doors
    /// before `entrapment` is raised, seconds.
    EntrapmentAfterS,
}

/// Why a value is not acceptable for a setting.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SettingError {
    #[error("must be a number")]
    NotANumber,
    #[error("must be a whole number")]
    NotAnInteger,
    #[error("must be between {min} and {max}")]
    OutOfRange { min: f64, max: f64 },
}

impl Setting {
    pub const ALL: [Setting; 5] = [
        Self::ReportIntervalS,
        Self::WarningM,
        Self::OverflowM,
        Self::HysteresisM,
        Self::EntrapmentAfterS,
    ];

    /// The key on the wire and in configuration files.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ReportIntervalS => "report_interval_s",
            Self::WarningM => "warning_m",
            Self::OverflowM => "overflow_m",
            Self::HysteresisM => "hysteresis_m",
            Self::EntrapmentAfterS => "entrapment_after_s",
        }
    }

    /// The setting called `name`, if this version defines one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The key as a validated [`ConfigKey`] (every name above is valid,
    /// which the tests check).
    pub fn key(self) -> Result<ConfigKey, IdError> {
        ConfigKey::parse(self.name())
    }

    /// Whether a node of `kind` uses this setting.
    pub const fn applies_to(self, kind: DeviceKind) -> bool {
        match self {
            Self::ReportIntervalS => matches!(
                kind,
                DeviceKind::Elevator | DeviceKind::Parking | DeviceKind::Drainage
            ),
            Self::WarningM | Self::OverflowM | Self::HysteresisM => {
                matches!(kind, DeviceKind::Drainage)
            }
            Self::EntrapmentAfterS => matches!(kind, DeviceKind::Elevator),
        }
    }

    /// Inclusive bounds of the value, and whether it must be whole.
    pub const fn range(self) -> (f64, f64, bool) {
        match self {
            Self::ReportIntervalS => (1.0, 86_400.0, true),
            Self::WarningM | Self::OverflowM => (0.0, 100.0, false),
            Self::HysteresisM => (0.001, 10.0, false),
            Self::EntrapmentAfterS => (1.0, 3_600.0, true),
        }
    }

    /// The value as a number within this setting's range, or why not.
    pub fn check(self, value: &Value) -> Result<f64, SettingError> {
        let Value::Number(x) = *value else {
            return Err(SettingError::NotANumber);
        };
        let (min, max, whole) = self.range();
        if !(min..=max).contains(&x) {
            return Err(SettingError::OutOfRange { min, max });
        }
        // In range, so the cast is exact for whole numbers.
        if whole && f64::from(x as i32) != x {
            return Err(SettingError::NotAnInteger);
        }
        Ok(x)
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
