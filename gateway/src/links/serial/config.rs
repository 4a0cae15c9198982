//! The `[[link]] type = "serial"` entry and its devices (spec §9): the
//! port path, the line speed, and the node id (`address`) of each device.
//!
//! Every problem is reported at its place in the file; a config that loads
//! is complete. This module never opens the port.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use retrofit_protocols::edge::NodeId;
use retrofit_protocols::Id;

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
        refuse_broker_keys(&entry, problems);
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
        let devices = devices_by_node(devices, problems);
        Some(Self {
            id: entry.id.into_inner(),
            port: port?,
            baud,
            devices,
            site: site.clone(),
        })
    }
}

/// The MQTT connection keys mean nothing on a serial line.
fn refuse_broker_keys(entry: &LinkEntry, problems: &mut Problems<'_>) {
    if let Some(url) = &entry.url {
        problems.at(url.span(), "key url does not apply to a serial link");
    }
    let unspanned = [
        ("client_id", entry.client_id.is_some()),
        ("username", entry.username.is_some()),
        ("password_file", entry.password_file.is_some()),
    ];
    for (key, _) in unspanned.iter().filter(|(_, present)| *present) {
        problems.at(
            entry.id.span(),
            format!("key {key} does not apply to a serial link"),
        );
    }
}

/// Each device's `address`, checked and unique on the link.
fn devices_by_node(
    devices: &[(&DeviceEntry, &Arc<Device>)],
    problems: &mut Problems<'_>,
) -> HashMap<NodeId, Arc<Device>> {
    let mut by_node = HashMap::new();
    for (entry, device) in devices {
        if !check_device_keys(entry, &["address"], "address", problems) {
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
    }
    by_node
}
