//! `retrofit-sim bench`: the end-to-end benchmark anyone can run (issue 9).
//! It starts its own Mosquitto and VictoriaMetrics on free ports, measures
//! the broker's own one-hop and two-hop ceiling, then runs the given
//! gateway binary per offered rate against a 2,000-device LoRaWAN fleet
//! (`retrofit-sim load`'s generator, in-process) and searches for the
//! highest rate held with no loss, and renders one markdown table.
//!
//! Timing is a measurement here, never an assertion: a slow run is a row,
//! not an error. Only a broken rig (a missing binary, a gateway that never
//! forwards its canary) fails the bench. It never touches the machine's own
//! broker or store, and leaves no process behind.

pub mod ceiling;
pub mod collector;
pub mod gateway;
pub mod http;
pub mod mqtt;
pub mod process;
pub mod procstat;
pub mod rate_run;
pub mod search;
pub mod store;
pub mod table;
pub mod workload;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use retrofit_protocols::Id;

use self::ceiling::Ceiling;
use self::process::{Mosquitto, Victoria};
use self::rate_run::{run_rate, RunEnv, RunRow, RunSpec};
use self::search::Bounds;
use self::store::Store;
use self::table::grouped;

/// Time a run needs besides sending: broker and gateway start, canary,
/// drain and store count.
const RUN_OVERHEAD: Duration = Duration::from_secs(20);

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The gateway binary under test.
    pub gateway: PathBuf,
    /// Offered rates (uplinks per second), each run for `count` uplinks.
    pub rates: Vec<f64>,
    pub count: u64,
    /// Uplinks per run of the search for the highest held rate; 0 skips it.
    pub search_count: u64,
    /// Messages per broker ceiling measurement.
    pub ceiling_count: u64,
    pub devices: u32,
    pub seed: u64,
    /// The search stops once the bench has run this long.
    pub budget: Duration,
}

/// Everything measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub one_hop: Ceiling,
    pub two_hops: Ceiling,
    /// The fixed rates' runs, then the highest held run of the search.
    pub rows: Vec<RunRow>,
    /// Every search run: offered rate and whether it held.
    pub search: Vec<RunRow>,
    /// The highest offered rate that held, of all runs.
    pub highest_held: Option<f64>,
    /// Mean size of the uplinks, and of the ceiling's messages, in bytes.
    pub uplink_bytes: usize,
    /// The machine's load average (1, 5, 15 min) before and after.
    pub load_average: (String, String),
}

/// Runs the whole bench.
pub async fn run_bench(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    anyhow::ensure!(
        opts.gateway.is_file(),
        "no gateway binary at {} (build it: cargo build --release -p retrofit-gateway)",
        opts.gateway.display()
    );
    anyhow::ensure!(
        opts.rates.iter().all(|r| r.is_finite() && *r > 0.0),
        "rates must be positive"
    );
    let started = Instant::now();
    let load_before = load_average();
    let uplink_bytes = workload::mean_uplink_bytes(opts.devices, opts.seed)?;
    let (one_hop, two_hops) = broker_ceiling(opts.ceiling_count, uplink_bytes).await?;
    let victoria = Victoria::start().await?;
    let env = RunEnv {
        gateway: opts.gateway.clone(),
        store: Store {
            port: victoria.port,
        },
        devices: opts.devices,
        seed: opts.seed,
    };
    let mut runs = Runs::default();
    let mut rows = Vec::new();
    for &rate in &opts.rates {
        rows.push(runs.run(&env, rate, opts.count, "").await?);
    }
    let search = runs.search(&env, opts, started).await?;
    let highest_held = runs.bounds.held;
    let best_of_search = search
        .iter()
        .rfind(|r| r.held() && Some(r.offered) == highest_held);
    if let Some(best) = best_of_search {
        let mut best = best.clone();
        best.label = format!("highest held: {}", best.label);
        rows.push(best);
    }
    Ok(BenchReport {
        one_hop,
        two_hops,
        rows,
        search,
        highest_held,
        uplink_bytes,
        load_average: (load_before, load_average()),
    })
}

