//! Charging sessions (OCPP 1.6 StartTransaction and StopTransaction):
//! transaction IDs from the durable store, `session_started` and
//! `session_stopped` events with energy, duration and reason, and the
//! meter readings at both ends (`energy_wh`, and at the end
//! `session_energy_wh` and `session_duration_s`).
//!
//! The transaction is stored before its readings are submitted, and the
//! `.conf` waits for their commit; a StartTransaction sent again after a
//! lost `.conf` gets the same ID, a StopTransaction sent again yields the
//! same readings. A StopTransaction is always accepted (OCPP 1.6 §4.10),
//! even for a transaction the store does not know, which is dead-lettered
//! as `unknown_transaction`. This module never reuses a transaction ID.

use retrofit_protocols::reading::Metrics;
use retrofit_protocols::{EventState, KnownEvent, Severity, Timestamp};
use rust_ocpp::v1_6::messages::start_transaction::{
    StartTransactionRequest, StartTransactionResponse,
};
use rust_ocpp::v1_6::messages::stop_transaction::{
    StopTransactionRequest, StopTransactionResponse,
};
use rust_ocpp::v1_6::types::{AuthorizationStatus, Reason};
use serde_json::Value as Json;

use super::frame::{CallError, ErrorCode};
use super::meter::{self, MeterGroup};
use super::session::{
    decode_valid, plausible, plausible_ts, snake, Alarm, ChargePointSession, Outcome,
    SLOT_SESSION_STARTED, SLOT_SESSION_STOPPED,
};
use super::transactions::{StoreError, Transaction};
use crate::normalize::{add_if_absent, Rejection};

/// Meter slots of the Transaction.Begin and Transaction.End contexts.
const SLOT_BEGIN: u8 = 6;
const SLOT_END: u8 = 7;

impl ChargePointSession {
    pub(super) async fn start_transaction(
        &self,
        id: &str,
        payload: Json,
    ) -> Result<Outcome, CallError> {
        let req: StartTransactionRequest = decode_valid(id, "StartTransaction", payload)?;
        let connector = req.connector_id;
        self.check_connector(id, connector, false)?;
        let ts = plausible_ts(Some(&req.timestamp));
        let id_tag_info = self.id_tag_info(&req.id_tag);
        let transaction = Transaction {
            id: 0,
            charge_point: self.charge_point_id.clone(),
            connector,
            id_tag: req.id_tag.clone(),
            meter_start_wh: i64::from(req.meter_start),
            started_ms: ts.as_millis(),
        };
        let transaction_id = self
            .link
            .store
            .run(move |s| s.start(&transaction))
            .await
            .map_err(|e| internal(id, &e))?;
        let mut records = Vec::new();
        if id_tag_info.status == AuthorizationStatus::Accepted {
            let detail = format!(
                "transaction {transaction_id} on connector {connector}, id tag {}, meter start {} Wh",
                req.id_tag, req.meter_start
            );
            let alarm = Alarm {
                name: KnownEvent::SessionStarted,
                severity: Severity::Info,
                state: EventState::Instant,
                raise_seq: None,
                detail: &detail,
            };
            records.push(self.event(connector, ts, SLOT_SESSION_STARTED, alarm).0);
            let mut metrics = Metrics::new();
            add_if_absent(&mut metrics, "energy_wh", f64::from(req.meter_start));
            records.push(self.telemetry(connector, ts, SLOT_BEGIN, metrics));
        } else {
            tracing::info!(charge_point = %self.charge_point_id, transaction_id, "transaction with an unknown id tag");
        }
        let reply = serde_json::to_value(StartTransactionResponse {
            id_tag_info,
            transaction_id,
        })
        .map_err(|e| CallError::new(id, ErrorCode::InternalError, e.to_string()))?;
        Ok(Outcome::AfterCommit {
            records,
            reply,
            fault: None,
        })
    }

