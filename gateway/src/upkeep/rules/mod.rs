//! Gateway-side alarm rules (spec §4, §9): `high_water` with warning and
//! overflow levels and hysteresis (one alarm that escalates and steps
//! down), `battery_low`, and `blockage_suspected` (level rising while the
//! site's rain gauge reads no rain); and the physical-range check that
//! dead-letters impossible values. They apply to every input alike: every
//! link's accepted readings pass through here.
//!
//! Rule alarms are event readings of the same model as node-raised ones,
//! timestamped with the reading that caused them and with a `seq` derived
//! from it, so a replayed reading yields the same alarm reading. The book
//! is pure (no clock, no I/O); [`task`] runs it.

pub mod config;
mod stale;
pub mod task;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use retrofit_protocols::metric::physical_range;
use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Reading};
use retrofit_protocols::{
    EventName, EventState, Id, KnownEvent, MetricName, Severity, Source, Value,
};

use self::config::{Rule, RuleKind};
use crate::devices::Device;
use crate::normalize::Rejection;

/// Refuses a reading carrying a value outside its metric's physical range.
pub fn in_range(reading: Reading) -> Result<Reading, Rejection> {
    if let Body::Telemetry(metrics) = &reading.body {
        for (name, value) in metrics {
            if let (Value::Number(x), Some((lo, hi))) = (value, physical_range(name.as_str())) {
                if !(lo..=hi).contains(x) {
                    return Err(Rejection::new(
                        "out_of_range",
                        format!("{name} = {x} is outside {lo}..={hi}"),
                    ));
                }
            }
        }
    }
    Ok(reading)
}

/// The events rules raise.
pub const RULE_EVENTS: &[KnownEvent] = &[
    KnownEvent::HighWater,
    KnownEvent::BatteryLow,
    KnownEvent::BlockageSuspected,
    KnownEvent::Stale,
];

/// An alarm a rule holds raised.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    pub alarm_id: AlarmId,
    pub severity: Severity,
}

/// The rules of every configured device and their alarm state.
pub struct RuleBook {
    rules: Vec<Rule>,
    devices: HashMap<Id, Arc<Device>>,
    active: HashMap<(Id, KnownEvent), Active>,
    /// Recent `(ts, level_m)` per device with a blockage rule.
    levels: HashMap<Id, VecDeque<(i64, f64)>>,
    /// Latest `rain_mm_h` per rain gauge.
    rain: HashMap<Id, f64>,
    /// Since when an active alarm's condition has been gone (damping).
    clearing: HashMap<(Id, KnownEvent), i64>,
    /// When each watched metric of each device last arrived (gateway
    /// clock), for `stale`.
    fresh: HashMap<(Id, MetricName), i64>,
    /// When the book started watching (gateway clock).
    started: Option<i64>,
}

/// Which number of the derived `seq` a rule's alarm takes.
fn slot(event: KnownEvent) -> u64 {
    match event {
        KnownEvent::HighWater => 1,
        KnownEvent::BatteryLow => 2,
        KnownEvent::Stale => 4,
        _ => 3,
    }
}

fn has(r: &Reading, metric: &MetricName) -> bool {
    matches!(&r.body, Body::Telemetry(m) if m.iter().any(|(n, _)| n == metric))
}

fn number(r: &Reading, metric: &str) -> Option<f64> {
    let Body::Telemetry(metrics) = &r.body else {
        return None;
    };
    metrics.iter().find_map(|(n, v)| match v {
        Value::Number(x) if n.as_str() == metric => Some(*x),
        _ => None,
    })
}

impl RuleBook {
    pub fn new(rules: Vec<Rule>, devices: &[Arc<Device>]) -> Self {
        Self {
            rules,
            devices: devices.iter().map(|d| (d.id.clone(), d.clone())).collect(),
            active: HashMap::new(),
            levels: HashMap::new(),
            rain: HashMap::new(),
            clearing: HashMap::new(),
            fresh: HashMap::new(),
            started: None,
        }
    }

    /// Takes back an alarm raised before a restart, so that it keeps its
    /// `alarm_id` and is cleared, not raised again.
    pub fn restore(&mut self, device: Id, event: KnownEvent, active: Active) {
        self.active.insert((device, event), active);
    }

