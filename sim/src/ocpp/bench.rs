//! `retrofit-sim ocpp-bench`: N simulated piles connected at once to a
//! gateway binary (its own Mosquitto as the output), each charging and
//! sending a MeterValues every interval; measures over a window after the
//! warm-up the gateway's CPU (share of one core) and resident memory, and
//! the confirmation latency of MeterValues (CALL sent to `.conf` received,
//! which includes the journal commit) as p50/p99.
//!
//! Everything it starts is stopped when it returns; it never touches a
//! broker or gateway it did not start.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio_util::sync::CancellationToken;

use super::{start_chargers, ChargerPlan, ChargerSpec, ChargerStats};
use crate::bench::collector::quantile;
use crate::bench::gateway::Gateway;
use crate::bench::process::{free_port, Mosquitto};
use crate::bench::procstat::ProcProbe;

/// How long the gateway may take to listen.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);
const PASSWORD: &str = "bench-secret";

#[derive(Debug, Clone)]
pub struct OcppBenchOptions {
    pub gateway: PathBuf,
    pub charge_points: u32,
    pub interval: Duration,
    pub warmup: Duration,
    pub window: Duration,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct OcppBenchReport {
    pub confirmed: u64,
    pub cpu_pct: f64,
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub reconnects: u64,
    pub window: Duration,
}

fn config(dir: &std::path::Path, mqtt: &str, port: u16, n: u32) -> anyhow::Result<String> {
    let pass = dir.join("pile.password");
    std::fs::write(&pass, PASSWORD)?;
    let mut s = format!(
        "[gateway]\nid = \"gw-ocpp-bench\"\nsite = \"bench\"\ndata_dir = \"{}\"\n\n[mqtt]\nurl = \"{mqtt}\"\n\n[[link]]\nid = \"piles\"\ntype = \"ocpp\"\nlisten = \"127.0.0.1:{port}\"\nid_tags = [\"BENCH\"]\n",
        dir.join("data").display()
    );
    for i in 0..n {
        s += &format!(
            "\n[[device]]\nid = \"pile-{i:04}\"\nkind = \"ev_charger\"\nlink = \"piles\"\ncharge_point_id = \"BENCH-{i:04}\"\nconnectors = 2\npassword_file = \"{}\"\nexpected_interval_s = 60\n",
            pass.display()
        );
    }
    Ok(s)
}

/// Runs the benchmark.
pub async fn run_ocpp_bench(opts: &OcppBenchOptions) -> anyhow::Result<OcppBenchReport> {
    let broker = Mosquitto::start()?;
    let dir = tempfile::Builder::new()
        .prefix("retrofit-ocpp-bench-")
        .tempdir()?;
    let port = free_port()?;
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        config(dir.path(), &broker.url(), port, opts.charge_points)?,
    )?;
    let mut gateway = Gateway::start(&opts.gateway, &path)?;
    wait_for_listener(port)
        .await
        .with_context(|| gateway.log_tail())?;
    let probe = ProcProbe::new(gateway.pid()?);
    let specs: Vec<ChargerSpec> = (0..opts.charge_points)
        .map(|i| ChargerSpec {
            charge_point_id: format!("BENCH-{i:04}"),
            password: Some(PASSWORD.into()),
            connectors: 2,
        })
        .collect();
    let plan = ChargerPlan {
        meter_interval: opts.interval,
        speed: 1.0,
        max_power_w: 7_000.0,
        arrival_chance: 1.0,
        fault_chance: 0.0,
        id_tag: "BENCH".into(),
        seed: 1,
    };
    let (stats, stop) = (ChargerStats::default(), CancellationToken::new());
    let url = format!("ws://127.0.0.1:{port}/ocpp");
    let mut piles = start_chargers(&url, &specs, &plan, &stats, &stop);
    tokio::time::sleep(opts.warmup).await;
    let (cpu0, started, before) = (probe.cpu_seconds()?, Instant::now(), stats.snapshot(true));
    tokio::time::sleep(opts.window).await;
    let (cpu1, window, after) = (
        probe.cpu_seconds()?,
        started.elapsed(),
        stats.snapshot(false),
    );
    let memory = probe
        .rss_kib()
        .and_then(|rss| Ok((rss, probe.peak_rss_kib()?)));
    let (rss, peak) =
        memory.with_context(|| format!("the gateway is gone; its log:\n{}", gateway.log_tail()))?;
    stop.cancel();
    while piles.join_next().await.is_some() {}
    gateway.stop();
    let mut latencies: Vec<i64> = after.latencies_us.iter().map(|u| *u as i64).collect();
    let ms = |q: f64, l: &mut [i64]| quantile(l, q).map_or(f64::NAN, |u| u as f64 / 1000.0);
    if latencies.is_empty() {
        bail!(
            "no MeterValues was confirmed in the window; gateway log:\n{}",
            gateway.log_tail()
        );
    }
    Ok(OcppBenchReport {
        confirmed: after.confirmed - before.confirmed,
        cpu_pct: (cpu1 - cpu0) / window.as_secs_f64() * 100.0,
        rss_mib: rss as f64 / 1024.0,
        peak_rss_mib: peak as f64 / 1024.0,
        p50_ms: ms(0.5, &mut latencies),
        p99_ms: ms(0.99, &mut latencies),
        max_ms: ms(1.0, &mut latencies),
        reconnects: after.reconnects,
        window,
    })
}

async fn wait_for_listener(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + LISTEN_TIMEOUT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("the gateway did not listen on {port} within {LISTEN_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

impl OcppBenchReport {
    /// A Markdown table row set for docs/BENCHMARKS.md.
    pub fn render(&self, opts: &OcppBenchOptions) -> String {
        format!(
            "| charge points | MeterValues every | window | confirmed | gateway CPU (one core) | RSS / peak | confirmation p50 | p99 | max | reconnects |\n|---|---|---|---|---|---|---|---|---|---|\n| {} | {:?} | {:.0} s | {} ({:.1}/s) | {:.1} % | {:.1} / {:.1} MiB | {:.2} ms | {:.2} ms | {:.2} ms | {} |\n",
            opts.charge_points,
            opts.interval,
            self.window.as_secs_f64(),
            self.confirmed,
            self.confirmed as f64 / self.window.as_secs_f64(),
            self.cpu_pct,
            self.rss_mib,
            self.peak_rss_mib,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.reconnects,
        )
    }
}
