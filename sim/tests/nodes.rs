//! Simulated edge nodes: the physics under the real firmware, alone (the
//! firmware's outputs must match the simulated world), and end to end
//! (simulated nodes on one end of a pseudo-terminal pair, the
//! gateway in-process on the other, a real Mosquitto for its normalized
//! output): an entrapment is raised and cleared under one `alarm_id`, and
//! a storm raises `high_water`.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use retrofit_firmware::apps::{NodeOutput, Telemetry};
use retrofit_protocols::edge::NodeId;
use retrofit_protocols::{DeviceKind, EventState, Id, Severity, Value};
use retrofit_sim::nodes::drainage::drainage_node;
use retrofit_sim::nodes::elevator::elevator_node;
use retrofit_sim::nodes::parking::parking_node;
use retrofit_sim::nodes::{start_bus, NodeSpec, RunPlan, Scenario, SerialBus};
use retrofit_sim::pty::PtyPair;
use rumqttc::{AsyncClient, Event, Packet};
use serde_json::Value as Json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const MINUTE_MS: u64 = 60_000;

fn number(t: &Telemetry, name: &str) -> Option<f64> {
    match t.get(name) {
        Some(Value::Number(x)) => Some(*x),
        _ => None,
    }
}

fn text<'a>(t: &'a Telemetry, name: &str) -> Option<&'a str> {
    match t.get(name) {
        Some(Value::Text(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// An alarm transition with its simulated time.
type Transition = (u64, &'static str, Severity, EventState);

fn transitions(now_ms: u64, out: &NodeOutput) -> impl Iterator<Item = Transition> + '_ {
    out.events
        .iter()
        .map(move |e| (now_ms, e.event.as_str(), e.severity, e.state))
}

/// The time of the first transition of `event` to `state` after `from_ms`.
fn first(seen: &[Transition], event: &str, state: EventState, from_ms: u64) -> Option<u64> {
    seen.iter()
        .find(|(t, e, _, s)| *t >= from_ms && *e == event && *s == state)
        .map(|(t, ..)| *t)
}

#[test]
fn the_lift_visits_floors_and_the_firmware_counts_every_vane() {
    let mut node = elevator_node(Scenario::Normal.elevator(), 7).unwrap();
    let mut floors_reported: Vec<i64> = Vec::new();
    let mut stops = Vec::new();
    while node.now_ms() < 30 * MINUTE_MS {
        let out = node.step().unwrap();
        let Some(t) = &out.telemetry else { continue };
        let floor = number(t, "floor").unwrap() as i64;
        if floors_reported.last() != Some(&floor) {
            floors_reported.push(floor);
        }
        if text(t, "door") == Some("open") {
            let trips = number(t, "trips_total").unwrap() as u32;
            stops.push((floor, node.physics.floor(), trips, node.physics.motions()));
        }
        assert!(out.events.is_empty(), "no alarm in normal service: {out:?}");
    }
    assert!(stops.len() >= 20, "{} stops", stops.len());
    for (reported, actual, trips, motions) in &stops {
        assert_eq!(reported, &i64::from(*actual), "floor at a stop");
        assert_eq!(trips, motions, "trips_total against the car's motions");
    }
    let mut visited: Vec<i16> = stops.iter().map(|s| s.1).collect();
    visited.sort();
    visited.dedup();
    assert!(visited.len() >= 5, "floors visited: {visited:?}");
    // Every vane on the way was counted: the floor never jumps.
    for pair in floors_reported.windows(2) {
        assert_eq!((pair[0] - pair[1]).abs(), 1, "{floors_reported:?}");
    }
    assert!(stops.last().unwrap().2 >= 20);
}

#[test]
fn a_seed_replays_the_same_world() {
    let lift = |seed| {
        let mut node = elevator_node(Scenario::Incidents.elevator(), seed).unwrap();
        (0..12_000)
            .map(|_| node.step().unwrap())
            .collect::<Vec<_>>()
    };
    let well = |seed| {
        let mut node = drainage_node(Scenario::Incidents.weather(), seed).unwrap();
        (0..1_200).map(|_| node.step().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(lift(5), lift(5));
    assert_ne!(lift(5), lift(6));
    assert_eq!(well(5), well(5));
    assert_ne!(well(5), well(6));
}

#[test]
fn a_power_cut_between_floors_is_an_entrapment_until_the_rescue() {
    let mut node = elevator_node(Scenario::Entrapment.elevator(), 11).unwrap();
    let mut seen = Vec::new();
    let mut trapped_riders = None;
    while node.now_ms() < 12 * MINUTE_MS {
        let out = node.step().unwrap();
        let now = node.now_ms();
        for t in transitions(now, &out) {
            if (t.1, t.3) == ("entrapment", EventState::Raised) {
                assert!(!node.physics.has_power());
                trapped_riders = Some(node.physics.riders());
            }
            seen.push(t);
        }
    }
    let cut = first(&seen, "power_loss", EventState::Raised, 60_000).expect("power cut");
    let stranded = first(&seen, "stopped_outside_landing", EventState::Raised, cut).unwrap();
    let trapped = first(&seen, "entrapment", EventState::Raised, cut).unwrap();
    let back = first(&seen, "power_loss", EventState::Cleared, cut).unwrap();
    let released = first(&seen, "entrapment", EventState::Cleared, trapped).unwrap();
    let relevelled = first(&seen, "stopped_outside_landing", EventState::Cleared, back).unwrap();
    assert!((15_000..16_000).contains(&(stranded - cut)), "{seen:?}");
    assert!((120_000..121_000).contains(&(trapped - cut)), "{seen:?}");
    assert!((200_000..200_500).contains(&(back - cut)), "{seen:?}");
    assert!(relevelled > back && released > relevelled && released - back < 20_000);
    assert!(trapped_riders.unwrap() > 0);
    let severities: Vec<_> = seen.iter().map(|(_, e, s, _)| (*e, *s)).collect();
    assert!(severities.contains(&("entrapment", Severity::Critical)));
    assert_eq!(
        seen.len(),
        6,
        "each alarm raised and cleared once: {seen:?}"
    );
}

#[test]
fn a_jammed_door_is_a_door_fault_until_it_closes() {
    let mut node = elevator_node(Scenario::DoorStuck.elevator(), 3).unwrap();
    let mut seen = Vec::new();
    let mut jammed_at = None;
    while node.now_ms() < 5 * MINUTE_MS {
        let out = node.step().unwrap();
        let now = node.now_ms();
        if node.physics.door_jammed() {
            jammed_at.get_or_insert(now);
        }
        seen.extend(transitions(now, &out));
    }
    let jammed = jammed_at.expect("the door jammed");
    let raised = first(&seen, "door_fault", EventState::Raised, jammed).unwrap();
    let cleared = first(&seen, "door_fault", EventState::Cleared, raised).unwrap();
    // The door has been in transit since it left its open contact, about
    // 1.2 s before it jammed half closed; once free it closes in 1.25 s.
    assert!(
        (13_500..14_500).contains(&(raised - jammed)),
        "{jammed} {seen:?}"
    );
    assert!(
        (41_000..42_500).contains(&(cleared - jammed)),
        "{jammed} {seen:?}"
    );
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[test]
fn the_well_rises_in_a_storm_and_drains_after_it() {
    let weather = Scenario::Storm.weather();
    let storm_end = weather.showers[0].end_ms();
    let mut node = drainage_node(weather, 5).unwrap();
    let (mut before, mut peak, mut after) = (0.0f32, 0.0f32, 0.0f32);
    let mut seen = Vec::new();
    let mut rain_total = 0.0;
    while node.now_ms() < storm_end + 30 * MINUTE_MS {
        let out = node.step().unwrap();
        let now = node.now_ms();
        let level = node.physics.level_m();
        match now {
            t if t < MINUTE_MS => before = before.max(level),
            t if t < storm_end => peak = peak.max(level),
            _ => after = level,
        }
        seen.extend(transitions(now, &out));
        if let Some(t) = out.telemetry {
            rain_total = number(&t, "rain_mm_total").unwrap();
        }
    }
    assert!(
        before < 0.2 && peak > 1.5 && after < 0.4,
        "{before} {peak} {after}"
    );
    let states: Vec<(Severity, EventState)> = seen
        .iter()
        .filter(|t| t.1 == "high_water")
        .map(|t| (t.2, t.3))
        .collect();
    let want = [
        (Severity::Major, EventState::Raised),
        (Severity::Critical, EventState::Raised),
        (Severity::Major, EventState::Raised),
        (Severity::Major, EventState::Cleared),
    ];
    assert_eq!(states, want, "{seen:?}");
    // A half-sine of 120 mm/h over 12 minutes is 15.3 mm of rain.
    assert!((14.8..15.6).contains(&rain_total), "{rain_total} mm");
}

#[test]
fn the_bay_follows_cars_not_passers_by() {
    let mut node = parking_node(Scenario::Normal.bay(), 21).unwrap();
    let mut physical_changes = Vec::new();
    let mut reported = Vec::new();
    let mut occupied = false;
    while node.now_ms() < 8 * 60 * MINUTE_MS {
        let out = node.step().unwrap();
        let now = node.now_ms();
        if node.physics.is_occupied() != occupied {
            occupied = !occupied;
            physical_changes.push((now, occupied));
        }
        if let Some(Value::Bool(b)) = out.telemetry.as_ref().and_then(|t| t.get("occupied")) {
            if reported.last().map(|(_, r)| r) != Some(b) {
                reported.push((now, *b));
            }
        }
    }
    // The first snapshot reports the empty bay.
    assert!(!reported.remove(0).1);
    assert!(physical_changes.len() >= 10, "{physical_changes:?}");
    assert_eq!(reported.len(), physical_changes.len(), "{reported:?}");
    for ((t_car, car), (t_node, node)) in physical_changes.iter().zip(&reported) {
        assert_eq!(car, node);
        assert!(
            (8_000..12_000).contains(&(t_node - t_car)),
            "{t_car} {t_node}"
        );
    }
}

/// Normalized messages from a broker, with a signal for each arrival.
struct Collector {
    messages: Arc<Mutex<Vec<(String, Json)>>>,
    arrivals: watch::Receiver<usize>,
    _client: AsyncClient,
}

impl Collector {
    async fn start(port: u16) -> Self {
        let (client, mut eventloop) =
            common::subscribe(&format!("nodes-test-{port}"), port, "retrofit/v1/#").await;
        let messages = Arc::new(Mutex::new(Vec::new()));
        let (tx, arrivals) = watch::channel(0);
        let store = Arc::clone(&messages);
        tokio::spawn(async move {
            while let Ok(event) = eventloop.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = event {
                    let json = serde_json::from_slice(&p.payload).unwrap_or(Json::Null);
                    let mut all = store.lock().unwrap_or_else(PoisonError::into_inner);
                    all.push((p.topic.clone(), json));
                    tx.send_replace(all.len());
                }
            }
        });
        Self {
            messages,
            arrivals,
            _client: client,
        }
    }

    fn messages(&self) -> Vec<(String, Json)> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (bounded) until `done` holds for the messages so far.
    async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[(String, Json)]) -> bool,
    ) {
        let waiting = async {
            loop {
                if done(&self.messages()) {
                    return;
                }
                self.arrivals.changed().await.expect("collector running");
            }
        };
        if tokio::time::timeout(limit, waiting).await.is_err() {
            let seen: Vec<String> = self
                .messages()
                .iter()
                .map(|(t, j)| format!("{t} {j}"))
                .collect();
            panic!("no {what} within {limit:?}; got:\n{}", seen.join("\n"));
        }
    }
}

/// The test's bus: a lift and a well.
fn test_bus(gateway_end: &std::path::Path) -> SerialBus {
    let node = |device: &str, kind, address| NodeSpec {
        device: Id::parse(device).unwrap(),
        kind,
        address: NodeId::new(address).unwrap(),
    };
    SerialBus {
        link: Id::parse("rs485-t").unwrap(),
        port: gateway_end.to_path_buf(),
        baud: 115_200,
        nodes: vec![
            node("lift-t1", DeviceKind::Elevator, 1),
            node("drain-t2", DeviceKind::Drainage, 2),
        ],
    }
}

/// A gateway in-process on the pair's gateway end, publishing to `broker`.
struct Gateway {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data: tempfile::TempDir,
}

impl Gateway {
    fn start(bus: &SerialBus, broker: &common::Mosquitto) -> Self {
        let data = tempfile::tempdir().unwrap();
        let text = format!(
            "[gateway]\nid = \"gw-nodes\"\nsite = \"test-site\"\ndata_dir = \"{}\"\n\n\
             [mqtt]\nurl = \"{}\"\nclient_id = \"gw-nodes-{}\"\n\n{}",
            data.path().display(),
            broker.url(),
            broker.port,
            bus.to_toml().unwrap()
        );
        let config = retrofit_gateway::config::Config::parse(&text, "test").unwrap();
        let stop = CancellationToken::new();
        let task = tokio::spawn(retrofit_gateway::daemon::run(config, stop.clone()));
        Self {
            stop,
            task,
            _data: data,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(20), self.task).await;
        ended.expect("gateway stops").unwrap().unwrap();
    }
}

fn on_topic<'a>(messages: &'a [(String, Json)], device: &str, channel: &str) -> Vec<&'a Json> {
    messages
        .iter()
        .filter(|(t, _)| t.split('/').nth(4) == Some(device) && t.ends_with(channel))
        .map(|(_, j)| j)
        .collect()
}

fn event_states<'a>(messages: &'a [(String, Json)], device: &str, event: &str) -> Vec<&'a Json> {
    on_topic(messages, device, "/event")
        .into_iter()
        .filter(|j| j["event"] == event)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entrapment_over_the_serial_line_is_raised_and_cleared_as_one_alarm() {
    let broker = common::Mosquitto::start();
    let pty = PtyPair::start("rs485-t").unwrap();
    let bus = test_bus(&pty.gateway_end);
    let mut collector = Collector::start(broker.port).await;
    let gateway = Gateway::start(&bus, &broker);
    let plan = RunPlan {
        scenario: Scenario::Entrapment,
        seed: 4,
        speed: 100.0,
    };
    let nodes = start_bus(&bus, pty.node_end.clone(), plan).unwrap();

    collector
        .wait_for("entrapment cleared", Duration::from_secs(60), |m| {
            event_states(m, "lift-t1", "entrapment")
                .iter()
                .any(|j| j["state"] == "cleared")
        })
        .await;
    let after_rescue = on_topic(&collector.messages(), "lift-t1", "/telemetry").len();
    collector
        .wait_for("trips after the rescue", Duration::from_secs(30), |m| {
            on_topic(m, "lift-t1", "/telemetry").len() >= after_rescue + 10
        })
        .await;
    let status = nodes.stop().unwrap();
    gateway.stop().await;

    let messages = collector.messages();
    let telemetry = on_topic(&messages, "lift-t1", "/telemetry");
    assert!(telemetry
        .iter()
        .all(|j| j["source"] == "serial" && j["kind"] == "elevator"));
    let trips: Vec<u64> = telemetry
        .iter()
        .map(|j| j["metrics"]["trips_total"].as_u64().unwrap())
        .collect();
    let mut floors: Vec<u64> = telemetry
        .iter()
        .map(|j| j["metrics"]["floor"].as_u64().unwrap())
        .collect();
    let seqs: Vec<u64> = telemetry
        .iter()
        .map(|j| j["seq"].as_u64().unwrap())
        .collect();
    assert!(
        trips.windows(2).all(|w| w[0] <= w[1]),
        "trips never go back: {trips:?}"
    );
    assert!(trips.last().unwrap() >= &(trips[0] + 4), "{trips:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    floors.sort();
    floors.dedup();
    assert!(floors.len() >= 3, "floors {floors:?}");

    let entrapment = event_states(&messages, "lift-t1", "entrapment");
    let [raised, cleared] = entrapment[..] else {
        panic!("one raise and one clear: {entrapment:?}")
    };
    assert_eq!(
        (raised["state"].as_str(), cleared["state"].as_str()),
        (Some("raised"), Some("cleared"))
    );
    assert_eq!(raised["severity"], "critical");
    assert_eq!(raised["alarm_id"], cleared["alarm_id"]);
    assert!(raised["alarm_id"]
        .as_str()
        .unwrap()
        .starts_with("lift-t1.entrapment."));
    assert!(
        raised["ts"].as_str() < cleared["ts"].as_str(),
        "{raised} {cleared}"
    );
    for event in ["power_loss", "stopped_outside_landing"] {
        let states: Vec<&str> = event_states(&messages, "lift-t1", event)
            .iter()
            .filter_map(|j| j["state"].as_str())
            .collect();
        assert_eq!(states, ["raised", "cleared"], "{event}");
    }
    assert!(on_topic(&messages, "gw-nodes", "/deadletter").is_empty());
    // Every frame the gateway acknowledged (all but the Hello make a
    // reading) was published; nothing was pushed out of the ring.
    let lift = &status.nodes[0];
    assert_eq!(lift.link.dropped, 0, "{lift:?}");
    let acknowledged_readings = lift.link.acknowledged() as usize - 1;
    collector
        .wait_for("every acknowledged reading", Duration::from_secs(20), |m| {
            let published =
                on_topic(m, "lift-t1", "/telemetry").len() + on_topic(m, "lift-t1", "/event").len();
            published >= acknowledged_readings
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_over_the_serial_line_raises_high_water() {
    let broker = common::Mosquitto::start();
    let pty = PtyPair::start("rs485-s").unwrap();
    let bus = test_bus(&pty.gateway_end);
    let mut collector = Collector::start(broker.port).await;
    let gateway = Gateway::start(&bus, &broker);
    let plan = RunPlan {
        scenario: Scenario::Storm,
        seed: 9,
        speed: 200.0,
    };
    let nodes = start_bus(&bus, pty.node_end.clone(), plan).unwrap();

    collector
        .wait_for("high_water raised", Duration::from_secs(60), |m| {
            event_states(m, "drain-t2", "high_water")
                .iter()
                .any(|j| j["state"] == "raised")
        })
        .await;
    nodes.stop().unwrap();
    gateway.stop().await;

    let messages = collector.messages();
    let raised = event_states(&messages, "drain-t2", "high_water")[0].clone();
    assert_eq!(
        (raised["severity"].as_str(), raised["source"].as_str()),
        (Some("major"), Some("serial"))
    );
    let levels: Vec<f64> = on_topic(&messages, "drain-t2", "/telemetry")
        .iter()
        .filter_map(|j| j["metrics"]["level_m"].as_f64())
        .collect();
    assert!(
        levels[0] < 0.3 && levels.iter().any(|l| *l >= 0.8),
        "{levels:?}"
    );
    let rain = on_topic(&messages, "drain-t2", "/telemetry")
        .last()
        .and_then(|j| j["metrics"]["rain_mm_total"].as_f64())
        .unwrap();
    assert!(rain > 1.0, "rain counted: {rain}");
}
