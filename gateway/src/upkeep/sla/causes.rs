//! The out-of-service causes of one device (spec §12), as spans computed
//! from reading timestamps only: offline (`last_seen + grace_s` until the
//! next reading), a critical alarm active (raised -> cleared), elevator
//! `mode` = out_of_service, charger `status` faulted or unavailable on any
//! connector.
//!
//! Spans may extend past the window; the caller clips them. This module
//! never looks at a clock, so replays and restarts give the same spans.

use std::collections::HashMap;

use retrofit_protocols::reading::{AlarmId, Body, EventBody, Reading};
use retrofit_protocols::{DeviceKind, EventState, Severity, Source, Value};

use crate::devices::Device;
use crate::upkeep::spans::Span;

/// Every out-of-service span of `device` (unmerged), given its readings
/// sorted by `ts`, up to `until` (the window's end).
pub fn out_of_service(device: &Device, readings: &[&Reading], from: i64, until: i64) -> Vec<Span> {
    let mut spans = offline(device, readings, from, until);
    spans.extend(critical_alarms(readings, until));
    if let Some((metric, bad)) = state_metric(device.kind) {
        spans.extend(bad_states(readings, metric, bad, until));
    }
    spans
}

/// Offline spans: from `last_seen + grace` to the next reading. A device
/// with no reading at or before `from` counts as seen at `from`.
fn offline(device: &Device, readings: &[&Reading], from: i64, until: i64) -> Vec<Span> {
    let grace = device.grace_ms();
    let mut seen: Vec<i64> = readings
        .iter()
        .filter(|r| r.source != Source::Gateway)
        .map(|r| r.ts.as_millis())
        .filter(|&t| t < until)
        .collect();
    if seen.first().is_none_or(|&t| t > from) {
        seen.insert(0, from);
    }
    let nexts = seen.iter().skip(1).copied().chain([until]);
    seen.iter()
        .zip(nexts)
        .map(|(&last, next)| Span::new(last.saturating_add(grace), next))
        .filter(|s| !s.is_empty())
        .collect()
}

fn events<'a>(readings: &'a [&'a Reading]) -> impl Iterator<Item = (i64, &'a EventBody)> + 'a {
    readings.iter().filter_map(|r| match &r.body {
        Body::Event(e) => Some((r.ts.as_millis(), e)),
        _ => None,
    })
}

/// Spans during which an alarm was raised at critical severity: from the
/// first critical raise until it is cleared or raised again at a lower
/// severity.
fn critical_alarms(readings: &[&Reading], until: i64) -> Vec<Span> {
    let mut open: HashMap<&AlarmId, i64> = HashMap::new();
    let mut out = Vec::new();
    for (ts, e) in events(readings) {
        let critical = e.state == EventState::Raised && e.severity == Severity::Critical;
        match (critical, e.state) {
            (true, _) => {
                open.entry(&e.alarm_id).or_insert(ts);
            }
            (false, EventState::Raised | EventState::Cleared) => {
                if let Some(start) = open.remove(&e.alarm_id) {
                    out.push(Span::new(start, ts));
                }
            }
            (false, EventState::Instant) => {}
        }
    }
    out.extend(open.into_values().map(|start| Span::new(start, until)));
    out
}

/// The state metric that puts a device of `kind` out of service, and its
/// out-of-service values.
pub(crate) fn state_metric(kind: DeviceKind) -> Option<(&'static str, &'static [&'static str])> {
    match kind {
        DeviceKind::Elevator => Some(("mode", &["out_of_service"])),
        DeviceKind::EvCharger => Some(("status", &["faulted", "unavailable"])),
        _ => None,
    }
}

/// Spans during which `metric` held one of `bad`, per connector: from the
/// first reading with a bad value to the next reading with another value.
fn bad_states(readings: &[&Reading], metric: &str, bad: &[&str], until: i64) -> Vec<Span> {
    let mut open: HashMap<u32, i64> = HashMap::new();
    let mut out = Vec::new();
    for r in readings {
        let Body::Telemetry(metrics) = &r.body else {
            continue;
        };
        let Some(value) = metrics
            .iter()
            .find(|(n, _)| n.as_str() == metric)
            .map(|(_, v)| v)
        else {
            continue;
        };
        let is_bad = matches!(value, Value::Text(t) if bad.contains(&t.as_str()));
        let connector = r.connector.unwrap_or(0);
        let ts = r.ts.as_millis();
        match (is_bad, open.get(&connector)) {
            (true, None) => {
                open.insert(connector, ts);
            }
            (false, Some(&start)) => {
                open.remove(&connector);
                out.push(Span::new(start, ts));
            }
            _ => {}
        }
    }
    out.extend(open.into_values().map(|start| Span::new(start, until)));
    out
}
