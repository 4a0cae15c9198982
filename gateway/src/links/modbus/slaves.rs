//! The devices of a `modbus` link (`[[device]]`, spec §9): each one's
//! slave id (1..=247 on RTU, unique on the bus), register map by name (it
//! must exist, and the device needs `mount_height_m` when the map
//! subtracts from it), poll interval and request timeout.
//!
//! Every problem is reported at its key; nothing here touches a bus.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use retrofit_protocols::Id;

use super::config::Slave;
use super::map::Maps;
use super::plan::plan;
use crate::config::error::Problems;
use crate::devices::{Device, DeviceEntry};
use crate::links::check_device_keys;

const DEFAULT_POLL: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1_000);
/// Accepted poll intervals and request timeouts, ms.
const POLL_RANGE: RangeInclusive<u32> = 10..=86_400_000;
const TIMEOUT_RANGE: RangeInclusive<u32> = 10..=60_000;

/// Keys a device on a modbus link may have.
const DEVICE_KEYS: [&str; 5] = [
    "slave_id",
    "map",
    "poll_interval_ms",
    "timeout_ms",
    "mount_height_m",
];

pub fn slaves(
    devices: &[(&DeviceEntry, &Arc<Device>)],
    maps: &Maps,
    tcp: bool,
    problems: &mut Problems<'_>,
) -> Vec<Slave> {
    let mut by_id: HashMap<u8, Id> = HashMap::new();
    let mut slaves = Vec::new();
    for (entry, device) in devices {
        if !check_device_keys(entry, &DEVICE_KEYS, "slave_id", problems) {
            continue;
        }
        let Some(id) = &entry.slave_id else { continue };
        let slave_id = *id.get_ref();
        if !tcp && !(1..=247).contains(&slave_id) {
            problems.at(id.span(), "slave_id must be 1..=247 on an RTU bus");
        }
        if let Some(other) = by_id.insert(slave_id, device.id.clone()) {
            problems.at(
                id.span(),
                format!("duplicate slave_id {slave_id} on this bus (also {other})"),
            );
        }
        if let Some(slave) = slave(entry, device, slave_id, maps, problems) {
            slaves.push(slave);
        }
    }
    slaves
}

fn slave(
    entry: &DeviceEntry,
    device: &Arc<Device>,
    slave_id: u8,
    maps: &Maps,
    problems: &mut Problems<'_>,
) -> Option<Slave> {
    let Some(name) = &entry.map else {
        problems.at(entry.id.span(), format!("device {} needs a map", device.id));
        return None;
    };
    let map = Id::parse(name.get_ref()).ok().and_then(|n| maps.get(&n));
    let Some(map) = map else {
        problems.at(
            name.span(),
            format!("no [[modbus_map]] is called {:?}", name.get_ref()),
        );
        return None;
    };
    let mount_height_m = entry.mount_height_m.as_ref().map(|m| *m.get_ref());
    if map.points.iter().any(|p| p.from_mount_height) && mount_height_m.is_none() {
        problems.at(
            name.span(),
            format!("map {} needs the device's mount_height_m", map.name),
        );
    }
    let poll_interval = millis(
        &entry.poll_interval_ms,
        DEFAULT_POLL,
        POLL_RANGE,
        "poll_interval_ms",
        problems,
    );
    let timeout = millis(
        &entry.timeout_ms,
        DEFAULT_TIMEOUT,
        TIMEOUT_RANGE,
        "timeout_ms",
        problems,
    );
    Some(Slave {
        device: device.clone(),
        slave_id,
        map: map.clone(),
        blocks: plan(map),
        poll_interval,
        timeout,
        mount_height_m,
    })
}

/// A duration in ms within `range`, or `default` when not given.
fn millis(
    value: &Option<toml::Spanned<u32>>,
    default: Duration,
    range: RangeInclusive<u32>,
    key: &str,
    problems: &mut Problems<'_>,
) -> Duration {
    match value {
        Some(ms) if range.contains(ms.get_ref()) => Duration::from_millis(u64::from(*ms.get_ref())),
        Some(ms) => {
            problems.at(
                ms.span(),
                format!(
                    "{key} must be between {} and {}",
                    range.start(),
                    range.end()
                ),
            );
            default
        }
        None => default,
    }
}
