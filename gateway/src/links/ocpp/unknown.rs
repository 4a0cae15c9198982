//! An `UnknownChargePoint`: a connection whose charge point ID is not
//! configured on the link. Its BootNotification is answered `Rejected`
//! with the link's heartbeat interval as the retry interval, every other
//! CALL gets a `GenericError`, and the connection is closed right after the
//! Rejected reply or after [`UNKNOWN_LINGER`], whichever comes first.
//!
//! Each connection is dead-lettered exactly once (`unknown_device`, naming
//! the ID, with the first CALL as input) and each boot is counted
//! (`unknown_boot`). This module never records a reading, never registers
//! the connection for operator commands, and never holds more than
//! [`MAX_UNKNOWN_CONNECTIONS`] such connections at once (the server refuses
//! the rest with 503).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use rust_ocpp::v1_6::messages::boot_notification::{
    BootNotificationRequest, BootNotificationResponse,
};
use rust_ocpp::v1_6::types::RegistrationStatus;
use tokio_util::sync::CancellationToken;

use super::frame::{self, CallError, ErrorCode, Frame};
use super::session::{decode_valid, LinkState};
use crate::intake::Submission;
use crate::normalize::Rejection;

/// Unknown charge points connected at once; more are refused with 503.
pub const MAX_UNKNOWN_CONNECTIONS: usize = 16;
/// How long an unknown charge point may stay connected without booting.
pub const UNKNOWN_LINGER: Duration = Duration::from_secs(10);
/// The largest message read from an unknown charge point (a boot is small).
pub const UNKNOWN_MAX_MESSAGE: usize = 4096;
/// How long the close frame may take to leave.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// How much of its first CALL goes into the dead letter.
const LETTER_INPUT: usize = 1024;

/// One connection of a charge point the link does not know.
pub struct UnknownChargePoint {
    /// The ID from the URL without control characters, cut to 64.
    pub charge_point_id: String,
    pub link: Arc<LinkState>,
}

/// What happened on the connection, for its one dead letter.
#[derive(Default)]
struct Visit {
    first_call: Option<String>,
    booted: bool,
    refused_calls: u32,
}

impl UnknownChargePoint {
    /// Serves the connection until the boot is rejected, the charge point
    /// leaves, the linger ends or the link stops; then dead-letters it.
    pub async fn run(self, mut socket: WebSocket, stop: CancellationToken) {
        let mut visit = Visit::default();
        let deadline = tokio::time::Instant::now() + UNKNOWN_LINGER;
        let linger = tokio::time::sleep_until(deadline);
        tokio::pin!(linger);
        while !visit.booted {
            let reply = tokio::select! {
                () = stop.cancelled() => break,
                () = &mut linger => break,
                message = socket.recv() => match message {
                    Some(Ok(Message::Text(text))) => self.answer(text.as_str(), &mut visit),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Binary(_))) => {
                        let e = CallError::new("-1", ErrorCode::FormationViolation, "OCPP-J messages are text frames");
                        Some(e.to_text())
                    }
                    _ => break,
                },
            };
            let Some(reply) = reply else {
                continue;
            };
            // A charge point that does not read cannot hold its slot.
            let sent = tokio::time::timeout_at(deadline, socket.send(Message::Text(reply.into())));
            if !matches!(sent.await, Ok(Ok(()))) {
                break;
            }
        }
        let close = CloseFrame {
            code: close_code::POLICY,
            reason: "unknown charge point".into(),
        };
        let closing = socket.send(Message::Close(Some(close)));
        let _ = tokio::time::timeout(CLOSE_WAIT, closing).await;
        self.dead_letter(&visit).await;
    }

    /// The reply to one message (`None` for a reply to us, which we never
    /// asked for).
    fn answer(&self, text: &str, visit: &mut Visit) -> Option<String> {
        let (id, action, payload) = match frame::parse(text) {
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => (id, action, payload),
            Ok(Frame::CallResult { .. } | Frame::CallError(_)) => return None,
            Err(e) => return Some(e.to_text()),
        };
        if visit.first_call.is_none() {
            visit.first_call = Some(text.chars().take(LETTER_INPUT).collect());
        }
        if action != "BootNotification" {
            visit.refused_calls += 1;
            let e = CallError::new(
                &id,
                ErrorCode::GenericError,
                format!(
                    "charge point {} is not registered with this central system: only BootNotification is answered (Rejected)",
                    self.charge_point_id
                ),
            );
            return Some(e.to_text());
        }
        Some(match self.reject_boot(&id, payload) {
            Ok(reply) => {
                visit.booted = true;
                reply
            }
            Err(e) => {
                visit.refused_calls += 1;
                e.to_text()
            }
        })
    }

    /// `Rejected`, with the heartbeat interval as the retry interval.
    fn reject_boot(&self, id: &str, payload: serde_json::Value) -> Result<String, CallError> {
        let req: BootNotificationRequest = decode_valid(id, "BootNotification", payload)?;
        let ctx = &self.link.ctx;
        ctx.counters.rejected(ctx.source.as_str(), "unknown_boot");
        tracing::warn!(
            link = %ctx.link,
            charge_point = %self.charge_point_id,
            vendor = %req.charge_point_vendor,
            model = %req.charge_point_model,
            "boot notification of an unknown charge point rejected"
        );
        let conf = BootNotificationResponse {
            current_time: chrono::Utc::now(),
            interval: self.link.config.heartbeat_interval_s,
            status: RegistrationStatus::Rejected,
        };
        serde_json::to_value(&conf)
            .map(|v| frame::result_text(id, &v))
            .map_err(|e| CallError::new(id, ErrorCode::InternalError, e.to_string()))
    }

    /// The connection's one dead letter (which also counts it).
    async fn dead_letter(&self, visit: &Visit) {
        let boot = if visit.booted {
            "BootNotification rejected"
        } else {
            "no BootNotification"
        };
        let detail = format!(
            "unknown charge point {}: {boot}, {} other CALLs refused",
            self.charge_point_id, visit.refused_calls
        );
        let input = visit.first_call.as_deref().unwrap_or_default().as_bytes();
        let rejection = Rejection::new("unknown_device", detail);
        let ctx = &self.link.ctx;
        let letter = ctx.record(Err(rejection), &self.charge_point_id, input);
        let _ = ctx.intake.submit(Submission::new(vec![letter], None)).await;
    }
}
