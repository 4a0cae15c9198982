//! Links: the inputs of the gateway, one module per kind of link, each with
//! its config beside it (spec §7, §9).
//!
//! A `[[link]]` entry is decoded here into the typed config of its link,
//! with the devices that belong to it. A link turns what it receives into
//! readings or dead letters and submits them to the intake; it acknowledges
//! its source only when the intake says they are durable. A link must never
//! block other links, nor crash on input.

pub mod lorawan;
pub mod modbus;
pub mod mqtt;
pub mod ocpp;
pub mod sequence;
pub mod serial;
pub mod state_file;
pub mod subscriber;

use std::ops::Range;
use std::sync::Arc;

use retrofit_protocols::Id;
use serde::Deserialize;
use toml::Spanned;

use crate::broker::{BrokerConfig, BrokerUrl};
use crate::codec_map::CodecMaps;
use crate::config::error::Problems;
use crate::config::secret::SecretFile;
use crate::devices::{Device, DeviceEntry};

/// The `type` of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    Lorawan,
    Mqtt,
    Serial,
    Modbus,
    Ocpp,
}

/// A `[[link]]` entry as written; which keys apply depends on `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkEntry {
    pub id: Spanned<Id>,
    #[serde(rename = "type")]
    pub link_type: Spanned<LinkType>,
    pub url: Option<Spanned<BrokerUrl>>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<SecretFile>,
    pub application: Option<Spanned<String>>,
    pub shared_group: Option<Spanned<Id>>,
    /// Serial device path (`serial` links).
    pub port: Option<Spanned<String>>,
    /// Serial line speed (`serial` links).
    pub baud: Option<Spanned<u32>>,
    /// Serial parity (`modbus` RTU links).
    pub parity: Option<Spanned<String>>,
    /// `host:port` of a Modbus TCP server or gateway (`modbus` links).
    pub tcp: Option<Spanned<String>>,
    /// Silence between frames, ms (`modbus` links).
    pub inter_frame_ms: Option<Spanned<f64>>,
    /// Consecutive timeouts before a slave counts as dead (`modbus` links).
    pub dead_after: Option<Spanned<u32>>,
    /// Longest pause between polls of a dead slave, s (`modbus` links).
    pub dead_backoff_max_s: Option<Spanned<u32>>,
    /// Address the link listens on (`ocpp` links), e.g. `0.0.0.0:8180`.
    pub listen: Option<Spanned<String>>,
    /// Heartbeat interval given to charge points (`ocpp` links).
    pub heartbeat_interval_s: Option<Spanned<u32>>,
    /// Local ID-tag list that Authorize checks (`ocpp` links).
    pub id_tags: Option<Spanned<Vec<String>>>,
}

/// A validated link with its devices.
#[derive(Debug, Clone)]
pub enum LinkSpec {
    Lorawan(lorawan::LorawanConfig),
    Mqtt(mqtt::MqttLinkConfig),
    Serial(serial::SerialLinkConfig),
    Modbus(modbus::ModbusLinkConfig),
    Ocpp(ocpp::OcppLinkConfig),
}

impl LinkSpec {
    pub fn id(&self) -> &Id {
        match self {
            Self::Lorawan(c) => &c.id,
            Self::Mqtt(c) => &c.id,
            Self::Serial(c) => &c.id,
            Self::Modbus(c) => &c.id,
            Self::Ocpp(c) => &c.id,
        }
    }

    /// The source its readings are marked with.
    pub fn source(&self) -> retrofit_protocols::Source {
        match self {
            Self::Lorawan(_) => retrofit_protocols::Source::Lorawan,
            Self::Mqtt(_) => retrofit_protocols::Source::Mqtt,
            Self::Serial(_) => retrofit_protocols::Source::Serial,
            Self::Modbus(_) => retrofit_protocols::Source::Modbus,
            Self::Ocpp(_) => retrofit_protocols::Source::Ocpp,
        }
    }
}

