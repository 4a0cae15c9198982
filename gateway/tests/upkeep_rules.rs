//! Gateway-side rules on a LoRaWAN well, end to end: ChirpStack uplinks
//! into a real Mosquitto, the gateway binary, alarms on the normalized
//! event topic. Crossing the warning and the overflow level raises one
//! `high_water` alarm that escalates, steps down and clears with
//! hysteresis; an impossible level is dead-lettered, never published.

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
