//! What the demo has seen on the normalized topics (`retrofit/v1/#`, spec
//! §5): devices per kind, telemetry, events, dead letters, the gateway's
//! presence, the latest reading of each wired device (serial edge node or
//! Modbus slave), the last few
//! other readings and the last few events, rendered as a short live
//! summary; and the distinct LoRaWAN uplinks that came out, by device and
//! `fCnt`, to hold against what the load generator had acknowledged.
//! Pure bookkeeping: it never touches the network and never trusts a
//! payload beyond what the protocols crate validates.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use retrofit_protocols::deadletter::DeadLetter;
use retrofit_protocols::reading::{Body, Reading, Source};
use retrofit_protocols::topic::{Channel, Topic};
use retrofit_protocols::{DeviceKind, Id, MetricName, Value};

use crate::value_text::value_text;

/// Readings kept for the summary (besides the serial nodes' latest).
const RECENT: usize = 3;
/// Events kept for the summary.
const RECENT_EVENTS: usize = 5;
/// Metrics shown per reading.
const METRICS_SHOWN: usize = 5;
/// Metrics shown first when a reading has them.
const KEY_METRICS: [&str; 9] = [
    "floor",
    "door",
    "occupied",
    "trips_total",
    "level_m",
    "rain_mm_h",
    "rain_mm_total",
    "load_pct",
    "battery_pct",
];

/// Counters and samples of the normalized output.
#[derive(Debug, Default)]
pub struct DemoStats {
    devices: BTreeMap<DeviceKind, BTreeSet<Id>>,
    pub telemetry: u64,
    pub events: u64,
    pub dead_letters: u64,
    /// Messages on `retrofit/v1/#` that did not parse.
    pub unreadable: u64,
    /// Distinct LoRaWAN uplinks (device and `seq`, i.e. `fCnt`) seen as
    /// telemetry.
    pub lorawan_uplinks: u64,
    /// LoRaWAN telemetry seen again (an at-least-once replay).
    pub lorawan_repeats: u64,
    lorawan_seqs: BTreeMap<Id, SeqWindow>,
    gateway_online: bool,
    /// The latest reading of each serial edge node.
    serial_latest: BTreeMap<Id, String>,
    recent: VecDeque<String>,
    recent_events: VecDeque<String>,
    last_dead_letter: Option<String>,
}

/// The distinct sequence numbers seen of one device, which counts from 0
/// up (the load generator's `fCnt`): every number below `next` was seen,
/// `ahead` holds those seen past a gap. Memory grows only with gaps.
#[derive(Debug, Default)]
struct SeqWindow {
    next: u64,
    ahead: BTreeSet<u64>,
}

impl SeqWindow {
    /// Whether `seq` was not seen before.
    fn insert(&mut self, seq: u64) -> bool {
        if seq < self.next || !self.ahead.insert(seq) {
            return false;
        }
        while self.ahead.remove(&self.next) {
            self.next += 1;
        }
        true
    }
}

fn push_bounded(lines: &mut VecDeque<String>, line: String, bound: usize) {
    if lines.len() == bound {
        lines.pop_front();
    }
    lines.push_back(line);
}

/// `kind device name=value ...`, the key metrics first.
fn telemetry_line(topic: &Topic, metrics: &[(MetricName, Value)]) -> String {
    let mut line = format!("{} {}", topic.kind, topic.device);
    let mut shown: Vec<_> = metrics.iter().collect();
    shown.sort_by_key(|(name, _)| {
        KEY_METRICS
            .iter()
            .position(|k| *k == name.as_str())
            .unwrap_or(KEY_METRICS.len())
    });
    for (name, value) in shown.into_iter().take(METRICS_SHOWN) {
        let _ = write!(line, " {name}={}", value_text(value));
    }
    line
}

impl DemoStats {
    /// Accounts for one message from `retrofit/v1/#`.
    pub fn observe(&mut self, topic: &str, payload: &[u8]) {
        let Ok(topic) = Topic::parse(topic) else {
            self.unreadable += 1;
            return;
        };
        match topic.channel {
            Channel::Deadletter => self.dead_letter(payload),
            Channel::Status if topic.kind == DeviceKind::Gateway => {
                let status: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
                self.gateway_online = status.is_some_and(|s| s["status"] == "online");
            }
            Channel::Status => {}
            Channel::Telemetry | Channel::Event => self.reading(&topic, payload),
        }
    }

