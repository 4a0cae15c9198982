//! The gateway daemon run inside the test process against its own input
//! and output Mosquittos, sharing its counters (accepted, lost, ignored
//! vendor keys) with the test.

use std::path::Path;
use std::sync::Arc;

use retrofit_gateway::counters::Counters;

use super::{fleet, Mosquitto};

pub struct InProcessGateway {
    pub input: Mosquitto,
    pub output: Mosquitto,
    _dir: tempfile::TempDir,
    pub devices: Vec<fleet::FleetDevice>,
    pub counters: Arc<Counters>,
    rt: tokio::runtime::Runtime,
    shutdown: tokio_util::sync::CancellationToken,
    daemon: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcessGateway {
    /// A gateway for a synthetic fleet of `devices` ([`fleet::config`]).
    pub fn start(devices: usize) -> Self {
        let fleet = fleet::devices(devices);
        let mut gw = Self::start_with(|input, output, data| {
            fleet::config(&fleet, input, output, None, data, "")
        });
        gw.devices = fleet;
        gw
    }

    /// A gateway whose config text `config` writes from the input and
    /// output broker URLs and the data directory.
    pub fn start_with(config: impl FnOnce(&str, &str, &Path) -> String) -> Self {
        let (input, output) = (Mosquitto::start(), Mosquitto::start());
        let dir = tempfile::tempdir().expect("temp dir");
        let text = config(&input.url(), &output.url(), &dir.path().join("data"));
        let config = retrofit_gateway::config::Config::parse(&text, "gateway.toml")
            .unwrap_or_else(|e| panic!("test config is invalid: {e}\n{text}"));
        let counters = Arc::new(Counters::default());
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let daemon = rt.spawn(retrofit_gateway::daemon::run_with_counters(
            config,
            shutdown.clone(),
            counters.clone(),
        ));
        Self {
            input,
            output,
            _dir: dir,
            devices: Vec::new(),
            counters,
            rt,
            shutdown,
            daemon,
        }
    }

    /// LoRaWAN inputs accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted_from("lorawan")
    }

    /// Inputs of `source` accepted so far.
    pub fn accepted_from(&self, source: &str) -> u64 {
        self.counters
            .accepted_snapshot()
            .iter()
            .filter(|((s, _link), _)| s == source)
            .map(|(_, n)| n)
            .sum()
    }

    /// Stops the daemon and checks it stopped cleanly.
    pub fn stop(self) {
        self.shutdown.cancel();
        self.rt
            .block_on(self.daemon)
            .expect("daemon task")
            .expect("daemon stopped cleanly");
    }
}
