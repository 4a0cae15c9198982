//! Alarm operations on the kept history: acknowledge, technician arrived,
//! and the alarms still active, each through the lifecycle fold of
//! [`crate::upkeep::alarms`].
//!
//! Library calls for the CLI (`alarm ack|arrive`) and the HTTP API; an
//! unknown alarm is an error, never a record.

use retrofit_protocols::reading::{AlarmId, BoundedText, Reading};
use retrofit_protocols::Timestamp;
use rusqlite::params;

use super::{HistoryStore, StoreError};
use crate::upkeep::alarms::{alarms, Alarm};
use crate::upkeep::history::{History, OperatorRecord, Visit};

/// An alarm operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    #[error("no alarm {0} in the history")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a technician did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Arrive,
}

/// Events of alarms raised and not cleared, and their visits.
const ACTIVE: &str = "
SELECT payload FROM events
 WHERE alarm_id IN (SELECT alarm_id FROM events WHERE state = 'raised')
   AND alarm_id NOT IN (SELECT alarm_id FROM events WHERE state = 'cleared')
 ORDER BY ts, seq";

impl HistoryStore {
    /// Records that `by` acknowledged, or arrived at, `alarm` at `at`, and
    /// returns the alarm as it now stands.
    pub fn mark(
        &self,
        action: Action,
        alarm: &AlarmId,
        by: &str,
        at: Timestamp,
    ) -> Result<Alarm, AlarmError> {
        let visit = Visit {
            alarm_id: alarm.clone(),
            at,
            by: BoundedText::lossy(by),
        };
        if self.alarm(alarm)?.is_none() {
            return Err(AlarmError::NotFound(alarm.as_str().into()));
        }
        self.record_operator(&match action {
            Action::Acknowledge => OperatorRecord::Ack(visit),
            Action::Arrive => OperatorRecord::Arrive(visit),
        })?;
        self.alarm(alarm)?
            .ok_or_else(|| AlarmError::NotFound(alarm.as_str().into()))
    }

    /// One alarm with its acks and arrivals.
    pub fn alarm(&self, alarm: &AlarmId) -> Result<Option<Alarm>, StoreError> {
        let history = self.events_where(
            "SELECT payload FROM events WHERE alarm_id = ?1 ORDER BY ts, seq",
            alarm.as_str(),
        )?;
        Ok(alarms(&history).into_iter().next())
    }

    /// Every alarm not yet cleared.
    pub fn active_alarms(&self) -> Result<Vec<Alarm>, StoreError> {
        let history = self.events_where(ACTIVE, "")?;
        Ok(alarms(&history)
            .into_iter()
            .filter(Alarm::is_active)
            .collect())
    }

    /// The events `query` selects (`?1` bound to `arg` when used), with
    /// every ack and arrival of their alarms.
    fn events_where(&self, query: &str, arg: &str) -> Result<History, StoreError> {
        self.with(|conn| {
            let mut history = History::default();
            let mut stmt = conn.prepare(query)?;
            let payloads = if stmt.parameter_count() == 1 {
                stmt.query_map(params![arg], |r| r.get::<_, Vec<u8>>(0))?
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?
                    .collect::<Result<Vec<_>, _>>()?
            };
            for p in payloads {
                history
                    .readings
                    .push(Reading::from_json(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            }
            let mut visits = conn.prepare("SELECT what, at, by FROM visits WHERE alarm_id = ?1")?;
            let ids: Vec<AlarmId> = alarms(&history).into_iter().map(|a| a.alarm_id).collect();
            for id in ids {
                let rows = visits.query_map(params![id.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?;
                for row in rows {
                    let (what, at, by) = row?;
                    let visit = Visit {
                        alarm_id: id.clone(),
                        at: Timestamp::from_millis(at),
                        by: BoundedText::lossy(&by),
                    };
                    history.push(if what == "ack" {
                        OperatorRecord::Ack(visit)
                    } else {
                        OperatorRecord::Arrive(visit)
                    });
                }
            }
            Ok(history)
        })
    }
}
