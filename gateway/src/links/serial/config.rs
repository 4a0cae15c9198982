//! The `[[link]] type = "serial"` entry and its devices (spec §9): the
//! port path, the line speed, the node id (`address`) of each device, and
//! the node settings sent to it in Config frames (EDGE_LINK.md §5): each
//! must be one its kind uses, a number in the setting's range, and
//! `warning_m` must be below `overflow_m` when both are given.
//!
//! Every problem is reported at its place in the file; a config that loads
//! is complete. This module never opens the port.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use retrofit_protocols::edge::{NodeId, Setting, Settings};
use retrofit_protocols::{DeviceKind, Id, Value};
use toml::Spanned;

use crate::config::error::Problems;
use crate::devices::{Device, DeviceEntry};
use crate::links::{check_device_keys, LinkEntry};

/// Line speed when `baud` is not given.
pub const DEFAULT_BAUD: u32 = 115_200;
/// Slowest and fastest line speeds accepted.
const BAUD_RANGE: std::ops::RangeInclusive<u32> = 300..=4_000_000;

/// A validated `serial` link.
#[derive(Debug, Clone)]
pub struct SerialLinkConfig {
    pub id: Id,
    /// The serial device, e.g. `/dev/ttyUSB0`.
    pub port: PathBuf,
    pub baud: u32,
    /// Device by the node id it is configured at.
    pub devices: HashMap<NodeId, Arc<Device>>,
    /// The settings configured for a node, by node id (none: no Config).
    pub settings: HashMap<NodeId, Settings>,
    pub site: Id,
}

impl SerialLinkConfig {
    pub fn from_entry(
        entry: LinkEntry,
        site: &Id,
        devices: &[(&DeviceEntry, &Arc<Device>)],
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        entry.refuse_keys(&["port", "baud"], problems);
        entry.refuse_broker_keys("a serial link", "", problems);
        let baud = entry.baud.as_ref().map_or(DEFAULT_BAUD, |b| *b.get_ref());
        if let Some(b) = entry
            .baud
            .as_ref()
            .filter(|b| !BAUD_RANGE.contains(b.get_ref()))
        {
            problems.at(
                b.span(),
                format!(
                    "baud must be between {} and {}",
                    BAUD_RANGE.start(),
                    BAUD_RANGE.end()
                ),
            );
        }
        let port = match &entry.port {
            Some(p) if !p.get_ref().trim().is_empty() => Some(PathBuf::from(p.get_ref())),
            Some(p) => {
                problems.at(p.span(), "port must be a serial device path");
                None
            }
            None => {
                problems.at(
                    entry.id.span(),
                    format!("link {} needs a port", entry.id.get_ref()),
                );
                None
            }
        };
        let (devices, settings) = devices_by_node(devices, problems);
        Some(Self {
            id: entry.id.into_inner(),
            port: port?,
            baud,
            devices,
            settings,
            site: site.clone(),
        })
    }
}

/// Keys a device on a serial link may have.
const DEVICE_KEYS: [&str; 6] = [
    "address",
    "report_interval_s",
    "warning_m",
    "overflow_m",
    "hysteresis_m",
    "entrapment_after_s",
];

/// Each device's `address`, checked and unique on the link, and its
/// settings.
fn devices_by_node(
    devices: &[(&DeviceEntry, &Arc<Device>)],
    problems: &mut Problems<'_>,
) -> (HashMap<NodeId, Arc<Device>>, HashMap<NodeId, Settings>) {
    let mut by_node = HashMap::new();
    let mut settings = HashMap::new();
    for (entry, device) in devices {
        if !check_device_keys(entry, &DEVICE_KEYS, "address", problems) {
            continue;
        }
        let Some(address) = &entry.address else {
            continue;
        };
        let node = match NodeId::new(*address.get_ref()) {
            Ok(node) if !node.is_broadcast() => node,
            _ => {
                problems.at(address.span(), "address must be a node id in 1..=65534");
                continue;
            }
        };
        if by_node.insert(node, Arc::clone(device)).is_some() {
            problems.at(
                address.span(),
                format!("duplicate address {node} on this link"),
            );
        }
        let node_settings = checked_settings(entry, problems);
        if !node_settings.is_empty() {
            settings.insert(node, node_settings);
        }
    }
    (by_node, settings)
}

/// The device's settings that are valid; each invalid one is reported at
/// its value.
fn checked_settings(entry: &DeviceEntry, problems: &mut Problems<'_>) -> Settings {
    let mut settings = Settings::new();
    for (setting, value) in entry.settings() {
        if let Some(x) = checked_setting(setting, entry.kind, value, problems) {
            // At most five settings, each once: always fits.
            let _ = settings.push_number(setting, x);
        }
    }
    let level = |s: Setting| match settings.get(s.name()) {
        Some(Value::Number(x)) => Some(*x),
        _ => None,
    };
    if let (Some(warning), Some(overflow), Some(span)) = (
        level(Setting::WarningM),
        level(Setting::OverflowM),
        entry.overflow_m.as_ref().map(Spanned::span),
    ) {
        if overflow <= warning {
            problems.at(
                span,
                format!("overflow_m must be above warning_m ({warning})"),
            );
        }
    }
    settings
}

fn checked_setting(
    setting: Setting,
    kind: DeviceKind,
    value: &Spanned<toml::Value>,
    problems: &mut Problems<'_>,
) -> Option<f64> {
    if !setting.applies_to(kind) {
        problems.at(
            value.span(),
            format!("{setting} is not a setting of {kind} nodes"),
        );
        return None;
    }
    let number = match value.get_ref() {
        toml::Value::Integer(i) => Value::Number(*i as f64),
        toml::Value::Float(x) => Value::Number(*x),
        _ => Value::Bool(false),
    };
    match setting.check(&number) {
        Ok(x) => Some(x),
        Err(e) => {
            problems.at(value.span(), format!("{setting} {e}"));
            None
        }
    }
}
