//! One measured run of the gateway at one offered rate: a fresh broker,
//! data dir and gateway process (so the process's peak RSS belongs to this
//! run), the pipeline proven up by a canary, then `retrofit-sim load`'s
//! generator in-process for N uplinks, a bounded wait for the readings on
//! the normalized topic and in the store, and the gateway's CPU time and
//! memory from `/proc`.
//!
//! It measures and reports; it never judges a figure beyond "held" (no
//! loss and the offered rate achieved), and never shares a broker or a
//! store site with another run.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use retrofit_protocols::Id;
use tokio_util::sync::CancellationToken;

use super::collector::{quantile, Collector, Progress};
use super::gateway::Gateway;
use super::process::Mosquitto;
use super::procstat::ProcProbe;
use super::store::Store;
use super::workload::fleet_config;
use crate::load::{run_load, LoadOptions, LoadReport, StopAfter};
use crate::site_config::load_target;

/// Readings that stop arriving for this long have all arrived.
const STALL: Duration = Duration::from_secs(10);
/// The longest wait for the last readings, on the topic and in the store.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);
/// Share of the offered rate a run must achieve to have held it.
pub const RATE_TOLERANCE: f64 = 0.95;

/// What stays the same across runs.
#[derive(Debug, Clone)]
pub struct RunEnv {
    pub gateway: PathBuf,
    pub store: Store,
    pub devices: u32,
    pub seed: u64,
}

/// One run's offer.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub label: String,
    pub rate: f64,
    pub count: u64,
    pub site: Id,
}

/// One run's figures.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub label: String,
    pub offered: f64,
    pub load: LoadReport,
    pub on_topic: u64,
    pub in_store: u64,
    pub cpu_seconds: f64,
    pub p50_ms: Option<i64>,
    pub p99_ms: Option<i64>,
    pub idle_rss_kib: u64,
    pub peak_rss_kib: u64,
}

impl RunRow {
    /// Uplinks per second the generator achieved.
    pub fn achieved(&self) -> f64 {
        super::ceiling::per_second(self.load.sent, self.load.elapsed)
    }

    /// Every uplink arrived on the topic and in the store, at the rate.
    pub fn held(&self) -> bool {
        let all = self.load.sent;
        all > 0
            && self.on_topic >= all
            && self.in_store >= all
            && self.achieved() >= RATE_TOLERANCE * self.offered
    }

    /// Gateway CPU seconds per 100,000 uplinks.
    pub fn cpu_per_100k(&self) -> Option<f64> {
        (self.load.sent > 0).then(|| self.cpu_seconds * 100_000.0 / self.load.sent as f64)
    }
}

/// Runs the gateway at `spec.rate` for `spec.count` uplinks.
pub async fn run_rate(env: &RunEnv, spec: &RunSpec) -> anyhow::Result<RunRow> {
    let broker = Mosquitto::start()?;
    let dir = tempfile::tempdir()?;
    let text = fleet_config(
        env.devices,
        &spec.site,
        &broker.url(),
        env.store.port,
        &dir.path().join("data"),
    )?;
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, &text)?;
    let target = load_target(&text)?;
    let application = target
        .devices
        .first()
        .map(|d| d.application_id.clone())
        .context("the fleet has no devices")?;

    let mut collector = Collector::start(broker.port, "retrofit-bench-collector").await?;
    let mut gateway = Gateway::start(&env.gateway, &config)?;
    gateway
        .wait_for_pipeline(broker.port, &application, &mut collector)
        .await?;
    let probe = ProcProbe::new(gateway.pid()?);
    let idle_rss_kib = probe.rss_kib()?;
    let cpu_before = probe.cpu_seconds()?;
    let before = collector.progress();

    let opts = LoadOptions {
        rate: spec.rate,
        stop: StopAfter::Count(spec.count),
        seed: env.seed,
        object_ratio: 1.0,
        object_shape: Default::default(),
        show_progress: false,
    };
    let load = run_load(&target, &opts, CancellationToken::new()).await?;
    let expected = before.readings + load.sent;
    let after = collector
        .settle(|p| p.readings >= expected, STALL, DRAIN_LIMIT)
        .await;
    let in_store = env
        .store
        .settle(&spec.site, load.sent, STALL, DRAIN_LIMIT)
        .await?;
    let cpu_seconds = probe.cpu_seconds()? - cpu_before;
    let peak_rss_kib = probe.peak_rss_kib()?;
    let problems = gateway.log_problems();
    gateway.stop();
    let mut tally = collector.finish().await;
    warn_about_oddities(&after, &tally.progress);
    let latencies = &mut tally.latencies_ms;
    let row = RunRow {
        label: spec.label.clone(),
        offered: spec.rate,
        load,
        on_topic: after.readings - before.readings,
        in_store,
        cpu_seconds,
        p50_ms: quantile(latencies, 0.5),
        p99_ms: quantile(latencies, 0.99),
        idle_rss_kib,
        peak_rss_kib,
    };
    if !row.held() && !problems.is_empty() {
        eprintln!(
            "bench: the gateway's last warnings at {}:\n{problems}",
            row.label
        );
    }
    Ok(row)
}

fn warn_about_oddities(measured: &Progress, last: &Progress) {
    if last.unreadable > 0 {
        tracing::warn!(count = last.unreadable, "telemetry without a readable ts");
    }
    if last.readings > measured.readings {
        tracing::warn!(
            late = last.readings - measured.readings,
            "readings arrived after the wait ended"
        );
    }
}
