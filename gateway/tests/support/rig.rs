//! A whole test site: input broker (the network server's), output broker,
//! VictoriaMetrics, a collector on the normalized topics and the gateway
//! binary over a synthetic LoRaWAN fleet.

use std::path::PathBuf;
use std::time::Duration;

use retrofit_protocols::Timestamp;

use super::fleet::{self, FleetDevice};
use super::mqtt::{publish_all, Collector, Message};
use super::{GatewayProcess, Mosquitto, VictoriaMetrics};

pub struct Rig {
    pub input: Mosquitto,
    pub output: Mosquitto,
    pub vm: VictoriaMetrics,
    pub collector: Collector,
    pub gateway: GatewayProcess,
    pub devices: Vec<FleetDevice>,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Canary uplinks carry frame counters from here up.
pub const CANARY_FCNT: u32 = 1_000_000;

impl Rig {
    /// Starts everything; `extra` is inserted into the gateway config
    /// (e.g. a `[journal]` table).
    pub fn start(devices: usize, extra: &str) -> Self {
        Self::start_with_data_dir(devices, extra, None)
    }

    /// [`Rig::start`] with the gateway's data directory at `data_dir`
    /// (e.g. on a small filesystem) instead of in the rig's temp dir.
    pub fn start_with_data_dir(devices: usize, extra: &str, data_dir: Option<PathBuf>) -> Self {
        let (input, output, vm) = (
            Mosquitto::start(),
            Mosquitto::start(),
            VictoriaMetrics::start(),
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let devices = fleet::devices(devices);
        let data_dir = data_dir.unwrap_or_else(|| dir.path().join("data"));
        let config = fleet::config(
            &devices,
            &input.url(),
            &output.url(),
            Some(&vm.url()),
            &data_dir,
            extra,
        );
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).expect("write config");
        let collector = Collector::start(output.port, "retrofit/v1/#");
        let gateway = GatewayProcess::start(&path);
        let rig = Self {
            input,
            output,
            vm,
            collector,
            gateway,
            devices,
            data_dir,
            _dir: dir,
        };
        rig.wait_for_pipeline();
        rig
    }

    /// Sends canary uplinks until one comes out normalized: the link has
    /// subscribed and the MQTT output is connected.
    pub fn wait_for_pipeline(&self) {
        let canary = &self.devices[0];
        for attempt in 0..150u32 {
            let ((topic, payload), _) =
                fleet::uplink(canary, CANARY_FCNT + attempt, Timestamp(now_ms()), true);
            publish_all(self.input.port, vec![(topic, payload)]);
            let seen = self
                .collector
                .on("/telemetry")
                .iter()
                .any(|m| m.json()["device"] == canary.id.as_str());
            if seen {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "gateway never forwarded the canary; log:\n{}",
            self.gateway.log()
        );
    }

    /// Telemetry payloads on the normalized topics, canaries excluded.
    pub fn telemetry(&self) -> Vec<serde_json::Value> {
        self.collector
            .on("/telemetry")
            .iter()
            .map(Message::json)
            .filter(|j| {
                j["seq"]
                    .as_u64()
                    .is_some_and(|s| s < u64::from(CANARY_FCNT))
            })
            .collect()
    }
}
