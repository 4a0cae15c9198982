//! End to end through real processes: ChirpStack-style uplinks into a real
//! Mosquitto, the gateway binary, normalized topics on a second real
//! Mosquitto, points in a real VictoriaMetrics.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use retrofit_gateway::journal::{Journal, Lane};
use retrofit_protocols::Timestamp;
use support::fleet::{self, Expected};
use support::in_process::InProcessGateway;
use support::mqtt::{publish_all, Message};
use support::rig::{now_ms, Rig};

const DEVICES: usize = 300;

fn telemetry_of(messages: &[Message], seq_below: u64) -> Vec<serde_json::Value> {
    messages
        .iter()
        .filter(|m| m.topic.ends_with("/telemetry"))
        .map(Message::json)
        .filter(|j| j["seq"].as_u64().is_some_and(|s| s < seq_below))
        .collect()
}

fn assert_reading(json: &serde_json::Value, want: &Expected, topic: Option<&str>) {
    assert_eq!(json["device"], want.device.as_str(), "{json}");
    assert_eq!(json["site"], fleet::SITE);
    assert_eq!(json["source"], "lorawan");
    assert_eq!(json["ts"], want.ts.to_string().as_str(), "{json}");
    for (k, v) in &want.metrics {
        assert_eq!(&json["metrics"][k], v, "metric {k} of {json}");
    }
    assert_eq!(json["metrics"]["rssi_dbm"], -97, "{json}");
    if let Some(t) = topic {
        let kind = json["kind"].as_str().unwrap();
        assert_eq!(
            t,
            format!(
                "retrofit/v1/{}/{kind}/{}/telemetry",
                fleet::SITE,
                want.device
            )
        );
    }
}

#[test]
fn every_uplink_arrives_once_on_its_topic_and_in_the_store() {
    let rig = Rig::start(DEVICES, "");
    let base = now_ms() - 60_000;
    let mut uplinks = Vec::new();
    let mut expected = HashMap::new();
    for (i, d) in rig.devices.iter().enumerate() {
        let (msg, want) = fleet::uplink(d, 10 + i as u32, Timestamp(base + i as i64), i % 4 != 0);
        uplinks.push(msg);
        expected.insert(d.id.clone(), want);
    }
    assert_eq!(
        publish_all(rig.input.port, uplinks),
        DEVICES,
        "broker acknowledged every uplink"
    );

    rig.collector
        .wait_for("every normalized reading", Duration::from_secs(60), |m| {
            telemetry_of(m, 1_000_000).len() >= DEVICES
        });
    // Exactly once per device, on the right topic, with the right payload.
    let messages = rig.collector.messages();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in messages.iter().filter(|m| m.topic.ends_with("/telemetry")) {
        let json = m.json();
        if json["seq"].as_u64().unwrap() >= 1_000_000 {
            continue;
        }
        let device = json["device"].as_str().unwrap().to_string();
        assert_reading(&json, &expected[&device], Some(&m.topic));
        *seen.entry(device).or_default() += 1;
    }
    assert_eq!(seen.len(), DEVICES);
    assert!(
        seen.values().all(|&n| n == 1),
        "duplicates: {:?}",
        seen.iter().filter(|(_, &n)| n > 1).collect::<Vec<_>>()
    );

    // The store: one point per reading with the right tags, fields and timestamp.
    support::wait_until("points in the store", Duration::from_secs(60), || {
        rig.vm.sample_count("parking_occupied|drainage_level_m") > DEVICES
    });
    let series = rig.vm.export("parking_occupied|drainage_level_m");
    let mut points = 0;
    for s in &series {
        let device = s["metric"]["device"].as_str().unwrap();
        assert_eq!(s["metric"]["site"], fleet::SITE);
        let stamps = s["timestamps"].as_array().unwrap();
        let values = s["values"].as_array().unwrap();
        for (t, v) in stamps.iter().zip(values) {
            let Some(want) = expected
                .get(device)
                .filter(|w| w.ts.as_millis() == t.as_i64().unwrap())
            else {
                continue;
            };
            points += 1;
            let (name, value) = &want.metrics[0];
            assert!(s["metric"]["__name__"].as_str().unwrap().ends_with(name));
            let expected_value = value
                .as_f64()
                .unwrap_or_else(|| f64::from(u8::from(value == &serde_json::Value::Bool(true))));
            assert_eq!(v.as_f64().unwrap(), expected_value, "{device}");
        }
    }
    assert_eq!(points, DEVICES, "one point per reading in the store");
}

