//! What a node application emits per poll: an optional telemetry snapshot
//! (metric names and values of the shared model) and alarm transitions,
//! plus the schedule that decides when a snapshot is due.
//!
//! Metric names are checked by the model's own validation; a non-finite
//! number is refused, never sent. A snapshot always fits one edge-link
//! Telemetry frame.

use heapless::Vec;
use retrofit_protocols::edge::{self, MetricsError, Stamp, MAX_METRICS};
use retrofit_protocols::metric::ValueError;
use retrofit_protocols::{IdError, MetricName, Value};

use super::event::EventTransition;

/// Most metrics in one snapshot: what one edge-link Telemetry frame holds.
pub const TELEMETRY_CAPACITY: usize = MAX_METRICS;
/// Most alarm transitions in one poll.
pub const EVENTS_CAPACITY: usize = 8;

/// Why an output could not be built (a firmware bug, never a sensor state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    #[error("metric name `{0}` is not a valid model name")]
    MetricName(&'static str),
    #[error("metric `{name}`: {reason}")]
    Value {
        name: &'static str,
        reason: ValueError,
    },
    #[error("more than {TELEMETRY_CAPACITY} metrics in one snapshot")]
    TelemetryFull,
    #[error("more than {EVENTS_CAPACITY} events in one poll")]
    EventsFull,
}

/// One telemetry snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Telemetry {
    metrics: Vec<(MetricName, Value), TELEMETRY_CAPACITY>,
}

impl Telemetry {
    pub fn metrics(&self) -> &[(MetricName, Value)] {
        &self.metrics
    }

    /// The value of metric `name`, if present.
    /// `battery_pct` as the whole percent a Heartbeat carries, if reported.
    pub fn battery_pct(&self) -> Option<u8> {
        match self.get("battery_pct") {
            // Rounds half up; the value is clamped to 0..=100 first.
            Some(Value::Number(pct)) => Some((pct.clamp(0.0, 100.0) + 0.5) as u8),
            _ => None,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.metrics
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v)
    }

    pub(crate) fn number(&mut self, name: &'static str, x: f64) -> Result<(), OutputError> {
        let value = Value::number(x).map_err(|reason| OutputError::Value { name, reason })?;
        self.push(name, value)
    }

    pub(crate) fn flag(&mut self, name: &'static str, b: bool) -> Result<(), OutputError> {
        self.push(name, Value::Bool(b))
    }

    pub(crate) fn text(&mut self, name: &'static str, s: &str) -> Result<(), OutputError> {
        let value = Value::text(s).map_err(|reason| OutputError::Value { name, reason })?;
        self.push(name, value)
    }

    /// The snapshot as an edge-link Telemetry message measured at `stamp`.
    pub fn to_edge(&self, stamp: Stamp) -> Result<edge::Telemetry, MetricsError> {
        let mut message = edge::Telemetry::new(stamp);
        for (name, value) in &self.metrics {
            message.push(name.clone(), value.clone())?;
        }
        Ok(message)
    }

    fn push(&mut self, name: &'static str, value: Value) -> Result<(), OutputError> {
        let metric = MetricName::parse(name).map_err(|_| OutputError::MetricName(name))?;
        self.metrics
            .push((metric, value))
            .map_err(|_| OutputError::TelemetryFull)
    }
}

/// Everything one poll produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeOutput {
    /// A snapshot when one is due (interval elapsed or a state changed).
    pub telemetry: Option<Telemetry>,
    pub events: Vec<EventTransition, EVENTS_CAPACITY>,
}

impl NodeOutput {
    /// Appends `transition` when there is one.
    pub(crate) fn event(&mut self, transition: Option<EventTransition>) -> Result<(), OutputError> {
        match transition {
            Some(t) => self.events.push(t).map_err(|_| OutputError::EventsFull),
            None => Ok(()),
        }
    }
}

impl EventTransition {
    /// The transition as an edge-link Event message measured at `stamp`.
    pub fn to_edge(&self, stamp: Stamp) -> Result<edge::Event, IdError> {
        Ok(edge::Event {
            stamp,
            name: self.event.name()?,
            severity: self.severity,
            state: self.state,
            detail: 0,
        })
    }
}

/// Decides when a snapshot is due: on a state change, or when
/// `interval_ms` has passed since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSchedule {
    interval_ms: u64,
    last_ms: Option<u64>,
}

impl ReportSchedule {
    pub const fn new(interval_ms: u64) -> Self {
        Self {
            interval_ms,
            last_ms: None,
        }
    }

    pub const fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// A new interval, counted from the last report.
    pub fn set_interval_ms(&mut self, interval_ms: u64) {
        self.interval_ms = interval_ms;
    }

    /// Whether to report now; the first call always reports.
    pub fn due(&mut self, changed: bool, now_ms: u64) -> bool {
        let elapsed = self
            .last_ms
            .is_none_or(|last| now_ms.saturating_sub(last) >= self.interval_ms);
        if changed || elapsed {
            self.last_ms = Some(now_ms);
        }
        changed || elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_refuses_non_finite_numbers_and_bad_names() {
        let mut t = Telemetry::default();
        assert!(t.number("level_m", 1.5).is_ok());
        assert!(matches!(
            t.number("level_m", f64::NAN),
            Err(OutputError::Value {
                name: "level_m",
                ..
            })
        ));
        assert_eq!(
            t.flag("Bad Name", true),
            Err(OutputError::MetricName("Bad Name"))
        );
        assert_eq!(t.get("level_m"), Some(&Value::Number(1.5)));
        assert_eq!(t.metrics().len(), 1);
    }

    #[test]
    fn telemetry_is_bounded() {
        let mut t = Telemetry::default();
        for _ in 0..TELEMETRY_CAPACITY {
            t.flag("occupied", true).unwrap();
        }
        assert_eq!(t.flag("occupied", true), Err(OutputError::TelemetryFull));
    }

    #[test]
    fn snapshots_and_transitions_become_edge_messages() {
        use retrofit_protocols::{EventState, Severity};

        let mut t = Telemetry::default();
        t.number("level_m", 0.25).unwrap();
        t.flag("occupied", false).unwrap();
        let message = t.to_edge(Stamp::Uptime(42)).unwrap();
        assert_eq!(message.stamp, Stamp::Uptime(42));
        assert_eq!(message.metrics(), t.metrics());

        let transition = EventTransition {
            event: super::super::NodeEvent::HighWater,
            severity: Severity::Critical,
            state: EventState::Raised,
        };
        let event = transition.to_edge(Stamp::Uptime(7)).unwrap();
        assert_eq!(event.name.as_str(), "high_water");
        assert_eq!(
            (event.severity, event.state),
            (Severity::Critical, EventState::Raised)
        );
    }

    #[test]
    fn schedule_reports_first_on_change_and_on_interval() {
        let mut s = ReportSchedule::new(1000);
        assert!(s.due(false, 0));
        assert!(!s.due(false, 999));
        assert!(s.due(true, 999));
        assert!(!s.due(false, 1998));
        assert!(s.due(false, 1999));
    }
}