    pub(super) async fn stop_transaction(
        &self,
        id: &str,
        mut payload: Json,
        raw: &str,
    ) -> Result<Outcome, CallError> {
        meter::accept_schema_spelling(payload.get_mut("transactionData"));
        let req: StopTransactionRequest = decode_valid(id, "StopTransaction", payload)?;
        let ts = plausible_ts(Some(&req.timestamp));
        let (cp, tx_id) = (self.charge_point_id.clone(), req.transaction_id);
        let found = self
            .link
            .store
            .run(move |s| {
                let found = s.get(&cp, tx_id)?;
                if found.is_some() {
                    s.stop(tx_id)?;
                }
                Ok(found)
            })
            .await
            .map_err(|e| internal(id, &e))?;
        let (mut groups, rejected) =
            meter::convert(req.transaction_data.as_deref().unwrap_or_default());
        let mut records: Vec<_> = rejected
            .into_iter()
            .map(|r| self.dead_letter(r, raw.as_bytes()))
            .collect();
        let connector = match &found {
            Some(t) => {
                records.push(self.stopped_event(t, &req, ts));
                add_session_metrics(&mut groups, t, &req, ts);
                t.connector
            }
            None => {
                let r = Rejection::new(
                    "unknown_transaction",
                    format!("transaction {tx_id} was never started here"),
                );
                records.push(self.dead_letter(r, raw.as_bytes()));
                0
            }
        };
        records.extend(
            groups
                .into_iter()
                .map(|g| self.telemetry(connector, plausible(Some(g.ts)), g.slot, g.metrics)),
        );
        let conf = StopTransactionResponse {
            id_tag_info: req.id_tag.as_deref().map(|tag| self.id_tag_info(tag)),
        };
        let reply = serde_json::to_value(conf)
            .map_err(|e| CallError::new(id, ErrorCode::InternalError, e.to_string()))?;
        Ok(Outcome::AfterCommit {
            records,
            reply,
            fault: None,
        })
    }

    fn stopped_event(
        &self,
        t: &Transaction,
        req: &StopTransactionRequest,
        ts: Timestamp,
    ) -> crate::journal::NewRecord {
        let reason = snake(req.reason.as_ref().unwrap_or(&Reason::Local));
        let detail = format!(
            "transaction {} on connector {}: {} Wh in {} s, reason {reason}",
            t.id,
            t.connector,
            session_energy_wh(t, req),
            session_duration_s(t, ts),
        );
        let alarm = Alarm {
            name: KnownEvent::SessionStopped,
            severity: Severity::Info,
            state: EventState::Instant,
            raise_seq: None,
            detail: &detail,
        };
        self.event(t.connector, ts, SLOT_SESSION_STOPPED, alarm).0
    }
}

fn session_energy_wh(t: &Transaction, req: &StopTransactionRequest) -> i64 {
    i64::from(req.meter_stop) - t.meter_start_wh
}

fn session_duration_s(t: &Transaction, stopped: Timestamp) -> f64 {
    ((stopped.as_millis() - t.started_ms) as f64 / 1000.0).max(0.0)
}

/// The end reading: the meter, the session's energy and duration.
fn add_session_metrics(
    groups: &mut Vec<MeterGroup>,
    t: &Transaction,
    req: &StopTransactionRequest,
    ts: Timestamp,
) {
    let mut metrics = Metrics::new();
    add_if_absent(&mut metrics, "energy_wh", f64::from(req.meter_stop));
    add_if_absent(
        &mut metrics,
        "session_energy_wh",
        session_energy_wh(t, req) as f64,
    );
    add_if_absent(
        &mut metrics,
        "session_duration_s",
        session_duration_s(t, ts),
    );
    for (name, value) in metrics {
        // Three metrics into a group: they fit unless the charger already
        // filled it, and then its own samples stand.
        let _ = meter::add(groups, ts, SLOT_END, name, value);
    }
}

fn internal(id: &str, e: &StoreError) -> CallError {
    tracing::error!(error = %e, "transaction store failed");
    CallError::new(
        id,
        ErrorCode::InternalError,
        "the transaction store failed; try again",
    )
}