    fn dead_letter(&mut self, payload: &[u8]) {
        self.dead_letters += 1;
        if let Ok(d) = serde_json::from_slice::<DeadLetter>(payload) {
            self.last_dead_letter = Some(format!("{}: {}", d.reason, d.detail.as_str()));
        }
    }

    fn reading(&mut self, topic: &Topic, payload: &[u8]) {
        let Ok(reading) = Reading::from_json(payload) else {
            self.unreadable += 1;
            return;
        };
        match &reading.body {
            Body::Telemetry(metrics) => {
                self.telemetry += 1;
                self.devices
                    .entry(topic.kind)
                    .or_default()
                    .insert(topic.device.clone());
                if reading.source == Source::Lorawan {
                    self.lorawan_uplink(&topic.device, reading.seq);
                }
                let line = telemetry_line(topic, metrics);
                // Wired devices (edge nodes, Modbus slaves) report steadily:
                // each keeps its latest line.
                if matches!(reading.source, Source::Serial | Source::Modbus) {
                    self.serial_latest.insert(topic.device.clone(), line);
                } else {
                    push_bounded(&mut self.recent, line, RECENT);
                }
            }
            Body::Event(e) => {
                self.events += 1;
                let line = format!(
                    "{} {} {} {} ({}) alarm {}",
                    topic.kind,
                    topic.device,
                    e.event,
                    e.state,
                    e.severity,
                    e.alarm_id.as_str()
                );
                push_bounded(&mut self.recent_events, line, RECENT_EVENTS);
            }
            Body::Status(_) => {}
        }
    }

    fn lorawan_uplink(&mut self, device: &Id, seq: u64) {
        let window = self.lorawan_seqs.entry(device.clone()).or_default();
        if window.insert(seq) {
            self.lorawan_uplinks += 1;
        } else {
            self.lorawan_repeats += 1;
        }
    }

    /// Whether the gateway's retained status says `online`.
    pub fn gateway_online(&self) -> bool {
        self.gateway_online
    }

    /// Distinct devices that sent telemetry.
    pub fn devices_seen(&self) -> usize {
        self.devices.values().map(BTreeSet::len).sum()
    }

