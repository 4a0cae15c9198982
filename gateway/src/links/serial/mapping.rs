//! Edge-link Telemetry and Event messages as canonical readings (spec §4,
//! §5): `source` `serial`, `seq` the frame's sequence number, `ts` the
//! resolved measurement time.
//!
//! Names arrive validated by the frame decoder; each value is still checked
//! against the type the model gives its metric, so a node can never put a
//! string into a numeric series. Never panics on any frame.

use retrofit_protocols::edge::{Event, Telemetry};
use retrofit_protocols::metric::check_type;
use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Metrics, Reading};
use retrofit_protocols::{Id, KnownEvent, Source, Timestamp};

use crate::devices::Device;
use crate::normalize::Rejection;

/// Who said it and when: everything of a reading but its body.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub site: &'a Id,
    pub device: &'a Device,
    pub seq: u32,
    pub ts: Timestamp,
}

impl Origin<'_> {
    fn reading(&self, body: Body) -> Result<Reading, Rejection> {
        if !self.ts.is_in_range() {
            return Err(Rejection::new(
                "invalid_timestamp",
                format!("measurement time {} ms is out of range", self.ts.0),
            ));
        }
        Ok(Reading {
            site: self.site.clone(),
            kind: self.device.kind,
            device: self.device.id.clone(),
            connector: None,
            ts: self.ts,
            seq: u64::from(self.seq),
            source: Source::Serial,
            body,
        })
    }
}

/// A telemetry reading; a value of the wrong type for its metric rejects
/// the whole frame.
pub fn telemetry(origin: Origin<'_>, telemetry: &Telemetry) -> Result<Reading, Rejection> {
    let mut metrics = Metrics::with_capacity(telemetry.metrics().len());
    for (name, value) in telemetry.metrics() {
        check_type(name, value)
            .map_err(|e| Rejection::new("invalid_value", format!("{name}: {e}")))?;
        metrics.push((name.clone(), value.clone()));
    }
    origin.reading(Body::Telemetry(metrics))
}

/// An event reading; `raise_seq` is the sequence number of the frame that
/// raised the alarm (its own for a raise or an instant event), so raise
/// and clear share the `alarm_id`.
pub fn event(origin: Origin<'_>, event: &Event, raise_seq: u32) -> Result<Reading, Rejection> {
    let alarm_id = AlarmId::for_raise(&origin.device.id, &event.name, u64::from(raise_seq));
    origin.reading(Body::Event(EventBody {
        event: event.name.clone(),
        severity: event.severity,
        state: event.state,
        alarm_id,
        detail: BoundedText::lossy(&detail(event)),
    }))
}

/// The event's numeric argument in words (EDGE_LINK.md §5, Event).
fn detail(event: &Event) -> String {
    let name = event.name.as_str();
    match event.detail {
        0 => String::new(),
        mm if name == KnownEvent::HighWater.as_str() => format!("level {mm} mm"),
        code if name == KnownEvent::ChargerFault.as_str() => {
            format!("OCPP error code index {code}")
        }
        n => format!("detail {n}"),
    }
}
