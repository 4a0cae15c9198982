//! Simulated EV charging piles (充电桩) speaking OCPP 1.6J over a real
//! WebSocket to the gateway's `ocpp` link: sessions along a power curve,
//! faults and recoveries (`charger`), used by `retrofit-sim demo` for the
//! Kangfu Garden piles and by `retrofit-sim ocpp-bench`.
//!
//! The piles only talk to the central system they are pointed at; they
//! never redefine OCPP (types from `rust-ocpp`, framing from the gateway).

pub mod bench;
pub mod charger;
pub mod client;
pub mod curve;
pub mod site;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// One pile as configured on the gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargerSpec {
    pub charge_point_id: String,
    pub password: Option<String>,
    pub connectors: u32,
}

/// How the piles behave.
#[derive(Debug, Clone)]
pub struct ChargerPlan {
    /// Real time between two ticks (a MeterValues while charging).
    pub meter_interval: Duration,
    /// Simulated seconds per real second (how fast batteries fill).
    pub speed: f64,
    pub max_power_w: f64,
    /// Per idle tick: a vehicle arrives; a fault happens.
    pub arrival_chance: f64,
    pub fault_chance: f64,
    pub id_tag: String,
    pub seed: u64,
}

/// What the piles did, shared by all of them.
#[derive(Clone, Default)]
pub struct ChargerStats {
    inner: Arc<Mutex<Tally>>,
}

/// The counts and the confirmation latencies of MeterValues.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub confirmed: u64,
    pub sessions: u64,
    pub reconnects: u64,
    pub latencies_us: Vec<u64>,
}

impl ChargerStats {
    fn with<T>(&self, f: impl FnOnce(&mut Tally) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn confirmed(&self, took: Duration) {
        self.with(|t| {
            t.confirmed += 1;
            t.latencies_us.push(took.as_micros() as u64);
        });
    }

    pub fn session_started(&self) {
        self.with(|t| t.sessions += 1);
    }

    pub fn reconnected(&self) {
        self.with(|t| t.reconnects += 1);
    }

    /// A copy of the tally; `reset` empties the latencies.
    pub fn snapshot(&self, reset: bool) -> Tally {
        self.with(|t| {
            let copy = t.clone();
            if reset {
                t.latencies_us.clear();
            }
            copy
        })
    }
}

/// Starts every pile; they run until `stop`.
pub fn start_chargers(
    url: &str,
    specs: &[ChargerSpec],
    plan: &ChargerPlan,
    stats: &ChargerStats,
    stop: &CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for spec in specs {
        set.spawn(charger::run_charger(
            url.to_string(),
            spec.clone(),
            plan.clone(),
            stats.clone(),
            stop.clone(),
        ));
    }
    set
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    link: Vec<LinkTable>,
    #[serde(default)]
    device: Vec<DeviceTable>,
}

#[derive(Deserialize)]
struct LinkTable {
    id: String,
    #[serde(rename = "type")]
    link_type: String,
}

#[derive(Deserialize)]
struct DeviceTable {
    id: String,
    link: String,
    charge_point_id: Option<String>,
    connectors: Option<u32>,
}

/// The `ocpp` link of a gateway config: its id and its piles.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigPiles {
    pub link: String,
    /// (device id, spec); passwords are left to the caller.
    pub piles: Vec<(String, ChargerSpec)>,
}

/// The `ocpp` link of a gateway config and its piles, if it has one.
pub fn config_chargers(text: &str) -> anyhow::Result<Option<ConfigPiles>> {
    let file: ConfigFile = toml::from_str(text)?;
    let Some(link) = file.link.iter().find(|l| l.link_type == "ocpp") else {
        return Ok(None);
    };
    let piles = file
        .device
        .iter()
        .filter(|d| d.link == link.id)
        .filter_map(|d| {
            let spec = ChargerSpec {
                charge_point_id: d.charge_point_id.clone()?,
                password: None,
                connectors: d.connectors.unwrap_or(1),
            };
            Some((d.id.clone(), spec))
        })
        .collect();
    Ok(Some(ConfigPiles {
        link: link.id.clone(),
        piles,
    }))
}
