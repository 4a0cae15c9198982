//! The entrapment timeline of an elevator (spec §12): for each
//! `entrapment` alarm raised inside the window, when it was raised, when a
//! technician arrived, when it was released (cleared), and whether the
//! arrival met the target.
//!
//! Built from event timestamps and arrival records only; never reads a
//! clock. An entrapment with no arrival yet is non-compliant once the
//! target has passed before the window's end, otherwise undecided.

use retrofit_protocols::reading::{AlarmId, Body, Reading};
use retrofit_protocols::{EventState, Id, KnownEvent, Timestamp};
use serde::Serialize;

use crate::upkeep::history::History;
use crate::upkeep::spans::Span;

/// One entrapment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entrapment {
    pub site: Id,
    pub device: Id,
    pub alarm_id: AlarmId,
    pub raised_at: Timestamp,
    pub arrived_at: Option<Timestamp>,
    pub released_at: Option<Timestamp>,
    pub arrival_s: Option<f64>,
    pub release_s: Option<f64>,
    pub compliant: Option<bool>,
}

fn seconds(from: Timestamp, to: Option<Timestamp>) -> Option<f64> {
    to.map(|t| (t.as_millis() - from.as_millis()) as f64 / 1000.0)
}

/// The entrapments of one device's readings (sorted by `ts`) raised in
/// `window`, with `target_s` the arrival target.
pub fn entrapments(
    readings: &[&Reading],
    history: &History,
    window: Span,
    target_s: u32,
) -> Vec<Entrapment> {
    let mut out: Vec<Entrapment> = Vec::new();
    for r in readings {
        let Body::Event(e) = &r.body else { continue };
        if e.event.as_str() != KnownEvent::Entrapment.as_str() {
            continue;
        }
        let known = out.iter_mut().find(|x| x.alarm_id == e.alarm_id);
        match (e.state, known) {
            (EventState::Raised, None) if window.contains(r.ts.as_millis()) => {
                out.push(Entrapment {
                    site: r.site.clone(),
                    device: r.device.clone(),
                    alarm_id: e.alarm_id.clone(),
                    raised_at: r.ts,
                    arrived_at: None,
                    released_at: None,
                    arrival_s: None,
                    release_s: None,
                    compliant: None,
                })
            }
            (EventState::Cleared, Some(x)) if x.released_at.is_none() => x.released_at = Some(r.ts),
            _ => {}
        }
    }
    let target_ms = i64::from(target_s) * 1000;
    for x in &mut out {
        x.arrived_at = history
            .first_arrival(&x.alarm_id)
            .filter(|&at| at >= x.raised_at);
        x.arrival_s = seconds(x.raised_at, x.arrived_at);
        x.release_s = seconds(x.raised_at, x.released_at);
        let deadline = x.raised_at.as_millis() + target_ms;
        x.compliant = match x.arrived_at {
            Some(at) => Some(at.as_millis() <= deadline),
            None if deadline < window.end => Some(false),
            None => None,
        };
    }
    out
}
