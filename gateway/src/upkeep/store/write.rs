//! Writing the history: readings from the journal (idempotent on device,
//! `ts`, `seq` and connector), operator records (acks, arrivals,
//! maintenance). Each call is one transaction.
//!
//! Telemetry keeps only its key, source and the state metric the service
//! levels read (elevator `mode`, charger `status`); never the other values.

use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::Value;
use rusqlite::{params, Transaction};

use super::{HistoryStore, StoreError};
use crate::upkeep::history::OperatorRecord;
use crate::upkeep::sla::state_metric;

impl HistoryStore {
    /// Records readings; returns how many were new.
    pub fn record<R: std::borrow::Borrow<Reading>>(
        &self,
        readings: &[R],
    ) -> Result<usize, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let mut new = 0;
            for r in readings {
                new += insert_reading(&tx, r.borrow())?;
            }
            tx.commit()?;
            Ok(new)
        })
    }

    /// Records an acknowledgement, arrival or maintenance window.
    pub fn record_operator(&self, record: &OperatorRecord) -> Result<(), StoreError> {
        self.with(|conn| {
            match record {
                OperatorRecord::Ack(v) | OperatorRecord::Arrive(v) => {
                    let what = if matches!(record, OperatorRecord::Ack(_)) {
                        "ack"
                    } else {
                        "arrive"
                    };
                    conn.execute(
                        "INSERT OR IGNORE INTO visits VALUES (?1, ?2, ?3, ?4)",
                        params![what, v.alarm_id.as_str(), v.at.as_millis(), v.by.as_str()],
                    )?;
                }
                OperatorRecord::Maintenance(m) => {
                    insert_maintenance(conn, m)?;
                }
            }
            Ok(())
        })
    }
}

/// Stores one maintenance window; returns its id.
pub(super) fn insert_maintenance(
    conn: &rusqlite::Connection,
    m: &crate::upkeep::history::Maintenance,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO maintenance (from_ts, to_ts, device, kind, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            m.from.as_millis(),
            m.to.as_millis(),
            m.device.as_ref().map(|d| d.as_str()),
            m.kind.map(|k| k.as_str()),
            m.reason.as_str()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The value of the kind's state metric in `r`, if it carries one.
fn state_of(r: &Reading) -> Option<&str> {
    let Body::Telemetry(metrics) = &r.body else {
        return None;
    };
    let (metric, _) = state_metric(r.kind)?;
    metrics.iter().find_map(|(n, v)| match v {
        Value::Text(t) if n.as_str() == metric => Some(t.as_str()),
        _ => None,
    })
}

fn insert_reading(tx: &Transaction<'_>, r: &Reading) -> Result<usize, StoreError> {
    let (device, ts, seq) = (r.device.as_str(), r.ts.as_millis(), r.seq as i64);
    let n = match &r.body {
        Body::Telemetry(_) => tx
            .prepare_cached("INSERT OR IGNORE INTO seen VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![
                device,
                ts,
                seq,
                r.connector.unwrap_or(0),
                r.kind.as_str(),
                r.source.as_str(),
                state_of(r)
            ])?,
        Body::Event(e) => tx
            .prepare_cached("INSERT OR IGNORE INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![
                device,
                ts,
                seq,
                e.alarm_id.as_str(),
                e.state.as_str(),
                r.to_json()
            ])?,
        Body::Status(_) => tx
            .prepare_cached("INSERT OR IGNORE INTO events VALUES (?1, ?2, ?3, NULL, NULL, ?4)")?
            .execute(params![device, ts, seq, r.to_json()])?,
    };
    Ok(n)
}
