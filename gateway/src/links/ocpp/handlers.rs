//! The CALLs a charge point sends the central system (OCPP 1.6 Core):
//! BootNotification, Heartbeat, StatusNotification, MeterValues, Authorize,
//! DataTransfer and the firmware/diagnostics notifications; transactions are
//! in `charging`. Anything else gets `NotImplemented`.
//!
//! A request that carries data (status, meter values, transactions) is
//! answered only after its readings are committed (`Outcome::AfterCommit`).
//! This module never answers a request it could not decode with anything
//! but a CALLERROR.

use retrofit_protocols::flat_object::Scalar;
use retrofit_protocols::{EventState, KnownEvent, Severity};
use rust_ocpp::v1_6::messages::authorize::{AuthorizeRequest, AuthorizeResponse};
use rust_ocpp::v1_6::messages::boot_notification::{
    BootNotificationRequest, BootNotificationResponse,
};
use rust_ocpp::v1_6::messages::data_transfer::{DataTransferRequest, DataTransferResponse};
use rust_ocpp::v1_6::messages::heart_beat::{HeartbeatRequest, HeartbeatResponse};
use rust_ocpp::v1_6::messages::meter_values::MeterValuesRequest;
use rust_ocpp::v1_6::messages::status_notification::StatusNotificationRequest;
use rust_ocpp::v1_6::types::{
    AuthorizationStatus, ChargePointStatus, DataTransferStatus, IdTagInfo, RegistrationStatus,
};
use serde_json::{json, Value};

use super::frame::{CallError, ErrorCode};
use super::meter;
use super::session::{
    decode, decode_valid, plausible, plausible_ts, reply, snake, Alarm, ChargePointSession,
    FaultChange, Outcome, SLOT_FAULT, SLOT_STATUS,
};
use crate::normalize::Rejection;

impl ChargePointSession {
    /// Answers one CALL; `raw` is the message, for dead letters.
    pub async fn handle_call(&self, id: &str, action: &str, payload: Value, raw: &str) -> Outcome {
        let outcome = match action {
            "BootNotification" => self.boot(id, payload),
            "Heartbeat" => decode_valid::<HeartbeatRequest>(id, action, payload).map(|_| {
                self.seen();
                reply(
                    id,
                    &HeartbeatResponse {
                        current_time: chrono::Utc::now(),
                    },
                )
            }),
            "StatusNotification" => self.status(id, payload).await,
            "MeterValues" => self.meter_values(id, payload, raw),
            "Authorize" => self.authorize(id, payload),
            "StartTransaction" => self.start_transaction(id, payload).await,
            "StopTransaction" => self.stop_transaction(id, payload, raw).await,
            "DataTransfer" => self.data_transfer(id, payload),
            "DiagnosticsStatusNotification" | "FirmwareStatusNotification" => {
                tracing::info!(charge_point = %self.charge_point_id, action, %payload, "notification");
                Ok(Outcome::Reply(json!({})))
            }
            _ => Err(CallError::new(
                id,
                ErrorCode::NotImplemented,
                format!("{action} is not implemented by this central system"),
            )),
        };
        outcome.unwrap_or_else(Outcome::Error)
    }

    /// Known charge points are accepted with the link's heartbeat interval
    /// (unknown ones are rejected by `unknown`).
    fn boot(&self, id: &str, payload: Value) -> Result<Outcome, CallError> {
        let req: BootNotificationRequest = decode_valid(id, "BootNotification", payload)?;
        tracing::info!(
            charge_point = %self.charge_point_id,
            vendor = %req.charge_point_vendor,
            model = %req.charge_point_model,
            firmware = ?req.firmware_version,
            "boot notification accepted"
        );
        self.seen();
        Ok(reply(
            id,
            &BootNotificationResponse {
                current_time: chrono::Utc::now(),
                interval: self.link.config.heartbeat_interval_s,
                status: RegistrationStatus::Accepted,
            },
        ))
    }

    fn authorize(&self, id: &str, payload: Value) -> Result<Outcome, CallError> {
        let req: AuthorizeRequest = decode_valid(id, "Authorize", payload)?;
        Ok(reply(
            id,
            &AuthorizeResponse {
                id_tag_info: self.id_tag_info(&req.id_tag),
            },
        ))
    }

    /// The local list's verdict on an ID tag.
    pub fn id_tag_info(&self, id_tag: &str) -> IdTagInfo {
        let status = if self.link.config.id_tags.contains(id_tag) {
            AuthorizationStatus::Accepted
        } else {
            AuthorizationStatus::Invalid
        };
        IdTagInfo {
            status,
            ..IdTagInfo::default()
        }
    }

