//! The central system's WebSocket endpoint: `ws://HOST:PORT/ocpp/{id}`
//! with subprotocol `ocpp1.6` and HTTP Basic auth per charge point (OCPP
//! 1.6 security profile 1), through axum.
//!
//! An unknown charge point is refused with 404 and a wrong or missing
//! password with 401, before any upgrade; each refusal is counted and
//! dead-lettered. A charge point that connects again replaces its older
//! connection. This module never logs a password and never lets one
//! connection's trouble reach another.

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
use tokio_util::sync::CancellationToken;

use super::commands::Registry;
use super::config::ChargePointConfig;
use super::connection::run_connection;
use super::session::{ChargePointSession, LinkState};
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
        refused(
            &central,
            &charge_point_id,
            "unknown_device",
            "no such charge point",
        )
        .await;
        return (StatusCode::NOT_FOUND, "unknown charge point").into_response();
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
