//! The central system's WebSocket endpoint: `ws://HOST:PORT/ocpp/{id}`
//! with subprotocol `ocpp1.6` and HTTP Basic auth per charge point (OCPP
//! 1.6 security profile 1), through axum.
//!
//! A known charge point with a wrong or missing password is refused with
//! 401 before any upgrade (counted and dead-lettered); an unknown one is
//! let in (with `ocpp1.6`) to have its BootNotification rejected
//! (`unknown`), at most [`MAX_UNKNOWN_CONNECTIONS`] at once, the rest 503.
//! A charge point that connects again replaces its older connection. This
//! module never logs a password and never lets one connection's trouble
//! reach another.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use retrofit_protocols::MAX_INPUT_BYTES;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::commands::Registry;
use super::config::ChargePointConfig;
use super::connection::run_connection;
use super::session::{ChargePointSession, LinkState};
use super::unknown::{UnknownChargePoint, MAX_UNKNOWN_CONNECTIONS, UNKNOWN_MAX_MESSAGE};
use crate::intake::Submission;
use crate::normalize::Rejection;

/// The only OCPP version spoken.
pub const SUBPROTOCOL: &str = "ocpp1.6";

/// What the endpoint's handlers share.
#[derive(Clone)]
pub struct Central {
    pub link: Arc<LinkState>,
    pub registry: Registry,
    pub stop: CancellationToken,
    /// Room for unknown charge points' connections.
    pub unknown_slots: Arc<Semaphore>,
}

impl Central {
    pub fn new(link: Arc<LinkState>, registry: Registry, stop: CancellationToken) -> Self {
        Self {
            link,
            registry,
            stop,
            unknown_slots: Arc::new(Semaphore::new(MAX_UNKNOWN_CONNECTIONS)),
        }
    }
}

/// Serves the endpoint on `listener` until `stop`.
pub async fn serve(listener: TcpListener, central: Central) -> std::io::Result<()> {
    let stop = central.stop.clone();
    let app = Router::new()
        .route("/ocpp/{charge_point_id}", get(upgrade))
        .with_state(central);
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

async fn upgrade(
    ws: WebSocketUpgrade,
    Path(charge_point_id): Path<String>,
    headers: HeaderMap,
    State(central): State<Central>,
) -> Response {
    let Some(cp) = central
        .link
        .config
        .charge_points
        .get(&charge_point_id)
        .cloned()
    else {
        return unknown(ws, charge_point_id, central).await;
    };
    if !authorized(&headers, &charge_point_id, &cp) {
        refused(
            &central,
            &charge_point_id,
            "unauthorized",
            "wrong or missing Basic credentials",
        )
        .await;
        let challenge = [(header::WWW_AUTHENTICATE, "Basic realm=\"ocpp\"")];
        return (StatusCode::UNAUTHORIZED, challenge, "unauthorized").into_response();
    }
    let ws = ws.protocols([SUBPROTOCOL]);
    if ws.selected_protocol().is_none() {
        refused(
            &central,
            &charge_point_id,
            "unsupported",
            "no ocpp1.6 subprotocol offered",
        )
        .await;
        return (StatusCode::BAD_REQUEST, "subprotocol ocpp1.6 required").into_response();
    }
    let limit = 2 * MAX_INPUT_BYTES;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| async move {
            let (generation, calls, replaced) = central.registry.connect(&charge_point_id);
            tracing::info!(link = %central.link.ctx.link, charge_point = %charge_point_id, "charge point connected");
            let session = ChargePointSession {
                charge_point_id: charge_point_id.clone(),
                charge_point: cp,
                link: central.link.clone(),
            };
            let ended = run_connection(socket, session, calls, replaced, central.stop.clone()).await;
            central.registry.disconnect(&charge_point_id, generation);
            match ended {
                Ok(()) => tracing::info!(charge_point = %charge_point_id, "charge point disconnected"),
                Err(e) => tracing::info!(charge_point = %charge_point_id, error = %e, "charge point connection ended"),
            }
        })
}

/// Lets an unknown charge point in to reject its boot, if it speaks
/// `ocpp1.6` and there is room.
async fn unknown(ws: WebSocketUpgrade, charge_point_id: String, central: Central) -> Response {
    let ws = ws.protocols([SUBPROTOCOL]);
    if ws.selected_protocol().is_none() {
        let detail = "unknown charge point without the ocpp1.6 subprotocol";
        refused(&central, &charge_point_id, "unknown_device", detail).await;
        return (StatusCode::BAD_REQUEST, "subprotocol ocpp1.6 required").into_response();
    }
    let Ok(slot) = central.unknown_slots.clone().try_acquire_owned() else {
        // Counted, not dead-lettered: a flood must not flood the journal.
        let ctx = &central.link.ctx;
        ctx.counters.rejected(ctx.source.as_str(), "unknown_device");
        tracing::warn!(link = %ctx.link, "too many unknown charge points connected; refused");
        return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
    };
    let visitor = UnknownChargePoint {
        charge_point_id: charge_point_id
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect(),
        link: central.link.clone(),
    };
    ws.max_message_size(UNKNOWN_MAX_MESSAGE)
        .max_frame_size(UNKNOWN_MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            visitor.run(socket, central.stop.clone()).await;
            drop(slot);
        })
}

/// Security profile 1: `Authorization: Basic base64(id:password)`, the
/// user being the charge point's own identity.
fn authorized(headers: &HeaderMap, charge_point_id: &str, cp: &ChargePointConfig) -> bool {
    let Some(password) = &cp.password else {
        return true;
    };
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{charge_point_id}:{}", password.expose());
    constant_time_eq(&decoded, expected.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts and dead-letters a refused connection.
async fn refused(central: &Central, charge_point_id: &str, reason: &'static str, detail: &str) {
    let ctx = &central.link.ctx;
    tracing::warn!(link = %ctx.link, charge_point = %charge_point_id, reason, "connection refused");
    let origin: String = charge_point_id.chars().take(64).collect();
    let letter = ctx.record(Err(Rejection::new(reason, detail)), &origin, &[]);
    let _ = ctx.intake.submit(Submission::new(vec![letter], None)).await;
}
