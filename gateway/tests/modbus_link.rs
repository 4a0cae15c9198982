//! The modbus link end to end against pymodbus (the independent peer): an
//! RTU bus on a socat pseudo-terminal pair with several slaves (a level
//! transmitter, an energy meter, a rain gauge, one that answers with
//! exceptions, one whose answers are damaged, one that never answers) and
//! a Modbus TCP server, the gateway daemon in this process, a real
//! Mosquitto and VictoriaMetrics.
//!
//! Shows: values arrive scaled, converted and in the right word orders on
//! the normalized topics and in the store; the healthy slaves keep at
//! least 90 % of their poll rate while one slave is dead (measured over a
//! bounded window); the dead slave is reported offline with the reason and
//! comes back when it answers; a rolled-over counter keeps counting; every
//! exception, CRC error, short or garbled frame and timeout is counted and
//! the poller goes on. A counter's total survives gateway restarts (a
//! SIGKILL after a saved rollover, a clean stop, a meter reset while the
//! gateway is down) and never goes backwards.

// A test crate: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use retrofit_gateway::links::modbus::CounterTotals;
use support::modbus::{InProcessGateway, ModbusPeer};
use support::mqtt::{Collector, Message};
use support::{wait_until, GatewayProcess, Mosquitto, VictoriaMetrics};

const SITE: &str = "mb-site";
const POLL_MS: u64 = 200;
/// Slaves that answer well, and their kinds.
const HEALTHY: [(&str, &str); 4] = [
    ("lvl-1", "drainage"),
    ("meter-2", "ev_charger"),
    ("rain-3", "drainage"),
    ("tcp-1", "ev_charger"),
];

fn config_text(dir: &Path, broker: &Mosquitto, vm: &VictoriaMetrics, peer: &ModbusPeer) -> String {
    let maps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/modbus");
    let files: Vec<String> = ["level-4-20ma", "ddsu666", "rain-gauge"]
        .iter()
        .map(|m| format!("\"{}/{m}.toml\"", maps.display()))
        .collect();
    format!(
        r#"modbus_map_files = [{files}]

[gateway]
id = "gw-mb"
site = "{SITE}"
data_dir = "{data}"

[mqtt]
url = "{mqtt}"

[influx]
url = "{vm}"
org = "test"
bucket = "test"
batch_size = 100
flush_interval_ms = 100

[[modbus_map]]
name = "tcp-meter"
[[modbus_map.point]]
name = "power"
metric = "power_w"
function = 3
address = 0
type = "f32"
word_order = "little"
[[modbus_map.point]]
name = "current"
metric = "current_a"
function = 3
address = 2
type = "i32"
scale = 0.01

[[modbus_map]]
name = "plain-level"
[[modbus_map.point]]
name = "level"
metric = "level_m"
function = 3
address = 0
type = "u16"
unit = "mm"

[[modbus_map]]
name = "elsewhere"
[[modbus_map.point]]
name = "level"
metric = "level_m"
function = 3
address = 100
type = "u16"

[[link]]
id = "rtu"
type = "modbus"
port = "{port}"
baud = 115200
dead_after = 3
dead_backoff_max_s = 2

[[link]]
id = "tcp"
type = "modbus"
tcp = "127.0.0.1:{tcp}"

{devices}"#,
        files = files.join(", "),
        data = dir.join("data").display(),
        mqtt = broker.url(),
        vm = vm.url(),
        port = peer.pty.gateway.display(),
        tcp = peer.tcp_port,
        devices = devices(),
    )
}

/// What the tests run against: Mosquitto, VictoriaMetrics, the pymodbus
/// peer, a collector on the normalized topics, and the gateway's config
/// file in a temp dir.
struct Bench {
    broker: Mosquitto,
    vm: VictoriaMetrics,
    peer: ModbusPeer,
    collector: Collector,
    config: PathBuf,
    dir: tempfile::TempDir,
}

