//! What the service levels are computed from: a site's history of
//! normalized readings (§5) plus the operator's records, technician
//! acknowledgements and arrivals, and planned maintenance windows.
//!
//! Only data types and per-device lookups live here; this module never
//! computes a figure and never reads a file or a database.

use std::collections::HashMap;

use retrofit_protocols::reading::{AlarmId, BoundedText, Reading};
use retrofit_protocols::{DeviceKind, Id, Timestamp};
use serde::{Deserialize, Serialize};

use super::spans::Span;

/// A technician's acknowledgement of, or arrival at, an alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    pub alarm_id: AlarmId,
    pub at: Timestamp,
    pub by: BoundedText,
}

/// A planned maintenance window: for one device, every device of a kind,
/// or (neither given) the whole site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    pub from: Timestamp,
    pub to: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DeviceKind>,
    #[serde(default)]
    pub reason: BoundedText,
}

impl Maintenance {
    /// Whether the window covers `device` of `kind`.
    pub fn covers(&self, device: &Id, kind: DeviceKind) -> bool {
        self.device.as_ref().is_none_or(|d| d == device) && self.kind.is_none_or(|k| k == kind)
    }

    pub fn span(&self) -> Span {
        Span::between(self.from, self.to)
    }
}

/// One operator record of the history (the JSON lines that are not
/// readings carry `"record"` as their tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum OperatorRecord {
    Ack(Visit),
    Arrive(Visit),
    Maintenance(Maintenance),
}

/// A whole history, in any order.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub readings: Vec<Reading>,
    pub acks: Vec<Visit>,
    pub arrivals: Vec<Visit>,
    pub maintenance: Vec<Maintenance>,
}

impl History {
    pub fn push(&mut self, record: OperatorRecord) {
        match record {
            OperatorRecord::Ack(v) => self.acks.push(v),
            OperatorRecord::Arrive(v) => self.arrivals.push(v),
            OperatorRecord::Maintenance(m) => self.maintenance.push(m),
        }
    }

    /// Each device's readings, sorted by `(ts, seq)`, replays removed.
    pub fn by_device(&self) -> HashMap<&Id, Vec<&Reading>> {
        let mut out: HashMap<&Id, Vec<&Reading>> = HashMap::new();
        for r in &self.readings {
            out.entry(&r.device).or_default().push(r);
        }
        for list in out.values_mut() {
            list.sort_by_key(|r| (r.ts, r.seq, r.connector));
            list.dedup_by(|a, b| a.ts == b.ts && a.seq == b.seq && a.connector == b.connector);
        }
        out
    }

    /// The first arrival recorded for `alarm`.
    pub fn first_arrival(&self, alarm: &AlarmId) -> Option<Timestamp> {
        self.arrivals
            .iter()
            .filter(|v| v.alarm_id == *alarm)
            .map(|v| v.at)
            .min()
    }
}