impl LinkEntry {
    /// Validates the entry for its type, with the devices that name it.
    /// (`modbus` links need the register maps: the config builds them with
    /// [`modbus::ModbusLinkConfig::from_entry`].)
    pub fn into_spec(
        self,
        gateway: &Id,
        site: &Id,
        devices: &[(&DeviceEntry, &Arc<Device>)],
        codec_maps: &CodecMaps,
        problems: &mut Problems<'_>,
    ) -> Option<LinkSpec> {
        match *self.link_type.get_ref() {
            LinkType::Lorawan => lorawan::LorawanConfig::from_entry(
                self, gateway, site, devices, codec_maps, problems,
            )
            .map(LinkSpec::Lorawan),
            LinkType::Mqtt => {
                mqtt::MqttLinkConfig::from_entry(self, gateway, site, devices, codec_maps, problems)
                    .map(LinkSpec::Mqtt)
            }
            LinkType::Serial => serial::SerialLinkConfig::from_entry(self, site, devices, problems)
                .map(LinkSpec::Serial),
            LinkType::Ocpp => {
                ocpp::OcppLinkConfig::from_entry(self, site, devices, problems).map(LinkSpec::Ocpp)
            }
            other => {
                problems.at(
                    self.link_type.span(),
                    format!("link type {other:?} is not available in this build yet"),
                );
                None
            }
        }
    }

    /// The broker of an MQTT-based link (`url` is required).
    pub fn broker(&self, gateway: &Id, problems: &mut Problems<'_>) -> Option<BrokerConfig> {
        let Some(url) = &self.url else {
            problems.at(
                self.id.span(),
                format!("link {} needs a url", self.id.get_ref()),
            );
            return None;
        };
        Some(BrokerConfig {
            url: url.get_ref().clone(),
            client_id: self
                .client_id
                .clone()
                .unwrap_or_else(|| format!("retrofit-{gateway}-{}", self.id.get_ref())),
            username: self.username.clone(),
            password: self.password_file.clone(),
        })
    }

    /// Refuses keys of the entry that `allowed` does not list.
    pub fn refuse_keys(&self, allowed: &[&str], problems: &mut Problems<'_>) {
        let present: [(&str, Option<Range<usize>>); 12] = [
            ("application", self.application.as_ref().map(Spanned::span)),
            (
                "shared_group",
                self.shared_group.as_ref().map(Spanned::span),
            ),
            ("port", self.port.as_ref().map(Spanned::span)),
            ("baud", self.baud.as_ref().map(Spanned::span)),
            ("parity", self.parity.as_ref().map(Spanned::span)),
            ("tcp", self.tcp.as_ref().map(Spanned::span)),
            (
                "inter_frame_ms",
                self.inter_frame_ms.as_ref().map(Spanned::span),
            ),
            ("dead_after", self.dead_after.as_ref().map(Spanned::span)),
            (
                "dead_backoff_max_s",
                self.dead_backoff_max_s.as_ref().map(Spanned::span),
            ),
            ("listen", self.listen.as_ref().map(Spanned::span)),
            (
                "heartbeat_interval_s",
                self.heartbeat_interval_s.as_ref().map(Spanned::span),
            ),
            ("id_tags", self.id_tags.as_ref().map(Spanned::span)),
        ];
        for (key, span) in present {
            if let Some(span) = span.filter(|_| !allowed.contains(&key)) {
                problems.at(span, format!("key {key} does not apply to this link type"));
            }
        }
    }

    /// Refuses the MQTT connection keys on a link that has no broker
    /// (`link` names it in the message, e.g. "a serial link"; `note` is
    /// added to the message of the keys that carry no position).
    pub fn refuse_broker_keys(&self, link: &str, note: &str, problems: &mut Problems<'_>) {
        if let Some(url) = &self.url {
            problems.at(url.span(), format!("key url does not apply to {link}"));
        }
        let unspanned = [
            ("client_id", self.client_id.is_some()),
            ("username", self.username.is_some()),
            ("password_file", self.password_file.is_some()),
        ];
        for (key, _) in unspanned.iter().filter(|(_, present)| *present) {
            problems.at(
                self.id.span(),
                format!("key {key} does not apply to {link}{note}"),
            );
        }
    }
}

/// Refuses device keys that do not belong to the device's link type and
/// reports a missing required address key.
pub fn check_device_keys(
    entry: &DeviceEntry,
    allowed: &[&str],
    required: &str,
    problems: &mut Problems<'_>,
) -> bool {
    let keys = entry.address_keys();
    for (key, span) in &keys {
        if !allowed.contains(key) {
            problems.at(
                span.clone(),
                format!(
                    "key {key} does not apply to a device on link {}",
                    entry.link.get_ref()
                ),
            );
        }
    }
    let has_required = keys.iter().any(|(k, _)| *k == required);
    if !has_required {
        problems.at(
            entry.id.span(),
            format!(
                "device {} needs {required} on link {}",
                entry.id.get_ref(),
                entry.link.get_ref()
            ),
        );
    }
    has_required
}
