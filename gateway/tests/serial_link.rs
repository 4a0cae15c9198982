//! The serial link end to end: the gateway binary on one end of a socat
//! pseudo-terminal pair, three simulated nodes (the real firmware
//! `NodeLink`) sharing the other end like an RS-485 bus, a real Mosquitto
//! for the normalized output. Mid-stream socat is killed and started again
//! on the same paths: both ends vanish and come back, the nodes resend
//! what was not acknowledged, and every reading still arrives exactly once.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use retrofit_protocols::{DeviceKind, EventState};
use support::mqtt::{Collector, Message};
use support::serial::{
    reading_metric, reading_value, write_gateway_config, NodePlan, PtyPair, SimBus,
};
use support::{wait_until, GatewayProcess, Mosquitto};

/// The three nodes on the gateway's serial link `rs485-1`.
const DEVICES: &str = r#"
[[device]]
id = "drain-n1"
kind = "drainage"
link = "rs485-1"
address = 1

[[device]]
id = "lift-n2"
kind = "elevator"
link = "rs485-1"
address = 2

[[device]]
id = "park-n3"
kind = "parking"
link = "rs485-1"
address = 3
"#;

const READINGS: u32 = 120;

fn plans() -> Vec<NodePlan> {
    let plan = |id, kind, time_sync| NodePlan {
        id,
        kind,
        time_sync,
        readings: READINGS,
        interval: Duration::from_millis(15),
        events: Vec::new(),
    };
    let mut lift = plan(2, DeviceKind::Elevator, true);
    lift.events = vec![(10, EventState::Raised), (90, EventState::Cleared)];
    vec![
        plan(1, DeviceKind::Drainage, true),
        lift,
        // No TIME_SYNC in its Hello: it stamps uptime (mapped by the
        // gateway) until a broadcast TimeSync reaches it.
        plan(3, DeviceKind::Parking, false),
    ]
}

