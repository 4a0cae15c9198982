//! Direct MQTT devices, edge-side offline detection and a clean SIGTERM,
//! through the gateway binary and a real Mosquitto.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::mqtt::{publish_all, Collector, Message};
use support::{GatewayProcess, Mosquitto};

const CONFIG: &str = r#"
[gateway]
id = "gw-direct"
site = "site-a"
data_dir = "DATA"

[mqtt]
url = "URL"

[[link]]
id = "direct"
type = "mqtt"
url = "URL"

[[device]]
id = "rain-1"
kind = "drainage"
link = "direct"
topic = "site-a/rain/1"
expected_interval_s = 1

[[device]]
id = "lift-1"
kind = "elevator"
link = "direct"
topic = "site-a/lift/1"
expected_interval_s = 3600
"#;

fn start() -> (Mosquitto, Collector, GatewayProcess, tempfile::TempDir) {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG
        .replace("DATA", &dir.path().join("data").display().to_string())
        .replace("URL", &broker.url());
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config).unwrap();
    let collector = Collector::start(broker.port, "retrofit/v1/#");
    let gateway = GatewayProcess::start(&path);
    collector.wait_for("gateway online", Duration::from_secs(30), |m| {
        m.iter().any(|x| {
            x.topic == "retrofit/v1/site-a/gateway/gw-direct/status"
                && x.json()["status"] == "online"
        })
    });
    (broker, collector, gateway, dir)
}

fn json_of(messages: &[Message], topic: &str) -> Vec<serde_json::Value> {
    messages
        .iter()
        .filter(|m| m.topic == topic)
        .map(Message::json)
        .collect()
}

#[test]
fn direct_devices_are_normalized_and_watched_for_silence() {
    let (broker, collector, _gateway, _dir) = start();
    let lift = br#"{"ts":"2026-11-28T12:00:00.500Z","seq":7,"metrics":{"floor":3,"direction":"up","moving":true,"door":"closed","trips_total":1200}}"#;
    let bad = br#"{"metrics":{"floor":"third"}}"#;
    // Publish until the link's subscription is in place (it may trail the output's).
    support::wait_until("lift telemetry", Duration::from_secs(30), || {
        publish_all(
            broker.port,
            vec![
                ("site-a/lift/1".into(), lift.to_vec()),
                ("site-a/lift/1".into(), bad.to_vec()),
            ],
        );
        !json_of(
            &collector.messages(),
            "retrofit/v1/site-a/elevator/lift-1/telemetry",
        )
        .is_empty()
    });
    let t = &json_of(
        &collector.messages(),
        "retrofit/v1/site-a/elevator/lift-1/telemetry",
    )[0];
    assert_eq!(t["seq"], 7);
    assert_eq!(t["ts"], "2026-11-28T12:00:00.500Z");
    assert_eq!(t["source"], "mqtt");
    assert_eq!(t["metrics"]["direction"], "up");
    assert_eq!(t["metrics"]["trips_total"], 1200);
    collector.wait_for("dead letter", Duration::from_secs(10), |m| {
        m.iter().any(|x| x.topic.ends_with("/deadletter"))
    });
    let letter = collector.on("/deadletter")[0].json();
    assert_eq!(letter["reason"], "invalid_value");

    // rain-1 expects a reading every second: silent for 3 s means offline.
    collector.wait_for("rain-1 offline", Duration::from_secs(15), |m| {
        m.iter().any(|x| {
            x.topic.ends_with("/drainage/rain-1/status") && x.json()["status"] == "offline"
        })
    });
    collector.wait_for("offline alarm", Duration::from_secs(5), |m| {
        m.iter()
            .any(|x| x.topic.ends_with("/drainage/rain-1/event") && x.json()["event"] == "offline")
    });
    let raised = collector.on("/drainage/rain-1/event")[0].json();
    assert_eq!(
        (raised["state"].as_str(), raised["severity"].as_str()),
        (Some("raised"), Some("major"))
    );

    // A reading brings it back: alarm cleared, status online.
    publish_all(
        broker.port,
        vec![(
            "site-a/rain/1".into(),
            br#"{"metrics":{"rain_mm_total":12.4}}"#.to_vec(),
        )],
    );
    collector.wait_for("rain-1 back online", Duration::from_secs(10), |m| {
        m.iter()
            .any(|x| x.topic.ends_with("/drainage/rain-1/event") && x.json()["state"] == "cleared")
    });
    let events: Vec<_> = collector
        .on("/drainage/rain-1/event")
        .iter()
        .map(Message::json)
        .collect();
    let cleared = events.iter().find(|e| e["state"] == "cleared").unwrap();
    assert_eq!(cleared["alarm_id"], raised["alarm_id"]);
}

#[test]
fn sigterm_drains_and_publishes_offline() {
    let (broker, collector, mut gateway, _dir) = start();
    let status = gateway.terminate();
    assert!(status.success(), "exit {status:?}; log:\n{}", gateway.log());
    collector.wait_for("gateway offline", Duration::from_secs(10), |m| {
        m.iter().any(|x| {
            x.topic == "retrofit/v1/site-a/gateway/gw-direct/status"
                && x.json()["status"] == "offline"
        })
    });
    // A newcomer sees the retained status: offline because stopped, not
    // the last will of a lost connection.
    let newcomer = Collector::start(broker.port, "retrofit/v1/site-a/gateway/gw-direct/status");
    newcomer.wait_for("retained status", Duration::from_secs(5), |m| !m.is_empty());
    let retained = &newcomer.messages()[0];
    assert!(retained.retain);
    assert_eq!(retained.json()["status"], "offline");
    assert_eq!(retained.json()["reason"], "stopped");

    // The journal is left delivered: nothing pending for the MQTT output.
    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(["journal", "stats", "-c"])
        .arg(&gateway.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(stats.status.success(), "{text}");
    assert!(text.contains("output mqtt bulk: depth 0"), "{text}");
    assert!(text.contains("output mqtt urgent: depth 0"), "{text}");
    assert!(
        text.contains("drops: telemetry 0, event 0, status 0, dead_letter 0"),
        "{text}"
    );
}

#[test]
fn a_second_gateway_on_the_same_data_dir_refuses_to_start() {
    let (_broker, _collector, gateway, _dir) = start();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(["run", "-c"])
        .arg(&gateway.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another gateway is running with data_dir"),
        "{err}"
    );
}