#[test]
fn hostile_input_is_dead_lettered_and_good_traffic_keeps_flowing() {
    let rig = Rig::start(4, "");
    let d = &rig.devices[1];
    let ((topic, good), _) = fleet::uplink(d, 5, Timestamp(now_ms()), true);
    let good_json: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let variant = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good_json.clone();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let unknown_eui = "00000000000000ff";
    let hostile: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "malformed_json",
            topic.clone(),
            b"{\"deviceInfo\": ".to_vec(),
        ),
        ("malformed_json", topic.clone(), vec![0xff, 0xfe, 0x00]),
        (
            "invalid_field",
            topic.clone(),
            variant(&|v| v["fCnt"] = "many".into()),
        ),
        (
            "invalid_field",
            topic.clone(),
            variant(&|v| {
                v.as_object_mut().unwrap().remove("deviceInfo");
            }),
        ),
        (
            "invalid_metric",
            topic.clone(),
            variant(&|v| v["object"] = serde_json::json!({"level_m,site=x": 1})),
        ),
        (
            "invalid_metric",
            topic.clone(),
            variant(&|v| v["object"] = serde_json::json!({"a/b/#": 1})),
        ),
        (
            "invalid_value",
            topic.clone(),
            variant(&|v| v["object"] = serde_json::json!({"level_m": "1\n2"})),
        ),
        (
            "unknown_device",
            topic.replace(&d.eui.to_string(), unknown_eui),
            variant(&|v| v["deviceInfo"]["devEui"] = unknown_eui.into()),
        ),
        ("oversized", topic.clone(), {
            let mut v = good_json.clone();
            v["deviceInfo"]["deviceName"] = "x".repeat(70_000).into();
            serde_json::to_vec(&v).unwrap()
        }),
    ];
    let mut batch: Vec<(String, Vec<u8>)> = hostile
        .iter()
        .map(|(_, t, p)| (t.clone(), p.clone()))
        .collect();
    let ((t2, good_after), want) = fleet::uplink(d, 6, Timestamp(now_ms() + 1), false);
    batch.push((t2, good_after));
    assert_eq!(publish_all(rig.input.port, batch), hostile.len() + 1);

    rig.collector.wait_for(
        "dead letters and the good reading",
        Duration::from_secs(30),
        |m| {
            let letters = m
                .iter()
                .filter(|x| x.topic.ends_with("/deadletter"))
                .count();
            let good = m
                .iter()
                .any(|x| x.topic.ends_with("/telemetry") && x.json()["seq"] == 6);
            letters >= hostile.len() && good
        },
    );
    let letters: Vec<serde_json::Value> = rig
        .collector
        .on("/deadletter")
        .iter()
        .map(Message::json)
        .collect();
    let reasons: Vec<&str> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    for (reason, _, _) in &hostile {
        assert!(
            reasons.contains(reason),
            "no dead letter for {reason}: {reasons:?}"
        );
    }
    for l in &letters {
        assert_eq!(l["gateway"], fleet::GATEWAY);
        assert_eq!(l["link"], "ns");
        assert!(
            l["input"].as_str().unwrap().len() <= 1536,
            "excerpt is bounded"
        );
    }
    let good = rig
        .collector
        .on("/telemetry")
        .into_iter()
        .map(|m| m.json())
        .find(|j| j["seq"] == 6)
        .unwrap();
    assert_reading(&good, &want, None);
    // Nothing hostile reached the store: only the canary and the good reading.
    support::wait_until("good point in the store", Duration::from_secs(30), || {
        rig.vm
            .export("drainage_.*|parking_.*")
            .iter()
            .any(|s| s["metric"]["device"] == d.id.as_str())
    });
    for s in rig.vm.export(".*") {
        let name = s["metric"]["__name__"].as_str().unwrap();
        assert!(
            !name.contains("site=x") && !name.contains('#') && !name.contains('/'),
            "{name}"
        );
        if let Some(dev) = s["metric"]["device"].as_str() {
            assert!(
                rig.devices.iter().any(|d| d.id == dev) || dev == fleet::GATEWAY,
                "unexpected device {dev}"
            );
        }
    }
}

