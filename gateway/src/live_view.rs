//! What the gateway knows now of each device, for the HTTP API and the
//! dashboard: its latest status and telemetry, its active alarms, and its
//! most recent readings; plus the live feed of every committed reading.
//!
//! Fed by the intake after each commit (so it shows only durable data, in
//! commit order). It is a view, not a store: bounded in memory (a ring of
//! recent readings per device, sized from the device count), empty after
//! a restart until readings arrive, and it never slows the intake (a view
//! that falls behind skips batches and counts them).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::journal::{NewRecord, RecordClass};

/// Committed batches, as the intake announces them.
pub type Committed = broadcast::Sender<Arc<Vec<NewRecord>>>;

/// Batches the view may fall behind by before it skips.
pub const COMMITTED_BACKLOG: usize = 1024;
/// Memory the recent-reading rings may use in all (payloads of ~400 B).
const RECENT_BUDGET_BYTES: usize = 4 << 20;
const RECENT_MIN: usize = 8;
const RECENT_MAX: usize = 240;
/// Live-feed messages a slow dashboard may fall behind by.
const LIVE_BACKLOG: usize = 1024;

/// One device as the view knows it.
#[derive(Debug, Clone, Default)]
pub struct DeviceView {
    /// Its latest status payload (`online`/`offline`, since, reason).
    pub status: Option<Value>,
    /// Its latest telemetry payload, as committed (parsed when asked for:
    /// telemetry is most of the stream and rarely looked at).
    last_telemetry: Option<Arc<str>>,
    /// Raised and not yet cleared alarms, by `alarm_id`.
    pub active_alarms: BTreeMap<String, Value>,
    /// Its most recent readings, oldest first (raw payloads).
    recent: VecDeque<Arc<str>>,
}

impl DeviceView {
    /// Its latest telemetry reading.
    pub fn last_telemetry(&self) -> Option<Value> {
        serde_json::from_str(self.last_telemetry.as_deref()?).ok()
    }

    /// The recent readings, oldest first.
    pub fn recent(&self) -> Vec<Value> {
        self.recent
            .iter()
            .filter_map(|p| serde_json::from_str(p).ok())
            .collect()
    }
}

/// The view of every device, shared by the HTTP handlers.
#[derive(Debug)]
pub struct LiveView {
    devices: Mutex<HashMap<String, DeviceView>>,
    live: broadcast::Sender<Arc<str>>,
    per_device: usize,
    skipped: std::sync::atomic::AtomicU64,
}

impl LiveView {
    /// A view sized for `devices` configured devices.
    pub fn new(devices: usize) -> Self {
        let per_device =
            (RECENT_BUDGET_BYTES / (devices.max(1) * 512)).clamp(RECENT_MIN, RECENT_MAX);
        Self {
            devices: Mutex::new(HashMap::new()),
            live: broadcast::channel(LIVE_BACKLOG).0,
            per_device,
            skipped: Default::default(),
        }
    }

