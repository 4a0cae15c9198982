//! The serial part of a gateway config (spec §9): each `[[link]]` with
//! `type = "serial"` (its `port` and `baud`) and the `[[device]]`s on it
//! with their node `address`, read with a minimal serde model that ignores
//! every other key (as `site_config` does for LoRaWAN). It can also render
//! a bus back as `[[link]]`/`[[device]]` tables for a generated config.
//!
//! It validates what it uses (IDs, kinds, addresses 1..=65534, unique per
//! link) and never opens a port.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{bail, Context};
use retrofit_gateway::links::serial::DEFAULT_BAUD;
use retrofit_protocols::edge::NodeId;
use retrofit_protocols::{DeviceKind, Id};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    link: Vec<LinkTable>,
    #[serde(default)]
    device: Vec<DeviceTable>,
}

#[derive(Deserialize, Serialize)]
struct LinkTable {
    id: String,
    #[serde(rename = "type")]
    link_type: String,
    port: Option<String>,
    baud: Option<u32>,
}

#[derive(Deserialize, Serialize)]
struct DeviceTable {
    id: String,
    kind: String,
    link: String,
    address: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_interval_s: Option<u32>,
}

/// One simulated node on a bus.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub device: Id,
    pub kind: DeviceKind,
    pub address: NodeId,
}

/// A serial link and the nodes on it.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialBus {
    pub link: Id,
    /// The gateway's end of the line.
    pub port: PathBuf,
    pub baud: u32,
    pub nodes: Vec<NodeSpec>,
}

/// Every serial link of a gateway config, with its nodes.
pub fn serial_buses(text: &str) -> anyhow::Result<Vec<SerialBus>> {
    let file: ConfigFile = toml::from_str(text)?;
    let mut buses = Vec::new();
    for link in file.link.iter().filter(|l| l.link_type == "serial") {
        let bus = serial_bus(link, &file.device).with_context(|| format!("link {:?}", link.id))?;
        buses.push(bus);
    }
    if buses.is_empty() {
        bail!("the config has no [[link]] with type = \"serial\"");
    }
    Ok(buses)
}

fn serial_bus(link: &LinkTable, devices: &[DeviceTable]) -> anyhow::Result<SerialBus> {
    let port = link.port.as_deref().context("a serial link needs a port")?;
    let mut addresses = HashSet::new();
    let mut nodes = Vec::new();
    for device in devices.iter().filter(|d| d.link == link.id) {
        let node = node_spec(device).with_context(|| format!("device {:?}", device.id))?;
        if !addresses.insert(node.address) {
            bail!("address {} is used twice", node.address);
        }
        nodes.push(node);
    }
    if nodes.is_empty() {
        bail!("no [[device]] is on this link");
    }
    Ok(SerialBus {
        link: Id::parse(&link.id).context("id")?,
        port: PathBuf::from(port),
        baud: link.baud.unwrap_or(DEFAULT_BAUD),
        nodes,
    })
}

fn node_spec(device: &DeviceTable) -> anyhow::Result<NodeSpec> {
    let kind: DeviceKind = device.kind.parse().context("kind")?;
    if !matches!(
        kind,
        DeviceKind::Elevator | DeviceKind::Parking | DeviceKind::Drainage
    ) {
        bail!("no edge firmware simulates a {kind} node");
    }
    let raw = device.address.context("a serial device needs an address")?;
    let address = NodeId::new(raw)
        .ok()
        .filter(|n| !n.is_broadcast())
        .context("address must be a node id in 1..=65534")?;
    Ok(NodeSpec {
        device: Id::parse(&device.id).context("id")?,
        kind,
        address,
    })
}

#[derive(Serialize)]
struct BusTables {
    link: Vec<LinkTable>,
    device: Vec<DeviceTable>,
}

/// How often the gateway should expect a node of `kind`: its firmware's
/// default report interval.
pub fn expected_interval_s(kind: DeviceKind) -> u32 {
    match kind {
        DeviceKind::Elevator => 60,
        DeviceKind::Parking => 3_600,
        _ => 300,
    }
}

impl SerialBus {
    /// The bus as `[[link]]` and `[[device]]` tables, to append to a
    /// gateway config.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        let tables = BusTables {
            link: vec![LinkTable {
                id: self.link.to_string(),
                link_type: "serial".into(),
                port: Some(self.port.display().to_string()),
                baud: Some(self.baud),
            }],
            device: self
                .nodes
                .iter()
                .map(|n| DeviceTable {
                    id: n.device.to_string(),
                    kind: n.kind.as_str().into(),
                    link: self.link.to_string(),
                    address: Some(n.address.get()),
                    expected_interval_s: Some(expected_interval_s(n.kind)),
                })
                .collect(),
        };
        Ok(toml::to_string(&tables)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../../config/demo.toml");

    #[test]
    fn reads_the_demo_configs_serial_bus() {
        let buses = serial_buses(DEMO).unwrap();
        let [bus] = &buses[..] else {
            panic!("{buses:?}")
        };
        assert_eq!(
            (bus.link.as_str(), bus.port.to_str(), bus.baud),
            ("edge-bus-1", Some("/dev/ttyUSB0"), 115_200)
        );
        let nodes: Vec<(&str, DeviceKind, u16)> = bus
            .nodes
            .iter()
            .map(|n| (n.device.as_str(), n.kind, n.address.get()))
            .collect();
        assert_eq!(
            nodes,
            [
                ("lift-b3", DeviceKind::Elevator, 1),
                ("drain-w21", DeviceKind::Drainage, 2),
                ("park-g1-001", DeviceKind::Parking, 3),
            ]
        );
    }

    #[test]
    fn renders_what_it_reads() {
        let bus = serial_buses(DEMO).unwrap().remove(0);
        let text = bus.to_toml().unwrap();
        assert_eq!(serial_buses(&text).unwrap(), vec![bus]);
        for interval in [60, 300, 3_600] {
            let line = format!("expected_interval_s = {interval}\n");
            assert!(text.contains(&line), "{text}");
        }
    }

    #[test]
    fn explains_what_is_wrong() {
        let link = "[[link]]\nid = \"bus\"\ntype = \"serial\"\nport = \"/dev/x\"\n";
        let device = |kind: &str, address: &str| {
            format!("[[device]]\nid = \"d1\"\nkind = \"{kind}\"\nlink = \"bus\"\n{address}\n")
        };
        let cases = [
            (String::new(), "no [[link]]".to_string()),
            (link.to_string(), "no [[device]]".into()),
            (
                "[[link]]\nid = \"bus\"\ntype = \"serial\"\n".into(),
                "needs a port".into(),
            ),
            (
                format!("{link}{}", device("ev_charger", "address = 1")),
                "ev_charger".into(),
            ),
            (
                format!("{link}{}", device("parking", "")),
                "needs an address".into(),
            ),
            (
                format!("{link}{}", device("parking", "address = 0")),
                "1..=65534".into(),
            ),
            (
                format!("{link}{}", device("parking", "address = 65535")),
                "1..=65534".into(),
            ),
            (
                format!("{link}{}", device("lift", "address = 4")),
                "kind".into(),
            ),
            (
                format!(
                    "{link}{}{}",
                    device("parking", "address = 4"),
                    device("drainage", "address = 4").replace("d1", "d2")
                ),
                "used twice".into(),
            ),
            ("[[link]]\nid = 3".into(), "invalid type".into()),
        ];
        for (text, needle) in cases {
            let err = format!("{:#}", serial_buses(&text).unwrap_err());
            assert!(err.contains(&needle), "{text}\n=> {err}");
        }
    }
}
