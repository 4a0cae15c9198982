//! The alarm lifecycle: raised -> acknowledged (by whom, when) ->
//! technician arrived -> cleared, folded from a history's events and
//! visits. One alarm per `alarm_id` (stable across restarts: it comes from
//! the raise); repeated raises collapse into it (counted), a raise at
//! another severity escalates or de-escalates it, and an ack or arrival
//! never reopens a cleared alarm.
//!
//! Pure: the store and the HTTP API feed it; it never writes.

use std::collections::BTreeMap;

use retrofit_protocols::reading::{AlarmId, Body, BoundedText};
use retrofit_protocols::{DeviceKind, EventName, EventState, Id, Severity, Timestamp};
use serde::Serialize;

use super::history::{History, Visit};

/// Where an alarm is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Raised,
    Acknowledged,
    Arrived,
    Cleared,
}

/// Who did something to an alarm, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub at: Timestamp,
    pub by: BoundedText,
}

impl From<&Visit> for Mark {
    fn from(v: &Visit) -> Self {
        Self {
            at: v.at,
            by: v.by.clone(),
        }
    }
}

/// One alarm as an operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    pub alarm_id: AlarmId,
    pub device: Id,
    pub kind: DeviceKind,
    pub event: EventName,
    /// The severity of the latest raise.
    pub severity: Severity,
    pub stage: Stage,
    pub raised_at: Timestamp,
    /// Raises folded into this alarm (1 when raised once).
    pub raises: u32,
    pub acknowledged: Option<Mark>,
    pub arrived: Option<Mark>,
    pub cleared_at: Option<Timestamp>,
}

impl Alarm {
    pub fn is_active(&self) -> bool {
        self.cleared_at.is_none()
    }

    fn stage_now(&self) -> Stage {
        match (&self.cleared_at, &self.arrived, &self.acknowledged) {
            (Some(_), _, _) => Stage::Cleared,
            (None, Some(_), _) => Stage::Arrived,
            (None, None, Some(_)) => Stage::Acknowledged,
            (None, None, None) => Stage::Raised,
        }
    }
}

/// Every alarm of `history` (instant events are not alarms), by raise time.
pub fn alarms(history: &History) -> Vec<Alarm> {
    let mut events: Vec<_> = history
        .readings
        .iter()
        .filter_map(|r| match &r.body {
            Body::Event(e) if e.state != EventState::Instant => Some((r, e)),
            _ => None,
        })
        .collect();
    events.sort_by_key(|(r, _)| (r.ts, r.seq));
    let mut by_id: BTreeMap<&AlarmId, Alarm> = BTreeMap::new();
    for (r, e) in events {
        match (by_id.get_mut(&e.alarm_id), e.state) {
            (None, EventState::Raised) => {
                by_id.insert(
                    &e.alarm_id,
                    Alarm {
                        alarm_id: e.alarm_id.clone(),
                        device: r.device.clone(),
                        kind: r.kind,
                        event: e.event.clone(),
                        severity: e.severity,
                        stage: Stage::Raised,
                        raised_at: r.ts,
                        raises: 1,
                        acknowledged: None,
                        arrived: None,
                        cleared_at: None,
                    },
                );
            }
            (Some(a), EventState::Raised) if a.is_active() => {
                a.raises += 1;
                a.severity = e.severity;
            }
            (Some(a), EventState::Cleared) if a.is_active() => a.cleared_at = Some(r.ts),
            _ => {}
        }
    }
    let mut out: Vec<Alarm> = by_id.into_values().collect();
    for a in &mut out {
        let first = |visits: &[Visit]| {
            visits
                .iter()
                .filter(|v| v.alarm_id == a.alarm_id && v.at >= a.raised_at)
                .min_by_key(|v| v.at)
                .map(Mark::from)
        };
        a.acknowledged = first(&history.acks);
        a.arrived = first(&history.arrivals);
        a.stage = a.stage_now();
    }
    out.sort_by_key(|a| (a.raised_at, a.alarm_id.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrofit_protocols::reading::{EventBody, Reading};
    use retrofit_protocols::Source;

    fn event(minute: i64, seq: u64, severity: Severity, state: EventState, id: &str) -> Reading {
        Reading {
            site: Id::parse("s").unwrap(),
            kind: DeviceKind::Drainage,
            device: Id::parse("well-1").unwrap(),
            connector: None,
            ts: Timestamp(minute * 60_000),
            seq,
            source: Source::Gateway,
            body: Body::Event(EventBody {
                event: EventName::parse("high_water").unwrap(),
                severity,
                state,
                alarm_id: AlarmId::parse(id).unwrap(),
                detail: BoundedText::default(),
            }),
        }
    }

    fn visit(id: &str, minute: i64, by: &str) -> Visit {
        Visit {
            alarm_id: AlarmId::parse(id).unwrap(),
            at: Timestamp(minute * 60_000),
            by: BoundedText::lossy(by),
        }
    }

    #[test]
    fn raise_ack_arrive_clear_with_collapse_and_escalation() {
        let a = "well-1.high_water.1";
        let mut h = History {
            readings: vec![
                event(0, 1, Severity::Major, EventState::Raised, a),
                event(1, 2, Severity::Major, EventState::Raised, a),
                event(2, 3, Severity::Critical, EventState::Raised, a),
            ],
            ..History::default()
        };
        let only = |h: &History| {
            let all = alarms(h);
            assert_eq!(all.len(), 1, "one alarm for every raise of one id");
            all[0].clone()
        };
        let x = only(&h);
        assert_eq!(
            (x.stage, x.raises, x.severity),
            (Stage::Raised, 3, Severity::Critical)
        );
        h.acks.push(visit(a, 5, "li"));
        h.acks.push(visit(a, 6, "zhao"));
        let x = only(&h);
        assert_eq!(x.stage, Stage::Acknowledged);
        assert_eq!(
            x.acknowledged.unwrap().by.as_str(),
            "li",
            "the first ack counts"
        );
        h.arrivals.push(visit(a, 20, "wang"));
        assert_eq!(only(&h).stage, Stage::Arrived);
        h.readings
            .push(event(30, 4, Severity::Critical, EventState::Cleared, a));
        h.readings
            .push(event(31, 5, Severity::Major, EventState::Raised, a));
        let x = only(&h);
        assert_eq!(x.stage, Stage::Cleared);
        assert_eq!(x.cleared_at, Some(Timestamp(30 * 60_000)));
        assert_eq!(x.raises, 3, "a raise after the clear does not reopen it");
        assert_eq!(x.arrived.unwrap().at, Timestamp(20 * 60_000));
    }

    #[test]
    fn instants_are_not_alarms_and_clears_alone_are_ignored() {
        let h = History {
            readings: vec![
                event(0, 1, Severity::Info, EventState::Instant, "well-1.x.1"),
                event(1, 2, Severity::Major, EventState::Cleared, "well-1.x.2"),
            ],
            ..History::default()
        };
        assert!(alarms(&h).is_empty());
    }
}
