//! `sla` points in the store: the writer, run with an injected clock over a
//! kept history with past timestamps, writes every completed hour and day
//! since the history's start to a real VictoriaMetrics once, with the figures
//! `retrofit-gateway sla` gives for the same windows; a store outage
//! leaves nothing marked and the next round writes it all; a restart
//! resumes without rewriting. A real gateway with `[influx]` writes the
//! points of its catch-up bound on start, equal to `sla` too.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use retrofit_gateway::config::Config;
use retrofit_gateway::upkeep::store_points::{PointsError, SlaPoints};
use retrofit_protocols::line_protocol::SlaPeriod;
use retrofit_protocols::reading::Reading;
use retrofit_protocols::Timestamp;
use std::time::Duration;

use support::{GatewayProcess, Mosquitto, VictoriaMetrics};

const CONFIG: &str = r#"
[gateway]
id = "gw-1"
site = "kangfu-garden"
data_dir = "DATA"

[mqtt]
url = "MQTT"

[influx]
url = "URL"
org = "retrofit"
bucket = "retrofit"

[[link]]
id = "direct"
type = "mqtt"
url = "MQTT"

[[device]]
id = "lift-1"
kind = "elevator"
link = "direct"
topic = "t/lift-1"
expected_interval_s = 60

[[device]]
id = "well-1"
kind = "drainage"
link = "direct"
topic = "t/well-1"
expected_interval_s = 300
"#;

/// 2026-11-01T00:00:00Z, ms.
const NOV_1: i64 = 1_793_491_200_000;
const HOUR: i64 = 3_600_000;

/// `HH:MM` on 2026-11-01 as RFC 3339.
fn t(minutes: u32) -> String {
    format!("2026-11-01T{:02}:{:02}:00.000Z", minutes / 60, minutes % 60)
}

fn reading(json: String) -> Reading {
    Reading::from_json(json.as_bytes()).unwrap()
}

/// lift-1: a reading a minute for 10 h, an entrapment (critical) from 1:00
/// to 1:30; well-1: a reading every 5 min until 4:55, then silent.
fn timeline() -> Vec<Reading> {
    let telemetry = |device: &str, kind: &str, minutes: u32, seq: u32| {
        reading(format!(
            r#"{{"v":1,"site":"kangfu-garden","kind":"{kind}","device":"{device}","ts":"{}","seq":{seq},"source":"mqtt","metrics":{{"level_m":0.5}}}}"#,
            t(minutes)
        ))
    };
    let entrapment = |minutes: u32, state: &str, seq: u32| {
        reading(format!(
            r#"{{"v":1,"site":"kangfu-garden","kind":"elevator","device":"lift-1","ts":"{}","seq":{seq},"source":"serial","event":"entrapment","severity":"critical","state":"{state}","alarm_id":"lift-1.entrapment.9000","detail":""}}"#,
            t(minutes)
        ))
    };
    let mut all: Vec<Reading> = (0..600)
        .map(|m| telemetry("lift-1", "elevator", m, m))
        .collect();
    all.extend((0..60).map(|k| telemetry("well-1", "drainage", 5 * k, k)));
    all.push(entrapment(60, "raised", 9000));
    all.push(entrapment(90, "cleared", 9001));
    all
}