    /// Follows the intake's commits until the intake stops.
    pub async fn follow(self: Arc<Self>, mut committed: broadcast::Receiver<Arc<Vec<NewRecord>>>) {
        use broadcast::error::RecvError;
        loop {
            match committed.recv().await {
                Ok(batch) => self.apply(&batch),
                Err(RecvError::Lagged(n)) => {
                    self.skipped
                        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Takes one committed batch into the view (dead letters stay out).
    pub fn apply(&self, records: &[NewRecord]) {
        let Ok(mut devices) = self.devices.lock() else {
            return;
        };
        for record in records {
            if record.class == RecordClass::DeadLetter {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&record.payload) else {
                continue;
            };
            let Ok(head) = serde_json::from_str::<Head<'_>>(text) else {
                continue;
            };
            let text: Arc<str> = Arc::from(text);
            let view = match devices.get_mut(head.device.as_ref()) {
                Some(view) => view,
                None => devices.entry(head.device.into_owned()).or_default(),
            };
            match record.class {
                RecordClass::Telemetry => view.last_telemetry = Some(text.clone()),
                class => {
                    if let Ok(value) = serde_json::from_str::<Value>(&text) {
                        update(view, class, value);
                    }
                }
            }
            if view.recent.len() == self.per_device {
                view.recent.pop_front();
            }
            view.recent.push_back(text.clone());
            if self.live.receiver_count() > 0 {
                let _ = self.live.send(text);
            }
        }
    }

    /// One device's view, if it has had any reading.
    pub fn device(&self, id: &str) -> Option<DeviceView> {
        self.devices.lock().ok()?.get(id).cloned()
    }

    /// Every device's view, without the recent readings.
    pub fn summaries(&self) -> HashMap<String, DeviceView> {
        let Ok(devices) = self.devices.lock() else {
            return HashMap::new();
        };
        devices
            .iter()
            .map(|(id, v)| {
                let summary = DeviceView {
                    recent: VecDeque::new(),
                    ..v.clone()
                };
                (id.clone(), summary)
            })
            .collect()
    }

    /// Notes on an active alarm who acknowledged it or arrived (`field`),
    /// and tells the live feed: `{"device", "alarm_id", field: by}`.
    pub fn mark_alarm(&self, device: &str, alarm_id: &str, field: &str, by: &str) {
        if let Ok(mut devices) = self.devices.lock() {
            let alarm = devices
                .get_mut(device)
                .and_then(|v| v.active_alarms.get_mut(alarm_id));
            if let Some(Value::Object(alarm)) = alarm {
                alarm.insert(field.to_string(), Value::from(by));
            }
        }
        let note = serde_json::json!({ "device": device, "alarm_id": alarm_id, field: by });
        let _ = self.live.send(Arc::from(note.to_string()));
    }

    /// Every committed reading from now on, as its JSON payload.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.live.subscribe()
    }

    /// Committed batches the view skipped because it fell behind.
    pub fn skipped_batches(&self) -> u64 {
        self.skipped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What the view needs of every reading: whose it is.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    device: std::borrow::Cow<'a, str>,
}

/// Takes a status or event into the view.
fn update(view: &mut DeviceView, class: RecordClass, value: Value) {
    match class {
        RecordClass::Telemetry => {}
        RecordClass::Status => view.status = Some(value),
        RecordClass::Event => {
            let id = value
                .get("alarm_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            match (value.get("state").and_then(Value::as_str), id) {
                (Some("raised"), Some(id)) => {
                    view.active_alarms.insert(id, value);
                }
                (Some("cleared"), Some(id)) => {
                    view.active_alarms.remove(&id);
                }
                _ => {}
            }
        }
        RecordClass::DeadLetter => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(class: RecordClass, json: &str) -> NewRecord {
        NewRecord {
            class,
            payload: json.as_bytes().to_vec(),
        }
    }

    #[test]
    fn keeps_latest_status_telemetry_active_alarms_and_a_bounded_ring() {
        let view = LiveView::new(1_000_000);
        assert_eq!(view.per_device, RECENT_MIN);
        let mut batch = Vec::new();
        for seq in 0..20 {
            batch.push(record(
                RecordClass::Telemetry,
                &format!(r#"{{"device":"w1","seq":{seq},"metrics":{{"level_m":{seq}}}}}"#),
            ));
        }
        batch.push(record(
            RecordClass::Event,
            r#"{"device":"w1","event":"high_water","state":"raised","alarm_id":"a1"}"#,
        ));
        batch.push(record(
            RecordClass::Event,
            r#"{"device":"w1","event":"battery_low","state":"raised","alarm_id":"a2"}"#,
        ));
        batch.push(record(
            RecordClass::Event,
            r#"{"device":"w1","event":"high_water","state":"cleared","alarm_id":"a1"}"#,
        ));
        batch.push(record(RecordClass::DeadLetter, r#"{"device":"w1"}"#));
        batch.push(record(RecordClass::Telemetry, "not json"));
        view.apply(&batch);
        let w1 = view.device("w1").unwrap();
        assert_eq!(w1.last_telemetry().unwrap()["seq"], 19);
        assert_eq!(w1.active_alarms.keys().collect::<Vec<_>>(), ["a2"]);
        let recent = w1.recent();
        assert_eq!(recent.len(), RECENT_MIN);
        assert_eq!(recent.last().unwrap()["state"], "cleared");
        assert!(view.device("w2").is_none());
    }
}