#[test]
fn two_gateways_split_one_network_server_through_a_shared_subscription() {
    let (input, output) = (support::Mosquitto::start(), support::Mosquitto::start());
    let dir = tempfile::tempdir().unwrap();
    let devices = fleet::devices(40);
    let collector = support::mqtt::Collector::start(output.port, "retrofit/v1/#");
    let gateways: Vec<support::GatewayProcess> = ["gw-a", "gw-b"]
        .iter()
        .map(|id| {
            let config = fleet::config(
                &devices,
                &input.url(),
                &output.url(),
                None,
                &dir.path().join(id),
                "",
            )
            .replace(
                &format!("id = \"{}\"", fleet::GATEWAY),
                &format!("id = \"{id}\""),
            )
            .replace(
                &format!("application = \"{}\"", fleet::APP),
                &format!(
                    "application = \"{}\"\nshared_group = \"site-gws\"",
                    fleet::APP
                ),
            );
            let path = dir.path().join(format!("{id}.toml"));
            std::fs::write(&path, config).unwrap();
            support::GatewayProcess::start(&path)
        })
        .collect();
    // Both are subscribed once a burst of canaries comes out through both.
    support::wait_until("both gateways subscribed", Duration::from_secs(30), || {
        let burst = (0..20u32)
            .map(|k| fleet::uplink(&devices[0], 2_000_000 + k, Timestamp(now_ms()), true).0)
            .collect();
        publish_all(input.port, burst);
        std::thread::sleep(Duration::from_millis(200));
        let sources: std::collections::HashSet<String> = collector
            .on("/status")
            .iter()
            .filter(|m| m.topic.contains("/gateway/"))
            .map(|m| m.topic.clone())
            .collect();
        sources.len() == 2 && collector.on("/telemetry").len() >= 2
    });
    let before = collector.on("/telemetry").len();
    let base = now_ms() - 10_000;
    let uplinks: Vec<_> = (0..400u32)
        .map(|k| {
            fleet::uplink(
                &devices[k as usize % devices.len()],
                10 + k,
                Timestamp(base + i64::from(k)),
                true,
            )
            .0
        })
        .collect();
    assert_eq!(publish_all(input.port, uplinks), 400);
    collector.wait_for("400 readings", Duration::from_secs(30), |m| {
        m.iter().filter(|x| x.topic.ends_with("/telemetry")).count() >= before + 400
    });
    let readings: Vec<serde_json::Value> = collector
        .on("/telemetry")
        .iter()
        .map(Message::json)
        .filter(|j| j["seq"].as_u64().is_some_and(|s| s < 1_000_000))
        .collect();
    assert_eq!(
        readings.len(),
        400,
        "each uplink normalized exactly once across both gateways"
    );
    let seqs: std::collections::HashSet<u64> = readings
        .iter()
        .map(|j| j["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 400);
    // Both took a share: each journal holds part of the telemetry.
    let shares: Vec<u64> = ["gw-a", "gw-b"]
        .iter()
        .map(|id| {
            let stats = Journal::open_read_only(&dir.path().join(id))
                .unwrap()
                .stats()
                .unwrap();
            stats.lane(Lane::Bulk).last_pos
        })
        .collect();
    assert!(shares.iter().all(|&n| n >= 100), "shares {shares:?}");
    drop(gateways);
}

#[test]
fn gaps_in_the_frame_counter_are_counted_as_lost_readings() {
    let gw = InProcessGateway::start(2);
    let (input, devices, counters) = (&gw.input, &gw.devices, &gw.counters);
    let accepted = || gw.accepted();
    let uplink =
        |d: usize, f_cnt: u32| fleet::uplink(&devices[d], f_cnt, Timestamp(now_ms()), true).0;
    // The same first uplink until the link has subscribed (a repeat is no gap).
    support::wait_until("the link subscribed", Duration::from_secs(30), || {
        publish_all(input.port, vec![uplink(0, 1)]);
        accepted() > 0
    });
    let before = accepted();
    // Device 0: 2 then 5, 6, 10 (5 missing); device 1: 7, 8, 9 (none).
    let sent = [(0, 2), (0, 5), (0, 6), (0, 10), (1, 7), (1, 8), (1, 9)];
    let messages = sent.iter().map(|&(d, f)| uplink(d, f)).collect();
    assert_eq!(publish_all(input.port, messages), sent.len());
    support::wait_until("every uplink accepted", Duration::from_secs(30), || {
        accepted() >= before + sent.len() as u64
    });
    assert_eq!(counters.lost_snapshot().get("lorawan"), Some(&5));
    assert_eq!(counters.totals().lost, 5);
    gw.stop();
}

const STATUS: &str = include_str!("../../protocols/testdata/chirpstack-v4-status.json");
const JOIN: &str = include_str!("../../protocols/testdata/chirpstack-v4-join.json");

/// A ChirpStack `join` or `status` event of `d` (the reference event,
/// re-addressed) at `ts`, on its topic.
fn device_event(
    d: &fleet::FleetDevice,
    event: &str,
    ts: Timestamp,
    edit: impl FnOnce(&mut serde_json::Value),
) -> (String, Vec<u8>) {
    let reference = if event == "join" { JOIN } else { STATUS };
    let mut v: serde_json::Value = serde_json::from_str(reference).unwrap();
    v["time"] = ts.to_string().into();
    v["deviceInfo"]["applicationId"] = fleet::APP.into();
    v["deviceInfo"]["deviceName"] = d.id.clone().into();
    v["deviceInfo"]["devEui"] = d.eui.to_string().into();
    edit(&mut v);
    let topic = format!("application/{}/device/{}/event/{event}", fleet::APP, d.eui);
    (topic, serde_json::to_vec(&v).unwrap())
}

#[test]
fn a_rejoin_restarts_the_frame_counter_without_lost_readings() {
    let gw = InProcessGateway::start(2);
    let (input, devices, counters) = (&gw.input, &gw.devices, &gw.counters);
    let accepted = || gw.accepted();
    let lost = || {
        counters
            .lost_snapshot()
            .get("lorawan")
            .copied()
            .unwrap_or(0)
    };
    let uplink =
        |d: usize, f_cnt: u32| fleet::uplink(&devices[d], f_cnt, Timestamp(now_ms()), true).0;
    let join = |d: usize| device_event(&devices[d], "join", Timestamp(now_ms()), |_| {});
    // Both devices at fCnt 9 until the link has subscribed (a repeat is no gap).
    support::wait_until("the link subscribed", Duration::from_secs(30), || {
        publish_all(input.port, vec![uplink(0, 9), uplink(1, 9)]);
        accepted() > 1
    });
    let publish_accepted = |messages: Vec<(String, Vec<u8>)>, readings: u64| {
        let before = accepted();
        let n = messages.len();
        assert_eq!(publish_all(input.port, messages), n, "all acknowledged");
        support::wait_until("every uplink accepted", Duration::from_secs(30), || {
            accepted() >= before + readings
        });
    };
    // Device 0 rejoins after fCnt 12 and restarts at 0; device 1 restarts
    // without a join event: 12 -> 0 is within the replay window, so its
    // 0, 1, 2, 4 are taken as late replays (stored, no gap counted).
    let mut first: Vec<_> = (10..=12)
        .flat_map(|f| [uplink(0, f), uplink(1, f)])
        .collect();
    first.extend([0, 1, 2, 4].map(|f| uplink(1, f)));
    publish_accepted(first, 10);
    // The join alone: nothing to record, acknowledged all the same.
    assert_eq!(publish_all(input.port, vec![join(0)]), 1);
    publish_accepted((0..=2).map(|f| uplink(0, f)).collect(), 3);
    assert_eq!(lost(), 0, "neither restart is a loss");
    // Device 0's new run counts gaps from 0: 2 -> 4 lost one.
    publish_accepted(vec![uplink(0, 4)], 1);
    assert_eq!(lost(), 1);
    let rejected = counters.totals().rejected;
    assert_eq!(rejected, 0, "the join was not dead-lettered");
    gw.stop();
}

#[test]
fn status_is_a_battery_reading_and_a_rejoin_makes_no_duplicate_points() {
    let rig = Rig::start(4, "");
    let d = &rig.devices[1];
    let base = now_ms() - 60_000;
    let at = |k: i64| Timestamp(base + k);
    let uplink = |f_cnt: u32, k: i64| fleet::uplink(d, f_cnt, at(k), true);
    let mut messages = Vec::new();
    let mut expected = Vec::new();
    for (f_cnt, k) in [(10, 0), (11, 1), (12, 2)] {
        let (msg, want) = uplink(f_cnt, k);
        messages.push(msg);
        expected.push(want);
    }
    messages.push(device_event(d, "join", at(5), |_| {}));
    for (f_cnt, k) in [(0, 10), (1, 11), (2, 12)] {
        let (msg, want) = uplink(f_cnt, k);
        messages.push(msg);
        expected.push(want);
    }
    messages.push(device_event(d, "status", at(20), |v| {
        v["batteryLevel"] = 42.5.into();
        v["margin"] = (-3).into();
    }));
    assert_eq!(publish_all(rig.input.port, messages), 8);

    let mine = |m: &[Message]| -> Vec<serde_json::Value> {
        m.iter()
            .filter(|x| x.topic.ends_with("/telemetry"))
            .map(Message::json)
            .filter(|j| j["device"] == d.id.as_str())
            .collect()
    };
    rig.collector
        .wait_for("6 uplinks and the status", Duration::from_secs(30), |m| {
            mine(m).len() >= 7
        });
    let readings = mine(&rig.collector.messages());
    assert_eq!(readings.len(), 7, "each exactly once: {readings:?}");
    let status_seq = (1u64 << 32) + at(20).as_millis() as u64;
    let status = readings
        .iter()
        .find(|j| j["seq"] == status_seq)
        .unwrap_or_else(|| panic!("no status reading: {readings:?}"));
    assert_eq!(status["ts"], at(20).to_string().as_str());
    assert_eq!(status["metrics"]["battery_pct"], 42.5);
    assert_eq!(status["metrics"]["margin_db"], -3);
    for want in &expected {
        let n = readings
            .iter()
            .filter(|j| j["ts"] == want.ts.to_string().as_str())
            .count();
        assert_eq!(n, 1, "one reading at {}", want.ts);
    }

    // The store: six level points at six times, one battery point.
    support::wait_until("points in the store", Duration::from_secs(30), || {
        rig.vm.sample_count("drainage_battery_pct") >= 1
            && device_points(&rig, "drainage_level_m", &d.id).len() >= 6
    });
    let mut stamps = device_points(&rig, "drainage_level_m", &d.id);
    stamps.sort_unstable();
    let want: Vec<i64> = expected.iter().map(|w| w.ts.as_millis()).collect();
    assert_eq!(stamps, want, "one point per uplink, none twice");
    let battery = device_points(&rig, "drainage_battery_pct", &d.id);
    assert_eq!(battery, vec![at(20).as_millis()]);
}

/// The timestamps of `device`'s points in the series `name`.
fn device_points(rig: &Rig, name: &str, device: &str) -> Vec<i64> {
    rig.vm
        .export(name)
        .iter()
        .filter(|s| s["metric"]["device"] == device)
        .flat_map(|s| s["timestamps"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_i64())
        .collect()
}
