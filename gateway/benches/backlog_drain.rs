//! End-to-end backlog figures of the gateway binary (docs/BENCHMARKS.md):
//! a 1,000,000-reading backlog is committed to the journal while the store
//! is down, the gateway holds it (RSS measured), then the store comes back
//! and the backlog drains into VictoriaMetrics (points/s and peak RSS).
//!
//! Run: `cargo bench -p retrofit-gateway --bench backlog_drain`
//! (needs mosquitto and victoria-metrics: scripts/install-test-deps.sh).
//! `BACKLOG=200000` makes it smaller.

// A bench is a harness, like a test: a fixture it cannot build must stop it
// loudly, so it may unwrap (clippy.toml allows the same in tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use retrofit_gateway::journal::{Journal, JournalConfig, Lane, NewRecord, RecordClass};
use retrofit_protocols::reading::{Body, Reading, Source};
use retrofit_protocols::{DeviceKind, Id, MetricName, Timestamp, Value};
use support::{GatewayProcess, Mosquitto, VictoriaMetrics};

const DEVICES: usize = 500;

fn reading(i: usize, base_ms: i64) -> NewRecord {
    let metric = |n: &str, v: f64| (MetricName::parse(n).expect("name"), Value::Number(v));
    let r = Reading {
        site: Id::parse("bench-site").expect("id"),
        kind: DeviceKind::Drainage,
        device: Id::parse(&format!("drain-{:04}", i % DEVICES)).expect("id"),
        connector: None,
        ts: Timestamp(base_ms + (i / DEVICES) as i64 * 1000 + (i % DEVICES) as i64),
        seq: (i / DEVICES) as u64,
        source: Source::Lorawan,
        body: Body::Telemetry(vec![
            metric("level_m", 1.0 + (i % 1000) as f64 / 1000.0),
            metric("battery_pct", 87.5),
            metric("rssi_dbm", -97.0),
            metric("snr_db", 7.5),
        ]),
    };
    NewRecord {
        class: RecordClass::Telemetry,
        payload: r.to_json(),
    }
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds the process has used (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn influx_depth(data: &std::path::Path) -> u64 {
    let stats = Journal::open_read_only(data)
        .and_then(|j| j.stats())
        .expect("journal stats");
    stats
        .output("influx")
        .map_or(u64::MAX, |o| o.lane(Lane::Bulk).depth)
}

fn main() {
    let backlog: usize = std::env::var("BACKLOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut vm = VictoriaMetrics::start();
    vm.stop();
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");

    let base_ms = support::rig::now_ms() - 86_400_000;
    let cfg = JournalConfig {
        max_bytes: 4 << 30,
        ..JournalConfig::default()
    };
    let journal = Journal::open(&data, &cfg, &["influx"]).expect("journal");
    let started = Instant::now();
    for chunk in (0..backlog).collect::<Vec<_>>().chunks(5000) {
        let records: Vec<NewRecord> = chunk.iter().map(|&i| reading(i, base_ms)).collect();
        journal.append(&records).expect("append");
    }
    let fill = started.elapsed();
    drop(journal);
    println!(
        "backlog: {backlog} readings committed in {:.1} s ({:.0} readings/s, batches of 5000)",
        fill.as_secs_f64(),
        backlog as f64 / fill.as_secs_f64()
    );

    let config = format!(
        "[gateway]\nid = \"gw-bench\"\nsite = \"bench-site\"\ndata_dir = \"{}\"\n\n[mqtt]\nurl = \"{}\"\n\n[influx]\nurl = \"{}\"\norg = \"o\"\nbucket = \"b\"\nbatch_size = 10000\nflush_interval_ms = 200\n\n[journal]\nmax_bytes = {}\ndrain_rate = 10000000\n",
        data.display(),
        broker.url(),
        vm.url(),
        4u64 << 30
    );
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config).expect("config");
    let gateway = GatewayProcess::start(&path);
    let pid = gateway.pid().expect("gateway pid");
    std::thread::sleep(Duration::from_secs(5));
    let (holding, _) = rss_kib(pid);
    println!(
        "holding the backlog with the store down: RSS {:.1} MiB",
        holding as f64 / 1024.0
    );

    vm.restart();
    let cpu_before = cpu_seconds(pid);
    let drain_start = Instant::now();
    let mut peak = 0;
    loop {
        peak = peak.max(rss_kib(pid).0);
        let depth = influx_depth(&data);
        if depth == 0 {
            break;
        }
        if std::env::var_os("VERBOSE").is_some() {
            println!(
                "  {:5.1} s: {depth} to go",
                drain_start.elapsed().as_secs_f64()
            );
        }
        assert!(
            drain_start.elapsed() < Duration::from_secs(600),
            "drain did not finish in 10 min"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let drain = drain_start.elapsed();
    let cpu = cpu_seconds(pid) - cpu_before;
    let (_, hwm) = rss_kib(pid);
    println!(
        "drained {backlog} points into VictoriaMetrics in {:.1} s: {:.0} points/s",
        drain.as_secs_f64(),
        backlog as f64 / drain.as_secs_f64()
    );
    println!(
        "gateway CPU during the drain: {cpu:.1} s ({:.0}% of one core)",
        100.0 * cpu / drain.as_secs_f64()
    );
    println!(
        "gateway RSS: peak sampled {:.1} MiB, VmHWM {:.1} MiB",
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    let stored = vm.sample_count("drainage_level_m");
    println!("store holds {stored} level_m samples (expected {backlog})");
    assert_eq!(stored, backlog, "every reading stored once");
}
