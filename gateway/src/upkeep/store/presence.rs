//! What the kept history knows of each device's presence, so that a
//! restarted gateway takes it back instead of starting every device as
//! `unknown`: the last reading the device made, its last published status,
//! and its active `offline` alarm.
//!
//! Read-only.

use std::collections::HashMap;

use retrofit_protocols::reading::{AlarmId, Body, Reading};
use retrofit_protocols::{Id, KnownEvent, Presence, Timestamp};

use super::{HistoryStore, StoreError};

/// One device's presence before a restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresenceSnapshot {
    pub last_seen: Option<Timestamp>,
    pub presence: Option<(Presence, Timestamp)>,
    pub offline_alarm: Option<AlarmId>,
}

const LAST_STATUS: &str = "
SELECT payload FROM events e
 WHERE alarm_id IS NULL
   AND ts = (SELECT MAX(ts) FROM events WHERE device = e.device AND alarm_id IS NULL)";

impl HistoryStore {
    /// Every device's presence as the history last saw it.
    pub fn presence_snapshot(&self) -> Result<HashMap<Id, PresenceSnapshot>, StoreError> {
        let mut out: HashMap<Id, PresenceSnapshot> = HashMap::new();
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT device, MAX(ts) FROM seen WHERE source != 'gateway' GROUP BY device",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (device, ts) = row?;
                if let Ok(id) = Id::parse(&device) {
                    out.entry(id).or_default().last_seen = Some(Timestamp::from_millis(ts));
                }
            }
            let mut stmt = conn.prepare(LAST_STATUS)?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            for payload in rows {
                let r = Reading::from_json(&payload?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if let Body::Status(st) = r.body {
                    out.entry(r.device).or_default().presence = Some((st.status, st.since));
                }
            }
            Ok(())
        })?;
        for a in self.active_alarms()? {
            if a.event.as_str() == KnownEvent::Offline.as_str() {
                out.entry(a.device).or_default().offline_alarm = Some(a.alarm_id);
            }
        }
        Ok(out)
    }
}
