//! The piles of a reference config (`config/demo.toml`) made runnable in
//! the demo: their `ocpp` link rendered for this machine (a free local
//! port) with a generated password file per pile in the demo's data
//! directory, and the specs the simulated piles connect with.
//!
//! It writes only inside the directory it is given.

use std::path::Path;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{config_chargers, start_chargers, ChargerPlan, ChargerSpec, ChargerStats};
use crate::bench::process::free_port;

/// The id tag the demo's piles start sessions with.
pub const DEMO_ID_TAG: &str = "KFG-DEMO";

/// Piles ready to run.
#[derive(Debug, Clone)]
pub struct SitePiles {
    /// The `[[link]]` and `[[device]]` entries to add to the gateway config.
    pub toml: String,
    /// `ws://127.0.0.1:PORT/ocpp`.
    pub url: String,
    pub specs: Vec<ChargerSpec>,
}

/// The piles of `config_text`, or `None` when it has no `ocpp` link.
pub fn site_piles(config_text: &str, dir: &Path) -> anyhow::Result<Option<SitePiles>> {
    let Some(super::ConfigPiles { link, piles }) = config_chargers(config_text)? else {
        return Ok(None);
    };
    let port = free_port()?;
    let mut toml = format!(
        "\n[[link]]\nid = \"{link}\"\ntype = \"ocpp\"\nlisten = \"127.0.0.1:{port}\"\nheartbeat_interval_s = 60\nid_tags = [\"{DEMO_ID_TAG}\"]\n"
    );
    let mut specs = Vec::new();
    for (device, mut spec) in piles {
        let password = format!("demo-{:016x}", fastrand::u64(..));
        let file = dir.join(format!("{}.password", spec.charge_point_id));
        std::fs::write(&file, &password)?;
        toml += &format!(
            "\n[[device]]\nid = \"{device}\"\nkind = \"ev_charger\"\nlink = \"{link}\"\ncharge_point_id = \"{}\"\nconnectors = {}\npassword_file = \"{}\"\nexpected_interval_s = 120\n",
            spec.charge_point_id,
            spec.connectors,
            file.display()
        );
        spec.password = Some(password);
        specs.push(spec);
    }
    Ok(Some(SitePiles {
        toml,
        url: format!("ws://127.0.0.1:{port}/ocpp"),
        specs,
    }))
}

impl SitePiles {
    /// Starts the piles: a tick every 2 s, `speed` simulated seconds per
    /// real second, 7 kW sockets, now and then a vehicle or a fault.
    pub fn start(&self, speed: f64, seed: u64, stop: &CancellationToken) -> JoinSet<()> {
        let plan = ChargerPlan {
            meter_interval: Duration::from_secs(2),
            speed,
            max_power_w: 7_000.0,
            arrival_chance: 0.25,
            fault_chance: 0.03,
            id_tag: DEMO_ID_TAG.into(),
            seed,
        };
        start_chargers(
            &self.url,
            &self.specs,
            &plan,
            &ChargerStats::default(),
            stop,
        )
    }

    pub fn describe(&self) -> String {
        let ids: Vec<&str> = self
            .specs
            .iter()
            .map(|s| s.charge_point_id.as_str())
            .collect();
        format!(
            "charging piles over OCPP 1.6J at {}: {}",
            self.url,
            ids.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_piles_become_a_valid_config() {
        let dir = tempfile::tempdir().unwrap();
        let demo = include_str!("../../../config/demo.toml");
        let piles = site_piles(demo, dir.path()).unwrap().unwrap();
        assert!(piles.specs.len() >= 2);
        assert!(piles.specs.iter().all(|s| s.password.is_some()));
        let config = format!(
            "[gateway]\nid = \"gw\"\nsite = \"kangfu-garden\"\ndata_dir = \"{}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n{}",
            dir.path().display(),
            piles.toml
        );
        retrofit_gateway::config::Config::parse(&config, "demo piles").unwrap();
    }
}