fn sla_cli(config: &Path, from: &str, to: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(["sla", "-c"])
        .arg(config)
        .args(["--from", from, "--to", to, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value the store holds for `row`'s series of `field` at `ts`.
fn stored(
    export: &[serde_json::Value],
    field: &str,
    row: &serde_json::Value,
    period: &str,
    ts: i64,
) -> Option<f64> {
    let name = format!("sla_{field}");
    let series = export.iter().find(|s| {
        let m = &s["metric"];
        m["__name__"] == name.as_str()
            && m["period"] == period
            && m["site"] == row["site"]
            && m.get("kind").unwrap_or(&serde_json::Value::Null) == &row["kind"]
            && m.get("device").unwrap_or(&serde_json::Value::Null) == &row["device"]
    })?;
    let at = series["timestamps"]
        .as_array()?
        .iter()
        .position(|t| t.as_i64() == Some(ts))?;
    series["values"][at].as_f64()
}

const FIELDS: [&str; 6] = [
    "availability_pct",
    "uptime_pct",
    "failures",
    "mtbf_h",
    "mttr_h",
    "data_completeness_pct",
];

/// Every row of the CLI's report is in the store with the same figures;
/// null figures are absent.
fn assert_same(
    export: &[serde_json::Value],
    report: &serde_json::Value,
    period: &str,
    ts: i64,
) -> usize {
    let rows: Vec<&serde_json::Value> = std::iter::once(&report["site"])
        .chain(report["kinds"].as_array().unwrap())
        .chain(report["devices"].as_array().unwrap())
        .collect();
    for row in &rows {
        for field in FIELDS {
            let got = stored(export, field, row, period, ts);
            match row[field].as_f64() {
                Some(want) => {
                    let got =
                        got.unwrap_or_else(|| panic!("{field} of {row} missing in the store"));
                    assert!(
                        (got - want).abs() < 1e-9,
                        "{field} of {row}: store {got}, sla {want}"
                    );
                }
                None => assert_eq!(got, None, "{field} of {row} is null but was stored"),
            }
        }
    }
    rows.len()
}

fn writer(config: &Arc<Config>, now_ms: i64) -> SlaPoints {
    let store = retrofit_gateway::upkeep::open_store(config).unwrap();
    let influx = config.influx.as_ref().unwrap();
    SlaPoints::new(config.clone(), influx, store, move || {
        Timestamp::from_millis(now_ms)
    })
}

#[test]
fn sla_points_equal_the_sla_command_and_resume_after_a_restart() {
    let mut vm = VictoriaMetrics::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    let text = CONFIG
        .replace("DATA", dir.path().join("data").to_str().unwrap())
        .replace("URL", &vm.url())
        .replace("MQTT", "mqtt://127.0.0.1:1");
    std::fs::write(&path, text).unwrap();
    let config = Arc::new(Config::load(&path).unwrap());
    retrofit_gateway::upkeep::open_store(&config)
        .unwrap()
        .record(&timeline())
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // 2026-11-02T00:10Z: the history starts at 2026-11-01T00:00Z, so its
    // 24 hours and 1 day are due (within the 48 h / 7 d bound), 5 rows each.
    let now = NOV_1 + 24 * HOUR + 10 * 60_000;

    vm.kill();
    let failed = rt.block_on(writer(&config, now).write_due());
    assert!(matches!(failed, Err(PointsError::Store(_))), "{failed:?}");
    let store = retrofit_gateway::upkeep::open_store(&config).unwrap();
    assert_eq!(
        store.sla_written(SlaPeriod::Hour).unwrap(),
        None,
        "nothing marked while the store is down"
    );
    vm.restart();

    let written = rt.block_on(writer(&config, now).write_due()).unwrap();
    assert_eq!(written, (24 + 1) * 5);
    assert_eq!(
        store.sla_written(SlaPeriod::Hour).unwrap(),
        Some(NOV_1 + 24 * HOUR)
    );
    assert_eq!(
        store.sla_written(SlaPeriod::Day).unwrap(),
        Some(NOV_1 + 24 * HOUR)
    );
    // A restart an hour later writes only the hour that completed since.
    let again = rt
        .block_on(writer(&config, now + HOUR).write_due())
        .unwrap();
    assert_eq!(again, 5);
    drop(store);

    let export = vm.export("sla_.*");
    let site_hours = stored_count(&export, "sla_failures", "hour");
    assert_eq!(site_hours, 25, "one site point per hour written");
    let hour = sla_cli(&path, &t(60), &t(120));
    assert_eq!(
        hour["site"]["failures"], 1,
        "the entrapment is the hour's failure"
    );
    assert_eq!(assert_same(&export, &hour, "hour", NOV_1 + HOUR), 5);
    let quiet = sla_cli(&path, &t(300), &t(360));
    assert_same(&export, &quiet, "hour", NOV_1 + 5 * HOUR);
    let day = sla_cli(&path, &t(0), "2026-11-02T00:00:00Z");
    assert_eq!(assert_same(&export, &day, "day", NOV_1), 5);
}

/// Samples of the site series `name` for `period`.
fn stored_count(export: &[serde_json::Value], name: &str, period: &str) -> usize {
    export
        .iter()
        .filter(|s| s["metric"]["__name__"] == name && s["metric"]["period"] == period)
        .filter(|s| s["metric"].get("kind").is_none())
        .map(|s| s["values"].as_array().map_or(0, Vec::len))
        .sum()
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_millis() as i64
}

fn lift_reading(ts: i64, seq: i64) -> Reading {
    reading(format!(
        r#"{{"v":1,"site":"kangfu-garden","kind":"elevator","device":"lift-1","ts":"{}","seq":{seq},"source":"mqtt","metrics":{{"mode":"normal"}}}}"#,
        Timestamp::from_millis(ts)
    ))
}

#[test]
fn the_gateway_writes_the_points_of_its_catch_up_bound_on_start() {
    let (vm, broker) = (VictoriaMetrics::start(), Mosquitto::start());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    let text = CONFIG
        .replace("DATA", dir.path().join("data").to_str().unwrap())
        .replace("URL", &vm.url())
        .replace("MQTT", &broker.url());
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    // A history started 10 days ago; lift-1 then reads every minute for
    // 10 h from 30 h ago (the hour started 28 h ago is fully covered).
    let this_hour = now_ms().div_euclid(HOUR) * HOUR;
    let base = this_hour - 30 * HOUR;
    let mut history = vec![lift_reading(this_hour - 240 * HOUR, 0)];
    history.extend((0..600).map(|m| lift_reading(base + m * 60_000, m + 1)));
    retrofit_gateway::upkeep::open_store(&config)
        .unwrap()
        .record(&history)
        .unwrap();

    let mut gateway = GatewayProcess::start(&path);
    // 48 hours and 7 days (one hour more if an hour ends meanwhile), 5 rows.
    support::wait_until("sla points in the store", Duration::from_secs(60), || {
        vm.sample_count("sla_failures") >= (48 + 7) * 5
    });
    assert!(gateway.terminate().success(), "{}", gateway.log());

    let export = vm.export("sla_.*");
    assert_eq!(stored_count(&export, "sla_failures", "day"), 7);
    let hours = stored_count(&export, "sla_failures", "hour");
    assert!((48..=49).contains(&hours), "{hours} site hours written");
    let ts = |ms: i64| Timestamp::from_millis(ms).to_string();
    let covered = base + 2 * HOUR;
    let hour = sla_cli(&path, &ts(covered), &ts(covered + HOUR));
    assert_eq!(hour["devices"][0]["data_completeness_pct"], 100.0, "{hour}");
    assert_eq!(assert_same(&export, &hour, "hour", covered), 5);
    let day_start = this_hour.div_euclid(24 * HOUR) * 24 * HOUR - 2 * 24 * HOUR;
    let day = sla_cli(&path, &ts(day_start), &ts(day_start + 24 * HOUR));
    assert_eq!(assert_same(&export, &day, "day", day_start), 5);
}