impl Bench {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (broker, vm) = (Mosquitto::start(), VictoriaMetrics::start());
        let peer = ModbusPeer::start(dir.path());
        let collector = Collector::start(broker.port, "retrofit/v1/#");
        let config = dir.path().join("gateway.toml");
        std::fs::write(&config, config_text(dir.path(), &broker, &vm, &peer)).unwrap();
        Self {
            broker,
            vm,
            peer,
            collector,
            config,
            dir,
        }
    }
}

fn devices() -> String {
    let rows = [
        ("lvl-1", "drainage", "rtu", 1, "level-4-20ma", 200),
        ("meter-2", "ev_charger", "rtu", 2, "ddsu666", 200),
        ("rain-3", "drainage", "rtu", 3, "rain-gauge", 200),
        ("exc-4", "drainage", "rtu", 4, "elsewhere", 200),
        ("bad-5", "drainage", "rtu", 5, "plain-level", 100),
        ("dead-9", "drainage", "rtu", 9, "plain-level", 100),
        ("tcp-1", "ev_charger", "tcp", 1, "tcp-meter", 200),
    ];
    rows.iter()
        .map(|(id, kind, link, slave, map, timeout)| {
            format!("[[device]]\nid = \"{id}\"\nkind = \"{kind}\"\nlink = \"{link}\"\nslave_id = {slave}\nmap = \"{map}\"\npoll_interval_ms = {POLL_MS}\ntimeout_ms = {timeout}\n\n")
        })
        .collect()
}

fn telemetry<'a>(messages: &'a [Message], kind: &str, device: &str) -> Vec<&'a Message> {
    let topic = format!("retrofit/v1/{SITE}/{kind}/{device}/telemetry");
    messages.iter().filter(|m| m.topic == topic).collect()
}

fn metric(m: &Message, name: &str) -> Option<f64> {
    m.json()["metrics"][name].as_f64()
}

/// Whether the last telemetry of `device` has `name` close to `want`.
fn last_is(messages: &[Message], kind: &str, device: &str, name: &str, want: f64) -> bool {
    telemetry(messages, kind, device)
        .last()
        .and_then(|m| metric(m, name))
        .is_some_and(|v| (v - want).abs() < 1e-6 * want.abs().max(1.0))
}

/// The rain gauge's saved counter state (last raw, total), once saved.
fn saved_rain(dir: &Path) -> Option<(f64, f64)> {
    let saved = CounterTotals::open(&dir.join("data")).ok()?.load().ok()?;
    let rain = saved.iter().find(|s| s.point.device == "rain-3")?;
    Some((rain.total.last_raw(), rain.total.value()))
}

