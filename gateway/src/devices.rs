//! Configured devices (`[[device]]`, spec §9): identity, kind, the link that
//! reaches them, their address on that link, their reporting interval and
//! the node settings the link sends them (`report_interval_s`, `warning_m`,
//! `overflow_m`, `hysteresis_m`, `entrapment_after_s`; edge-link nodes
//! only, EDGE_LINK.md §5).
//!
//! Only devices listed here ever produce readings; an input addressed to
//! anything else is dead-lettered. Address and settings keys are checked by
//! the link the device belongs to.

use retrofit_protocols::chirpstack::DevEui;
use retrofit_protocols::edge::Setting;
use retrofit_protocols::{DeviceKind, Id};
use serde::Deserialize;
use toml::Spanned;

use crate::config::secret::SecretFile;

/// Default reporting interval when a device does not state one.
pub const DEFAULT_EXPECTED_INTERVAL_S: u32 = 300;

/// A `[[device]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    pub id: Spanned<Id>,
    pub kind: DeviceKind,
    pub link: Spanned<Id>,
    /// LoRaWAN address.
    pub dev_eui: Option<Spanned<DevEui>>,
    /// LoRaWAN payload decoder, used when an uplink has no `object`.
    pub decoder: Option<Spanned<String>>,
    /// Ultrasonic level sensors: height of the sensor above the bottom.
    pub mount_height_m: Option<Spanned<f64>>,
    /// Direct MQTT address: the topic the device publishes to.
    pub topic: Option<Spanned<String>>,
    /// Edge-link (`serial`) address: the node id, 1..=65534.
    pub address: Option<Spanned<u16>>,
    /// OCPP address: the charge point identity in its WebSocket URL.
    pub charge_point_id: Option<Spanned<String>>,
    /// OCPP: how many connectors the charge point has (1..=99).
    pub connectors: Option<Spanned<u32>>,
    /// OCPP: the charge point's HTTP Basic password (security profile 1).
    pub password_file: Option<Spanned<SecretFile>>,
    #[serde(default = "default_interval")]
    pub expected_interval_s: u32,
    /// Node settings (edge link): longest time between snapshots.
    pub report_interval_s: Option<Spanned<toml::Value>>,
    /// Node settings (edge link, drainage): high-water levels, metres.
    pub warning_m: Option<Spanned<toml::Value>>,
    pub overflow_m: Option<Spanned<toml::Value>>,
    pub hysteresis_m: Option<Spanned<toml::Value>>,
    /// Node settings (edge link, elevator): entrapment delay, seconds.
    pub entrapment_after_s: Option<Spanned<toml::Value>>,
}

fn default_interval() -> u32 {
    DEFAULT_EXPECTED_INTERVAL_S
}

/// A device as the running gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: Id,
    pub kind: DeviceKind,
    pub link: Id,
    pub expected_interval_s: u32,
}

impl DeviceEntry {
    pub fn device(&self) -> Device {
        Device {
            id: self.id.get_ref().clone(),
            kind: self.kind,
            link: self.link.get_ref().clone(),
            expected_interval_s: self.expected_interval_s.max(1),
        }
    }

    /// The node settings present, each with its value as written.
    pub fn settings(&self) -> Vec<(Setting, &Spanned<toml::Value>)> {
        let keys = [
            (Setting::ReportIntervalS, &self.report_interval_s),
            (Setting::WarningM, &self.warning_m),
            (Setting::OverflowM, &self.overflow_m),
            (Setting::HysteresisM, &self.hysteresis_m),
            (Setting::EntrapmentAfterS, &self.entrapment_after_s),
        ];
        keys.into_iter()
            .filter_map(|(setting, value)| value.as_ref().map(|v| (setting, v)))
            .collect()
    }

    /// The span of every address, decoding or settings key present, by key
    /// name, so a link can refuse the keys that do not belong to it.
    pub fn address_keys(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        let mut keys = Vec::new();
        if let Some(v) = &self.dev_eui {
            keys.push(("dev_eui", v.span()));
        }
        if let Some(v) = &self.decoder {
            keys.push(("decoder", v.span()));
        }
        if let Some(v) = &self.mount_height_m {
            keys.push(("mount_height_m", v.span()));
        }
        if let Some(v) = &self.topic {
            keys.push(("topic", v.span()));
        }
        if let Some(v) = &self.address {
            keys.push(("address", v.span()));
        }
        if let Some(v) = &self.charge_point_id {
            keys.push(("charge_point_id", v.span()));
        }
        if let Some(v) = &self.connectors {
            keys.push(("connectors", v.span()));
        }
        if let Some(v) = &self.password_file {
            keys.push(("password_file", v.span()));
        }
        for (setting, value) in self.settings() {
            keys.push((setting.name(), value.span()));
        }
        keys
    }
}
