//! Service levels (spec §12) per device, kind and site over a window
//! `[from, to)`, computed from a [`History`]: a pure function of its
//! inputs, so the gateway's own history and an exported or hand-written
//! one give the same figures.
//!
//! It never reads a clock, a file or a database, and never panics on any
//! history (a bad window is an error).

mod causes;
mod entrapment;
mod figures;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::{DeviceKind, Id, Source, Timestamp};
use serde::Serialize;

pub(crate) use self::causes::state_metric;
pub use self::entrapment::Entrapment;
pub use self::figures::{Figures, Tally};
use super::history::History;
use super::spans::{Span, SpanSet};
use crate::devices::Device;

/// Default technician arrival target for an entrapment, seconds.
pub const DEFAULT_ARRIVAL_TARGET_S: u32 = 1800;

/// The window is empty or inverted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the window must end after it starts (--from {from} --to {to})")]
pub struct BadWindow {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct SlaQuery<'a> {
    pub site: Id,
    pub from: Timestamp,
    pub to: Timestamp,
    /// The devices to report on (already filtered by kind or device).
    pub devices: &'a [Arc<Device>],
    /// Maintenance windows from the config, beside the history's.
    pub planned: &'a [super::history::Maintenance],
    pub arrival_target_s: u32,
}

/// Figures per device, kind and site, and the entrapment timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaReport {
    pub from: Timestamp,
    pub to: Timestamp,
    pub site: Figures,
    pub kinds: Vec<Figures>,
    pub devices: Vec<Figures>,
    pub entrapments: Vec<Entrapment>,
}

/// Computes the service levels of `query` over `history`.
pub fn compute(query: &SlaQuery<'_>, history: &History) -> Result<SlaReport, BadWindow> {
    let window = Span::between(query.from, query.to);
    if window.is_empty() {
        return Err(BadWindow {
            from: query.from,
            to: query.to,
        });
    }
    let by_device = history.by_device();
    let mut site = Tally::default();
    let mut kinds: BTreeMap<DeviceKind, Tally> = BTreeMap::new();
    let mut devices = Vec::new();
    let mut entrapments = Vec::new();
    for spec in query.devices {
        let readings = by_device.get(&spec.id).map_or(&[][..], Vec::as_slice);
        let found = entrapment::entrapments(readings, history, window, query.arrival_target_s);
        let mut tally = device_tally(spec, readings, maintenance(query, history, spec), window);
        tally.entrapments = found.len() as u64;
        tally.entrapments_decided = found.iter().filter(|e| e.compliant.is_some()).count() as u64;
        tally.entrapments_compliant =
            found.iter().filter(|e| e.compliant == Some(true)).count() as u64;
        entrapments.extend(found);
        site += tally;
        *kinds.entry(spec.kind).or_default() += tally;
        devices.push(Figures::new(
            &query.site,
            Some(spec.kind),
            Some(&spec.id),
            &tally,
        ));
    }
    Ok(SlaReport {
        from: query.from,
        to: query.to,
        site: Figures::new(&query.site, None, None, &site),
        kinds: kinds
            .iter()
            .map(|(k, t)| Figures::new(&query.site, Some(*k), None, t))
            .collect(),
        devices,
        entrapments,
    })
}

/// The maintenance windows covering `spec`, merged.
fn maintenance(query: &SlaQuery<'_>, history: &History, spec: &Device) -> SpanSet {
    SpanSet::union_of(
        query
            .planned
            .iter()
            .chain(&history.maintenance)
            .filter(|m| m.covers(&spec.id, spec.kind))
            .map(|m| m.span()),
    )
}

/// The sums of one device over `window`.
fn device_tally(spec: &Device, readings: &[&Reading], planned: SpanSet, window: Span) -> Tally {
    let out = SpanSet::union_of(causes::out_of_service(
        spec,
        readings,
        window.start,
        window.end,
    ));
    let planned = planned.clip(window);
    let inside = out.clip(window);
    let down = inside.minus(&planned);
    let failures = out
        .spans()
        .iter()
        .filter(|s| window.contains(s.start) && !planned.contains(s.start))
        .count() as u64;
    let interval_ms = i64::from(spec.expected_interval_s.max(1)) * 1000;
    let expected = (window.len() / interval_ms) as u64;
    Tally {
        window_ms: window.len(),
        maintenance_ms: planned.len(),
        down_ms: down.len(),
        out_ms: inside.len(),
        failures,
        received: received(readings, window).min(expected),
        expected,
        ..Tally::default()
    }
}

/// Distinct telemetry readings (the device's own) with `ts` in `window`;
/// `readings` are already free of replays.
fn received(readings: &[&Reading], window: Span) -> u64 {
    readings
        .iter()
        .filter(|r| r.source != Source::Gateway && matches!(r.body, Body::Telemetry(_)))
        .filter(|r| window.contains(r.ts.as_millis()))
        .count() as u64
}