    /// The alarm readings `reading` calls for.
    /// The alarm readings `reading`, arriving at `now_ms`, calls for.
    pub fn observe(&mut self, reading: &Reading, now_ms: i64) -> Vec<Reading> {
        if let Some(rain) = number(reading, "rain_mm_h") {
            self.rain.insert(reading.device.clone(), rain);
        }
        let Some(device) = self.devices.get(&reading.device).cloned() else {
            return Vec::new();
        };
        let rules: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| r.applies_to(&device))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for rule in rules {
            let (event, wanted, detail) = match rule.what {
                RuleKind::HighWater { .. } | RuleKind::BatteryLow { .. } => {
                    let Some(x) = number(reading, self.metric_of(&rule)) else {
                        continue;
                    };
                    let event = self.event_of(&rule);
                    let now = self
                        .active
                        .get(&(device.id.clone(), event))
                        .map(|a| a.severity);
                    (
                        event,
                        level_severity(rule.what, now, x),
                        format!("{} = {x}", self.metric_of(&rule)),
                    )
                }
                RuleKind::Stale { .. } => {
                    let Some(metric) = rule.metric.as_ref().filter(|m| has(reading, m)) else {
                        continue;
                    };
                    self.fresh
                        .insert((device.id.clone(), metric.clone()), now_ms);
                    (KnownEvent::Stale, None, format!("{metric} reported again"))
                }
                RuleKind::BlockageSuspected { rise_m, within_s } => {
                    let Some(level) = number(reading, "level_m") else {
                        continue;
                    };
                    let rise = self.rise(&device.id, reading.ts.as_millis(), level, within_s);
                    let dry = rule
                        .rain_device
                        .as_ref()
                        .and_then(|g| self.rain.get(g))
                        .is_some_and(|r| *r == 0.0);
                    let wanted = (dry && rise >= rise_m).then_some(Severity::Major);
                    (
                        KnownEvent::BlockageSuspected,
                        wanted,
                        format!("level_m up {rise:.3} m with no rain"),
                    )
                }
            };
            out.extend(self.transition(reading, (event, rule.clear_after_ms), wanted, &detail));
        }
        out
    }

    fn metric_of(&self, rule: &Rule) -> &'static str {
        match rule.what {
            RuleKind::BatteryLow { .. } => "battery_pct",
            _ => "level_m",
        }
    }

    fn event_of(&self, rule: &Rule) -> KnownEvent {
        match rule.what {
            RuleKind::HighWater { .. } => KnownEvent::HighWater,
            RuleKind::BatteryLow { .. } => KnownEvent::BatteryLow,
            RuleKind::BlockageSuspected { .. } => KnownEvent::BlockageSuspected,
            RuleKind::Stale { .. } => KnownEvent::Stale,
        }
    }

    /// How far `level_m` rose over the last `within_s` (to this reading).
    fn rise(&mut self, device: &Id, ts: i64, level: f64, within_s: u32) -> f64 {
        let window = self.levels.entry(device.clone()).or_default();
        window.push_back((ts, level));
        let oldest = ts - i64::from(within_s) * 1000;
        while window.front().is_some_and(|(t, _)| *t < oldest) {
            window.pop_front();
        }
        let low = window.iter().map(|(_, l)| *l).fold(f64::INFINITY, f64::min);
        level - low
    }

    /// Whether the active alarm `key` may clear at `ts`: its condition
    /// has been gone for `hold_ms` (flapping damper).
    fn may_clear(&mut self, key: &(Id, KnownEvent), ts: i64, hold_ms: i64) -> bool {
        let since = *self.clearing.entry(key.clone()).or_insert(ts);
        ts - since >= hold_ms
    }

    /// Moves the alarm `event` of the reading's device to `wanted` (None:
    /// not raised), clearing only after `hold_ms` without the condition;
    /// returns the event reading if anything changed.
    fn transition(
        &mut self,
        r: &Reading,
        (event, hold_ms): (KnownEvent, i64),
        wanted: Option<Severity>,
        detail: &str,
    ) -> Option<Reading> {
        let key = (r.device.clone(), event);
        let name = EventName::from(event);
        let current = self.active.get(&key).cloned();
        if wanted.is_some() {
            self.clearing.remove(&key);
        } else if current.is_some() && !self.may_clear(&key, r.ts.as_millis(), hold_ms) {
            return None;
        }
        let (state, active) = match (current, wanted) {
            (None, None) => return None,
            (Some(a), Some(s)) if a.severity == s => return None,
            (None, Some(s)) => {
                let id = AlarmId::for_raise(&r.device, &name, r.seq);
                (
                    EventState::Raised,
                    Active {
                        alarm_id: id,
                        severity: s,
                    },
                )
            }
            (Some(a), Some(s)) => (EventState::Raised, Active { severity: s, ..a }),
            (Some(a), None) => (EventState::Cleared, a),
        };
        if state == EventState::Cleared {
            self.clearing.remove(&key);
            self.active.remove(&key);
        } else {
            self.active.insert(key, active.clone());
        }
        Some(Reading {
            site: r.site.clone(),
            kind: r.kind,
            device: r.device.clone(),
            connector: None,
            ts: r.ts,
            seq: r.seq.wrapping_mul(8).wrapping_add(slot(event)),
            source: Source::Gateway,
            body: Body::Event(EventBody {
                event: name,
                severity: active.severity,
                state,
                alarm_id: active.alarm_id,
                detail: BoundedText::lossy(detail),
            }),
        })
    }
}

/// The severity a level rule wants for value `x`, given the current one:
/// up at each threshold, down only `hysteresis` below it.
fn level_severity(rule: RuleKind, now: Option<Severity>, x: f64) -> Option<Severity> {
    match rule {
        RuleKind::HighWater {
            warning_m: w,
            overflow_m: o,
            hysteresis_m: h,
        } => {
            let critical = x >= o || (now == Some(Severity::Critical) && x >= o - h);
            let major = x >= w || (now.is_some() && x >= w - h);
            if critical {
                Some(Severity::Critical)
            } else {
                major.then_some(Severity::Major)
            }
        }
        RuleKind::BatteryLow {
            below_pct: b,
            hysteresis_pct: h,
        } => (x < b || (now.is_some() && x < b + h)).then_some(Severity::Minor),
        RuleKind::BlockageSuspected { .. } | RuleKind::Stale { .. } => None,
    }
}