fn devices() -> [(&'static str, DeviceKind); 3] {
    [
        ("drain-n1", DeviceKind::Drainage),
        ("lift-n2", DeviceKind::Elevator),
        ("park-n3", DeviceKind::Parking),
    ]
}

fn topic(device: &str, kind: DeviceKind, channel: &str) -> String {
    format!("retrofit/v1/site-s/{kind}/{device}/{channel}")
}

/// Telemetry payloads per device, by (seq) with how often each arrived.
fn telemetry_by_device(messages: &[Message]) -> BTreeMap<String, BTreeMap<u64, Vec<f64>>> {
    let mut out: BTreeMap<String, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for (device, kind) in devices() {
        let on_topic = messages
            .iter()
            .filter(|m| m.topic == topic(device, kind, "telemetry"));
        let per_seq = out.entry(device.to_string()).or_default();
        for m in on_topic {
            let json = m.json();
            let seq = json["seq"].as_u64().expect("seq");
            let value = json["metrics"][reading_metric(kind)]
                .as_f64()
                .expect("metric");
            per_seq.entry(seq).or_default().push(value);
        }
    }
    out
}

/// The gateway config for the line `pty` in `dir`, written to a file.
fn write_config(dir: &Path, broker: &Mosquitto, pty: &PtyPair) -> PathBuf {
    write_gateway_config(dir, "gw.toml", "site-s", broker, &pty.gateway, DEVICES)
}

#[test]
fn readings_survive_a_line_outage_exactly_once() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut pty = PtyPair::start(dir.path(), "rs485");
    let path = write_config(dir.path(), &broker, &pty);
    let collector = Collector::start(broker.port, "retrofit/v1/#");
    let mut gateway = GatewayProcess::start(&path);
    let bus = SimBus::start(pty.node.clone(), plans());

    wait_until("a third of the readings", Duration::from_secs(60), || {
        bus.statuses().iter().all(|s| s.produced >= READINGS / 3)
    });
    pty.kill();
    wait_until(
        "the nodes to lose the line",
        Duration::from_secs(10),
        || bus.disconnects() >= 1,
    );
    std::thread::sleep(Duration::from_millis(300)); // an outage, not a blip
    pty.restart();
    wait_until("readings after the outage", Duration::from_secs(60), || {
        bus.statuses()
            .iter()
            .all(|s| s.produced >= READINGS * 2 / 3)
    });
    // Acks lost on the way back: the nodes resend what is already durable.
    bus.deafen(Duration::from_millis(800));

    wait_until(
        "every reading acknowledged",
        Duration::from_secs(120),
        || bus.statuses().iter().all(|s| s.done),
    );
    let statuses = bus.statuses();
    for s in &statuses {
        assert!(s.booted, "{s:?}");
        assert_eq!(
            (s.pending, s.dropped),
            (0, 0),
            "ring empty, nothing dropped"
        );
    }
    let resent: u32 = statuses.iter().map(|s| s.resent).sum();
    assert!(resent > 0, "frames sent into the outage come again");
    let expected: Vec<usize> = vec![READINGS as usize; 3];
    collector.wait_for("every reading published", Duration::from_secs(60), |m| {
        let got = telemetry_by_device(m);
        got.values().map(BTreeMap::len).collect::<Vec<_>>() == expected
    });
    let log = gateway.log();
    assert!(
        log.contains("serial port lost"),
        "the outage was seen:\n{log}"
    );

    let got = telemetry_by_device(&collector.messages());
    for ((device, _), status) in devices().iter().zip(&statuses) {
        let per_seq = &got[*device];
        for (i, seq) in status.telemetry_seqs.iter().enumerate() {
            let values = per_seq.get(&u64::from(*seq)).map(Vec::as_slice);
            let want = [reading_value(i as u32)];
            assert_eq!(
                values,
                Some(&want[..]),
                "{device} seq {seq}: exactly once, unchanged"
            );
        }
    }
    let sample = collector
        .messages()
        .into_iter()
        .find(|m| m.topic == topic("park-n3", DeviceKind::Parking, "telemetry"))
        .unwrap()
        .json();
    assert_eq!(sample["source"], "serial");
    assert!(sample["ts"].as_str().unwrap().starts_with("20"), "{sample}");

    let events: Vec<serde_json::Value> = collector
        .messages()
        .iter()
        .filter(|m| m.topic == topic("lift-n2", DeviceKind::Elevator, "event"))
        .map(Message::json)
        .filter(|e| e["event"] == "entrapment")
        .collect();
    let states: Vec<&str> = events
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["raised", "cleared"], "{events:?}");
    assert_eq!(events[0]["alarm_id"], events[1]["alarm_id"]);
    assert_eq!(events[0]["severity"], "critical");

    // The link stops on the daemon's shutdown token.
    let status = gateway.terminate();
    assert!(status.success(), "exit {status:?}; log:\n{}", gateway.log());
}

#[test]
fn the_gateway_waits_for_a_port_that_is_not_there_yet() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut pty = PtyPair::new(dir.path(), "usb0");
    let path = write_config(dir.path(), &broker, &pty);
    let collector = Collector::start(broker.port, "retrofit/v1/#");
    let gateway = GatewayProcess::start(&path);
    wait_until("a failed open", Duration::from_secs(30), || {
        gateway.log().contains("cannot open serial port")
    });
    pty.restart(); // the adapter is plugged in
    let mut plan = plans().remove(0);
    plan.readings = 5;
    let bus = SimBus::start(pty.node.clone(), vec![plan]);
    wait_until("readings acknowledged", Duration::from_secs(60), || {
        bus.statuses()[0].done
    });
    let drain = topic("drain-n1", DeviceKind::Drainage, "telemetry");
    collector.wait_for("readings published", Duration::from_secs(30), |m| {
        m.iter().filter(|x| x.topic == drain).count() == 5
    });
}
