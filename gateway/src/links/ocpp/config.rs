//! The `[[link]] type = "ocpp"` entry and its charge points (spec §9): the
//! address the central system listens on, the heartbeat interval given to
//! charge points, the local ID-tag list, and for each `ev_charger` device
//! its `charge_point_id`, `connectors` and Basic-auth `password_file`
//! (optional: without it the charge point is accepted on its identity
//! alone, which the link logs as a warning when it starts).
//!
//! Every problem is reported at its place in the file; a config that loads
//! is complete. This module never opens a socket.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use retrofit_protocols::{DeviceKind, Id};

use crate::config::error::Problems;
use crate::config::secret::SecretFile;
use crate::devices::{Device, DeviceEntry};
use crate::links::{check_device_keys, LinkEntry};

/// Heartbeat interval when the link does not state one.
pub const DEFAULT_HEARTBEAT_INTERVAL_S: u32 = 300;
/// Most connectors one charge point may declare.
pub const MAX_CONNECTORS: u32 = 99;
/// Longest charge point identity (OCPP 1.6 `chargeBoxIdentity` is 20..48).
const MAX_CHARGE_POINT_ID_LEN: usize = 48;

/// A validated `ocpp` link.
#[derive(Debug, Clone)]
pub struct OcppLinkConfig {
    pub id: Id,
    pub site: Id,
    pub listen: SocketAddr,
    pub heartbeat_interval_s: u32,
    /// ID tags Authorize and StartTransaction accept.
    pub id_tags: HashSet<String>,
    /// Charge points by their identity in the URL.
    pub charge_points: HashMap<String, ChargePointConfig>,
    /// Where transactions are kept across restarts (set by the daemon).
    pub data_dir: PathBuf,
}

/// One configured charge point.
#[derive(Debug, Clone)]
pub struct ChargePointConfig {
    pub device: Arc<Device>,
    pub connectors: u32,
    /// HTTP Basic password (security profile 1); `None` accepts the
    /// charge point on its identity alone (plain OCPP 1.6, logged loudly).
    pub password: Option<SecretFile>,
}

/// Keys a device on an ocpp link may have.
const DEVICE_KEYS: [&str; 3] = ["charge_point_id", "connectors", "password_file"];

impl OcppLinkConfig {
    pub fn from_entry(
        entry: LinkEntry,
        site: &Id,
        devices: &[(&DeviceEntry, &Arc<Device>)],
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        entry.refuse_keys(&["listen", "heartbeat_interval_s", "id_tags"], problems);
        entry.refuse_broker_keys("an ocpp link", " (passwords are per device)", problems);
        let listen = listen_address(&entry, problems);
        let heartbeat_interval_s = match &entry.heartbeat_interval_s {
            Some(h) if !(1..=86_400).contains(h.get_ref()) => {
                problems.at(h.span(), "heartbeat_interval_s must be between 1 and 86400");
                DEFAULT_HEARTBEAT_INTERVAL_S
            }
            Some(h) => *h.get_ref(),
            None => DEFAULT_HEARTBEAT_INTERVAL_S,
        };
        let id_tags = id_tags(&entry, problems);
        let charge_points = charge_points(devices, problems);
        Some(Self {
            id: entry.id.into_inner(),
            site: site.clone(),
            listen: listen?,
            heartbeat_interval_s,
            id_tags,
            charge_points,
            data_dir: PathBuf::new(),
        })
    }
}

fn listen_address(entry: &LinkEntry, problems: &mut Problems<'_>) -> Option<SocketAddr> {
    let Some(listen) = &entry.listen else {
        problems.at(
            entry.id.span(),
            format!("link {} needs listen (HOST:PORT)", entry.id.get_ref()),
        );
        return None;
    };
    match listen.get_ref().parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.at(listen.span(), "listen must be IP:PORT, e.g. 0.0.0.0:8180");
            None
        }
    }
}

/// ID tags are CiString20 in OCPP 1.6.
fn id_tags(entry: &LinkEntry, problems: &mut Problems<'_>) -> HashSet<String> {
    let Some(tags) = &entry.id_tags else {
        return HashSet::new();
    };
    let bad = tags.get_ref().iter().any(|t| t.is_empty() || t.len() > 20);
    if bad {
        problems.at(tags.span(), "each id tag must be 1 to 20 characters");
    }
    tags.get_ref().iter().cloned().collect()
}

/// Each `ev_charger` device by its charge point identity, unique on the link.
fn charge_points(
    devices: &[(&DeviceEntry, &Arc<Device>)],
    problems: &mut Problems<'_>,
) -> HashMap<String, ChargePointConfig> {
    let mut by_id = HashMap::new();
    for (entry, device) in devices {
        if !check_device_keys(entry, &DEVICE_KEYS, "charge_point_id", problems) {
            continue;
        }
        if entry.kind != DeviceKind::EvCharger {
            problems.at(
                entry.id.span(),
                format!(
                    "device {} on an ocpp link must be of kind ev_charger",
                    entry.id.get_ref()
                ),
            );
        }
        if let Some((id, cp)) = charge_point(entry, device, problems) {
            if by_id.insert(id.clone(), cp).is_some() {
                problems.at(
                    entry.id.span(),
                    format!("duplicate charge_point_id {id} on this link"),
                );
            }
        }
    }
    by_id
}

fn charge_point(
    entry: &DeviceEntry,
    device: &Arc<Device>,
    problems: &mut Problems<'_>,
) -> Option<(String, ChargePointConfig)> {
    let cp_id = entry.charge_point_id.as_ref()?;
    let id = cp_id.get_ref();
    let valid = !id.is_empty()
        && id.len() <= MAX_CHARGE_POINT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !valid {
        problems.at(
            cp_id.span(),
            "charge_point_id must be 1 to 48 of A-Z a-z 0-9 - _ .",
        );
    }
    let connectors = match &entry.connectors {
        Some(c) if !(1..=MAX_CONNECTORS).contains(c.get_ref()) => {
            problems.at(
                c.span(),
                format!("connectors must be between 1 and {MAX_CONNECTORS}"),
            );
            None
        }
        Some(c) => Some(*c.get_ref()),
        None => {
            problems.at(
                entry.id.span(),
                format!("device {} needs connectors", entry.id.get_ref()),
            );
            None
        }
    };
    let config = ChargePointConfig {
        device: Arc::clone(device),
        connectors: connectors?,
        password: entry.password_file.as_ref().map(|p| p.get_ref().clone()),
    };
    valid.then(|| (id.clone(), config))
}
