//! A `ChargePointSession`: what the central system knows of one connected
//! charge point, and how its readings are built (spec §4, §5).
//!
//! Every reading carries the connector (`0` is the charge point itself).
//! Its `seq` is derived from the reading's own time, connector and slot
//! (`ts_ms * 1000 + connector * 10 + slot`), so a message the charger sends
//! again after a lost `.conf` yields the very same readings, which every
//! output drops as replays. This module never trusts a charger's clock
//! beyond [`plausible_ts`].

use std::sync::Arc;

use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Metrics, Reading};
use retrofit_protocols::{EventName, EventState, KnownEvent, Severity, Source, Timestamp};
use serde::de::DeserializeOwned;
use serde_json::Value;
use validator::Validate;

use super::config::{ChargePointConfig, OcppLinkConfig};
use super::frame::{CallError, ErrorCode};
use super::transactions::TransactionStore;
use crate::journal::NewRecord;
use crate::links::subscriber::LinkContext;
use crate::normalize::Rejection;

/// Reading slots (the last digit of `seq`) other than the meter contexts'.
pub const SLOT_STATUS: u8 = 0;
pub const SLOT_FAULT: u8 = 1;
pub const SLOT_SESSION_STARTED: u8 = 2;
pub const SLOT_SESSION_STOPPED: u8 = 3;

/// What the whole link shares with each session.
pub struct LinkState {
    pub config: Arc<OcppLinkConfig>,
    pub ctx: LinkContext,
    pub store: TransactionStore,
}

/// One connected, authenticated charge point.
pub struct ChargePointSession {
    pub charge_point_id: String,
    pub charge_point: ChargePointConfig,
    pub link: Arc<LinkState>,
}

/// What to answer a CALL with.
pub enum Outcome {
    /// Reply at once.
    Reply(Value),
    /// Commit `records`, then apply `fault` to the store, then reply.
    AfterCommit {
        records: Vec<NewRecord>,
        reply: Value,
        fault: Option<FaultChange>,
    },
    /// A CALLERROR (the input is also dead-lettered).
    Error(CallError),
}

/// A connector's open fault to record (`Some(raise seq)`) or forget.
#[derive(Debug, Clone, Copy)]
pub struct FaultChange {
    pub connector: u32,
    pub raise_seq: Option<u64>,
}

/// An event to record.
pub struct Alarm<'a> {
    pub name: KnownEvent,
    pub severity: Severity,
    pub state: EventState,
    /// The seq of the raise a clear belongs to; `None` for a raise or an
    /// instant event (its own seq).
    pub raise_seq: Option<u64>,
    pub detail: &'a str,
}

/// Decodes a request payload.
pub fn decode<T: DeserializeOwned>(id: &str, action: &str, payload: Value) -> Result<T, CallError> {
    serde_json::from_value(payload).map_err(|e| CallError::from_payload(id, action, &e))
}

/// Decodes a request payload and checks its field lengths.
pub fn decode_valid<T: DeserializeOwned + Validate>(
    id: &str,
    action: &str,
    payload: Value,
) -> Result<T, CallError> {
    let request: T = decode(id, action, payload)?;
    request.validate().map_err(|e| {
        CallError::new(
            id,
            ErrorCode::PropertyConstraintViolation,
            format!("{action}: {e}"),
        )
    })?;
    Ok(request)
}

/// The JSON of a reply.
pub fn reply<T: serde::Serialize>(id: &str, conf: &T) -> Outcome {
    match serde_json::to_value(conf) {
        Ok(v) => Outcome::Reply(v),
        Err(e) => Outcome::Error(CallError::new(id, ErrorCode::InternalError, e.to_string())),
    }
}

/// The charger's time stamp, or now when it is absent or implausible.
pub fn plausible_ts(ts: Option<&chrono::DateTime<chrono::Utc>>) -> Timestamp {
    plausible(ts.map(|t| Timestamp::from_millis(t.timestamp_millis())))
}

/// `ts`, or now when it is absent, before 1970, more than a day ahead or
/// outside the model's range.
pub fn plausible(ts: Option<Timestamp>) -> Timestamp {
    let now = crate::clock::now();
    let day_ms = 86_400_000;
    ts.filter(|t| t.is_in_range() && t.as_millis() > 0 && t.as_millis() < now.as_millis() + day_ms)
        .unwrap_or(now)
}

/// An OCPP enum value (`SuspendedEVSE`, `EVCommunicationError`) in
/// snake case (`suspended_evse`, `ev_communication_error`).
pub fn snake<T: serde::Serialize>(value: &T) -> String {
    let text = serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if boundary {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

impl ChargePointSession {
    /// `Err` when the connector does not exist on this charge point.
    pub fn check_connector(
        &self,
        id: &str,
        connector: u32,
        allow_zero: bool,
    ) -> Result<(), CallError> {
        let ok = connector <= self.charge_point.connectors && (allow_zero || connector > 0);
        if ok {
            Ok(())
        } else {
            Err(CallError::new(
                id,
                ErrorCode::PropertyConstraintViolation,
                format!(
                    "connector {connector} is not one of the {} configured",
                    self.charge_point.connectors
                ),
            ))
        }
    }

    /// A reading of this charge point.
    pub fn reading(&self, connector: u32, ts: Timestamp, slot: u8, body: Body) -> Reading {
        let ms = u64::try_from(ts.as_millis()).unwrap_or(0);
        Reading {
            site: self.link.config.site.clone(),
            kind: self.charge_point.device.kind,
            device: self.charge_point.device.id.clone(),
            connector: Some(connector),
            ts,
            seq: ms * 1000 + u64::from(connector.min(99)) * 10 + u64::from(slot),
            source: Source::Ocpp,
            body,
        }
    }

    /// A telemetry record.
    pub fn telemetry(
        &self,
        connector: u32,
        ts: Timestamp,
        slot: u8,
        metrics: Metrics,
    ) -> NewRecord {
        self.record(self.reading(connector, ts, slot, Body::Telemetry(metrics)))
    }

    /// An event record and its seq.
    pub fn event(
        &self,
        connector: u32,
        ts: Timestamp,
        slot: u8,
        alarm: Alarm<'_>,
    ) -> (NewRecord, u64) {
        let mut reading = self.reading(connector, ts, slot, Body::Telemetry(Metrics::new()));
        let event = EventName::from(alarm.name);
        let raise = alarm.raise_seq.unwrap_or(reading.seq);
        reading.body = Body::Event(EventBody {
            alarm_id: AlarmId::for_raise(&reading.device, &event, raise),
            event,
            severity: alarm.severity,
            state: alarm.state,
            detail: BoundedText::lossy(alarm.detail),
        });
        let seq = reading.seq;
        (self.record(reading), seq)
    }

    fn record(&self, reading: Reading) -> NewRecord {
        self.link
            .ctx
            .record(Ok(reading), &self.charge_point_id, &[])
    }

    /// A dead letter for input this session refused.
    pub fn dead_letter(&self, rejection: Rejection, input: &[u8]) -> NewRecord {
        self.link
            .ctx
            .record(Err(rejection), &self.charge_point_id, input)
    }

    /// Marks the charge point as heard from (Heartbeat, BootNotification).
    pub fn seen(&self) {
        self.link
            .ctx
            .presence
            .seen(&self.charge_point.device.id, crate::clock::now());
    }
}
