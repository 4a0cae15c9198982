//! The part of a gateway config file (spec §9) the load generator needs:
//! the LoRaWAN link's broker and application, and the devices behind it.
//!
//! Read with a minimal serde model that ignores every other key, so the
//! simulator keeps working as the gateway's config grows. It validates what
//! it uses (IDs, devEUIs, decoders) and never guesses a broker it was not
//! given beyond the `mqtt://` default port.

use anyhow::{bail, Context};
use retrofit_protocols::chirpstack::DevEui;
use retrofit_protocols::sensor::SensorFormat;
use retrofit_protocols::{DeviceKind, Id};
use serde::Deserialize;

use retrofit_gateway::broker::BrokerUrl;

/// ChirpStack application id used when the link subscribes to all (`+`).
pub const SIM_APPLICATION_ID: &str = "5f7c2d1e-0000-4000-8000-00000000a001";
const DEFAULT_BROKER: &str = "mqtt://127.0.0.1:1883";

#[derive(Deserialize)]
struct ConfigFile {
    gateway: GatewayTable,
    #[serde(default)]
    link: Vec<LinkTable>,
    #[serde(default)]
    device: Vec<DeviceTable>,
}

#[derive(Deserialize)]
struct GatewayTable {
    site: String,
}

#[derive(Deserialize)]
struct LinkTable {
    id: String,
    #[serde(rename = "type")]
    link_type: String,
    url: Option<String>,
    application: Option<String>,
}

#[derive(Deserialize)]
struct DeviceTable {
    id: String,
    kind: String,
    link: String,
    dev_eui: Option<String>,
    decoder: Option<String>,
    mount_height_m: Option<f64>,
}

/// A simulated LoRaWAN device and where its uplinks go.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDevice {
    pub id: Id,
    pub kind: DeviceKind,
    pub dev_eui: DevEui,
    pub format: SensorFormat,
    pub mount_height_m: Option<f64>,
    pub application_id: String,
}

/// Everything `load` drives.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadTarget {
    pub site: Id,
    pub broker: BrokerUrl,
    pub devices: Vec<TargetDevice>,
}

/// Reads the LoRaWAN devices of a gateway config.
pub fn load_target(text: &str) -> anyhow::Result<LoadTarget> {
    let file: ConfigFile = toml::from_str(text)?;
    let site = Id::parse(&file.gateway.site).context("[gateway] site")?;
    let links: Vec<&LinkTable> = file
        .link
        .iter()
        .filter(|l| l.link_type == "lorawan")
        .collect();
    let Some(first) = links.first() else {
        bail!("the config has no [[link]] with type = \"lorawan\"");
    };
    let broker = link_broker(first)?;
    for link in &links[1..] {
        if link_broker(link)? != broker {
            bail!(
                "lorawan links {} and {} use different brokers; load drives one",
                first.id,
                link.id
            );
        }
    }
    let mut devices = Vec::new();
    for device in &file.device {
        if let Some(link) = links.iter().find(|l| l.id == device.link) {
            devices.push(
                target_device(device, link).with_context(|| format!("device {:?}", device.id))?,
            );
        }
    }
    if devices.is_empty() {
        bail!("no [[device]] is on a lorawan link");
    }
    Ok(LoadTarget {
        site,
        broker,
        devices,
    })
}

fn link_broker(link: &LinkTable) -> anyhow::Result<BrokerUrl> {
    let url = link.url.as_deref().unwrap_or(DEFAULT_BROKER);
    url.parse()
        .with_context(|| format!("link {:?}: url {url:?}", link.id))
}

fn application_id(link: &LinkTable) -> String {
    match link.application.as_deref() {
        None | Some("+") => SIM_APPLICATION_ID.to_string(),
        Some(app) => app.to_string(),
    }
}

fn target_device(d: &DeviceTable, link: &LinkTable) -> anyhow::Result<TargetDevice> {
    let id = Id::parse(&d.id).context("id")?;
    let kind: DeviceKind = d.kind.parse().context("kind")?;
    let dev_eui: DevEui = d
        .dev_eui
        .as_deref()
        .context("a lorawan device needs dev_eui")?
        .parse()
        .context("dev_eui")?;
    let format = match d.decoder.as_deref() {
        Some(name) => name.parse().context("decoder")?,
        None => default_format(kind)?,
    };
    Ok(TargetDevice {
        id,
        kind,
        dev_eui,
        format,
        mount_height_m: d.mount_height_m,
        application_id: application_id(link),
    })
}

/// A device without a decoder gets the simulator's sensor for its kind.
fn default_format(kind: DeviceKind) -> anyhow::Result<SensorFormat> {
    SensorFormat::ALL
        .into_iter()
        .find(|f| f.kind() == kind)
        .with_context(|| format!("no simulated LoRaWAN sensor for kind {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../config/demo.toml");

    #[test]
    fn reads_the_demo_config() {
        let target = load_target(DEMO).unwrap();
        assert_eq!(target.broker.to_string(), "mqtt://127.0.0.1:1883");
        let ids: Vec<&str> = target.devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["drain-w17", "park-b3-001"]);
        let drain = &target.devices[0];
        assert_eq!(drain.format, SensorFormat::DraginoLdds75);
        assert_eq!(drain.mount_height_m, Some(3.0));
        assert_eq!(drain.dev_eui.to_string(), "a84041000181c617");
        assert_eq!(drain.application_id, SIM_APPLICATION_ID);
    }

    #[test]
    fn uses_a_named_application_and_the_kind_default_decoder() {
        let text = r#"
            [gateway]
            site = "s1"
            future_key = 1
            [[link]]
            id = "ns"
            type = "lorawan"
            url = "mqtt://10.1.2.3:1999"
            application = "app-7"
            [[device]]
            id = "p1"
            kind = "parking"
            link = "ns"
            dev_eui = "0000000000000001"
        "#;
        let target = load_target(text).unwrap();
        assert_eq!(target.broker.port, 1999);
        let d = &target.devices[0];
        assert_eq!(
            (d.format, d.application_id.as_str()),
            (SensorFormat::NwaveNps, "app-7")
        );
    }

    #[test]
    fn explains_what_is_wrong() {
        let base = "[gateway]\nsite = \"s1\"\n[[link]]\nid = \"ns\"\ntype = \"lorawan\"\n";
        let cases = [
            ("[gateway]\nsite = \"s1\"\n", "no [[link]]"),
            (base, "no [[device]]"),
            ("[gateway]\nsite = \"Bad Site\"\n", "site"),
            ("not toml =", "expected"),
        ];
        for (text, needle) in cases {
            let err = format!("{:#}", load_target(text).unwrap_err());
            assert!(err.contains(needle), "{err}");
        }
        let device = |extra: &str| {
            format!("{base}[[device]]\nid = \"d1\"\nkind = \"parking\"\nlink = \"ns\"\n{extra}")
        };
        for (extra, needle) in [
            ("", "needs dev_eui"),
            ("dev_eui = \"xyz\"\n", "dev_eui"),
            (
                "dev_eui = \"0000000000000001\"\ndecoder = \"nope\"\n",
                "decoder",
            ),
        ] {
            let err = format!("{:#}", load_target(&device(extra)).unwrap_err());
            assert!(err.contains(needle) && err.contains("d1"), "{err}");
        }
    }
}
