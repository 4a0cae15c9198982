//! Configured devices (`[[device]]`, spec §9): identity, kind, the link that
//! reaches them, their address on that link, their reporting interval and
//! the node settings the link sends them (`report_interval_s`, `warning_m`,
//! `overflow_m`, `hysteresis_m`, `entrapment_after_s`; edge-link nodes
//! only, EDGE_LINK.md §5), and for Modbus slaves their `slave_id`, `map`,
//! `poll_interval_ms` and `timeout_ms`.
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

/// Default grace before a silent device is offline, in reporting intervals.
pub const GRACE_INTERVALS: u32 = 3;

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
    /// The `[[codec_map]]` its vendor JSON is read with (`lorawan`, `mqtt`).
    pub codec_map: Option<Spanned<Id>>,
    /// Where its metrics come from (`lorawan`): decoder, object or auto.
    pub metrics_from: Option<Spanned<crate::codec_map::MetricsFrom>>,
    /// Direct MQTT address: the topic the device publishes to.
    pub topic: Option<Spanned<String>>,
    /// Edge-link (`serial`) address: the node id, 1..=65534.
    pub address: Option<Spanned<u16>>,
    /// Modbus address: the slave (unit) id on the link's bus.
    pub slave_id: Option<Spanned<u8>>,
    /// Modbus register map, by `[[modbus_map]]` name.
    pub map: Option<Spanned<String>>,
    /// Modbus: time between polls, ms.
    pub poll_interval_ms: Option<Spanned<u32>>,
    /// Modbus: how long one request may wait for its answer, ms.
    pub timeout_ms: Option<Spanned<u32>>,
    /// OCPP address: the charge point identity in its WebSocket URL.
    pub charge_point_id: Option<Spanned<String>>,
    /// OCPP: how many connectors the charge point has (1..=99).
    pub connectors: Option<Spanned<u32>>,
    /// OCPP: the charge point's HTTP Basic password (security profile 1).
    pub password_file: Option<Spanned<SecretFile>>,
    #[serde(default = "default_interval")]
    pub expected_interval_s: u32,
    /// Offline after this long without a reading (spec §12); default
    /// [`GRACE_INTERVALS`] x `expected_interval_s`.
    pub grace_s: Option<u32>,
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
    /// Declared offline `grace_s` after its last reading.
    pub grace_s: u32,
}

impl Device {
    /// The grace period in milliseconds.
    pub fn grace_ms(&self) -> i64 {
        i64::from(self.grace_s) * 1000
    }
}

impl DeviceEntry {
    pub fn device(&self) -> Device {
        Device {
            id: self.id.get_ref().clone(),
            kind: self.kind,
            link: self.link.get_ref().clone(),
            expected_interval_s: self.expected_interval_s.max(1),
            grace_s: self
                .grace_s
                .unwrap_or(GRACE_INTERVALS.saturating_mul(self.expected_interval_s))
                .max(1),
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
        if let Some(v) = &self.codec_map {
            keys.push(("codec_map", v.span()));
        }
        if let Some(v) = &self.metrics_from {
            keys.push(("metrics_from", v.span()));
        }
        if let Some(v) = &self.topic {
            keys.push(("topic", v.span()));
        }
        if let Some(v) = &self.address {
            keys.push(("address", v.span()));
        }
        let modbus = [
            ("slave_id", self.slave_id.as_ref().map(Spanned::span)),
            ("map", self.map.as_ref().map(Spanned::span)),
            (
                "poll_interval_ms",
                self.poll_interval_ms.as_ref().map(Spanned::span),
            ),
            ("timeout_ms", self.timeout_ms.as_ref().map(Spanned::span)),
        ];
        keys.extend(modbus.into_iter().filter_map(|(k, s)| s.map(|s| (k, s))));
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