    fn data_transfer(&self, id: &str, payload: Value) -> Result<Outcome, CallError> {
        let req: DataTransferRequest = decode_valid(id, "DataTransfer", payload)?;
        tracing::info!(
            charge_point = %self.charge_point_id,
            vendor = %req.vendor_string,
            message = ?req.message_id,
            data = ?req.data,
            "data transfer"
        );
        Ok(reply(
            id,
            &DataTransferResponse {
                status: DataTransferStatus::Accepted,
                data: None,
            },
        ))
    }

    /// The connector's `status` and `error_code`; Faulted or Unavailable
    /// raises `charger_fault`, any other status clears it.
    async fn status(&self, id: &str, payload: Value) -> Result<Outcome, CallError> {
        let req: StatusNotificationRequest = decode_valid(id, "StatusNotification", payload)?;
        let connector = req.connector_id;
        self.check_connector(id, connector, true)?;
        let ts = plausible_ts(req.timestamp.as_ref());
        let (status, error_code) = (snake(&req.status), snake(&req.error_code));
        let metric = |name: &str, value: &str| {
            crate::normalize::metric(name, &Scalar::Str(value.into()))
                .map_err(|r| CallError::new(id, ErrorCode::PropertyConstraintViolation, r.detail))
        };
        let metrics = vec![
            metric("status", &status)?,
            metric("error_code", &error_code)?,
        ];
        let mut records = vec![self.telemetry(connector, ts, SLOT_STATUS, metrics)];
        let cp = self.charge_point_id.clone();
        let open = self
            .link
            .store
            .run(move |s| s.open_fault(&cp, connector))
            .await
            .map_err(|e| CallError::new(id, ErrorCode::InternalError, e.to_string()))?;
        let severity = match req.status {
            ChargePointStatus::Faulted => Some(Severity::Major),
            ChargePointStatus::Unavailable => Some(Severity::Minor),
            _ => None,
        };
        let detail = format!(
            "connector {connector} {status}: error code {error_code}, vendor error code {}, info {}",
            req.vendor_error_code.as_deref().unwrap_or("-"),
            req.info.as_deref().unwrap_or("-"),
        );
        let fault = match (severity, open) {
            (Some(severity), None) => {
                let alarm = Alarm {
                    name: KnownEvent::ChargerFault,
                    severity,
                    state: EventState::Raised,
                    raise_seq: None,
                    detail: &detail,
                };
                let (record, seq) = self.event(connector, ts, SLOT_FAULT, alarm);
                records.push(record);
                Some(FaultChange {
                    connector,
                    raise_seq: Some(seq),
                })
            }
            (None, Some(raise)) => {
                let alarm = Alarm {
                    name: KnownEvent::ChargerFault,
                    severity: Severity::Major,
                    state: EventState::Cleared,
                    raise_seq: Some(raise),
                    detail: &detail,
                };
                records.push(self.event(connector, ts, SLOT_FAULT, alarm).0);
                Some(FaultChange {
                    connector,
                    raise_seq: None,
                })
            }
            _ => None,
        };
        Ok(Outcome::AfterCommit {
            records,
            reply: json!({}),
            fault,
        })
    }

    /// Every convertible sample becomes telemetry; each other one a dead
    /// letter. The reply waits for both.
    fn meter_values(&self, id: &str, mut payload: Value, raw: &str) -> Result<Outcome, CallError> {
        meter::accept_schema_spelling(payload.get_mut("meterValue"));
        let req: MeterValuesRequest = decode(id, "MeterValues", payload)?;
        self.check_connector(id, req.connector_id, true)?;
        let (groups, rejected) = meter::convert(&req.meter_value);
        let mut records: Vec<_> = groups
            .into_iter()
            .map(|g| self.telemetry(req.connector_id, plausible(Some(g.ts)), g.slot, g.metrics))
            .collect();
        records.extend(
            rejected
                .into_iter()
                .map(|r| self.dead_letter(r, raw.as_bytes())),
        );
        Ok(Outcome::AfterCommit {
            records,
            reply: json!({}),
            fault: None,
        })
    }
}

/// How the CALLERROR to an oversized message begins.
pub const OVERSIZED: &str = "a message may be at most";

/// Rejections of a whole request are dead-lettered by the connection.
pub fn rejection_of(error: &CallError) -> Rejection {
    let reason = match error.code.as_str() {
        _ if error.description.starts_with(OVERSIZED) => "oversized",
        "NotImplemented" => "not_implemented",
        "FormationViolation" => "malformed_json",
        "InternalError" => "internal_error",
        _ => "invalid_field",
    };
    Rejection::new(reason, format!("{}: {}", error.code, error.description))
}