    /// A few lines for the terminal.
    pub fn render(&self, elapsed_s: u64) -> String {
        let kinds: Vec<String> = self
            .devices
            .iter()
            .map(|(kind, ids)| format!("{kind} {}", ids.len()))
            .collect();
        let mut out = format!(
            "[{elapsed_s:>4}s] gateway {} | devices seen: {} | telemetry {}, events {}, dead letters {}\n",
            if self.gateway_online { "online" } else { "not online" },
            if kinds.is_empty() { "none yet".to_string() } else { kinds.join(", ") },
            self.telemetry,
            self.events,
            self.dead_letters,
        );
        for line in self.serial_latest.values().chain(&self.recent) {
            let _ = writeln!(out, "        {line}");
        }
        for line in &self.recent_events {
            let _ = writeln!(out, "        EVENT {line}");
        }
        if let Some(d) = &self.last_dead_letter {
            let _ = writeln!(out, "        last dead letter: {d}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Reading, Source};
    use retrofit_protocols::{EventName, EventState, MetricName, Severity, Timestamp, Value};

    use super::*;

    fn reading(device: &str, kind: DeviceKind, source: Source, body: Body) -> (String, Vec<u8>) {
        let reading = Reading {
            site: Id::parse("kangfu-garden").unwrap(),
            kind,
            device: Id::parse(device).unwrap(),
            connector: None,
            ts: Timestamp::from_millis(1_795_866_000_000),
            seq: 7,
            source,
            body,
        };
        (reading.topic().to_string(), reading.to_json())
    }

    fn metric(name: &str, value: f64) -> Body {
        Body::Telemetry(vec![(
            MetricName::parse(name).unwrap(),
            Value::Number(value),
        )])
    }

    fn telemetry(device: &str, kind: DeviceKind) -> (String, Vec<u8>) {
        reading(device, kind, Source::Lorawan, metric("level_m", 1.25))
    }

    #[test]
    fn counts_devices_per_kind_and_keeps_recent_readings() {
        let mut stats = DemoStats::default();
        for device in ["drain-0001", "drain-0002", "drain-0001"] {
            let (topic, payload) = telemetry(device, DeviceKind::Drainage);
            stats.observe(&topic, &payload);
        }
        let (topic, payload) = telemetry("park-0001", DeviceKind::Parking);
        stats.observe(&topic, &payload);
        assert_eq!((stats.telemetry, stats.devices_seen()), (4, 3));
        let text = stats.render(6);
        assert!(
            text.contains("devices seen: parking 1, drainage 2"),
            "{text}"
        );
        assert!(text.contains("drainage drain-0002 level_m=1.25"), "{text}");
    }

    /// A LoRaWAN uplink's telemetry with `seq` (its `fCnt`).
    fn uplink(device: &str, seq: u64) -> (String, Vec<u8>) {
        let reading = Reading {
            site: Id::parse("kangfu-garden").unwrap(),
            kind: DeviceKind::Drainage,
            device: Id::parse(device).unwrap(),
            connector: None,
            ts: Timestamp::from_millis(1_795_866_000_000),
            seq,
            source: Source::Lorawan,
            body: metric("level_m", 0.5),
        };
        (reading.topic().to_string(), reading.to_json())
    }

    #[test]
    fn counts_each_lorawan_uplink_once_whatever_the_order() {
        let mut stats = DemoStats::default();
        for (device, seq) in [
            ("d1", 0),
            ("d1", 2),
            ("d2", 0),
            ("d1", 1),
            ("d1", 2),
            ("d1", 0),
        ] {
            let (topic, payload) = uplink(device, seq);
            stats.observe(&topic, &payload);
        }
        assert_eq!((stats.lorawan_uplinks, stats.lorawan_repeats), (4, 2));
        let d1 = &stats.lorawan_seqs[&Id::parse("d1").unwrap()];
        assert_eq!((d1.next, d1.ahead.len()), (3, 0), "the gap closed");
        let (topic, payload) = reading(
            "lift-1",
            DeviceKind::Elevator,
            Source::Serial,
            metric("floor", 1.0),
        );
        stats.observe(&topic, &payload);
        assert_eq!((stats.lorawan_uplinks, stats.telemetry), (4, 7));
    }

    #[test]
    fn tracks_gateway_presence_and_counts_garbage() {
        let mut stats = DemoStats::default();
        let topic = "retrofit/v1/s1/gateway/gw-1/status";
        stats.observe(topic, br#"{"status":"online"}"#);
        assert!(stats.gateway_online());
        stats.observe(topic, br#"{"status":"offline"}"#);
        assert!(!stats.gateway_online());
        stats.observe("retrofit/v1/s1/parking/p1/telemetry", b"{not json");
        stats.observe("retrofit/v1/../x", b"{}");
        stats.observe("retrofit/v1/s1/gateway/gw-1/deadletter", b"[]");
        assert_eq!(
            (stats.unreadable, stats.dead_letters, stats.telemetry),
            (2, 1, 0)
        );
    }

    #[test]
    fn keeps_each_serial_nodes_latest_reading_and_the_last_events() {
        let mut stats = DemoStats::default();
        for floor in [2.0, 5.0] {
            let (topic, payload) = reading(
                "lift-b3",
                DeviceKind::Elevator,
                Source::Serial,
                metric("floor", floor),
            );
            stats.observe(&topic, &payload);
        }
        for i in 0..5 {
            let (topic, payload) = telemetry(&format!("drain-000{i}"), DeviceKind::Drainage);
            stats.observe(&topic, &payload);
        }
        let entrapment = EventName::parse("entrapment").unwrap();
        let event = Body::Event(EventBody {
            alarm_id: AlarmId::for_raise(&Id::parse("lift-b3").unwrap(), &entrapment, 7),
            event: entrapment,
            severity: Severity::Critical,
            state: EventState::Raised,
            detail: BoundedText::lossy(""),
        });
        let (topic, payload) = reading("lift-b3", DeviceKind::Elevator, Source::Serial, event);
        stats.observe(&topic, &payload);
        let text = stats.render(9);
        assert!(text.contains("elevator lift-b3 floor=5\n"), "{text}");
        assert!(!text.contains("floor=2"), "{text}");
        assert!(
            !text.contains("drain-0001"),
            "only the last LoRaWAN readings: {text}"
        );
        assert!(
            text.contains(
                "EVENT elevator lift-b3 entrapment raised (critical) alarm lift-b3.entrapment.7"
            ),
            "{text}"
        );
        assert_eq!((stats.events, stats.telemetry), (1, 7));
    }
}
