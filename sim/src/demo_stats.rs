//! What the demo has seen on the normalized topics (`retrofit/v1/#`, spec
//! §5): devices per kind, telemetry, events, dead letters, the gateway's
//! presence and the last few readings, rendered as a short live summary.
//! Pure bookkeeping: it never touches the network and never trusts a
//! payload beyond what the protocols crate validates.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use retrofit_protocols::deadletter::DeadLetter;
use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::topic::{Channel, Topic};
use retrofit_protocols::{DeviceKind, Id};

/// Readings kept for the summary.
const RECENT: usize = 5;
/// Metrics shown per reading.
const METRICS_SHOWN: usize = 4;
/// Metrics shown first when a reading has them.
const KEY_METRICS: [&str; 3] = ["occupied", "level_m", "battery_pct"];

/// Counters and samples of the normalized output.
#[derive(Debug, Default)]
pub struct DemoStats {
    devices: BTreeMap<DeviceKind, BTreeSet<Id>>,
    pub telemetry: u64,
    pub events: u64,
    pub dead_letters: u64,
    /// Messages on `retrofit/v1/#` that did not parse.
    pub unreadable: u64,
    gateway_online: bool,
    recent: VecDeque<String>,
    last_dead_letter: Option<String>,
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
        let line = match &reading.body {
            Body::Telemetry(metrics) => {
                self.telemetry += 1;
                self.devices
                    .entry(topic.kind)
                    .or_default()
                    .insert(topic.device.clone());
                let mut line = format!("{} {}", topic.kind, topic.device);
                let mut shown: Vec<_> = metrics.iter().collect();
                shown.sort_by_key(|(name, _)| {
                    KEY_METRICS
                        .iter()
                        .position(|k| *k == name.as_str())
                        .unwrap_or(KEY_METRICS.len())
                });
                for (name, value) in shown.into_iter().take(METRICS_SHOWN) {
                    let value = serde_json::to_string(value).unwrap_or_default();
                    let _ = write!(line, " {name}={value}");
                }
                line
            }
            Body::Event(e) => {
                self.events += 1;
                format!(
                    "{} {} EVENT {} {}",
                    topic.kind, topic.device, e.event, e.state
                )
            }
            Body::Status(_) => return,
        };
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(line);
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
        for line in &self.recent {
            let _ = writeln!(out, "        {line}");
        }
        if let Some(d) = &self.last_dead_letter {
            let _ = writeln!(out, "        last dead letter: {d}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::reading::{Body, Reading, Source};
    use retrofit_protocols::{MetricName, Timestamp, Value};

    use super::*;

    fn telemetry(device: &str, kind: DeviceKind) -> (String, Vec<u8>) {
        let reading = Reading {
            site: Id::parse("kangfu-garden").unwrap(),
            kind,
            device: Id::parse(device).unwrap(),
            connector: None,
            ts: Timestamp::from_millis(1_795_866_000_000),
            seq: 1,
            source: Source::Lorawan,
            body: Body::Telemetry(vec![(
                MetricName::parse("level_m").unwrap(),
                Value::Number(1.25),
            )]),
        };
        (reading.topic().to_string(), reading.to_json())
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
}