fn stop_cleanly(gateway: &mut GatewayProcess) {
    let status = gateway.terminate();
    assert!(status.success(), "exit {status:?}; log:\n{}", gateway.log());
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

fn status(messages: &[Message], device: &str) -> Option<serde_json::Value> {
    let topic = format!("retrofit/v1/{SITE}/drainage/{device}/status");
    messages
        .iter()
        .rev()
        .find(|m| m.topic == topic)
        .map(Message::json)
}

/// The measurement time as written (RFC 3339 in one fixed format, so it
/// orders like the time).
fn ts_of(m: &Message) -> String {
    m.json()["ts"].as_str().unwrap().to_string()
}

fn rfc3339(ms: i64) -> String {
    retrofit_protocols::Timestamp(ms).to_string()
}

#[test]
fn modbus_rtu_and_tcp_against_pymodbus() {
    let Bench {
        dir: _dir,
        broker: _broker,
        vm,
        mut peer,
        collector,
        config,
    } = Bench::start();
    // Level: unit code 1 (cm), 1 decimal, 1234 -> 123.4 cm = 1.234 m.
    peer.command("set rtu 1 3 2 1 1 1234");
    // DDSU666 floats, high word first: 230.5 V, 5.25 A, 1.2 kW; 1500.5 kWh.
    peer.command("set rtu 2 3 0x2000 0x4366 0x8000 0x40A8 0x0000 0x3F99 0x999A");
    peer.command("set rtu 2 3 0x4000 0x44BB 0x9000");
    // Rain gauge: 65530 tips of 0.2 mm, 25 = 2.5 mm/h.
    peer.command("set rtu 3 4 0 65530 25");
    // TCP: 12.5 W as a word-swapped float (CDAB), current -1234 -> -12.34 A.
    peer.command("set tcp 1 3 0 0x0000 0x4148 0xFFFF 0xFB2E");
    let gateway = InProcessGateway::start(&config);

    let values_arrived = |m: &[Message]| {
        last_is(m, "drainage", "lvl-1", "level_m", 1.234)
            && last_is(m, "ev_charger", "meter-2", "voltage_v", 230.5)
            && last_is(m, "ev_charger", "meter-2", "current_a", 5.25)
            && last_is(m, "ev_charger", "meter-2", "power_w", 1200.0000476837158)
            && last_is(m, "ev_charger", "meter-2", "energy_wh", 1_500_500.0)
            && last_is(m, "drainage", "rain-3", "rain_mm_total", 13_106.0)
            && last_is(m, "drainage", "rain-3", "rain_mm_h", 2.5)
            && last_is(m, "ev_charger", "tcp-1", "power_w", 12.5)
            && last_is(m, "ev_charger", "tcp-1", "current_a", -12.34)
    };
    collector.wait_for(
        "scaled values on the normalized topics",
        Duration::from_secs(20),
        values_arrived,
    );
    let sample = telemetry(&collector.messages(), "drainage", "lvl-1")
        .last()
        .unwrap()
        .json();
    assert_eq!(sample["source"], "modbus");

    // The dead slave is declared offline with the reason.
    collector.wait_for("dead-9 offline", Duration::from_secs(20), |m| {
        status(m, "dead-9").is_some_and(|s| s["status"] == "offline")
    });
    let reason = status(&collector.messages(), "dead-9").unwrap()["reason"].to_string();
    assert!(reason.contains("modbus timeout"), "{reason}");

    // The healthy slaves' poll rate over a bounded window, while slave 9
    // stays dead and slave 5 keeps sending damaged frames.
    let window_ms: i64 = 6_000;
    let t0 = support::rig::now_ms();
    let (start, end) = (rfc3339(t0), rfc3339(t0 + window_ms));
    collector.wait_for("the window to close", Duration::from_secs(30), |m| {
        HEALTHY
            .iter()
            .all(|(d, k)| telemetry(m, k, d).iter().any(|x| ts_of(x) >= end))
    });
    let messages = collector.messages();
    let expected = window_ms as f64 / POLL_MS as f64;
    for (device, kind) in HEALTHY {
        let n = telemetry(&messages, kind, device)
            .iter()
            .filter(|m| (start.clone()..end.clone()).contains(&ts_of(m)))
            .count();
        let rate = n as f64 / expected;
        eprintln!(
            "{device}: {n} polls in {window_ms} ms = {:.1} % of its rate",
            rate * 100.0
        );
        assert!(
            rate >= 0.9,
            "{device} kept only {:.1} % of its poll rate",
            rate * 100.0
        );
    }

    // Every fault was counted, and the poller went on.
    for (device, outcome) in [
        ("exc-4", "exception"),
        ("bad-5", "crc_error"),
        ("bad-5", "short_frame"),
        ("bad-5", "garbled"),
        ("dead-9", "timeout"),
    ] {
        wait_until(
            &format!("{device} {outcome} counted"),
            Duration::from_secs(20),
            || gateway.requests(device, outcome) >= 1,
        );
    }
    assert!(gateway.requests("dead-9", "timeout") >= 3);
    assert!(gateway.requests("lvl-1", "delivered") >= 30);
    assert_eq!(gateway.requests("exc-4", "ok"), 0);

    // The counter rolls over (65530 -> 65536 + 3: 9 tips) and keeps counting.
    peer.command("set rtu 3 4 0 3");
    collector.wait_for(
        "rain total after the rollover",
        Duration::from_secs(10),
        |m| last_is(m, "drainage", "rain-3", "rain_mm_total", 13_107.8),
    );

    // The dead slave answers again: online, with its reading.
    peer.command("set rtu 9 3 0 750");
    peer.command("revive 9");
    collector.wait_for("dead-9 back online", Duration::from_secs(20), |m| {
        status(m, "dead-9").is_some_and(|s| s["status"] == "online")
            && last_is(m, "drainage", "dead-9", "level_m", 0.75)
    });

    // The same values reached the store.
    wait_until("values in VictoriaMetrics", Duration::from_secs(20), || {
        let last = |name: &str, device: &str| {
            vm.export(name)
                .iter()
                .find(|s| s["metric"]["device"] == device)
                .and_then(|s| {
                    s["values"]
                        .as_array()
                        .and_then(|v| v.last())
                        .and_then(|v| v.as_f64())
                })
        };
        last("drainage_level_m", "lvl-1") == Some(1.234)
            && last("ev_charger_energy_wh", "meter-2") == Some(1_500_500.0)
            && last("ev_charger_current_a", "tcp-1") == Some(-12.34)
    });
    gateway.stop();
}

#[test]
fn counter_totals_survive_gateway_restarts() {
    let Bench {
        dir,
        broker: _broker,
        vm: _vm,
        mut peer,
        collector,
        config,
    } = Bench::start();
    peer.command("set rtu 3 4 0 65530 25");
    let mut gateway = GatewayProcess::start(&config);
    let limit = Duration::from_secs(30);
    let total =
        |want: f64| move |m: &[Message]| last_is(m, "drainage", "rain-3", "rain_mm_total", want);

    collector.wait_for("the first total", limit, total(13_106.0));
    // The counter rolls over (65530 -> 3: 9 tips); that is saved at once.
    peer.command("set rtu 3 4 0 3");
    collector.wait_for("the total after the rollover", limit, total(13_107.8));
    wait_until("the rollover saved", limit, || {
        saved_rain(dir.path()).is_some_and(|(raw, t)| raw == 3.0 && close(t, 13_107.8))
    });
    // Killed; the counter moves on to 10, far below the raw value before
    // the rollover: the total goes on from the saved one (7 tips more),
    // not from the device's 2 mm.
    gateway.kill();
    peer.command("set rtu 3 4 0 10");
    gateway.restart();
    collector.wait_for("the total after the kill", limit, total(13_109.2));
    // Counted on (nothing to save at once): the clean stop saves it.
    peer.command("set rtu 3 4 0 20");
    collector.wait_for("the total at 20 tips", limit, total(13_111.2));
    stop_cleanly(&mut gateway);
    let (raw, saved) = saved_rain(dir.path()).expect("totals saved at the stop");
    assert!(raw == 20.0 && close(saved, 13_111.2), "saved {raw} {saved}");
    // The meter is reset to 5 tips while the gateway is down: counted on.
    peer.command("set rtu 3 4 0 5");
    gateway.restart();
    collector.wait_for("the total after the reset", limit, total(13_112.2));
    stop_cleanly(&mut gateway);

    // In measurement order (a killed gateway may publish a reading again
    // after its restart), the total never went backwards.
    let mut totals: Vec<(String, f64)> = telemetry(&collector.messages(), "drainage", "rain-3")
        .iter()
        .filter_map(|m| Some((ts_of(m), metric(m, "rain_mm_total")?)))
        .collect();
    totals.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(totals.len() >= 4, "{totals:?}");
    for pair in totals.windows(2) {
        assert!(pair[1].1 >= pair[0].1, "the total went backwards: {pair:?}");
    }
}
