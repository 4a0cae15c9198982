//! Gateway-side rules on a LoRaWAN well, end to end: ChirpStack uplinks
//! into a real Mosquitto, the gateway binary, alarms on the normalized
//! event topic. Crossing the warning and the overflow level raises one
//! `high_water` alarm that escalates, steps down and clears with
//! hysteresis; an impossible level is dead-lettered, never published; a
//! direct MQTT well whose level rises while the rain gauge reads no rain
//! raises `blockage_suspected`.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use retrofit_protocols::Timestamp;
use support::fleet;
use support::mqtt::publish_all;
use support::rig::{now_ms, Rig};

const RULE: &str = r#"
[[rule]]
type = "high_water"
kind = "drainage"
warning_m = 1.0
overflow_m = 2.0
hysteresis_m = 0.1
"#;

/// The frame counter of the `i`-th uplink that reads `level_m`: the
/// fleet's LDDS75 reads 2.5 m - (fCnt mod 2000) mm, so counters keep
/// rising while the level goes anywhere.
fn f_cnt(i: u32, level_m: f64) -> u32 {
    2000 * (i + 1) + ((2.5 - level_m) * 1000.0).round() as u32
}

#[test]
fn a_lorawan_well_raises_one_high_water_alarm_that_escalates_and_clears() {
    let rig = Rig::start(2, RULE);
    let well = rig.devices.iter().find(|d| !d.parking).unwrap().clone();
    // Up through warning (1.0) and overflow (2.0), then down: critical
    // until below 1.9, major until below 0.9.
    let levels = [0.6, 1.2, 2.2, 1.95, 1.5, 0.95, 0.8];
    let base = now_ms() - 600_000;
    let uplinks: Vec<_> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let ts = Timestamp(base + 60_000 * i as i64);
            fleet::uplink(&well, f_cnt(i as u32, *l), ts, false).0
        })
        .collect();
    // An impossible reading: a decoded level below the well's bottom.
    let (topic, payload) = fleet::uplink(&well, f_cnt(9, 1.0), Timestamp(base + 600_000), true).0;
    let mut up: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    up["object"]["level_m"] = (-0.4).into();
    let mut all = uplinks.clone();
    all.push((topic, serde_json::to_vec(&up).unwrap()));
    assert_eq!(publish_all(rig.input.port, all), levels.len() + 1);

    let events = format!("/drainage/{}/event", well.id);
    rig.collector
        .wait_for("high_water cleared", Duration::from_secs(30), |m| {
            m.iter()
                .any(|x| x.topic.ends_with(&events) && x.json()["state"] == "cleared")
        });
    let alarms: Vec<serde_json::Value> = rig
        .collector
        .on(&events)
        .iter()
        .map(|m| m.json())
        .filter(|j| j["event"] == "high_water")
        .collect();
    let steps: Vec<(String, String)> = alarms
        .iter()
        .map(|j| {
            (
                j["state"].as_str().unwrap().into(),
                j["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("raised", "major"),
        ("raised", "critical"),
        ("raised", "major"),
        ("cleared", "major"),
    ];
    assert_eq!(steps, want.map(|(a, b)| (a.to_string(), b.to_string())));
    assert!(
        alarms
            .iter()
            .all(|j| j["alarm_id"] == alarms[0]["alarm_id"]),
        "one alarm"
    );
    assert_eq!(alarms[0]["source"], "gateway");
    // Each step is timestamped with the uplink that caused it.
    assert_eq!(
        alarms[1]["ts"],
        Timestamp(base + 2 * 60_000).to_string().as_str()
    );

    rig.collector
        .wait_for("out-of-range dead letter", Duration::from_secs(30), |m| {
            m.iter()
                .any(|x| x.topic.ends_with("/deadletter") && x.json()["reason"] == "out_of_range")
        });
    // Alarms travel ahead of telemetry: wait for the readings themselves.
    let well_levels = |rig: &Rig| -> Vec<f64> {
        rig.telemetry()
            .iter()
            .filter(|j| j["device"] == well.id.as_str())
            .filter_map(|j| j["metrics"]["level_m"].as_f64())
            .collect()
    };
    support::wait_until("every level published", Duration::from_secs(30), || {
        well_levels(&rig).len() >= levels.len()
    });
    let published_levels: Vec<f64> = rig
        .telemetry()
        .iter()
        .filter(|j| j["device"] == well.id.as_str())
        .filter_map(|j| j["metrics"]["level_m"].as_f64())
        .collect();
    assert_eq!(published_levels.len(), levels.len(), "{published_levels:?}");
    assert!(published_levels.iter().all(|l| *l >= 0.0));
}

const DIRECT: &str = r#"
[gateway]
id = "gw-1"
site = "s"
data_dir = "DATA"

[mqtt]
url = "URL"

[[link]]
id = "direct"
type = "mqtt"
url = "URL"

[[device]]
id = "well-9"
kind = "drainage"
link = "direct"
topic = "t/well-9"

[[device]]
id = "rain-9"
kind = "drainage"
link = "direct"
topic = "t/rain-9"

[[rule]]
type = "blockage_suspected"
device = "well-9"
rain_device = "rain-9"
rise_m = 0.3
within_s = 3600
"#;

/// The same rules on a direct MQTT well: its level rises 0.4 m in 30 min
/// while the roof gauge reads no rain, so a blockage is suspected; rain
/// clears it.
#[test]
fn a_level_rising_without_rain_raises_blockage_suspected() {
    let broker = support::Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gw.toml");
    let text = DIRECT
        .replace("DATA", &dir.path().join("data").display().to_string())
        .replace("URL", &broker.url());
    std::fs::write(&config, text).unwrap();
    let collector = support::mqtt::Collector::start(broker.port, "retrofit/v1/s/drainage/#");
    let _gateway = support::GatewayProcess::start(&config);
    let base = now_ms() - 3_600_000;
    let msg = |device: &str, minute: i64, metric: &str, x: f64| {
        let ts = Timestamp(base + minute * 60_000);
        let body = format!(r#"{{"ts":"{ts}","seq":{minute},"metrics":{{"{metric}":{x}}}}}"#);
        (format!("t/{device}"), body.into_bytes())
    };
    support::wait_until(
        "the gauge's first reading through",
        Duration::from_secs(30),
        || {
            publish_all(broker.port, vec![msg("rain-9", 0, "rain_mm_h", 0.0)]);
            !collector.on("/rain-9/telemetry").is_empty()
        },
    );
    let rising = vec![
        msg("well-9", 1, "level_m", 0.2),
        msg("well-9", 15, "level_m", 0.35),
        msg("well-9", 31, "level_m", 0.6),
        msg("rain-9", 40, "rain_mm_h", 6.5),
        msg("well-9", 41, "level_m", 0.62),
    ];
    assert_eq!(publish_all(broker.port, rising), 5);
    collector.wait_for("blockage cleared", Duration::from_secs(30), |m| {
        m.iter()
            .any(|x| x.topic.ends_with("/well-9/event") && x.json()["state"] == "cleared")
    });
    let steps: Vec<(String, String)> = collector
        .on("/well-9/event")
        .iter()
        .map(|m| m.json())
        .map(|j| {
            (
                j["event"].as_str().unwrap().into(),
                j["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("blockage_suspected", "raised"),
        ("blockage_suspected", "cleared"),
    ];
    assert_eq!(steps, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let raised = collector.on("/well-9/event")[0].json();
    assert_eq!(
        raised["ts"],
        Timestamp(base + 31 * 60_000).to_string().as_str()
    );
}