async fn broker_ceiling(count: u64, bytes: usize) -> anyhow::Result<(Ceiling, Ceiling)> {
    eprintln!(
        "bench: broker ceiling, {} messages of {bytes} bytes per hop count",
        grouped(count)
    );
    let one = {
        let broker = Mosquitto::start()?;
        ceiling::one_hop(broker.port, count, bytes).await?
    };
    let two = {
        let broker = Mosquitto::start()?;
        ceiling::two_hops(broker.port, count, bytes).await?
    };
    Ok((one, two))
}

/// The gateway runs so far.
#[derive(Default)]
struct Runs {
    bounds: Bounds,
    done: u32,
}

impl Runs {
    async fn run(
        &mut self,
        env: &RunEnv,
        rate: f64,
        count: u64,
        kind: &str,
    ) -> anyhow::Result<RunRow> {
        self.done += 1;
        let site = Id::parse(&format!("bench-{}-{}", self.done, rate.round() as u64))
            .context("run site id")?;
        let label = format!("{kind}{}/s", grouped(rate.round() as u64));
        eprintln!("bench: gateway at {label}, {} uplinks", grouped(count));
        let spec = RunSpec {
            label,
            rate,
            count,
            site,
        };
        let row = run_rate(env, &spec).await?;
        eprintln!(
            "bench:   achieved {:.0}/s, {} on topic, {} in store, held: {}",
            row.achieved(),
            row.on_topic,
            row.in_store,
            row.held()
        );
        self.bounds.record(rate, row.held());
        Ok(row)
    }

    /// Offers rates around the highest held until the search closes in or
    /// the next run would not fit in the budget.
    async fn search(
        &mut self,
        env: &RunEnv,
        opts: &BenchOptions,
        started: Instant,
    ) -> anyhow::Result<Vec<RunRow>> {
        let mut rows = Vec::new();
        if opts.search_count == 0 {
            return Ok(rows);
        }
        while let Some(rate) = self.bounds.next_offer() {
            let needs = Duration::from_secs_f64(opts.search_count as f64 / rate) + RUN_OVERHEAD;
            if started.elapsed() + needs > opts.budget {
                eprintln!("bench: search stopped by the {:?} budget", opts.budget);
                break;
            }
            rows.push(self.run(env, rate, opts.search_count, "search ").await?);
        }
        Ok(rows)
    }
}

/// The first three fields of `/proc/loadavg`: other work on the machine
/// shows in every figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The machine, for the record: CPU count and model.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}")
}

impl BenchReport {
    /// The table and the search, as printed.
    pub fn render(&self, opts: &BenchOptions) -> String {
        let mut out = format!(
            "Gateway {} on {} (load average {} before, {} after); {} LoRaWAN devices, ChirpStack v4 uplinks with `object` ({} bytes on average, as are the ceiling's messages), QoS 1; {} uplinks per rate.\n\n",
            opts.gateway.display(),
            machine(),
            self.load_average.0,
            self.load_average.1,
            grouped(u64::from(opts.devices)),
            self.uplink_bytes,
            grouped(opts.count),
        );
        out.push_str(&table::render(&self.one_hop, &self.two_hops, &self.rows));
        if !self.search.is_empty() {
            let _ = write!(
                out,
                "\nSearch ({} uplinks per offer):",
                grouped(opts.search_count)
            );
            for r in &self.search {
                let verdict = if r.held() { "held" } else { "not held" };
                let _ = write!(
                    out,
                    " {} {verdict} ({:.0}/s achieved, {} on topic, {} in store);",
                    grouped(r.offered.round() as u64),
                    r.achieved(),
                    grouped(r.on_topic),
                    grouped(r.in_store)
                );
            }
            out.push('\n');
        }
        let highest = self.highest_held.map_or("none".into(), |r| {
            format!("{}/s", grouped(r.round() as u64))
        });
        let _ = writeln!(out, "\nHighest rate held with no loss: {highest}.");
        out
    }
}
