//! `GET /healthz` (open): 200 while the journal commits and every output
//! delivers, 503 with the reasons otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;
use crate::intake::JournalHealth;
use crate::output_health::Delivery;

/// The gateway's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `failing` with the reasons below.
    pub status: &'static str,
    /// Why the gateway is not healthy (empty when `ok`).
    pub reasons: Vec<String>,
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<ApiState>) -> Response {
    let mut reasons = Vec::new();
    let journal = state.journal_health.borrow().clone();
    if let JournalHealth::Failing { error, .. } = journal {
        reasons.push(format!("journal cannot commit: {error}"));
    }
    for (name, output) in state.outputs.snapshot() {
        if let Delivery::Failing { reason, .. } = output.delivery {
            reasons.push(format!("output {name} is not delivering: {reason}"));
        }
    }
    let code = if reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let status = if reasons.is_empty() { "ok" } else { "failing" };
    (code, Json(Health { status, reasons })).into_response()
}
