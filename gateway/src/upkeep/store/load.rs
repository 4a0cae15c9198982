//! Reading the history for a window `[from, to)`: everything inside it
//! plus the context before `from` the service levels need (each device's
//! last reading and last state before the window, the events of alarms
//! still open at `from`), as a [`History`] of normalized readings, so the
//! stored and the exported history give the same figures.
//!
//! Read-only; a stored row that no longer decodes is an error, never a
//! panic.

use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::{Id, MetricName, Timestamp, Value};
use rusqlite::{params, Connection, Row};

use super::{HistoryStore, StoreError};
use crate::upkeep::history::{History, Maintenance, OperatorRecord, Visit};
use crate::upkeep::sla::state_metric;

/// Telemetry keys: in the window, or the last (and last with a state) of
/// each device and connector before it.
const SEEN: &str = "
SELECT device, ts, seq, connector, kind, source, state FROM seen
 WHERE (ts >= ?1 AND ts < ?2)
    OR (device, connector, ts) IN (
        SELECT device, connector, MAX(ts) FROM seen WHERE ts < ?1 GROUP BY device, connector)
    OR (device, connector, ts) IN (
        SELECT device, connector, MAX(ts) FROM seen WHERE ts < ?1 AND state IS NOT NULL
         GROUP BY device, connector)
 ORDER BY ts, seq";

/// Events and status in the window, and every event of an alarm raised
/// before it and not cleared before it.
const EVENTS: &str = "
SELECT payload FROM events
 WHERE (ts >= ?1 AND ts < ?2)
    OR (ts < ?1 AND alarm_id IN (SELECT alarm_id FROM events WHERE ts < ?1 AND state = 'raised')
        AND alarm_id NOT IN (SELECT alarm_id FROM events WHERE ts < ?1 AND state = 'cleared'))
 ORDER BY ts, seq";

impl HistoryStore {
    /// The history `sla` and `history export` work on.
    pub fn load(&self, site: &Id, from: Timestamp, to: Timestamp) -> Result<History, StoreError> {
        let (from, to) = (from.as_millis(), to.as_millis());
        self.with(|conn| {
            let mut history = History::default();
            let mut seen = conn.prepare(SEEN)?;
            let rows = seen.query_map(params![from, to], |row| telemetry(site, row))?;
            for r in rows {
                history.readings.push(r??);
            }
            let mut events = conn.prepare(EVENTS)?;
            let rows = events.query_map(params![from, to], |row| row.get::<_, Vec<u8>>(0))?;
            for payload in rows {
                let payload = payload?;
                let r =
                    Reading::from_json(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                history.readings.push(r);
            }
            for record in operator_records(conn, from, to)? {
                history.push(record);
            }
            Ok(history)
        })
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("bad {what} in seen"))
}

/// A stored telemetry key back as a reading carrying only its state.
fn telemetry(site: &Id, row: &Row<'_>) -> rusqlite::Result<Result<Reading, StoreError>> {
    let device: String = row.get(0)?;
    let (ts, seq, connector): (i64, i64, u32) = (row.get(1)?, row.get(2)?, row.get(3)?);
    let (kind, source, state): (String, String, Option<String>) =
        (row.get(4)?, row.get(5)?, row.get(6)?);
    Ok((|| {
        let kind = kind.parse().map_err(|_| corrupt("kind"))?;
        let mut metrics = Vec::new();
        if let (Some(state), Some((metric, _))) = (state, state_metric(kind)) {
            let name = MetricName::parse(metric).map_err(|_| corrupt("metric"))?;
            metrics.push((name, Value::text(&state).map_err(|_| corrupt("state"))?));
        }
        Ok(Reading {
            site: site.clone(),
            kind,
            device: Id::parse(&device).map_err(|_| corrupt("device"))?,
            connector: (connector != 0).then_some(connector),
            ts: Timestamp::from_millis(ts),
            seq: seq as u64,
            source: source.parse().map_err(|_| corrupt("source"))?,
            body: Body::Telemetry(metrics),
        })
    })())
}

/// Visits from `from` on, and maintenance windows overlapping the window.
fn operator_records(
    conn: &Connection,
    from: i64,
    to: i64,
) -> Result<Vec<OperatorRecord>, StoreError> {
    let mut out = Vec::new();
    let mut visits =
        conn.prepare("SELECT what, alarm_id, at, by FROM visits WHERE at >= ?1 ORDER BY at")?;
    let rows = visits.query_map(params![from], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (what, alarm_id, at, by) = row?;
        let visit = Visit {
            alarm_id: retrofit_protocols::reading::AlarmId::parse(&alarm_id)
                .map_err(|_| StoreError::Corrupt("bad alarm id".into()))?,
            at: Timestamp::from_millis(at),
            by: retrofit_protocols::reading::BoundedText::lossy(&by),
        };
        out.push(if what == "ack" {
            OperatorRecord::Ack(visit)
        } else {
            OperatorRecord::Arrive(visit)
        });
    }
    let mut windows = conn.prepare(
        "SELECT from_ts, to_ts, device, kind, reason FROM maintenance WHERE to_ts > ?1 AND from_ts < ?2 ORDER BY from_ts",
    )?;
    let rows = windows.query_map(params![from, to], MaintenanceRow::read)?;
    for row in rows {
        out.push(OperatorRecord::Maintenance(row?.decode()?));
    }
    Ok(out)
}

/// A `maintenance` row as stored: `from_ts, to_ts, device, kind, reason`
/// from column 0 on.
pub(super) struct MaintenanceRow(i64, i64, Option<String>, Option<String>, String);

impl MaintenanceRow {
    pub(super) fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self(
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ))
    }

    pub(super) fn decode(self) -> Result<Maintenance, StoreError> {
        let Self(from_ts, to_ts, device, kind, reason) = self;
        let bad = |_| StoreError::Corrupt("bad maintenance window".into());
        Ok(Maintenance {
            from: Timestamp::from_millis(from_ts),
            to: Timestamp::from_millis(to_ts),
            device: device.as_deref().map(Id::parse).transpose().map_err(bad)?,
            kind: kind
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| StoreError::Corrupt("bad kind".into()))?,
            reason: retrofit_protocols::reading::BoundedText::lossy(&reason),
        })
    }
}
