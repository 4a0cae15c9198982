//! One charge point's WebSocket connection: reads its messages in order,
//! answers each CALL (after the journal commit when it carries data),
//! sends our CALLs one at a time and matches their replies by message ID,
//! pings the charge point and drops it when it stays silent.
//!
//! A message that cannot be understood gets its CALLERROR and a dead
//! letter, and the connection goes on. This module never sends a `.conf`
//! for data that is not yet durable, and never blocks another connection.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use retrofit_protocols::MAX_INPUT_BYTES;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::commands::{OutgoingCall, CALL_TIMEOUT};
use super::frame::{self, CallError, ErrorCode, Frame};
use super::handlers::{rejection_of, OVERSIZED};
use super::session::{ChargePointSession, Outcome};
use crate::intake::{IntakeClosed, Submission};
use crate::journal::NewRecord;

/// How often the central system pings a charge point.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Silence after which a charge point is taken as gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(90);

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum Ended {
    #[error("the socket failed: {0}")]
    Socket(#[from] axum::Error),
    #[error("the gateway is stopping")]
    Stopping(#[from] IntakeClosed),
}

/// Our CALL waiting for its reply.
struct Pending {
    id: String,
    sent: Instant,
    reply: oneshot::Sender<Result<Value, CallError>>,
}

/// Runs one connection until it closes, is replaced or the link stops.
pub async fn run_connection(
    mut socket: WebSocket,
    session: ChargePointSession,
    mut calls: mpsc::Receiver<OutgoingCall>,
    replaced: CancellationToken,
    stop: CancellationToken,
) -> Result<(), Ended> {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    let mut heard = Instant::now();
    let mut pending: Option<Pending> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = replaced.cancelled() => {
                tracing::info!(charge_point = %session.charge_point_id, "connection replaced by a newer one");
                return Ok(());
            }
            message = socket.recv() => {
                let Some(message) = message.transpose()? else { return Ok(()) };
                heard = Instant::now();
                match message {
                    Message::Text(text) => on_text(&mut socket, &session, text.as_str(), &mut pending).await?,
                    Message::Binary(_) => {
                        let e = CallError::new("-1", ErrorCode::FormationViolation, "OCPP-J messages are text frames");
                        refuse(&mut socket, &session, e, b"").await?;
                    }
                    Message::Close(_) => return Ok(()),
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            Some(call) = calls.recv(), if pending.is_none() => {
                let id = format!("{:016x}", fastrand::u64(..));
                let text = frame::call_text(&id, call.action, &call.payload);
                socket.send(Message::Text(text.into())).await?;
                pending = Some(Pending { id, sent: Instant::now(), reply: call.reply });
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    tracing::warn!(charge_point = %session.charge_point_id, "no frame for {SILENCE_LIMIT:?}; dropping the connection");
                    return Ok(());
                }
                pending = pending.filter(|p| p.sent.elapsed() < CALL_TIMEOUT && !p.reply.is_closed());
                socket.send(Message::Ping(Default::default())).await?;
            }
        }
    }
}

/// Handles one text message.
async fn on_text(
    socket: &mut WebSocket,
    session: &ChargePointSession,
    text: &str,
    pending: &mut Option<Pending>,
) -> Result<(), Ended> {
    if text.len() > MAX_INPUT_BYTES {
        let e = CallError::new(
            "-1",
            ErrorCode::FormationViolation,
            format!("{OVERSIZED} {MAX_INPUT_BYTES} bytes"),
        );
        return refuse(
            socket,
            session,
            e,
            text.as_bytes().get(..1024).unwrap_or_default(),
        )
        .await;
    }
    match frame::parse(text) {
        Err(e) => refuse(socket, session, e, text.as_bytes()).await,
        Ok(Frame::Call {
            id,
            action,
            payload,
        }) => match session.handle_call(&id, &action, payload, text).await {
            Outcome::Reply(reply) => send(socket, frame::result_text(&id, &reply)).await,
            Outcome::AfterCommit {
                records,
                reply,
                fault,
            } => {
                commit(session, records).await?;
                if let Some(change) = fault {
                    let cp = session.charge_point_id.clone();
                    let stored = session
                        .link
                        .store
                        .run(move |s| s.set_fault(&cp, change.connector, change.raise_seq))
                        .await;
                    if let Err(e) = stored {
                        tracing::error!(error = %e, "cannot record the charger fault state");
                    }
                }
                send(socket, frame::result_text(&id, &reply)).await
            }
            Outcome::Error(e) => refuse(socket, session, e, text.as_bytes()).await,
        },
        Ok(Frame::CallResult { id, payload }) => {
            answer(session, pending, &id, Ok(payload));
            Ok(())
        }
        Ok(Frame::CallError(e)) => {
            let id = e.id.clone();
            answer(session, pending, &id, Err(e));
            Ok(())
        }
    }
}

/// Hands a reply to the command waiting for it; a reply nobody waits for
/// (late, or never asked) is counted and dropped.
fn answer(
    session: &ChargePointSession,
    pending: &mut Option<Pending>,
    id: &str,
    reply: Result<Value, CallError>,
) {
    match pending.take() {
        Some(p) if p.id == id => {
            let _ = p.reply.send(reply);
        }
        other => {
            *pending = other;
            session
                .link
                .ctx
                .counters
                .rejected("ocpp", "unexpected_reply");
            tracing::warn!(charge_point = %session.charge_point_id, id, "reply to no CALL of ours");
        }
    }
}

/// Sends the CALLERROR and dead-letters the input (without waiting).
async fn refuse(
    socket: &mut WebSocket,
    session: &ChargePointSession,
    e: CallError,
    input: &[u8],
) -> Result<(), Ended> {
    let letter = session.dead_letter(rejection_of(&e), input);
    session
        .link
        .ctx
        .intake
        .submit(Submission::new(vec![letter], None))
        .await?;
    send(socket, e.to_text()).await
}

async fn send(socket: &mut WebSocket, text: String) -> Result<(), Ended> {
    socket.send(Message::Text(text.into())).await?;
    Ok(())
}

/// Submits records and waits until they are durable.
async fn commit(session: &ChargePointSession, records: Vec<NewRecord>) -> Result<(), IntakeClosed> {
    if records.is_empty() {
        return Ok(());
    }
    let (tx, rx) = oneshot::channel();
    let ack = Box::new(move || {
        let _ = tx.send(());
    });
    session
        .link
        .ctx
        .intake
        .submit(Submission::new(records, Some(ack)))
        .await?;
    rx.await.map_err(|_| IntakeClosed)
}
