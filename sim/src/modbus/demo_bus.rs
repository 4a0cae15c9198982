//! The Modbus bus of `config/demo.toml` for the demo: its `type = "modbus"`
//! link with the port moved to the demo's pseudo-terminal, the devices on
//! it, and the shipped register maps inline (the demo's config text has no
//! file beside it to resolve `modbus_map_files` against).

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// The shipped maps the demo's devices use.
const MAPS: [&str; 3] = [
    include_str!("../../../config/modbus/level-4-20ma.toml"),
    include_str!("../../../config/modbus/rain-gauge.toml"),
    include_str!("../../../config/modbus/ddsu666.toml"),
];

/// The bus as config text, and what the demo needs to serve it.
#[derive(Debug, Clone)]
pub struct DemoModbus {
    pub link: String,
    pub baud: u32,
    pub devices: Vec<String>,
    /// `[[link]]`, `[[device]]` and `[[modbus_map]]` tables.
    pub toml: String,
}

#[derive(Serialize)]
struct Tables {
    link: Vec<toml::Table>,
    device: Vec<toml::Table>,
}

/// The first modbus link of `config`, its port at `gateway_end`.
pub fn demo_modbus(config: &str, gateway_end: &Path) -> anyhow::Result<DemoModbus> {
    let file: toml::Table = toml::from_str(config)?;
    let tables = |key: &str| -> Vec<toml::Table> {
        let entries = file.get(key).and_then(toml::Value::as_array);
        entries
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_table().cloned())
            .collect()
    };
    let mut link = tables("link")
        .into_iter()
        .find(|l| l.get("type").and_then(toml::Value::as_str) == Some("modbus"))
        .context("the config has no [[link]] with type = \"modbus\"")?;
    let id = link
        .get("id")
        .and_then(toml::Value::as_str)
        .context("link id")?
        .to_string();
    let baud = link
        .get("baud")
        .and_then(toml::Value::as_integer)
        .unwrap_or(9_600);
    link.insert("port".into(), gateway_end.display().to_string().into());
    let device: Vec<toml::Table> = tables("device")
        .into_iter()
        .filter(|d| d.get("link").and_then(toml::Value::as_str) == Some(id.as_str()))
        .collect();
    let devices = device
        .iter()
        .filter_map(|d| d.get("id").and_then(toml::Value::as_str).map(String::from))
        .collect();
    let text = toml::to_string(&Tables {
        link: vec![link],
        device,
    })?;
    Ok(DemoModbus {
        link: id,
        baud: u32::try_from(baud).context("baud")?,
        devices,
        toml: format!("{text}\n{}", MAPS.join("\n")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_bus_loads_with_its_maps() {
        let demo = include_str!("../../../config/demo.toml");
        let bus = demo_modbus(demo, Path::new("/tmp/pty-gw")).unwrap();
        assert_eq!(bus.devices.len(), 3);
        let head = "[gateway]\nid = \"g\"\nsite = \"s\"\ndata_dir = \"/tmp/d\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n";
        let text = format!("{head}{}", bus.toml);
        let config = retrofit_gateway::config::Config::parse(&text, "demo").unwrap();
        assert_eq!(config.devices.len(), 3);
    }
}
